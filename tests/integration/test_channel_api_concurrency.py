"""Pages in parallel, against the simulated platform: a real threaded HTTP server on 127.0.0.1 that counts
the record requests it is answering at once. The hooks below act on the server side only (holding,
reordering or failing pages); the client under test is the production ApiChannel and ingest.

- The declared limit is reached (more pages than the limit) and never exceeded.
- A concurrent pull lands exactly what a one-page-at-a-time pull lands: the same rows in the same part
  files, the same ledger counts and watermark, every page asked for once; also when the server answers
  pages out of order, and for any (pages, limit).
- A page failing for good fails the pull: no raw partition, no staging folder, no successful pull, no
  moved watermark. A page map that no longer matches the records fails it too.
- A platform without a page map is walked one page at a time (cursor-only platforms keep working).
"""

from __future__ import annotations

import math
import random
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import hypothesis
import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import strategies as st

from datafactory.settings import REPO_ROOT
from datafactory.sources import ingest as ingest_module
from datafactory.sources.channels import Window
from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.ingest import IngestError, ingest
from datafactory.sources.ledger import Ledger
from datafactory.sources.retry import Backoff
from datafactory.sources.simulator.api_server import PlatformApi, PlatformError
from datafactory.sources.simulator.deliver import write_tables
from datafactory.sources.simulator.medical import medical_delivery
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)
KEY, SECRET = "app", "s3cret"
FAST = Backoff(attempts=4, base_s=0.01, max_s=0.05)
FEED = "med_visits"
PAGE = 100  # about 15 pages of the day's visits


