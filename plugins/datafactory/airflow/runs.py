"""Embedded runs: every DAG through `dag.test()`, recorded the way a scheduler would record them.

- Airflow's environment for the embedded default (SQLite metadata under var/airflow).
- Each run gets the wall-clock time as its logical date, so the run's start and end are real and a
  rerun of a business date is a run of its own (the business date travels in the run's conf, which
  `airflow.context.run_date` reads first).
- Everything the run prints (Airflow's logs, the tasks' output, subprocesses) is captured at the file
  descriptor: one log per DAG under var/logs/<date>/<dag>.log, and each task's share in the file
  Airflow's file task handler reads (AIRFLOW_HOME/logs/dag_id=…/run_id=…/task_id=…/attempt=N.log), so the
  UI's Logs tab shows it.
- A watcher reads the run's task instances from the metadata DB and reports progress per task group.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib.metadata import version
from pathlib import Path
from typing import IO, Any

from datafactory.runner import RunFailedError, critical_reasons, simulated_platform
from datafactory.settings import Settings

_SWITCH = b"\x00datafactory-log-target "
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"\b(\w+(?:Error|Exception)|AirflowFailException)\b:?\s*(.*)")
# A structlog line: "2026-12-01T20:51:42.864220Z [info     ] message ..."
_STAMPED = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d))\s+(?:\[(\w+)\s*\]\s+)?")
FINISHED = {"success", "failed", "skipped", "upstream_failed", "removed"}


def airflow_environment(settings: Settings) -> dict[str, str]:
    """Embedded default: SQLite metadata under var/airflow. Values already set win (production)."""
    home = settings.home / "airflow"
    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(settings.repo / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(settings.repo / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": "http://localhost:8080/execution/",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "DATAFACTORY_HOME": str(settings.home),
    }


def prepare_airflow(settings: Settings) -> None:
    """Airflow's environment, and its metadata DB migrated: `airflow db migrate` (a process of its own,
    seconds long) runs only when this Airflow has not migrated this DB to the revision it holds now."""
    for key, value in airflow_environment(settings).items():
        os.environ.setdefault(key, value)
    home = Path(os.environ["AIRFLOW_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    url, stamp = os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"], home / "datafactory-migrated.json"
    wanted = {"airflow": version("apache-airflow"), "url": url}
    try:
        recorded = json.loads(stamp.read_text())
    except (OSError, ValueError):
        recorded = None
    if recorded == {**wanted, "revision": _revision(url)} and recorded["revision"]:
        return
    airflow = Path(sys.executable).with_name("airflow")
    done = subprocess.run([str(airflow), "db", "migrate"], capture_output=True, text=True)
    if done.returncode != 0:
        raise RunFailedError(f"airflow db migrate failed: {done.stderr.strip().splitlines()[-1:]}")
    stamp.write_text(json.dumps({**wanted, "revision": _revision(url)}))


def _revision(url: str) -> str | None:
    """The metadata DB's Alembic revision; None when there is no DB or no revision table yet."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
    except sa.exc.SQLAlchemyError:
        return None
    finally:
        engine.dispose()


def logs_folder(settings: Settings, day: date) -> Path:
    return settings.home / "logs" / day.isoformat()


def task_log_path(dag_id: str, run_id: str, task_id: str, map_index: int, try_number: int) -> Path:
    """Where Airflow's FileTaskHandler looks for a task's log (its default filename template)."""
    base = Path(os.environ.get("AIRFLOW__LOGGING__BASE_LOG_FOLDER") or Path(os.environ["AIRFLOW_HOME"]) / "logs")
    mapped = f"map_index={map_index}/" if map_index >= 0 else ""
    return base / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}" / f"{mapped}attempt={try_number}.log"


