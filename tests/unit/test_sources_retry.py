import pytest

from datafactory.sources.retry import Backoff, RetriesExhaustedError, TransientError, with_retries

pytestmark = pytest.mark.unit


def _flaky(failures: int, error: Exception):
    calls = {"n": 0}

    def call():
        calls["n"] += 1
        if calls["n"] <= failures:
            raise error
        return "ok"

    return call, calls


def test_retries_transient_failures_with_growing_capped_delays():
    call, calls = _flaky(3, TransientError("503"))
    waits: list[float] = []
    assert with_retries(call, Backoff(attempts=5, base_s=1.0, max_s=3.0), sleep=waits.append) == "ok"
    assert calls["n"] == 4 and len(waits) == 3
    assert all(0 <= w <= cap for w, cap in zip(waits, [1.0, 2.0, 3.0], strict=True))


def test_gives_up_after_the_last_attempt_with_the_cause():
    call, calls = _flaky(10, TransientError("timeout"))
    with pytest.raises(RetriesExhaustedError, match="3 attempts: timeout"):
        with_retries(call, Backoff(attempts=3), sleep=lambda s: None)
    assert calls["n"] == 3


def test_server_retry_after_hint_is_honoured():
    call, _ = _flaky(1, TransientError("429", retry_after=7.5))
    waits: list[float] = []
    with_retries(call, Backoff(attempts=2, base_s=0.01), sleep=waits.append)
    assert waits == [7.5]


def test_permanent_errors_are_not_retried():
    call, calls = _flaky(1, ValueError("bad request"))
    with pytest.raises(ValueError):
        with_retries(call, Backoff(attempts=5), sleep=lambda s: None)
    assert calls["n"] == 1


def test_on_retry_sees_each_failed_attempt_in_order():
    call, _ = _flaky(2, TransientError("502"))
    seen: list[tuple[int, str]] = []
    with_retries(
        call, Backoff(attempts=4, base_s=0.01), sleep=lambda s: None, on_retry=lambda n, e: seen.append((n, str(e)))
    )
    assert seen == [(1, "502"), (2, "502")]


def test_only_the_declared_errors_are_retried():
    call, calls = _flaky(2, ConnectionError("reset"))
    assert with_retries(call, Backoff(attempts=3), retry_on=(ConnectionError,), sleep=lambda s: None) == "ok"
    assert calls["n"] == 3
