"""Turns one delivered column into typed values, value by value, as its `ColumnSpec` declares. Pure.

Vectorized (Arrow compute and numpy over the whole column), but each value's fate depends on that
value alone: a value is read by the first declared form that reads it, never by the shape of other
rows, so sorting, sampling or splitting a delivery changes nothing.

Rules, per kind (text is trimmed of whitespace, incl. U+3000 and NBSP; empty text is missing):
- every kind but string is NFKC-normalized first (full-width digits and punctuation become ASCII);
  only values that are not pure ASCII pay for it;
- date: the declared forms (default "iso": YYYY-MM-DD, or a date-time exactly at midnight as
  spreadsheets and CSV exports write dates); a time other than midnight is not a date;
- timestamp: default "iso": YYYY-MM-DD, then T or a space, HH:MM[:SS[.fraction]], then an optional Z
  or ±HH[:MM] offset; a bare date is midnight. Values with an offset, and epoch forms (UTC by
  definition), become naive China time (UTC+8): the factory's timestamps are naive local time;
- int/float: optional sign, digits with optional thousands separators (1,234.50), fraction and
  exponent; a declared unit suffix converts to the column's unit. NaN and inf are not numbers. An int
  takes an integral value written with a fraction ("3.0") and rejects any other ("1.5": never truncated);
- bool: the declared true/false words, ignoring case;
- string: NFKC and letter case only when declared (codes, identifiers); free text is only trimmed.
Values already typed upstream (numbers, dates, datetimes, booleans from a database) are taken as
they are, with the same range checks.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datafactory.quality import forms
from datafactory.specs.feed import ColumnSpec

# Trimmed around every value: ASCII whitespace, NBSP, the en/em spaces, ideographic space, zero-width
# space and a stray byte-order mark.
WHITESPACE = " \t\n\r\x0b\x0c\x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff" + "".join(
    map(chr, range(0x2000, 0x200C))
)
NUMBER = forms.NUMBER
EXACT_INT = r"^[+-]?[0-9]{1,18}$"  # read as int64 directly, so large integers keep every digit
NS_PER_DAY = 86_400 * 10**9
CHINA_NS = int(forms.CHINA_UTC_OFFSET.total_seconds()) * 10**9
EXCEL_EPOCH_DAYS = (np.datetime64(forms.EXCEL_EPOCH, "D") - np.datetime64("1970-01-01", "D")).astype(np.int64)
_KIND_WORDS = {"date": "a date", "timestamp": "a timestamp", "int": "an integer", "float": "a number"}


@dataclass(frozen=True)
class Parsed:
    values: pd.Series  # typed (Int64, float64, datetime64[ns], boolean, string); NA where missing or unreadable
    failed: np.ndarray  # bool per row: a value was present but matched no declared form
    reason: str  # "<column>: expected ..." for the failed rows


def as_spec(declared: ColumnSpec | str) -> ColumnSpec:
    return declared if isinstance(declared, ColumnSpec) else ColumnSpec(kind=declared)  # type: ignore[arg-type]


def expected(column: str, spec: ColumnSpec) -> str:
    """The reason an unreadable value gets: the column and the forms it accepts. Never holds '; '."""
    if spec.kind in ("date", "timestamp"):
        text = f"{_KIND_WORDS[spec.kind]} as {' or '.join(spec.forms)}"
    elif spec.kind == "bool":
        text = f"a boolean as {'/'.join(spec.true_values)} or {'/'.join(spec.false_values)}"
    elif spec.kind == "string":
        text = "text"
    else:
        text = _KIND_WORDS[spec.kind]
        if spec.unit:
            text += f" in {spec.bare_unit or spec.unit}"
        if spec.accept_units:
            text += f", bare or with a unit {', '.join(spec.accept_units)}"
    return f"{column}: expected {text}".replace(";", ",")


def parse_column(values: pd.Series, declared: ColumnSpec | str, column: str = "value") -> Parsed:
    spec = as_spec(declared)
    present = values.notna().to_numpy(dtype=bool)
    typed, ok = _parse(values, spec)
    failed = present & ~ok
    return Parsed(pd.Series(typed, index=values.index), failed, expected(column, spec))


def parse_frame(frame: pd.DataFrame, columns: Mapping[str, ColumnSpec | str]) -> dict[str, Parsed]:
    return {c: parse_column(frame[c], spec, c) for c, spec in columns.items() if c in frame.columns}


# ---- dispatch: typed values stay typed, text is parsed ------------------------------------------------


def _parse(values: pd.Series, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    """Typed values (an array for the Series) and, per row, whether it is present and read."""
    if spec.kind == "string":
        return _strings(values, spec)
    if _typed_fits(values.dtype, spec.kind):
        return _native(values, spec)
    if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred in ("string", "empty"):
            return _text(_arrow_text(values), spec)
        if _native_fits(inferred, spec.kind):
            return _native(values, spec)
        # Text beside typed values (a spreadsheet, a patched row): each value read by its own type.
        is_text = np.fromiter((isinstance(v, str) for v in values.to_numpy()), dtype=bool, count=len(values))
        if is_text.any():
            return _split(values, is_text, spec)
    # Anything else (numbers in a date column, dates in a number column): read as the text it prints.
    texts = pd.Series([None if v is None or v is pd.NA or v != v else str(v) for v in values.to_numpy()])
    return _text(_arrow_text(texts), spec)


def _typed_fits(dtype, kind: str) -> bool:
    if pd.api.types.is_bool_dtype(dtype):
        return kind in ("bool", "int", "float")
    if pd.api.types.is_numeric_dtype(dtype):
        return kind in ("int", "float")
    return pd.api.types.is_datetime64_any_dtype(dtype) and kind in ("date", "timestamp")


def _native_fits(inferred: str, kind: str) -> bool:
    if kind in ("date", "timestamp"):
        return inferred in ("date", "datetime", "datetime64")
    if kind in ("int", "float"):
        return inferred in ("integer", "floating", "mixed-integer-float", "decimal", "boolean")
    return kind == "bool" and inferred == "boolean"


def _split(values: pd.Series, is_text: np.ndarray, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    positions = np.arange(len(values))
    text_values, text_ok = _parse(values[is_text].astype(object), spec)
    other_values, other_ok = _parse(values[~is_text].astype(object).infer_objects(), spec)
    joined = pd.concat(
        [pd.Series(text_values, index=positions[is_text]), pd.Series(other_values, index=positions[~is_text])]
    ).sort_index()
    ok = np.zeros(len(values), dtype=bool)
    ok[is_text], ok[~is_text] = text_ok, other_ok
    return joined.array, ok


def _native(values: pd.Series, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    """Values that arrived typed: same kinds of checks as text, no text rules."""
    present = values.notna().to_numpy(dtype=bool)
    if spec.kind in ("date", "timestamp"):
        stamps = pd.to_datetime(values, errors="coerce")  # date/datetime objects: nothing to infer
        if getattr(stamps.dt, "tz", None) is not None:
            stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None) + pd.Timedelta(forms.CHINA_UTC_OFFSET)
        ns = stamps.to_numpy(dtype="datetime64[ns]")
        ok = present & ~np.isnat(ns)
        if spec.kind == "date":
            ok &= ns.astype(np.int64) % NS_PER_DAY == 0
        return np.where(ok, ns, np.datetime64("NaT", "ns")), ok
    if spec.kind == "bool":
        return values.astype("boolean").array, present
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    scale = _bare_factor(spec)
    if scale != 1.0:
        numbers = numbers * scale
    ok = present & np.isfinite(numbers)
    if spec.kind == "float":
        return np.where(ok, numbers, np.nan), ok
    if pd.api.types.is_integer_dtype(values.dtype) and scale == 1.0:
        return values.astype("Int64").array, present
    return _integers(numbers, ok)


def _integers(numbers: np.ndarray, ok: np.ndarray) -> tuple[object, np.ndarray]:
    """Integral values as Int64; a fraction is refused, never truncated."""
    ok = ok & (np.abs(numbers) < 2.0**63) & (numbers == np.round(numbers))
    whole = np.where(ok, numbers, 0).astype(np.int64)
    return pd.arrays.IntegerArray(whole, ~ok), ok


# ---- text ---------------------------------------------------------------------------------------------


def _arrow_text(values: pd.Series) -> pa.Array:
    if isinstance(values.array, pd.arrays.ArrowStringArray):
        return pa.array(values.array).cast(pa.string())
    return pa.array(values.to_numpy(dtype=object), type=pa.string(), from_pandas=True)


def clean(arr: pa.Array, nfkc: bool) -> pa.Array:
    """NFKC (values that are not pure ASCII only) and trimmed; empty text becomes missing."""
    if nfkc and len(arr):
        wide = pc.fill_null(pc.invert(pc.string_is_ascii(arr)), False)
        if pc.any(wide).as_py():
            picked = pc.filter(arr, wide).to_pylist()
            normalized = pa.array([unicodedata.normalize("NFKC", v) for v in picked], type=pa.string())
            arr = pc.replace_with_mask(arr, wide, normalized)
    arr = pc.utf8_trim(arr, characters=WHITESPACE)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.string()), arr)


def _text(arr: pa.Array, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    """Typed values and, per row, whether it was read or is missing (blank text is missing, not bad)."""
    arr = clean(arr, spec.normalize != "none")
    blank = pc.is_null(arr).to_numpy(zero_copy_only=False)
    if spec.kind in ("date", "timestamp"):
        ns, ok = _moments(arr, spec)
        return np.where(ok, ns, np.iinfo(np.int64).min).view("datetime64[ns]"), ok | blank
    typed, ok = _booleans(arr, spec) if spec.kind == "bool" else _numbers(arr, spec)
    return typed, ok | blank


def _strings(values: pd.Series, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    arr = _arrow_text(values.astype("string[pyarrow]"))
    arr = clean(arr, spec.normalize == "nfkc")
    if spec.case == "upper":
        arr = pc.utf8_upper(arr)
    elif spec.case == "lower":
        arr = pc.utf8_lower(arr)
    return pd.arrays.ArrowStringArray(arr), np.ones(len(values), dtype=bool)


def _matches(arr: pa.Array, regex: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(arr, regex), False).to_numpy(zero_copy_only=False)


def _booleans(arr: pa.Array, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    folded = pc.utf8_lower(arr)
    yes = pc.fill_null(pc.is_in(folded, pa.array(sorted({forms.fold(w) for w in spec.true_values}))), False)
    no = pc.fill_null(pc.is_in(folded, pa.array(sorted({forms.fold(w) for w in spec.false_values}))), False)
    yes_np, no_np = yes.to_numpy(zero_copy_only=False), no.to_numpy(zero_copy_only=False)
    ok = yes_np | no_np
    return pd.arrays.BooleanArray(yes_np, ~ok), ok


def _bare_factor(spec: ColumnSpec) -> float:
    if not spec.unit or not spec.bare_unit:
        return 1.0
    return _unit_factor(spec.bare_unit, spec) / _unit_factor(spec.unit, spec)


def _unit_factor(unit: str, spec: ColumnSpec) -> float:
    """Size of `unit` in its family's base unit; a multiplier (万) is that many bare units."""
    folded = forms.fold(unit)
    if folded in forms.UNITS:
        return forms.UNITS[folded][1]
    bare = forms.fold(spec.bare_unit or spec.unit or "")
    return forms.MULTIPLIERS[folded] * (forms.UNITS[bare][1] if bare in forms.UNITS else 1.0)


