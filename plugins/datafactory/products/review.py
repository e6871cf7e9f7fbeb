"""Output review (出域审核): nothing personal, nothing re-identifying leaves the domain. Pure functions.

Every product is scanned for
- resident IDs, by check character (an 18-digit shape alone is not an ID), whole or inside text;
- mainland mobile numbers, whole or inside text;
- names from the registry. Person names are pseudonymized at ingest, so the domain holds no list of
  raw names: each candidate value is pseudonymized with the domain key and looked up among the
  pseudonyms of every personal field (legal representatives, patients, ...). Whole columns of
  name-shaped values (a surname plus one to three characters) are caught even when unknown;
- in-domain pseudonyms and SM4 tokens, which are personal data too (only the product's declared
  pseudonymous key may carry pseudonyms);
- enterprise names from the registry, unless the PII policy allows them;
- raw addresses: registry addresses and anything shaped like a street address with a number;
- for aggregates, groups smaller than k that still carry their protected measures.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from datafactory.domain.identifiers import is_valid_resident_id, is_valid_uscc

_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
# Bounded by anything but letters and digits, so a run of digits inside a hex pseudonym is no phone.
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)86)?1[3-9]\d{9}(?![0-9A-Za-z])")
_PSEUDONYM = re.compile(r"p_[0-9a-f]{32}")
_SM4_TOKEN = "sm4gcm:"
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,}(?:路|街|道|巷|弄|村|镇|乡|里|大道|街道)\s*\d+\s*(?:号|弄|栋|幢|室|单元)")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_PERSONAL_SHAPE = re.compile(r"[\u4e00-\u9fff]|\d{11,18}")  # could be a name, an ID or a phone
_TOKEN_SPLIT = re.compile(r"[;；,，、\s|/()（）:：]+")
# The most common Chinese surnames (about 85% of the population), single and compound.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
) | frozenset(["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙"])
# GB/T 2260 province codes: the first two digits of every resident ID.
PROVINCES = frozenset(
    str(code) for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51)
) | frozenset(str(code) for code in (52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82))
NAME_COLUMN_SHARE = 0.5  # a column is a name column when at least half its values look like names
SAMPLES = 3


@dataclass(frozen=True)
class Finding:
    check: str
    column: str | None
    rows: int
    message: str
    first_rows: list[int] = field(default_factory=list)  # where to look; never the values themselves


@dataclass
class ReviewResult:
    passed: bool
    findings: list[Finding]
    rows: int
    columns: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "rows": self.rows,
            "columns": self.columns,
            "findings": [asdict(f) for f in self.findings],
        }

    def reasons(self) -> list[str]:
        return [f"{f.column + ': ' if f.column else ''}{f.message}" for f in self.findings]


@dataclass(frozen=True)
class Dictionaries:
    """What the domain knows of people and registry entries, in the form the domain holds it."""

    personal_pseudonyms: frozenset[str] = frozenset()  # of names, IDs and phones, keyed HMAC-SM3
    pseudonymize: Callable[[str], str] | None = None  # the same keyed function
    company_names: frozenset[str] = frozenset()
    addresses: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Policy:
    allowed_columns: list[str]
    forbidden_columns: list[str] = field(default_factory=list)
    pseudonymous_key: str | None = None
    company_names: bool = False
    k: int = 5
    groups: list[tuple[str, list[str]]] = field(default_factory=list)  # (size column, protected columns)


def _first_rows(mask: pd.Series) -> list[int]:
    return [int(i) for i in mask.index[mask.to_numpy()][:SAMPLES]]


def _tokens(text: str) -> list[str]:
    return [t for t in _TOKEN_SPLIT.split(text) if t]


def _row_text(column: pd.Series) -> pd.Series:
    """Each non-null value as text, index kept; integral numbers too, since an ID or a phone can hide there."""
    values = column.dropna()
    if pd.api.types.is_bool_dtype(values):
        return pd.Series([], dtype=object)
    if pd.api.types.is_float_dtype(values):
        values = values[values == values.round()].astype("int64")
    return values.astype(str)


def is_resident_id(value: str) -> bool:
    """A GB 11643 ID: right check character, a real province (GB/T 2260) and a birth year from 1900.
    The check character alone lets about one enterprise code in 200 through (birth year 0100)."""
    value = value.upper()
    return value[:2] in PROVINCES and "1900" <= value[6:10] <= "2099" and is_valid_resident_id(value)


def _has_resident_id(text: str) -> bool:
    return any(is_resident_id(m.group()) for m in _ID_IN_TEXT.finditer(text))


def _looks_like_name(text: str) -> bool:
    return bool(_CJK_NAME.fullmatch(text)) and (text[0] in SURNAMES or text[:2] in SURNAMES)


def _where(values: pd.Series, pattern: re.Pattern | str, test: Callable[[str], bool] | None = None) -> pd.Series:
    """Values matching `pattern` (a C-speed prefilter), then passing `test` when given."""
    mask = values.str.contains(pattern, regex=isinstance(pattern, re.Pattern)).astype(bool)
    if test is not None and mask.any():
        mask[mask] = values[mask].map(test).astype(bool).to_numpy()
    return mask


def _in_dictionary(values: pd.Series, words: frozenset[str]) -> pd.Series:
    mask = values.isin(words)
    compound = ~mask & values.str.contains(_TOKEN_SPLIT).astype(bool)
    if words and compound.any():
        mask[compound] = values[compound].map(lambda t: any(x in words for x in _tokens(t))).astype(bool).to_numpy()
    return mask


def _registry_persons(values: pd.Series, dicts: Dictionaries) -> pd.Series:
    """Values (or their tokens) whose keyed pseudonym is a registry person's. Only text that can be a
    name, an ID or a phone (Chinese characters, or 11 to 18 digits) is hashed; enterprise codes are not."""
    if dicts.pseudonymize is None or not dicts.personal_pseudonyms:
        return pd.Series(False, index=values.index)
    known, pseudonymize = dicts.personal_pseudonyms, dicts.pseudonymize
    return _where(
        values,
        _PERSONAL_SHAPE,
        lambda t: any(
            pseudonymize(c) in known for c in {t, *_tokens(t)} if _PERSONAL_SHAPE.search(c) and not is_valid_uscc(c)
        ),
    )


def _value_checks(policy: Policy, dicts: Dictionaries, column: str) -> dict[str, tuple[Callable, str]]:
    """Each check: (distinct values -> mask of offending values, what the offending values carry)."""
    checks: dict[str, tuple[Callable[[pd.Series], pd.Series], str]] = {
        "resident_id": (lambda v: _where(v, _ID_IN_TEXT, _has_resident_id), "resident ID(s), valid check character"),
        "mobile": (lambda v: _where(v, _MOBILE_IN_TEXT), "mobile number(s)"),
        "person_name": (
            lambda v: _registry_persons(v, dicts),
            "name(s), ID(s) or phone(s) of persons in the registry",
        ),
        "encrypted": (lambda v: _where(v, _SM4_TOKEN), "SM4-encrypted personal value(s)"),
        "address": (lambda v: _in_dictionary(v, dicts.addresses) | _where(v, _ADDRESS), "raw address(es)"),
    }
    if column != policy.pseudonymous_key:
        checks["pseudonym"] = (lambda v: _where(v, _PSEUDONYM), "in-domain personal pseudonym(s)")
    if not policy.company_names:
        checks["company_name"] = (
            lambda v: _in_dictionary(v, dicts.company_names),
            "enterprise name(s) from the registry",
        )
    return checks


def _scan_column(frame: pd.DataFrame, column: str, policy: Policy, dicts: Dictionaries) -> list[Finding]:
    as_text = _row_text(frame[column])
    if as_text.empty:
        return []
    distinct = pd.Series(as_text.unique(), dtype=object)
    findings = []
    for check, (test, what) in _value_checks(policy, dicts, column).items():
        hits = distinct[test(distinct)]
        if len(hits):
            mask = as_text.isin(set(hits))
            rows = int(mask.sum())
            findings.append(Finding(check, column, rows, f"{rows} row(s) carry {what}", _first_rows(mask)))
    name_shaped = distinct[distinct.map(_looks_like_name)]
    if len(name_shaped) and len(name_shaped) >= NAME_COLUMN_SHARE * len(distinct):
        mask = as_text.isin(set(name_shaped))
        rows = int(mask.sum())
        findings.append(
            Finding("person_name", column, rows, f"{rows} row(s) look like personal names", _first_rows(mask))
        )
    return findings


def _small_groups(frame: pd.DataFrame, policy: Policy) -> list[Finding]:
    findings = []
    for size_column, protected in policy.groups:
        size = pd.to_numeric(frame[size_column], errors="coerce")
        small = size.notna() & (size < policy.k)
        if protected:
            present = [c for c in protected if c in frame]
            small &= frame[present].notna().any(axis=1) if present else False
        rows = int(small.sum())
        if rows:
            what = f"still carry {', '.join(protected)}" if protected else "are published"
            findings.append(
                Finding(
                    "small_group",
                    size_column,
                    rows,
                    f"{rows} row(s) describe groups smaller than k={policy.k} and {what}",
                    _first_rows(small),
                )
            )
    return findings


def review_table(frame: pd.DataFrame, policy: Policy, dicts: Dictionaries | None = None) -> ReviewResult:
    dicts = dicts or Dictionaries()
    findings = []
    extra = [c for c in frame.columns if c not in policy.allowed_columns]
    if extra:
        findings.append(Finding("columns", None, len(frame), f"columns not in the product schema: {extra}"))
    forbidden = [c for c in frame.columns if c in set(policy.forbidden_columns)]
    if forbidden:
        findings.append(Finding("columns", None, len(frame), f"forbidden personal columns present: {forbidden}"))
    for column in frame.columns:
        findings += _scan_column(frame, column, policy, dicts)
    findings += _small_groups(frame, policy)
    return ReviewResult(not findings, findings, len(frame), [str(c) for c in frame.columns])
