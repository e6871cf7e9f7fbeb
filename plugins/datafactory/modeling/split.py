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
from functools import cached_property

import numpy as np
import pandas as pd

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _bits(h: np.ndarray, salt: int) -> np.ndarray:
    """splitmix64 of (hash + salt), its top 53 bits: independent buckets for the holdout, the folds and
    the sample. As a fraction of 2**53 a row's bucket lies in [0, 1)."""
    with np.errstate(over="ignore"):
        z = (h.astype(np.uint64) + np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)) & _MASK64
        z = ((z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)) & _MASK64
        z = ((z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)) & _MASK64
        z = z ^ (z >> np.uint64(31))
    return z >> np.uint64(11)


def key_hashes(ids: pd.Series) -> np.ndarray:
    """CRC-32 of each id's text."""
    texts = ids.astype(str).tolist()
    return np.fromiter(map(zlib.crc32, map(str.encode, texts)), dtype=np.uint64, count=len(texts))


def content_hashes(frame: pd.DataFrame) -> np.ndarray:
    """A stable hash per row of a table's content (give it the table without the target)."""
    return pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(np.uint64)


def canonical_order(keys: pd.Series | None, hashes: np.ndarray, frame: pd.DataFrame) -> np.ndarray:
    """Row positions in one order that depends only on the rows: by the key's value when there is a key
    (a table already ordered by a unique id, as the scenarios' SQL orders by uscc, costs one check),
    else by the content hash; ties (rows of one entity, or duplicates) by the whole row's content. Every
    later step reads rows in this order (samples, fits, outputs), so the same rows given in any order
    train the same model. Rows that tie on both are identical, and their order cannot show."""
    primary = hashes
    if keys is not None:
        try:  # the fast path and the sort compare keys alike: numbers as numbers, text as text
            if keys.is_monotonic_increasing and _no_repeat_in_sorted(keys.to_numpy()):
                return np.arange(len(keys))
            primary = pd.factorize(keys, sort=True)[0]
        except TypeError:  # numbers and text in one column
            primary = pd.factorize(keys.astype(str), sort=True)[0]
    tied = pd.Series(primary).duplicated(keep=False).to_numpy()
    if not tied.any():
        return np.argsort(primary, kind="stable")
    tiebreak = np.zeros(len(primary), dtype=np.uint64)
    tiebreak[tied] = content_hashes(frame.iloc[np.flatnonzero(tied)])
    return np.lexsort((tiebreak, primary))


def _no_repeat_in_sorted(values: np.ndarray) -> bool:
    """Whether sorted values are all different: no two neighbours equal (cheaper than hashing them)."""
    return len(values) < 2 or bool(np.all(values[1:] != values[:-1]))


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

    @cached_property
    def _groups(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(group per row, hash per group, stratum per group): a group's stratum is its most frequent
        class (ties: the class seen first). Computed once per splitter: the holdout, the sample and
        the folds all read it."""
        if not self.grouped:  # one row per key: every row is its own group
            group = np.arange(len(self.hashes))
            stratum = np.zeros(len(group), dtype=np.int64) if self.strata is None else self.strata.astype(np.int64)
            return group, self.hashes, stratum
        group, first = pd.factorize(pd.Series(self.hashes), sort=False)
        group_hash = np.asarray(first, dtype=np.uint64)
        if self.strata is None:
            return group, group_hash, np.zeros(len(group_hash), dtype=np.int64)
        classes = int(self.strata.max()) + 1
        counts = np.bincount(group * classes + self.strata, minlength=len(group_hash) * classes)
        return group, group_hash, counts.reshape(len(group_hash), classes).argmax(axis=1)

    @property
    def group_count(self) -> int:
        return len(self._groups[1])

    def _ranks(self, salt: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: its stratum, its rank within the stratum by bucket (ties by position), and the
        stratum's size."""
        group, group_hash, stratum = self._groups
        bucket = _bits(group_hash, salt)
        if int(stratum.max(initial=0)) < 1 << 11:  # stratum and bucket in one 64-bit key: one stable sort
            order = np.argsort((stratum.astype(np.uint64) << np.uint64(53)) | bucket, kind="stable")
        else:
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


def describe(share: float, key: str | None, stratified: bool, grouped: bool, group: bool = False) -> str:
    """The split in one sentence, for the model card and the CLI. `group`: the key is a grouping
    column (`--group`), not the row's id."""
    by = f"the CRC-32 of `{key}`" if key else "a hash of each row's content without the target"
    how = "stratified by class (the same share of every class)" if stratified else "unstratified (regression)"
    together = ""
    if key and (grouped or group):
        counted = " (a group counts in the class most of its rows have)" if stratified else ""
        together = (
            f"; grouped by `{key}`: rows sharing a `{key}` stay together, on one side of the holdout and in one "
            f"cross-validation fold{counted}"
        )
    role = (
        f" `{key}` is the grouping column, not a feature: the holdout's groups are unseen in training." if group else ""
    )
    return (
        f"{share:.0%} holdout chosen by {by}, {how}{together}.{role} The label's values are never read: recoding "
        f"them gives the same split. Champion and challenger are scored on the same holdout rows."
    )
