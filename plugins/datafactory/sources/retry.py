"""Retry with exponential backoff and jitter, for transient upstream failures."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


class TransientError(RuntimeError):
    """A failure worth retrying (5xx, timeout, rate limit, dropped connection).

    `retry_after` is the server's own hint in seconds, when it sent one.
    """

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RetriesExhaustedError(RuntimeError):
    """Every attempt failed; the message carries the last failure and the attempt count."""


@dataclass(frozen=True)
class Backoff:
    attempts: int = 8
    base_s: float = 0.2
    max_s: float = 10.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Full jitter: uniform in [0, min(max, base * 2^attempt)], so retrying clients spread out."""
        return rng.uniform(0, min(self.max_s, self.base_s * 2**attempt))


def with_retries(
    call: Callable[[], T],
    backoff: Backoff,
    retry_on: tuple[type[BaseException], ...] = (TransientError,),
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    rng = rng or random.Random()
    for attempt in range(backoff.attempts):
        try:
            return call()
        except retry_on as exc:
            if attempt == backoff.attempts - 1:
                raise RetriesExhaustedError(f"gave up after {backoff.attempts} attempts: {exc}") from exc
            if on_retry:
                on_retry(attempt + 1, exc)
            hint = getattr(exc, "retry_after", None)
            sleep(max(hint or 0.0, backoff.delay(attempt, rng)))
    raise AssertionError("unreachable: the loop returns or raises")
