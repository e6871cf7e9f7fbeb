"""The exchange-DB channel against the real PostgreSQL: incremental, exactly once, fully accounted."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.quality.conform import conform
from datafactory.sources.ingest import ingest
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.deliver import deliver_day
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
FIRST = date(2026, 11, 1)


def test_two_days_from_postgres_pull_each_row_once(settings, postgres_url):
    upstream = sa.create_engine(postgres_url)
    ledger = Ledger(sa.create_engine(settings.state_url))
    zones = Zones(settings.home)
    spec = load_sources(settings.repo)["ent_registry"]
    suite = load_suite(settings.repo, spec.suite)
    pulled = []
    for day in (FIRST, date(2026, 11, 2)):
        assert deliver_day(upstream, settings.seed, 800, FIRST, day) > 0
        assert deliver_day(upstream, settings.seed, 800, FIRST, day) == 0  # delivered exactly once
        first = ingest(spec, day, "run-a", upstream=upstream, ledger=ledger, zones=zones, pseudonym_key=b"k")
        again = ingest(spec, day, "run-b", upstream=upstream, ledger=ledger, zones=zones, pseudonym_key=b"k")
        assert not first.reused and again.reused and again.rows == first.rows
        result = conform(spec, suite, day, "run-a", zones)
        assert result["rows_in"] == first.rows == result["rows_conformed"] + result["rows_quarantined"]
        pulled.append(first.rows)
    with upstream.connect() as conn:
        upstream_rows = conn.execute(sa.text("select count(*) from ent_registry")).scalar()
    assert sum(pulled) == upstream_rows  # incremental windows neither overlap nor leave gaps
    raw = pd.read_parquet(zones.raw_partition("ent_registry", FIRST))
    assert raw["legal_rep_id"].str.startswith("p_").all()  # pseudonymized before the raw zone
    snapshot = pd.read_parquet(zones.conformed("ent_registry", date(2026, 11, 2)))
    assert not snapshot["uscc"].duplicated().any()
    assert (snapshot["status"] == "revoked").sum() > 0  # day-two updates replaced day-one rows
    upstream.dispose()
