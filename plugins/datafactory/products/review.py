"""Output review (出域审核): nothing personal, nothing re-identifying leaves the domain. Pure functions.

Every value is normalized before it is matched: NFKC (full-width digits, letters and punctuation
become ASCII), separators (spaces, hyphens, dashes, dots) inside digit runs are dropped, and tokens are
compared in lower case. Then every product is scanned for
- resident IDs, whole or inside text: the 18-character form by check character (an 18-digit shape
  alone is not an ID), the 15-digit form (1984-1999) by a real province and a valid birth date yymmdd;
- mainland mobile numbers, whole or inside text, with or without +86 / 0086;
- persons of the registry. Person names are pseudonymized at ingest, so the domain holds no list of
  raw names: each candidate (a whole value, a token, a digit run shaped like an ID or a phone, and
  each surname-led 2-4 character stretch of Chinese text that ends the text or follows a label such
  as 法人) is pseudonymized with the domain key and looked up among the pseudonyms of every personal
  field, and bare 32-hex pseudonyms of the registry too. Whole columns of name-shaped values (a
  surname plus one to three characters) are caught even when unknown;
- in-domain pseudonyms (`p_<hex>`, `pN_<hex>` after a key rotation) and SM4 tokens, in any case:
  personal data too (only the product's declared pseudonymous key may carry pseudonyms);
- enterprise names from the registry, whole or inside text (not when followed by 分: a branch is
  another entity), unless the PII policy allows them;
- raw addresses: registry addresses whole or ending a stretch of text, and anything shaped like a
  street address with a number;
- for aggregates, groups smaller than k that still carry their protected measures.
Work is per distinct value, with C-speed regular expressions choosing the few values that need a
Python-level look (a check character, a date, a keyed hash).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

import pandas as pd

from datafactory.domain.identifiers import is_valid_resident_id, is_valid_uscc

# GB/T 2260 province codes: the first two digits of every resident ID.
PROVINCES = frozenset(
    str(code) for code in (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51)
) | frozenset(str(code) for code in (52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82))
_PROVINCE = "(?:" + "|".join(sorted(PROVINCES)) + ")"
_CJK = "\u4e00-\u9fff"
# Inside digit runs: what people put between groups of digits (138-1234-5678, 3305 0219 8506 1200 37).
_DIGIT_SEPARATORS = re.compile(r"(?<=\d)[\s.\-\u2010-\u2015\u00b7\u30fb]{1,3}(?=[\dXx])")
_WHITESPACE = re.compile(r"\s+")
# Bounded by anything but letters and digits (text is lower-cased first): a digit run glued to a letter
# is part of a code. Pseudonyms and SM4 tokens are masked before, so their hex is never a phone.
_ID18 = re.compile(rf"(?<![0-9a-z]){_PROVINCE}\d{{4}}(?:19|20)\d{{2}}[01]\d[0-3]\d\d{{3}}[0-9x](?![0-9a-z])")
_ID15 = re.compile(rf"(?<![0-9a-z]){_PROVINCE}\d{{4}}\d{{2}}[01]\d[0-3]\d\d{{3}}(?![0-9a-z])")
_MOBILE_IN_TEXT = re.compile(r"(?<![0-9a-z])(?:(?:\+|00)?86)?1[3-9]\d{9}(?![0-9a-z])")
_PERSON_DIGITS = re.compile(rf"(?<![0-9a-z])(?:1[3-9]\d{{9}}|{_PROVINCE}\d{{13}}(?:\d\d[0-9x])?)(?![0-9a-z])")
_PSEUDONYM = re.compile(r"p\d*_[0-9a-f]{32}")  # p_ (key 1) or pN_ (key N after a rotation)
_SM4_TOKEN = "sm4gcm:"
_TOKENS = re.compile(r"p\d*_[0-9a-f]{32}|sm4gcm:[0-9a-z_\-+/=]*")
_HEX32 = re.compile(r"(?<![0-9a-z])[0-9a-f]{32}(?![0-9a-z])")
_ADDRESS = re.compile(rf"[{_CJK}]{{2,}}(?:路|街|道|巷|弄|村|镇|乡|里|大道|街道)\d+(?:号|弄|栋|幢|室|单元)")
_CJK_RUN = re.compile(f"[{_CJK}]+")
_HAS_CJK = re.compile(f"[{_CJK}]")
_CJK_NAME = re.compile(f"[{_CJK}]{{2,4}}")
_PERSONAL_SHAPE = re.compile(rf"[{_CJK}]|\d{{11,18}}")  # could be a name, an ID or a phone
_TOKEN_SPLIT = re.compile(r"[;；,，、\s|/()（）:：]+")
# The most common Chinese surnames (about 85% of the population), single and compound.
SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
) | frozenset(["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "令狐", "慕容", "尉迟", "长孙"])
_COMPOUND_SURNAMES = tuple(sorted(s for s in SURNAMES if len(s) == 2))
_SURNAME = re.compile("[" + "".join(sorted(s for s in SURNAMES if len(s) == 1)) + "]")
# Words that put a person's name right after them, or right before what follows a name, in free text.
NAME_LABELS = (
    "法人",
    "法定代表人",
    "代表人",
    "负责人",
    "联系人",
    "经办人",
    "申请人",
    "投保人",
    "被保险人",
    "户主",
    "业主",
    "股东",
    "董事",
    "监事",
    "经理",
    "姓名",
    "本人",
    "员工",
    "患者",
    "客户",
    "借款人",
    "担保人",
)
NAME_FOLLOWERS = (
    "先生",
    "女士",
    "同志",
    "已",
    "的",
    "于",
    "在",
    "是",
    "持",
    "签",
    "为",
    "等",
    "和",
    "与",
    "及",
    "电话",
    "手机",
)
# A registry address inside text ends there, or goes on with a word that follows places (not 东, 侧: another place).
ADDRESS_FOLLOWERS = ("已", "的", "附近", "旁", "周边", "一带", "对面", "门口", "楼下", "处", "内", "为", "是")
_ADDRESS_END = f"(?:(?![{_CJK}])|(?=" + "|".join(ADDRESS_FOLLOWERS) + "))"
DICTIONARY_IN_TEXT = 4  # dictionary entries this long or longer are also found inside text; shorter ones whole
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


@dataclass(frozen=True)
class Forms:
    """The normalized forms of a column's distinct values, aligned with them (same index)."""

    norm: pd.Series  # NFKC, stripped
    joined: pd.Series  # ... and no separators inside digit runs
    scan: pd.Series  # ... lower case, pseudonyms and SM4 tokens masked: where digits are looked for
    lower: pd.Series  # joined, lower case: where tokens are looked for
    compact: pd.Series  # joined without any whitespace: where Chinese text is looked into


