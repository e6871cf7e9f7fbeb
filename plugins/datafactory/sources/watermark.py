"""Watermark arithmetic for incremental pulls. Pure functions."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd


def pull_window(watermark: datetime | None, logical_date: date) -> tuple[datetime | None, datetime]:
    """Rows with watermark < updated_at < end of the logical date belong to this run.

    The upper bound makes a rerun of an old date see the same rows it saw the first time.
    """
    upper = datetime.combine(logical_date + timedelta(days=1), time.min)
    return watermark, upper


def advance(watermark: datetime | None, stamps: pd.Series) -> datetime | None:
    """The new watermark: the newest timestamp pulled (`stamps`, read as the watermark column declares),
    never moving backwards."""
    if not pd.api.types.is_datetime64_any_dtype(stamps):  # text: ISO 8601 only, never guessed per file
        stamps = pd.to_datetime(stamps, errors="coerce", format="ISO8601")
    stamps = stamps.dropna()
    if stamps.empty:
        return watermark
    newest = stamps.max().to_pydatetime()
    return newest if watermark is None or newest > watermark else watermark
