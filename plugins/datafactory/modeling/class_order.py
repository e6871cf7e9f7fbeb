"""The order of an ordinal target's classes, least to most risky, for a modeller's own table.

Sorting the labels as text gets real scales wrong: `低 < 中 < 高` sorts as 中, 低, 高; `Low, Medium,
High` as High, Low, Medium; ratings `AAA, AA, A, BBB` as A, AA, AAA, BBB; `2级` after `10级`. The
order decides which mistakes cost more (grading a risk too low) and where high risk starts, so a
wrong order trains a model that is confidently backwards. Known scales are recognised (the ones in
DOMAIN.md first), numbered classes follow their numbers, and anything else is alphabetical and said
to be, so the modeller can give `--classes`."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from datafactory.modeling.labels import named_label

_RATING_BASE = ("aaa", "aa", "a", "bbb", "bb", "b", "ccc", "cc", "c", "d")

# Each scale lists its words least to most risky; words sharing a rank are one level spelt two ways.
SCALES: dict[str, tuple[tuple[str, ...], ...]] = {
    "tax credit grade (A, B, M, C, D)": (("a",), ("b",), ("m",), ("c",), ("d",)),
    "underwriting decision": (
        ("standard", "标准体", "标准"),
        ("rated", "加费", "加费承保"),
        ("exclusion", "除外", "除外承保"),
        ("postpone", "延期", "延期承保"),
        ("decline", "拒保"),
    ),
    "level": (
        ("very low", "极低", "很低"),
        ("low", "低", "偏低"),
        ("lower", "较低"),
        ("medium", "moderate", "mid", "middle", "中", "中等", "一般"),
        ("higher", "较高"),
        ("high", "高", "偏高"),
        ("very high", "极高", "很高"),
    ),
    "severity": (
        ("none", "无"),
        ("mild", "slight", "minor", "轻", "轻度", "轻微"),
        ("moderate", "中", "中度"),
        ("severe", "serious", "major", "重", "重度", "严重"),
        ("critical", "extreme", "危重", "特重"),
    ),
}

_CHINESE_DIGITS = dict(zip("零一二三四五六七八九", range(10), strict=True))
_ROMAN = {"i": 1, "v": 5, "x": 10}
# Arabic, Chinese (第三类) or Roman numbers (Ⅲ期 is 'iii期' once NFKC-normalised: cancer stages, 类 classes)
_NUMBER = re.compile(r"\d+(?:\.\d+)?|[零一二三四五六七八九十]+|(?<![a-z])[ivx]+(?![a-z])")


@dataclass(frozen=True)
class ClassOrder:
    classes: tuple[str, ...]  # least to most risky, as the table spells them
    how: str  # why this order, for the CLI and the card

    def describe(self) -> str:
        return f"{' < '.join(self.classes)} ({self.how})"


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _rating_rank(key: str) -> float | None:
    """AAA < AA+ < AA < AA- < ... < D: an enterprise or bond rating, its +/- a notch within the grade."""
    match = re.fullmatch(r"([a-d]{1,3})([+-]?)", key)
    if match is None or match.group(1) not in _RATING_BASE:
        return None
    return _RATING_BASE.index(match.group(1)) + {"+": -0.3, "": 0.0, "-": 0.3}[match.group(2)]


def _chinese_number(text: str) -> int:
    if text == "十":
        return 10
    if "十" in text:  # 十二 = 12, 二十 = 20, 二十三 = 23
        tens, _, ones = text.partition("十")
        return (_CHINESE_DIGITS[tens] if tens else 1) * 10 + (_CHINESE_DIGITS[ones] if ones else 0)
    return int("".join(str(_CHINESE_DIGITS[c]) for c in text))


def _roman_number(text: str) -> int:
    digits = [_ROMAN[c] for c in text]
    return sum(-d if i + 1 < len(digits) and d < digits[i + 1] else d for i, d in enumerate(digits))


def _number(text: str) -> float:
    if text[0].isdigit():
        return float(text)
    return _roman_number(text) if text[0] in _ROMAN else _chinese_number(text)


def _numbered(values: Sequence[str]) -> dict[str, float] | None:
    """`1级, 2级, 10级`, `Grade 3`, `第一类`: one wording around one number, ordered by the number."""
    ranks: dict[str, float] = {}
    wordings = set()
    for value in values:
        found = _NUMBER.findall(_key(value))
        if len(found) != 1:
            return None
        number = found[0]
        ranks[value] = _number(number)
        wordings.add(_NUMBER.sub("#", _key(value)))
    return ranks if len(wordings) == 1 and len(set(ranks.values())) == len(ranks) else None


def _shared_start(texts: list[str]) -> str:
    first, last = min(texts), max(texts)  # what these two share, every text between them shares
    size = next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), min(len(first), len(last)))
    return first[:size]


def _without_shared_affix(keys: dict[str, str]) -> dict[str, str] | None:
    """`低风险, 中风险, 高风险` and `A级, B级` are a scale's words with one word added to every class."""
    texts = list(keys.values())
    prefix = _shared_start(texts)
    suffix = _shared_start([t[::-1] for t in texts])[::-1]
    stripped = {value: key[len(prefix) : len(key) - len(suffix)].strip() for value, key in keys.items()}
    return stripped if (prefix or suffix) and all(stripped.values()) else None


