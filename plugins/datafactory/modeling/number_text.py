"""Numbers written as text in a modeller's table (`13.56%`, `$1,200`, `1,234.5`, `１２３`): the grammar,
and one value read by it. Pure Python, so the CLI checks a target with it before pandas is imported."""

from __future__ import annotations

import math
import re
import unicodedata

from datafactory.quality.forms import NUMBER

# A sign and a currency before the number grammar ingest declares, then % or a currency word.
NUMBER_TEXT = rf"[-+]?[$¥€£]?(?:{NUMBER})"
UNITS = r"\s*(?:%|元|USD|CNY|RMB)?"
STRIP = r"[\s,$¥€£%]|元|USD|CNY|RMB"
MISSING_MARKS = ("?", "-", "--", "—", "#DIV/0!", "#VALUE!")  # what exports write for "no value"
_WHOLE = re.compile(f"(?:{NUMBER_TEXT}){UNITS}")
_STRIP = re.compile(STRIP)


def number_from_text(text: str) -> float | None:
    """The number a text holds by the grammar above (after NFKC), else None (also for an overflow)."""
    value = unicodedata.normalize("NFKC", text).strip()
    if not _WHOLE.fullmatch(value):
        return None
    number = float(_STRIP.sub("", value))
    return number if math.isfinite(number) else None
