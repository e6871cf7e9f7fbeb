import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.sources.drift import Drift, align, detect, first_present, observed_kind
from datafactory.specs import SourceSpec

pytestmark = pytest.mark.unit


def _spec(**extra) -> SourceSpec:
    return SourceSpec(
        name="feed",
        description="",
        channel="files",
        table="feed",
        keys=["id"],
        watermark_column="updated_at",
        columns={"id": "string", "amount": "float", "period": "string", "updated_at": "timestamp"},
        **extra,
    )


def _frame(**columns) -> pd.DataFrame:
    base = {"id": ["a", "b"], "amount": [1.5, 2.0], "period": ["2026-01", "2026-02"], "updated_at": ["2026-11-01"] * 2}
    base.update(columns)
    return pd.DataFrame({k: v for k, v in base.items() if v is not None})


def test_matching_frame_has_no_drift():
    frame, drift = align(_frame(), _spec())
    assert not drift and list(frame.columns) == ["id", "amount", "period", "updated_at"]


def test_known_rename_is_mapped_and_reported():
    raw = _frame(amount=None).assign(金额=[1.0, 2.0])
    frame, drift = align(raw, _spec(renames={"金额": "amount"}))
    assert "amount" in frame and drift.renamed == {"金额": "amount"} and not drift.blocking
    assert "mapped by spec" in drift.summary("feed")


def test_unknown_rename_blocks_and_suggests_the_mapping():
    raw = _frame(amount=None).assign(amt=[1.0, 2.0])
    frame, drift = align(raw, _spec())
    assert drift.blocking and drift.missing == ["amount"] and drift.extra == ["amt"]
    assert "amt" not in frame  # undeclared columns never reach the raw zone
    assert "renames:" in drift.summary("feed") and "sources/feed.yaml" in drift.summary("feed")


def test_retyped_columns_are_reported_not_coerced():
    raw = _frame(period=[202601, 202602], amount=["1.234,50", "n/a"])  # a European decimal comma: no declared form
    frame, drift = align(raw, _spec())
    assert set(drift.retyped) == {"period", "amount"}
    assert "declared string, delivered int" in drift.retyped["period"]
    assert frame["period"].tolist() == [202601, 202602]  # left as delivered: conform quarantines what won't cast


def test_text_that_reads_as_the_declared_kind_is_not_drift():
    assert not detect(_frame(amount=["1.5", "2"]), _spec().kinds).retyped
    assert not detect(_frame(amount=["1,234.50", "２"]), _spec().columns).retyped  # thousands, full width


@pytest.mark.parametrize(
    "values,kind",
    [([1, 2], "int"), ([1.0, None], "int"), ([1.5, 2.0], "float"), (["x"], "string"), ([None, None], "empty")],
)
def test_observed_kind(values, kind):
    assert observed_kind(pd.Series(values)) == kind


def test_merge_unions_findings():
    merged = Drift(missing=["a"]).merge(Drift(extra=["b"], retyped={"c": "x"}))
    assert merged.missing == ["a"] and merged.extra == ["b"] and merged.retyped == {"c": "x"}


@settings(max_examples=80, deadline=None)
@given(
    values=st.lists(st.one_of(st.none(), st.text(max_size=3)), max_size=60),
    count=st.integers(min_value=1, max_value=12),
)
def test_the_first_present_values_are_the_ones_a_whole_column_scan_finds(values, count):
    """Drift reads a column's first values without scanning it whole when its head holds them; missing
    values anywhere (a sparse head, a column of nulls) must not change which values it reads."""
    series = pd.Series(values, dtype=object)
    pd.testing.assert_series_equal(first_present(series, count), series.dropna().head(count))
