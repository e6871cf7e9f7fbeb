"""Operators of our own. Imported at DAG-parse time: Task SDK and the standard provider only."""

from __future__ import annotations

from typing import Any

from airflow.providers.standard.operators.python import PythonOperator
from airflow.sdk import BaseOperatorLink

REPORTS_PREFIX = "/datafactory-reports"  # where the plugin mounts the reports folder (plugin.py)


def run_link(dag_id: str, run_id: str, prefix: str = REPORTS_PREFIX) -> str:
    """The run's report, through the plugin's redirect to the page of the run's business date."""
    from urllib.parse import quote

    return f"{prefix}/runs/{quote(dag_id, safe='')}/{quote(run_id, safe='')}"


class QualityReportLink(BaseOperatorLink):
    """Airflow 3 computes operator links on the worker (stored in XCom), where the metadata DB is out
    of reach: the link names the run, and the plugin's app resolves it to the business date's page."""

    name = "Quality report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return run_link(ti_key.dag_id, ti_key.run_id)


class QualityReportOperator(PythonOperator):
    """The step that writes the reviewers' report; the only task with a "Quality report" link."""

    operator_extra_links = (QualityReportLink(),)
