"""End-to-end benchmark: the whole factory (every feed's ingest, then training and publishing) for one
simulated initial load, at several population sizes (related feeds scale with the enterprises, at the
simulator's ratios). For each size it reports, per stage, wall time, rows per second and peak RSS,
twice: through Airflow (every DAG in one process, one `dag.test()` run each, exactly as `datafactory run`
runs them) and as plain function calls without Airflow (bench/plain.py: the same task callables, in
dependency order). Then the orchestration overhead (Airflow time / plain time), split into process start,
DB migrate, time between tasks and extra time inside tasks, and the scaling of time between sizes.

    .venv/bin/python -m bench.bench_e2e --sizes 10000,100000
    .venv/bin/python -m bench.bench_e2e --sizes 1000000 --skip-airflow --json var/bench/e2e-1m.json
    .venv/bin/python -m bench.bench_e2e --sizes 1000000 --skip-plain   # Airflow's time and peak RSS only

Figures, not assertions: nothing here fails on a slow machine. Peak RSS: per task for the plain run
(each task runs in a forked child); for Airflow, the one process's resident set sampled while each DAG
runs (a `dag.test()` runs its tasks in that process). Both paths import the heavy libraries once before
timing their tasks, and the reviewer's approval step (a human wait, auto-approved here) is left out of
Airflow's total, as the plain run leaves it out. Upstream simulation is timed too, but it is not part of the factory.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
DAY = date(2026, 11, 1)
STAGES = ("pull", "conform", "report", "train", "publish")


@dataclass
class StageFigures:
    seconds: float = 0.0
    rows: int = 0
    max_rss_mb: float = 0.0
    tasks: int = 0

    def add(self, seconds: float, rows: int, rss: float) -> None:
        self.seconds += seconds
        self.rows += rows
        self.max_rss_mb = max(self.max_rss_mb, rss)
        self.tasks += 1


@dataclass
class RunFigures:
    wall_s: float = 0.0
    max_rss_mb: float = 0.0
    stages: dict[str, StageFigures] = field(default_factory=lambda: defaultdict(StageFigures))
    slowest: list[tuple[float, str, float]] = field(default_factory=list)  # (seconds, task, peak RSS MB)
    waited_s: float = 0.0  # human approval waits (Airflow only), left out of wall_s: a wait, not work
    setup_s: float = 0.0  # Airflow only: the metadata DB migrate before the first DAG
    dag_walls: dict[str, float] = field(default_factory=dict)  # Airflow only: each dag.test(), approvals left out

    @property
    def task_s(self) -> float:
        return sum(stage.seconds for stage in self.stages.values())

    @property
    def tasks(self) -> int:
        return sum(stage.tasks for stage in self.stages.values())

    def note_task(self, seconds: float, task: str, rss: float, keep: int = 8) -> None:
        self.slowest = sorted([*self.slowest, (seconds, task, rss)], reverse=True)[:keep]


def stage_of(dag_id: str, task_id: str) -> str:
    """Which benchmark stage a task belongs to (by its DAG and task id)."""
    if dag_id.startswith("train_"):
        return "train"
    if dag_id.startswith("publish_"):
        return "publish"
    leaf = task_id.rsplit(".", 1)[-1]
    if leaf == "pull":
        return "pull"
    if leaf == "quality_report":
        return "report"
    return "conform"


def rows_of(stage: str, result: dict[str, Any] | None) -> int:
    """Rows a task processed, from its own result: pulled rows, or rows in for conform."""
    if not result:
        return 0
    if stage == "pull":
        return int(result.get("rows") or 0)
    if stage == "conform" and "rows_in" in result and "region" not in result:
        return int(result["rows_in"])  # feed-level results only, so regions aren't counted twice
    return 0


def _env(home: Path, enterprises: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "DATAFACTORY_", "MLFLOW_"))}
    return base | {
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_ENTERPRISES": str(enterprises),
        "DATAFACTORY_PSEUDONYM_KEY": "bench-key-not-a-secret",
        "DATAFACTORY_FIRST_DATE": DAY.isoformat(),
        "AIRFLOW_HOME": str(home / "airflow"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow/airflow.db",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "plugins")]),  # this checkout's engine
    }


def _run_with_rss(argv: list[str], env: dict[str, str], log: Path) -> tuple[float, float, str]:
    """Runs a command; returns (seconds, its own peak RSS in MB via wait4, its stdout)."""
    started = time.perf_counter()
    with open(log, "ab") as err, tempfile.TemporaryFile() as out:
        pid = os.posix_spawn(
            argv[0],
            argv,
            env,
            file_actions=[(os.POSIX_SPAWN_DUP2, out.fileno(), 1), (os.POSIX_SPAWN_DUP2, err.fileno(), 2)],
        )
        _, status, usage = os.wait4(pid, 0)
        out.seek(0)
        stdout = out.read().decode()
    seconds = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code:
        raise RuntimeError(f"{' '.join(argv[1:5])} exited {code}; see {log}")
    return seconds, usage.ru_maxrss / 1024, stdout


def deliver(home: Path, enterprises: int) -> tuple[float, float, int]:
    env = _env(home, enterprises)
    argv = [str(VENV_BIN / "datafactory"), "simulate", "--date", DAY.isoformat()]
    seconds, rss, out = _run_with_rss(argv, env, home / "bench.log")
    rows = int(out.split("delivered", 1)[1].split()[0])
    return seconds, rss, rows


def dag_ids() -> list[str]:
    """The DAGs `datafactory run` runs, in its order: ingest, every training, every product."""
    from datafactory.airflow.factory import INGEST_DAG
    from datafactory.settings import load_settings
    from datafactory.specs import load_models, load_products

    repo = load_settings().repo
    return [INGEST_DAG, *(f"train_{m}" for m in load_models(repo)), *(f"publish_{p}" for p in load_products(repo))]


def run_plain(home: Path, enterprises: int, dags: list[str]) -> RunFigures:
    env = _env(home, enterprises)
    argv = [sys.executable, "-m", "bench.plain", DAY.isoformat(), *dags]
    seconds, _, out = _run_with_rss(argv, env, home / "bench.log")
    figures = RunFigures(wall_s=seconds)
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        record = json.loads(line)
        if "driver_max_rss_mb" in record:
            figures.max_rss_mb = max(figures.max_rss_mb, record["driver_max_rss_mb"])
            continue
        stage = stage_of(record["dag"], record["task"])
        figures.stages[stage].add(record["seconds"], rows_of(stage, record["result"]), record["max_rss_mb"])
        label = f"{record['dag']}.{record['task']}" + (f"[{record['map_index']}]" if record["map_index"] >= 0 else "")
        figures.note_task(record["seconds"], label, record["max_rss_mb"])
        figures.max_rss_mb = max(figures.max_rss_mb, record["max_rss_mb"])
    return figures


_AIRFLOW_DRIVER = """
import importlib
import json
import sys
import time
from datetime import date
from pathlib import Path
from bench.plain import WARM_MODULES, ResidentPeak
for module in WARM_MODULES:  # as the plain run's parent does, so neither path times library imports
    importlib.import_module(module)
