"""Check characters for Chinese identifiers (GB 32100, GB 11714, GB 11643). Pure functions."""

from __future__ import annotations

import re
from datetime import date

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
_USCC_WEIGHTS = [pow(3, i, 31) for i in range(17)]
_ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
_ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_ID_CHECK = "10X98765432"
MOBILE_RE = re.compile(r"^(?:(?:\+|00)86)?1[3-9]\d{9}$", re.ASCII)
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$", re.ASCII)


def uscc_check_char(first17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    total = sum(_ORG_ALPHABET.index(c) * w for c, w in zip(first8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return {10: "X", 11: "0"}.get(check, str(check))


def is_valid_uscc(code: object) -> bool:
    """True when `code` is 18 characters of the GB 32100 alphabet with a correct check character."""
    if not isinstance(code, str) or len(code) != 18:
        return False
    if any(c not in _USCC_VALUE for c in code):
        return False
    return uscc_check_char(code[:17]) == code[17]


def make_uscc(area_code: str, org_body: str, authority: str = "9", entity_type: str = "1") -> str:
    """Build a valid USCC from an area code and an 8-character organization-code body."""
    org = org_body + org_code_check_char(org_body)
    first17 = f"{authority}{entity_type}{area_code}{org}"
    return first17 + uscc_check_char(first17)


def resident_id_check_char(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def is_valid_resident_id(value: object) -> bool:
    """True for an 18-character GB 11643 ID with a real birth date and a correct check character."""
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    return resident_id_check_char(value[:17]) == value[17]


def make_resident_id(area_code: str, birth: date, sequence: int) -> str:
    first17 = f"{area_code}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check_char(first17)


def is_mobile(value: object) -> bool:
    return isinstance(value, str) and bool(MOBILE_RE.match(value))