class Observed(PlatformApi):
    """The simulated platform with server-side hooks on the pages after the first (cursor pages).

    - `target`: the first cursor requests are held until `target` of them are being answered at once, or
      for `hold_s` (once: then every request passes). With target = limit a correct client reaches its
      limit whatever the timing; with target = limit + 1 a client that exceeds it shows it, since nothing
      held can finish before the extra request arrives.
    - `out_of_order`: page 2k+1 is answered only after page 2k+2, other pages after a seeded jitter.
    - `broken`: that page (1: the first after the page map's first page) answers HTTP 500 every time.
    - `offers_map=False`: a platform that pages by cursor only (it ignores `page_map`).
    - `insert_after_first`: a record is added inside the window once the first page was answered.
    """

    def __init__(
        self,
        store: str,
        *,
        target: int = 0,
        hold_s: float = 30.0,
        out_of_order: bool = False,
        broken: int | None = None,
        offers_map: bool = True,
        insert_after_first: bool = False,
    ):
        super().__init__(store, KEY, SECRET)
        self.target, self.hold_s, self.out_of_order = target, hold_s, out_of_order
        self.broken, self.offers_map, self.insert_after_first = broken, offers_map, insert_after_first
        self.number: dict[str, int] = {}  # cursor -> page number, from the page map served
        self.answered: list[int] = []  # cursor pages, in the order they were answered
        self._turn = threading.Condition()
        self._waiting, self._open = 0, False
        self._jitter = random.Random(3)

    def page(self, dataset, since, until, cursor, limit, page_map=False) -> dict:
        if cursor is None:
            body = super().page(dataset, since, until, cursor, limit, page_map and self.offers_map)
            self.number = {c: n for n, c in enumerate(body.get("page_cursors", []), start=1)}
            if self.insert_after_first:
                self._insert_inside(until)
            return body
        number = self.number.get(cursor, 0)
        if number == self.broken:
            raise PlatformError(500, "injected: this page is lost for good")
        self._hold()
        if self.out_of_order:
            self._after(number + 1 if number % 2 and number + 1 in self.number.values() else None)
        body = super().page(dataset, since, until, cursor, limit, page_map)
        with self._turn:
            self.answered.append(number)
            self._turn.notify_all()
        return body

    def _hold(self) -> None:
        with self._turn:
            self._waiting += 1
            self._turn.notify_all()
            self._turn.wait_for(lambda: self._open or self._waiting >= self.target, timeout=self.hold_s)
            self._open = True

    def _after(self, number: int | None) -> None:
        with self._turn:
            if number is not None:
                self._turn.wait_for(lambda: number in self.answered, timeout=self.hold_s)
        time.sleep(self._jitter.uniform(0, 0.01))

    def _insert_inside(self, until: str) -> None:
        """A late record whose updated_at falls in the middle of the window (the platform changed)."""
        with self.engine.begin() as conn:
            stamps = [
                r[0]
                for r in conn.execute(sa.text(f"SELECT updated_at FROM {FEED} WHERE updated_at < :u"), {"u": until})
            ]
            middle = sorted(stamps)[len(stamps) // 2]
            row = (
                conn.execute(sa.text(f"SELECT * FROM {FEED} WHERE updated_at = :m LIMIT 1"), {"m": middle})
                .mappings()
                .one()
            )
            conn.execute(
                sa.text(f"INSERT INTO {FEED} ({', '.join(row)}) VALUES ({', '.join(':' + k for k in row)})"),
                {**row, "visit_id": "LATE-1"},
            )


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> str:
    """The platform's store: one day of simulated medical feeds."""
    url = f"sqlite:///{tmp_path_factory.mktemp('platform')}/platform.db"
    engine = sa.create_engine(url)
    write_tables(engine, medical_delivery(7, 600, DAY, 0), DAY)
    engine.dispose()
    return url


def _spec(concurrency: int, page_size: int = PAGE):
    spec = load_sources(REPO_ROOT)[FEED]
    platform = {"name": "sharing_platform", "connections": 8}  # room above the feed's declared 4
    return spec.revised(
        options={"dataset": FEED, "page_size": page_size, "concurrency": concurrency}, platform=platform
    )


def _window() -> Window:
    return Window(None, datetime.combine(DAY + timedelta(days=1), datetime.min.time()), DAY)


def _fetched(api: PlatformApi, concurrency: int, page_size: int = PAGE) -> pd.DataFrame:
    delivery = ApiChannel(api.url, KEY, SECRET, backoff=FAST).fetch(_spec(concurrency, page_size), _window())
    return pd.concat(list(delivery.units[0].batches(250)), ignore_index=True)


def _rows(store: str) -> int:
    with sa.create_engine(store).connect() as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {FEED}")).scalar()


def _ingest(home: Path, api: PlatformApi, concurrency: int):
    home.mkdir(parents=True, exist_ok=True)
    ledger = Ledger(sa.create_engine(f"sqlite:///{home}/state.db"))
    channel = ApiChannel(api.url, KEY, SECRET, backoff=FAST)
    result = ingest(
        _spec(concurrency),
        DAY,
        "run",
        upstream=Upstream(api=channel),
        ledger=ledger,
        zones=Zones(home),
        pseudonym_key=b"k",
    )
    return result, ledger


def _parts(home: Path) -> dict[str, pd.DataFrame]:
    folder = Zones(home).raw_partition(FEED, DAY)
    return {p.name: pd.read_parquet(p) for p in sorted(folder.glob("part-*.parquet"))}


@pytest.mark.parametrize("limit", [2, 3])
def test_requests_in_flight_reach_the_declared_limit(store, limit):
    pages = _rows(store) // PAGE
    assert pages > limit
    with Observed(store, target=limit) as api:
        _fetched(api, limit)
        assert api.stats.max_in_flight == limit


@pytest.mark.parametrize("limit", [1, 3, 4])
def test_requests_in_flight_never_exceed_the_declared_limit(store, limit):
    with Observed(store, target=limit + 1, hold_s=2.0) as api:  # an extra request would be held, and counted
        _fetched(api, limit)
        assert api.stats.max_in_flight == limit


@pytest.fixture
def small_batches(monkeypatch) -> None:
    """Landing batches of 300 rows, so a partition is several part files (and a failure comes mid-partition)."""
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 300)


