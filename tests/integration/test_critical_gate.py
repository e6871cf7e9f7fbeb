"""A critical failure (an empty day the feed does not expect, lost rows, a broken schema) stops with one line
and holds every row; an empty day the feed declares normal, or a duplicate-only day, does not."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest

from datafactory.quality.conform import QualityGateError, conform
from datafactory.quality.parameters import Delivered
from datafactory.sources.simulator.enterprise import enterprise_delivery
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones, write_partition_atomic

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)
DELIVERY_CHECK = "expect_table_row_count_to_account_for_delivery"


@pytest.fixture
def registry(settings):
    spec = load_sources(settings.repo)["ent_registry"]
    return spec, load_suite(settings.repo, spec.suite), Zones(settings.home)


def test_schema_broken_feed_is_held_whole(registry):
    spec, suite, zones = registry
    frame = enterprise_delivery(7, 200, DAY, 0)["ent_registry"].drop(columns=["name"])
    write_partition_atomic(frame, zones.raw_partition(spec.name, DAY))
    with pytest.raises(QualityGateError) as err:
        conform(spec, suite, DAY, "run-x", zones)
    message = str(err.value)
    assert "\n" not in message and "missing columns ['name']" in message
    quarantined = pd.read_parquet(zones.quarantine_partition(spec.name, DAY))
    assert len(quarantined) == len(frame)
    assert quarantined["_failed_expectations"].str.contains("expect_table_columns_to_match_set").all()
    assert zones.conformed_as_of(spec.name, DAY) is None  # nothing half-applied


def _deliver(zones: Zones, spec, frame: pd.DataFrame, day: date = DAY) -> None:
    write_partition_atomic(frame, zones.raw_partition(spec.name, day))


def _registry_rows(rows: int, day_index: int = 0) -> pd.DataFrame:
    return enterprise_delivery(7, 200, DAY, day_index)["ent_registry"].head(rows)


def test_an_empty_day_stops_a_feed_whose_spec_says_empty_days_are_critical(registry):
    spec, suite, zones = registry
    assert spec.empty_day == "critical"
    _deliver(zones, spec, _registry_rows(0))
    with pytest.raises(QualityGateError, match="nothing delivered; empty days are critical"):
        conform(spec, suite, DAY, "run-x", zones, Delivered(rows_received=0, rows_landed=0))


def test_an_empty_day_passes_when_the_feed_declares_empty_days_normal_and_keeps_yesterdays_rows(registry):
    spec, suite, zones = registry
    spec = spec.revised(empty_day="normal")
    before = DAY - timedelta(days=1)
    _deliver(zones, spec, _registry_rows(40), before)
    first = conform(spec, suite, before, "run-0", zones, Delivered(rows_received=40, rows_landed=40))
    _deliver(zones, spec, _registry_rows(0))
    result = conform(spec, suite, DAY, "run-1", zones, Delivered(rows_received=0, rows_landed=0))
    assert result["rows_in"] == 0 and not result["critical"]
    outcome = next(e for e in result["expectations"] if e["expectation"] == DELIVERY_CHECK)
    assert outcome["success"] and "nothing delivered" in outcome["observed"]
    snapshot = pd.read_parquet(zones.conformed(spec.name, DAY))
    previous = pd.read_parquet(zones.conformed(spec.name, before))
    assert len(snapshot) == first["rows_conformed"] > 0  # the empty day changes nothing downstream
    assert snapshot.dtypes.to_dict() == previous.dtypes.to_dict()  # nor the column types features read


def test_a_duplicate_only_day_loses_nothing_and_passes_even_for_a_critical_feed(registry):
    spec, suite, zones = registry
    _deliver(zones, spec, _registry_rows(0))
    result = conform(spec, suite, DAY, "run-x", zones, Delivered(rows_received=25, rows_landed=0))
    outcome = next(e for e in result["expectations"] if e["expectation"] == DELIVERY_CHECK)
    assert outcome["success"] and "25 delivered, all set aside" in outcome["observed"]


def test_rows_lost_between_the_pull_and_the_gate_stop_the_chain(registry):
    spec, suite, zones = registry
    _deliver(zones, spec, _registry_rows(30))
    with pytest.raises(QualityGateError, match="30 rows in the batch but the pull landed 35: rows were lost"):
        conform(spec, suite, DAY, "run-x", zones, Delivered(rows_received=40, rows_landed=35))


def test_without_a_ledger_record_an_empty_batch_is_judged_by_the_spec_alone(registry):
    spec, suite, zones = registry
    _deliver(zones, spec, _registry_rows(0))
    with pytest.raises(QualityGateError, match="no rows; empty days are critical"):
        conform(spec, suite, DAY, "run-x", zones)
