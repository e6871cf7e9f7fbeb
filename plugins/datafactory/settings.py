"""One settings object. Environment variables select embedded default vs production."""

from __future__ import annotations

import os
import secrets
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
        """HMAC key for pseudonyms: from the environment in production, else a per-install key
        generated once under var/ (never from the repository)."""
        env = os.environ.get("DATAFACTORY_PSEUDONYM_KEY")
        if env:
            return env.encode()
        key_file = self.home / "secrets" / "pseudonym.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return key_file.read_text().strip().encode()

    def api_secret(self) -> str:
        """App secret for the sharing-platform API: DATAFACTORY_API_SECRET, else generated once under var/."""
        return os.environ.get("DATAFACTORY_API_SECRET") or _install_secret(self.home / "secrets" / "api.secret")

    def sm4_key(self) -> bytes:
        """128-bit SM4 key for personal values that must be kept: DATAFACTORY_SM4_KEY (32 hex digits),
        else generated once under var/ (never from the repository)."""
        text = os.environ.get("DATAFACTORY_SM4_KEY") or _install_secret(self.home / "secrets" / "sm4.key", 16)
        key = bytes.fromhex(text)
        if len(key) != 16:
            raise ValueError("DATAFACTORY_SM4_KEY must be 32 hex digits (a 128-bit SM4 key)")
        return key


def _install_secret(path: Path, nbytes: int = 32) -> str:
    """A random hex secret created once with owner-only permissions; later calls read it back."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another task created it first
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(nbytes))
    return path.read_text().strip()


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
    )


def process_hostname() -> str:
    """Airflow's `[core] hostname_callable`: DATAFACTORY_HOSTNAME if set, else the FQDN. Lets several
    Celery workers on one machine record distinct task_instance.hostname values."""
    import socket

    return os.environ.get("DATAFACTORY_HOSTNAME") or socket.getfqdn()
