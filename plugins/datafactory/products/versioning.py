"""Immutable product versions: data first, manifest last (conditional create), `latest` on approval."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from datafactory.products.store import ObjectStore

MANIFEST = "manifest.json"


class PublishConflictError(RuntimeError):
    """Another publisher kept winning the race for the next version number."""


@dataclass(frozen=True)
class Published:
    version: int
    manifest_key: str
    reused: bool


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def version_key(product: str, version: int) -> str:
    return f"{product}/v{version}"


def list_versions(store: ObjectStore, product: str) -> list[int]:
    """Only versions whose manifest exists are visible; a crash before the manifest leaves none."""
    versions = []
    for key in store.list(f"{product}/v"):
        parts = key.split("/")
        if len(parts) == 3 and parts[2] == MANIFEST and parts[1][1:].isdigit():
            versions.append(int(parts[1][1:]))
    return sorted(versions)


def read_manifest(store: ObjectStore, product: str, version: int) -> dict[str, Any]:
    return json.loads(store.get(f"{version_key(product, version)}/{MANIFEST}"))


def fingerprint(files: dict[str, bytes], identity: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode())
    for name in sorted(files):
        digest.update(name.encode() + sha256(files[name]).encode())
    return digest.hexdigest()


def publish_version(
    store: ObjectStore,
    product: str,
    files: dict[str, bytes],
    manifest_fields: dict[str, Any],
    identity: dict[str, Any],
    attempts: int = 20,
) -> Published:
    """Create the next version, or return the existing one if these exact inputs were published."""
    fp = fingerprint(files, identity)
    existing = list_versions(store, product)
    for v in reversed(existing):
        if read_manifest(store, product, v).get("fingerprint") == fp:
            return Published(v, f"{version_key(product, v)}/{MANIFEST}", reused=True)
    candidate = (existing[-1] if existing else 0) + 1
    for _ in range(attempts):
        prefix = version_key(product, candidate)
        entries = []
        for name, data in sorted(files.items()):
            digest = sha256(data)
            key = f"{prefix}/{digest[:16]}-{name}"  # content-named: a losing racer never overwrites
            store.put(key, data)
            entries.append({"path": key.split("/", 2)[2], "sha256": digest, "bytes": len(data)})
        manifest = {
            "product": product,
            "version": candidate,
            "created_at": datetime.now(UTC).isoformat(),
            "files": entries,
            "fingerprint": fp,
            **manifest_fields,
        }
        body = json.dumps(manifest, indent=2, ensure_ascii=False, default=str).encode()
        if store.put_if_absent(f"{prefix}/{MANIFEST}", body):
            return Published(candidate, f"{prefix}/{MANIFEST}", reused=False)
        candidate += 1
    raise PublishConflictError(f"{product}: could not claim a version after {attempts} attempts")


def set_latest(store: ObjectStore, product: str, version: int, reason: str) -> None:
    if version not in list_versions(store, product):
        raise ValueError(f"{product} has no version {version}")
    pointer = {"version": version, "moved_at": datetime.now(UTC).isoformat(), "reason": reason}
    store.put(f"{product}/latest.json", json.dumps(pointer).encode())


def latest_version(store: ObjectStore, product: str) -> int | None:
    key = f"{product}/latest.json"
    return json.loads(store.get(key))["version"] if store.exists(key) else None
