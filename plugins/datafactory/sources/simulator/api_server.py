"""The simulated data-sharing platform: a real HTTP server on loopback over the platform's store.

- `POST /api/v1/token` with `{"app_key", "app_secret"}` returns a bearer token that expires.
- `GET /api/v1/datasets/<name>/records?since=&until=&cursor=&limit=` pages through the records
  with since < updated_at < until, ordered by (updated_at, record sequence), with a keyset cursor.
  Each row carries `_seq`, the platform's record sequence; the first page carries `total`.
- A page map for clients that read pages in parallel: the first page asked with `page_map=1` also
  carries `page_cursors`, the cursor that starts each following page (the key of every `limit`-th
  record of the window, found by skipping through the index), so page k can be asked for without
  reading page k-1 first. Each page is still an ordinary cursor page: its `next_cursor` is the
  map's next cursor while nothing changed.
- Counts the record requests it is answering at once, and the most it answered at once
  (`stats.in_flight`, `stats.max_in_flight`): what a licence's connection limit is about.
- Rate limit per app key (token bucket, renewed tokens share it): 429 with Retry-After.
- Injected faults, decided by a seeded generator: 5xx answers, requests that hang past the client's
  timeout, slow pages, and pages that repeat the previous page's tail (an inclusive-cursor bug).
- Compressed pages, as real data-sharing platforms serve them: JSON is gzip-compressed when the client
  sends `Accept-Encoding: gzip` (requests does by default); a client that sends
  `Accept: application/vnd.apache.arrow.stream` gets the page as an Arrow IPC stream (LZ4-compressed
  buffers; `total`, `next_cursor` and `page_cursors` in the schema metadata under `page`), unless a
  column cannot be typed as one Arrow type (then JSON, which says so in its Content-Type).
"""

from __future__ import annotations

import base64
import gzip
import hmac
import json
import random
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pyarrow as pa
import sqlalchemy as sa

MAX_PAGE = 20_000
ARROW_STREAM = "application/vnd.apache.arrow.stream"
JSON_TYPE = "application/json; charset=utf-8"
GZIP_FROM = 1024  # bodies smaller than this go uncompressed


@dataclass(frozen=True)
class ApiFaults:
    error_rate: float = 0.0  # answered 500/502/503
    timeout_rate: float = 0.0  # held for `hang_s`, past the client's timeout, then dropped
    hang_s: float = 3.0
    slow_rate: float = 0.0  # answered after `slow_s`
    slow_s: float = 0.3
    repeat_rate: float = 0.0  # a page that starts with the tail of the previous one
    seed: int = 0


@dataclass
class ApiStats:
    requests: int = 0
    errors: int = 0
    hangs: int = 0
    slow: int = 0
    repeats: int = 0
    throttled: int = 0
    unauthorized: int = 0
    rows_served: int = 0
    in_flight: int = 0  # record requests being answered now
    max_in_flight: int = 0
    by_status: dict[int, int] = field(default_factory=dict)


