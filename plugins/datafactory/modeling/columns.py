"""Which columns are numeric or categorical inputs, which are excluded and why (identifiers,
constants, leakage suspects), and the one way every model sees them. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MISSING = "(missing)"
MAX_LEVELS = 60  # above this, a text column is a category only when its frequent values hold most rows
LEVEL_ROWS = 10  # training rows a value needs to be its own level of such a column; the rest read as missing
KEPT_LEVELS = 250  # the most frequent values kept as its levels
FREQUENT_SHARE = 0.5  # of its rows, held by those levels
LEAK_LIMIT = 0.98  # a single feature with AUC (or |corr|) above this nearly is the target
LEAK_SAMPLE = 50_000  # training rows the leakage check reads: plenty for a statistic that high
MIN_ROWS_FOR_ROLES = 20  # below this, uniqueness says nothing
PROBE_ROWS = 20_000  # values checked first for a fraction, a repeat, or words (see _probe)
ID_NAME = re.compile(
    r"(^|[_\s.])(id|no|nr|num|number|key|index|idx|uuid|guid|seq)$|^(id|index|idx|unnamed: ?\d+)$"
    r"|(编号|序号|账号|客户号|证件号)$",
    re.I,
)


@dataclass(frozen=True)
class FeatureSchema:
    numeric: tuple[str, ...]
    categorical: tuple[str, ...]
    levels: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [*self.numeric, *self.categorical]

    def without(self, names: set[str]) -> FeatureSchema:
        return FeatureSchema(
            tuple(c for c in self.numeric if c not in names),
            tuple(c for c in self.categorical if c not in names),
            {k: v for k, v in self.levels.items() if k not in names},
        )

    def with_levels(self, frame: pd.DataFrame) -> FeatureSchema:
        """Fix each categorical's levels from the training rows; unseen levels become missing later.
        A column with more than MAX_LEVELS values keeps its KEPT_LEVELS most frequent ones with
        LEVEL_ROWS rows or more: a value seen on three rows teaches nothing but the rows."""
        levels = {}
        for c in self.categorical:
            counts = as_text(frame[c]).value_counts()
            if len(counts) > MAX_LEVELS:  # ties broken by the value, so the row order never picks the levels
                counts = counts.sort_index().sort_values(ascending=False, kind="stable")
                counts = counts[counts >= LEVEL_ROWS].head(KEPT_LEVELS)
            levels[c] = tuple(sorted(counts.index))
        return FeatureSchema(self.numeric, self.categorical, levels)

    def external(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """The model's public input: numbers as float64, categories as text. This is the signature.
        `rows` (positions) picks rows on the way, indexed 0..n-1; without it every row, keeping the index."""
        return self._inputs(frame, rows, lambda name, text: text)

    def matrix(self, frame: pd.DataFrame, rows: np.ndarray | None = None) -> pd.DataFrame:
        """What the estimators fit on: float64 numbers and pandas categoricals with fixed levels."""
        return self._inputs(frame, rows, self._category)

    def _category(self, name: str, text: np.ndarray) -> pd.Categorical:
        """Text as a categorical with the training levels; missing and unseen levels are missing."""
        return pd.Categorical(np.where(text == MISSING, None, text), categories=self.levels.get(name, ()))

    def _inputs(self, frame: pd.DataFrame, rows: np.ndarray | None, category: Callable) -> pd.DataFrame:
        """The numbers are written straight into one C-ordered float64 block (rows x features): no
        per-column frames to consolidate, no second copy to pick rows, and a LightGBM Dataset reads
        the block as it is."""
        missing = [c for c in self.names if c not in frame.columns]
        if missing:
            raise KeyError(f"input lacks the model's columns: {', '.join(missing)}")
        count = len(frame) if rows is None else len(rows)
        block = np.empty((count, len(self.numeric)), dtype=np.float64)
        for j, name in enumerate(self.numeric):
            values = pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
            block[:, j] = values if rows is None else values[rows]
        index = frame.index if rows is None else pd.RangeIndex(count)
        out = pd.DataFrame(block, columns=list(self.numeric), index=index, copy=False)
        for name in self.categorical:
            column = frame[name] if rows is None else frame[name].iloc[rows]
            out[name] = category(name, as_text(column).to_numpy(dtype=object))
        return out


def as_text(column: pd.Series) -> pd.Series:
    """Categories as text; whole floats print as integers so 1 and 1.0 are one level."""
    text = column.astype(object)
    if pd.api.types.is_float_dtype(column):
        whole = column.notna() & (column % 1 == 0)
        text[whole] = column[whole].astype("int64").astype(str)
    text = text.astype("string").fillna(MISSING).astype(object)
    return text.where(text != "", MISSING)


def _probe(values: pd.Series) -> pd.Series:
    """A fixed random subset of a column's values. A fraction or a repeat found in it is one in the
    whole column, so it settles most columns exactly without hashing every row."""
    if len(values) <= PROBE_ROWS:
        return values
    return values.iloc[np.sort(np.random.default_rng(0).choice(len(values), PROBE_ROWS, replace=False))]


def _whole(values: pd.Series) -> bool:
    return pd.api.types.is_integer_dtype(values) or bool((values % 1 == 0).all())


DATE_FORMATS = ("ISO8601", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日", "%d/%m/%Y", "%m/%d/%Y", "%b-%Y", "%b %Y")
DATE_SHARE = 0.98  # of a text column's probed values, in one of DATE_FORMATS
DATE_TEXT = "a date written as text: derive a number (age, days since) in the features instead"


def is_date_text(column: pd.Series) -> bool:
    """Text whose values are (nearly) all dates in one common format: CSV readers leave dates as text."""
    values = _probe(column.dropna())
    if len(values) == 0 or pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        return False
    text = values.astype(str).str.strip()
    head = text.head(50)  # formats that fail on the first values are not tried on the whole probe
    for form in DATE_FORMATS:
        if pd.to_datetime(head, format=form, errors="coerce").notna().mean() < DATE_SHARE:
            continue
        if pd.to_datetime(text, format=form, errors="coerce").notna().mean() >= DATE_SHARE:
            return True
    return False


def identifier_reason(name: str, column: pd.Series) -> str | None:
    """Why a column identifies rows rather than describing them, or None."""
    values = column.dropna()
    if len(values) < MIN_ROWS_FOR_ROLES or pd.api.types.is_bool_dtype(column):
        return None
    probe = _probe(values)
    if pd.api.types.is_numeric_dtype(column):
        if not (_whole(probe) and probe.is_unique) or not (_whole(values) and values.is_unique):
            return None
        ints = values.astype("int64")
        if int(ints.max()) - int(ints.min()) + 1 == len(values):
            return "a row index (consecutive whole numbers, one per row)"
        if ints.is_monotonic_increasing or ints.is_monotonic_decreasing:
            return "a sequence number (whole numbers in row order, one per row)"
        if ID_NAME.search(str(name)) or (pd.api.types.is_integer_dtype(column) and len(values) >= 100):
            return "an identifier (a different whole number on every row)"
        return None
    if pd.api.types.is_datetime64_any_dtype(column):
        return None
    distinct = values.nunique() if probe.is_unique else None  # a repeat in the probe: not unique per row
    if distinct == len(values):
        return DATE_TEXT if is_date_text(column) else "an identifier (a different value on every row)"
    text = probe.astype(str)  # words and length per value are averages: the probe estimates them closely
    if text.str.count(r"\s+").mean() < 3:
        return None
    distinct = values.nunique() if distinct is None else distinct
    if distinct > MAX_LEVELS and distinct > 0.5 * len(values):
        return f"free text ({distinct} distinct values, {text.str.len().mean():.0f} characters on average)"
    return None


def shared_entity_columns(frame: pd.DataFrame, exclude: set[str]) -> dict[str, str]:
    """Columns named like an entity's id (`customer_id`, `loan_no`, `客户编号`) whose values repeat:
    the table has several rows per entity, and a split by rows puts one entity on both sides of the
    holdout, where a model that learned the entity scores well for the wrong reason. For each, what to do."""
    found = {}
    for name in frame.columns:
        if name in exclude or not ID_NAME.search(str(name)) or str(name).lower().startswith("unnamed"):
            continue
        values = frame[name].dropna()
        distinct = values.nunique()
        if len(values) >= MIN_ROWS_FOR_ROLES and 1 < distinct < len(values) and distinct > MAX_LEVELS:
            found[name] = (
                f"rows share '{name}' values ({distinct} for {len(values)} rows): if it names an entity, give "
                f"--group {name} so each one's rows stay on one side of the holdout and in one fold"
            )
    return found


def constant_reason(column: pd.Series) -> str | None:
    """A column that cannot tell rows apart: always empty, or one value and never missing."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        low, high = column.min(), column.max()  # a pass over memory, where counting distinct values hashes
        if pd.isna(low):
            return "always empty"
        if low != high or column.isna().any():
            return None
    distinct = column.nunique(dropna=True)
    if distinct == 0:
        return "always empty"
    if distinct == 1 and column.notna().all():
        value = column.iloc[0]
        return f"constant (always {value.item() if hasattr(value, 'item') else value!r})"
    return None


