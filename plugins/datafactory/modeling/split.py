"""Deterministic holdout: an id always falls on the same side, run after run. Pure."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def holdout_mask(ids: pd.Series, share: float) -> np.ndarray:
    """CRC-32 of the id's text: a fixed, documented hash, so the split never moves with a library."""
    buckets = np.array([zlib.crc32(v.encode()) for v in ids.astype(str).tolist()], dtype=np.int64) % 10_000
    return buckets < int(share * 10_000)
