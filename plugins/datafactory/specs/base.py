"""What every spec model shares: unknown keys are errors, objects are immutable, and a validation
failure becomes one `path: field: problem` line."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError


class SpecError(ValueError):
    """A spec file is missing or malformed; the message names the file and the field."""


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


def problems(path: Path | str, exc: ValidationError) -> list[str]:
    """One `path: field: problem` line per pydantic error."""
    lines = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"] if not str(p).startswith("function-"))
        message = error["msg"].removeprefix("Value error, ")
        lines.append(f"{path}: {where}: {message}" if where else f"{path}: {message}")
    return lines


def spec_error(path: Path | str, exc: ValidationError) -> SpecError:
    found = problems(path, exc)
    more = f" (and {len(found) - 1} more; run `datafactory check`)" if len(found) > 1 else ""
    return SpecError(found[0] + more)
