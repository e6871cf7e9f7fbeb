"""Retry with exponential backoff and full jitter for transient upstream failures, on tenacity."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import tenacity

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


class _HintOrJitter(tenacity.wait.wait_base):
    """Full jitter (uniform in [0, min(max, base * 2^n)], so retrying clients spread out), but never
    sooner than the server's Retry-After."""

    def __init__(self, backoff: Backoff):
        self.jitter = tenacity.wait_random_exponential(multiplier=backoff.base_s, max=backoff.max_s)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        failure = retry_state.outcome.exception() if retry_state.outcome else None
        hint = getattr(failure, "retry_after", None)
        return max(hint or 0.0, self.jitter(retry_state))


def with_retries(
    call: Callable[[], T],
    backoff: Backoff,
    retry_on: tuple[type[BaseException], ...] = (TransientError,),
    sleep: Callable[[float], object] = time.sleep,
    on_retry: Callable[[int, BaseException], None] | None = None,
) -> T:
    """`call()`, retried on `retry_on` up to `backoff.attempts` times in all; any other error is raised
    at once. RetriesExhaustedError (from the last failure) when every attempt failed."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        if on_retry is not None and state.outcome is not None:
            on_retry(state.attempt_number, state.outcome.exception())

    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(backoff.attempts),
        wait=_HintOrJitter(backoff),
        retry=tenacity.retry_if_exception_type(retry_on),
        sleep=sleep,
        before_sleep=before_sleep,
    )
    try:
        return retrying(call)
    except tenacity.RetryError as exc:
        last = exc.last_attempt.exception()
        raise RetriesExhaustedError(f"gave up after {backoff.attempts} attempts: {last}") from last