from datafactory.airflow.runs import FINISHED, prepare_airflow, run_dags
from datafactory.settings import load_settings

settings = load_settings()
started = time.perf_counter()
prepare_airflow(settings)  # `airflow db migrate`, once, as `datafactory run` does it
setup_s = time.perf_counter() - started
rss, current, peaks, walls = ResidentPeak(), [None], {}, {}

def report(progress):  # the resident set's peak while each DAG runs: one process runs them all
    if progress.state == "running" and current[0] != progress.dag_id:
        current[0] = progress.dag_id
        rss.take()
    elif progress.state in FINISHED and progress.seconds is not None:
        walls[progress.dag_id] = progress.seconds
        peaks[progress.dag_id] = max(peaks.get(progress.dag_id, 0.0), rss.take())

run_dags(sys.argv[3].split(","), date.fromisoformat(sys.argv[1]), report=report, auto_approve=settings.auto_approve)
rss.stop()
figures = {"setup_s": setup_s, "walls": walls, "peaks": peaks}
Path(sys.argv[2]).write_text(json.dumps(figures))
"""


def run_airflow(home: Path, enterprises: int, dags: list[str]) -> RunFigures:
    """Every DAG in one process, through `run_dags` (one `dag.test()` per DAG), as `datafactory run` runs them."""
    from datafactory.airflow.approval import APPROVAL_TASK

    env = _env(home, enterprises)
    figures_path = home / "airflow-figures.json"
    argv = [sys.executable, "-c", _AIRFLOW_DRIVER, DAY.isoformat(), str(figures_path), ",".join(dags)]
    seconds, rss, _ = _run_with_rss(argv, env, home / "bench.log")
    measured = json.loads(figures_path.read_text())
    figures = RunFigures(wall_s=seconds, max_rss_mb=rss, setup_s=measured["setup_s"])
    for dag_id in dags:
        dag_rss = measured["peaks"].get(dag_id, rss)
        figures.dag_walls[dag_id] = measured["walls"].get(dag_id, 0.0)
        for task_id, duration, result in _task_durations(home, dag_id):
            if task_id == APPROVAL_TASK:  # the reviewer's approval: a wait, which the plain run leaves out too
                figures.waited_s += duration
                figures.wall_s -= duration
                figures.dag_walls[dag_id] -= duration
                continue
            stage = stage_of(dag_id, task_id)
            figures.stages[stage].add(duration, rows_of(stage, result), dag_rss)
            figures.note_task(duration, f"{dag_id}.{task_id}", dag_rss)
    return figures


def _task_durations(home: Path, dag_id: str) -> list[tuple[str, float, dict | None]]:
    """Per task instance: (task id, seconds between start and end, its return value)."""
    with sqlite3.connect(home / "airflow" / "airflow.db") as conn:
        rows = conn.execute(
            "SELECT ti.task_id, (julianday(ti.end_date) - julianday(ti.start_date)) * 86400.0, x.value "
            "FROM task_instance ti LEFT JOIN xcom x ON x.dag_id = ti.dag_id AND x.run_id = ti.run_id "
            "AND x.task_id = ti.task_id AND x.map_index = ti.map_index AND x.key = 'return_value' "
            "WHERE ti.dag_id = ?",
            (dag_id,),
        ).fetchall()
    out = []
    for task_id, seconds, value in rows:
        try:
            result = json.loads(value) if value else None
        except (TypeError, ValueError):
            result = None
        out.append((task_id, float(seconds or 0.0), result if isinstance(result, dict) else None))
    return out


def _model_rows(run: RunFigures, size: int, dags: list[str]) -> None:
    """Training and publishing work per population: count the enterprises once per model or product."""
    for stage, prefix in (("train", "train_"), ("publish", "publish_")):
        if stage in run.stages:
            run.stages[stage].rows = size * sum(d.startswith(prefix) for d in dags)


def _table(title: str, runs: dict[str, RunFigures], size: int) -> str:
    lines = [
        f"\n{title} — {size:,} enterprises",
        f"{'stage':<9}{'path':<9}{'wall s':>9}{'rows':>12}{'rows/s':>11}{'peak RSS MB':>13}{'tasks':>7}",
    ]
    for stage in STAGES:
        for path, run in runs.items():
            fig = run.stages.get(stage)
            if fig is None:
                continue
            rate = fig.rows / fig.seconds if fig.seconds and fig.rows else 0
            lines.append(
                f"{stage:<9}{path:<9}{fig.seconds:>9.1f}{fig.rows:>12,}{rate:>11,.0f}"
                f"{fig.max_rss_mb:>13,.0f}{fig.tasks:>7}"
            )
    for path, run in runs.items():
        lines.append(f"{'total':<9}{path:<9}{run.wall_s:>9.1f}{'':>12}{'':>11}{run.max_rss_mb:>13,.0f}")
        if run.waited_s:
            lines.append(f"  ({path}: {run.waited_s:.1f} s waiting for approvals left out of its total)")
    for path, run in runs.items():
        if run.slowest:
            lines.append(f"slowest tasks ({path}):")
            lines += [f"  {seconds:8.1f} s {rss:8,.0f} MB  {task}" for seconds, task, rss in run.slowest]
    return "\n".join(lines)


def bench_size(size: int, root: Path, dags: list[str], skip_airflow: bool, skip_plain: bool = False) -> dict[str, Any]:
    plain_home, airflow_home = root / f"{size}-plain", root / f"{size}-airflow"
    delivered = airflow_home if skip_plain else plain_home
    delivered.mkdir(parents=True)
    seconds, rss, rows = deliver(delivered, size)
    print(
        f"\nupstream simulation ({size:,} enterprises): {rows:,} rows in {seconds:.1f}s, peak RSS {rss:,.0f} MB",
        flush=True,
    )
    if not skip_airflow and not skip_plain:  # the same delivered data for both paths
        shutil.copytree(plain_home, airflow_home)
    runs: dict[str, RunFigures] = {}
    if not skip_plain:
        runs["plain"] = run_plain(plain_home, size, dags)
        _model_rows(runs["plain"], size, dags)
        print(_table("plain calls", runs, size), flush=True)
    if not skip_airflow:
        runs["airflow"] = run_airflow(airflow_home, size, dags)
        _model_rows(runs["airflow"], size, dags)
    print(_table("per stage", runs, size), flush=True)
    if "airflow" in runs and "plain" in runs:
        print(orchestration(runs["airflow"], runs["plain"]), flush=True)
    return {
        "enterprises": size,
        "upstream": {"seconds": seconds, "rows": rows, "max_rss_mb": rss},
        "runs": {
            path: {"wall_s": r.wall_s, "max_rss_mb": r.max_rss_mb, "stages": {k: vars(v) for k, v in r.stages.items()}}
            for path, r in runs.items()
        },
    }


def orchestration(airflow: RunFigures, plain: RunFigures) -> str:
    """Where Airflow's extra time goes: outside tasks (process start, imports and DAG parsing, which the
    plain run pays too; the DB migrate; dag.test()'s scheduling loop between tasks) and inside them."""
    between = sum(airflow.dag_walls.values()) - airflow.task_s
    start = airflow.wall_s - airflow.setup_s - sum(airflow.dag_walls.values())
    inside = airflow.task_s - plain.task_s
    per_task = 1000 / max(airflow.tasks, 1)
    return "\n".join(
        [
            f"orchestration overhead (Airflow / plain wall time): {airflow.wall_s / plain.wall_s:.2f}x "
            f"({airflow.wall_s:.1f} s / {plain.wall_s:.1f} s)",
            f"  outside tasks: plain {plain.wall_s - plain.task_s:.1f} s (process start, imports, DAG parsing); "
            f"Airflow {airflow.wall_s - airflow.task_s:.1f} s = start {start:.1f} s + metadata DB migrate "
            f"{airflow.setup_s:.1f} s + between tasks {between:.1f} s",
            f"  between tasks (dag.test() scheduling loop): {between * per_task:.0f} ms per task over {airflow.tasks}",
            f"  inside tasks, Airflow minus plain (task runner, execution API, XCom): {inside:.1f} s"
            f" = {inside * per_task:.0f} ms per task",
        ]
    )