class PlatformError(Exception):
    """A request the platform answers with an error status instead of a page."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class _Bucket:
    def __init__(self, rate: float, burst: int):
        self.rate, self.burst, self.level, self.at = rate, burst, float(burst), time.monotonic()

    def take(self) -> float:
        """0 when a request may pass, else seconds until one may."""
        now = time.monotonic()
        self.level = min(self.burst, self.level + (now - self.at) * self.rate)
        self.at = now
        if self.level >= 1:
            self.level -= 1
            return 0.0
        return (1 - self.level) / self.rate


def encode_cursor(stamp: str, seq: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([stamp, seq]).encode()).decode()


def decode_cursor(cursor: str) -> tuple[str, int]:
    stamp, seq = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    return str(stamp), int(seq)


class PlatformApi:
    """Serves the tables of a SQLite store (the simulator's platform database) over HTTP."""

    def __init__(
        self,
        store_url: str,
        app_key: str,
        app_secret: str,
        faults: ApiFaults | None = None,
        rate_per_s: float = 200.0,
        burst: int = 50,
        token_ttl_s: float = 900.0,
    ):
        self.engine = sa.create_engine(store_url)
        self.app_key, self.app_secret = app_key, app_secret
        self.faults = faults or ApiFaults()
        self.token_ttl_s = token_ttl_s
        self.stats = ApiStats()
        self._tokens: dict[str, float] = {}
        self._bucket = _Bucket(rate_per_s, burst)
        self._rng = random.Random(self.faults.seed)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle -----------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"api": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="platform-api", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the server first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None
        self.engine.dispose()

    def __enter__(self) -> PlatformApi:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # behaviour -----------------------------------------------------------------------------
    def issue_token(self, key: str, secret: str) -> str | None:
        ok = hmac.compare_digest(key.encode(), self.app_key.encode()) and hmac.compare_digest(
            secret.encode(), self.app_secret.encode()
        )
        if not ok:
            return None
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.token_ttl_s
        return token

    def check_token(self, header: str | None) -> str | None:
        if not header or not header.startswith("Bearer "):
            return None
        token = header.removeprefix("Bearer ").strip()
        with self._lock:
            expiry = self._tokens.get(token)
            return token if expiry is not None and expiry > time.monotonic() else None

    def throttle(self) -> float:
        with self._lock:
            return self._bucket.take()

    def roll(self) -> str | None:
        """Which fault, if any, this request gets."""
        f = self.faults
        with self._lock:
            r = self._rng.random()
        for name, rate in (("error", f.error_rate), ("hang", f.timeout_rate), ("slow", f.slow_rate)):
            if r < rate:
                return name
            r -= rate
        return None

    def repeat(self) -> bool:
        with self._lock:
            return self._rng.random() < self.faults.repeat_rate

    def datasets(self) -> set[str]:
        return {t for t in sa.inspect(self.engine).get_table_names() if not t.startswith("_")}

    def page(
        self, dataset: str, since: str | None, until: str, cursor: str | None, limit: int, page_map: bool = False
    ) -> dict:
        """One page of the window after `cursor`; the first page (no cursor) carries `total`, and the
        page map when asked. PlatformError for what the platform refuses."""
        if dataset not in self.datasets():
            raise PlatformError(404, f"unknown dataset {dataset}")
        window = "updated_at < :until" + (" AND updated_at > :since" if since else "")
        params: dict[str, object] = {"until": until, "since": since, "n": limit}
        after = ""
        if cursor:
            params["cu"], params["cr"] = decode_cursor(cursor)
            after = " AND (updated_at > :cu OR (updated_at = :cu AND rowid > :cr))"
        table = f'"{dataset}"'
        with self.engine.connect() as conn:
            # The page through the sqlite3 cursor itself: plain tuples, half the cost of SQLAlchemy rows
            # (the simulated platform should not be what an API pull waits for).
            result = conn.connection.driver_connection.execute(
                f"SELECT rowid AS _seq, * FROM {table} WHERE {window}{after} ORDER BY updated_at, rowid LIMIT :n",
                params,
            )
            columns = [d[0] for d in result.description]
            rows = result.fetchall()
            body: dict[str, object] = {"columns": columns}
            repeated: list = []
            if not cursor:
                body["total"] = conn.execute(sa.text(f"SELECT count(*) FROM {table} WHERE {window}"), params).scalar()
                if page_map:
                    body["page_cursors"] = _page_cursors(conn.connection.driver_connection, table, window, params)
            elif self.repeat():
                back = conn.execute(
                    sa.text(
                        f"SELECT rowid AS _seq, * FROM {table} WHERE {window} AND "
                        "(updated_at < :cu OR (updated_at = :cu AND rowid <= :cr)) "
                        "ORDER BY updated_at DESC, rowid DESC LIMIT :k"
                    ),
                    {**params, "k": max(1, limit // 4)},
                )
                repeated = [list(r) for r in reversed(back.fetchall())]
                with self._lock:
                    self.stats.repeats += 1
        body["rows"] = repeated + rows
        stamp_at = columns.index("updated_at")
        body["next_cursor"] = encode_cursor(rows[-1][stamp_at], rows[-1][0]) if len(rows) == limit else None
        with self._lock:
            self.stats.rows_served += len(rows) + len(repeated)
        return body


def _page_cursors(db, table: str, window: str, params: dict) -> list[str]:
    """The cursor that starts each page after the first: the key of every `n`-th record of the window,
    found by skipping `n` index entries from the previous one (a walk of the index, not of the rows)."""
    cursors: list[str] = []
    after, key = "", {}
    while True:
        found = db.execute(
            f"SELECT updated_at, rowid FROM {table} WHERE {window}{after} "
            "ORDER BY updated_at, rowid LIMIT 1 OFFSET :skip",
            {**params, **key, "skip": params["n"] - 1},
        ).fetchone()
        if found is None:
            return cursors
        cursors.append(encode_cursor(*found))
        after, key = " AND (updated_at > :mu OR (updated_at = :mu AND rowid > :mr))", {"mu": found[0], "mr": found[1]}


def arrow_page(body: dict) -> bytes | None:
    """A page as an Arrow IPC stream, or None when a column's values are not one Arrow type (mixed
    numbers and text, bytes), which JSON carries as the values print."""
    columns, rows = body["columns"], body["rows"]
    try:
        arrays = [pa.array([row[i] for row in rows]) for i in range(len(columns))]
    except (pa.ArrowException, TypeError, ValueError):
        return None
    if any(pa.types.is_binary(a.type) or pa.types.is_large_binary(a.type) for a in arrays):
        return None
    meta = {k: body[k] for k in ("total", "next_cursor", "page_cursors") if k in body}
    table = pa.Table.from_arrays(arrays, names=columns).replace_schema_metadata({"page": json.dumps(meta)})
    sink = pa.BufferOutputStream()
    options = pa.ipc.IpcWriteOptions(compression="lz4")
    with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


class _Handler(BaseHTTPRequestHandler):
    api: PlatformApi
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args) -> None:  # keep the job's output readable
        return

    def _send(self, status: int, payload: dict, headers: dict[str, str] | None = None) -> None:
        stream = None
        if status == 200 and "rows" in payload and ARROW_STREAM in (self.headers.get("Accept") or ""):
            stream = arrow_page(payload)
        if stream is not None:
            body, kind = stream, ARROW_STREAM
        else:  # JSON only when it is what goes out (it costs more than the Arrow page)
            body, kind = json.dumps(payload, ensure_ascii=False, default=str).encode(), JSON_TYPE
        headers = dict(headers or {})
        accepted = {e.split(";")[0].strip() for e in (self.headers.get("Accept-Encoding") or "").split(",")}
        if kind == JSON_TYPE and len(body) >= GZIP_FROM and "gzip" in accepted:
            body = gzip.compress(body, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        with self.api._lock:
            self.api.stats.by_status[status] = self.api.stats.by_status.get(status, 0) + 1
        try:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            for key, value in headers.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer

    def do_POST(self) -> None:
        if urlparse(self.path).path != "/api/v1/token":
            return self._send(404, {"error": "not found"})
        length = int(self.headers.get("Content-Length") or 0)
        try:
            creds = json.loads(self.rfile.read(length) or b"{}")
        except json.JSONDecodeError:
            return self._send(400, {"error": "body must be JSON"})
        token = self.api.issue_token(str(creds.get("app_key", "")), str(creds.get("app_secret", "")))
        if token is None:
            return self._send(401, {"error": "invalid app key or secret"})
        return self._send(200, {"access_token": token, "expires_in": self.api.token_ttl_s})

    def do_GET(self) -> None:
        api = self.api
        with api._lock:
            api.stats.requests += 1
            api.stats.in_flight += 1
            api.stats.max_in_flight = max(api.stats.max_in_flight, api.stats.in_flight)
        try:
            self._records()
        finally:
            with api._lock:
                api.stats.in_flight -= 1

    def _records(self) -> None:
        api = self.api
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if len(parts) != 5 or parts[:3] != ["api", "v1", "datasets"] or parts[4] != "records":
            return self._send(404, {"error": "not found"})
        token = api.check_token(self.headers.get("Authorization"))
        if token is None:
            with api._lock:
                api.stats.unauthorized += 1
            return self._send(401, {"error": "missing, invalid or expired token"})
        wait = api.throttle()
        if wait:
            with api._lock:
                api.stats.throttled += 1
            return self._send(429, {"error": "rate limit"}, {"Retry-After": f"{wait:.2f}"})
        fault = api.roll()
        if fault == "error":
            with api._lock:
                api.stats.errors += 1
                status = api._rng.choice([500, 502, 503])
            return self._send(status, {"error": "injected upstream failure"})
        if fault == "hang":
            with api._lock:
                api.stats.hangs += 1
            time.sleep(api.faults.hang_s)
            return self._send(504, {"error": "injected timeout"})
        if fault == "slow":
            with api._lock:
                api.stats.slow += 1
            time.sleep(api.faults.slow_s)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if "until" not in query:
            return self._send(400, {"error": "until is required"})
        try:
            limit = max(1, min(MAX_PAGE, int(query.get("limit", 1000))))
            page_map = query.get("page_map") == "1"
            body = api.page(parts[3], query.get("since"), query["until"], query.get("cursor"), limit, page_map)
        except PlatformError as exc:
            return self._send(exc.status, {"error": str(exc)})
        except (ValueError, json.JSONDecodeError) as exc:
            return self._send(400, {"error": f"bad request: {exc}"})
        return self._send(200, body)
