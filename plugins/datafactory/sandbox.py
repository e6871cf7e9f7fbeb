"""The DuckDB sandbox spec SQL runs in (features.sql, product SQL).

Spec SQL is data, written by modellers and product owners; it must not reach the host. The sandbox
registers the inputs first, then turns DuckDB's file system, network and extension loading off and
locks the configuration, so the SQL can read its named inputs and nothing else:

- parquet inputs are handed to DuckDB as Arrow datasets (read lazily, columns and filters pushed
  down, by pyarrow on the engine's side), data frames as themselves, so DuckDB itself never needs a
  path: `enable_external_access = false` with no allowed paths or directories;
- `lock_configuration = true` afterwards: the SQL cannot `SET` any of it back.

`read_text('/etc/passwd')`, `read_csv`, `COPY ... TO`, `ATTACH`, `INSTALL`/`LOAD` then fail with
DuckDB's permission error, which `SandboxError` turns into one line.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LOCKDOWN = (
    "SET autoinstall_known_extensions = false",
    "SET autoload_known_extensions = false",
    "SET allow_community_extensions = false",
    "SET enable_external_access = false",
    "SET lock_configuration = true",
)


class SandboxError(PermissionError):
    """Spec SQL tried to reach outside its inputs (a host file, the network, an extension)."""


class Sandbox:
    """A locked DuckDB connection over named inputs; `execute` is the only way in."""

    def __init__(self, con: duckdb.DuckDBPyConnection, names: list[str], keep: list[Any]):
        self._con = con
        self._names = names
        self._keep = keep  # the Arrow datasets DuckDB scans must outlive the connection

    def execute(self, sql: str, parameters: Any = None) -> duckdb.DuckDBPyConnection:
        try:
            return self._con.execute(sql, parameters) if parameters is not None else self._con.execute(sql)
        except duckdb.PermissionException as exc:
            detail = str(exc).splitlines()[0].removeprefix("Permission Error: ")
            raise SandboxError(f"spec SQL may only read its inputs ({', '.join(self.inputs)}): {detail}") from exc
        except duckdb.InvalidInputException as exc:
            if "configuration has been locked" in str(exc):
                raise SandboxError(f"spec SQL may not change DuckDB settings: {str(exc).splitlines()[0]}") from exc
            raise

    @property
    def inputs(self) -> list[str]:
        return self._names

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(tables: Mapping[str, Any] | None = None) -> Sandbox:
    """A sandboxed connection with `tables` registered: name -> parquet path or pandas/Arrow frame."""
    import pyarrow.dataset as ds

    con = duckdb.connect()
    keep: list[Any] = []
    try:
        for name, table in (tables or {}).items():
            if not _NAME.match(name):
                raise ValueError(f"input name {name!r} is not an SQL identifier")
            if isinstance(table, str | Path):
                table = ds.dataset(str(table), format="parquet")
            keep.append(table)
            con.register(name, table)
        for statement in LOCKDOWN:
            con.execute(statement)
    except BaseException:
        con.close()
        raise
    return Sandbox(con, list(tables or {}), keep)
