"""The parse forms a feed spec may declare: date/time formats, units and true/false words, compiled
once. Pure Python (no pandas, no Arrow), so a spec is checked when it loads, before any data is read.

The regexes use only syntax that Python's `re` and Arrow's RE2 read alike ([0-9], not \\d), so the
vectorized parser (`quality.parsing`) and the scalar checks here read a text the same way.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

NAMED_FORMATS = ("iso", "excel_serial", "epoch_s", "epoch_ms")
# A number: digits grouped by thousands or not, decimals, an exponent.
NUMBER = r"[+-]?(?:[1-9][0-9]{0,2}(?:,[0-9]{3})+|[0-9]+)(?:[.][0-9]+)?(?:[eE][+-]?[0-9]{1,3})?|[+-]?[.][0-9]+"
CHINA_UTC_OFFSET = timedelta(hours=8)  # the factory's timestamps are naive China time (UTC+8, no DST)
DIRECTIVES = {  # directive -> (group, regex when padded, regex when a separator follows)
    "Y": ("year", "[0-9]{4}", "[0-9]{4}"),
    "m": ("month", "[0-9]{2}", "[0-9]{1,2}"),
    "d": ("day", "[0-9]{2}", "[0-9]{1,2}"),
    "H": ("hour", "[0-9]{2}", "[0-9]{1,2}"),
    "M": ("minute", "[0-9]{2}", "[0-9]{1,2}"),
    "S": ("second", "[0-9]{2}", "[0-9]{1,2}"),
    "f": ("fraction", "[0-9]{6}", "[0-9]{1,9}"),
    "z": ("offset", "(?:Z|[+-][0-9]{2}:?[0-9]{2})", "(?:Z|[+-][0-9]{2}:?[0-9]{2})"),
}
_NUMERIC = set("YmdHMSf")
_NEEDS = {"M": "H", "S": "M", "f": "S"}  # a minute needs its hour, and so on
ISO_DATE = "(?P<year>[0-9]{4})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
ISO_TIME = "(?:[T ](?P<hour>[0-9]{2}):(?P<minute>[0-9]{2})(?::(?P<second>[0-9]{2})(?:[.](?P<fraction>[0-9]{1,9}))?)?)?"
ISO_OFFSET = "(?P<offset>Z|[+-][0-9]{2}(?::?[0-9]{2})?)?"

# Units, each in a family with a base unit; a value with a unit is converted to the column's `unit`.
# Keys are NFKC-normalized and case-folded ("KWH", "㎡" and "m²" read as "kwh", "m2", "m2").
UNITS: dict[str, tuple[str, float]] = {
    "元": ("money", 1.0),
    "千元": ("money", 1e3),
    "万元": ("money", 1e4),
    "百万元": ("money", 1e6),
    "亿元": ("money", 1e8),
    "kwh": ("energy", 1.0),
    "千瓦时": ("energy", 1.0),
    "度": ("energy", 1.0),
    "mwh": ("energy", 1e3),
    "兆瓦时": ("energy", 1e3),
    "万千瓦时": ("energy", 1e4),
    "m3": ("volume", 1.0),
    "立方米": ("volume", 1.0),
    "万立方米": ("volume", 1e4),
    "m2": ("area", 1.0),
    "平方米": ("area", 1.0),
    "万平方米": ("area", 1e4),
}
MULTIPLIERS = {"万": 1e4, "亿": 1e8}  # plain scale words: "3.5万" is 35,000 of the bare unit


def fold(text: str) -> str:
    """NFKC and case folding: how units and true/false words are compared."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


@dataclass(frozen=True)
class DateForm:
    """One declared date/time form: a named form or a compiled strptime pattern."""

    name: str  # as declared, for reasons
    kind: str  # date or timestamp
    regex: str  # anchored, with named groups (year, month, day, hour, ...); named numeric forms: see parsing
    fields: frozenset[str]

    @property
    def components(self) -> bool:
        return self.name not in ("excel_serial", "epoch_s", "epoch_ms")


