"""Deterministic splits that never read the label's values. Pure.

Every row gets a bucket in [0, 1) from its key: the CRC-32 of the id's text (a fixed, documented
hash, so the split never moves with a library), or a hash of the row's content without the target
when there is no id. Rows that share a key (an entity with several rows) share a bucket, so they
always land on the same side and in the same fold.

For classification the holdout and the folds are stratified: within each class the groups with the
lowest buckets are taken, in the class's proportion. Only the partition of rows into classes is
read, never the labels themselves: recoding or renaming the labels gives the identical split.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _mix(h: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of (hash + salt): independent buckets for the holdout, the folds and the sample."""
    with np.errstate(over="ignore"):
        z = (h.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def key_hashes(ids: pd.Series) -> np.ndarray:
    """CRC-32 of each id's text."""
    return np.array([zlib.crc32(v.encode()) for v in ids.astype(str).tolist()], dtype=np.uint64)


def content_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A stable hash per row of a table's content (give it the table without the target)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(np.uint64)


def holdout_mask(ids: pd.Series, share: float) -> np.ndarray:
    """Unstratified: an id's CRC-32 bucket below the share (kept for callers that split by id alone)."""
    return (key_hashes(ids) % np.uint64(10_000)).astype(np.int64) < int(share * 10_000)


@dataclass(frozen=True)
class Splitter:
    """Rows, the entity each belongs to, and (for classification) its class, as opaque codes."""

    hashes: np.ndarray  # one uint64 per row
    strata: np.ndarray | None  # class code per row (order of first appearance), None for regression
    grouped: bool  # whether some rows share a key

    @classmethod
    def build(cls, hashes: np.ndarray, labels: pd.Series | np.ndarray | None) -> Splitter:
        strata = None if labels is None else pd.factorize(pd.Series(labels).to_numpy(), sort=False)[0]
        grouped = not pd.Series(hashes).is_unique
        return cls(hashes, strata, grouped)

    def subset(self, rows: np.ndarray) -> Splitter:
        strata = None if self.strata is None else self.strata[rows]
        return Splitter(self.hashes[rows], strata, self.grouped)

    def _groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group per row, hash per group, stratum per group): a group's stratum is its most frequent
        class (ties: the class seen first)."""
        if not self.grouped:  # one row per key: every row is its own group
            group = np.arange(len(self.hashes))
            stratum = np.zeros(len(group), dtype=np.int64) if self.strata is None else self.strata.astype(np.int64)
            return group, self.hashes, stratum
        group, first = pd.factorize(pd.Series(self.hashes), sort=False)
        group_hash = np.asarray(first, dtype=np.uint64)
        if self.strata is None:
            return group, group_hash, np.zeros(len(group_hash), dtype=np.int64)
        counts = np.zeros((len(group_hash), int(self.strata.max()) + 1))
        np.add.at(counts, (group, self.strata), 1)
        return group, group_hash, counts.argmax(axis=1)

    def _ranks(self, salt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: its stratum, its rank within the stratum by bucket, and the stratum's size."""
        group, group_hash, stratum = self._groups()
        bucket = _mix(group_hash, salt)
        order = np.lexsort((np.arange(len(bucket)), bucket, stratum))
        sizes = np.bincount(stratum)
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        rank = np.empty(len(bucket), dtype=np.int64)
        rank[order] = np.arange(len(bucket)) - starts[stratum[order]]
        return group, rank, sizes[stratum]

    def take(self, share: float, salt: int = 1) -> np.ndarray:
        """A mask of about `share` of the rows: per stratum, the groups with the lowest buckets (at
        least one group, and never all of them, when the stratum has two or more)."""
        group, rank, size = self._ranks(salt)
        wanted = np.rint(share * size).astype(np.int64)
        wanted = np.where(size >= 2, np.clip(wanted, 1, size - 1), 0)
        return (rank < wanted)[group]

    def folds(self, k: int, salt: int = 2) -> np.ndarray:
        """Fold number per row, 0..k-1, stratified and grouped the same way."""
        group, rank, size = self._ranks(salt)
        return (rank * k // np.maximum(size, 1))[group]


def describe(share: float, key: str | None, stratified: bool, grouped: bool) -> str:
    """The split in one sentence, for the model card."""
    by = f"the CRC-32 of `{key}`" if key else "a hash of each row's content without the target"
    how = "stratified by class (the same share of every class)" if stratified else "unstratified (regression)"
    group = f"; rows sharing a `{key}` stay together" if grouped and key else ""
    return (
        f"{share:.0%} holdout chosen by {by}, {how}{group}. The label's values are never read: recoding them "
        f"gives the same split. Champion and challenger are scored on the same holdout rows."
    )
