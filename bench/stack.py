"""Runs the services of docker-compose.yaml as local processes, with the compose file's own command
lines and environments.

The compose file names every host, port and database through variables (`${POSTGRES_HOST:-postgres}`
...). Interpolating it with local values (127.0.0.1, free ports, throwaway database names) instead of
the `.env` a container deployment uses gives the exact commands to run here; container paths under
/opt/datafactory map to the repository the same way the compose volumes mount it. Only MinIO itself
has no local binary: an S3 server on loopback (moto) stands in for it. moto has no MinIO admin API, so
minio-init (the MinIO client creating one user and policy per service) cannot run here: the stack
creates the buckets with docker/minio/create_buckets.py instead, and every service still gets its own
S3 credentials from the compose file (moto accepts any). Authentication is on everywhere, as in
production: the stack's values are random secrets, and the FAB users, MLflow users and product API
answer 401 without credentials.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
COMPOSE_FILE = REPO / "docker-compose.yaml"
CONTAINER_REPO = "/opt/datafactory"
VENV_BIN = Path(sys.executable).parent
# Variables a child process must not inherit from the caller: the stack defines its own.
_PRIVATE_PREFIXES = ("AIRFLOW", "DATAFACTORY_", "MLFLOW_", "AWS_", "_AIRFLOW")

_EXPRESSION = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:-|-|:\?|\?)(?P<arg>.*))?", re.S)
_VARIABLE = re.compile(r"\$(?:\$|\{(?P<braced>[^}]+)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")


class StackError(RuntimeError):
    """A service did not start or did not become healthy; the message names it and its log."""


def interpolate(text: str, values: Mapping[str, str]) -> str:
    """Compose variable interpolation: $$, $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        parts = _EXPRESSION.fullmatch(match.group("braced") or match.group("plain"))
        if parts is None:
            raise StackError(f"cannot interpolate {match.group(0)!r}")
        name, op, arg = parts.group("name", "op", "arg")
        value = values.get(name)
        if (op == ":-" and not value) or (op == "-" and value is None):
            return interpolate(arg, values)
        if (op == ":?" and not value) or (op == "?" and value is None):
            raise StackError(f"variable {name} is required: {arg}")
        return value or ""

    return _VARIABLE.sub(replace, text)


def referenced_variables(text: str) -> set[str]:
    """Names of the variables a compose file interpolates (not the `$$` escapes)."""
    names = set()
    for match in _VARIABLE.finditer(text):
        expr = match.group("braced") or match.group("plain")
        if expr:
            names.add(_EXPRESSION.fullmatch(expr).group("name"))
    return names


