"""Vectorized row rules for Chinese public data. Pure: a Series in, a boolean numpy mask out.

The GE metrics, the ingest-time identity flags and the benchmark's baseline all call these, so a
rule is written once. Each works on whole columns through Arrow/numpy: a per-row Python call
costs about a microsecond, which is most of a million-row validation (see bench/bench_quality.py).
"""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datafactory.domain.identifiers import USCC_ALPHABET
from datafactory.quality.parsing import parse_column

# GB 32100-2015 took effect on 2015-10-01: codes issued before it may be pilot codes whose
# check character follows no final rule. They are flagged, never rejected, on that evidence.
USCC_STANDARD_DATE = date(2015, 10, 1)
# Registering authorities of GB 32100 (position 1); 9 is market regulation.
USCC_AUTHORITIES = "123456789ANY"
# First two digits of GB/T 2260 codes: provinces, autonomous regions, municipalities, HK/MO/TW.
PROVINCE_PREFIXES = frozenset(
    [
        "11",
        "12",
        "13",
        "14",
        "15",
        "21",
        "22",
        "23",
        "31",
        "32",
        "33",
        "34",
        "35",
        "36",
        "37",
        "41",
        "42",
        "43",
        "44",
        "45",
        "46",
        "50",
        "51",
        "52",
        "53",
        "54",
        "61",
        "62",
        "63",
        "64",
        "65",
        "71",
        "81",
        "82",
    ]
)
TAX_CREDIT_GRADES = ("A", "B", "M", "C", "D")
MOBILE_PATTERN = r"^(?:(?:\+|00)86)?1[3-9][0-9]{9}$"
ICD10_PATTERN = r"^[A-Z][0-9]{2}(?:\.[0-9A-Z]{1,4})?$"
# WHO ICD-10 chapters as (first, last) three-character codes, inclusive.
ICD10_CHAPTERS: dict[str, tuple[str, str]] = {
    "I infectious": ("A00", "B99"),
    "II neoplasms": ("C00", "D48"),
    "III blood": ("D50", "D89"),
    "IV endocrine": ("E00", "E90"),
    "V mental": ("F00", "F99"),
    "VI nervous": ("G00", "G99"),
    "VII eye": ("H00", "H59"),
    "VIII ear": ("H60", "H95"),
    "IX circulatory": ("I00", "I99"),
    "X respiratory": ("J00", "J99"),
    "XI digestive": ("K00", "K93"),
    "XII skin": ("L00", "L99"),
    "XIII musculoskeletal": ("M00", "M99"),
    "XIV genitourinary": ("N00", "N99"),
    "XV pregnancy": ("O00", "O99"),
    "XVI perinatal": ("P00", "P96"),
    "XVII congenital": ("Q00", "Q99"),
    "XVIII symptoms": ("R00", "R99"),
    "XIX injury": ("S00", "T98"),
    "XX external causes": ("V01", "Y98"),
    "XXI factors": ("Z00", "Z99"),
    "XXII special": ("U00", "U85"),
}

_USCC_VALUES = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate(USCC_ALPHABET):
    _USCC_VALUES[ord(_c)] = _i
_ORG_VALUES = np.full(256, -1, dtype=np.int64)
for _i, _c in enumerate("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
    _ORG_VALUES[ord(_c)] = _i
_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)], dtype=np.int64)
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_USCC_SHAPE = "^[" + USCC_ALPHABET + "]{18}$"
_ID_SHAPE = r"^[0-9]{17}[0-9X]$"


