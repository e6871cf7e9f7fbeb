"""Row identities computed the fast way (numpy's stamp formatter, hashing without factorizing) equal the
reference formulation: strftime text per stamp, hashed by pandas with its defaults."""

import numpy as np
import pandas as pd
import pytest

from datafactory.sources.dedupe import identities

pytestmark = pytest.mark.unit
FORMAT = "%Y-%m-%d %H:%M:%S.%f"


def _reference(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    def text(series: pd.Series) -> pd.Series:
        if pd.api.types.is_datetime64_any_dtype(series):
            return series.dt.strftime(FORMAT).fillna("\x00")
        return series.astype(str).where(series.notna(), "\x00")

    return pd.util.hash_pandas_object(pd.DataFrame({c: text(frame[c]) for c in columns}), index=False).to_numpy()


STAMPS = ["2026-11-01 08:00:01.5", None, "1999-01-02 00:00:00", "2026-11-01 23:59:59.999999", "2026-11-01 08:00:01.5"]


@pytest.mark.parametrize("unit", ["ns", "us", "ms", "s"])
def test_stamp_identities_equal_the_strftime_reference(unit):
    stamps = pd.Series(pd.to_datetime(STAMPS, format="mixed")).astype(f"datetime64[{unit}]")
    frame = pd.DataFrame({"id": ["a", "b", None, "d", "a"], "at": stamps})
    assert np.array_equal(identities(frame, ["id", "at"]), _reference(frame, ["id", "at"]))


def test_other_columns_and_stamps_outside_four_digit_years_equal_the_reference():
    far = pd.Series(np.array(["0999-01-01T00:00:00", "2026-01-01", "NaT"], dtype="datetime64[us]"))
    aware = pd.Series(pd.to_datetime(["2026-11-01 08:00", None, "2026-11-02 00:00"])).dt.tz_localize("Asia/Shanghai")
    frame = pd.DataFrame({"n": [1, 2, 3], "x": [1.5, np.nan, 2.0], "far": far, "aware": aware, "t": ["a", "", None]})
    for columns in (["n", "x"], ["far"], ["aware"], ["t", "n"]):
        assert np.array_equal(identities(frame, columns), _reference(frame, columns))
