"""The batched personal-data path (Arrow text, pseudonyms over distinct values) gives exactly what the
row-by-row reference gives, for text, numbers, mixed values, nulls, blanks and full-width forms."""

import numpy as np
import pandas as pd
import pytest
from cryptography.hazmat.primitives import hashes, hmac

from datafactory.domain.identifiers import is_mobile, is_valid_resident_id
from datafactory.quality.parsing import parse_column
from datafactory.secrets import Key
from datafactory.sources.protect import PiiRule, protect
from datafactory.sources.pseudonymize import decrypt_value, pseudonym, pseudonymize_column
from datafactory.specs import ColumnSpec

pytestmark = pytest.mark.unit
KEY = b"perf-key"
SM4 = bytes(range(16))
UPPER = ColumnSpec(kind="string", normalize="nfkc", case="upper")


def _reference(values: pd.Series, declared: ColumnSpec) -> list:
    """The row-by-row path protect used before batching: str() each present value, then parse."""
    text = values.astype(object).where(values.notna(), None).map(lambda v: v if v is None else str(v))
    parsed = parse_column(text, declared.model_copy(update={"kind": "string"})).values.astype(object)
    return [None if v is None or v is pd.NA else v for v in parsed.where(values.notna().to_numpy(), None)]


COLUMNS = {
    "text": [
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２Ｘ",
        None,
        " 110105194912310021 ",
        "",
        "  ",
        "11010519491231002X",
    ],
    "numbers": [13812345678, 12812345678, 13812345678, 1, 2, 3, 4],
    "floats": [1.5, np.nan, 2.0, 3.25, np.nan, 1e20, 0.0],
    "mixed": ["13812345678", 13812345678, None, np.nan, pd.NA, "x", 7.5],
    "strings": pd.array(["a", None, "b", "a", "  ", "Ｂ", "c"], dtype="string"),
}


@pytest.mark.parametrize("name", list(COLUMNS))
def test_pseudonyms_and_checks_match_the_row_by_row_reference(name):
    frame = pd.DataFrame({"id": range(7), "p": COLUMNS[name]})
    rules = [PiiRule("p", "pseudonymize", "resident_id", UPPER)]
    before = frame.copy()
    out = protect(frame, rules, KEY, None)
    pd.testing.assert_frame_equal(frame, before)  # the caller's frame is left as it was
    raw = _reference(frame["p"], UPPER)
    assert out["p"].dtype == object
    assert out["p"].tolist() == [None if v is None else pseudonym(v, KEY) for v in raw]
    assert out["p_valid"].tolist() == [pd.NA if v is None else int(is_valid_resident_id(v)) for v in raw]
    assert out["id"].tolist() == list(range(7))


def test_mobile_checks_and_encryption_match_the_reference():
    frame = pd.DataFrame({"m": COLUMNS["mixed"]})
    out = protect(frame, [PiiRule("m", "pseudonymize_and_encrypt", "mobile", UPPER)], KEY, SM4)
    raw = _reference(frame["m"], UPPER)
    assert out["m_valid"].tolist() == [pd.NA if v is None else int(is_mobile(v)) for v in raw]
    assert out["m_sm4"].dtype == object
    assert [None if t is None else decrypt_value(t, SM4, b"m") for t in out["m_sm4"]] == raw


def test_pseudonym_column_equals_one_hmac_per_value_under_a_rotated_key():
    key = Key(b"second-key", "2", {"1": b"first", "2": b"second-key"})
    values = pd.Series(["a", None, "b", "a", "中文"], dtype="string[pyarrow]")
    column = pseudonymize_column(values, key)
    for value, got in zip(values, column, strict=True):
        if value is pd.NA:
            assert got is None
            continue
        mac = hmac.HMAC(b"second-key", hashes.SM3())
        mac.update(value.encode())
        assert got == "p2_" + mac.finalize().hex()[:32] == pseudonym(value, key)
