"""Masks personal values before they appear in any report. Pure functions."""

from __future__ import annotations

import re
from typing import Any

from datafactory.domain.identifiers import MOBILE_RE

# 18 characters whose birth-date part is a 19xx/20xx date: a resident ID, valid or not (the
# failing ones are the samples a report shows). USCCs almost never have a date there, so stay readable.
_ID_LIKE = re.compile(r"^\d{6}(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[\dXx]$")


def mask_value(value: Any, personal: bool = False) -> Any:
    """Resident IDs keep 4+4 characters, phones 3+4; declared personal fields are hidden whole."""
    if value is None:
        return None
    text = str(value)
    if _ID_LIKE.match(text):
        return text[:4] + "*" * 10 + text[-4:]
    if MOBILE_RE.match(text):
        return text[:-8] + "****" + text[-4:]
    if personal:
        return "***"
    return value
