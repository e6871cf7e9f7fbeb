"""Starts the MLflow server behind its basic-auth app (`mlflow server --app-name basic-auth ...`).

Before the server starts:
- the secrets it was given are checked (production: an empty or placeholder one stops it, one line);
- the auth config is written to a private file from the environment (MLflow reads it from
  MLFLOW_AUTH_CONFIG_PATH): users and permissions live in their own database (MLFLOW_AUTH_DB_URI),
  and `default_permission = READ`, so a user reads every experiment and model but changes only what
  it created or was granted;
- the users are created or updated: the admin (MLFLOW_AUTH_ADMIN_USERNAME/PASSWORD), the factory's
  service user the Airflow workers log runs as (MLFLOW_FACTORY_USER/PASSWORD) and the modellers'
  read-only user (MLFLOW_MODELLER_USER/PASSWORD).

Usage: serve.py mlflow server --app-name basic-auth [ARG...]   (the server's own command line)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

USERS = (
    ("MLFLOW_AUTH_ADMIN_USERNAME", "MLFLOW_AUTH_ADMIN_PASSWORD", True),
    ("MLFLOW_FACTORY_USER", "MLFLOW_FACTORY_PASSWORD", False),
    ("MLFLOW_MODELLER_USER", "MLFLOW_MODELLER_PASSWORD", False),
)


def auth_config(database_uri: str) -> str:
    return (
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = {database_uri}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
        "grant_default_workspace_access = false\n"
    )


def ensure_users(database_uri: str) -> list[str]:
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(database_uri)
    done = []
    for user_var, password_var, admin in USERS:
        user, password = os.environ[user_var].strip(), os.environ[password_var]
        if store.has_user(user, use_primary=True):
            store.update_user(user, password=password, is_admin=admin)
            done.append(f"updated MLflow user {user}{' (admin)' if admin else ''}")
        else:
            store.create_user(user, password, is_admin=admin)
            done.append(f"created MLflow user {user}{' (admin)' if admin else ''}")
    return done


def main(argv: list[str]) -> int:
    from datafactory.secrets import check_environment, is_production

    if len(argv) < 2 or argv[:2] != ["mlflow", "server"] or "basic-auth" not in argv:
        print("usage: serve.py mlflow server --app-name basic-auth [ARG...]", file=sys.stderr)
        return 2
    missing = [name for u, p, _ in USERS for name in (u, p) if not os.environ.get(name)] + [
        name for name in ("MLFLOW_AUTH_DB_URI",) if not os.environ.get(name)
    ]
    if missing:
        print(f"error: refusing to start mlflow: {missing[0]} is empty: provision it (.env.example)", file=sys.stderr)
        return 78
    if is_production():
        issues = check_environment()
        if issues:
            print(f"error: refusing to start mlflow: {issues[0]}", file=sys.stderr)
            return 78
    database_uri = os.environ["MLFLOW_AUTH_DB_URI"]
    folder = Path(tempfile.mkdtemp(prefix="mlflow-auth-"))  # 0700
    config = folder / "basic_auth.ini"
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(auth_config(database_uri))
    for line in ensure_users(database_uri):
        print(line, flush=True)
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = str(config)
    os.execvp(argv[0], argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
