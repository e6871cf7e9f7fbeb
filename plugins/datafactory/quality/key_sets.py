"""Large reference key sets, handed to GE by a short handle instead of by value.

GE 1.x re-serializes an expectation's kwargs (pydantic `.dict()`) many times per metric while it
builds the validation graph, so a kwarg holding a registry's million keys costs minutes per batch
(profiled: 50 of 65 s for 75k rows against 100k keys). The suite parameter carries a handle; the
metric looks the keys up here, in the process that validates. Keys compare as strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

HANDLE_PREFIX = "keyset:"
_SETS: dict[str, pa.Array] = {}


def _strings(values: Iterable[Any]) -> pa.Array:
    return pa.array(pd.Series(values, dtype="string"), type=pa.string())


def register(values: Iterable[Any]) -> str:
    """Keeps the distinct non-null `values`; returns their handle, named by their content, so the same
    keys always give the same handle and different keys never share one."""
    keys = pc.unique(pc.drop_null(_strings(values)))
    keys = keys.take(pc.sort_indices(keys))
    hashes = pd.util.hash_array(keys.to_numpy(zero_copy_only=False))
    digest = int(hashes.sum(dtype=np.uint64) ^ hashes[::2].sum(dtype=np.uint64)) if len(keys) else 0
    handle = f"{HANDLE_PREFIX}{len(keys)}:{digest:016x}"
    _SETS[handle] = keys
    return handle


def resolve(reference: str | Iterable[Any]) -> pa.Array:
    """The keys behind a handle, or a literal list's values."""
    if not isinstance(reference, str):
        return _strings(list(reference))
    if not reference.startswith(HANDLE_PREFIX):
        raise ValueError(f"reference_values: expected a list or a {HANDLE_PREFIX} handle, got {reference!r}")
    try:
        return _SETS[reference]
    except KeyError:
        raise LookupError(f"reference key set {reference} is not registered in this process") from None


def contains(column: pd.Series, reference: str | Iterable[Any]) -> np.ndarray:
    """Per value of `column`: is it one of the reference keys (nulls: False)."""
    found = pc.is_in(_strings(column), value_set=resolve(reference))
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)
