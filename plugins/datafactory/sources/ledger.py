"""Pull ledger: every pull of every feed, and the watermark each feed has reached."""

from __future__ import annotations

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
    sa.Index("ix_pulls_source_date", "source", "logical_date"),
)
SUCCESS = "success"


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


class Ledger:
    def __init__(self, engine: sa.Engine):
        self.engine = engine
        _META.create_all(engine)

    def record(self, rec: PullRecord) -> None:
        with self.engine.begin() as conn:
            conn.execute(PULLS.insert().values(**asdict(rec)))

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


def _record(row: sa.RowMapping) -> PullRecord:
    return PullRecord(**{k: v for k, v in row.items() if k != "id"})