def compile_format(kind: str, text: str) -> DateForm:
    """The form for one declared format; ValueError says what is wrong with it."""
    if text == "iso":
        regex = ISO_DATE + ISO_TIME + ("" if kind == "date" else ISO_OFFSET)
        return DateForm(text, kind, f"^{regex}$", frozenset({"year", "month", "day"}))
    if text in NAMED_FORMATS:
        return DateForm(text, kind, "", frozenset())
    pattern = unicodedata.normalize("NFKC", text)
    tokens = _tokens(pattern)
    seen = [t[1] for t in tokens if t[0] == "directive"]
    if not seen:
        raise ValueError(f"format {text!r} has no % directive; named formats are {', '.join(NAMED_FORMATS)}")
    for name in ("Y", "m", "d"):
        if name not in seen:
            raise ValueError(f"format {text!r} lacks %{name}: a {kind} needs year, month and day")
    for name, need in _NEEDS.items():
        if name in seen and need not in seen:
            raise ValueError(f"format {text!r} has %{name} without %{need}")
    if kind == "date" and "z" in seen:
        raise ValueError(f"format {text!r}: a date has no UTC offset (%z); declare the column a timestamp")
    parts = []
    for i, (what, value) in enumerate(tokens):
        if what == "literal":
            parts.append(re.escape(value))
            continue
        group, padded, loose = DIRECTIVES[value]
        neighbours = [tokens[j] for j in (i - 1, i + 1) if 0 <= j < len(tokens)]
        # Digits that run into other digits ("%Y%m%d") are read at fixed width, so "2026103" is not guessed.
        adjacent = any(w == "directive" and v in _NUMERIC for w, v in neighbours) and value in _NUMERIC
        parts.append(f"(?P<{group}>{padded if adjacent else loose})")
    return DateForm(text, kind, "^" + "".join(parts) + "$", frozenset(DIRECTIVES[v][0] for v in seen))


