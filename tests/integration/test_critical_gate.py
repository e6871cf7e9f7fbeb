"""A critical failure (empty or schema-broken feed) stops with one line and holds every row."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from datafactory.quality.conform import QualityGateError, conform
from datafactory.sources.simulator.enterprise import enterprise_delivery
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones, write_partition_atomic

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)


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


def test_empty_feed_stops_the_chain(registry):
    spec, suite, zones = registry
    empty = enterprise_delivery(7, 200, DAY, 0)["ent_registry"].head(0)
    write_partition_atomic(empty, zones.raw_partition(spec.name, DAY))
    with pytest.raises(QualityGateError, match="expect_table_row_count_to_be_between"):
        conform(spec, suite, DAY, "run-x", zones)
