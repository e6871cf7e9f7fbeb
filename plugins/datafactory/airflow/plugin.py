"""The Airflow plugin: the reviewers' reports inside the Airflow UI.

- a FastAPI app on the API server serves the reports folder (run pages, trends, GE Data Docs)
  under `/datafactory-reports/`;
- a "Quality reports" entry in the UI navigation opens the index with the trends;
- the ingest DAG's `quality_report` task (datafactory.airflow.operators), and only it (elsewhere there is
  nothing to link), carries a
  "Quality report" extra link. Airflow 3 computes operator links on the worker, which may not read the
  metadata DB, so the link names the run (`/datafactory-reports/runs/<dag>/<run>`) and the reports app,
  on the API server, redirects it to the page of the run's business date;
- on the API server `datafactory ui` starts on the embedded state (DATAFACTORY_EMBEDDED_UI=1), the home
  page says why every DAG shows paused: no scheduler runs there, `datafactory run` runs the DAGs.
"""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from airflow.plugins_manager import AirflowPlugin

from datafactory.airflow.operators import REPORTS_PREFIX

EMBEDDED_UI = "DATAFACTORY_EMBEDDED_UI"  # set by `datafactory ui` for the API server it starts
PAUSED_EXPLAINED = (
    "**Why every DAG shows paused:** no scheduler runs on this embedded state. `datafactory run` runs the DAGs "
    "for each business date with `dag.test()` (the date is in each run's conf). Unpause them only where a "
    "scheduler runs (docker-compose)."
)


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


def reports_app():
    """Static files of the reports folder; the folder may appear after the server starts."""
    from fastapi import FastAPI
    from fastapi.responses import RedirectResponse
    from fastapi.staticfiles import StaticFiles

    from datafactory.airflow.access import ReportsAccess
    from datafactory.settings import load_settings

    app = FastAPI(title="datafactory quality reports")
    app.add_middleware(ReportsAccess)  # Airflow's authentication and the read-runs permission, on every path
    reports = load_settings().home / "reports"

    @app.get("/runs/{dag_id}/{run_id}")
    def run_report(dag_id: str, run_id: str) -> RedirectResponse:
        """The report of a run's business date (the link is relative to this app's mount point)."""
        return RedirectResponse(f"../../{business_date(dag_id, run_id).isoformat()}/index.html", 307)

    app.mount("/", StaticFiles(directory=reports, html=True, check_dir=False), name="reports")
    return app


def explain_pausing() -> None:
    """An info alert on Airflow's home page (its dashboard alerts), once."""
    from airflow import settings
    from airflow.api_fastapi.common.types import UIAlert

    if not any(alert.text == PAUSED_EXPLAINED for alert in settings.DASHBOARD_UIALERTS):
        settings.DASHBOARD_UIALERTS.append(UIAlert(text=PAUSED_EXPLAINED, category="info"))


class DatafactoryPlugin(AirflowPlugin):
    name = "datafactory"
    external_views = [  # noqa: RUF012  Airflow reads these class attributes
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
        if os.environ.get(EMBEDDED_UI) == "1":
            explain_pausing()
