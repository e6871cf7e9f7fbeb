"""Keyed HMAC-SM3 pseudonyms (joinable inside the domain, meaningless outside it) and SM4 encryption
for the few personal values that must be kept recoverable by the key holder."""

from __future__ import annotations

import base64
import os

import numpy as np
import pandas as pd
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, hmac
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SM4_PREFIX = "sm4gcm:"
_NONCE = 12
_TAG = 16


def pseudonym(value: str, key: bytes) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(value.encode("utf-8"))
    return "p_" + mac.finalize().hex()[:32]


def pseudonymize_column(column: pd.Series, key: bytes) -> pd.Series:
    """Compute each distinct value's pseudonym once; nulls stay null so completeness checks see them."""
    codes, distinct = pd.factorize(column)  # nulls get code -1
    keyed = hmac.HMAC(key, hashes.SM3())  # copying a keyed HMAC skips the key schedule per value

    def one(value: str) -> str:
        mac = keyed.copy()
        mac.update(value.encode("utf-8"))
        return "p_" + mac.finalize().hex()[:32]

    table = np.array([one(str(v)) for v in distinct] + [None], dtype=object)
    return pd.Series(table[codes], index=column.index, dtype=object)  # code -1 (null) picks the None


def encrypt_value(value: str, key: bytes, context: bytes = b"") -> str:
    """SM4-GCM with a fresh nonce; `context` (the column name) is authenticated, so a ciphertext
    moved to another column no longer decrypts."""
    nonce = os.urandom(_NONCE)
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context)
    body = enc.update(value.encode("utf-8")) + enc.finalize()
    return SM4_PREFIX + base64.urlsafe_b64encode(nonce + body + enc.tag).decode("ascii")


def decrypt_value(token: str, key: bytes, context: bytes = b"") -> str:
    if not token.startswith(SM4_PREFIX):
        raise ValueError("not an SM4 token")
    blob = base64.urlsafe_b64decode(token[len(SM4_PREFIX) :])
    nonce, body, tag = blob[:_NONCE], blob[_NONCE:-_TAG], blob[-_TAG:]
    dec = Cipher(algorithms.SM4(key), modes.GCM(nonce, tag)).decryptor()
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
    enc = Cipher(algorithms.SM4(key), modes.GCM(nonce)).encryptor()
    enc.authenticate_additional_data(context)
    return nonce + enc.update(data) + enc.finalize() + enc.tag


def decrypt_bytes(blob: bytes, key: bytes, context: bytes = b"") -> bytes:
    dec = Cipher(algorithms.SM4(key), modes.GCM(blob[:_NONCE], blob[-_TAG:])).decryptor()
    dec.authenticate_additional_data(context)
    try:
        return dec.update(blob[_NONCE:-_TAG]) + dec.finalize()
    except InvalidTag as exc:
        raise ValueError("SM4 blob failed authentication (wrong key or tampered file)") from exc
