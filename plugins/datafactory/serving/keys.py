"""API keys: `dfk_<key id>_<secret>`. The key id finds the consumer; only an Argon2 hash of the
whole key is stored, and the key is shown once. Verifying Argon2 takes tens of milliseconds by
design, so the server verifies a key once and remembers the result under a fast digest."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

PREFIX = "dfk"
KEY_RE = re.compile(r"^dfk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$")
_HASHER = PasswordHasher()


class MalformedKeyError(ValueError):
    """The presented text is not shaped like an API key at all."""


@dataclass(frozen=True)
class NewKey:
    key_id: str
    secret: str  # the full key, shown once
    hash: str


def new_key() -> NewKey:
    key_id, body = secrets.token_hex(6), secrets.token_urlsafe(32)
    full = f"{PREFIX}_{key_id}_{body}"
    return NewKey(key_id, full, _HASHER.hash(full))


def key_id_of(presented: str) -> str:
    match = KEY_RE.match(presented)
    if not match:
        raise MalformedKeyError("malformed API key: expected dfk_<12 hex>_<43 url-safe characters>")
    return match.group(1)


def verify(stored_hash: str, presented: str) -> bool:
    """The slow check, against the stored Argon2 hash."""
    try:
        return _HASHER.verify(stored_hash, presented)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def digest(presented: str) -> str:
    """A fast digest naming a presented key in the in-memory verification cache (never stored)."""
    return hashlib.blake2b(presented.encode(), digest_size=20).hexdigest()