def _numbers(arr: pa.Array, spec: ColumnSpec) -> tuple[object, np.ndarray]:
    n = len(arr)
    units = sorted({forms.fold(u) for u in spec.accept_units}, key=len, reverse=True)
    arr = pc.replace_substring(arr, "\u2212", "-")  # the minus sign NFKC leaves alone
    suffix = "(?i:" + "|".join(_re2_escape(u) for u in units) + ")" if units else None
    regex = f"^(?P<number>{NUMBER})" + (f"[ ]*(?P<unit>{suffix})?$" if suffix else "$")
    parts = pc.extract_regex(arr, regex)
    matched = pc.fill_null(pc.is_valid(parts), False)
    number = pc.if_else(matched, pc.struct_field(parts, "number"), pa.scalar(None, pa.string()))
    digits = pc.replace_substring_regex(pc.replace_substring(number, ",", ""), "^[+]", "")
    values = pc.cast(pc.fill_null(digits, "0"), pa.float64()).to_numpy(zero_copy_only=False).copy()
    ok = matched.to_numpy(zero_copy_only=False) & np.isfinite(values)
    column_unit = _unit_factor(spec.unit, spec) if spec.unit else 1.0
    factor = np.full(n, _bare_factor(spec))
    if suffix:
        unit = pc.utf8_lower(pc.struct_field(parts, "unit"))
        for name in units:
            hit = pc.fill_null(pc.equal(unit, name), False).to_numpy(zero_copy_only=False)
            factor[hit] = _unit_factor(name, spec) / column_unit
    # Scaled values are rounded to 6 decimals, so "0.0003万" is 3, not 2.9999999999999996.
    scaled = np.where(factor != 1.0, np.round(values * factor, 6), values)
    ok &= np.isfinite(scaled)
    if spec.kind == "float":
        return np.where(ok, scaled, np.nan), ok
    exact = _matches(digits, EXACT_INT) & (factor == 1.0)
    whole, whole_ok = _integers(scaled, ok & ~exact)
    if exact.any():  # plain integers straight to int64: no float rounding above 2**53
        data = whole.to_numpy(dtype="int64", na_value=0)
        data[exact] = pc.cast(pc.filter(digits, pa.array(exact)), pa.int64()).to_numpy()
        whole_ok = whole_ok | exact
        whole = pd.arrays.IntegerArray(data, ~whole_ok)
    return whole, whole_ok & ok


