"""The three ways returned data arrives: exchange database, sharing-platform API, file drops.

Every channel answers `fetch(spec, window)` with a `Delivery`: the units it read (one SQL result, one
API page, one file), already aligned to the spec's column names, plus whatever it had to set aside.
Units are read as they are consumed, in batches, so a large delivery never sits in memory whole; a
delivery's receipts, rejected rows and quarantined files are complete once its units are consumed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Protocol

import pandas as pd

from datafactory.sources.drift import Drift
from datafactory.specs import SourceSpec


class ChannelError(RuntimeError):
    """The channel could not deliver (unreachable, refused, incomplete); nothing is landed."""


class SchemaDriftError(ChannelError):
    """Upstream's columns no longer match the spec in a way the spec does not map."""

    def __init__(self, message: str, drift: Drift):
        super().__init__(message)
        self.drift = drift


@dataclass(frozen=True)
class Window:
    lower: datetime | None  # exclusive; already moved back by the feed's lookback
    upper: datetime  # exclusive: the end of the logical date
    logical_date: date


@dataclass
class Unit:
    """One unit of a delivery: a frame in memory, or a `reader(batch_rows)` that yields it in batches."""

    name: str
    frame: pd.DataFrame | None = None
    reader: Callable[[int], Iterator[pd.DataFrame]] | None = None

    def batches(self, rows: int) -> Iterator[pd.DataFrame]:
        """The unit's rows, at most `rows` at a time; at least one (maybe empty) frame."""
        if self.reader is not None:
            yield from self.reader(rows)
            return
        for start in range(0, max(len(self.frame), 1), rows):
            yield self.frame.iloc[start : start + rows]


@dataclass
class QuarantinedFile:
    name: str
    sha256: str
    data: bytes
    reason: str
    rows: int  # data rows it held, as far as they could be counted
    control: dict | None = None  # its control file, kept so a release re-examines the file the same way


@dataclass(frozen=True)
class Receipt:
    """What happened to one dropped file; recorded with the pull so a file is taken exactly once."""

    name: str
    sha256: str
    bytes: int
    outcome: str  # landed | duplicate | quarantined | ignored (not a file the feed takes; reason says why)
    reason: str | None = None


@dataclass
class Delivery:
    units: Iterable[Unit] = field(default_factory=list)  # may be a generator: consume it once
    rejected_rows: pd.DataFrame | None = None  # malformed and layout rows: _file, _row_text, _reason, _header
    quarantined_files: list[QuarantinedFile] = field(default_factory=list)
    receipts: list[Receipt] = field(default_factory=list)
    transport_duplicates: int = 0  # rows received twice (repeated pages, re-sent files)
    drift: Drift = field(default_factory=Drift)
    bytes: int = 0
    notes: list[str] = field(default_factory=list)


class Channel(Protocol):
    name: str

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery: ...


def upstream_name(spec: SourceSpec, column: str) -> str:
    """The name upstream uses for a spec column (the spec's renames map upstream -> spec)."""
    for old, new in spec.renames.items():
        if new == column:
            return old
    return column
