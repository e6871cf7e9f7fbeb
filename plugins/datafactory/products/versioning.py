"""Immutable product versions over any object store.

Layout under the store, per product:
  <product>/v<N>/<sha16>-<file>   data, written first, never overwritten
  <product>/v<N>/manifest.json    written last with a conditional create: it *is* the version
  <product>/approvals/v<N>.json   the approval decision for N (conditional create: decided once)
  <product>/history/<stamp>.json  every move of `latest` (append-only)
  <product>/latest.json           the approved version consumers read

A crash before the manifest leaves no visible version. Two publishers racing for N both write
their (content-named) data, but only one creates N's manifest; the loser checks the winner's
fingerprint (the same inputs are the same version) and only otherwise moves on to N+1.

Dates: every manifest carries its logical date. `latest` only moves forward in logical date
(a version of an earlier date never replaces a later one), except by an explicit `rollback`. A
version of a date that already has one is a restatement: an operator asks for it
(`request_restatement`, `<product>/restatements/<date>/<id>.json`), the version's manifest names the
request and the version it restates, and the request is closed once
(`<product>/restatements/<date>/<id>.closed.json`).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from datafactory.products.store import ObjectStore

MANIFEST = "manifest.json"
LATEST = "latest.json"
APPROVED, REJECTED = "approved", "rejected"
ROLLBACK = "rollback"


class PublishConflictError(RuntimeError):
    """Another publisher kept winning the race for the next version number."""


class UnknownVersionError(LookupError):
    """The product has no such version (no manifest)."""


class NotApprovedError(RuntimeError):
    """`latest` may only point at a version that was approved."""


class BackwardsError(RuntimeError):
    """`latest` would move to an earlier logical date; only an explicit rollback may do that."""


@dataclass(frozen=True)
class Published:
    version: int
    manifest_key: str
    reused: bool


_PRODUCT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def product_name(product: str) -> str:
    """A product's name as a store prefix: one plain path part (letters, digits, `_`, `-`, `.`), never
    `..` or a `/`, so `x/../anti_fraud_admission` cannot reach another product's versions."""
    if not isinstance(product, str) or not _PRODUCT_NAME.match(product) or ".." in product:
        raise ValueError(f"product name {product!r} is not a plain name (letters, digits, _ - .; no '..' or '/')")
    return product


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_key(product: str, version: int) -> str:
    return f"{product_name(product)}/v{version}"


def manifest_key(product: str, version: int) -> str:
    return f"{version_key(product, version)}/{MANIFEST}"


def _json(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, indent=2, ensure_ascii=False, default=str).encode()


def _now() -> str:
    return datetime.now(UTC).isoformat()


