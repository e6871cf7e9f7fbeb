"""Helpers for reading an Airflow task context. Light: safe to import at DAG-parse time."""

from __future__ import annotations

from datetime import date
from typing import Any


def run_date(context: dict[str, Any]) -> date:
    """The business date a run works on: conf override, else the logical date, else run_after."""
    conf = (context.get("dag_run").conf if context.get("dag_run") else None) or {}
    if conf.get("logical_date"):
        return date.fromisoformat(str(conf["logical_date"])[:10])
    for event_list in (context.get("triggering_asset_events") or {}).values():
        for event in event_list:
            if event.extra and event.extra.get("logical_date"):
                return date.fromisoformat(event.extra["logical_date"])
    stamp = context.get("logical_date") or context["dag_run"].run_after
    return stamp.date()


def run_id(context: dict[str, Any]) -> str:
    return str(context["run_id"])
