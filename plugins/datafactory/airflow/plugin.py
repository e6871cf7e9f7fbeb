"""The Airflow plugin: the reviewers' reports inside the Airflow UI.

- a FastAPI app on the API server serves the reports folder (run pages, trends, GE Data Docs)
  under `/datafactory-reports/`;
- a "Quality reports" entry in the UI navigation opens the index with the trends;
- every task of the ingest DAG gets a "Quality report" extra link to its own run's page.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink

REPORTS_PREFIX = "/datafactory-reports"
INGEST_DAG = "ingest_returned_data"  # the DAG that ends with the quality report (see factory.py)


def business_date(dag_id: str, run_id: str) -> date:
    """The date a run works on, read from the metadata DB (the API server may; tasks may not): the
    run's `logical_date` conf, else its logical date, else when it ran (as `airflow.context.run_date`)."""
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
        if run is None:
            raise ValueError(f"no run {run_id!r} of {dag_id}")
        conf = run.conf or {}
        if conf.get("logical_date"):
            return date.fromisoformat(str(conf["logical_date"])[:10])
        return (run.logical_date or run.run_after).date()


def report_url(day: date, prefix: str = REPORTS_PREFIX) -> str:
    return f"{prefix}/{day.isoformat()}/index.html"


class QualityReportLink(BaseOperatorLink):
    """The reviewers' quality report of the task's run (ingest DAG only)."""

    name = "Quality report"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        if ti_key.dag_id != INGEST_DAG:
            return ""
        return report_url(business_date(ti_key.dag_id, ti_key.run_id))


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