def _scale_ranks(keys: dict[str, str]) -> tuple[str, dict[str, float]] | None:
    for name, levels in SCALES.items():
        rank = {word: float(i) for i, words in enumerate(levels) for word in words}
        if all(key in rank for key in keys.values()):
            return name, {value: rank[key] for value, key in keys.items()}
    ratings = {value: _rating_rank(key) for value, key in keys.items()}
    if all(rank is not None for rank in ratings.values()):
        return "credit rating (AAA best)", ratings  # type: ignore[return-value]
    return None


def _known_scale(values: Sequence[str]) -> tuple[str, dict[str, float]] | None:
    keys = {value: _key(value) for value in values}
    found = _scale_ranks(keys)
    if found is None and (stripped := _without_shared_affix(keys)) is not None:
        found = _scale_ranks(stripped)
    if found is None or len(set(found[1].values())) != len(values):  # two spellings of one level
        return None
    return found


def class_order(values: Collection[str], numeric: bool = False) -> ClassOrder:
    """The classes least to most risky: numbers by value, a known scale by its order, numbered
    classes by their number; otherwise alphabetical, and `how` says so."""
    distinct = sorted(set(values))
    if numeric:
        return ClassOrder(tuple(sorted(distinct, key=float)), "by value")
    scale = _known_scale(distinct)
    if scale is not None:
        name, ranks = scale
        return ClassOrder(tuple(sorted(distinct, key=ranks.__getitem__)), f"the {name} scale")
    numbered = _numbered(distinct)
    if numbered is not None:
        return ClassOrder(tuple(sorted(distinct, key=numbered.__getitem__)), "by the number in each class")
    return ClassOrder(
        tuple(distinct), "alphabetical: not a scale the trainer knows; give --classes, least to most risky"
    )


def declared_order(typed: str, values: Collection[str]) -> ClassOrder:
    """`--classes low,medium,high` read against the target's values: each typed class names one value
    (as `--positive` does), and every value is named."""
    names = [part.strip() for part in re.split(r"[,，]", typed) if part.strip()]
    classes = []
    for name in names:
        label = named_label(name, values)
        if label is None:
            raise ValueError(
                f"--classes: '{name}' is not a value of the target; its values are {', '.join(sorted(values))}"
            )
        classes.append(label)
    if len(set(classes)) != len(classes):
        raise ValueError(f"--classes names a class twice: {typed}")
    left = sorted(set(values) - set(classes))
    if left:
        raise ValueError(f"--classes leaves out {', '.join(left)}; list every class, least to most risky")
    return ClassOrder(tuple(classes), "as given by --classes")
