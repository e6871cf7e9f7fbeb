"""Per-license rate (token bucket, requests per second) and daily quota (keys looked up per day).

Pure and in memory: the server runs one process, and the quota of a day it starts in is seeded from
the usage ledger, so a restart neither forgets nor double-counts what was already served.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date


@dataclass
class _Bucket:
    tokens: float
    at: float


class RateLimiter:
    def __init__(self) -> None:
        self._buckets: dict[int, _Bucket] = {}

    def take(self, license_id: int, rate_per_s: float, now: float) -> int:
        """0 when the request may go ahead, else the whole seconds to wait (Retry-After)."""
        capacity = max(1.0, rate_per_s)  # a burst of one second's worth
        bucket = self._buckets.get(license_id)
        if bucket is None:
            bucket = self._buckets[license_id] = _Bucket(capacity, now)
        bucket.tokens = min(capacity, bucket.tokens + (now - bucket.at) * rate_per_s)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0
        return max(1, math.ceil((1.0 - bucket.tokens) / rate_per_s))


class Quotas:
    def __init__(self) -> None:
        self._used: dict[tuple[int, date], int] = {}

    def known(self, license_id: int, day: date) -> bool:
        return (license_id, day) in self._used

    def seed(self, license_id: int, day: date, used: int) -> None:
        self._used.setdefault((license_id, day), used)
        for stale in [k for k in self._used if k[1] < day]:
            del self._used[stale]

    def take(self, license_id: int, day: date, quota: int, n: int) -> bool:
        """Reserve n lookups of today's quota; False (nothing reserved) when they do not fit."""
        used = self._used.get((license_id, day), 0)
        if used + n > quota:
            return False
        self._used[(license_id, day)] = used + n
        return True

    def give_back(self, license_id: int, day: date, n: int) -> None:
        """A reserved call that did not succeed does not count."""
        key = (license_id, day)
        if key in self._used:
            self._used[key] = max(0, self._used[key] - n)

    def used(self, license_id: int, day: date) -> int:
        return self._used.get((license_id, day), 0)
