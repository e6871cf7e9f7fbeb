"""The upstream simulator: deterministic by seed, every feed every day, latent signal per scenario."""

from datetime import date

import pandas as pd
import pytest

from datafactory.settings import REPO_ROOT
from datafactory.sources.simulator.buildings import initial_buildings
from datafactory.sources.simulator.deliver import Scale, day_tables
from datafactory.sources.simulator.enterprise import population, uscc_for
from datafactory.specs import load_sources

pytestmark = pytest.mark.unit
FIRST = date(2026, 11, 1)
SCALE = Scale(600)


@pytest.fixture(scope="module")
def day0() -> dict[str, pd.DataFrame]:
    return day_tables(7, SCALE, FIRST, 0)


def test_same_seed_same_delivery_other_seed_other_delivery(day0):
    again = day_tables(7, SCALE, FIRST, 0)
    assert all(again[name].equals(frame) for name, frame in day0.items())
    other = day_tables(8, SCALE, FIRST, 0)
    assert not other["med_visits"].equals(day0["med_visits"])


@pytest.mark.parametrize("day", [0, 1, 2, 30])
def test_every_feed_in_sources_is_delivered_every_day_with_its_columns(day):
    specs = load_sources(REPO_ROOT)
    tables = day_tables(7, SCALE, FIRST, day)
    assert set(specs) == set(tables)
    for name, spec in specs.items():
        assert len(tables[name]) >= 1, (name, day)
        assert list(tables[name].columns) == list(spec.columns), name


def test_defects_are_injected(day0):
    assert day0["med_visits"].duplicated().sum() > 0
    assert (day0["bld_electricity_monthly"]["kwh"] < 0).sum() > 0
    assert day0["ent_registry"]["name"].isna().sum() > 0


def test_underwriting_follows_diagnoses_and_admissions(day0):
    visits, decisions = day0["med_visits"], day0["uw_decisions"]
    cancer = set(visits.loc[visits["icd10"].fillna("").str.startswith("C"), "person_id"])
    admitted = set(visits.loc[visits["inpatient_days"] > 10, "person_id"])
    severe = decisions["decision"].isin(["postpone", "decline"])
    with_cancer = decisions["person_id"].isin(cancer)
    assert severe[with_cancer].mean() > 3 * severe[~with_cancer].mean()
    long_stay = decisions["person_id"].isin(admitted)
    assert (decisions.loc[long_stay, "decision"] != "standard").mean() > 0.6


def test_building_energy_follows_the_hidden_efficiency_factor(day0):
    b = initial_buildings(7, SCALE.buildings)
    elec = day0["bld_electricity_monthly"].dropna(subset=["building_id"])
    per_m2 = elec[elec["kwh"] > 0].groupby("building_id")["kwh"].sum() / b.frame.set_index("building_id")["floor_area"]
    expected = b.frame.set_index("building_id")["building_type"]
    efficiency = pd.Series(b.efficiency, index=b.frame["building_id"])
    frame = pd.DataFrame({"per_m2": per_m2, "type": expected, "eff": efficiency}).dropna()
    within_type = frame.groupby("type")[["per_m2", "eff"]].apply(
        lambda g: g["per_m2"].corr(g["eff"], method="spearman")
    )
    assert within_type.median() > 0.5
    mapped = day0["bld_electricity_monthly"]["building_id"].notna().mean()
    assert 0.9 < mapped < 1.0  # meter-to-building mapping is imperfect


def test_supplier_outcomes_follow_distress_signals(day0):
    outcomes = day0["sup_outcomes"].dropna(subset=["is_bad"]).drop_duplicates("uscc")
    dishonest = set(day0["ent_court_enforcement"].query("dishonest == 1")["uscc"])
    incidents = day0["sup_incidents"].groupby("uscc").size()
    many = outcomes["uscc"].map(incidents).fillna(0) >= 3
    bad = outcomes["is_bad"].astype(int)
    assert bad[many].mean() > 2 * bad[~many].mean()
    assert outcomes["uscc"].isin(dishonest).sum() == 0 or bad[outcomes["uscc"].isin(dishonest)].mean() > bad.mean()


def test_distress_shows_in_arrears_and_tax_grade(day0):
    pop = population(7, SCALE.enterprises)
    distress = pd.Series(pop.distress, index=uscc_for(pop.index))
    arrears = day0["ent_social_insurance"].groupby("uscc")["arrears_months"].max()
    both = pd.DataFrame({"distress": distress, "arrears": arrears}).dropna()
    assert both["distress"].corr(both["arrears"], method="spearman") > 0.2
    grades = day0["ent_tax_credit"].groupby("uscc")["credit_grade"].last()
    poor = grades.isin(["C", "D"])
    assert distress.reindex(grades[poor].index).mean() > distress.reindex(grades[~poor].index).mean() + 0.1
