"""The usage ledger: one append-only row per API call, written in batches off the request path.

Requests put a `UsageRow` on a queue; a writer thread inserts them every `flush_rows` rows or
`flush_s` seconds, whichever comes first, and drains the queue on shutdown. Each row carries a
request id that is unique in the table, so a batch retried after an ambiguous failure never doubles a
row. If the database stays unreachable at shutdown, the rows go to a spill file that the next start
replays: no call goes unrecorded.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import queue
import threading
import time
import uuid
from dataclasses import dataclass, fields
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from datafactory.serving.tables import USAGE

log = logging.getLogger(__name__)


@dataclass(slots=True)
class UsageRow:
    at: datetime
    endpoint: str
    status: int
    latency_ms: float
    consumer_id: int | None = None
    consumer: str | None = None
    license_id: int | None = None
    product: str | None = None
    version: int | None = None
    keys_count: int = 0
    keys_hash: str | None = None
    rows: int = 0
    purpose: str | None = None
    request_id: str = ""

    def record(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in COLUMNS}
        out["request_id"] = self.request_id or os.urandom(16).hex()
        return out


COLUMNS = [f.name for f in fields(UsageRow)]


def keys_hash(secret: bytes, keys: list[str]) -> str | None:
    """A keyed hash (BLAKE2b MAC) of the keys asked: lets an operator with the secret confirm a given key
    was asked, and tells nobody else anything (a plain hash of a USCC is reversible by enumeration)."""
    if not keys:
        return None
    return hashlib.blake2b("\n".join(keys).encode(), key=secret[:64], digest_size=32).hexdigest()


class _Insert:
    """The ledger's INSERT compiled once per dialect, with the column types' bind processors applied by
    hand: a batch goes to the driver's executemany without per-row statement processing."""

    def __init__(self, engine: sa.Engine) -> None:
        compiled = USAGE.insert().compile(dialect=engine.dialect, column_keys=COLUMNS)
        self.sql = compiled.string
        self.order = list(compiled.positiontup) if compiled.positional else None
        processors = {c.name: c.type.bind_processor(engine.dialect) for c in USAGE.columns if c.name in COLUMNS}
        self.processors = {k: p for k, p in processors.items() if p is not None}

    def params(self, records: list[dict[str, Any]]) -> list:
        converted = []
        for record in records:
            row = dict(record)
            for name, process in self.processors.items():
                row[name] = process(row[name])
            converted.append(tuple(row[k] for k in self.order) if self.order is not None else row)
        return converted


_INSERTS: dict[int, _Insert] = {}


def insert_rows(engine: sa.Engine, records: list[dict[str, Any]]) -> None:
    """Insert, skipping request ids already present (a retry of a batch that did land)."""
    if not records:
        return
    insert = _INSERTS.get(id(engine)) or _INSERTS.setdefault(id(engine), _Insert(engine))
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(insert.sql, insert.params(records))
        return
    except sa.exc.IntegrityError:
        pass
    ids = [r["request_id"] for r in records]
    with engine.begin() as conn:
        present = set(conn.execute(sa.select(USAGE.c.request_id).where(USAGE.c.request_id.in_(ids))).scalars())
        fresh = [r for r in records if r["request_id"] not in present]
        if fresh:
            conn.exec_driver_sql(insert.sql, insert.params(fresh))


class UsageWriter:
    def __init__(
        self, engine: sa.Engine, spill_dir: Path, flush_rows: int = 500, flush_s: float = 0.2, give_up_s: float = 10.0
    ) -> None:
        self.engine = engine
        self.spill_dir = spill_dir
        self.flush_rows = flush_rows
        self.flush_s = flush_s
        self.give_up_s = give_up_s
        self.queue: queue.SimpleQueue[UsageRow | None] = queue.SimpleQueue()
        self.written = 0
        self._thread = threading.Thread(target=self._run, name="usage-writer", daemon=True)

    def start(self) -> None:
        replay_spills(self.engine, self.spill_dir)
        self._thread.start()

    def submit(self, row: UsageRow) -> None:
        self.queue.put(row)

    def close(self) -> None:
        """Flush everything submitted so far and stop (FastAPI lifespan shutdown)."""
        self.queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        deadline = None
        closing = False
        while not closing:
            timeout = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                item = self.queue.get(timeout=timeout)
            except queue.Empty:
                item = ...
            if item is None:
                closing = True
            elif item is not ...:
                pending.append(item.record())
                deadline = deadline or time.monotonic() + self.flush_s
                if len(pending) < self.flush_rows:
                    continue
            if pending:
                pending = self._flush(pending, final=closing)
            deadline = time.monotonic() + self.flush_s if pending else None

    def _flush(self, records: list[dict[str, Any]], final: bool) -> list[dict[str, Any]]:
        """Write; on failure keep the rows for the next round, or spill them when closing."""
        wait, started = 0.05, time.monotonic()
        while True:
            try:
                insert_rows(self.engine, records)
                self.written += len(records)
                return []
            except sa.exc.SQLAlchemyError:
                log.exception("writing %d usage rows failed", len(records))
                if not final:
                    return records
                if time.monotonic() - started > self.give_up_s:
                    spill(self.spill_dir, records)
                    return []
                time.sleep(wait)
                wait = min(1.0, wait * 2)


def spill(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"usage-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}.jsonl"
    with open(path, "w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(record, default=str) + "\n")
    log.error("the usage DB was unreachable: %d rows kept in %s, written at the next start", len(records), path)
    return path


def replay_spills(engine: sa.Engine, folder: Path) -> int:
    count = 0
    for path in sorted(folder.glob("usage-*.jsonl")) if folder.is_dir() else []:
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for record in records:
            record["at"] = datetime.fromisoformat(record["at"])
        insert_rows(engine, records)
        path.unlink()
        count += len(records)
    return count


# --- reading the ledger


def select_rows(engine: sa.Engine, start: datetime, end: datetime, consumer: str | None = None) -> list[dict[str, Any]]:
    query = sa.select(USAGE).where(USAGE.c.at >= start, USAGE.c.at < end).order_by(USAGE.c.id)
    if consumer:
        query = query.where(USAGE.c.consumer == consumer)
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def keys_served(engine: sa.Engine, license_id: int, since: datetime, endpoints: tuple[str, ...]) -> int:
    """Keys looked up successfully under a license since a moment (seeds today's quota)."""
    query = sa.select(sa.func.coalesce(sa.func.sum(USAGE.c.keys_count), 0)).where(
        USAGE.c.license_id == license_id,
        USAGE.c.status == 200,
        USAGE.c.endpoint.in_(endpoints),
        USAGE.c.at >= since,
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar_one())
