"""Pull ledger: every pull of every feed, the watermark each feed has reached, and the files it took."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import date, datetime

import sqlalchemy as sa

_META = sa.MetaData()
PULLS = sa.Table(
    "pulls",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("logical_date", sa.Date, nullable=False),
    sa.Column("run_id", sa.String(256), nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("duration_s", sa.Float, nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("watermark_before", sa.DateTime, nullable=True),
    sa.Column("watermark_after", sa.DateTime, nullable=True),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("partition", sa.String(1024), nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    # Row accounting: rows_received = rows (landed) + rows_duplicate + rows_quarantined.
    sa.Column("channel", sa.String(32), nullable=True),
    sa.Column("rows_received", sa.BigInteger, nullable=True),
    sa.Column("rows_duplicate", sa.BigInteger, nullable=True),
    sa.Column("rows_quarantined", sa.BigInteger, nullable=True),
    sa.Column("units", sa.Integer, nullable=True),
    sa.Column("drift", sa.Text, nullable=True),
    sa.Index("ix_pulls_source_date", "source", "logical_date"),
)
FILE_RECEIPTS = sa.Table(
    "file_receipts",
    _META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(128), nullable=False),
    sa.Column("name", sa.String(1024), nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("logical_date", sa.Date, nullable=False),
    sa.Column("run_id", sa.String(256), nullable=False),
    sa.Index("ix_receipts_source", "source", "sha256"),
)
SUCCESS = "success"
FAILED = "failed"
DRIFT = "drift"


@dataclass(frozen=True)
class PullRecord:
    source: str
    logical_date: date
    run_id: str
    started_at: datetime
    duration_s: float
    rows: int
    bytes: int
    watermark_before: datetime | None
    watermark_after: datetime | None
    outcome: str
    partition: str | None
    message: str | None = None
    channel: str | None = None
    rows_received: int | None = None
    rows_duplicate: int | None = None
    rows_quarantined: int | None = None
    units: int | None = None
    drift: str | None = None


@dataclass(frozen=True)
class FileReceipt:
    source: str
    name: str
    sha256: str
    bytes: int
    outcome: str  # landed | duplicate | quarantined | ignored
    reason: str | None
    logical_date: date
    run_id: str


class Ledger:
    def __init__(self, engine: sa.Engine):
        self.engine = engine
        try:
            _META.create_all(engine)
        except (sa.exc.IntegrityError, sa.exc.ProgrammingError):  # a worker on another host created it just now
            _META.create_all(engine)
        _add_missing_columns(engine, PULLS)

    def record(self, rec: PullRecord, receipts: Iterable[FileReceipt] = ()) -> None:
        """The pull and the files it took commit together: a crash between them cannot take a file twice."""
        with self.engine.begin() as conn:
            conn.execute(PULLS.insert().values(**asdict(rec)))
            rows = [asdict(r) for r in receipts]
            if rows:
                conn.execute(FILE_RECEIPTS.insert(), rows)

    def successful_pull(self, source: str, logical_date: date) -> PullRecord | None:
        query = (
            sa.select(PULLS)
            .where(PULLS.c.source == source, PULLS.c.logical_date == logical_date, PULLS.c.outcome == SUCCESS)
            .order_by(PULLS.c.id)
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _record(row) if row else None

    def watermark(self, source: str, before: date) -> datetime | None:
        """Highest watermark committed by successful pulls for logical dates before `before`."""
        query = sa.select(sa.func.max(PULLS.c.watermark_after)).where(
            PULLS.c.source == source, PULLS.c.outcome == SUCCESS, PULLS.c.logical_date < before
        )
        with self.engine.connect() as conn:
            return conn.execute(query).scalar()

    def partitions(self, source: str, since: date, besides: date) -> list[str]:
        """Raw partitions that successful pulls landed for logical dates from `since` on, except
        `besides`. Later dates count too: a date pulled out of order must not land their rows again."""
        query = sa.select(PULLS.c.partition).where(
            PULLS.c.source == source,
            PULLS.c.outcome == SUCCESS,
            PULLS.c.logical_date >= since,
            PULLS.c.logical_date != besides,
        )
        with self.engine.connect() as conn:
            return sorted({p for (p,) in conn.execute(query) if p})

    def taken_files(self, source: str) -> list[tuple[str, str]]:
        """(name, sha256) of every file a pull of `source` has handled (landed, duplicate, quarantined or
        ignored), so a file is reported once, not on every later pull."""
        query = sa.select(FILE_RECEIPTS.c.name, FILE_RECEIPTS.c.sha256).where(FILE_RECEIPTS.c.source == source)
        with self.engine.connect() as conn:
            return [(n, s) for n, s in conn.execute(query)]

    def file_receipts(self, source: str | None = None, limit: int = 100) -> list[FileReceipt]:
        query = sa.select(FILE_RECEIPTS).order_by(FILE_RECEIPTS.c.id.desc()).limit(limit)
        if source:
            query = query.where(FILE_RECEIPTS.c.source == source)
        with self.engine.connect() as conn:
            return [FileReceipt(**{k: v for k, v in r.items() if k != "id"}) for r in conn.execute(query).mappings()]

    def snapshot(self, sources: list[str], logical_date: date) -> dict[str, dict[str, object]]:
        """Per source: the raw partitions (logical dates) and the watermark a run on `logical_date` saw."""
        query = (
            sa.select(PULLS.c.source, PULLS.c.logical_date, PULLS.c.watermark_after)
            .where(PULLS.c.source.in_(sources), PULLS.c.outcome == SUCCESS, PULLS.c.logical_date <= logical_date)
            .order_by(PULLS.c.logical_date)
        )
        out: dict[str, dict[str, object]] = {s: {"partitions": [], "watermark": None} for s in sources}
        with self.engine.connect() as conn:
            for source, day, mark in conn.execute(query):
                entry = out[source]
                if day.isoformat() not in entry["partitions"]:
                    entry["partitions"].append(day.isoformat())
                if mark is not None:
                    entry["watermark"] = mark.isoformat()
        return out

    def history(self, source: str | None = None, limit: int = 50) -> list[PullRecord]:
        query = sa.select(PULLS).order_by(PULLS.c.id.desc()).limit(limit)
        if source:
            query = query.where(PULLS.c.source == source)
        with self.engine.connect() as conn:
            return [_record(r) for r in conn.execute(query).mappings()]


def _add_missing_columns(engine: sa.Engine, table: sa.Table) -> None:
    """Ledgers created by an older version gain the new nullable columns; nothing is rewritten."""
    present = {c["name"] for c in sa.inspect(engine).get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in present]
    if not missing:
        return
    for column in missing:
        kind = column.type.compile(dialect=engine.dialect)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'ALTER TABLE {table.name} ADD COLUMN "{column.name}" {kind}'))
        except sa.exc.DBAPIError:  # a concurrent task added it first
            if column.name not in {c["name"] for c in sa.inspect(engine).get_columns(table.name)}:
                raise


def _record(row: sa.RowMapping) -> PullRecord:
    return PullRecord(**{k: v for k, v in row.items() if k != "id"})