def _re2_escape(text: str) -> str:
    return "".join(f"\\{c}" if not c.isalnum() and ord(c) < 128 else c for c in text)


# ---- dates and timestamps -----------------------------------------------------------------------------

NAIVE_ISO = "^" + forms.ISO_DATE + forms.ISO_TIME + "$"
DATE_ISO = "^[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ]00:00(?::00(?:[.]0{1,9})?)?)?$"


def _moments(arr: pa.Array, spec: ColumnSpec) -> tuple[np.ndarray, np.ndarray]:
    """Nanoseconds (naive China time) and whether each value was read: forms in declared order, each
    applied only to the values no earlier form read."""
    n = len(arr)
    ns = np.zeros(n, dtype=np.int64)
    done = np.zeros(n, dtype=bool)
    pending = pc.is_valid(arr).to_numpy(zero_copy_only=False)
    for name in spec.forms:
        rows = np.flatnonzero(pending & ~done)
        if not len(rows):
            break
        sub = arr.take(pa.array(rows))
        form = forms.compile_format(spec.kind, name)
        values, ok = _read_form(sub, form)
        ns[rows[ok]] = values[ok]
        done[rows[ok]] = True
    return ns, done


def _read_form(arr: pa.Array, form: forms.DateForm) -> tuple[np.ndarray, np.ndarray]:
    if not form.components:
        return _read_number_form(arr, form)
    if form.name == "iso":
        return _read_iso(arr, form)
    return _read_components(arr, form.regex, form.kind)


