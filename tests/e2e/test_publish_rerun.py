"""The demo's exact sequence through the real CLI and real DAG runs: `datafactory run` for day 1, again for
day 2, a rerun of day 1 (`run --date`), then an operator's `products restate` of day 1.

The rerun must publish nothing and leave `latest` on day 2's version, even for products whose champion
changed on day 2 (the rerun scores with the model version recorded for day 1). The restatement is the one
way to publish day 1 again: a version recorded as a restatement of day 1, which never becomes latest
while day 2's version is there.
"""

from __future__ import annotations

import json
from datetime import date

import pytest

from tests.conftest import run_cli
from tests.e2e.conftest import DAY1, PSEUDONYM_KEY, store_state

pytestmark = pytest.mark.e2e
DAY2 = "2026-11-02"


def _model_version(manifest: dict) -> str | None:
    return (manifest.get("model") or {}).get("version")


@pytest.fixture(scope="module")
def sequence(demo) -> dict:
    home, env, after_day2 = demo["home"], demo["env"], demo["after_day2"]
    runs = list(demo["runs"])
    # Restate a product whose champion moved on day 2 (the case the rerun must not publish by itself).
    moved = sorted(
        name
        for name, s in after_day2.items()
        if _model_version(s["manifests"][1]) and _model_version(s["manifests"][1]) != _model_version(s["manifests"][2])
    )
    restated = moved[0] if moved else None
    if restated:
        runs.append(run_cli(["products", "restate", restated, "--date", DAY1, "--reason", "e2e restatement"], env))
    return {**demo, "runs": runs, "moved": moved, "restated": restated, "after_restate": store_state(home / "products")}


def test_every_command_succeeds(sequence):
    for run in sequence["runs"]:
        assert run.returncode == 0, [*run.args, run.stdout[-3000:], run.stderr[-3000:]]


def test_day_two_moved_a_champion_so_the_rerun_is_a_real_test(sequence):
    """Without a new champion on day 2 the old defect would not show; the sequence must contain one."""
    assert sequence["moved"], {
        n: [_model_version(m) for m in s["manifests"].values()] for n, s in sequence["after_day2"].items()
    }


def test_the_two_days_publish_one_version_each_and_latest_is_day_two(sequence):
    for name, state in sequence["after_day2"].items():
        assert sorted(state["manifests"]) == [1, 2], name
        assert [state["manifests"][v]["logical_date"] for v in (1, 2)] == [DAY1, DAY2], name
        assert state["latest"] == 2, name


def test_a_rerun_of_day_one_publishes_nothing_and_latest_stays_on_day_two(sequence):
    before, after = sequence["after_day2"], sequence["after_rerun"]
    assert set(after) == set(before)
    for name in before:
        assert sorted(after[name]["manifests"]) == [1, 2], name
        assert after[name]["manifests"] == before[name]["manifests"], name  # not one byte of a manifest changed
        assert after[name]["latest"] == 2, name
    rerun = sequence["runs"][2].stdout
    for name in before:
        assert f"Product {name}: latest v2" in rerun, name


def test_the_rerun_scored_with_the_model_recorded_for_day_one(sequence):
    for name in sequence["moved"]:
        rerun = sequence["rerun_reports"][name]
        report, model = rerun["report"], rerun["model"]
        assert report["status"] == "published" and report["reused"] is True and report["version"] == 1, name
        v1 = sequence["after_day2"][name]["manifests"][1]["model"]
        assert (model["version"], model["chosen"]) == (v1["version"], "recorded for the date"), name


def test_a_restatement_of_day_one_is_a_new_version_recorded_as_such_and_latest_stays(sequence):
    name = sequence["restated"]
    state = sequence["after_restate"][name]
    assert sorted(state["manifests"]) == [1, 2, 3]
    v3 = state["manifests"][3]
    assert v3["logical_date"] == DAY1
    assert v3["restatement"]["of"] == DAY1 and v3["restatement"]["restates"] == 1
    assert v3["restatement"]["by"] and v3["restatement"]["reason"] == "e2e restatement"
    assert _model_version(v3) == _model_version(state["manifests"][2])  # today's champion
    assert v3["model"]["chosen"] == "champion"
    assert state["latest"] == 2  # day 1 is earlier than day 2: latest does not go back
    assert "v3 restates v1; latest v2" in sequence["runs"][-1].stdout
    closed = list((sequence["home"] / "products" / name / "restatements" / DAY1).glob("*.closed.json"))
    assert [json.loads(p.read_text())["version"] for p in closed] == [3]
    for other, s in sequence["after_restate"].items():
        if other != name:
            assert sorted(s["manifests"]) == [1, 2], other


def test_the_real_products_pass_the_review_no_false_positives(sequence, monkeypatch):
    """Every version the factory published, reviewed again against its date's dictionaries: the false-
    positive rate on real products (all of them clean by construction) is measured and must be 0."""
    import pandas as pd

    from datafactory.products.dictionaries import load_dictionaries
    from datafactory.products.pipeline import load_definition, review_policy
    from datafactory.products.review import review_table
    from datafactory.settings import load_settings

    monkeypatch.setenv("DATAFACTORY_HOME", str(sequence["home"]))
    monkeypatch.setenv("DATAFACTORY_PSEUDONYM_KEY", PSEUDONYM_KEY)
    settings = load_settings()
    cells = flagged = 0
    for name, state in sequence["after_restate"].items():
        policy = review_policy(load_definition(settings, name))
        for version, manifest in state["manifests"].items():
            (entry,) = manifest["files"]
            table = pd.read_parquet(sequence["home"] / "products" / name / f"v{version}" / entry["path"])
            dicts = load_dictionaries(settings, date.fromisoformat(manifest["logical_date"]))
            result = review_table(table, policy, dicts)
            cells += table.size
            flagged += sum(f.rows for f in result.findings)
    print(f"\nreal products re-reviewed: {flagged} of {cells:,} cells flagged")
    assert cells > 0 and flagged == 0


def test_after_the_restatement_day_ones_page_shows_the_model_checks_it_left(sequence):
    """The restatement scored day 1 again with today's champion and wrote day 1's model check: the day's
    page must show that check, not the one of the run before (pages are rendered where results change)."""
    home = sequence["home"]
    checks = [json.loads(p.read_text()) for p in sorted((home / "quality" / DAY1).glob("model_*.json"))]
    assert checks
    if sequence["restated"]:  # the restated product's model check is the restatement's: today's champion
        restated_model = _model_version(sequence["after_restate"][sequence["restated"]]["manifests"][3])
        assert str(restated_model) in {str(c["model_version"]) for c in checks}
    page = (home / "reports" / DAY1 / "index.html").read_text(encoding="utf-8")
    for check in checks:
        row = (
            f"<tr><td>{check['scenario']}</td><td>v{check['model_version']}</td>"
            f'<td class="n">{check["rows_scored"]}</td><td class="n">{check["psi"]:.4f}</td>'
        )
        assert row in page, (check, page[page.find('id="models"') :][:800])
