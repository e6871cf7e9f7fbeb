"""Numbers written as text in a modeller's table (`13.56%`, `$1,200`, `1,234.5`, `１２３`, `(1,234.50)`,
and the continental `1.234,5 €`): the grammar for each decimal mark, which mark a file's columns use, and one value
read by it. Pure Python, so the CLI checks a target with it before pandas is imported."""

from __future__ import annotations

import math
import re
import unicodedata

from datafactory.quality.forms import NUMBER

# Continental Europe writes '.' or a space between thousands and ',' before the decimals (UCI's Air
# Quality table, any German or French Excel export): '2,6' is 2.6 there, not text, and '1.234,5' is 1234.5.
COMMA_NUMBER = r"[+-]?(?:[1-9][0-9]{0,2}(?:[. ][0-9]{3})+|[0-9]+)(?:,[0-9]+)?(?:[eE][+-]?[0-9]{1,3})?"
# Switzerland groups thousands with an apostrophe (`1'234.50`, Excel in de-CH; `1’234.50` typeset).
SWISS_NUMBER = r"[+-]?[1-9][0-9]{0,2}(?:['’][0-9]{3})+(?:\.[0-9]+)?"
DECIMAL_MARKS = (".", ",")
_NUMBERS = {".": rf"{NUMBER}|{SWISS_NUMBER}", ",": COMMA_NUMBER}  # each alternative signed, as number_grammar expects
# A currency before the number (a symbol or an ISO code: bank exports write `RMB 1,200`), and % or a
# currency after it.
CODES = "USD|CNY|RMB|EUR|HKD|GBP|JPY|CHF"
CURRENCY = rf"(?:[$¥€£]|{CODES})"
# A unit of measure written after the number in Chinese exports and clinical records: '45岁', '12个月',
# '3次', '170cm', '65kg' (after NFKC: '㎏' is 'kg', '㎡' and 'm²' are 'm2'). A column reads in one such
# unit; a value in another ('6个月' among years) is not read (see `tables._numbers`).
MEASURES = (
    "周岁|岁|个月|月|年|天|日|小时|分钟|次|个|人|户|家|笔|件|张|台|公斤|千克|克|吨|公里|千米|厘米|毫米|米|"
    "平方米|亩|千瓦时|度|mmHg|kWh|kg|km|cm|mm|ml|mg|m2"
)
SAME_UNIT = {"周岁": "岁", "平方米": "m2", "公斤": "kg", "千克": "kg", "公里": "km", "千米": "km", "厘米": "cm"}
SAME_UNIT |= {"毫米": "mm", "千瓦时": "kWh", "度": "kWh"}
UNITS = rf"\s*(?:%|元|{CODES}|[$¥€£]|{MEASURES})?"
# Chinese amounts are written in ten-thousands and hundred-millions: '500万元' is 5,000,000 yuan.
MAGNITUDES = {"千万": 1e7, "百万": 1e6, "万": 1e4, "亿": 1e8, "千": 1e3}
# Longest first, so '千万' is not read as '千'; and '千' in a unit ('3千克' is 3 kg, '2千米' 2 km) is no magnitude.
MAGNITUDE = rf"(?:{'|'.join(MAGNITUDES)})(?!克|米|瓦)"
# A laboratory writes a result beyond what it measures as its limit: '<0.5', '>1000', '≥ 8' (after NFKC
# a full-width '＜' is '<'). Such a value reads as the limit, and the column's note counts them.
CENSORED = r"(?:<=|>=|[<>≤≥])\s?"
_STRIP = {
    mark: rf"[\s{other}$¥€£%()<>=≤≥]|元|{CODES}|{MEASURES}|{MAGNITUDE}|-$" for mark, other in ((".", ",'’"), (",", "."))
}
# What exports write for "no value" (after NFKC, so '／' and '－' are here too): dashes, Chinese words for
# none or unknown, Excel's error values.
MISSING_MARKS = frozenset(
    {"?", "-", "--", "—", "——", "/", "无", "暂无", "空", "不详", "未知", "未填"}
    | {"#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#NULL!", "#N/A"}
)


def missing_mark(text: str) -> bool:
    return normal_text(text) in MISSING_MARKS


def normal_text(text: str) -> str:
    """NFKC (full-width digits and signs), the typographic minus (U+2212, which NFKC keeps) as '-', no
    blanks around."""
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


def number_grammar(decimal: str) -> str:
    """The whole text of a number with this decimal mark, with its sign, currency, magnitude (万, 亿) and
    unit; or a negative in accounting's parentheses, as Excel saves `(1,234.50)` from a finance sheet, or
    with SAP's trailing minus (`1,234.50-`). The sign stands before the currency (`-$5`) or after it
    (`¥-5`: Excel's negative currency in the zh-CN locale), never both."""
    unsigned = re.sub(r"(^|\|)\[\+-\]\?", r"\1", _NUMBERS[decimal])  # one sign per number, where it is written
    body = rf"(?:{unsigned})(?:\s?(?:{MAGNITUDE}))?{UNITS}"
    amount = rf"{CURRENCY}?\s?{body}"
    signed = rf"(?:[-+]?{amount}|{CURRENCY}\s?[-+]{body})"
    # '(1,234.50)' is accounting's negative; '1,234.50-' is SAP's.
    return rf"(?:(?:{CENSORED})?{signed}|\(\s*{signed}\s*\)|{amount}-)"


def strip_pattern(decimal: str) -> str:
    """What to delete from a grammatical text before the decimal mark is made a point."""
    return _STRIP[decimal]


_WHOLE = {mark: re.compile(number_grammar(mark)) for mark in DECIMAL_MARKS}
_STRIPS = {mark: re.compile(strip_pattern(mark)) for mark in DECIMAL_MARKS}
_MAGNITUDE = re.compile(MAGNITUDE)


def number_from_text(text: str, decimal: str = ".") -> float | None:
    """The number a text holds by the grammar of `decimal` (after NFKC), else None (also for an overflow)."""
    value = normal_text(text)
    if not _WHOLE[decimal].fullmatch(value):
        return None
    number = float(_STRIPS[decimal].sub("", value).replace(decimal, "."))
    magnitude = _MAGNITUDE.search(value)
    if magnitude is not None:
        number *= MAGNITUDES[magnitude.group()]
    if negative_mark(value):
        number = -abs(number)
    return number if math.isfinite(number) else None


def negative_mark(text: str) -> bool:
    """Accounting's parentheses or SAP's trailing minus, on a text the grammar reads."""
    return text.startswith("(") or text.endswith("-")


def decided_marks(shown: dict[str, set[str]]) -> dict[str, str]:
    """Each column's decimal mark from the marks its values show on their own ('2.5' and '1,234.5' read
    only with a point, '2,6' and '1.234,5' only with a comma; '1,234' and '12' either way). A column
    that shows nothing takes the file's mark: a comma when some column shows a comma and none a point
    (the export's locale), else a point. A column that shows both is read with a point, and its
    comma-only values count as unreadable."""
    decided = {name: next(iter(marks)) for name, marks in shown.items() if len(marks) == 1}
    commas = "," in decided.values() and "." not in decided.values()
    return {name: decided.get(name, "," if commas and not marks else ".") for name, marks in shown.items()}