class OutputCapture:
    """Points file descriptors 1 and 2 at a pipe; a thread writes each line to the current run log
    (and, as a JSON line Airflow's log reader understands, to the current task's log). `echo` streams
    the lines to the real stdout too (`datafactory run -v`). `console` is the real stdout."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo
        self._run_log: IO[str] | None = None
        self._task_log: IO[str] | None = None
        self.task_errors: dict[str, str] = {}  # task log path -> last error line seen in it
        self._lock = threading.Lock()

    def __enter__(self) -> OutputCapture:
        sys.stdout.flush()
        sys.stderr.flush()
        self._saved = (os.dup(1), os.dup(2))
        self.console = os.fdopen(os.dup(self._saved[0]), "w", buffering=1, encoding="utf-8", errors="replace")
        read, write = os.pipe()
        os.dup2(write, 1)
        os.dup2(write, 2)
        os.close(write)
        self._reader = threading.Thread(target=self._pump, args=(read,), name="datafactory-log-pump", daemon=True)
        self._reader.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(self._saved[0], 1)
        os.dup2(self._saved[1], 2)  # the pipe's last writer is gone: the pump reads EOF and ends
        for fd in self._saved:
            os.close(fd)
        self._reader.join(timeout=30)
        for handle in (self._run_log, self._task_log):
            if handle:
                handle.close()
        self.console.flush()

    def _switch(self, kind: str, path: Path | None) -> None:
        """Ordered with the output itself: the marker goes through the same pipe."""
        sys.stdout.flush()
        sys.stderr.flush()
        os.write(1, _SWITCH + f"{kind} {path or ''}".encode() + b"\n")

    def run_log(self, path: Path, fresh: bool = True) -> None:
        """Lines from here on go to `path` (emptied first unless `fresh` is False)."""
        path.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            path.write_text("", encoding="utf-8")
        self._switch("run", path)

    def task_log(self, path: Path | None) -> None:
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._switch("task", path)

    def _pump(self, fd: int) -> None:
        with os.fdopen(fd, "rb") as pipe:
            for raw in pipe:
                if raw.startswith(_SWITCH):
                    kind, _, target = raw[len(_SWITCH) :].decode().rstrip("\n").partition(" ")
                    self._retarget(kind, Path(target) if target else None)
                    continue
                self._write(_ANSI.sub("", raw.decode("utf-8", errors="replace")))

    def _retarget(self, kind: str, path: Path | None) -> None:
        if kind == "run":
            if self._run_log:
                self._run_log.close()
            self._run_log = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115
        else:
            if self._task_log:
                self._task_log.close()
            self._task_log = open(path, "a", encoding="utf-8") if path else None  # noqa: SIM115

    def _write(self, line: str) -> None:
        if self._run_log:
            self._run_log.write(line)
            self._run_log.flush()
        if self._task_log:
            self._task_log.write(json.dumps(task_log_record(line), ensure_ascii=False))
            self._task_log.write("\n")
            self._task_log.flush()
            if found := _ERROR_LINE.search(line):
                self.task_errors[self._task_log.name] = found.group(0).strip()
        if self.echo:
            self.console.write(line)


def task_log_record(line: str) -> dict[str, str]:
    """One captured line as the JSON record Airflow's log reader shows: a line that carries its own
    timestamp and level (structlog's) keeps them, instead of a second timestamp in front of the first."""
    text = line.rstrip("\n")
    if found := _STAMPED.match(text):
        record = {"timestamp": found.group(1), "event": text[found.end() :]}
        return record | ({"level": found.group(2)} if found.group(2) else {})
    return {"timestamp": datetime.now(UTC).isoformat(), "event": text}


@contextmanager
def _task_logs(capture: OutputCapture) -> Iterator[None]:
    """While dag.test() runs a task in-process, its output goes to that task's Airflow log file; after
    it, the memory it freed goes back to the system, so the next task does not start on its peak."""
    from airflow.sdk.execution_time import supervisor

    from datafactory.memory import release_freed_memory

    original = supervisor.run_task_in_process

    def run_task_in_process(ti: Any, task: Any, client: Any = None) -> Any:
        capture.task_log(task_log_path(ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number))
        try:
            return original(ti, task, client)
        finally:
            capture.task_log(None)
            release_freed_memory()

    supervisor.run_task_in_process = run_task_in_process
    try:
        yield
    finally:
        supervisor.run_task_in_process = original


@dataclass
class Step:
    """One line of progress: a DAG (group "") or one of its task groups."""

    dag_id: str
    group: str
    state: str = "waiting"
    seconds: float | None = None
    rows: str = ""


@dataclass
class DagProgress:
    dag_id: str
    run_id: str = ""
    state: str = "waiting"
    started: float | None = None
    seconds: float | None = None
    rows: str = ""
    groups: list[Step] = field(default_factory=list)
    log: Path | None = None


def _group_state(states: list[str]) -> str:
    if any(s in ("failed", "upstream_failed") for s in states):
        return "failed"
    if states and all(s in FINISHED for s in states):
        return "success" if any(s == "success" for s in states) else states[0]
    if any(s in ("running", "queued", "scheduled", "deferred", "awaiting_input", "up_for_retry") for s in states):
        return "awaiting approval" if "awaiting_input" in states else "running"
    return "waiting"


def _xcom_value(raw: Any) -> Any:
    value = raw
    for _ in range(2):  # stored as JSON, sometimes JSON of a JSON string
        if isinstance(value, bytes | str):
            try:
                value = json.loads(value)
            except ValueError:
                return None
    return value


def _rows(values: list[Any]) -> str:
    """Rows a group or DAG handled, from its tasks' small XCom dicts."""
    rows_in = sum(v.get("rows_in", 0) for v in values if isinstance(v, dict) and "rows_in" in v and "region" not in v)
    held = sum(v.get("rows_quarantined", 0) for v in values if isinstance(v, dict) and "region" not in v)
    if rows_in:
        return f"{rows_in:,} in, {held:,} quarantined"
    published = [v for v in values if isinstance(v, dict) and "version" in v and "rows" in v]
    if published:
        return f"v{published[-1]['version']}, {int(published[-1]['rows']):,} rows"
    return ""


class Watcher:
    """Reads the current run's task instances (and their small XComs) from the metadata DB."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.engine = sa.create_engine(url)
        self.sa = sa

    def update(self, progress: DagProgress) -> None:
        sa = self.sa
        with self.engine.connect() as conn:
            tis = conn.execute(
                sa.text("SELECT task_id, state, start_date, end_date FROM task_instance WHERE dag_id=:d AND run_id=:r"),
                {"d": progress.dag_id, "r": progress.run_id},
            ).all()
            xcoms = conn.execute(
                sa.text("SELECT task_id, value FROM xcom WHERE dag_id=:d AND run_id=:r AND key='return_value'"),
                {"d": progress.dag_id, "r": progress.run_id},
            ).all()
        values: dict[str, list[Any]] = {}
        for task_id, raw in xcoms:
            values.setdefault(task_id.split(".")[0] if "." in task_id else "", []).append(_xcom_value(raw))
        groups: dict[str, list[tuple]] = {}
        for task_id, state, start, end in tis:
            if "." in task_id:
                groups.setdefault(task_id.split(".")[0], []).append((state or "waiting", start, end))
        steps = []
        for name in sorted(groups):
            states = [s for s, _, _ in groups[name]]
            starts = [_stamp(s) for _, s, _ in groups[name] if s]
            ends = [_stamp(e) for _, _, e in groups[name] if e]
            state = _group_state(states)
            seconds = (max(ends) - min(starts)) if starts and ends and state in ("success", "failed") else None
            steps.append(Step(progress.dag_id, name, state, seconds, _rows(values.get(name, []))))
        progress.groups = steps
        progress.rows = _rows([v for vs in values.values() for v in vs]) if not steps else ""
        if not steps:
            progress.rows = progress.rows or _rows(values.get("", []))
        running = [t for t, s, _, _ in tis if s in ("running", "awaiting_input")]
        if progress.state not in FINISHED and running:
            progress.state = "awaiting approval" if any(s == "awaiting_input" for _, s, _, _ in tis) else "running"


def _stamp(value: Any) -> float:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def _watch(watcher: Watcher, progress: DagProgress, report: Callable[[DagProgress], None], stop: threading.Event):
    while not stop.wait(0.5):
        try:
            watcher.update(progress)
        except Exception:  # a locked SQLite file while the run writes: read again next tick
            continue
        progress.seconds = time.monotonic() - (progress.started or time.monotonic())
        report(progress)


def failure_reason(progress: DagProgress, capture: OutputCapture, watcher: Watcher, day: date) -> str:
    """One line: which task failed, why, and the log that explains it."""
    sa = watcher.sa
    with watcher.engine.connect() as conn:
        failed = conn.execute(
            sa.text(
                "SELECT task_id, map_index, try_number FROM task_instance WHERE dag_id=:d AND run_id=:r "
                "AND state='failed' ORDER BY end_date"
            ),
            {"d": progress.dag_id, "r": progress.run_id},
        ).all()
    critical = critical_reasons(day) if progress.dag_id.startswith("ingest") else []
    if not failed:
        reason = "; ".join(critical) or f"the run ended {progress.state}"
        return f"{progress.dag_id} ended {progress.state} for {day}: {reason}; log: {progress.log}"
    task_id, map_index, try_number = failed[0]
    path = task_log_path(progress.dag_id, progress.run_id, task_id, map_index, try_number)
    reason = capture.task_errors.get(str(path)) or (critical[0] if critical else "the task failed")
    return f"{progress.dag_id} failed at {task_id} for {day}: {reason}; log: {path}"


def run_dags(
    dag_ids: list[str],
    logical_date: date,
    *,
    settings: Settings | None = None,
    report: Callable[[DagProgress], None] | None = None,
    verbose: bool = False,
    auto_approve: bool = False,
) -> dict[str, str]:
    """Run each DAG once for the business date `logical_date`, in order, stopping at the first
    failure (RunFailedError with the one-line reason and the log path). Output goes to var/logs."""
    from datafactory.airflow.approval import auto_approver
    from datafactory.settings import load_settings

    settings = settings or load_settings()
    report = report or (lambda progress: None)
    folder = logs_folder(settings, logical_date)
    progresses = [DagProgress(dag_id) for dag_id in dag_ids]
    for progress in progresses:
        report(progress)
    states: dict[str, str] = {}
    with OutputCapture(echo=verbose) as capture:
        capture.run_log(folder / "setup.log")
        from airflow.dag_processing.dagbag import DagBag
        from airflow.models.dagrun import DagRun
        from airflow.utils.types import DagRunType

        bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
        if bag.import_errors:
            raise RunFailedError(f"DAG import errors: {bag.import_errors}; log: {folder / 'setup.log'}")
        watcher = Watcher(os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
        with simulated_platform(), auto_approver(auto_approve), _task_logs(capture):
            for progress in progresses:
                now = datetime.now(UTC)
                progress.run_id = DagRun.generate_run_id(run_type=DagRunType.MANUAL, logical_date=now, run_after=now)
                progress.log, progress.state, progress.started = folder / f"{progress.dag_id}.log", "running", None
                progress.started = time.monotonic()
                capture.run_log(progress.log)
                stop = threading.Event()
                thread = threading.Thread(target=_watch, args=(watcher, progress, report, stop), daemon=True)
                thread.start()
                try:
                    run = bag.get_dag(progress.dag_id).test(
                        run_after=now, logical_date=now, run_conf={"logical_date": logical_date.isoformat()}
                    )
                finally:
                    stop.set()
                    thread.join()
                progress.state = states[progress.dag_id] = str(run.state)
                progress.seconds = time.monotonic() - progress.started
                watcher.update(progress)
                progress.state = str(run.state)
                report(progress)
                if progress.state != "success":
                    raise RunFailedError(failure_reason(progress, capture, watcher, logical_date))
        capture.run_log(folder / "setup.log", fresh=False)
    return states
