"""The landing area for file drops: a local folder or an S3 prefix (boto3), behind one small interface.

Names are relative paths like `bld_gas_monthly/bld_gas_monthly_20261101.csv`. Writers (the
simulator, or a real provider) publish each object whole: a local write goes to a dot-file and is
renamed, an S3 PUT is atomic; readers ignore dot-files, so they never see half a file.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol
from urllib.parse import urlparse


@dataclass(frozen=True)
class LandedObject:
    name: str
    size: int


class Landing(Protocol):
    url: str

    def list(self, folder: str) -> list[LandedObject]: ...

    def read(self, name: str) -> bytes: ...

    def write(self, name: str, data: bytes) -> None: ...


def _check(name: str) -> str:
    parts = name.split("/")
    if name.startswith("/") or ".." in parts or not name:
        raise ValueError(f"landing name escapes the landing area: {name!r}")
    return name


class LocalLanding:
    def __init__(self, root: Path):
        self.root = root
        self.url = str(root)

    def list(self, folder: str) -> list[LandedObject]:
        base = self.root / _check(folder)
        if not base.is_dir():
            return []
        found = []
        for path in sorted(base.rglob("*")):
            if path.is_file() and not any(p.startswith(".") for p in path.relative_to(self.root).parts):
                found.append(LandedObject(path.relative_to(self.root).as_posix(), path.stat().st_size))
        return found

    def read(self, name: str) -> bytes:
        return (self.root / _check(name)).read_bytes()

    def write(self, name: str, data: bytes) -> None:
        target = self.root / _check(name)
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
