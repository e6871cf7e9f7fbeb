"""Who is calling, and may they read this product?

`AccessControl` keeps a snapshot of consumers and licenses, reloaded whenever the access-state counter
moves (polled every `poll_s` from a background thread, so a revocation bites within a second). A key
is verified against its Argon2 hash once; the result is cached under a fast digest of the key and
holds only while the consumer's stored hash is unchanged (a rotation invalidates it).
`authorize` is the pure decision: a license must cover the product, for the product's scenario,
and be unexpired.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from datafactory.serving import keys
from datafactory.serving.consumers import Consumer, License, snapshot
from datafactory.serving.tables import ACCESS_STATE

log = logging.getLogger(__name__)
STALE_AFTER_S = 5.0  # no successful reload for this long: refuse rather than serve revoked keys
REJECTED_KEPT = 10_000


@dataclass
class Refusal(Exception):
    """A refused call: its HTTP status and a reason that echoes nothing the caller sent."""

    status: int
    reason: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status}: {self.reason}"


def authorize(consumer: Consumer, product: str, scenario: str, today: date, bulk: bool = False) -> License:
    live = [lic for lic in consumer.licenses if not lic.revoked]
    covering = [lic for lic in live if product in lic.products]
    if not covering:
        raise Refusal(403, f"your license does not cover the product {product}")
    in_scenario = [lic for lic in covering if lic.scenario == scenario]
    if not in_scenario:
        held = ", ".join(sorted({lic.scenario for lic in covering}))
        raise Refusal(403, f"{product} is authorized for the scenario {scenario}; your license is for {held}")
    valid = [lic for lic in in_scenario if lic.expires >= today]
    if not valid:
        last = max(lic.expires for lic in in_scenario)
        raise Refusal(403, f"your license expired on {last.isoformat()}; ask the operator for a renewal")
    if bulk:
        valid = [lic for lic in valid if lic.bulk]
        if not valid:
            raise Refusal(403, "your license does not allow bulk download")
    return valid[0]


class AccessControl:
    def __init__(self, engine: sa.Engine, poll_s: float = 0.25) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.version = -1
        self.consumers: dict[int, Consumer] = {}
        self.by_key_id: dict[str, Consumer] = {}
        self.loaded_at = 0.0
        self._verified: dict[str, tuple[int, str]] = {}  # digest -> (consumer id, the hash it matched)
        self._rejected: OrderedDict[str, int] = OrderedDict()  # digest -> access version it failed under
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- the snapshot

    def refresh(self) -> bool:
        """Reload if the counter moved; True when a new snapshot was taken."""
        with self.engine.connect() as conn:
            version = conn.execute(sa.select(ACCESS_STATE.c.version).where(ACCESS_STATE.c.id == 1)).scalar_one()
        if version == self.version:
            self.loaded_at = time.monotonic()
            return False
        version, consumers = snapshot(self.engine)
        self.consumers = consumers
        self.by_key_id = {c.key_id: c for c in consumers.values()}
        self.version = version
        self._rejected.clear()
        self.loaded_at = time.monotonic()
        return True

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._poll, name="access-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def _poll(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.refresh()
            except Exception:  # keep polling; requests refuse once the snapshot is stale
                log.exception("reloading consumers and licenses failed")

    # --- keys

    def _current(self, consumer_id: int) -> Consumer:
        if time.monotonic() - self.loaded_at > STALE_AFTER_S:
            raise Refusal(503, "license state unavailable; try again shortly", {"Retry-After": "1"})
        consumer = self.consumers.get(consumer_id)
        if consumer is None or consumer.revoked:
            raise Refusal(401, "this API key was revoked")
        return consumer

    def cached(self, presented: str) -> Consumer | None:
        """The consumer for an already-verified key, without I/O; None when the slow check is needed."""
        digest = keys.digest(presented)
        hit = self._verified.get(digest)
        if hit is not None:
            consumer = self.consumers.get(hit[0])
            if consumer is not None and consumer.key_hash == hit[1]:
                return self._current(consumer.id)
            self._verified.pop(digest, None)  # rotated: the old key must fail the slow check
        if self._rejected.get(digest) == self.version:
            raise Refusal(401, "invalid API key")
        return None

    def verify(self, presented: str) -> Consumer:
        """The slow path: parse, find by key id, check the Argon2 hash. Blocking (tens of ms)."""
        try:
            key_id = keys.key_id_of(presented)
        except keys.MalformedKeyError as exc:
            raise Refusal(422, str(exc)) from None
        digest = keys.digest(presented)
        if key_id not in self.by_key_id:
            self.refresh()  # a consumer added since the last poll can call at once
        consumer = self.by_key_id.get(key_id)
        if consumer is None or not keys.verify(consumer.key_hash, presented):
            self._rejected[digest] = self.version
            while len(self._rejected) > REJECTED_KEPT:
                self._rejected.popitem(last=False)
            raise Refusal(401, "invalid API key")
        self._verified[digest] = (consumer.id, consumer.key_hash)
        return self._current(consumer.id)