def scaling(results: list[dict[str, Any]]) -> list[str]:
    """Time ratio between consecutive sizes against the size ratio (1.0 per 1.0 is linear)."""
    lines = []
    for small, large in itertools.pairwise(results):
        factor = large["enterprises"] / small["enterprises"]
        for path in large["runs"]:
            if path not in small["runs"]:
                continue
            ratio = large["runs"][path]["wall_s"] / small["runs"][path]["wall_s"]
            lines.append(
                f"{path:<8}{small['enterprises']:>10,} -> {large['enterprises']:<10,} size x{factor:<6.0f}"
                f"time x{ratio:.2f} ({ratio / factor:.2f} of linear)"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated enterprise counts")
    parser.add_argument("--skip-airflow", action="store_true", help="only the plain-call run (no overhead ratio)")
    parser.add_argument(
        "--skip-plain", action="store_true", help="only the Airflow run: its time and peak RSS (no overhead ratio)"
    )
    parser.add_argument("--dags", help="comma-separated DAG ids (default: every DAG `datafactory run` runs)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the runtime folders (printed)")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    dags = args.dags.split(",") if args.dags else dag_ids()
    root = Path(tempfile.mkdtemp(prefix="df-bench-e2e-"))
    print(f"datafactory end-to-end benchmark: sizes {sizes}, DAGs {dags}, on {os.cpu_count()} cores; work in {root}")
    results = []
    try:
        for size in sizes:
            results.append(bench_size(size, root, dags, args.skip_airflow, args.skip_plain))
            if args.json:  # after every size, so a long run keeps what it measured
                args.json.parent.mkdir(parents=True, exist_ok=True)
                args.json.write_text(json.dumps(results, indent=2))
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    print("\nscaling (wall time between sizes):")
    print("\n".join(scaling(results)) or "  (one size only)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
