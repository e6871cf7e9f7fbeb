"""Vectorized identifiers for the simulator: USCC (GB 32100) and resident IDs (GB 11643).

The scalar versions in `datafactory.domain.identifiers` are the reference; these build a million
codes in well under a second by doing the check-character arithmetic on digit matrices.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from datafactory.domain.identifiers import USCC_ALPHABET

_USCC_WEIGHTS = np.array([pow(3, i, 31) for i in range(17)])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
_ID_WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
_ALPHABET = np.frombuffer(USCC_ALPHABET.encode(), dtype=np.uint8)
_ID_CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
_EPOCH = np.datetime64("1970-01-01")


def _digits(values: np.ndarray, width: int) -> np.ndarray:
    """Non-negative integers as a (n, width) matrix of decimal digits."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values.astype(np.int64)[:, None] // powers) % 10


def _strings(codes: np.ndarray) -> np.ndarray:
    """A (n, k) uint8 matrix of ASCII codes as an array of Python str."""
    width = codes.shape[1]
    return np.ascontiguousarray(codes.astype(np.uint8)).view(f"S{width}").ravel().astype(str).astype(object)


def uscc_codes(areas: np.ndarray, bodies: np.ndarray) -> np.ndarray:
    """USCCs for market-regulation enterprises (`91` + area + 8-digit organization body + checks)."""
    area = _digits(np.asarray(areas).astype(np.int64), 6)
    body = _digits(np.asarray(bodies), 8)
    org_check = 11 - (body * _ORG_WEIGHTS).sum(axis=1) % 11  # 1..11; 10 is X, 11 is 0
    org_value = np.where(org_check == 11, 0, np.where(org_check == 10, USCC_ALPHABET.index("X"), org_check))
    prefix = np.broadcast_to(np.array([9, 1]), (len(area), 2))
    values = np.concatenate([prefix, area, body, org_value[:, None]], axis=1)
    check = (31 - (values * _USCC_WEIGHTS).sum(axis=1) % 31) % 31
    return _strings(_ALPHABET[np.concatenate([values, check[:, None]], axis=1)])


def resident_id_codes(areas: np.ndarray, births: np.ndarray, sequences: np.ndarray) -> np.ndarray:
    """Resident IDs: area, birth date (datetime64[D] array), 3-digit sequence (odd is male), check."""
    days = np.asarray(births).astype("datetime64[D]")
    years = days.astype("datetime64[Y]").astype(int) + 1970
    months = days.astype("datetime64[M]").astype(int) % 12 + 1
    mdays = (days - days.astype("datetime64[M]")).astype(int) + 1
    digits = np.concatenate(
        [
            _digits(np.asarray(areas).astype(np.int64), 6),
            _digits(years * 10_000 + months * 100 + mdays, 8),
            _digits(np.asarray(sequences), 3),
        ],
        axis=1,
    )
    check = _ID_CHECK[(digits * _ID_WEIGHTS).sum(axis=1) % 11]
    return _strings(np.concatenate([digits + ord("0"), check[:, None]], axis=1))


def birth_dates(rng: np.random.Generator, n: int, oldest: date, youngest: date) -> np.ndarray:
    start, end = np.datetime64(oldest), np.datetime64(youngest)
    return start + rng.integers(0, int((end - start).astype(int)), n).astype("timedelta64[D]")


def serials(prefix: str, n: int, width: int, start: int = 0) -> np.ndarray:
    """`prefix` + zero-padded running numbers from `start`, as Python str (empty when n is 0)."""
    if n == 0:
        return np.array([], dtype=object)
    return np.char.add(prefix, np.char.zfill((start + np.arange(n)).astype(str), width)).astype(object)