def _strings(values: pd.Series) -> pa.Array:
    """The column as an Arrow string array; values that are not strings become null (they fail)."""
    try:
        arr = pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        arr = pa.array([v if isinstance(v, str) else None for v in values], type=pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if pa.types.is_dictionary(arr.type):  # a categorical column
        arr = arr.dictionary_decode()
    if pa.types.is_large_string(arr.type) or pa.types.is_string_view(arr.type):
        arr = arr.cast(pa.string())
    return arr if pa.types.is_string(arr.type) else pa.nulls(len(values), type=pa.string())


def _matches(arr: pa.Array, pattern: str) -> np.ndarray:
    return pc.fill_null(pc.match_substring_regex(arr, pattern), False).to_numpy(zero_copy_only=False)


def _fixed_width(arr: pa.Array, mask: np.ndarray, width: int) -> np.ndarray:
    """Bytes of the rows in `mask` (each exactly `width` ASCII characters) as an (n, width) array."""
    picked = pc.filter(arr, pa.array(mask))
    if len(picked) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    offsets = np.frombuffer(picked.buffers()[1], dtype=np.int32)[picked.offset : picked.offset + len(picked) + 1]
    data = np.frombuffer(picked.buffers()[2], dtype=np.uint8)
    return data[offsets[0] : offsets[-1]].reshape(len(picked), width)


def _datetimes(values: pd.Series) -> pd.Series:
    """Typed columns as they are; anything else read value by value as an ISO 8601 timestamp (never
    inferred from the first row), unreadable values as NaT (the type check reports those)."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        return values
    return parse_column(pd.Series(values), "timestamp").values


def _scatter(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.zeros(len(mask), dtype=bool)
    out[mask] = values
    return out


def _number(digits: np.ndarray) -> np.ndarray:
    """Rows of decimal digit values (n, k) as integers."""
    return digits @ (10 ** np.arange(digits.shape[1] - 1, -1, -1, dtype=np.int64))


_PROVINCES = np.array(sorted(int(p) for p in PROVINCE_PREFIXES))


def _known_area(area: np.ndarray, prefixes: list[str] | None) -> np.ndarray:
    """Six-digit area codes (as ints) with a real province prefix, inside `prefixes` if given."""
    known = np.isin(area // 10_000, _PROVINCES)
    if prefixes:
        inside = np.zeros(len(area), dtype=bool)
        for prefix in prefixes:
            inside |= area // 10 ** (6 - len(prefix)) == int(prefix)
        known &= inside
    return known


def _real_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, latest: date) -> np.ndarray:
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= 31) & (year >= 1900)
    start = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
    stamp = start.astype("datetime64[D]") + (np.clip(day, 1, 31) - 1).astype("timedelta64[D]")
    return ok & (stamp.astype("datetime64[M]") == start) & (stamp <= np.datetime64(latest))


def _uscc_parts(values: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(shape ok, check character ok, structure ok) for every row."""
    arr = _strings(values)
    shaped = _matches(arr, _USCC_SHAPE)
    chars = _fixed_width(arr, shaped, 18)
    vals = _USCC_VALUES[chars]
    check = (31 - (vals[:, :17] @ _USCC_WEIGHTS) % 31) % 31 == vals[:, 17]
    authority = np.isin(chars[:, 0], np.frombuffer(USCC_AUTHORITIES.encode(), dtype=np.uint8))
    area_digits = ((chars[:, 2:8] >= ord("0")) & (chars[:, 2:8] <= ord("9"))).all(axis=1)
    org = _ORG_VALUES[chars[:, 8:16]] @ _ORG_WEIGHTS
    org_check = 11 - org % 11
    expected = np.where(org_check == 10, ord("X"), np.where(org_check == 11, ord("0"), org_check + ord("0")))
    structure = authority & area_digits & (chars[:, 16] == expected)
    return shaped, _scatter(shaped, check), _scatter(shaped, structure)


def valid_uscc(values: pd.Series) -> np.ndarray:
    """GB 32100 codes: 18 characters of the 31-character alphabet and a correct check character."""
    _, check, _ = _uscc_parts(values)
    return check


def uscc_structure_ok(values: pd.Series) -> np.ndarray:
    """Well-formed codes whatever their check character: a known registering authority, a numeric
    area code and a correct GB 11714 check in the embedded organization code. Early pilot codes pass."""
    _, _, structure = _uscc_parts(values)
    return structure


def valid_uscc_or_pilot(values: pd.Series, issued: pd.Series, standard_date: date = USCC_STANDARD_DATE) -> np.ndarray:
    """Valid codes, plus well-formed codes with a failing check character whose entity dates from
    before GB 32100-2015 took effect (pilot-era codes: real, so flagged elsewhere, never rejected)."""
    _, check, structure = _uscc_parts(values)
    stamps = _datetimes(issued).to_numpy()
    early = ~np.isnat(stamps) & (stamps < np.datetime64(standard_date))
    return check | (structure & early)


def valid_resident_id(
    values: pd.Series, area_prefixes: list[str] | None = None, reference_date: date | str | None = None
) -> np.ndarray:
    """GB 11643 IDs: a known area prefix, a real birth date not after `reference_date`, a correct check."""
    arr = _strings(values)
    shaped = _matches(arr, _ID_SHAPE)
    chars = _fixed_width(arr, shaped, 18)
    digits = chars[:, :17].astype(np.int64) - ord("0")
    check = _ID_CHECK[(digits @ _ID_WEIGHTS) % 11] == chars[:, 17]
    latest = pd.Timestamp(reference_date or date.today()).date()
    born = _real_dates(_number(digits[:, 6:10]), _number(digits[:, 10:12]), _number(digits[:, 12:14]), latest)
    return _scatter(shaped, check & born & _known_area(_number(digits[:, :6]), area_prefixes))


def mainland_mobile(values: pd.Series) -> np.ndarray:
    return _matches(_strings(values), MOBILE_PATTERN)


def region_prefix(area_code: str) -> str:
    """330000 -> 33, 330200 -> 3302, 330281 -> 330281: the digits that define a region."""
    code = area_code
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


def area_code_in_regions(values: pd.Series, regions: list[str]) -> np.ndarray:
    """Six-digit GB/T 2260 county-level codes with a real province prefix, inside a configured region."""
    arr = _strings(values)
    shaped = _matches(arr, "^[0-9]{6}$")
    area = _number(_fixed_width(arr, shaped, 6).astype(np.int64) - ord("0"))
    county = area % 10_000 != 0
    return _scatter(shaped, county & _known_area(area, [region_prefix(r) for r in regions]))


def _icd10_category(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(shaped, three-character category as sortable int: letter*100 + number)."""
    shaped = _matches(arr, ICD10_PATTERN)
    head = _fixed_width(pc.utf8_slice_codeunits(arr, 0, 3), shaped, 3)
    category = (head[:, 0].astype(np.int64) - ord("A")) * 100 + (head[:, 1] - ord("0")) * 10 + (head[:, 2] - ord("0"))
    return shaped, category


def _category(code: str) -> int:
    return (ord(code[0]) - ord("A")) * 100 + int(code[1:3])


def valid_icd10(values: pd.Series, chapters: list[str] | None = None) -> np.ndarray:
    """ICD-10 codes (e.g. I10, C34.1) whose category falls in a WHO chapter (or in `chapters`)."""
    wanted = {k: v for k, v in ICD10_CHAPTERS.items() if not chapters or k.split()[0] in chapters or k in chapters}
    shaped, category = _icd10_category(_strings(values))
    inside = np.zeros(len(category), dtype=bool)
    for first, last in wanted.values():
        inside |= (category >= _category(first)) & (category <= _category(last))
    return _scatter(shaped, inside)


def icd10_chapter(code: str) -> str | None:
    """The chapter of one code, for reports; None when the code is malformed or in no chapter."""
    if not isinstance(code, str) or not re.fullmatch(ICD10_PATTERN, code):
        return None
    category = _category(code[:3])
    for name, (first, last) in ICD10_CHAPTERS.items():
        if _category(first) <= category <= _category(last):
            return name
    return None


def tax_credit_grade(values: pd.Series) -> np.ndarray:
    return pd.Series(values).isin(TAX_CREDIT_GRADES).to_numpy(dtype=bool)


def non_negative(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce")
    return (numbers >= 0).fillna(False).to_numpy(dtype=bool)


def not_in_future(values: pd.Series, reference_date: str | date) -> np.ndarray:
    """Dates on or before the reference date; values that are not dates are left to the type check."""
    stamps = _datetimes(values)
    return (stamps.isna() | (stamps < pd.Timestamp(reference_date) + pd.Timedelta(days=1))).to_numpy(dtype=bool)