def normalize(values: pd.Series) -> Forms:
    norm = values.astype(str).str.normalize("NFKC").str.strip()
    joined = norm.str.replace(_DIGIT_SEPARATORS, "", regex=True)
    lower = joined.str.lower()
    tokens = lower.str.contains("_", regex=False) | lower.str.contains(_SM4_TOKEN, regex=False)
    scan = lower.copy()
    if tokens.any():
        scan[tokens] = lower[tokens].str.replace(_TOKENS, " ", regex=True)
    compact = joined.str.replace(_WHITESPACE, "", regex=True)
    return Forms(norm, joined, scan, lower, compact)


def is_resident_id(value: str) -> bool:
    """A GB 11643 ID: right check character, a real province (GB/T 2260) and a birth year from 1900.
    The check character alone lets about one enterprise code in 200 through (birth year 0100)."""
    value = value.upper()
    return value[:2] in PROVINCES and "1900" <= value[6:10] <= "2099" and is_valid_resident_id(value)


def is_resident_id_15(value: str) -> bool:
    """The first-generation 15-digit ID (issued until 1999): a province, a city code that is not 00,
    and a real birth date yymmdd in the 1900s; it has no check character."""
    if len(value) != 15 or not value.isdigit() or value[:2] not in PROVINCES or value[2:4] == "00":
        return False
    try:
        date(1900 + int(value[6:8]), int(value[8:10]), int(value[10:12]))
    except ValueError:
        return False
    return True


def _has_resident_id(text: str) -> bool:
    return any(is_resident_id(m.group()) for m in _ID18.finditer(text)) or any(
        is_resident_id_15(m.group()) for m in _ID15.finditer(text)
    )


def _looks_like_name(text: str) -> bool:
    return bool(_CJK_NAME.fullmatch(text)) and (text[0] in SURNAMES or text[:2] in SURNAMES)


def _where(values: pd.Series, pattern: re.Pattern | str, test: Callable[[str], bool] | None = None) -> pd.Series:
    """Values matching `pattern` (a C-speed prefilter), then passing `test` when given."""
    mask = values.str.contains(pattern, regex=isinstance(pattern, re.Pattern)).astype(bool)
    if test is not None and mask.any():
        mask[mask] = values[mask].map(test).astype(bool).to_numpy()
    return mask


