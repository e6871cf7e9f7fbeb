"""Creates the stack's S3 buckets (MLflow artifacts, data products) if they don't exist yet.

Usage: create_buckets.py BUCKET [BUCKET ...]. Endpoint and credentials come from the same variables
the clients use (MLFLOW_S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY). Idempotent.
"""

from __future__ import annotations

import os
import sys
import time

import boto3
from botocore.exceptions import ClientError, EndpointConnectionError


def create_buckets(names: list[str], endpoint_url: str, attempts: int = 30) -> list[str]:
    """Returns the buckets created now; retries while the server is still starting."""
    s3 = boto3.client("s3", endpoint_url=endpoint_url)
    for attempt in range(attempts):
        try:
            existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
            break
        except EndpointConnectionError:
            if attempt == attempts - 1:
                raise
            time.sleep(1)
    created = []
    for name in names:
        if name in existing:
            continue
        try:
            s3.create_bucket(Bucket=name)
            created.append(name)
        except ClientError as exc:  # another initializer won the race
            if exc.response["Error"]["Code"] not in {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}:
                raise
    return created


def main(argv: list[str]) -> int:
    if not argv:
        print("usage: create_buckets.py BUCKET [BUCKET ...]", file=sys.stderr)
        return 2
    endpoint = os.environ.get("MLFLOW_S3_ENDPOINT_URL")
    if not endpoint:
        print("error: set MLFLOW_S3_ENDPOINT_URL to the S3 endpoint (e.g. http://minio:9000)", file=sys.stderr)
        return 2
    created = create_buckets(argv, endpoint)
    print(f"buckets ready: {', '.join(argv)} (created now: {', '.join(created) or 'none'})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