def _tokens(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char != "%":
            tokens.append(("literal", char))
            i += 1
            continue
        directive = pattern[i + 1 : i + 2]
        if directive == "%":
            tokens.append(("literal", "%"))
        elif directive == "y":
            raise ValueError(f"format {pattern!r}: %y (two-digit year) would guess the century; use %Y")
        elif directive not in DIRECTIVES:
            supported = " ".join(f"%{d}" for d in DIRECTIVES)
            raise ValueError(f"format {pattern!r}: unsupported directive %{directive} (supported: {supported} %%)")
        elif ("directive", directive) in tokens:
            raise ValueError(f"format {pattern!r} repeats %{directive}")
        else:
            tokens.append(("directive", directive))
        i += 2
    return tokens


def read_one(form: DateForm, text: str) -> datetime | None:
    """One text as this form reads it (naive China time), or None. The scalar twin of the vectorized
    parser, used to check declared forms against each other."""
    if not form.components:
        return _read_number(form, text)
    found = re.match(form.regex, text)
    if not found:
        return None
    parts = {k: v for k, v in found.groupdict().items() if v}
    try:
        moment = datetime(
            int(parts["year"]),
            int(parts["month"]),
            int(parts["day"]),
            int(parts.get("hour", 0)),
            int(parts.get("minute", 0)),
            int(parts.get("second", 0)),
            int(parts.get("fraction", "0")[:6].ljust(6, "0")),
        )
    except ValueError:
        return None
    if "offset" in parts:
        moment = moment - offset_of(parts["offset"]) + CHINA_UTC_OFFSET
    if form.kind == "date" and moment != datetime(moment.year, moment.month, moment.day):
        return None
    return moment


def offset_of(text: str) -> timedelta:
    if text == "Z":
        return timedelta(0)
    digits = text[1:].replace(":", "")
    minutes = int(digits[:2]) * 60 + int(digits[2:4] or 0)
    return timedelta(minutes=minutes if text[0] == "+" else -minutes)


NUMBER_FORMS = {  # named numeric forms: the text each accepts (timestamp, date)
    "excel_serial": ("[0-9]{1,5}(?:[.][0-9]+)?", "[0-9]{1,5}(?:[.]0+)?"),
    "epoch_s": ("[0-9]{9,10}(?:[.][0-9]{1,9})?", "[0-9]{9,10}"),
    "epoch_ms": ("[0-9]{12,13}", "[0-9]{12,13}"),
}
EXCEL_EPOCH = datetime(1899, 12, 30)  # serial 61 is 1900-03-01; below 60 one day less (the Lotus bug)
EXCEL_LAST = 100_000  # serials run 1..99999 (1900-01-01..2173-10-14); 60 is Lotus's phantom 1900-02-29
EPOCH = datetime(1970, 1, 1)


def number_regex(form: DateForm) -> str:
    timestamp, date = NUMBER_FORMS[form.name]
    return f"^{date if form.kind == 'date' else timestamp}$"


def _read_number(form: DateForm, text: str) -> datetime | None:
    if not re.match(number_regex(form), text):
        return None
    value = float(text)
    if form.name == "excel_serial":
        if not 1 <= value < EXCEL_LAST or int(value) == 60:
            return None
        moment = EXCEL_EPOCH + timedelta(days=value if value >= 61 else value + 1)
    else:
        seconds = value / 1000 if form.name == "epoch_ms" else value
        moment = EPOCH + timedelta(seconds=seconds) + CHINA_UTC_OFFSET
    if form.kind == "date" and moment != datetime(moment.year, moment.month, moment.day):
        return None
    return moment


def render_one(form: DateForm, moment: datetime) -> str:
    """`moment` (naive China time) written in this form; the inverse of `read_one`."""
    if form.name == "iso":
        return moment.date().isoformat() if form.kind == "date" else moment.isoformat(sep=" ")
    if form.name == "excel_serial":
        days = (moment - EXCEL_EPOCH) / timedelta(days=1)
        return f"{days:.0f}" if form.kind == "date" else f"{days:.6f}"
    if form.name in ("epoch_s", "epoch_ms"):
        seconds = (moment - CHINA_UTC_OFFSET - EPOCH) / timedelta(seconds=1)
        return f"{seconds * 1000:.0f}" if form.name == "epoch_ms" else f"{seconds:.0f}"
    return moment.strftime(form.name.replace("%z", "+08:00"))


def _samples(kind: str) -> list[datetime]:
    """Moments whose renderings expose any two forms that read one text differently: days and months
    that could swap (1..12), days that could not, and times with and without seconds and fractions."""
    days, months, years = (1, 2, 5, 10, 12, 13, 28, 31), (1, 2, 3, 10, 11, 12), (1999, 2000, 2009, 2026, 2045)
    times = [(0, 0, 0, 0)] if kind == "date" else [(0, 0, 0, 0), (8, 5, 3, 0), (23, 59, 59, 123000)]
    found = []
    for y in years:
        for m in months:
            for d in days:
                for hh, mm, ss, us in times:
                    try:
                        found.append(datetime(y, m, d, hh, mm, ss, us))
                    except ValueError:
                        continue
    return found


def ambiguous_pair(forms: list[DateForm]) -> tuple[str, str] | None:
    """Two declared forms that read one text as two different moments, or None. Such a spec is
    rejected: which one is meant would be a guess ("05/03/2026" under %d/%m/%Y and %m/%d/%Y)."""
    if len(forms) < 2:
        return None
    samples = _samples(forms[0].kind)
    for writer in forms:
        for moment in samples:
            try:
                text = render_one(writer, moment)
            except (ValueError, OverflowError):
                continue
            meant = read_one(writer, text)
            for reader in forms:
                if reader is writer:
                    continue
                read = read_one(reader, text)
                if read is not None and meant is not None and abs(read - meant) > timedelta(milliseconds=1):
                    return writer.name, reader.name
    return None
