"""Data-sharing platform REST API channel: token auth, cursor paging, retries with backoff.

The platform answers `GET /api/v1/datasets/<dataset>/records?since=&until=&cursor=&limit=` with
`{"columns": [...], "rows": [[...]], "total": N (first page), "next_cursor": str|null}`; each row
carries the platform's record sequence `_seq`. A page that repeats rows (an inclusive cursor, a
replayed page) is deduplicated on `_seq`, and the pull is complete only when it holds `total`
distinct rows. 5xx, 429 (honouring Retry-After), timeouts, dropped connections and truncated bodies
are retried with exponential backoff, per page; an expired token is renewed once per failure.

Pages in parallel: a feed whose `options.concurrency` is above 1 asks the first page with
`page_map=1`; a platform that offers it answers with `page_cursors`, the cursor starting each
following page. Those pages are then fetched with at most `concurrency` requests in flight and
consumed in page order, and each must end where the map says the next one starts: exactly the chain
of cursors a one-by-one walk follows, so the rows, their order and the pull's outcome are the same.
A platform without a page map is walked one page at a time. Any page failing (after its retries)
fails the pull; the pages still queued are not asked for.

Pages are asked for as Arrow IPC streams (`Accept: application/vnd.apache.arrow.stream`, the page's
`total` and `next_cursor` in the schema metadata), with JSON as the fallback the platform may answer
with; JSON comes gzip-compressed (requests sends `Accept-Encoding: gzip` and decompresses). Both give
the same rows: the JSON page's frame is built from its row lists, the Arrow page's from its columns.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
import requests

from datafactory.sources.channels import ChannelError, Delivery, SchemaDriftError, Unit, Window
from datafactory.sources.drift import align
from datafactory.sources.retry import Backoff, RetriesExhaustedError, TransientError, with_retries
from datafactory.specs import SourceSpec

SEQ = "_seq"
ARROW_STREAM = "application/vnd.apache.arrow.stream"


def stamp(value: datetime | None) -> str | None:
    return value.isoformat(sep=" ", timespec="microseconds") if value else None


@dataclass
class _Page:
    frame: pd.DataFrame  # the page's rows, with `_seq`
    meta: dict  # next_cursor; on the first page also total (and page_cursors when asked for)
    bytes: int  # body bytes received
    retried: int = 0  # requests of this page that failed and were made again


@dataclass
class _Traffic:
    """What one read cost: body bytes, requests made (retries included) and retried requests."""

    bytes: int = 0
    requests: int = 0
    retried: int = 0

    def add(self, page: _Page) -> None:
        self.bytes += page.bytes
        self.requests += 1 + page.retried
        self.retried += page.retried


class _Stopped(Exception):
    """A queued page not asked for because the pull has already failed or stopped."""


class ApiChannel:
    name = "api"

    def __init__(
        self,
        base_url: str,
        app_key: str,
        app_secret: str,
        backoff: Backoff | None = None,
        timeout_s: float = 10.0,
        page_size: int = 5000,
        arrow: bool = True,
    ):
        self.base_url = base_url.rstrip("/")
        self.app_key = app_key
        self.app_secret = app_secret
        self.backoff = backoff or Backoff(attempts=8, base_s=0.2, max_s=5.0)
        self.timeout_s = timeout_s
        self.page_size = page_size
        self.arrow = arrow  # ask for Arrow IPC pages (JSON stays accepted)
        self.session = requests.Session()  # the calling thread's; parallel pages each take one of their own
        self._token: str | None = None
        self._lock = threading.Lock()

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery:
        """All pages of the window as one unit, read page by page as the unit is consumed. Page
        boundaries are arbitrary, so rows repeated across pages are recognised by the platform's `_seq`,
        never by their values. Drift is decided on the first page; an incomplete read fails the pull."""
        dataset = spec.options.dataset or spec.table
        limit = spec.options.page_size or self.page_size
        workers = spec.options.concurrency
        params = {"since": stamp(window.lower), "until": stamp(window.upper), "limit": limit}
        head = self._get(dataset, {**params, "page_map": 1 if workers > 1 else None}, self.session)
        total, after = int(head.meta["total"]), head.meta.get("next_cursor")
        cursors = head.meta.get("page_cursors")
        if workers > 1 and cursors is not None:
            _follows(dataset, after, cursors[0] if cursors else None, 0)
            rest = self._mapped(dataset, params, cursors, workers)
        else:
            rest = self._walk(dataset, params, after)
        _, drift = align(head.frame.drop(columns=[SEQ]), spec)
        if drift.blocking:
            raise SchemaDriftError(f"schema drift in dataset {dataset}: {drift.summary(spec.name)}", drift)
        delivery = Delivery(drift=drift)

        def batch(held: list[pd.DataFrame]) -> pd.DataFrame:
            return align(pd.concat([h for h in held if len(h)] or held[:1], ignore_index=True), spec)[0]

        def read(rows: int) -> Iterator[pd.DataFrame]:
            seen: set = set()
            held: list[pd.DataFrame] = []
            held_rows, batches = 0, 0
            traffic = _Traffic()
            for page in itertools.chain([head], rest):
                traffic.add(page)
                frame, seqs = page.frame, page.frame[SEQ].tolist()
                # One set lookup per row: linear in the pull (isin(seen) rebuilt a hash table of every
                # earlier row for each page: quadratic, 15 s of a 1M-row pull).
                known = np.fromiter(map(seen.__contains__, seqs), dtype=bool, count=len(seqs))
                fresh = ~known & ~frame[SEQ].duplicated().to_numpy()
                delivery.transport_duplicates += int((~fresh).sum())
                seen.update(itertools.compress(seqs, fresh))
                held.append(frame[fresh].drop(columns=[SEQ]))
                held_rows += int(fresh.sum())
                if held_rows >= rows:
                    yield batch(held)
                    held, held_rows, batches = [], 0, batches + 1
            if len(seen) != total:
                raise ChannelError(f"sharing-platform API, dataset {dataset}: got {len(seen)} of {total} records")
            if held_rows or not batches:
                yield batch(held)
            delivery.bytes = traffic.bytes
            if traffic.retried:
                delivery.notes.append(f"{traffic.retried} of {traffic.requests} request(s) retried")

        delivery.units = [Unit(dataset, reader=read)]
        return delivery

    def _walk(self, dataset: str, params: dict, cursor: str | None) -> Iterator[_Page]:
        """The pages after the first, one at a time, each asked with the cursor the one before gave."""
        while cursor:
            page = self._get(dataset, {**params, "cursor": cursor}, self.session)
            yield page
            cursor = page.meta.get("next_cursor")

    def _mapped(self, dataset: str, params: dict, cursors: list[str], workers: int) -> Iterator[_Page]:
        """The pages after the first, from the platform's page map: at most `workers` requests in flight
        (one session each), yielded in page order. Up to two pages per worker are fetched ahead of the
        consumer, so fetching overlaps landing while memory holds a bounded number of pages."""
        stop = threading.Event()
        sessions: queue.SimpleQueue[requests.Session] = queue.SimpleQueue()
        for _ in range(workers):
            sessions.put(requests.Session())

        def fetch(cursor: str) -> _Page:
            session = sessions.get()  # never waits: no more requests run than there are sessions
            try:
                return self._get(dataset, {**params, "cursor": cursor}, session, stop)
            finally:
                sessions.put(session)

        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"api-{dataset}")
        queued = iter(cursors)
        ahead: deque[Future[_Page]] = deque(pool.submit(fetch, c) for c in itertools.islice(queued, 2 * workers))
        try:
            for number, end in enumerate([*cursors[1:], None] if cursors else [], start=1):
                page = ahead.popleft().result()
                ahead.extend(pool.submit(fetch, c) for c in itertools.islice(queued, 1))
                _follows(dataset, page.meta.get("next_cursor"), end, number)
                yield page
        finally:  # a failed page (or a consumer that stopped) ends the pull: nothing queued is asked for
            stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
            while not sessions.empty():
                sessions.get().close()

    def _get(self, dataset: str, query: dict, session: requests.Session, stop: threading.Event | None = None) -> _Page:
        """One page, retried with backoff (a set `stop` ends the retrying); ChannelError when retries run out."""
        retried = 0

        def attempt() -> _Page:
            if stop is not None and stop.is_set():
                raise _Stopped(dataset)
            return self._page(dataset, query, session)

        def count(_attempt: int, _exc: BaseException) -> None:
            nonlocal retried
            retried += 1

        try:
            page = with_retries(attempt, self.backoff, on_retry=count, sleep=stop.wait if stop else time.sleep)
        except RetriesExhaustedError as exc:
            raise ChannelError(f"sharing-platform API, dataset {dataset}: {exc}") from exc
        page.retried = retried
        return page

    def _page(self, dataset: str, query: dict, session: requests.Session | None = None) -> _Page:
        """One request for one page (no retry)."""
        session = session or self.session
        token = self._current_token(session)
        headers = {"Authorization": f"Bearer {token}"}
        if self.arrow:
            headers["Accept"] = f"{ARROW_STREAM}, application/json;q=0.9"
        try:
            resp = session.get(
                f"{self.base_url}/api/v1/datasets/{dataset}/records",
                params={k: v for k, v in query.items() if v is not None},
                headers=headers,
                timeout=self.timeout_s,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"{exc.__class__.__name__}") from exc
        if resp.status_code == 401:
            self._drop_token(token)
            raise TransientError("token rejected (expired?); renewing")
        _raise_for_status(resp, dataset)
        try:
            if resp.headers.get("Content-Type", "").startswith(ARROW_STREAM):
                return _Page(*_arrow_page(resp.content), len(resp.content))
            body = resp.json()
            return _Page(pd.DataFrame(body["rows"], columns=body["columns"]), body, len(resp.content))
        except (json.JSONDecodeError, requests.JSONDecodeError, pa.ArrowException) as exc:
            raise TransientError(f"unreadable page body ({len(resp.content)} bytes)") from exc

    def _current_token(self, session: requests.Session) -> str:
        with self._lock:  # one login at a time; parallel pages share the token
            if self._token is None:
                self._token = with_retries(lambda: self._login(session), self.backoff)
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _login(self, session: requests.Session) -> str:
        try:
            resp = session.post(
                f"{self.base_url}/api/v1/token",
                json={"app_key": self.app_key, "app_secret": self.app_secret},
                timeout=self.timeout_s,
            )
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"token request: {exc.__class__.__name__}") from exc
        if resp.status_code in (401, 403):
            raise ChannelError("sharing-platform API refused the app key/secret (check DATAFACTORY_API_SECRET)")
        _raise_for_status(resp, "token")
        return resp.json()["access_token"]


def _follows(dataset: str, next_cursor: str | None, expected: str | None, number: int) -> None:
    """Page `number` (0: the first) must end where the page map starts the next page, as the cursor
    walk would go on; otherwise the window changed under the pull, and the pull fails (a retry reads
    it afresh) rather than land a different set of rows than a walk would."""
    if next_cursor != expected:
        raise ChannelError(
            f"sharing-platform API, dataset {dataset}: page {number} does not end where the page map "
            "starts the next one (records changed during the pull)"
        )


def _arrow_page(data: bytes) -> tuple[pd.DataFrame, dict]:
    """An Arrow IPC page as the frame its JSON twin gives (object text, int64 or float64 numbers,
    all-null columns as None) and its page metadata."""
    with pa.ipc.open_stream(data) as reader:
        table = reader.read_all()
    meta = json.loads((table.schema.metadata or {})[b"page"])
    return table.to_pandas(), meta


def _raise_for_status(resp: requests.Response, what: str) -> None:
    if resp.status_code == 429 or resp.status_code >= 500:
        hint = resp.headers.get("Retry-After")
        raise TransientError(f"HTTP {resp.status_code} for {what}", retry_after=float(hint) if hint else None)
    if resp.status_code >= 400:
        raise ChannelError(f"sharing-platform API answered HTTP {resp.status_code} for {what}: {resp.text[:200]}")
