"""The object store on S3 (or MinIO, or any S3-compatible server) through boto3.

Credentials come from boto3's usual chain (environment, profile, instance role). The endpoint is
configurable so the same code talks to AWS S3, a MinIO cluster or a loopback test server.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from datafactory.products.store import check_key

# 412: the key exists. 409: a concurrent conditional write on the same key is in flight (AWS
# answers ConditionalRequestConflict); either way this writer did not create the object.
_LOST_CONDITION = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}
_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3Store:
    """Keys live under `s3://bucket/prefix/`. `put_if_absent` is PutObject with If-None-Match: *,
    which S3 (since 2024-08), MinIO and moto (since getmoto/moto#8109, 2024-09) refuse with 412 when
    the key exists, so two publishers can never both create the same manifest."""

    def __init__(self, bucket: str, prefix: str, client) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Store:
        parsed = urlparse(url)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise ValueError(f"not an S3 store URL (want s3://bucket/prefix): {url}")
        config = Config(
            retries={"mode": "standard", "max_attempts": 5},
            # MinIO and loopback servers have no per-bucket DNS names.
            s3={"addressing_style": "path"} if endpoint_url else None,
        )
        client = boto3.client(
            "s3",
            endpoint_url=endpoint_url,
            region_name=os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
            config=config,
        )
        return cls(parsed.netloc, parsed.path, client)

    def url(self, key: str = "") -> str:
        return f"s3://{self.bucket}/{self._key(key)}"

    def _key(self, key: str) -> str:
        check_key(key, allow_empty=True)
        return f"{self.prefix}/{key}" if self.prefix else key

    def put(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*")
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _LOST_CONDITION:
                return False
            raise
        return True

    def get(self, key: str) -> bytes:
        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                raise FileNotFoundError(self.url(key)) from exc
            raise

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in _MISSING:
                return False
            raise
        return True

    def list(self, prefix: str) -> list[str]:
        base = f"{self.prefix}/" if self.prefix else ""
        keys = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=base + prefix):
            keys += [item["Key"][len(base) :] for item in page.get("Contents", [])]
        return sorted(keys)
