"""Publishing never goes backwards, through the pipeline's own stages on a real store.

The model and its registry are stood in for by `build_table` (the one seam: scores depend on the model
version it is asked for, else on "today's champion"). Everything after it is the real pipeline: the
choice of model for a date, the store, the fingerprints, restatement requests, approval records and
promotion. The demo's sequence: day 1 with champion 1, day 2 with champion 2, then reruns of day 1.
"""

from __future__ import annotations

import os
import time
from datetime import date

import pandas as pd
import pytest

from datafactory.products import pipeline
from datafactory.products.build import Built
from datafactory.products.versioning import (
    APPROVED,
    history,
    latest_version,
    list_versions,
    open_restatement,
    read_manifest,
    record_decision,
    request_restatement,
    rollback,
)

pytestmark = pytest.mark.integration
PRODUCT = "anti_fraud_admission"
DAY1, DAY2, DAY3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


class Registry:
    """Today's champion, and how many times each date's inputs were corrected upstream."""

    def __init__(self) -> None:
        self.champion = "1"
        self.corrections: dict[date, int] = {}
        self.asked: list[str | None] = []

    def build_table(self, settings, definition, day, model_version=None) -> Built:
        self.asked.append(model_version)
        version = model_version or self.champion
        shift = int(version) * 37 + self.corrections.get(day, 0) * 5 + day.day
        table = pd.DataFrame(
            {
                "uscc": [f"91330281MA2{i:07d}" for i in range(20)],
                "score": [(i * 53 + shift) % 1000 for i in range(20)],
                "model_version": version,
            }
        )
        table["risk_band"] = pd.cut(table["score"], [-1, 199, 499, 799, 1000], labels=["low", "medium", "high", "v"])
        table = table.astype({"risk_band": str})[["uscc", "score", "risk_band", "model_version"]]
        chosen = "recorded for the date" if model_version else "champion"
        model = {"name": PRODUCT, "version": version, "uri": f"models:/{PRODUCT}/{version}", "chosen": chosen}
        return Built(table, ["ent_registry"], model)


@pytest.fixture
def factory(settings, monkeypatch):
    registry = Registry()
    monkeypatch.setattr(pipeline, "build_table", registry.build_table)
    return settings, registry, pipeline.product_store(settings)


def _run(settings, day: date, run_id: str, approve: bool = True) -> dict:
    """build -> (validated, reviewed) -> publish -> approve -> promote, as the publish DAG runs them."""
    run = pipeline.ProductRun(settings, pipeline.load_definition(settings, PRODUCT), day, run_id)
    pipeline.build(run)
    run.save(pipeline.VALIDATION, {"passed": True})
    run.save(pipeline.REVIEW, {"passed": True, "rows": 20})
    published = pipeline.publish(run, f"test:{run_id}")
    store = pipeline.product_store(settings)
    if approve and not published["reused"]:
        record_decision(store, PRODUCT, published["version"], APPROVED, "tester")
    return {**published, "promote": pipeline.promote(settings, PRODUCT, published)}


def test_the_demo_sequence_a_rerun_publishes_nothing_and_latest_stays_on_the_later_date(factory):
    settings, registry, store = factory
    assert _run(settings, DAY1, "d1")["version"] == 1
    registry.champion = "2"  # day 2's training promoted a new champion
    assert _run(settings, DAY2, "d2")["version"] == 2
    rerun = _run(settings, DAY1, "d1-again")
    assert registry.asked == [None, None, "1"]  # the rerun asked for the model recorded for day 1
    assert rerun["reused"] and rerun["version"] == 1 and rerun["promote"]["moved"] is False
    assert list_versions(store, PRODUCT) == [1, 2]
    assert latest_version(store, PRODUCT) == 2
    assert [read_manifest(store, PRODUCT, v)["model"]["version"] for v in (1, 2)] == ["1", "2"]


def test_a_rerun_whose_output_differs_publishes_nothing_and_says_how_to_restate(factory):
    settings, registry, store = factory
    _run(settings, DAY1, "d1")
    registry.corrections[DAY1] = 1  # upstream corrected day 1 after it was published
    with pytest.raises(pipeline.RestatementRequiredError, match="products restate anti_fraud_admission --date"):
        _run(settings, DAY1, "d1-again")
    assert list_versions(store, PRODUCT) == [1]
    report = pipeline.review_report_path(settings.home, DAY1, PRODUCT).read_text()
    assert '"status": "rejected"' in report and "restate" in report


