"""Keyed HMAC-SM3 pseudonyms: joinable inside the domain, meaningless outside it."""

from __future__ import annotations

import pandas as pd
from cryptography.hazmat.primitives import hashes, hmac


def pseudonym(value: str, key: bytes) -> str:
    mac = hmac.HMAC(key, hashes.SM3())
    mac.update(value.encode("utf-8"))
    return "p_" + mac.finalize().hex()[:32]


def pseudonymize_column(column: pd.Series, key: bytes) -> pd.Series:
    """Map each distinct value once; nulls stay null so completeness checks still see them."""
    distinct = column.dropna().astype(str).unique()
    mapping = {v: pseudonym(v, key) for v in distinct}
    return column.map(lambda v: mapping.get(str(v)) if pd.notna(v) else None)
