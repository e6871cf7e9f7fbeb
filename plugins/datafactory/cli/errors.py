"""Any error a command can reach, as the one line a person reads: what failed, and what to do."""

from __future__ import annotations

import re

_DEBUG_HINT = "run again with --debug for the traceback"
_URL_WITH_PASSWORD = re.compile(r"(\w+://[^:/@\s]+:)[^@\s]+@")


def first_line(text: str) -> str:
    lines = [line.strip() for line in str(text).strip().splitlines() if line.strip()]
    return _URL_WITH_PASSWORD.sub(r"\1***@", lines[0] if lines else "")


def one_line(exc: BaseException) -> str:
    """The error as one line. Errors of our own already say what to do; others get a hint."""
    import sqlalchemy as sa

    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        cause = first_line(str(exc.orig)) if exc.orig is not None else first_line(str(exc))
        return (
            f"database unavailable: {cause}; check DATAFACTORY_STATE_URL (or DATAFACTORY_EXCHANGE_URL) "
            "and that the database server is running"
        )
    if isinstance(exc, sa.exc.SQLAlchemyError):
        return f"database error: {first_line(str(exc))}; {_DEBUG_HINT}"
    if isinstance(exc, ValueError | RuntimeError | OSError | LookupError):
        text = first_line(str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc))
        return text or f"{type(exc).__name__}; {_DEBUG_HINT}"
    return f"{type(exc).__name__}: {first_line(str(exc))}; {_DEBUG_HINT}"
