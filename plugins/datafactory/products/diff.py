"""What changed between two versions of a product: schema, rows, keys and distribution shift.

Pure functions over the two manifests and tables; the CLI reads them from the store. Shift is the
population stability index (PSI: < 0.1 stable, 0.1-0.25 watch, > 0.25 shifted): over the old
version's deciles for numbers, over categories for grades and bands.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datafactory.modeling.metrics import psi
from datafactory.products.store import ObjectStore
from datafactory.products.versioning import read_file, read_manifest

MAX_CATEGORIES = 30  # text columns with more distinct values are identifiers or free text, not grades
MAX_NUMERIC_LEVELS = 12  # numbers with at most this many values (grades 1-5, month counts) are categories


def stability(value: float) -> str:
    return "stable" if value < 0.1 else "watch" if value <= 0.25 else "shifted"


@dataclass
class ColumnShift:
    column: str
    kind: str  # numeric | categorical
    psi: float
    old: dict[str, float]  # shares per category, or summary statistics
    new: dict[str, float]
    changed_keys: int | None = None  # for categories: keys present in both whose value changed

    @property
    def verdict(self) -> str:
        return stability(self.psi)


@dataclass
class VersionDiff:
    product: str
    old_version: int
    new_version: int
    added_columns: dict[str, str] = field(default_factory=dict)
    removed_columns: dict[str, str] = field(default_factory=dict)
    retyped_columns: dict[str, tuple[str, str]] = field(default_factory=dict)
    old_rows: int = 0
    new_rows: int = 0
    keys_added: int = 0
    keys_removed: int = 0
    shifts: list[ColumnShift] = field(default_factory=list)
    context: dict[str, Any] = field(default_factory=dict)  # dates and model versions of both sides


def _numeric_shift(column: str, old: pd.Series, new: pd.Series) -> ColumnShift:
    old_values, new_values = old.dropna().to_numpy(dtype=float), new.dropna().to_numpy(dtype=float)
    edges = np.unique(np.quantile(old_values, np.linspace(0, 1, 11))) if len(old_values) else np.array([0.0])
    inner = edges[1:-1]
    old_share = np.bincount(np.searchsorted(inner, old_values, side="right"), minlength=len(inner) + 1)
    new_share = np.bincount(np.searchsorted(inner, new_values, side="right"), minlength=len(inner) + 1)
    value = psi(old_share / max(len(old_values), 1), new_share / max(len(new_values), 1))

    def summary(v: np.ndarray) -> dict[str, float]:
        if not len(v):
            return {}
        return {"mean": float(v.mean()), "p10": float(np.quantile(v, 0.1)), "p50": float(np.median(v)),
                "p90": float(np.quantile(v, 0.9))}  # fmt: skip

    return ColumnShift(column, "numeric", value, summary(old_values), summary(new_values))


def _categorical_shift(column: str, old: pd.Series, new: pd.Series) -> ColumnShift:
    old_share = old.astype(str).value_counts(normalize=True)
    new_share = new.astype(str).value_counts(normalize=True)
    categories = sorted(set(old_share.index) | set(new_share.index))
    e = old_share.reindex(categories, fill_value=0).to_numpy()
    a = new_share.reindex(categories, fill_value=0).to_numpy()
    return ColumnShift(
        column,
        "categorical",
        psi(e, a),
        {c: round(float(v), 4) for c, v in zip(categories, e, strict=True)},
        {c: round(float(v), 4) for c, v in zip(categories, a, strict=True)},
    )


def compare(
    product: str, old_manifest: dict, new_manifest: dict, old: pd.DataFrame, new: pd.DataFrame, key: str | None
) -> VersionDiff:
    old_schema, new_schema = old_manifest.get("schema", {}), new_manifest.get("schema", {})
    diff = VersionDiff(product, old_manifest["version"], new_manifest["version"], old_rows=len(old), new_rows=len(new))
    diff.added_columns = {c: t for c, t in new_schema.items() if c not in old_schema}
    diff.removed_columns = {c: t for c, t in old_schema.items() if c not in new_schema}
    diff.retyped_columns = {
        c: (old_schema[c], new_schema[c]) for c in old_schema if c in new_schema and old_schema[c] != new_schema[c]
    }
    diff.context = {
        side: {
            "logical_date": m.get("logical_date"),
            "model_version": (m.get("model") or {}).get("version"),
            "created_at": m.get("created_at"),
        }
        for side, m in (("old", old_manifest), ("new", new_manifest))
    }
    joined = None
    if key and key in old and key in new:
        diff.keys_added = int((~new[key].isin(old[key])).sum())
        diff.keys_removed = int((~old[key].isin(new[key])).sum())
        joined = old.merge(new, on=key, suffixes=("_old", "_new"))
    for column in [c for c in new.columns if c in old.columns and c != key]:
        levels = max(old[column].nunique(), new[column].nunique())
        if levels <= 1:
            continue  # a label such as the model version: the context reports it
        numeric = pd.api.types.is_numeric_dtype(old[column]) and pd.api.types.is_numeric_dtype(new[column])
        if numeric and levels > MAX_NUMERIC_LEVELS:
            diff.shifts.append(_numeric_shift(column, old[column], new[column]))
        elif levels <= MAX_CATEGORIES:
            shift = _categorical_shift(column, old[column], new[column])
            if joined is not None:
                changed = joined[f"{column}_old"].astype(str) != joined[f"{column}_new"].astype(str)
                shift.changed_keys = int(changed.sum())
            diff.shifts.append(shift)
    return diff


def read_table(store: ObjectStore, product: str, version: int, manifest: dict | None = None) -> pd.DataFrame:
    manifest = manifest or read_manifest(store, product, version)
    parts = [f for f in manifest["files"] if f["path"].endswith(".parquet")]
    frames = [pd.read_parquet(io.BytesIO(read_file(store, product, version, f["path"]))) for f in parts]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def diff_versions(store: ObjectStore, product: str, old_version: int, new_version: int) -> VersionDiff:
    old_manifest = read_manifest(store, product, old_version)
    new_manifest = read_manifest(store, product, new_version)
    key = (new_manifest.get("spec") or {}).get("key")
    diff = compare(
        product,
        old_manifest,
        new_manifest,
        read_table(store, product, old_version, old_manifest),
        read_table(store, product, new_version, new_manifest),
        key,
    )
    first = list(new_manifest.get("distribution") or {})  # the spec's headline columns lead
    diff.shifts.sort(key=lambda s: first.index(s.column) if s.column in first else len(first))
    return diff