def list_versions(store: ObjectStore, product: str) -> list[int]:
    """Only versions whose manifest exists are visible; a crash before the manifest leaves none."""
    versions = []
    for key in store.list(f"{product_name(product)}/v"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST and parts[1][:1] == "v" and parts[1][1:].isdigit():
            versions.append(int(parts[1][1:]))
    return sorted(versions)


def read_manifest(store: ObjectStore, product: str, version: int) -> dict[str, Any]:
    try:
        return json.loads(store.get(manifest_key(product, version)))
    except FileNotFoundError as exc:
        raise UnknownVersionError(f"{product} has no version {version}") from exc


def read_file(store: ObjectStore, product: str, version: int, path: str) -> bytes:
    return store.get(f"{version_key(product, version)}/{path}")


def fingerprint(files: dict[str, bytes], identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    for name in sorted(files):
        digest.update(name.encode() + sha256(files[name]).encode())
    return digest.hexdigest()


def _put_data(store: ObjectStore, prefix: str, name: str, data: bytes) -> dict[str, Any]:
    digest = sha256(data)
    key = f"{prefix}/{digest[:16]}-{name}"  # content-named: a racer with other bytes never collides
    if not store.put_if_absent(key, data) and sha256(store.get(key)) != digest:
        raise RuntimeError(f"{store.url(key)} exists with other bytes; refusing to publish over it")
    return {"path": key.split("/", 2)[2], "sha256": digest, "bytes": len(data)}


def publish_version(
    store: ObjectStore,
    product: str,
    files: dict[str, bytes],
    manifest_fields: dict[str, Any],
    identity: dict[str, Any],
    attempts: int = 50,
) -> Published:
    """Create the next version, or return the existing one if these exact inputs were published."""
    fp = fingerprint(files, identity)
    existing = list_versions(store, product)
    for v in reversed(existing):
        if read_manifest(store, product, v).get("fingerprint") == fp:
            return Published(v, manifest_key(product, v), reused=True)
    checked = set(existing)
    candidate = (existing[-1] if existing else 0) + 1
    publish_id = uuid.uuid4().hex
    for _ in range(attempts):
        entries = [_put_data(store, version_key(product, candidate), n, d) for n, d in sorted(files.items())]
        manifest = {
            "product": product,
            "version": candidate,
            "created_at": _now(),
            "publish_id": publish_id,
            "fingerprint": fp,
            "files": entries,
            **manifest_fields,
        }
        key, body = manifest_key(product, candidate), _json(manifest)
        # The second test covers a retried request whose first attempt did land.
        if store.put_if_absent(key, body) or store.get(key) == body:
            return Published(candidate, key, reused=False)
        # Lost the race: a winner that published these same inputs made our version; reuse it.
        visible = list_versions(store, product)
        for v in sorted(set(visible) - checked, reverse=True):
            if read_manifest(store, product, v).get("fingerprint") == fp:
                return Published(v, manifest_key(product, v), reused=True)
        checked |= set(visible)
        candidate = max(candidate, visible[-1] if visible else 0) + 1
    raise PublishConflictError(f"{product}: could not claim a version after {attempts} attempts")


def approval_key(product: str, version: int) -> str:
    return f"{product_name(product)}/approvals/v{version}.json"


def read_decision(store: ObjectStore, product: str, version: int) -> dict[str, Any] | None:
    key = approval_key(product, version)
    return json.loads(store.get(key)) if store.exists(key) else None


def record_decision(store: ObjectStore, product: str, version: int, decision: str, by: str, note: str = "") -> dict:
    """Record the approval decision for a version once; returns the decision that stands."""
    if decision not in (APPROVED, REJECTED):
        raise ValueError(f"decision must be {APPROVED!r} or {REJECTED!r}, not {decision!r}")
    if version not in list_versions(store, product):
        raise UnknownVersionError(f"{product} has no version {version}")
    record = {
        "product": product,
        "version": version,
        "decision": decision,
        "by": by,
        "note": note,
        "at": _now(),
        # What was approved, exactly: `verify` notices a manifest edited afterwards.
        "manifest_sha256": sha256(store.get(manifest_key(product, version))),
    }
    if store.put_if_absent(approval_key(product, version), _json(record)):
        return record
    return read_decision(store, product, version) or record


def latest_version(store: ObjectStore, product: str) -> int | None:
    key = f"{product_name(product)}/{LATEST}"
    return json.loads(store.get(key))["version"] if store.exists(key) else None


def history(store: ObjectStore, product: str) -> list[dict[str, Any]]:
    return [json.loads(store.get(k)) for k in store.list(f"{product_name(product)}/history/")]


def move_latest(store: ObjectStore, product: str, version: int, action: str, by: str, reason: str) -> dict:
    """Point `latest` at an approved version, logging the move; the versions themselves never change."""
    if version not in list_versions(store, product):
        raise UnknownVersionError(f"{product} has no version {version}")
    decision = read_decision(store, product, version)
    if not decision or decision["decision"] != APPROVED:
        state = decision["decision"] if decision else "not decided"
        raise NotApprovedError(f"{product} v{version} is {state}; only approved versions can become latest")
    current = latest_version(store, product)
    day = logical_date_of(store, product, version)
    if action != ROLLBACK and current is not None:
        current_day = logical_date_of(store, product, current)
        if day and current_day and day < current_day:
            raise BackwardsError(
                f"{product}: v{version} holds {day}, earlier than latest v{current} ({current_day}); "
                f"latest only moves forward in logical date (an operator may `rollback`)"
            )
    event = {
        "action": action,
        "from": current,
        "to": version,
        "logical_date": day,
        "at": _now(),
        "by": by,
        "reason": reason,
    }
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    store.put_if_absent(f"{product_name(product)}/history/{stamp}-{uuid.uuid4().hex[:8]}.json", _json(event))
    store.put(f"{product_name(product)}/{LATEST}", _json({"version": version, **event}))
    return event


def rollback(store: ObjectStore, product: str, version: int, by: str, reason: str) -> dict:
    current = latest_version(store, product)
    if current == version:
        raise ValueError(f"{product}: latest is already v{version}")
    return move_latest(store, product, version, ROLLBACK, by, reason)


def logical_date_of(store: ObjectStore, product: str, version: int) -> str | None:
    return read_manifest(store, product, version).get("logical_date")


def versions_of_date(store: ObjectStore, product: str, day: str) -> list[tuple[int, dict[str, Any]]]:
    """The versions published for logical date `day`, newest first, with their manifests."""
    found = []
    for version in reversed(list_versions(store, product)):
        manifest = read_manifest(store, product, version)
        if manifest.get("logical_date") == day:
            found.append((version, manifest))
    return found


def recorded_model(store: ObjectStore, product: str, day: str) -> dict[str, Any] | None:
    """The model the newest version of `day` was scored with: a rerun of `day` scores with it again."""
    for _, manifest in versions_of_date(store, product, day):
        return manifest.get("model")
    return None


def _restatements(product: str, day: str) -> str:
    if date.fromisoformat(day).isoformat() != day:  # a date, nothing else, becomes part of a key
        raise ValueError(f"{day!r} is not a date (YYYY-MM-DD)")
    return f"{product_name(product)}/restatements/{day}/"


def _closed(request_id: str) -> str:
    return f"{request_id}.closed.json"


def open_restatement(store: ObjectStore, product: str, day: str) -> dict[str, Any] | None:
    """The oldest restatement of `day` an operator asked for that no publish has closed yet."""
    prefix = _restatements(product, day)
    keys = [k[len(prefix) :] for k in store.list(prefix)]
    closed = {k for k in keys if k.endswith(".closed.json")}
    for name in sorted(k for k in keys if k.endswith(".json") and k not in closed):
        if _closed(name[: -len(".json")]) not in closed:
            return json.loads(store.get(prefix + name))
    return None


def request_restatement(store: ObjectStore, product: str, day: str, by: str, reason: str) -> dict[str, Any]:
    """An operator's explicit request to publish `day` again from today's inputs and champion.
    There is at most one open request per date: asking again returns it."""
    _restatements(product, day)  # a plain name and a real date, before anything is read
    if not versions_of_date(store, product, day):
        raise UnknownVersionError(f"{product} has no version for {day}: nothing to restate; run that date instead")
    pending = open_restatement(store, product, day)
    if pending:
        return pending
    request_id = f"{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:8]}"
    record = {"id": request_id, "product": product, "logical_date": day, "by": by, "reason": reason, "at": _now()}
    store.put_if_absent(f"{_restatements(product, day)}{request_id}.json", _json(record))
    return record


def close_restatement(store: ObjectStore, product: str, day: str, request_id: str, outcome: dict[str, Any]) -> dict:
    """Close a request once with its outcome (the version that restates the date, or why none)."""
    key = _restatements(product, day) + _closed(request_id)
    record = {"id": request_id, "closed_at": _now(), **outcome}
    if store.put_if_absent(key, _json(record)):
        return record
    return json.loads(store.get(key))


def restatement_outcome(store: ObjectStore, product: str, day: str, request_id: str) -> dict[str, Any] | None:
    key = _restatements(product, day) + _closed(request_id)
    return json.loads(store.get(key)) if store.exists(key) else None
