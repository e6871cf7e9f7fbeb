"""The product API (FastAPI). `datafactory serve` runs it under uvicorn; docs at /docs.

Every call under /v1/products and /v1/downloads goes through the same steps: identify the key,
check the license (product, scenario, expiry, bulk), the rate and the daily quota, serve, and put one
row on the usage ledger's queue, refused calls included. Error bodies carry a reason and never echo
what was sent or what is stored.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from datafactory.serving.access import AccessControl, Refusal, authorize
from datafactory.serving.catalog import FILE_RE, KEY_RE, Catalog, NotServedError, encode
from datafactory.serving.clock import china_day, day_start_utc, seconds_to_next_day, utcnow
from datafactory.serving.ledger import UsageRow, UsageWriter, keys_hash, keys_served
from datafactory.serving.limits import Quotas, RateLimiter
from datafactory.serving.signing import signed_query, valid
from datafactory.settings import Settings

MAX_BATCH = 1000  # keys per batch lookup; more is a 413
MAX_BODY_BYTES = 128 * 1024
LOOKUPS = ("record", "batch")  # the endpoints that use the daily quota
VERSION_RE = re.compile(r"^[1-9][0-9]{0,8}$")
JSON = "application/json"


@dataclass(frozen=True)
class ServingConfig:
    auth: bool = True  # False only for the benchmark's baseline: no keys, no limits, no ledger
    max_batch: int = MAX_BATCH
    link_ttl_s: int = 900
    poll_s: float = 0.25
    flush_rows: int = 500
    flush_s: float = 0.2
    public_url: str | None = None  # base of signed download links; default: the request's own base URL


class BatchRequest(BaseModel):
    keys: list[str] = Field(
        description=f"USCCs or building ids, at most {MAX_BATCH}",
        examples=[["91110000600037341L"]],
    )


@dataclass
class Call:
    """One metered call; `row` goes to the ledger when the call ends, whatever its outcome."""

    row: UsageRow
    started: float
    reserved: tuple[int, Any, int] | None = None  # (license id, day, keys) taken from the quota
    consumer: Any = None
    license: Any = None


@dataclass
class Service:
    settings: Settings
    config: ServingConfig
    catalog: Catalog
    secret: bytes
    access: AccessControl | None = None
    writer: UsageWriter | None = None
    engine: Any = None
    rates: RateLimiter = field(default_factory=RateLimiter)
    quotas: Quotas = field(default_factory=Quotas)

    # --- metering

    def call(self, endpoint: str, product: str | None) -> Call:
        row = UsageRow(at=utcnow(), endpoint=endpoint, status=500, latency_ms=0.0, product=product)
        return Call(row, time.perf_counter())

    def finish(self, call: Call) -> None:
        if call.reserved and call.row.status != 200:
            self.quotas.give_back(*call.reserved)
        if self.writer is not None:
            call.row.latency_ms = round((time.perf_counter() - call.started) * 1000, 3)
            self.writer.submit(call.row)

    # --- the checks, in order: key, product, license, rate, quota

    async def admit(self, request: Request, call: Call, name: str, lookups: int = 0, bulk: bool = False):
        if not self.config.auth:
            return self.catalog.spec(name)
        presented = _presented_key(request)
        consumer = self.access.cached(presented) or await run_in_threadpool(self.access.verify, presented)
        call.consumer = consumer
        call.row.consumer_id, call.row.consumer = consumer.id, consumer.name
        spec = self.catalog.spec(name)
        now = call.row.at
        day = china_day(now)
        license_ = authorize(consumer, name, spec.authorized_for, day, bulk=bulk)
        call.license = license_
        call.row.license_id, call.row.purpose = license_.id, license_.purpose
        wait = self.rates.take(license_.id, license_.rate_per_s, time.monotonic())
        if wait:
            raise Refusal(429, f"rate limit of {license_.rate_per_s:g} requests/s exceeded", {"Retry-After": str(wait)})
        if lookups:
            if not self.quotas.known(license_.id, day):
                used = await run_in_threadpool(keys_served, self.engine, license_.id, day_start_utc(day), LOOKUPS)
                self.quotas.seed(license_.id, day, used)
            if not self.quotas.take(license_.id, day, license_.quota_per_day, lookups):
                retry = {"Retry-After": str(seconds_to_next_day(now))}
                raise Refusal(429, f"daily quota of {license_.quota_per_day} lookups used up", retry)
            call.reserved = (license_.id, day, lookups)
        return spec

    async def version(self, name: str, pinned: str | None, call: Call) -> int:
        if pinned is not None and not VERSION_RE.match(pinned):
            raise Refusal(422, "version must be a positive integer")
        number = int(pinned) if pinned is not None else None
        version = self.catalog.cached_version(name, number)
        if version is None:
            version = await run_in_threadpool(self.catalog.resolve_version, name, number)
        call.row.version = version
        return version

    async def table(self, name: str, version: int):
        found = self.catalog.cached_table(name, version)
        return found if found is not None else await run_in_threadpool(self.catalog.table, name, version)

    async def info(self, name: str, version: int):
        found = self.catalog.cached_info(name, version)
        return found if found is not None else await run_in_threadpool(self.catalog.info, name, version)


def _presented_key(request: Request) -> str:
    auth = request.headers.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    raise Refusal(401, "missing API key: send it as 'Authorization: Bearer <key>'", {"WWW-Authenticate": "Bearer"})


def refused(call: Call, refusal: Refusal) -> Response:
    call.row.status = refusal.status
    if refusal.status == 401:
        refusal.headers.setdefault("WWW-Authenticate", "Bearer")
    body = encode({"detail": refusal.reason, "status": refusal.status})
    return Response(body, status_code=refusal.status, media_type=JSON, headers=refusal.headers)


async def metered(svc: Service, endpoint: str, name: str, answer: Callable[[Call], Awaitable[Response]]) -> Response:
    """One API call: every outcome, a refusal included, is answered and recorded on the ledger exactly once."""
    call = svc.call(endpoint, name)
    try:
        return await answer(call)
    except Refusal as r:
        return refused(call, r)
    except NotServedError as e:
        return refused(call, Refusal(404, str(e)))
    finally:
        svc.finish(call)


def _ok(call: Call, body: bytes, rows: int, headers: dict[str, str] | None = None) -> Response:
    call.row.status, call.row.rows = 200, rows
    return Response(body, media_type=JSON, headers=headers)


def serving_secret(settings: Settings) -> bytes:
    from datafactory.settings import _install_secret

    text = os.environ.get("DATAFACTORY_SERVING_SECRET") or _install_secret(settings.home / "secrets" / "serving.secret")
    return text.encode()


def create_app(settings: Settings, config: ServingConfig | None = None) -> FastAPI:
    config = config or ServingConfig()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from datafactory.products.pipeline import product_store
        from datafactory.serving.tables import create_tables
        from datafactory.specs import load_products

        svc = Service(settings, config, Catalog(product_store(settings), load_products(settings.repo)), b"")
        svc.secret = serving_secret(settings)
        if config.auth:
            svc.engine = settings.state_engine()
            create_tables(svc.engine)
            svc.access = AccessControl(svc.engine, config.poll_s)
            svc.access.start()
            spill = settings.home / "serving" / "unwritten-usage"
            svc.writer = UsageWriter(svc.engine, spill, config.flush_rows, config.flush_s)
            svc.writer.start()
        app.state.svc = svc
        try:
            yield
        finally:
            if svc.writer is not None:
                svc.writer.close()  # every call served so far is in the ledger before we exit
            if svc.access is not None:
                svc.access.stop()
            if svc.engine is not None:
                svc.engine.dispose()

    app = FastAPI(
        title="datafactory product API",
        version="1",
        description=(
            "Licensed access to published data products. Send your API key as `Authorization: Bearer <key>`. "
            "Every call is metered on the usage ledger and billed per the product's cost-plus pricing."
        ),
        lifespan=lifespan,
    )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        reason = f"invalid request: {where}: {first.get('msg', 'invalid')}"  # never the input itself
        return Response(encode({"detail": reason, "status": 422}), status_code=422, media_type=JSON)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        reason = "no such endpoint" if exc.status_code == 404 else str(exc.detail)
        body = encode({"detail": reason, "status": exc.status_code})
        return Response(body, status_code=exc.status_code, media_type=JSON, headers=getattr(exc, "headers", None))

    @app.get("/v1/health", tags=["service"], summary="liveness (no key needed)")
    async def health(request: Request) -> dict[str, Any]:
        return {"status": "ok", "products": len(request.app.state.svc.catalog.specs)}

    @app.get(
        "/v1/products/{name}/records/{key}",
        tags=["lookup"],
        summary="one record by key (USCC or building id), from the latest approved version or ?version=",
    )
    async def record(
        request: Request, name: str, key: str, version: str | None = Query(None, description="a pinned version")
    ) -> Response:
        svc: Service = request.app.state.svc

        async def answer(call: Call) -> Response:
            if not KEY_RE.match(key):
                raise Refusal(422, "malformed key: letters, digits and _.:- only, at most 64")
            call.row.keys_count = 1
            if svc.writer is not None:
                call.row.keys_hash = keys_hash(svc.secret, [key])
            await svc.admit(request, call, name, lookups=1)
            number = await svc.version(name, version, call)
            table = await svc.table(name, number)
            row = table.rows.get(key)
            if row is None:
                raise Refusal(404, f"no record for this key in {name} v{number}")
            return _ok(call, b'{"product":"%s","version":%d,"record":%s}' % (name.encode(), number, row), 1)

        return await metered(svc, "record", name, answer)

    batch_body = {"content": {JSON: {"schema": BatchRequest.model_json_schema()}}, "required": True}

    @app.post(
        "/v1/products/{name}/records",
        tags=["lookup"],
        summary=f"batch lookup of up to {MAX_BATCH} keys; found records in request order, and how many were missing",
        openapi_extra={"requestBody": batch_body},
    )
    async def batch(request: Request, name: str, version: str | None = Query(None)) -> Response:
        svc: Service = request.app.state.svc

        async def answer(call: Call) -> Response:
            wanted = await _batch_keys(request, svc.config.max_batch)
            call.row.keys_count = len(wanted)
            if svc.writer is not None:
                call.row.keys_hash = keys_hash(svc.secret, wanted)
            await svc.admit(request, call, name, lookups=len(wanted))
            number = await svc.version(name, version, call)
            table = await svc.table(name, number)
            found = [r for r in (table.rows.get(k) for k in wanted) if r is not None]
            body = b'{"product":"%s","version":%d,"records":[%s],"missing":%d}' % (
                name.encode(),
                number,
                b",".join(found),
                len(wanted) - len(found),
            )
            return _ok(call, body, len(found))

        return await metered(svc, "batch", name, answer)

    async def _metadata(request: Request, name: str, pinned: str | None) -> Response:
        svc: Service = request.app.state.svc

        async def answer(call: Call) -> Response:
            await svc.admit(request, call, name)
            info = await svc.info(name, await svc.version(name, pinned, call))
            headers = {"ETag": info.etag, "Cache-Control": "private, max-age=0"}
            if info.etag in _etags(request.headers.get("if-none-match")):
                call.row.status = 304
                return Response(status_code=304, headers=headers)
            return _ok(call, info.body, 0, headers)

        return await metered(svc, "metadata", name, answer)

    @app.get("/v1/products/{name}", tags=["metadata"], summary="the latest approved version's manifest, with an ETag")
    async def latest_metadata(request: Request, name: str) -> Response:
        return await _metadata(request, name, None)

    @app.get("/v1/products/{name}/versions/{version}", tags=["metadata"], summary="a version's manifest, with an ETag")
    async def version_metadata(request: Request, name: str, version: str) -> Response:
        return await _metadata(request, name, version)

    @app.post(
        "/v1/products/{name}/bulk",
        tags=["bulk"],
        summary="time-limited download links for a whole version (licenses with bulk only)",
    )
    async def bulk(request: Request, name: str, version: str | None = Query(None)) -> Response:
        svc: Service = request.app.state.svc

        async def answer(call: Call) -> Response:
            await svc.admit(request, call, name, bulk=True)
            number = await svc.version(name, version, call)
            info = await svc.info(name, number)
            if not info.columns_in_schema:
                raise Refusal(409, "this version has columns outside the product's schema; bulk is unavailable")
            expires = int(time.time()) + svc.config.link_ttl_s
            files = [_link(svc, request, call, key, expires) for key in info.data_files]
            manifest = json.loads(info.body)
            body = {"product": name, "version": number, "expires_at": expires, "files": files}
            return _ok(call, encode(body), int(manifest.get("row_count") or 0))

        return await metered(svc, "bulk", name, answer)

    @app.get("/v1/downloads/{name}/{version}/{file}", tags=["bulk"], summary="a signed local download link")
    async def download(
        request: Request,
        name: str,
        version: str,
        file: str,
        expires: int = 0,
        cid: int = 0,
        lid: int = 0,
        sig: str = "",
    ) -> Response:
        svc: Service = request.app.state.svc

        async def answer(call: Call) -> Response:
            call.row.consumer_id, call.row.license_id = cid or None, lid or None
            if not (VERSION_RE.match(version) and FILE_RE.match(file)):
                raise Refusal(404, "no such download")
            path = f"{name}/v{version}/{file}"
            if not valid(svc.secret, path, expires, cid, lid, sig, time.time()):
                raise Refusal(403, "the link is invalid or has expired; ask for a new one")
            call.row.version = int(version)
            svc.catalog.spec(name)
            holder = svc.access.consumers.get(cid) if svc.access is not None else None
            if svc.access is not None and (holder is None or holder.revoked):
                raise Refusal(403, "the link was issued to a key that has since been revoked")
            local = svc.catalog.store.url(path)
            if local.startswith("s3://") or not os.path.isfile(local):
                raise Refusal(404, "no such download")
            call.row.status = 200
            return FileResponse(local, media_type="application/vnd.apache.parquet", filename=file)

        return await metered(svc, "download", name, answer)

    return app


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {t.strip().removeprefix("W/") for t in header.split(",")}


async def _batch_keys(request: Request, limit: int) -> list[str]:
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > MAX_BODY_BYTES:
        raise Refusal(413, f"request body over {MAX_BODY_BYTES} bytes; send at most {limit} keys per batch")
    raw = await request.body()
    if len(raw) > MAX_BODY_BYTES:
        raise Refusal(413, f"request body over {MAX_BODY_BYTES} bytes; send at most {limit} keys per batch")
    try:
        payload = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise Refusal(422, 'body must be JSON: {"keys": ["..."]}') from None
    wanted = payload.get("keys") if isinstance(payload, dict) else None
    if not isinstance(wanted, list) or not all(isinstance(k, str) for k in wanted):
        raise Refusal(422, 'body must be JSON: {"keys": ["..."]}')
    if len(wanted) > limit:
        raise Refusal(413, f"at most {limit} keys per batch")
    if not wanted:
        raise Refusal(422, "keys is empty")
    for i, k in enumerate(wanted):
        if not KEY_RE.match(k):
            raise Refusal(422, f"keys[{i}] is malformed: letters, digits and _.:- only, at most 64")
    return list(dict.fromkeys(wanted))  # asked twice, looked up (and counted) once


def _link(svc: Service, request: Request, call: Call, key: str, expires: int) -> dict[str, Any]:
    store = svc.catalog.store
    url = store.url(key)
    name = key.rsplit("/", 1)[-1]
    if url.startswith("s3://"):
        bucket, _, full_key = url.removeprefix("s3://").partition("/")
        ttl = max(1, expires - int(time.time()))
        signed = store.client.generate_presigned_url(
            "get_object", Params={"Bucket": bucket, "Key": full_key}, ExpiresIn=ttl
        )
        return {"name": name, "url": signed}
    base = svc.config.public_url or str(request.base_url).rstrip("/")
    holder = (call.consumer.id, call.license.id) if call.consumer else (0, 0)
    query = signed_query(svc.secret, key, expires, *holder)
    product, version, file = key.split("/")
    return {"name": name, "url": f"{base}/v1/downloads/{product}/{version.removeprefix('v')}/{file}?{query}"}