def _read_iso(arr: pa.Array, form: forms.DateForm) -> tuple[np.ndarray, np.ndarray]:
    """The common case fast: naive ISO values through pandas' ISO 8601 reader (per value, in C), only
    after the regex has admitted them; values with an offset through the component reader."""
    n = len(arr)
    ns = np.zeros(n, dtype=np.int64)
    ok = np.zeros(n, dtype=bool)
    naive = _matches(arr, DATE_ISO if form.kind == "date" else NAIVE_ISO)
    if naive.any():
        text = pc.filter(arr, pa.array(naive))
        if form.kind == "date":
            text = pc.utf8_slice_codeunits(text, 0, 10)
        read = pd.to_datetime(pd.Series(text.to_numpy(zero_copy_only=False)), format="ISO8601", errors="coerce")
        stamps = read.to_numpy(dtype="datetime64[ns]")
        good = ~np.isnat(stamps) & _in_range(stamps)
        rows = np.flatnonzero(naive)
        ns[rows[good]] = stamps[good].astype(np.int64)
        ok[rows[good]] = True
    rest = np.flatnonzero(~naive)
    if form.kind == "timestamp" and len(rest):
        values, good = _read_components(arr.take(pa.array(rest)), form.regex, form.kind)
        ns[rest[good]] = values[good]
        ok[rest[good]] = True
    return ns, ok


def _in_range(stamps: np.ndarray) -> np.ndarray:
    years = stamps.astype("datetime64[Y]").astype(np.int64) + 1970
    return (years >= 1700) & (years <= 2261)


def _field(parts: pa.StructArray, name: str, width: int | None = None) -> np.ndarray:
    """A captured group as int64; a group that did not take part reads as 0."""
    values = pc.fill_null(pc.struct_field(parts, name), "")
    if width:  # a fraction: right-pad to nanoseconds
        values = pc.utf8_rpad(pc.utf8_slice_codeunits(values, 0, width), width, "0")
    values = pc.if_else(pc.equal(values, ""), "0", values)
    return pc.cast(values, pa.int64()).to_numpy(zero_copy_only=False)


