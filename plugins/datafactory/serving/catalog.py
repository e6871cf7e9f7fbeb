"""Published product versions as the API serves them.

A version is immutable, so its table is read once, cut to the product's schema and indexed by key:
a lookup is one dict access that yields the row already encoded as JSON. `latest` is re-read at
most once a second, so an approval or rollback shows within a second. Only approved versions are
served, pinned or not.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import pyarrow.parquet as pq

from datafactory.products.store import ObjectStore
from datafactory.products.versioning import (
    APPROVED,
    UnknownVersionError,
    latest_version,
    read_decision,
    read_file,
    read_manifest,
)
from datafactory.specs import ProductSpec

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
FILE_RE = re.compile(r"^[0-9a-f]{16}-[A-Za-z0-9_.-]{1,200}$")
LATEST_TTL_S = 1.0
VERSIONS_KEPT = 8  # loaded tables kept in memory (LRU over all products)


class NotServedError(LookupError):
    """No such product, no approved version, or no such version: a 404 with this message."""


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _clean(value: Any) -> Any:
    return None if isinstance(value, float) and not math.isfinite(value) else value


@dataclass(frozen=True)
class VersionTable:
    product: str
    version: int
    key: str
    columns: tuple[str, ...]
    rows: dict[str, bytes]  # key -> the row (schema columns only) as JSON


@dataclass(frozen=True)
class VersionInfo:
    product: str
    version: int
    body: bytes  # the public manifest as JSON
    etag: str
    data_files: tuple[str, ...]  # store keys of the version's parquet files
    columns_in_schema: bool  # every column of the version is in the product's schema


def public_manifest(manifest: dict[str, Any], spec: ProductSpec, decision: dict[str, Any] | None) -> dict[str, Any]:
    """What a consumer may see of a manifest: no store paths, model URIs, run ids or input partitions."""
    schema = {c: t for c, t in (manifest.get("schema") or {}).items() if c in spec.schema}
    summary = manifest.get("spec") or {}
    model = manifest.get("model") or {}
    return {
        "product": manifest.get("product"),
        "version": manifest.get("version"),
        "description": spec.description,
        "created_at": manifest.get("created_at"),
        "logical_date": manifest.get("logical_date"),
        "row_count": manifest.get("row_count"),
        "key": spec.key,
        "schema": schema,
        "spec": {k: summary[k] for k in ("kind", "owner", "audience", "authorized_for", "refresh") if k in summary},
        "model": {k: model[k] for k in ("name", "version") if k in model} or None,
        "review_passed": bool((manifest.get("review") or {}).get("passed")),
        "approval": {k: decision[k] for k in ("decision", "at")} if decision else None,
        "files": [
            {"name": f["path"].split("/")[-1], "sha256": f["sha256"], "bytes": f["bytes"]}
            for f in manifest.get("files", [])
        ],
        "fingerprint": manifest.get("fingerprint"),
    }


def index_table(data: bytes, spec: ProductSpec) -> tuple[tuple[str, ...], dict[str, bytes]]:
    """The table's schema columns (in schema order) and each row as JSON, by key."""
    table = pq.read_table(io.BytesIO(data))
    columns = tuple(c for c in spec.schema if c in table.column_names)
    if spec.key not in columns:
        raise NotServedError(f"{spec.name}: the published table has no key column {spec.key!r}")
    rows: dict[str, bytes] = {}
    for row in table.select(list(columns)).to_pylist():
        rows[str(row[spec.key])] = encode({c: _clean(row[c]) for c in columns})
    return columns, rows


class Catalog:
    """Thread-safe; the blocking methods run off the event loop on a cache miss."""

    def __init__(self, store: ObjectStore, specs: dict[str, ProductSpec]) -> None:
        self.store = store
        self.specs = specs
        self._lock = threading.Lock()
        self._latest: dict[str, tuple[float, int | None]] = {}
        self._approved: set[tuple[str, int]] = set()  # a decision is recorded once: cache it forever
        self._tables: OrderedDict[tuple[str, int], VersionTable] = OrderedDict()
        self._infos: dict[tuple[str, int], VersionInfo] = {}

    def spec(self, name: str) -> ProductSpec:
        spec = self.specs.get(name) if NAME_RE.match(name) else None
        if spec is None:
            raise NotServedError("no such product")
        return spec

    # --- which version: fast paths return None when they need I/O

    def cached_version(self, name: str, pinned: int | None) -> int | None:
        if pinned is not None:
            return pinned if (name, pinned) in self._approved else None
        entry = self._latest.get(name)
        if entry and time.monotonic() - entry[0] < LATEST_TTL_S and entry[1] is not None:
            return entry[1]
        return None

    def resolve_version(self, name: str, pinned: int | None) -> int:
        self.spec(name)
        if pinned is None:
            version = latest_version(self.store, name)
            self._latest[name] = (time.monotonic(), version)
            if version is None:
                raise NotServedError("the product has no approved version yet")
            return version
        decision = read_decision(self.store, name, pinned)
        if not decision or decision["decision"] != APPROVED:
            raise NotServedError("no approved version with that number")
        self._approved.add((name, pinned))
        return pinned

    # --- loaded versions

    def cached_table(self, name: str, version: int) -> VersionTable | None:
        return self._tables.get((name, version))

    def table(self, name: str, version: int) -> VersionTable:
        with self._lock:  # one loader per version; others wait for its result
            found = self._tables.get((name, version))
            if found is not None:
                self._tables.move_to_end((name, version))
                return found
            spec = self.spec(name)
            info = self.info(name, version)
            parts = [index_table(self.store.get(k), spec) for k in info.data_files]
            columns = parts[0][0] if parts else tuple(spec.schema)
            rows: dict[str, bytes] = {}
            for _, part in parts:
                rows.update(part)
            loaded = VersionTable(name, version, spec.key, columns, rows)
            self._tables[(name, version)] = loaded
            while len(self._tables) > VERSIONS_KEPT:
                self._tables.popitem(last=False)
            return loaded

    def cached_info(self, name: str, version: int) -> VersionInfo | None:
        return self._infos.get((name, version))

    def info(self, name: str, version: int) -> VersionInfo:
        found = self._infos.get((name, version))
        if found is not None:
            return found
        spec = self.spec(name)
        try:
            manifest = read_manifest(self.store, name, version)
        except UnknownVersionError as exc:
            raise NotServedError("no such version") from exc
        body = encode(public_manifest(manifest, spec, read_decision(self.store, name, version)))
        files = tuple(
            f"{name}/v{version}/{f['path']}" for f in manifest.get("files", []) if f["path"].endswith(".parquet")
        )
        in_schema = set(manifest.get("schema") or {}) <= set(spec.schema)
        info = VersionInfo(name, version, body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', files, in_schema)
        self._infos[(name, version)] = info
        return info

    def data_bytes(self, name: str, version: int, file_name: str) -> bytes:
        return read_file(self.store, name, version, file_name)
