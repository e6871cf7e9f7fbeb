from datetime import date

import numpy as np
import pandas as pd
import pytest

from datafactory.domain.identifiers import is_valid_resident_id, is_valid_uscc, make_resident_id, make_uscc
from datafactory.sources.simulator.codes import birth_dates, resident_id_codes, serials, uscc_codes

pytestmark = pytest.mark.unit


def test_vectorized_uscc_matches_the_scalar_reference():
    rng = np.random.default_rng(3)
    areas = rng.choice(np.array(["330281", "330502", "370102", "370202", "532901"]), 2000)
    bodies = rng.integers(0, 10**8, 2000)
    codes = uscc_codes(areas, bodies)
    assert list(codes) == [make_uscc(a, f"{b:08d}") for a, b in zip(areas, bodies, strict=True)]
    assert all(is_valid_uscc(c) for c in codes)


def test_vectorized_resident_ids_match_the_scalar_reference():
    rng = np.random.default_rng(4)
    areas = rng.choice(np.array(["370202", "370203", "330281"]), 2000)
    births = birth_dates(rng, 2000, date(1950, 1, 1), date(2006, 12, 31))
    seqs = rng.integers(0, 1000, 2000)
    ids = resident_id_codes(areas, births, seqs)
    expected = [
        make_resident_id(a, pd.Timestamp(b).date(), int(s)) for a, b, s in zip(areas, births, seqs, strict=True)
    ]
    assert list(ids) == expected
    assert all(is_valid_resident_id(i) for i in ids)


def test_serials_pad_and_handle_empty():
    assert list(serials("V", 3, 4, start=8)) == ["V0008", "V0009", "V0010"]
    assert len(serials("V", 0, 4)) == 0