def _read_components(arr: pa.Array, regex: str, kind: str) -> tuple[np.ndarray, np.ndarray]:
    parts = pc.extract_regex(arr, regex)
    matched = pc.fill_null(pc.is_valid(parts), False).to_numpy(zero_copy_only=False)
    names = {f.name for f in parts.type}
    fields = [
        _field(parts, name, 9 if name == "fraction" else None) if name in names else np.zeros(len(arr), np.int64)
        for name in ("year", "month", "day", "hour", "minute", "second", "fraction")
    ]
    ns, ok = assemble(*fields)
    ok &= matched
    if "offset" in names:
        offset = _offsets(pc.struct_field(parts, "offset"))
        has = ~np.isnan(offset)
        ns = np.where(has, ns - np.nan_to_num(offset).astype(np.int64) * 60 * 10**9 + CHINA_NS, ns)
        ok &= _in_range(ns.view("datetime64[ns]"))
    if kind == "date":
        ok &= ns % NS_PER_DAY == 0
    return ns, ok


def _offsets(text: pa.Array) -> np.ndarray:
    """Minutes east of UTC per value; NaN where the value had no offset."""
    text = pc.fill_null(text, "")
    digits = pc.replace_substring(pc.utf8_slice_codeunits(text, 1, 10), ":", "")
    hours = _int_or_zero(pc.utf8_slice_codeunits(digits, 0, 2))
    minutes = _int_or_zero(pc.utf8_slice_codeunits(digits, 2, 4))
    sign = np.where(pc.starts_with(text, "-").to_numpy(zero_copy_only=False), -1, 1)
    out = (sign * (hours * 60 + minutes)).astype(float)
    out[pc.equal(text, "").to_numpy(zero_copy_only=False)] = np.nan
    return out


def _int_or_zero(text: pa.Array) -> np.ndarray:
    return pc.cast(pc.if_else(pc.equal(text, ""), "0", text), pa.int64()).to_numpy(zero_copy_only=False)


def assemble(year, month, day, hour, minute, second, nanos) -> tuple[np.ndarray, np.ndarray]:
    """Calendar fields to nanoseconds since 1970, with every field's range checked (Feb 30 fails)."""
    ok = (year >= 1700) & (year <= 2261) & (month >= 1) & (month <= 12) & (day >= 1)
    ok &= (hour < 24) & (minute < 60) & (second < 60)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0).astype("datetime64[M]")
    first = months.astype("datetime64[D]").astype(np.int64)
    length = (months + 1).astype("datetime64[D]").astype(np.int64) - first
    ok &= day <= length
    days = np.where(ok, first + day - 1, 0)
    ns = days * NS_PER_DAY + ((hour * 60 + minute) * 60 + second) * 10**9 + nanos
    return np.where(ok, ns, 0), ok


def _read_number_form(arr: pa.Array, form: forms.DateForm) -> tuple[np.ndarray, np.ndarray]:
    matched = _matches(arr, forms.number_regex(form))
    text = pc.if_else(pa.array(matched), arr, "0")
    if form.name == "epoch_ms":
        ms = pc.cast(text, pa.int64()).to_numpy(zero_copy_only=False)
        ok = matched & (ms < 9 * 10**12)
        ns = np.where(ok, ms, 0) * 10**6 + CHINA_NS
    elif form.name == "epoch_s":
        parts = pc.extract_regex(text, "^(?P<whole>[0-9]+)(?:[.](?P<fraction>[0-9]+))?$")
        whole = _field(parts, "whole")
        ok = matched & (whole < 9 * 10**9)
        ns = np.where(ok, whole, 0) * 10**9 + _field(parts, "fraction", 9) + CHINA_NS
    else:  # excel_serial: days since 1899-12-30; before serial 60 one more (Lotus's phantom 1900-02-29)
        serial = pc.cast(text, pa.float64()).to_numpy(zero_copy_only=False)
        ok = matched & (serial >= 1) & (serial < forms.EXCEL_LAST) & (np.floor(serial) != 60)
        days = np.where(serial < 60, serial + 1, serial) + EXCEL_EPOCH_DAYS
        ms = np.round(np.where(ok, days, 0) * 86_400_000).astype(np.int64)  # Excel keeps milliseconds
        ns = ms * 10**6
    ns = np.where(ok, ns, 0)
    if form.kind == "date":
        ok &= ns % NS_PER_DAY == 0
    return ns, ok
