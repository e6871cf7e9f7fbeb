"""The factory's DAGs executed as plain function calls, without Airflow: each task's own callable,
called in dependency order with its upstream results, all in one process, as `datafactory run` runs
every DAG's tasks in one process; a thread samples the resident set, so each task's peak is known.
Mapped tasks are called once per element; operators that are not Python callables (the human
approval of a product version) are waits, not work, and are left out. This is the baseline that the
benchmark compares Airflow's orchestration against: the same work, minus the scheduler, the metadata
DB, XCom and the task runner.

Usage (what bench_e2e.py runs in a fresh process): python -m bench.plain DATE DAG_ID [DAG_ID ...]
Prints one JSON line per task: dag, task, map_index, seconds, max_rss_mb, result.
"""

from __future__ import annotations

import json
import resource
import sys
import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any


class TaskFailedError(RuntimeError):
    """A task raised; the message names it and carries its one-line error."""


def _context(dag_id: str, day: date, results: dict[str, Any]) -> dict[str, Any]:
    stamp = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    run_id = f"plain__{dag_id}__{day.isoformat()}"
    return {
        "dag_run": SimpleNamespace(conf={"logical_date": day.isoformat()}, run_after=stamp, run_id=run_id),
        "logical_date": stamp,
        "run_id": run_id,
        "triggering_asset_events": {},
        "outlet_events": defaultdict(SimpleNamespace),
        "ti": SimpleNamespace(xcom_pull=lambda task_ids=None, **_: results.get(task_ids)),
        "params": {},
    }


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    if isinstance(value, PlainXComArg):
        return results[value.operator.task_id]
    if isinstance(value, list | tuple):
        return type(value)(_resolve(v, results) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


class ResidentPeak:
    """The process's resident set, sampled every 0.1 s by a thread; `take()` returns the peak since the
    last take in MB. Both benchmark paths run their tasks in one process and measure it this way."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._stop = threading.Event()
        threading.Thread(target=self._sample, daemon=True).start()

    @staticmethod
    def now() -> float:
        from datafactory.memory import resident_mb

        return resident_mb()

    def _sample(self) -> None:
        while not self._stop.wait(0.1):
            self.peak = max(self.peak, self.now())

    def take(self) -> float:
        peak, self.peak = max(self.peak, self.now()), 0.0
        return peak

    def stop(self) -> None:
        self._stop.set()


def _timed(call, rss: ResidentPeak) -> tuple[Any, float, float]:
    """Runs `call()` in this process; returns (result, seconds, peak RSS in MB while it ran)."""
    rss.take()
    started = time.perf_counter()
    try:
        result = call()
    except Exception as exc:
        raise TaskFailedError(f"{exc.__class__.__name__}: {exc}") from exc
    return result, time.perf_counter() - started, rss.take()


def task_order(dag) -> list:
    """Every task after all its upstream tasks. (`dag.topological_sort()` orders task groups, and misses
    edges between tasks of different groups, such as a referenced feed's conform.)"""
    from graphlib import TopologicalSorter

    graph = {task.task_id: task.upstream_task_ids for task in dag.tasks}
    return [dag.get_task(task_id) for task_id in TopologicalSorter(graph).static_order()]


def run_dag(dag, day: date, emit, rss: ResidentPeak) -> dict[str, Any]:
    """Every task of `dag` in topological order; `emit(record)` gets one record per task call."""
    results: dict[str, Any] = {}
    for task in task_order(dag):
        context = _context(dag.dag_id, day, results)
        if hasattr(task, "op_kwargs_expand_input"):  # mapped: one call per element of its expanded input
            expanded = {k: _resolve(v, results) for k, v in task.op_kwargs_expand_input.value.items()}
            fixed = _resolve(task.partial_kwargs.get("op_kwargs", {}), results)
            name, values = next(iter(expanded.items()))
            outputs = []
            for index, value in enumerate(values):
                kwargs = {**fixed, name: value}
                output = _call(dag.dag_id, task, task.python_callable, (), kwargs, context, emit, index, rss)
                outputs.append(output)
            results[task.task_id] = outputs
            continue
        if task.trigger_rule == "one_failed":  # a failure handler: the plain run stops at the first failure
            results[task.task_id] = None
            continue
        if not hasattr(task, "python_callable"):  # e.g. the human approval step: a wait, not work
            results[task.task_id] = None
            continue
        args = _resolve(list(task.op_args), results)
        kwargs = _resolve(dict(task.op_kwargs), results)
        results[task.task_id] = _call(dag.dag_id, task, task.python_callable, args, kwargs, context, emit, -1, rss)
    return results


def _call(dag_id, task, function, args, kwargs, context, emit, map_index: int, peak: ResidentPeak) -> Any:
    from airflow.sdk.execution_time.context import set_current_context

    def run() -> Any:
        with set_current_context(context):  # as Airflow's task runner does: get_current_context() works
            return function(*args, **kwargs, **context)

    try:
        output, seconds, rss = _timed(run, peak)
    except TaskFailedError as exc:
        raise TaskFailedError(f"{dag_id}.{task.task_id}[{map_index}]: {exc}") from exc
    emit(
        {
            "dag": dag_id,
            "task": task.task_id,
            "map_index": map_index,
            "seconds": round(seconds, 3),
            "max_rss_mb": round(rss, 1),
            "result": output if isinstance(output, dict) else None,
        }
    )
    return output


# Imported once before the first task, as the Airflow path imports them before its first DAG.
WARM_MODULES = (
    "pandas",
    "pyarrow.parquet",
    "duckdb",
    "great_expectations",
    "datafactory.quality.conform",
    "datafactory.partitioning.regions",
    "datafactory.sources.ingest",
    "datafactory.modeling.pipeline",
    "datafactory.products.pipeline",
    "airflow.sdk.exceptions",
)


def main(argv: list[str]) -> int:
    import importlib

    from datafactory.airflow.factory import build_dags
    from datafactory.runner import simulated_platform

    for module in WARM_MODULES:
        importlib.import_module(module)
    day = date.fromisoformat(argv[0])
    dags = build_dags()
    rss = ResidentPeak()
    with simulated_platform():  # the sharing platform's API, as `datafactory run` serves it
        for dag_id in argv[1:]:
            run_dag(dags[dag_id], day, lambda record: print(json.dumps(record, default=str), flush=True), rss)
    rss.stop()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"driver_max_rss_mb": round(peak, 1)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