def infer_schema(
    frame: pd.DataFrame, exclude: set[str], declared_categorical: tuple[str, ...] = ()
) -> tuple[FeatureSchema, dict[str, str]]:
    """Numbers and booleans are numeric; low-cardinality text is categorical. Identifiers (row
    indexes, unique-per-row numbers or strings, free text) and constant columns are excluded.
    Returns what was excluded and why."""
    numeric, categorical, ignored = [], [], {}
    for name in frame.columns:
        if name in exclude:
            continue
        column = frame[name]
        reason = (
            constant_reason(column)
            or personal_reason(name, column)
            or (None if name in declared_categorical else identifier_reason(name, column))
        )
        if reason:
            ignored[name] = reason
        elif name in declared_categorical:
            categorical.append(name)
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            numeric.append(name)
        elif pd.api.types.is_datetime64_any_dtype(column):
            ignored[name] = "a date: derive a number (age, days since) in the features instead"
        else:
            distinct = column.nunique(dropna=True)
            if distinct > MAX_LEVELS and is_date_text(column):
                ignored[name] = DATE_TEXT
            elif distinct > MAX_LEVELS and (why := _too_many_levels(name, column, distinct)):
                ignored[name] = why
            else:
                categorical.append(name)
    return FeatureSchema(tuple(numeric), tuple(categorical)), ignored


