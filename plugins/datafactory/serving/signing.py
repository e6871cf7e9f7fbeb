"""Signed, time-limited download links for the local store (S3 gets a presigned URL instead).

The signature is an HMAC over the path, the expiry and who it was issued to; the download endpoint
checks it in constant time and refuses expired links.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import urlencode


def signature(secret: bytes, path: str, expires: int, consumer_id: int, license_id: int) -> str:
    message = f"{path}\n{expires}\n{consumer_id}\n{license_id}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def signed_query(secret: bytes, path: str, expires: int, consumer_id: int, license_id: int) -> str:
    sig = signature(secret, path, expires, consumer_id, license_id)
    return urlencode({"expires": expires, "cid": consumer_id, "lid": license_id, "sig": sig})


def valid(secret: bytes, path: str, expires: int, consumer_id: int, license_id: int, sig: str, now: float) -> bool:
    expected = signature(secret, path, expires, consumer_id, license_id)
    return hmac.compare_digest(expected, sig) and now <= expires