def _trie_pattern(words: list[str]) -> str:
    """One regular expression for many words, shaped as their trie: Python's engine walks it in one
    pass per position instead of trying every word in turn."""
    trie: dict = {}
    for word in words:
        node = trie
        for ch in word:
            node = node.setdefault(ch, {})
        node[""] = {}

    def walk(node: dict) -> str:
        ends = "" in node
        branches = [re.escape(ch) + walk(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not ends else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if ends else body

    return walk(trie)


@lru_cache(maxsize=16)
def _dictionary(words: frozenset[str], after: str) -> tuple[frozenset[str], re.Pattern | None, bool]:
    """Normalized whole words, a trie pattern for the long ones followed by `after`, and whether every
    long word has a Chinese character (then only text with one can hold them)."""
    forms = pd.Series(sorted(words), dtype=object)
    normalized = normalize(forms).compact if len(forms) else forms
    whole = frozenset(normalized) | frozenset(forms)
    long = sorted({w for w in normalized if len(w) >= DICTIONARY_IN_TEXT})
    if not long:
        return whole, None, True
    pattern = re.compile(_trie_pattern(long) + after)
    return whole, pattern, all(_HAS_CJK.search(w) for w in long)


def _in_dictionary(forms: Forms, words: frozenset[str], after: str) -> pd.Series:
    """Values that are a dictionary word, hold one as a token, or hold a long one inside their text
    (followed by what `after` allows)."""
    if not words:
        return pd.Series(False, index=forms.norm.index)
    whole, pattern, cjk_only = _dictionary(words, after)
    mask = forms.norm.isin(whole) | forms.compact.isin(whole)
    compound = ~mask & forms.norm.str.contains(_TOKEN_SPLIT).astype(bool)
    if compound.any():
        mask[compound] = forms.norm[compound].map(lambda t: any(x in whole for x in _tokens(t))).to_numpy(dtype=bool)
    if pattern is not None:
        candidates = ~mask & (forms.compact.str.contains(_HAS_CJK) if cjk_only else True)
        if candidates.any():
            mask[candidates] = forms.compact[candidates].str.contains(pattern).astype(bool).to_numpy()
    return mask


def _name_candidates(text: str) -> list[str]:
    """Surname-led stretches of 2-4 Chinese characters that stand where a name stands: ending the
    stretch of Chinese text, before a word that follows names (先生, 已, ...), or after a label (法人)."""
    found = []
    for run in _CJK_RUN.findall(text):
        for i, ch in enumerate(run):
            if ch not in SURNAMES and run[i : i + 2] not in SURNAMES:
                continue
            after_label = i > 0 and run[:i].endswith(NAME_LABELS)
            for size in (2, 3, 4):
                end = i + size
                if end > len(run):
                    break
                if end == len(run) or after_label or run[end:].startswith(NAME_FOLLOWERS):
                    found.append(run[i:end])
    return found


@lru_cache(maxsize=16)
def _hex_of(pseudonyms: frozenset[str]) -> frozenset[str]:
    return frozenset(p.rsplit("_", 1)[-1] for p in pseudonyms)


def _registry_persons(forms: Forms, dicts: Dictionaries, pseudonyms_allowed: bool) -> pd.Series:
    """Values holding a registry person: a candidate whose keyed pseudonym is a registry person's
    (only text that can be a name, an ID or a phone is hashed; enterprise codes are not), or the bare
    hex of a registry pseudonym (unless this column is the declared pseudonymous key)."""
    index = forms.norm.index
    if dicts.pseudonymize is None or not dicts.personal_pseudonyms:
        return pd.Series(False, index=index)
    known, hashed = dicts.personal_pseudonyms, {}

    def is_known(candidate: str) -> bool:
        if candidate not in hashed:
            hashed[candidate] = dicts.pseudonymize(candidate) in known
        return hashed[candidate]

    def holds_person(norm: str, scan: str, compact: str) -> bool:
        candidates = {c for c in (norm, compact) if len(c) <= 18 and _PERSONAL_SHAPE.search(c) and not is_valid_uscc(c)}
        candidates |= {t for t in _tokens(norm) if _CJK_NAME.fullmatch(t)}  # any name, any surname
        for m in _PERSON_DIGITS.finditer(scan):
            candidates |= {m.group(), m.group().upper()}
        if _SURNAME.search(compact) or any(s in compact for s in _COMPOUND_SURNAMES):
            candidates |= set(_name_candidates(compact))
        return any(is_known(c) for c in candidates)

    look = (forms.scan.str.contains(_PERSON_DIGITS) | forms.compact.str.contains(_HAS_CJK)).to_numpy(dtype=bool)
    mask = pd.Series(False, index=index)
    if look.any():
        mask[look] = [
            holds_person(*values)
            for values in zip(forms.norm[look], forms.scan[look], forms.compact[look], strict=True)
        ]
    if not pseudonyms_allowed:
        hexes = ~mask & forms.lower.str.contains(_HEX32)
        if hexes.any():
            own = _hex_of(known)
            mask[hexes] = (
                forms.lower[hexes].map(lambda t: any(h in own for h in _HEX32.findall(t))).to_numpy(dtype=bool)
            )
    return mask


def _value_checks(policy: Policy, dicts: Dictionaries, column: str) -> dict[str, tuple[Callable, str]]:
    """Each check: (normalized distinct values -> mask of offending values, what those values carry)."""
    key = column == policy.pseudonymous_key
    checks: dict[str, tuple[Callable[[Forms], pd.Series], str]] = {
        "resident_id": (
            lambda f: _where(f.scan, _ID18, _has_resident_id) | _where(f.scan, _ID15, _has_resident_id),
            "resident ID(s), valid check character or 15-digit form",
        ),
        "mobile": (lambda f: _where(f.scan, _MOBILE_IN_TEXT), "mobile number(s)"),
        "person_name": (
            lambda f: _registry_persons(f, dicts, pseudonyms_allowed=key),
            "name(s), ID(s) or phone(s) of persons in the registry",
        ),
        "encrypted": (lambda f: _where(f.lower, _SM4_TOKEN), "SM4-encrypted personal value(s)"),
        "address": (
            lambda f: _in_dictionary(f, dicts.addresses, _ADDRESS_END) | _where(f.compact, _ADDRESS),
            "raw address(es)",
        ),
    }
    if not key:
        checks["pseudonym"] = (lambda f: _where(f.lower, _PSEUDONYM), "in-domain personal pseudonym(s)")
    if not policy.company_names:
        checks["company_name"] = (
            lambda f: _in_dictionary(f, dicts.company_names, "(?!分)"),
            "enterprise name(s) from the registry",
        )
    return checks


def flag_values(values: pd.Series, policy: Policy, dicts: Dictionaries, column: str) -> dict[str, pd.Series]:
    """For distinct text values of `column`: per check that fires, the mask of the values it flags
    (aligned with `values`); `name_column` when the values are mostly name-shaped."""
    values = pd.Series(values.to_numpy(), dtype=object)
    forms = normalize(values)
    flagged = {}
    for check, (test, _) in _value_checks(policy, dicts, column).items():
        mask = pd.Series(test(forms).to_numpy(dtype=bool), index=values.index)
        if mask.any():
            flagged[check] = mask
    name_shaped = forms.compact.map(_looks_like_name).astype(bool)
    if name_shaped.any() and name_shaped.sum() >= NAME_COLUMN_SHARE * len(values):
        flagged["name_column"] = name_shaped
    return flagged


PERSONAL_PROBE = 20_000  # distinct values a column's kind is judged on


def personal_kind(column: pd.Series, names: bool = True) -> str | None:
    """What personal data a column holds, when at least half its distinct values are of one kind:
    resident IDs, mobile numbers or (with `names`) Chinese personal names; else None. The trainer's
    column roles call it, so such a column is never a model's input (nor in its input example)."""
    distinct = _row_text(pd.Series(pd.unique(column.dropna())[:PERSONAL_PROBE]))
    if distinct.empty:
        return None
    forms = normalize(distinct.reset_index(drop=True))
    kinds = {
        "resident ID numbers": lambda: (
            _where(forms.scan, _ID18, _has_resident_id) | _where(forms.scan, _ID15, _has_resident_id)
        ),
        "mobile numbers": lambda: _where(forms.scan, _MOBILE_IN_TEXT),
    }
    if names:
        kinds["personal names"] = lambda: forms.compact.map(_looks_like_name).astype(bool)
    for kind, found in kinds.items():
        if found().mean() >= NAME_COLUMN_SHARE:
            return kind
    return None


def _scan_column(frame: pd.DataFrame, column: str, policy: Policy, dicts: Dictionaries) -> list[Finding]:
    as_text = _row_text(frame[column])
    if as_text.empty:
        return []
    distinct = pd.Series(as_text.unique(), dtype=object)
    whats = {check: what for check, (_, what) in _value_checks(policy, dicts, column).items()}
    findings = []
    for check, flagged in flag_values(distinct, policy, dicts, column).items():
        mask = as_text.isin(set(distinct[flagged.to_numpy()]))
        rows = int(mask.sum())
        if check == "name_column":
            message = f"{rows} row(s) look like personal names"
            findings.append(Finding("person_name", column, rows, message, _first_rows(mask)))
        else:
            findings.append(Finding(check, column, rows, f"{rows} row(s) carry {whats[check]}", _first_rows(mask)))
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