def long_tails(frame: pd.DataFrame, schema: FeatureSchema) -> list[str]:
    """For each category whose rarer values read as missing (see `with_levels`), what was kept."""
    notes = []
    for name, levels in schema.levels.items():
        counts = as_text(frame[name]).value_counts()
        if len(counts) <= MAX_LEVELS:
            continue
        kept = counts[counts.index.isin(levels)].sum() / max(int(counts.sum()), 1)
        notes.append(
            f"`{name}` has {len(counts)} distinct values on the training side: the {len(levels)} on {LEVEL_ROWS}+ "
            f"rows each are its categories ({kept:.0%} of rows); the other {len(counts) - len(levels)} read as missing"
        )
    return notes


NAME_HEADER = re.compile(r"姓名|名字|人名|联系人|负责人|法人|代表人|经理|经办人|业务员|name", re.I)


def personal_reason(name: str, column: pd.Series) -> str | None:
    """Resident IDs, mobile numbers or personal names are never inputs, even when they repeat (a
    person's monthly rows, thirty account managers): a model would carry them in its levels and its
    input example. Names are looked for in text of more than MAX_LEVELS values or under a header that
    names people (`客户经理`, `联系人`), so a category of colours or risk levels (`黄色`, `高风险`, which
    start like surnames) is not mistaken for them."""
    from datafactory.products.review import personal_kind

    if pd.api.types.is_bool_dtype(column):
        return None
    if pd.api.types.is_numeric_dtype(column):  # a phone or an ID without X reads as a whole number
        if not column.max() >= 1.3e10:  # one pass settles nearly every numeric column
            return None
        values = column.dropna()
        shaped = (
            values.between(1.3e10, 2e10, inclusive="left") | values.between(1.1e14, 1e15) | values.between(1.1e17, 9e17)
        )
        if not shaped.any() or shaped.mean() < 0.5:
            return None
        column, names = values[shaped], False
    else:
        column = pd.Series(pd.unique(column)).dropna()  # judged on distinct values: one hashing pass
        names = bool(NAME_HEADER.search(str(name))) or len(column) > MAX_LEVELS
    kind = personal_kind(column, names=names)
    return None if kind is None else f"personal data ({kind}): never a model input"


def _too_many_levels(name: str, column: pd.Series, distinct: int) -> str | None:
    """Why text with more than MAX_LEVELS values is not a category, or None when its frequent values
    (LEVEL_ROWS rows or more each) hold most rows: an industry or county code, a job title, where a few
    hundred values cover the table and the long tail reads as missing."""
    if ID_NAME.search(str(name)):
        return f"an entity's id ({distinct} distinct values): give --group {name} if rows share it"
    counts = column.value_counts(dropna=True)
    covered = counts[counts >= LEVEL_ROWS].head(KEPT_LEVELS).sum() / max(int(counts.sum()), 1)
    if covered >= FREQUENT_SHARE:
        return None
    return (
        f"text with {distinct} distinct values, most rows under values on fewer than {LEVEL_ROWS} rows: an "
        "identifier, or too many categories to learn from (group them, by a prefix or a region, to use it)"
    )