def test_a_restatement_is_an_operators_request_recorded_in_the_version_and_latest_does_not_go_back(factory):
    settings, registry, store = factory
    _run(settings, DAY1, "d1")
    registry.champion = "2"
    _run(settings, DAY2, "d2")
    request = request_restatement(store, PRODUCT, DAY1.isoformat(), "operator", "day-1 tax data corrected")
    assert request_restatement(store, PRODUCT, DAY1.isoformat(), "someone", "again") == request  # one open request
    restated = _run(settings, DAY1, "restate-d1")
    assert registry.asked[-1] is None  # a restatement scores with today's champion
    assert (restated["version"], restated["restates"], restated["reused"]) == (3, 1, False)
    manifest = read_manifest(store, PRODUCT, 3)
    assert manifest["logical_date"] == "2026-11-01" and manifest["model"]["version"] == "2"
    assert manifest["restatement"] == {
        "of": "2026-11-01",
        "restates": 1,
        "id": request["id"],
        "by": "operator",
        "reason": "day-1 tax data corrected",
        "at": request["at"],
    }
    assert restated["promote"]["moved"] is False and "only moves forward" in restated["promote"]["reason"]
    assert latest_version(store, PRODUCT) == 2
    assert open_restatement(store, PRODUCT, DAY1.isoformat()) is None  # the request is closed
    # The restated version is what day 1 now is: the next plain rerun reproduces it with its model.
    again = _run(settings, DAY1, "d1-after-restatement")
    assert registry.asked[-1] == "2" and again["reused"] and again["version"] == 3
    # Only an explicit rollback moves latest back to day 1.
    event = rollback(store, PRODUCT, 3, "operator", "day 2 is wrong")
    assert (event["action"], event["from"], event["to"]) == ("rollback", 2, 3)
    assert latest_version(store, PRODUCT) == 3
    registry.champion = "3"
    assert _run(settings, DAY3, "d3")["promote"]["moved"] is True  # forward again from day 1
    assert latest_version(store, PRODUCT) == 4
    assert [e["action"] for e in history(store, PRODUCT)] == ["approve", "approve", "rollback", "approve"]


def test_restating_the_latest_date_moves_latest_and_says_it_was_a_restatement(factory):
    settings, registry, store = factory
    _run(settings, DAY1, "d1")
    registry.champion = "2"
    request_restatement(store, PRODUCT, DAY1.isoformat(), "operator", "new champion for day 1")
    restated = _run(settings, DAY1, "restate-d1")
    assert restated["promote"] == {"product": PRODUCT, "version": 2, "moved": True, "latest": 2, "from": 1}
    assert history(store, PRODUCT)[-1]["action"] == "restate"


def test_a_restatement_with_the_same_output_publishes_nothing_and_closes_the_request(factory):
    settings, _, store = factory
    _run(settings, DAY1, "d1")
    request = request_restatement(store, PRODUCT, DAY1.isoformat(), "operator", "check")
    again = _run(settings, DAY1, "restate-d1")
    assert again["reused"] and again["version"] == 1 and again["restates"] is None
    assert list_versions(store, PRODUCT) == [1]
    assert open_restatement(store, PRODUCT, DAY1.isoformat()) is None
    from datafactory.products.versioning import restatement_outcome

    assert restatement_outcome(store, PRODUCT, DAY1.isoformat(), request["id"])["reused"] is True


def test_a_date_never_published_cannot_be_restated(factory):
    _, _, store = factory
    from datafactory.products.versioning import UnknownVersionError

    with pytest.raises(UnknownVersionError, match="nothing to restate"):
        request_restatement(store, PRODUCT, DAY1.isoformat(), "operator", "why")


@pytest.mark.parametrize("day", ["2026-11-01/../x", "../2026-11-01", "20261101x"])
def test_a_restatement_date_is_a_date_and_nothing_else(factory, day: str):
    _, _, store = factory
    with pytest.raises(ValueError):
        request_restatement(store, PRODUCT, day, "operator", "why")


def test_a_build_prunes_the_products_expired_staging_runs_and_keeps_the_rest(factory):
    settings, _, _ = factory
    root = settings.home / "staging" / "products" / PRODUCT
    old, recent = root / "scheduled__2026-10-01", root / "scheduled__2026-10-30"
    for folder, age_days in ((old, settings.staging_retention_days + 1), (recent, 1)):
        folder.mkdir(parents=True)
        (folder / "table.parquet").write_bytes(b"built")
        stamp = time.time() - age_days * 86_400
        for path in (folder / "table.parquet", folder):
            os.utime(path, (stamp, stamp))
    _run(settings, DAY1, "d1")
    assert not old.exists() and recent.exists()
    assert (root / "d1" / pipeline.TABLE).exists()  # the run itself keeps its folder until it expires
