from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from datafactory.products.banding import band
from datafactory.sources.watermark import advance, pull_window

pytestmark = pytest.mark.unit


def test_pull_window_ends_at_the_end_of_the_logical_date():
    lower, upper = pull_window(datetime(2026, 11, 1, 12), date(2026, 11, 2))
    assert lower == datetime(2026, 11, 1, 12)
    assert upper == datetime(2026, 11, 3)


def test_advance_takes_newest_and_never_moves_back():
    old = datetime(2026, 11, 2)
    assert advance(None, pd.Series(["2026-11-01 10:00", "2026-11-01 11:00"])) == datetime(2026, 11, 1, 11)
    assert advance(old, pd.Series(["2026-11-01 10:00"])) == old
    assert advance(old, pd.Series([], dtype="datetime64[ns]")) == old


def test_band_edges_are_exclusive_upper_bounds():
    bounds = {"low": 200, "medium": 500, "high": 800, "very_high": 1001}
    assert band(np.array([0, 199, 200, 499, 500, 800, 1000]), bounds).tolist() == [
        "low",
        "low",
        "medium",
        "medium",
        "high",
        "very_high",
        "very_high",
    ]


def test_band_rejects_non_increasing_bounds():
    with pytest.raises(ValueError, match="increase"):
        band(np.array([1]), {"a": 500, "b": 200})