def _as_numbers(column: pd.Series, y: np.ndarray) -> np.ndarray | None:
    """Numbers for the leakage check: missing values rank lowest; a category is its level's mean target
    (only for categories with few levels, where that mean is not just memorising rows)."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        codes = column.cat.codes.to_numpy()
        levels = len(column.cat.categories) + 1
        if levels > max(2.0, np.sqrt(len(column))):
            return None
        codes = np.where(codes < 0, levels - 1, codes)
        sums, counts = np.bincount(codes, weights=y, minlength=levels), np.bincount(codes, minlength=levels)
        return (sums / np.maximum(counts, 1))[codes]
    values = column.to_numpy(dtype=float)
    missing = np.isnan(values)
    if missing.all():
        return None
    return np.where(missing, np.nanmin(values) - 1.0, values)


def leak_strength(values: np.ndarray, y: np.ndarray, kind: str) -> tuple[float, str]:
    """How nearly one feature alone gives the target: (strength in 0..1, what was measured).
    binary: AUC either way round; ordinal: the mean AUC over the cumulative cuts (y >= k);
    regression: the larger of |Pearson| and |Spearman| correlation."""
    from datafactory.modeling.metrics import rank_auc  # scikit-learn stays out of a light import of this module

    if kind == "regression":
        if np.std(values) == 0 or np.std(y) == 0:
            return 0.0, "|corr|"
        pearson = abs(float(np.corrcoef(values, y)[0, 1]))
        spearman = abs(float(pd.Series(values).corr(pd.Series(y), method="spearman")))
        return max(pearson, spearman), "|corr|"
    if kind == "ordinal":
        cuts = np.unique(y)[1:]
        auc = float(np.mean([rank_auc((y >= k).astype(int), values) for k in cuts])) if len(cuts) else 0.5
    else:
        auc = rank_auc(y, values)
    return max(auc, 1 - auc), "AUC"


def leak_lower_bound(strength: float, y: np.ndarray, kind: str) -> tuple[float, int]:
    """The strength less one standard error, and the rows that set it. A strong genuine feature reaches
    AUC 0.98 by chance on a sample (the Wisconsin tumours' worst perimeter does on one 75% sample in
    ten), so a suspect is one whose lower bound clears the limit. AUC: Hanley and McNeil's standard error over the rarer
    class, with at least half a misplaced row of it (a perfect split of 11 rows proves little);
    correlation: Fisher's z."""
    if kind == "regression":
        n = len(y)
        if n <= 4:
            return 0.0, n
        r = min(strength, 1 - 1e-12)
        return float(np.tanh(np.arctanh(r) - 1 / np.sqrt(n - 3))), n
    cuts = np.unique(y)[1:]
    sides = [sorted(((y >= k).sum(), (y < k).sum())) for k in cuts] or [[0, 0]]
    rare, common = min(sides)
    if rare == 0:
        return 0.0, 0
    auc = min(strength, 1 - 1 / (2 * rare))
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (rare - 1) * (q1 - auc**2) + (common - 1) * (q2 - auc**2)) / (rare * common)
    return float(auc - np.sqrt(max(variance, 0.0))), int(rare)


def leakage_suspects(x: pd.DataFrame, y: np.ndarray, kind: str) -> tuple[dict[str, str], dict[str, str]]:
    """Features that alone nearly give the target (AUC or |corr| above 0.98), read on the training
    side only: a column filled in after the outcome (the claim amount, the collection status).
    Returns the suspects to exclude, and the columns above the limit kept because too few rows back
    it (each with a warning)."""
    rows = np.arange(len(x))
    if len(rows) > LEAK_SAMPLE:
        rows = np.sort(np.random.default_rng(0).choice(len(rows), LEAK_SAMPLE, replace=False))
    sample, target = x.iloc[rows], np.asarray(y, dtype=float)[rows]
    suspects, kept = {}, {}
    for name in x.columns:
        values = _as_numbers(sample[name], target)
        if values is None:
            continue
        strength, measure = leak_strength(values, target, kind)
        if strength <= LEAK_LIMIT:
            continue
        bound, rows_behind = leak_lower_bound(strength, target, kind)
        if bound > LEAK_LIMIT:
            suspects[name] = (
                f"a leakage suspect: alone it gives the target ({measure} {strength:.3f} > {LEAK_LIMIT}); "
                "a column known only after the outcome?"
            )
        else:
            what = "rows" if kind == "regression" else "rows of the rarer class"
            kept[name] = (
                f"`{name}` kept, though alone it gives the target ({measure} {strength:.3f} > {LEAK_LIMIT}): "
                f"{rows_behind} training {what} are too few to tell a leak from a strong feature; drop it "
                "if it is known only after the outcome"
            )
    return suspects, kept


def row_keys(frame: pd.DataFrame) -> pd.Series:
    """A stable key per row from its content, for tables without an id column."""
    return pd.Series(pd.util.hash_pandas_object(frame, index=False).to_numpy().astype(np.uint64).astype(str))
