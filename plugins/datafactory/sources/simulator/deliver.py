"""Writes a simulated day's delivery into the front-end exchange database, exactly once."""

from __future__ import annotations

from datetime import date

import numpy as np
import sqlalchemy as sa

from datafactory.sources.simulator.defects import ENTERPRISE_DEFECTS, inject_defects
from datafactory.sources.simulator.enterprise import enterprise_delivery

_LEDGER = sa.Table(
    "_deliveries",
    sa.MetaData(),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
)


def deliver_day(engine: sa.Engine, seed: int, size: int, base: date, logical_date: date) -> int:
    """Insert the upstream rows for `logical_date`; returns rows inserted (0 if already delivered).

    One transaction covers the rows and the delivery mark, so a crash leaves nothing half-written.
    """
    day = (logical_date - base).days
    if day < 0:
        raise ValueError(f"logical date {logical_date} is before the simulator's first day {base}")
    _LEDGER.metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(sa.select(_LEDGER.c.rows).where(_LEDGER.c.day == logical_date)).first():
            return 0
        rng = np.random.default_rng([seed, 2, day])
        total = 0
        for table, frame in enterprise_delivery(seed, size, base, day).items():
            dirty = inject_defects(frame, ENTERPRISE_DEFECTS[table], rng)
            dirty.to_sql(table, conn, if_exists="append", index=False, chunksize=10_000)
            total += len(dirty)
        conn.execute(_LEDGER.insert().values(day=logical_date, rows=total))
    return total
