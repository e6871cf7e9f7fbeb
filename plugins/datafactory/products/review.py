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

from datafactory.domain.identifiers import is_valid_resident_id

_ID_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
# Bounded by anything but letters and digits, so a run of digits inside a hex pseudonym is no phone.
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9A-Za-z])(?:(?:\+|00)86)?1[3-9]\d{9}(?![0-9A-Za-z])")
_PSEUDONYM = re.compile(r"p_[0-9a-f]{32}")
_SM4_TOKEN = "sm4gcm:"
_ADDRESS = re.compile(r"[\u4e00-\u9fff]{2,}(?:路|街|道|巷|弄|村|镇|乡|里|大道|街道)\s*\d+\s*(?:号|弄|栋|幢|室|单元)")
_CJK_NAME = re.compile(r"[\u4e00-\u9fff]{2,4}")
_TOKEN_SPLIT = re.compile(r"[;；,，、\s|/()（）:：]+")
# The most common Chinese surnames (about 85% of the population), single and compound.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
) | frozenset(["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙"])
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


def _has_resident_id(text: str) -> bool:
    return any(is_valid_resident_id(m.group().upper()) for m in _ID_IN_TEXT.finditer(text))


def _looks_like_name(text: str) -> bool:
    return bool(_CJK_NAME.fullmatch(text)) and (text[0] in SURNAMES or text[:2] in SURNAMES)


def _registry_person(text: str, dicts: Dictionaries) -> bool:
    if dicts.pseudonymize is None or not dicts.personal_pseudonyms:
        return False
    candidates = {text, *_tokens(text)}
    return any(dicts.pseudonymize(c) in dicts.personal_pseudonyms for c in candidates)


def _value_checks(policy: Policy, dicts: Dictionaries, column: str) -> dict[str, tuple[Callable[[str], bool], str]]:
    checks: dict[str, tuple[Callable[[str], bool], str]] = {
        "resident_id": (_has_resident_id, "resident ID(s), valid check character"),
        "mobile": (lambda t: bool(_MOBILE_IN_TEXT.search(t)), "mobile number(s)"),
        "person_name": (lambda t: _registry_person(t, dicts), "name(s), ID(s) or phone(s) of persons in the registry"),
        "encrypted": (lambda t: _SM4_TOKEN in t, "SM4-encrypted personal value(s)"),
        "address": (
            lambda t: t in dicts.addresses or any(x in dicts.addresses for x in _tokens(t)) or bool(_ADDRESS.search(t)),
            "raw address(es)",
        ),
    }
    if column != policy.pseudonymous_key:
        checks["pseudonym"] = (lambda t: bool(_PSEUDONYM.search(t)), "in-domain personal pseudonym(s)")
    if not policy.company_names:
        checks["company_name"] = (
            lambda t: t in dicts.company_names or any(x in dicts.company_names for x in _tokens(t)),
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
        hits = distinct[distinct.map(test)]
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
