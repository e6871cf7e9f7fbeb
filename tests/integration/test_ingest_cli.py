"""`datafactory pulls` lists what ingest recorded: pulls with their accounting, and file receipts."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.deliver import Scale, Targets, deliver_everything
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones
from tests.conftest import run_cli

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)


def test_pulls_command_shows_accounting_notes_and_files(settings, factory_env):
    specs = {n: s for n, s in load_sources(settings.repo).items() if n in ("bld_buildings", "sup_outcomes")}
    landing = LocalLanding(settings.home / "upstream" / "landing")
    deliver_everything(Targets(landing=landing), specs, settings.seed, Scale(200), DAY, DAY)
    for spec in specs.values():
        ingest(
            spec,
            DAY,
            "run-cli",
            upstream=Upstream(landing=landing),
            ledger=Ledger(sa.create_engine(settings.state_url)),
            zones=Zones(settings.home),
            pseudonym_key=b"k",
        )
    done = run_cli(["pulls", "--details"], factory_env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "received = landed + dup + quarantined" in done.stdout
    assert "bld_buildings" in done.stdout and "sup_outcomes" in done.stdout
    assert "建筑面积->floor_area" in done.stdout  # the mapped rename is reported
    files = run_cli(["pulls", "--files", "--source", "bld_buildings"], factory_env, timeout=300)
    assert files.returncode == 0 and "bld_buildings_20261101.xlsx" in files.stdout and "landed" in files.stdout
    assert "sup_outcomes" not in files.stdout
