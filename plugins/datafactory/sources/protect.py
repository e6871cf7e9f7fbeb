"""Applies a feed's personal-data policy before anything reaches the raw zone.

Actions per column (`pii:` in sources/<feed>.yaml):
- `pseudonymize`: the value becomes its keyed HMAC-SM3 pseudonym;
- `encrypt`: the value becomes an SM4-GCM token (kept, recoverable only with the key);
- `pseudonymize_and_encrypt`: the pseudonym in the column plus the SM4 token in `<column>_sm4`.
`validate: resident_id | mobile` adds `<column>_valid` (1/0), computed on the raw value, because
nothing downstream can check an identifier's check character once it is pseudonymized.

Each value is first normalized as its column declares (NFKC, case, trimming), so a full-width or
lower-case-x resident ID gets the same check verdict and the same pseudonym as its plain form:
pseudonyms stay joinable across providers that write the same person differently.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

from datafactory.quality.parsing import parse_column
from datafactory.sources.pseudonymize import encrypt_column, pseudonymize_column
from datafactory.sources.validators import VALIDATORS
from datafactory.specs import ColumnSpec, SourceSpec


@dataclass(frozen=True)
class PiiRule:
    column: str
    action: str
    validate: str | None = None
    declared: ColumnSpec | None = None  # how the raw text is normalized first (None: trimmed only)


def pii_rules(spec: SourceSpec) -> list[PiiRule]:
    """The feed's personal fields; the spec model has already checked actions, checks and columns."""
    return [PiiRule(column, rule.action, rule.validate_as, spec.columns[column]) for column, rule in spec.pii.items()]


def _normalized(values: pd.Series, declared: ColumnSpec) -> pd.Series:
    """Text as the column declares it (a personal field is always text), Arrow-backed; nulls stay null."""
    return parse_column(_as_text(values), declared.model_copy(update={"kind": "string"})).values


def _as_text(values: pd.Series) -> pd.Series:
    """The values as Arrow text in one C-level conversion when they are text already (the usual case);
    otherwise each present value as the text `str` prints. Nulls (None, NaN, NA) stay null."""
    if isinstance(values.dtype, pd.StringDtype) or values.dtype == object:
        try:
            text = pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
        except (pa.ArrowException, TypeError, ValueError):  # numbers or dates among the values
            pass
        else:
            return pd.Series(pd.arrays.ArrowStringArray(text), index=values.index)
    present = values.notna().to_numpy()
    text = [str(v) if keep else None for v, keep in zip(values.to_numpy(dtype=object), present, strict=True)]
    return pd.Series(pd.arrays.ArrowStringArray(pa.array(text, type=pa.string())), index=values.index)


def protect(frame: pd.DataFrame, rules: list[PiiRule], pseudonym_key: bytes, sm4_key: bytes | None) -> pd.DataFrame:
    out = frame.copy(deep=False)  # columns are replaced whole, never written into: the caller's frame stays as it is
    for rule in rules:
        if rule.column not in out:
            continue
        raw = _normalized(out[rule.column], rule.declared or ColumnSpec(kind="string"))
        if rule.validate:
            valid = VALIDATORS[rule.validate](raw).astype("Int64")
            out[f"{rule.column}_valid"] = valid.where(raw.notna())
        if rule.action != "pseudonymize":
            if sm4_key is None:
                raise ValueError(f"column {rule.column} must be SM4-encrypted but no SM4 key was given")
            target = rule.column if rule.action == "encrypt" else f"{rule.column}_sm4"
            out[target] = encrypt_column(raw.astype(object).where(raw.notna(), None), sm4_key, context=rule.column)
        if rule.action != "encrypt":
            out[rule.column] = pseudonymize_column(raw, pseudonym_key)
    return out
