"""Region partitions: which region a row belongs to, the streamed split, and the feed-level result."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.partitioning import region_column
from datafactory.partitioning.regions import (
    HELD_REASON,
    UNKNOWN_REGION,
    RegionZones,
    batch_label,
    batch_regions,
    combine_results,
    region_codes,
    split_by_region,
)
from datafactory.specs import SourceSpec
from datafactory.zones import Zones

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 1)


def _spec(columns: dict[str, str]) -> SourceSpec:
    return SourceSpec(
        name="feed",
        description="",
        channel="exchange_db",
        table="feed",
        keys=list(columns)[:1],
        watermark_column="updated_at",
        columns={**columns, "updated_at": "timestamp"},
    )


def test_feeds_with_a_uscc_region_code_or_period_are_partitioned_and_others_are_not():
    assert region_column(_spec({"uscc": "string", "region_code": "string", "period": "string"})) == "uscc"
    assert region_column(_spec({"building_id": "string", "region_code": "string"})) == "region_code"
    assert region_column(_spec({"meter_id": "string", "period": "string"})) == "period"
    assert region_column(_spec({"meter_id": "string"})) is None


def test_region_is_the_usccs_area_code_and_unknown_when_it_has_none():
    values = pa.array(["91330281000000000Q", "91370102MA3C12345X", None, "short", "91ABCDEF000000000Q"])
    assert region_codes(values, "uscc").to_pylist() == ["330281", "370102", *[UNKNOWN_REGION] * 3]
    assert region_codes(pa.array(["532901", "", None]), "region_code").to_pylist() == [
        "532901",
        UNKNOWN_REGION,
        UNKNOWN_REGION,
    ]
    periods = pa.array(["2025-03", "2025-13", "2025-3", None])
    assert region_codes(periods, "period").to_pylist() == ["2025-03", *[UNKNOWN_REGION] * 3]


def _raw(zones: Zones, frame: pd.DataFrame) -> None:
    folder = zones.raw_partition("feed", DAY)
    folder.mkdir(parents=True)
    frame.to_parquet(folder / "part-0.parquet", index=False)


def test_split_streams_every_row_into_exactly_one_region_slice(tmp_path):
    zones = Zones(tmp_path)
    uscc = ["91330281000000000Q"] * 5 + ["91370102000000001Q"] * 3 + [None] * 2
    frame = pd.DataFrame({"uscc": uscc, "amount": range(10), "updated_at": pd.Timestamp("2026-11-01")})
    _raw(zones, frame)
    counts = split_by_region(_spec({"uscc": "string", "amount": "int"}), zones, DAY, batch_rows=3)
    assert counts == {"330281": 5, "370102": 3, UNKNOWN_REGION: 2}
    slices = {r: pd.read_parquet(RegionZones(tmp_path, "feed", r).raw_partition("feed", DAY)) for r in counts}
    together = pd.concat(slices.values()).sort_values("amount").reset_index(drop=True)
    pd.testing.assert_frame_equal(together, pd.read_parquet(zones.raw_partition("feed", DAY)))
    assert list(slices["330281"]["amount"]) == [0, 1, 2, 3, 4]


def test_an_empty_delivery_still_yields_one_batch_to_check(tmp_path):
    zones = Zones(tmp_path)
    _raw(zones, pd.DataFrame({"uscc": pd.Series([], dtype="string"), "amount": pd.Series([], dtype="int64")}))
    assert split_by_region(_spec({"uscc": "string", "amount": "int"}), zones, DAY) == {UNKNOWN_REGION: 0}


def test_a_region_reads_its_own_snapshots_and_the_other_feeds_feed_level_ones(tmp_path):
    zones = RegionZones(tmp_path, "feed", "330281")
    assert zones.conformed("feed", DAY).is_relative_to(tmp_path / "partitions" / "feed" / "region=330281")
    assert zones.conformed("ent_registry", DAY) == Zones(tmp_path).conformed("ent_registry", DAY)


def _result(rows_in: int, conformed: int, quarantined: int, critical=(), success=True) -> dict:
    return {
        "rows_in": rows_in,
        "rows_conformed": conformed,
        "rows_quarantined": quarantined,
        "rows_released": 0,
        "previous_rows_in": None,
        "critical": list(critical),
        "warnings": [],
        "failures_by_expectation": {} if success else {"expect_x(a)": quarantined},
        "expectations": [
            {
                "label": "expect_x(a)",
                "success": success,
                "unexpected_count": 0 if success else quarantined,
                "sample_values": [] if success else ["v"],
                "observed": None,
                "severity": "quarantine",
            }
        ],
    }


def test_the_feed_result_adds_up_its_regions():
    spec = _spec({"uscc": "string"})
    results = {"330281": _result(10, 8, 2, success=False), "370102": _result(5, 5, 0)}
    combined = combine_results(spec, DAY, "run", results, held=False)
    assert (combined["rows_in"], combined["rows_conformed"], combined["rows_quarantined"]) == (15, 13, 2)
    assert combined["failures_by_expectation"] == {"expect_x(a)": 2}
    [expectation] = combined["expectations"]
    assert expectation["success"] is False and expectation["unexpected_count"] == 2
    assert expectation["observed"] == {"330281": None}
    assert set(combined["partitions"]) == {"330281", "370102"}


def test_a_held_batch_conforms_nothing_and_says_why_for_every_row():
    spec = _spec({"uscc": "string"})
    critical = _result(4, 0, 4, critical=["expect_table_row_count_to_be_between: 0"])
    held = {**_result(6, 0, 6), "held_rows": 6}
    combined = combine_results(spec, DAY, "run", {"330281": critical, "370102": held}, held=True)
    assert combined["rows_conformed"] == 0
    assert combined["rows_quarantined"] == combined["rows_in"] == 10
    assert combined["failures_by_expectation"][HELD_REASON] == 6
    assert combined["critical"] == ["region 330281: expect_table_row_count_to_be_between: 0"]


def test_a_feed_with_key_buckets_is_split_by_a_stable_hash_of_its_first_key():
    spec = _spec({"visit_id": "string", "period": "string"}).revised(key_buckets=4)
    assert region_column(spec) == "visit_id"
    keys = pa.array([f"V{i}" for i in range(400)] + [None])
    codes = region_codes(keys, "visit_id", buckets=4).to_pylist()
    assert codes == region_codes(keys, "visit_id", buckets=4).to_pylist()  # the same key, the same bucket
    assert set(codes[:400]) == {"k00", "k01", "k02", "k03"} and codes[400] == UNKNOWN_REGION
    assert max(codes.count(f"k0{b}") for b in range(4)) < 140  # about a quarter each


@settings(max_examples=300, deadline=None)
@given(
    rows=st.dictionaries(st.from_regex(r"\d{6}", fullmatch=True), st.integers(0, 2_000_000), max_size=40),
    min_rows=st.integers(1, 3_000_000),
)
def test_batches_take_every_region_once_in_order_and_close_as_soon_as_they_are_full(rows, min_rows):
    batches = batch_regions(rows, min_rows)
    assert [r for batch in batches for r in batch] == list(rows)  # each region once, none lost, order kept
    assert all(batches)
    for batch in batches[:-1]:  # a batch closes at min_rows: full, and not full one region earlier
        held = [rows[r] for r in batch]
        assert sum(held) >= min_rows > sum(held[:-1])
    if batches:
        assert sum(rows[r] for r in batches[-1][:-1]) < min_rows


def test_a_big_region_has_a_task_of_its_own_and_small_ones_share_one():
    rows = {"330281": 900_000, "330502": 40, "370102": 12, "370202": 300_000, UNKNOWN_REGION: 3}
    assert batch_regions(rows, 250_000) == [["330281"], ["330502", "370102", "370202"], [UNKNOWN_REGION]]
    assert batch_regions(rows, 1) == [[r] for r in rows]
    assert batch_label(["330281"]) == "330281"
    assert batch_label(["330502", "370102", "370202"]) == "330502..370202 (3 partitions)"
