"""Deterministic holdout: an id always falls on the same side, run after run. Pure."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def holdout_mask(ids: pd.Series, share: float) -> np.ndarray:
    buckets = np.fromiter((zlib.crc32(str(v).encode()) % 10_000 for v in ids), dtype=np.int64, count=len(ids))
    return buckets < int(share * 10_000)
