"""Conform three simulated days of the enterprise feeds with the real suites and GE, then check the
accounting of every feed and run, the quarantine contents, a release after a fix, the operator
CLI, and that reports and Data Docs never show a personal value."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from datafactory.quality.conform import conform
from datafactory.quality.quarantine_view import list_quarantine
from datafactory.quality.references import conform_after
from datafactory.quality.release import release
from datafactory.quality.report import write_reports
from datafactory.quality.split import REASON_COLUMN, ROW_COLUMN
from datafactory.sources.protect import pii_rules, protect
from datafactory.sources.simulator.defects import DefectPlan, inject_defects
from datafactory.sources.simulator.enterprise import enterprise_delivery
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones, write_partition_atomic
from tests.conftest import run_cli

pytestmark = pytest.mark.integration
FEEDS = [
    "ent_registry",
    "ent_tax_monthly",
    "ent_social_insurance",
    "ent_admin_penalty",
    "ent_court_enforcement",
    "loan_fraud_outcome",
]
BASE = date(2026, 11, 1)
DAYS = [BASE + timedelta(days=d) for d in range(3)]
REVENUE_CHECK = "expect_column_values_to_be_non_negative(revenue)"
RATE = 0.01
PLANS = {  # the defects real returned data carries, at a rate high enough to show in 400 firms
    "ent_registry": DefectPlan(
        key=["uscc"],
        not_null=["name"],
        uscc=["uscc"],
        resident_id=["legal_rep_id"],
        dates=["established_date"],
        amounts=["registered_capital"],
        rate=RATE,
    ),
    "ent_tax_monthly": DefectPlan(key=["uscc", "period"], uscc=["uscc"], amounts=["revenue", "tax_paid"], rate=RATE),
    "ent_social_insurance": DefectPlan(key=["uscc", "period"], not_null=["headcount"], rate=RATE),
    "ent_admin_penalty": DefectPlan(key=["penalty_id"], dates=["decision_date"], amounts=["amount"], rate=RATE),
    "ent_court_enforcement": DefectPlan(key=["case_no"], dates=["filed_date"], amounts=["amount"], rate=RATE),
    "loan_fraud_outcome": DefectPlan(key=["application_id"], not_null=["is_fraud"], rate=RATE),
}


def _ordered(feeds: list[str]) -> list[str]:
    after = conform_after(feeds)
    done: list[str] = []
    while len(done) < len(feeds):
        done += [f for f in feeds if f not in done and set(after.get(f, [])) <= set(done)]
    return done


@pytest.fixture(scope="module")
def factory(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("quality") / "var"
    zones = Zones(home)
    from datafactory.settings import load_settings

    repo = load_settings().repo
    specs = load_sources(repo)
    raw_people: set[str] = set()
    results = {}
    for offset, day in enumerate(DAYS):
        rng = np.random.default_rng([7, 2, offset])
        for table, frame in enterprise_delivery(7, 400, BASE, offset).items():
            if table in FEEDS:
                dirty = inject_defects(frame, PLANS[table], rng)
                for column in specs[table].pii:
                    raw_people |= set(dirty[column].dropna().astype(str))
                # as ingest lands it: identifiers checked in clear, then pseudonymized
                landed = protect(dirty, pii_rules(specs[table]), b"test-key-not-a-secret", None)
                write_partition_atomic(landed, zones.raw_partition(table, day))
        for feed in _ordered(FEEDS):
            spec = specs[feed]
            results[(feed, day)] = conform(spec, load_suite(repo, spec.suite), day, f"run-{offset}", zones)
        write_reports(zones, day)
    return {"home": home, "zones": zones, "specs": specs, "repo": repo, "results": results, "people": raw_people}


def test_every_feed_and_run_is_fully_accounted(factory):
    assert len(factory["results"]) == len(FEEDS) * len(DAYS)
    for (feed, day), result in factory["results"].items():
        assert result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"], (feed, day)
        held = pd.read_parquet(factory["zones"].quarantine_partition(feed, day))
        assert len(held) == result["rows_quarantined"]
        raw = pd.read_parquet(factory["zones"].raw_partition(feed, day))
        assert result["rows_in"] == len(raw)
    assert sum(r["rows_quarantined"] for r in factory["results"].values()) > 0


def test_each_quarantined_row_says_which_expectations_run_and_feed(factory):
    for (feed, day), result in factory["results"].items():
        held = pd.read_parquet(factory["zones"].quarantine_partition(feed, day))
        if held.empty:
            continue
        assert held[REASON_COLUMN].str.len().gt(0).all()
        assert set(held["_run_id"]) == {result["run_id"]} and set(held["_source"]) == {feed}
        labels = {label for reasons in held[REASON_COLUMN] for label in reasons.split("; ")}
        assert labels <= set(result["failures_by_expectation"])


def test_resident_ids_are_judged_before_pseudonymization(factory):
    result = factory["results"][("ent_registry", DAYS[0])]
    held = pd.read_parquet(factory["zones"].quarantine_partition("ent_registry", DAYS[0]))
    label = "expect_column_values_to_be_in_set(legal_rep_id_valid)"
    assert result["failures_by_expectation"].get(label, 0) > 0
    assert held[REASON_COLUMN].str.contains(label, regex=False).sum() == result["failures_by_expectation"][label]
    assert held["legal_rep_id"].str.startswith("p_").all()  # only pseudonyms ever land


def test_referential_integrity_quarantines_tax_rows_of_unknown_enterprises(factory):
    zones = factory["zones"]
    registry = pd.read_parquet(zones.conformed_as_of("ent_registry", DAYS[0]))
    tax = pd.read_parquet(zones.conformed_as_of("ent_tax_monthly", DAYS[0]))
    assert tax["uscc"].isin(registry["uscc"]).all()
    assert (
        "expect_column_values_to_exist_in_reference(uscc)"
        in factory["results"][("ent_tax_monthly", DAYS[0])]["failures_by_expectation"]
    )


def test_release_after_a_fix_moves_only_rows_that_now_pass_and_never_twice(factory):
    zones, spec = factory["zones"], factory["specs"]["ent_tax_monthly"]
    day = DAYS[0]
    before = pd.read_parquet(zones.quarantine_partition(spec.name, day))
    only_revenue = before[before[REASON_COLUMN] == REVENUE_CHECK]
    assert len(only_revenue) > 0
    suite = load_suite(factory["repo"], spec.suite)  # the fix: negative revenue is allowed
    fixed = suite.model_copy(
        update={
            "expectations": [
                e for e in suite.expectations if e.kwargs.get("column") != "revenue" or "non_negative" not in e.type
            ]
        }
    )
    first = release(spec, fixed, day, zones)
    assert first.released == len(only_revenue) and first.remaining == len(before) - len(only_revenue)
    after = pd.read_parquet(zones.quarantine_partition(spec.name, day))
    assert not after[ROW_COLUMN].isin(only_revenue[ROW_COLUMN]).any()
    result = json.loads(zones.quality_result(day, spec.name).read_text())
    assert result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]
    assert result["rows_released"] == first.released and result["rows_quarantined"] == first.remaining
    for snapshot in sorted((zones.home / "conformed" / spec.name).glob("ds=*.parquet")):
        table = pd.read_parquet(snapshot)
        assert not table.duplicated(["uscc", "period"]).any()
        released_keys = set(zip(only_revenue["uscc"], only_revenue["period"], strict=True))
        assert released_keys <= set(zip(table["uscc"], table["period"], strict=True)), snapshot.name
    again = release(spec, fixed, day, zones)
    assert again.released == 0 and again.remaining == first.remaining
    assert json.loads(zones.quality_result(day, spec.name).read_text())["rows_released"] == first.released


def test_operator_lists_and_releases_from_the_cli(factory):
    env = {"DATAFACTORY_HOME": str(factory["home"])}
    listed = run_cli(["quarantine", "list", "--source", "ent_registry", "--date", DAYS[0].isoformat()], env)
    assert listed.returncode == 0, listed.stderr
    entries = list_quarantine(factory["zones"], "ent_registry", DAYS[0])
    assert f"{entries[0].rows} row(s) in quarantine" in listed.stdout and "ent_registry" in listed.stdout
    moved = run_cli(["quarantine", "release", "--source", "ent_registry", "--date", DAYS[0].isoformat()], env)
    assert moved.returncode == 0 and "released 0" in moved.stdout  # nothing fixed: everything stays
    missing = run_cli(["quarantine", "release", "--source", "ent_registry", "--date", "2030-01-01"], env)
    assert missing.returncode == 1 and "no quarantine" in missing.stderr and "Traceback" not in missing.stderr


def test_reports_and_data_docs_never_show_a_personal_value(factory):
    reports: Path = factory["home"] / "reports"
    pages = [p for p in reports.rglob("*.html") if "static" not in p.parts]
    assert (reports / "index.html").exists() and all((reports / d.isoformat() / "index.html").exists() for d in DAYS)
    docs = [p for p in pages if "data_docs" in p.parts and "validations" in p.parts]
    assert {p.stem.split(".")[0] for p in docs} >= set(FEEDS)
    text = "\n".join(p.read_text(encoding="utf-8") for p in pages)
    leaked = [value for value in factory["people"] if value in text]
    assert leaked == []
    run_page = (reports / DAYS[0].isoformat() / "index.html").read_text(encoding="utf-8")
    total_in = sum(factory["results"][(f, DAYS[0])]["rows_in"] for f in FEEDS)
    assert f'<b id="rows-in">{total_in}</b>' in run_page


@pytest.fixture(scope="module")
def regional(tmp_path_factory) -> dict:
    """The registry and tax feeds conformed region by region, as the ingest DAG does for large feeds."""
    from datafactory.partitioning.regions import RegionZones, assemble, split_by_region
    from datafactory.settings import load_settings

    home = tmp_path_factory.mktemp("regional") / "var"
    zones, repo = Zones(home), load_settings().repo
    specs = load_sources(repo)
    for offset, day in enumerate(DAYS[:2]):
        rng = np.random.default_rng([11, offset])
        tables = enterprise_delivery(7, 300, BASE, offset)
        for feed in ("ent_registry", "ent_tax_monthly"):
            spec, suite = specs[feed], load_suite(repo, specs[feed].suite)
            landed = protect(inject_defects(tables[feed], PLANS[feed], rng), pii_rules(spec), b"k", None)
            write_partition_atomic(landed, zones.raw_partition(feed, day))
            regions = list(split_by_region(spec, zones, day))
            for region in regions:
                conform(spec, suite, day, f"run-{offset}", RegionZones(home, feed, region))
            assemble(spec, zones, day, f"run-{offset}", regions)
    return {"zones": zones, "specs": specs, "repo": repo}


def test_release_of_a_feed_conformed_by_region_keeps_feed_level_accounting(regional):
    zones, spec = regional["zones"], regional["specs"]["ent_tax_monthly"]
    day = DAYS[0]
    before = pd.read_parquet(zones.quarantine_partition(spec.name, day))
    only_revenue = before[before[REASON_COLUMN] == REVENUE_CHECK]
    assert len(only_revenue) > 0
    suite = load_suite(regional["repo"], spec.suite)
    fixed = suite.model_copy(
        update={
            "expectations": [
                e for e in suite.expectations if e.kwargs.get("column") != "revenue" or "non_negative" not in e.type
            ]
        }
    )
    moved = release(spec, fixed, day, zones)
    assert moved.released == len(only_revenue) and moved.remaining == len(before) - len(only_revenue)
    result = json.loads(zones.quality_result(day, spec.name).read_text())
    assert result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]
    assert result["rows_released"] == moved.released
    assert len(pd.read_parquet(zones.quarantine_partition(spec.name, day))) == moved.remaining
    keys = set(zip(only_revenue["uscc"], only_revenue["period"], strict=True))
    for later in DAYS[:2]:  # the feed-level snapshots of the day and after hold the released rows
        table = pd.read_parquet(zones.conformed(spec.name, later))
        assert keys <= set(zip(table["uscc"], table["period"], strict=True)) and not table.duplicated(spec.keys).any()
    assert release(spec, fixed, day, zones).released == 0
