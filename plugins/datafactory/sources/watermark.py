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


def advance(watermark: datetime | None, values: pd.Series) -> datetime | None:
    """The new watermark: the newest timestamp pulled, never moving backwards."""
    stamps = pd.to_datetime(values, errors="coerce", format="ISO8601").dropna()
    if stamps.empty:
        return watermark
    newest = stamps.max().to_pydatetime()
    return newest if watermark is None or newest > watermark else watermark
