"""Opens the factory's SQLAlchemy engines (pull ledger, exchange DB) with errors a person can act on."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


class DatabaseConfigError(ValueError):
    """A database URL in the settings is not usable; the message names the variable."""


def masked(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        return sa.engine.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url.split("@")[-1]


def open_engine(url: str, variable: str) -> sa.Engine:
    """An engine for `url` (read from the environment variable `variable`). A SQLite file's folder is
    created, so a new factory home works; a malformed URL or an unknown driver is a one-line error."""
    hint = "use a SQLAlchemy URL such as sqlite:///var/state.db or postgresql+psycopg2://user@host:5432/db"
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise DatabaseConfigError(f"{variable}={url!r} is not a database URL; {hint}") from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        folder = Path(parsed.database).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            problem = f"{variable}: cannot create {folder} for the SQLite file: {exc.strerror}"
            raise DatabaseConfigError(problem) from exc
    try:
        return sa.create_engine(parsed)
    except (sa.exc.NoSuchModuleError, ImportError) as exc:
        raise DatabaseConfigError(f"{variable}: no driver for {parsed.drivername!r} here ({exc}); {hint}") from exc
