"""Every feed through its own channel (exchange DB, platform API on loopback, file drops), two days,
ingest and conform: every row accounted for, no raw personal value in the raw or conformed zones."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.domain.identifiers import is_valid_resident_id
from datafactory.quality.conform import conform
from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.api_server import ApiFaults, PlatformApi
from datafactory.sources.simulator.deliver import Scale, Targets, day_tables, deliver_everything
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
FIRST = date(2026, 11, 1)
SCALE = Scale(300)
RESIDENT_ID = re.compile(r"\b\d{17}[\dX]\b")
MOBILE = re.compile(r"\b1[3-9]\d{9}\b")


def test_all_feeds_two_days_fully_accounted_and_no_personal_values(settings):
    specs = load_sources(settings.repo)
    assert len({s.channel for s in specs.values()}) == 3 and len(specs) >= 19
    (settings.home / "upstream").mkdir(parents=True)
    targets = Targets(
        sa.create_engine(settings.exchange_url),
        sa.create_engine(settings.platform_url),
        LocalLanding(settings.home / "landing"),
    )
    ledger = Ledger(sa.create_engine(settings.state_url))
    zones = Zones(settings.home)
    faults = ApiFaults(error_rate=0.1, repeat_rate=0.1, seed=3)
    with PlatformApi(settings.platform_url, "app", "secret", faults=faults) as api:
        upstream = Upstream(targets.exchange, ApiChannel(api.url, "app", "secret"), targets.landing)
        for day in (FIRST, FIRST + timedelta(days=1)):
            delivered = deliver_everything(targets, specs, settings.seed, SCALE, FIRST, day)
            assert all(delivered.values())
            for name, spec in specs.items():
                pulled = ingest(
                    spec, day, "run-a", upstream=upstream, ledger=ledger, zones=zones,
                    pseudonym_key=b"k", sm4_key=bytes(16),
                )  # fmt: skip
                assert pulled.rows >= 1, (name, day)
                assert pulled.rows_received == pulled.rows + pulled.rows_duplicate + pulled.rows_quarantined
                checked = conform(spec, load_suite(settings.repo, spec.suite), day, "run-a", zones)
                assert checked["rows_in"] == pulled.rows == checked["rows_conformed"] + checked["rows_quarantined"]
                again = ingest(spec, day, "run-b", upstream=upstream, ledger=ledger, zones=zones, pseudonym_key=b"k")
                assert again.reused and again.rows == pulled.rows
    personal = _personal_values(settings.seed)
    for zone in ("raw", "conformed"):
        for path in (settings.home / zone).rglob("*.parquet"):
            text = " ".join(pd.read_parquet(path).astype(str).to_numpy().ravel())
            assert not [m for m in RESIDENT_ID.findall(text) if is_valid_resident_id(m)], path
            assert not MOBILE.findall(text), path
            assert not any(v in text for v in personal), path


def _personal_values(seed: int) -> list[str]:
    """Raw names, IDs and phones the simulator sent (a sample from each feed that carries them)."""
    tables = day_tables(seed, SCALE, FIRST, 0)
    columns = {
        "ent_registry": ["legal_rep_id", "legal_rep_name", "legal_rep_phone"],
        "med_visits": ["person_id", "patient_name"],
        "uw_decisions": ["person_id", "applicant_phone"],
    }
    values = []
    for feed, cols in columns.items():
        for col in cols:
            values += [v for v in tables[feed][col].dropna().astype(str).head(40) if len(v) >= 3]
    return values
