"""Object store interface over a local directory (default) or S3. Keys use '/' separators.

Every key is checked lexically before any path or S3 key is made of it (`check_key`): no absolute
key, no `..`/`.`/empty part (also as full-width dots), no backslash or control character. A local
store also refuses a key whose folders are symbolic links out of the store.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Protocol

from datafactory.relpaths import escapes


def check_key(key: str, *, allow_empty: bool = False) -> str:
    """`key` if it is a plain relative key, else ValueError (`x/../other_product/...` included)."""
    if allow_empty and key in {"", "/"}:
        return ""
    if escapes(key.rstrip("/")):  # a listing prefix may end with "/"
        raise ValueError(f"key escapes the store or is not a plain relative key: {key!r}")
    return key


class ObjectStore(Protocol):
    def put(self, key: str, data: bytes) -> None: ...
    def put_if_absent(self, key: str, data: bytes) -> bool: ...
    def get(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def list(self, prefix: str) -> list[str]: ...
    def url(self, key: str = "") -> str: ...


class LocalStore:
    """A directory. Writes go through a temp file; `put_if_absent` links it into place, which fails
    if the key exists, so two publishers can never both create the same object."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key}")
        return path

    def _staged(self, key: str, data: bytes) -> tuple[Path, Path]:
        final = self._path(key)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp, final

    def put(self, key: str, data: bytes) -> None:
        tmp, final = self._staged(key, data)
        os.replace(tmp, final)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        tmp, final = self._staged(key, data)
        try:
            os.link(tmp, final)
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        return True

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str) -> list[str]:
        folder = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        if not folder.is_dir():
            return []
        files = (p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
        keys = (p.relative_to(self.root).as_posix() for p in files)
        return sorted(k for k in keys if k.startswith(prefix))

    def url(self, key: str = "") -> str:
        return str(self.root / key) if key else str(self.root)


def open_store(url: str, endpoint_url: str | None = None) -> ObjectStore:
    if url.startswith("s3://"):
        from datafactory.products.s3_store import S3Store

        return S3Store.from_url(url, endpoint_url)
    return LocalStore(Path(url))
