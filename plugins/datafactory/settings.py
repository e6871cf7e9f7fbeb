"""One settings object. Environment variables select embedded default vs production."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Settings:
    repo: Path
    home: Path  # runtime state: zones, ledgers, embedded databases
    exchange_url: str  # front-end exchange database (SQLAlchemy URL)
    state_url: str  # watermarks and pull ledger (SQLAlchemy URL)
    mlflow_tracking_uri: str
    mlflow_artifact_root: str
    store_url: str  # product store: a local directory or s3://bucket/prefix
    s3_endpoint_url: str | None
    seed: int
    enterprises: int
    first_logical_date: str
    auto_approve: bool
    api_url: str | None = None  # data-sharing platform API; unset: the simulator serves one on loopback
    api_key: str = "datafactory"  # app key for the platform's token endpoint (the secret is never in the repo)
    landing_url: str = ""  # file drops: a local folder or s3://bucket/prefix
    platform_url: str = ""  # the simulated sharing platform's own store (what its API serves)
    schedule_end: str | None = None  # last day the daily schedules make runs for (a pilot's end); None: no end
    conform_batch_rows: int = 250_000  # a conform task takes regions until it has this many rows (1: one each)
    staging_retention_days: float = 7.0  # a product run's staging folder is pruned this long after its last change

    def zone(self, name: str) -> Path:
        return self.home / name

    def state_engine(self):
        """The pull ledger's database (watermarks, receipts)."""
        from datafactory.database import open_engine

        return open_engine(self.state_url, "DATAFACTORY_STATE_URL")

    def exchange_engine(self):
        """The upstream front-end exchange database."""
        from datafactory.database import open_engine

        return open_engine(self.exchange_url, "DATAFACTORY_EXCHANGE_URL")

    def pseudonym_key(self) -> bytes:
        """The current HMAC key for pseudonyms, as a `Key` that knows its id and the retired keys: from the
        environment in production (never generated there), else generated once under var/secrets/."""
        from datafactory.secrets import load_ring

        return load_ring("pseudonym", self.home).key()

    def api_secret(self) -> str:
        """App secret for the sharing-platform API: DATAFACTORY_API_SECRET, else (embedded default only)
        generated once under var/."""
        return _provisioned_or_installed("DATAFACTORY_API_SECRET", self.home / "secrets" / "api.secret")

    def sm4_key(self) -> bytes:
        """The current 128-bit SM4 key (a `Key` with its id and the retired keys): DATAFACTORY_SM4_KEY
        (32 hex digits) in production, else generated once under var/secrets/ (never from the repository)."""
        from datafactory.secrets import load_ring

        return load_ring("sm4", self.home).key()


def _provisioned_or_installed(variable: str, path: Path) -> str:
    from datafactory.secrets import is_production, provisioned

    if os.environ.get(variable) or is_production():
        return provisioned(variable) if is_production() else os.environ[variable]
    return _install_secret(path)


def _install_secret(path: Path, nbytes: int = 32) -> str:
    """A random hex secret created once (atomically) with owner-only permissions; later calls read it
    back. Production refuses: its secrets are provisioned, never generated."""
    from datafactory.secrets import install_secret

    return install_secret(path, nbytes)


def _flag(name: str, default: bool) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def load_settings() -> Settings:
    env = os.environ.get
    repo = Path(env("DATAFACTORY_REPO", str(REPO_ROOT)))
    home = Path(env("DATAFACTORY_HOME", str(repo / "var"))).resolve()
    return Settings(
        repo=repo,
        home=home,
        exchange_url=env("DATAFACTORY_EXCHANGE_URL", f"sqlite:///{home}/upstream/exchange.db"),
        state_url=env("DATAFACTORY_STATE_URL", f"sqlite:///{home}/state.db"),
        mlflow_tracking_uri=env("MLFLOW_TRACKING_URI", f"sqlite:///{home}/mlflow.db"),
        mlflow_artifact_root=env("DATAFACTORY_MLFLOW_ARTIFACTS", str(home / "mlartifacts")),
        store_url=env("DATAFACTORY_STORE_URL", str(home / "products")),
        s3_endpoint_url=env("DATAFACTORY_S3_ENDPOINT_URL") or None,
        seed=int(env("DATAFACTORY_SEED", "7")),
        enterprises=int(env("DATAFACTORY_ENTERPRISES", "3000")),
        first_logical_date=env("DATAFACTORY_FIRST_DATE", "2026-11-01"),
        auto_approve=_flag("DATAFACTORY_AUTO_APPROVE", True),
        api_url=env("DATAFACTORY_API_URL") or None,
        api_key=env("DATAFACTORY_API_KEY", "datafactory"),
        landing_url=env("DATAFACTORY_LANDING_URL", str(home / "upstream" / "landing")),
        platform_url=env("DATAFACTORY_PLATFORM_URL", f"sqlite:///{home}/upstream/platform.db"),
        schedule_end=env("DATAFACTORY_SCHEDULE_END") or None,
        conform_batch_rows=int(env("DATAFACTORY_CONFORM_BATCH_ROWS", "250000")),
        staging_retention_days=float(env("DATAFACTORY_STAGING_RETENTION_DAYS", "7")),
    )


def process_hostname() -> str:
    """Airflow's `[core] hostname_callable`: DATAFACTORY_HOSTNAME if set, else the FQDN. Lets several
    Celery workers on one machine record distinct task_instance.hostname values."""
    import socket

    return os.environ.get("DATAFACTORY_HOSTNAME") or socket.getfqdn()
