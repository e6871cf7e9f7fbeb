"""How a label typed on the command line names a value of the target, the same way in the CLI's input
check (which reads the file's text) and in the trainer (which reads pandas' types).

pandas reads a column of `TRUE`/`FALSE` as booleans and a coded column with blanks as floats, so the
two sides see `TRUE` and `True`, `2` and `2.0`. A modeller types the label as the file shows it, or as
the paper form spells it (`Malignant` for `malignant`): both name the one value that matches."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from typing import Any

_TRUTH = {"true": "1", "false": "0"}  # pandas' True is 1 to LightGBM, and `--positive 1` means it


def label_text(value: Any) -> str:
    """A label as text: blanks around it dropped, and a whole number without its `.0` (1.0 reads as 1)."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if number.is_integer() else text


def _key(text: str) -> str:
    folded = " ".join(unicodedata.normalize("NFKC", text).casefold().split())
    return _TRUTH.get(folded, folded)


def named_label(typed: Any, values: Collection[str]) -> str | None:
    """The value `typed` names: itself, else the one value equal to it but for case, width and blanks
    (and `true` for `1`); None when no value, or more than one, matches."""
    text = label_text(typed)
    if text in values:
        return text
    matches = [value for value in values if _key(value) == _key(text)]
    return matches[0] if len(matches) == 1 else None


def is_zero_one(values: Iterable[str]) -> bool:
    """Values that already code bad as 1 and good as 0 (or as True/False, in any case)."""
    return all(_key(label_text(value)) in ("0", "1") for value in values)


def spelling_hint(values: Iterable[str]) -> str:
    """A note naming labels that look like one label spelt two ways (`Benign` and `benign`, `>50K` and
    `>50K.`, a full-width `ｙｅｓ`), for the error that says the target has too many values. They are
    not merged: which spelling is right is the modeller's call, and a merge could hide a real class."""
    groups: dict[str, list[str]] = {}
    for value in sorted(map(str, values)):
        groups.setdefault(re.sub(r"[.。]$", "", _key(value)).strip(), []).append(value)
    spelt = [" and ".join(f"'{v}'" for v in group) for group in groups.values() if len(group) > 1]
    if not spelt:
        return ""
    return f" ({'; '.join(spelt[:3])} look like one label spelt differently: make the spelling one in the file)"