@pytest.mark.parametrize("out_of_order", [False, True])
def test_a_concurrent_pull_lands_what_a_serial_pull_lands(store, tmp_path, small_batches, out_of_order):
    with Observed(store) as api:
        serial, serial_ledger = _ingest(tmp_path / "serial", api, 1)
        serial_requests = api.stats.requests
    with Observed(store, out_of_order=out_of_order) as api:
        parallel, parallel_ledger = _ingest(tmp_path / "parallel", api, 4)
        assert api.stats.requests == serial_requests  # every page asked for once
        assert api.stats.max_in_flight > 1
        assert sorted(api.answered) == list(range(1, len(api.number) + 1))
        if out_of_order:
            assert api.answered != sorted(api.answered)
    expected, got = _parts(tmp_path / "serial"), _parts(tmp_path / "parallel")
    assert len(expected) > 2 and list(got) == list(expected)
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(got[name], frame)
    assert serial.rows == _rows(store) and parallel.rows == serial.rows
    before, after = serial_ledger.history(FEED)[0], parallel_ledger.history(FEED)[0]
    for field in ("outcome", "rows", "rows_received", "rows_duplicate", "rows_quarantined", "watermark_after"):
        assert getattr(after, field) == getattr(before, field), field


def test_a_page_failing_for_good_fails_the_pull_and_lands_nothing(store, tmp_path, small_batches):
    with Observed(store, broken=6) as api, pytest.raises(IngestError, match="HTTP 500") as failed:
        _ingest(tmp_path, api, 3)
    assert "gave up after 4 attempts" in str(failed.value)
    raw = Zones(tmp_path).raw_partition(FEED, DAY)
    assert not raw.exists() and not list(raw.parent.glob(f".{raw.name}.*"))  # nor a staging folder
    ledger = Ledger(sa.create_engine(f"sqlite:///{tmp_path}/state.db"))
    assert ledger.successful_pull(FEED, DAY) is None
    assert ledger.watermark(FEED, DAY + timedelta(days=1)) is None
    assert [r.outcome for r in ledger.history(FEED)] == ["failed"]


def test_a_page_map_the_records_no_longer_match_fails_the_pull(tmp_path):
    url = f"sqlite:///{tmp_path}/changing.db"
    write_tables(sa.create_engine(url), medical_delivery(7, 600, DAY, 0), DAY)
    with Observed(url, insert_after_first=True) as api, pytest.raises(IngestError, match="records changed"):
        _ingest(tmp_path, api, 4)
    assert not Zones(tmp_path).raw_partition(FEED, DAY).exists()


@pytest.fixture(scope="module")
def walked(store) -> pd.DataFrame:
    """The day's rows as a one-page-at-a-time pull delivers them (the same for any page size)."""
    with Observed(store) as api:
        return _fetched(api, 1)


def test_a_platform_without_a_page_map_is_walked_page_by_page(store, walked):
    with Observed(store, offers_map=False) as api:
        rows = _fetched(api, 4)
        assert api.stats.max_in_flight == 1
    pd.testing.assert_frame_equal(rows, walked)


@hypothesis.example(pages=0, limit=4)
@hypothesis.settings(
    max_examples=12, deadline=None, suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture]
)
@hypothesis.given(pages=st.integers(min_value=0, max_value=12), limit=st.integers(min_value=1, max_value=6))
def test_any_pages_and_limit_give_the_serial_rows_within_the_limit(store, walked, pages, limit):
    page_size = math.ceil(len(walked) / pages) if pages else len(walked) + 1  # 0: one page, part full
    following = len(walked) // page_size  # pages after the first (the last one maybe empty)
    expected = max(1, min(limit, following)) if limit > 1 else 1  # in flight at once
    with Observed(store, target=expected) as api:
        parallel = _fetched(api, limit, page_size)
        assert api.stats.requests == 1 + following  # each page of the cursor walk, once
        assert api.stats.max_in_flight == expected
    pd.testing.assert_frame_equal(parallel, walked)
