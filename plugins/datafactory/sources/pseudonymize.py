"""Keyed HMAC-SM3 pseudonyms (joinable inside the domain, meaningless outside it) and SM4 encryption
for the few personal values that must be kept recoverable by the key holder.

Both carry the id of the key that made them (see datafactory.secrets: a key is bytes with a `kid` and
the ring of retired keys; plain bytes count as key 1), so data made before a rotation stays readable:
- a pseudonym of key 1 is `p_<32 hex>` (the form before key ids existed), of key N `pN_<32 hex>`;
- an SM4 token is `sm4gcm:kN:<base64>` (`sm4gcm:<base64>` without an id is key 1);
- an SM4 file is `SM4K`, the id's length and the id, then nonce, ciphertext and tag (no header: key 1).
"""

from __future__ import annotations

import base64
import contextlib
import os
import re

import numpy as np
import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from datafactory.secrets import Key, key_for, key_id

SM4_PREFIX = "sm4gcm:"
_NONCE = 12
_TAG = 16
_BLOB_MAGIC = b"SM4K"
_TOKEN_KID = re.compile(r"^k(\d+):")
PSEUDONYM_FORM = re.compile(r"^p(\d*)_[0-9a-f]{32}$")


def pseudonym_prefix(key: bytes) -> str:
    kid = key_id(key)
    return "p_" if kid == "1" else f"p{kid}_"


def pseudonym_key_id(value: str) -> str:
    """The id of the key a pseudonym was made with."""
    found = PSEUDONYM_FORM.match(value)
    if not found:
        raise ValueError(f"not a pseudonym: {value[:40]!r}")
    return found.group(1) or "1"


def pseudonym(value: str, key: bytes) -> str:
    mac = hmac.HMAC(bytes(key), hashes.SM3())
    mac.update(value.encode("utf-8"))
    return pseudonym_prefix(key) + mac.finalize().hex()[:32]


def pseudonyms_under_every_key(value: str, key: bytes) -> dict[str, str]:
    """The value's pseudonym under each key id of the ring (a lookup that must find old data too)."""
    ring = getattr(key, "ring", None) or {key_id(key): bytes(key)}
    return {kid: pseudonym(value, Key(material, kid, ring)) for kid, material in sorted(ring.items())}


def pseudonymize_column(column: pd.Series, key: bytes) -> pd.Series:
    """Compute each distinct value's pseudonym once; nulls stay null so completeness checks see them."""
    codes, distinct = pd.factorize(column)  # nulls get code -1
    copy = hmac.HMAC(bytes(key), hashes.SM3()).copy  # copying a keyed HMAC skips the key schedule per value
    prefix = pseudonym_prefix(key)
    values = distinct.to_numpy(dtype=object) if isinstance(distinct, pd.api.extensions.ExtensionArray) else distinct
    macs = []
    for value in values.tolist():
        mac = copy()
        mac.update(str(value).encode("utf-8"))
        macs.append(prefix + mac.finalize()[:16].hex())  # the first 32 hex digits
    macs.append(None)
    table = np.array(macs, dtype=object)
    return pd.Series(table[codes], index=column.index, dtype=object)  # code -1 (null) picks the None


def encrypt_value(value: str, key: bytes, context: bytes = b"") -> str:
    """SM4-GCM with a fresh nonce; `context` (the column name) is authenticated, so a ciphertext
    moved to another column no longer decrypts."""
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context)
    body = enc.update(value.encode("utf-8")) + enc.finalize()
    return f"{SM4_PREFIX}k{key_id(key)}:" + base64.urlsafe_b64encode(nonce + body + enc.tag).decode("ascii")


def token_key_id(token: str) -> str:
    """The id of the key an SM4 token was made with."""
    if not token.startswith(SM4_PREFIX):
        raise ValueError("not an SM4 token")
    found = _TOKEN_KID.match(token[len(SM4_PREFIX) :])
    return found.group(1) if found else "1"


def decrypt_value(token: str, key: bytes, context: bytes = b"") -> str:
    """Decrypts with the key of the token's id, taken from `key`'s ring (a retired key still reads)."""
    kid = token_key_id(token)
    body64 = token[len(SM4_PREFIX) :]
    found = _TOKEN_KID.match(body64)
    blob = base64.urlsafe_b64decode(body64[found.end() :] if found else body64)
    nonce, body, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    dec = Cipher(algorithms.SM4(bytes(key_for(key, kid))), modes.GCM(nonce, tag)).decryptor()
    dec.authenticate_additional_data(context)
    try:
        return (dec.update(body) + dec.finalize()).decode("utf-8")
    except InvalidTag as exc:
        raise ValueError("SM4 token failed authentication (wrong key, column or tampered value)") from exc


def encrypt_column(column: pd.Series, key: bytes, context: str) -> pd.Series:
    aad = context.encode("utf-8")
    return column.map(lambda v: encrypt_value(str(v), key, aad) if pd.notna(v) else None)


def encrypt_bytes(data: bytes, key: bytes, context: bytes = b"") -> bytes:
    """A whole file under SM4-GCM: nonce, ciphertext, tag. For raw files kept in quarantine."""
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(bytes(key)), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context)
    kid = key_id(key).encode("ascii")
    return _BLOB_MAGIC + bytes([len(kid)]) + kid + nonce + enc.update(data) + enc.finalize() + enc.tag


def decrypt_bytes(blob: bytes, key: bytes, context: bytes = b"") -> bytes:
    """Decrypts with the key of the blob's id from `key`'s ring; a blob without a header is key 1's."""
    if blob.startswith(_BLOB_MAGIC) and len(blob) > 5:
        size = blob[4]
        kid = blob[5 : 5 + size].decode("ascii", "replace")
        if kid.isdigit():
            with contextlib.suppress(ValueError):  # a header-less blob whose nonce happens to start so
                return _open_blob(blob[5 + size :], key_for(key, kid), context)
    return _open_blob(blob, key_for(key, "1"), context)


def _open_blob(blob: bytes, key: bytes, context: bytes) -> bytes:
    dec = Cipher(algorithms.SM4(bytes(key)), modes.GCM(blob[:_NONCE], blob[-_TAG:])).decryptor()
    dec.authenticate_additional_data(context)
    try:
        return dec.update(blob[_NONCE:-_TAG]) + dec.finalize()
    except (InvalidTag, ValueError) as exc:
        raise ValueError("SM4 blob failed authentication (wrong key or tampered file)") from exc
