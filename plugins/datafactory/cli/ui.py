"""`datafactory ui`: the Airflow UI (API server) and the MLflow UI on the embedded state.

Both run as child processes with their output in var/logs/ui/; the command prints both URLs and the
Airflow login, says why the DAGs show paused (Airflow's home page says it too), and stops both on Ctrl-C
(or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from rich.console import Console

console = Console(highlight=False)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ui", help="start the Airflow and MLflow UIs on this state; Ctrl-C stops both")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--airflow-port", type=int, default=8080)
    p.add_argument("--mlflow-port", type=int, default=5000)
    p.add_argument("--timeout", type=float, default=180, help="seconds to wait for both servers to answer")
    p.set_defaults(handler=handle)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except OSError:
        return False


def _start(command: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "w", encoding="utf-8") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    """The server and everything it started (workers) end: SIGTERM to its process group, then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    except ProcessLookupError:
        pass


def airflow_login(airflow_home: Path) -> tuple[str, str] | None:
    """The SimpleAuthManager user and the password it generated (None when every user is admin)."""
    passwords = airflow_home / "simple_auth_manager_passwords.json.generated"
    if os.environ.get("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "").lower() == "true":
        return None
    if not passwords.exists():
        return None
    users = json.loads(passwords.read_text())
    name = "admin" if "admin" in users else sorted(users)[0]
    return name, users[name]


def handle(args: argparse.Namespace) -> int:
    from datafactory.airflow.runs import prepare_airflow
    from datafactory.settings import load_settings

    settings = load_settings()
    with console.status("preparing Airflow metadata ..."):
        prepare_airflow(settings)  # sets AIRFLOW_HOME and friends in os.environ
    bin_dir = Path(sys.executable).parent
    logs = settings.home / "logs" / "ui"
    airflow_url = f"http://{args.host}:{args.airflow_port}"
    mlflow_url = f"http://{args.host}:{args.mlflow_port}"
    env = dict(os.environ)
    env.setdefault("AIRFLOW__API__BASE_URL", airflow_url)
    env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] = f"{airflow_url}/execution/"
    env["DATAFACTORY_EMBEDDED_UI"] = "1"  # plugin.EMBEDDED_UI: Airflow's home page says why the DAGs show paused
    servers = {
        "Airflow": _start(
            [str(bin_dir / "airflow"), "api-server", "--host", args.host, "--port", str(args.airflow_port)],
            logs / "airflow-api-server.log",
            env,
        ),
        "MLflow": _start(
            [
                str(bin_dir / "mlflow"),
                "server",
                "--backend-store-uri",
                settings.mlflow_tracking_uri,
                "--default-artifact-root",
                settings.mlflow_artifact_root,
                "--host",
                args.host,
                "--port",
                str(args.mlflow_port),
                "--workers",
                "1",
            ],
            logs / "mlflow.log",
            env,
        ),
    }
    stop = {"asked": False}

    def ask_stop(signum: int, frame: object) -> None:
        stop["asked"] = True

    signal.signal(signal.SIGTERM, ask_stop)
    # Ctrl-C stops both, also when the shell that started us ignores SIGINT (a `&` job without job control)
    signal.signal(signal.SIGINT, ask_stop)
    try:
        checks = {"Airflow": f"{airflow_url}/api/v2/monitor/health", "MLflow": f"{mlflow_url}/health"}
        deadline = time.monotonic() + args.timeout
        with console.status("starting the Airflow API server and the MLflow UI ..."):
            waiting = set(checks)
            while waiting and not stop["asked"]:
                for name in sorted(waiting):
                    if servers[name].poll() is not None:
                        raise RuntimeError(f"the {name} server exited; see {logs}")
                    if _answers(checks[name]):
                        waiting.discard(name)
                if waiting and time.monotonic() > deadline:
                    raise RuntimeError(
                        f"{', '.join(sorted(waiting))} did not answer in {args.timeout:.0f}s; see {logs}"
                    )
                time.sleep(0.3)
        if not stop["asked"]:  # Ctrl-C while starting: straight to stopping
            login = airflow_login(Path(os.environ["AIRFLOW_HOME"]))
            console.print(f"Airflow UI: {airflow_url}", soft_wrap=True)
            if login:
                console.print(f"  login:    {login[0]} / {login[1]}", soft_wrap=True)
            console.print(f"  reports:  {airflow_url}/datafactory-reports/index.html", soft_wrap=True)
            console.print("  paused:   every DAG: no scheduler runs here, `datafactory run` runs them", soft_wrap=True)
            console.print(f"MLflow UI:  {mlflow_url}", soft_wrap=True)
            console.print(f"Logs:       {logs}", soft_wrap=True)
            console.print("Ctrl-C stops both.")
            sys.stdout.flush()
            while not stop["asked"]:
                for name, process in servers.items():
                    if process.poll() is not None:
                        raise RuntimeError(f"the {name} server exited; see {logs}")
                time.sleep(0.5)
    finally:
        for process in servers.values():
            _stop(process)
    console.print("stopped the Airflow and MLflow servers")
    return 0
