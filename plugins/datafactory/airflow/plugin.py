"""The Airflow plugin: the reviewers' reports inside the Airflow UI.

- a FastAPI app on the API server serves the reports folder (run pages, trends, GE Data Docs)
  under `/datafactory-reports/`;
- a "Quality reports" entry in the UI navigation opens the index with the trends;
- every task of the ingest DAG gets a "Quality report" extra link to its own run's page.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

REPORTS_PREFIX = "/datafactory-reports"
INGEST_DAG = "ingest_returned_data"  # the DAG that ends with the quality report (see factory.py)


def run_date(run_id: str) -> date:
    """The business date of an ingest run from its id (`manual__2026-11-01T00:00:00+00:00`, or
    `scheduled__...`): the runner and the schedule both set the logical date to that day."""
    stamp = run_id.split("__", 1)[-1]
    try:
        return datetime.fromisoformat(stamp).date()
    except ValueError as exc:
        raise ValueError(f"run {run_id!r} carries no logical date; open {REPORTS_PREFIX}/index.html") from exc


def report_url(run_id: str, prefix: str = REPORTS_PREFIX) -> str:
    return f"{prefix}/{run_date(run_id).isoformat()}/index.html"


class QualityReportLink(BaseOperatorLink):
    """The reviewers' quality report of the task's run (ingest DAG only)."""

    name = "Quality report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        if ti_key.dag_id != INGEST_DAG:
            return ""
        return report_url(ti_key.run_id)


def reports_app():
    """Static files of the reports folder; the folder may appear after the server starts."""
    from fastapi import FastAPI
    from fastapi.staticfiles import StaticFiles

    from datafactory.settings import load_settings

    app = FastAPI(title="datafactory quality reports")
    reports = load_settings().home / "reports"
    app.mount("/", StaticFiles(directory=reports, html=True, check_dir=False), name="reports")
    return app


class DatafactoryPlugin(AirflowPlugin):
    name = "datafactory"
    global_operator_extra_links = [QualityReportLink()]  # noqa: RUF012  Airflow reads these class attributes
    external_views = [  # noqa: RUF012
        {
            "name": "Quality reports",
            "href": f"{REPORTS_PREFIX.lstrip('/')}/index.html",
            "destination": "nav",
            "category": "browse",
            "url_route": "datafactory-quality-reports",
        }
    ]

    @classmethod
    def on_load(cls, *args: Any, **kwargs: Any) -> None:
        cls.fastapi_apps = [{"app": reports_app(), "url_prefix": REPORTS_PREFIX, "name": "datafactory reports"}]