def load_compose(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    return yaml.safe_load(path.read_text())


def _to_host_path(text: str) -> str:
    return text.replace(CONTAINER_REPO, str(REPO))


def service_command(service: dict[str, Any], values: Mapping[str, str]) -> list[str]:
    """The service's command after interpolation, with container paths and binaries made local."""
    raw = service["command"]
    argv = [interpolate(a, values) for a in raw] if isinstance(raw, list) else shlex.split(interpolate(raw, values))
    argv = [_to_host_path(a) for a in argv]
    local = VENV_BIN / argv[0]
    return [str(local) if local.exists() else argv[0], *argv[1:]]


def service_environment(service: dict[str, Any], values: Mapping[str, str]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: _to_host_path(interpolate(str(v), values)) for k, v in env.items()}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_values(
    *,
    databases: Mapping[str, str],
    home: Path,
    s3_port: int,
    redis_db: int,
    enterprises: int = 1500,
    store_url: str | None = None,
) -> dict[str, str]:
    """The `.env` for running the stack on this machine: local services, free ports, throwaway DBs.

    `databases` maps each of STACK_DATABASES to a database name.
    """
    from cryptography.fernet import Fernet

    def secret() -> str:
        return secrets.token_urlsafe(24)

    return {
        "BIND_ADDRESS": "127.0.0.1",
        "POSTGRES_USER": "postgres",
        "POSTGRES_PASSWORD": "",
        "POSTGRES_HOST": "127.0.0.1",
        "POSTGRES_PORT": "5432",
        **databases,
        "REDIS_HOST": "127.0.0.1",
        "REDIS_PORT": "6379",
        "REDIS_BROKER_DB": str(redis_db),
        "MINIO_HOST": "127.0.0.1",
        "MINIO_PORT": str(s3_port),
        "MINIO_ROOT_USER": "local-stack",
        "MINIO_ROOT_PASSWORD": secret(),
        "AIRFLOW_S3_ACCESS_KEY": "local-airflow",
        "AIRFLOW_S3_SECRET_KEY": secret(),
        "MLFLOW_S3_ACCESS_KEY": "local-mlflow",
        "MLFLOW_S3_SECRET_KEY": secret(),
        "PRODUCT_API_S3_ACCESS_KEY": "local-product-api",
        "PRODUCT_API_S3_SECRET_KEY": secret(),
        "AWS_DEFAULT_REGION": "us-east-1",
        "MLFLOW_BUCKET": "mlflow",
        "PRODUCTS_BUCKET": "datafactory-products",
        "PLATFORM_HOST": "127.0.0.1",
        "PLATFORM_PORT": str(free_port()),
        "DATAFACTORY_API_SECRET": secrets.token_urlsafe(24),
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(free_port()),
        "MLFLOW_WORKERS": "1",
        "MLFLOW_ADMIN_USER": "admin",
        "MLFLOW_ADMIN_PASSWORD": secret(),
        "MLFLOW_FACTORY_USER": "datafactory",
        "MLFLOW_FACTORY_PASSWORD": secret(),
        "MLFLOW_MODELLER_USER": "modeller",
        "MLFLOW_MODELLER_PASSWORD": secret(),
        "MLFLOW_FLASK_SECRET_KEY": secret(),
        "AIRFLOW_API_HOST": "127.0.0.1",
        "AIRFLOW_API_PORT": str(free_port()),
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW_API_SECRET_KEY": secrets.token_urlsafe(32),
        "AIRFLOW_FERNET_KEY": Fernet.generate_key().decode(),
        "AIRFLOW_ADMIN_USER": "admin",
        "AIRFLOW_ADMIN_PASSWORD": secret(),
        "AIRFLOW_OPERATOR_USER": "operator",
        "AIRFLOW_OPERATOR_PASSWORD": secret(),
        "AIRFLOW_REVIEWER_USER": "reviewer",
        "AIRFLOW_REVIEWER_PASSWORD": secret(),
        "AIRFLOW_SCHEDULER_HEALTH_PORT": str(free_port()),
        "AIRFLOW_WORKER_LOG_PORT": str(free_port()),
        "AIRFLOW_TRIGGER_LOG_PORT": str(free_port()),
        "AIRFLOW_WORKER_CONCURRENCY": "1",
        "DATAFACTORY_HOME": str(home / "var"),
        "DATAFACTORY_STORE_URL": store_url or "s3://datafactory-products/products",
        "DATAFACTORY_PSEUDONYM_KEY": secrets.token_hex(32),
        "DATAFACTORY_SM4_KEY": secrets.token_hex(16),
        "DATAFACTORY_SERVING_SECRET": secrets.token_hex(32),
        "PRODUCT_API_PORT": str(free_port()),
        "DATAFACTORY_ENTERPRISES": str(enterprises),
        "DATAFACTORY_FIRST_DATE": "2026-11-01",
        "DATAFACTORY_AUTO_APPROVE": "true",
        "AIRFLOW_DAGS_PAUSED_AT_CREATION": "false",
    }


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log: Path
    env: dict[str, str]


@dataclass
class LocalStack:
    """Starts compose services as processes; `stop()` ends every process group it started."""

    values: dict[str, str]
    home: Path
    compose: dict[str, Any] = field(default_factory=load_compose)
    processes: list[Process] = field(default_factory=list)

    def base_env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(_PRIVATE_PREFIXES)}
        # The Airflow image sets AIRFLOW_HOME; here every component shares one (like the logs volume).
        base["AIRFLOW_HOME"] = str(self.home / "airflow")
        base["PATH"] = f"{VENV_BIN}{os.pathsep}{base.get('PATH', '')}"
        return base

    def env_for(self, service: str, instance: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
        values = {**self.values, **(overrides or {})}
        env = self.base_env() | service_environment(self.compose["services"][service], values)
        # In a container HOSTNAME is the container's name; here each instance gets a name of its own, which
        # it records as its Celery node name and (through DATAFACTORY_HOSTNAME) in task_instance.hostname.
        env["DATAFACTORY_HOSTNAME"] = env["HOSTNAME"] = instance
        return env

    def command(self, service: str, overrides: Mapping[str, str] | None = None) -> list[str]:
        return service_command(self.compose["services"][service], {**self.values, **(overrides or {})})

    def run(self, service: str, timeout: float = 300, overrides: Mapping[str, str] | None = None) -> str:
        """A one-shot service (e.g. airflow-init): runs to completion, returns its output."""
        env = self.env_for(service, service, overrides)
        done = subprocess.run(
            self.command(service, overrides), env=env, capture_output=True, text=True, timeout=timeout, cwd=self.home
        )
        if done.returncode != 0:
            raise StackError(f"{service} exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
        return done.stdout

    def start(self, service: str, instance: str | None = None, overrides: Mapping[str, str] | None = None) -> Process:
        instance = instance or service
        env = self.env_for(service, instance, overrides)
        log = self.home / "logs" / f"{instance}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as out:
            popen = subprocess.Popen(
                self.command(service, overrides),
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.home,
                start_new_session=True,  # its own process group, so stop() ends its children too
            )
        proc = Process(instance, popen, log, env)
        self.processes.append(proc)
        return proc

    def init_storage(self, timeout: float = 120) -> str:
        """The stand-in for minio-init on moto: creates the buckets with the root credentials (moto has
        no MinIO admin API for the per-service users and policies; see docker/minio/init.sh)."""
        env = self.base_env() | {
            "MLFLOW_S3_ENDPOINT_URL": f"http://{self.values['MINIO_HOST']}:{self.values['MINIO_PORT']}",
            "AWS_ACCESS_KEY_ID": self.values["MINIO_ROOT_USER"],
            "AWS_SECRET_ACCESS_KEY": self.values["MINIO_ROOT_PASSWORD"],
            "AWS_DEFAULT_REGION": self.values.get("AWS_DEFAULT_REGION", "us-east-1"),
        }
        buckets = [
            self.values.get("MLFLOW_BUCKET", "mlflow"),
            self.values.get("PRODUCTS_BUCKET", "datafactory-products"),
        ]
        argv = [str(VENV_BIN / "python"), str(REPO / "docker" / "minio" / "create_buckets.py"), *buckets]
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=self.home)
        if done.returncode != 0:
            raise StackError(f"bucket initializer exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")
        return done.stdout

    def airflow_token(self, user: str | None = None, password: str | None = None) -> str:
        """A JWT from the api-server's /auth/token (FAB users; default: the admin)."""
        import json

        user = user or self.values["AIRFLOW_ADMIN_USER"]
        password = password or self.values["AIRFLOW_ADMIN_PASSWORD"]
        url = f"http://127.0.0.1:{self.values['AIRFLOW_API_PORT']}/auth/token"
        body = json.dumps({"username": user, "password": password}).encode()
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())["access_token"]

    def healthcheck(self, service: str, proc: Process) -> bool:
        """Runs the service's compose health check once, in the service's environment."""
        test = self.compose["services"][service]["healthcheck"]["test"]
        kind, *args = test
        args = [interpolate(a, self.values) for a in args]
        argv = ["sh", "-c", args[0]] if kind == "CMD-SHELL" else args
        try:
            done = subprocess.run(argv, env=proc.env, capture_output=True, timeout=60, cwd=self.home)
        except subprocess.TimeoutExpired:
            return False
        return done.returncode == 0

    def wait_healthy(self, service: str, proc: Process, timeout: float = 240) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise StackError(f"{proc.name} exited {proc.popen.returncode}; log: {proc.log}\n{self.tail(proc)}")
            if self.healthcheck(service, proc):
                return
            time.sleep(2)
        raise StackError(f"{proc.name} not healthy after {timeout:.0f}s; log: {proc.log}\n{self.tail(proc)}")

    @staticmethod
    def tail(proc: Process, chars: int = 3000) -> str:
        return proc.log.read_text(errors="replace")[-chars:] if proc.log.exists() else ""

    def stop(self, grace: float = 20) -> None:
        """SIGTERM each started process group, then SIGKILL what is left after `grace` seconds."""
        for proc in reversed(self.processes):
            if proc.popen.poll() is None:
                _signal_group(proc.popen, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for proc in reversed(self.processes):
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(proc.popen, signal.SIGKILL)  # stragglers in the group (task runners, gunicorn)
            proc.popen.wait(timeout=10)
        self.processes.clear()


def _signal_group(popen: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(popen.pid, sig)  # the group this Popen leads (start_new_session)


def start_s3_server(home: Path, port: int) -> subprocess.Popen:
    """The stand-in for the MinIO container: moto's S3 server on loopback."""
    log = home / "logs" / "s3.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        popen = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    wait_http(f"http://127.0.0.1:{port}/", timeout=60, process=popen)
    return popen


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"server for {url} exited {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            time.sleep(0.5)
    raise StackError(f"{url} did not answer within {timeout:.0f}s")


def stop_process(popen: subprocess.Popen, grace: float = 10) -> None:
    if popen.poll() is None:
        _signal_group(popen, signal.SIGTERM)
        try:
            popen.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal_group(popen, signal.SIGKILL)
            popen.wait(timeout=10)


def up(stack: LocalStack, workers: int = 2, timeout: float = 300) -> list[Process]:
    """Starts the services as compose would: each after the ones it depends on are healthy (or, for the
    one-shots minio-init and airflow-init, completed); independent ones start together.

    The caller starts the S3 stand-in first (see `start_s3_server`) and calls `stack.stop()` at the end.
    """
    stack.init_storage(timeout=timeout)
    mlflow = stack.start("mlflow")
    platform = stack.start("upstream-platform")
    stack.run("airflow-init", timeout=timeout)
    core = {s: stack.start(s) for s in ("airflow-apiserver", "airflow-dag-processor", "airflow-triggerer")}
    stack.wait_healthy("mlflow", mlflow, timeout)
    stack.wait_healthy("upstream-platform", platform, timeout)
    product_api = stack.start("product-api")
    core["airflow-scheduler"] = stack.start("airflow-scheduler")
    stack.wait_healthy("airflow-apiserver", core["airflow-apiserver"], timeout)
    worker_procs = [
        # each worker serves its task logs on a port of its own
        stack.start("airflow-worker", f"airflow-worker-{i}", overrides={"AIRFLOW_WORKER_LOG_PORT": str(free_port())})
        for i in range(1, workers + 1)
    ]
    for service, proc in [*core.items(), ("product-api", product_api), *(("airflow-worker", p) for p in worker_procs)]:
        stack.wait_healthy(service, proc, timeout)
    return [mlflow, platform, product_api, *core.values(), *worker_procs]


STACK_DATABASES = ("AIRFLOW_DB", "MLFLOW_DB", "MLFLOW_AUTH_DB", "DATAFACTORY_STATE_DB", "EXCHANGE_DB")
POSTGRES_ADMIN_URL = os.environ.get(
    "DATAFACTORY_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
)


@contextlib.contextmanager
def running_stack(
    home: Path,
    *,
    workers: int = 2,
    redis_db: int = 13,
    enterprises: int = 1500,
    timeout: float = 300,
    overrides: Mapping[str, str] | None = None,
) -> Iterator[LocalStack]:
    """The whole stack on this machine: throwaway Postgres databases, a Redis DB of its own, the S3
    stand-in, then every service. Everything it created is removed on exit, also after a failure."""
    import redis
    import sqlalchemy as sa

    tag = uuid.uuid4().hex[:8]
    databases = {key: f"df_stack_{key.lower()}_{tag}" for key in STACK_DATABASES}
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    s3 = stack = None
    try:
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
        s3_port = free_port()
        s3 = start_s3_server(home, s3_port)
        values = local_values(databases=databases, home=home, s3_port=s3_port, redis_db=redis_db)
        values["DATAFACTORY_ENTERPRISES"] = str(enterprises)
        values.update(overrides or {})
        stack = LocalStack(values, home)
        up(stack, workers=workers, timeout=timeout)
        yield stack
    finally:
        if stack is not None:
            stack.stop()
        if s3 is not None:
            stop_process(s3)
        redis.Redis(host="127.0.0.1", port=6379, db=redis_db).flushdb()
        with admin.connect() as conn:
            for name in databases.values():
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
