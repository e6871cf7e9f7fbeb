"""Re-hash a version's files against its manifest, and the manifest against its approval record.

A file whose bytes no longer match the manifest is tampered; a file the manifest lists but the store
lacks is missing. A manifest changed after approval no longer matches the hash recorded with the
decision. Files under the version folder that the manifest does not list are reported but are not
tampering: a publisher that crashed, or lost the race for that version number, left them there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from datafactory.products.store import ObjectStore
from datafactory.products.versioning import MANIFEST, manifest_key, read_decision, read_manifest, sha256, version_key

OK, TAMPERED, MISSING = "ok", "tampered", "missing"


@dataclass(frozen=True)
class FileCheck:
    path: str
    status: str
    expected: str
    actual: str | None = None


@dataclass
class VersionCheck:
    product: str
    version: int
    files: list[FileCheck] = field(default_factory=list)
    manifest: str = OK  # tampered when it no longer matches the hash its approval recorded
    unreferenced: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.manifest == OK and all(f.status == OK for f in self.files)

    def problems(self) -> list[str]:
        found = [f"{f.path}: {f.status}" for f in self.files if f.status != OK]
        if self.manifest != OK:
            found.insert(0, f"{MANIFEST}: {self.manifest} (differs from the hash recorded at approval)")
        return found


def verify_version(
    store: ObjectStore, product: str, version: int, on_file: Callable[[str], None] | None = None
) -> VersionCheck:
    manifest = read_manifest(store, product, version)
    check = VersionCheck(product, version)
    recorded = (read_decision(store, product, version) or {}).get("manifest_sha256")
    if recorded and sha256(store.get(manifest_key(product, version))) != recorded:
        check.manifest = TAMPERED
    prefix = version_key(product, version)
    for entry in manifest["files"]:
        try:
            actual = sha256(store.get(f"{prefix}/{entry['path']}"))
        except FileNotFoundError:
            check.files.append(FileCheck(entry["path"], MISSING, entry["sha256"]))
        else:
            status = OK if actual == entry["sha256"] else TAMPERED
            check.files.append(FileCheck(entry["path"], status, entry["sha256"], actual))
        if on_file:
            on_file(entry["path"])
    listed = {e["path"] for e in manifest["files"]} | {MANIFEST}
    check.unreferenced = [k.split("/", 2)[2] for k in store.list(f"{prefix}/") if k.split("/", 2)[2] not in listed]
    return check
