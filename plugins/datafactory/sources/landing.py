"""The landing area for file drops: a local folder or an S3 prefix (boto3), behind one small interface.

Names are relative paths like `bld_gas_monthly/bld_gas_monthly_20261101.csv`. Writers (the
simulator, or a real provider) publish each object whole: a local write goes to a dot-file and is
renamed, an S3 PUT is atomic; readers ignore dot-files, so they never see half a file.

A drop folder is written by outsiders, so nothing in it is trusted:
- names are Unicode-normalized (NFC) and refused when they could leave the area: an absolute path, a
  `..` or `.` part (also as full-width dots), an empty part, a backslash or a control character;
- symbolic links are never followed: listing skips them, and reading opens every folder and the file
  itself relative to the one above with O_NOFOLLOW, so a link swapped in meanwhile fails too; only
  regular files are read.
Copies the factory keeps of landed files (the ingest quarantine) are owner-only and never replace
each other (`free_name`, `write_private`, `restrict_tree`).
"""

from __future__ import annotations

import os
import stat
import unicodedata
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse

from datafactory.relpaths import escapes


@dataclass(frozen=True)
class LandedObject:
    name: str
    size: int


class Landing(Protocol):
    url: str

    def list(self, folder: str) -> list[LandedObject]: ...

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes) -> None: ...


def safe_relative(name: str, what: str = "landing name") -> str:
    """`name` in NFC, or ValueError when it is empty, absolute, or has a `..`/`.`/empty part (also in its
    compatibility form: full-width dots), a backslash or a control character."""
    normal = unicodedata.normalize("NFC", name)
    if escapes(normal):
        raise ValueError(f"{what} escapes its area or is not a plain relative path: {name!r}")
    return normal


def _check(name: str) -> str:
    return safe_relative(name)


def _open_beneath(root: Path, name: str, flags: int = os.O_RDONLY) -> int:
    """A file descriptor for root/name opened without following any symbolic link below `root`."""
    parts = _check(name).split("/")
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            nxt = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = nxt
        try:
            return os.open(parts[-1], flags | os.O_NOFOLLOW, dir_fd=fd)
        except OSError as exc:
            if os.path.islink(root / name):
                raise ValueError(f"landing name is a symbolic link, which is never followed: {name!r}") from exc
            raise
    finally:
        os.close(fd)


def free_name(folder: Path, base: str) -> str:
    """`base`, or `stem~N.ext` with the first N that no file in `folder` uses yet (as name or name prefix)."""
    taken = {p.name for p in folder.iterdir()} if folder.is_dir() else set()
    stem, dot, ext = base.partition(".")
    candidate, n = base, 1
    while any(t == candidate or t.startswith(candidate + ".") for t in taken):
        n += 1
        candidate = f"{stem}~{n}{dot}{ext}"
    return candidate


def write_private(path: Path, data: bytes) -> None:
    """Writes a new owner-only (0600) file; never replaces an existing one (FileExistsError)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def restrict_tree(root: Path) -> None:
    """Owner-only permissions on a folder tree the factory wrote (0700 folders, 0600 files)."""
    for folder, _dirs, files in os.walk(root):
        os.chmod(folder, 0o700)
        for name in files:
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.chmod(path, 0o600)


class LocalLanding:
    def __init__(self, root: Path):
        self.root = root
        self.url = str(root)

    def list(self, folder: str) -> list[LandedObject]:
        """Regular files below `folder`; symbolic links (to files or folders) and dot-files are skipped."""
        base = self.root / _check(folder)
        if base.is_symlink() or not base.is_dir():
            return []
        found = []
        for top, dirs, files in os.walk(base, followlinks=False):
            dirs[:] = [d for d in dirs if not d.startswith(".") and not os.path.islink(os.path.join(top, d))]
            for entry in files:
                path = Path(top, entry)
                info = path.lstat()
                if entry.startswith(".") or not stat.S_ISREG(info.st_mode):
                    continue
                name = path.relative_to(self.root).as_posix()
                try:
                    _check(name)
                except ValueError:
                    continue  # a name that could not be read back safely is not listed
                found.append(LandedObject(name, info.st_size))
        return sorted(found, key=lambda o: o.name)

    def read(self, name: str) -> bytes:
        fd = _open_beneath(self.root, name)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise ValueError(f"landing name is not a regular file: {name!r}")
            return fh.read()

    def write(self, name: str, data: bytes) -> None:
        target = self.root / _check(name)
        for parent in reversed(target.relative_to(self.root).parents[:-1]):
            if (self.root / parent).is_symlink():
                raise ValueError(f"landing folder is a symbolic link, which is never followed: {parent}")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


class S3Landing:
    def __init__(self, bucket: str, prefix: str, client):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.url = f"s3://{bucket}/{self.prefix}"

    def _key(self, name: str) -> str:
        return f"{self.prefix}/{_check(name)}" if self.prefix else _check(name)

    def list(self, folder: str) -> list[LandedObject]:
        start = self._key(folder).rstrip("/") + "/"
        found = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
            for obj in page.get("Contents", []):
                name = obj["Key"][len(self.prefix) + 1 :] if self.prefix else obj["Key"]
                if not any(p.startswith(".") for p in name.split("/")):
                    found.append(LandedObject(name, int(obj["Size"])))
        return sorted(found, key=lambda o: o.name)

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(name))["Body"].read()

    def write(self, name: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(name), Body=data)


def s3_client(endpoint_url: str | None):
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": 5},
        s3={"addressing_style": "path"} if endpoint_url else None,  # MinIO and loopback servers
    )
    region = os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
    return boto3.client("s3", endpoint_url=endpoint_url, region_name=region, config=config)


def open_landing(url: str, endpoint_url: str | None = None) -> Landing:
    if url.startswith("s3://"):
        parsed = urlparse(url)
        if not parsed.netloc:
            raise ValueError(f"landing URL needs a bucket: {url}")
        return S3Landing(parsed.netloc, parsed.path, s3_client(endpoint_url))
    return LocalLanding(Path(url))
