"""Data-sharing platform REST API channel: token auth, cursor paging, retries with backoff.

The platform answers `GET /api/v1/datasets/<dataset>/records?since=&until=&cursor=&limit=` with
`{"columns": [...], "rows": [[...]], "total": N (first page), "next_cursor": str|null}`; each row
carries the platform's record sequence `_seq`. A page that repeats rows (an inclusive cursor, a
replayed page) is deduplicated on `_seq`, and the pull is complete only when it holds `total`
distinct rows. 5xx, 429 (honouring Retry-After), timeouts, dropped connections and truncated bodies
are retried with exponential backoff; an expired token is renewed once per failure.

Pages are asked for as Arrow IPC streams (`Accept: application/vnd.apache.arrow.stream`, the page's
`total` and `next_cursor` in the schema metadata), with JSON as the fallback the platform may answer
with; JSON comes gzip-compressed (requests sends `Accept-Encoding: gzip` and decompresses). Both give
the same rows: the JSON page's frame is built from its row lists, the Arrow page's from its columns.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

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
class _Traffic:
    """What one read cost: body bytes, requests made (retries included) and retried requests."""

    bytes: int = 0
    requests: int = 0
    retried: int = 0

    def retry(self) -> None:
        self.retried += 1
        self.requests += 1


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
        self.session = requests.Session()
        self._token: str | None = None
        self._lock = threading.Lock()

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery:
        """All pages of the window as one unit, read page by page as the unit is consumed. Page
        boundaries are arbitrary, so rows repeated across pages are recognised by the platform's `_seq`,
        never by their values. Drift is decided on the first page; an incomplete read fails the pull."""
        dataset = spec.options.dataset or spec.table
        limit = spec.options.page_size or self.page_size
        traffic = _Traffic()
        pages = self._pages(
            dataset, {"since": stamp(window.lower), "until": stamp(window.upper), "limit": limit}, traffic
        )
        first, total = next(pages)
        _, drift = align(first.drop(columns=[SEQ]), spec)
        if drift.blocking:
            raise SchemaDriftError(f"schema drift in dataset {dataset}: {drift.summary(spec.name)}", drift)
        delivery = Delivery(drift=drift)

        def batch(held: list[pd.DataFrame]) -> pd.DataFrame:
            return align(pd.concat([h for h in held if len(h)] or held[:1], ignore_index=True), spec)[0]

        def read(rows: int) -> Iterator[pd.DataFrame]:
            seen: set = set()
            held: list[pd.DataFrame] = []
            held_rows, batches = 0, 0
            for frame in itertools.chain([first], (page for page, _ in pages)):
                fresh = ~frame[SEQ].isin(seen) & ~frame[SEQ].duplicated()
                delivery.transport_duplicates += int((~fresh).sum())
                seen.update(frame.loc[fresh, SEQ].tolist())
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

    def _pages(self, dataset: str, params: dict, traffic: _Traffic) -> Iterator[tuple[pd.DataFrame, int]]:
        """(page rows with `_seq`, the window's total) per page, following the cursor; each page retried."""
        cursor: str | None = None
        total = None
        while True:
            query = {**params, "cursor": cursor}
            try:
                body, nbytes = with_retries(
                    lambda q=query: self._page(dataset, q), self.backoff, on_retry=lambda n, e: traffic.retry()
                )
            except RetriesExhaustedError as exc:
                raise ChannelError(f"sharing-platform API, dataset {dataset}: {exc}") from exc
            frame, meta = body
            traffic.bytes += nbytes
            traffic.requests += 1
            if total is None:
                total = int(meta["total"])
            yield frame, total
            cursor = meta.get("next_cursor")
            if not cursor:
                return

    def _page(self, dataset: str, query: dict) -> tuple[tuple[pd.DataFrame, dict], int]:
        """((page rows, {total, next_cursor}), body bytes received) of one page."""
        token = self._current_token()
        headers = {"Authorization": f"Bearer {token}"}
        if self.arrow:
            headers["Accept"] = f"{ARROW_STREAM}, application/json;q=0.9"
        try:
            resp = self.session.get(
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
                return _arrow_page(resp.content), len(resp.content)
            body = resp.json()
            return (pd.DataFrame(body["rows"], columns=body["columns"]), body), len(resp.content)
        except (json.JSONDecodeError, requests.JSONDecodeError, pa.ArrowException) as exc:
            raise TransientError(f"unreadable page body ({len(resp.content)} bytes)") from exc

    def _current_token(self) -> str:
        with self._lock:
            if self._token is None:
                self._token = with_retries(self._login, self.backoff)
            return self._token

    def _drop_token(self, token: str) -> None:
        with self._lock:
            if self._token == token:
                self._token = None

    def _login(self) -> str:
        try:
            resp = self.session.post(
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
