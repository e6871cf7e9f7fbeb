"""Days and months as China Standard Time (UTC+8, no daylight saving) over UTC timestamps.

Quotas reset and statements close at midnight in Beijing; the ledger stores naive UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, timezone

CST = timezone(timedelta(hours=8), "CST")
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def china_day(at_utc: datetime) -> date:
    return at_utc.replace(tzinfo=UTC).astimezone(CST).date()


def day_start_utc(day: date) -> datetime:
    return datetime.combine(day, time(), CST).astimezone(UTC).replace(tzinfo=None)


def seconds_to_next_day(at_utc: datetime) -> int:
    """Whole seconds (at least 1) until the next midnight in Beijing."""
    nxt = day_start_utc(china_day(at_utc) + timedelta(days=1))
    return max(1, int((nxt - at_utc).total_seconds() + 0.999))


def parse_month(text: str) -> tuple[int, int]:
    match = MONTH_RE.match(text)
    if not match:
        raise ValueError(f"month {text!r}: expected YYYY-MM, e.g. 2026-11")
    return int(match.group(1)), int(match.group(2))


def month_bounds_utc(text: str) -> tuple[datetime, datetime]:
    """[start, end) of a month in Beijing, as naive UTC."""
    year, month = parse_month(text)
    first = date(year, month, 1)
    following = date(year + month // 12, month % 12 + 1, 1)
    return day_start_utc(first), day_start_utc(following)


def current_month(at_utc: datetime | None = None) -> str:
    return china_day(at_utc or utcnow()).strftime("%Y-%m")
