"""Delivers a simulated day to every upstream channel, each exactly once.

Each feed goes where its spec says (`channel:` in sources/<feed>.yaml): the front-end exchange
database, the sharing platform's store (served by the simulated API), or the landing area for file
drops. A delivery mark per channel and day makes a second call for the same day a no-op.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from datafactory.sources.landing import Landing
from datafactory.sources.simulator.buildings import building_delivery
from datafactory.sources.simulator.defects import DEFECTS, inject_defects
from datafactory.sources.simulator.enterprise import enterprise_delivery
from datafactory.sources.simulator.files import DayDrops, FileFaults, feed_drops, write_drops
from datafactory.sources.simulator.medical import medical_delivery
from datafactory.sources.simulator.suppliers import supplier_delivery
from datafactory.specs import SourceSpec

LATE_SHARE = 0.005  # rows committed late: stamped up to 3 h before the day they arrive in
_MARKS = sa.Table(
    "_deliveries",
    sa.MetaData(),
    sa.Column("day", sa.Date, primary_key=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
)


@dataclass(frozen=True)
class Scale:
    """Population sizes, all derived from the number of enterprises."""

    enterprises: int

    @property
    def persons(self) -> int:
        return 2 * self.enterprises

    @property
    def buildings(self) -> int:
        return max(50, self.enterprises // 2)


@dataclass
class Targets:
    exchange: sa.Engine | None = None
    platform: sa.Engine | None = None
    landing: Landing | None = None


def day_tables(seed: int, scale: Scale, base: date, day: int) -> dict[str, pd.DataFrame]:
    """Every feed's rows for one day, with defects injected, deterministic by (seed, day)."""
    clean = {
        **enterprise_delivery(seed, scale.enterprises, base, day),
        **supplier_delivery(seed, scale.enterprises, base, day),
        **medical_delivery(seed, scale.persons, base, day),
        **building_delivery(seed, scale.buildings, base, day),
    }
    rng = np.random.default_rng([seed, 2, day])
    return {name: inject_defects(frame, DEFECTS[name], rng) for name, frame in clean.items()}


def _late_commits(frame: pd.DataFrame, seed: int, day: int, name: str) -> pd.DataFrame:
    """A few rows stamped before the day they arrive in, as when a long transaction commits late."""
    if day == 0 or frame.empty:
        return frame
    rng = np.random.default_rng([seed, 5, day, zlib.crc32(name.encode())])
    hit = rng.random(len(frame)) < LATE_SHARE
    out = frame.copy()
    start = pd.Timestamp(out["updated_at"].min()).normalize()
    out.loc[hit, "updated_at"] = start - pd.to_timedelta(rng.integers(1, 3 * 3600, int(hit.sum())), unit="s")
    return out


def write_tables(engine: sa.Engine, tables: dict[str, pd.DataFrame], logical_date: date) -> int:
    """Append the day's rows and its delivery mark in one transaction; 0 if the day was delivered."""
    _MARKS.metadata.create_all(engine)
    with engine.begin() as conn:
        if conn.execute(sa.select(_MARKS.c.rows).where(_MARKS.c.day == logical_date)).first():
            return 0
        total = 0
        for table, frame in tables.items():
            frame.to_sql(table, conn, if_exists="append", index=False, chunksize=10_000)
            conn.execute(sa.text(f'CREATE INDEX IF NOT EXISTS "ix_{table}_updated_at" ON "{table}" (updated_at)'))
            total += len(frame)
        conn.execute(_MARKS.insert().values(day=logical_date, rows=total))
    return total


def deliver_day(engine: sa.Engine, seed: int, size: int, base: date, logical_date: date) -> int:
    """The enterprise feeds of one day into an exchange database (rows inserted; 0 if already delivered)."""
    day = _day(base, logical_date)
    rng = np.random.default_rng([seed, 2, day])
    tables = {
        name: _late_commits(inject_defects(frame, DEFECTS[name], rng), seed, day, name)
        for name, frame in enterprise_delivery(seed, size, base, day).items()
    }
    return write_tables(engine, tables, logical_date)


def deliver_everything(
    targets: Targets,
    specs: dict[str, SourceSpec],
    seed: int,
    scale: Scale,
    base: date,
    logical_date: date,
    faults: FileFaults | None = None,
) -> dict[str, int]:
    """Every feed of one day to the channel its spec names. Returns rows delivered per channel."""
    day = _day(base, logical_date)
    tables = day_tables(seed, scale, base, day)
    routed: dict[str, dict[str, pd.DataFrame]] = {"exchange_db": {}, "api": {}, "files": {}}
    for name, frame in tables.items():
        if name in specs:
            routed[specs[name].channel][name] = frame
    delivered = {"exchange_db": 0, "api": 0, "files": 0}
    if routed["exchange_db"] and targets.exchange is not None:
        late = {n: _late_commits(f, seed, day, n) for n, f in routed["exchange_db"].items()}
        delivered["exchange_db"] = write_tables(targets.exchange, late, logical_date)
    if routed["api"] and targets.platform is not None:
        delivered["api"] = write_tables(targets.platform, routed["api"], logical_date)
    if routed["files"] and targets.landing is not None:
        delivered["files"] = _drop_files(targets.landing, specs, routed["files"], seed, scale, base, day, faults)
    return delivered


def _drop_files(landing, specs, tables, seed, scale, base, day, faults) -> int:
    mark = f"_deliveries/{(base + timedelta(days=day)).isoformat()}.json"
    if any(o.name == mark for o in landing.list("_deliveries")):
        return 0
    faults = faults or FileFaults()
    today = _plan(specs, tables, seed, base, day, faults).today
    if day > 0:  # yesterday's late parts and whole re-sends of yesterday's truncated parts
        yesterday = day_tables(seed, scale, base, day - 1)
        today += _plan(specs, {n: yesterday[n] for n in tables}, seed, base, day - 1, faults).tomorrow
    write_drops(landing, today)
    landing.write(mark, b'{"delivered": true}')
    return sum(len(frame) for frame in tables.values())


def _plan(specs, tables, seed, base, day, faults) -> DayDrops:
    plan = DayDrops([], [])
    when = base + timedelta(days=day)
    for name, frame in tables.items():
        drops = feed_drops(name, frame, specs[name].options, day, when, seed, faults)
        plan.today += drops.today
        plan.tomorrow += drops.tomorrow
    return plan


def _day(base: date, logical_date: date) -> int:
    day = (logical_date - base).days
    if day < 0:
        raise ValueError(f"logical date {logical_date} is before the simulator's first day {base}")
    return day
