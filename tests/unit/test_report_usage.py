"""The reviewers' consumption pages: per product, who called it for what, from the real usage ledger."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from datafactory.quality.report import write_pages
from datafactory.serving.ledger import UsageRow, insert_rows
from datafactory.serving.tables import create_tables
from datafactory.serving.usage import consumption
from datafactory.zones import Zones
from tests.conftest import REPO

pytestmark = pytest.mark.unit
T0 = datetime(2026, 11, 3, 1, 0, tzinfo=UTC).replace(tzinfo=None)


def _row(i: int, consumer: str | None, product: str | None, status: int, **extra) -> dict:
    row = UsageRow(
        at=T0 + timedelta(minutes=i),
        endpoint=extra.pop("endpoint", "record"),
        status=status,
        latency_ms=1.0,
        consumer=consumer,
        product=product,
        request_id=f"r{i:04d}",
        **extra,
    )
    return row.record()


LEDGER = [
    _row(0, "jinan-bank", "anti_fraud_admission", 200, version=1, keys_count=1, rows=1, purpose="SME loans"),
    _row(1, "jinan-bank", "anti_fraud_admission", 200, version=2, keys_count=50, rows=48, purpose="SME loans"),
    _row(2, "jinan-bank", "anti_fraud_admission", 429, purpose="SME loans"),
    _row(3, "qd-insurer", "anti_fraud_admission", 403, purpose="underwriting"),  # wrong scenario: refused
    _row(4, "qd-insurer", "underwriting_risk_grades", 200, version=1, keys_count=3, rows=3, purpose="underwriting"),
    _row(5, None, None, 401),  # no key: the product was never reached
]


def test_consumption_sums_each_consumer_and_purpose_per_product():
    pages = consumption(LEDGER)
    assert sorted(pages) == ["anti_fraud_admission", "underwriting_risk_grades"]
    bank, insurer = pages["anti_fraud_admission"]
    assert (bank["consumer"], bank["answered"], bank["refused"], bank["keys"], bank["rows"]) == (
        "jinan-bank",
        2,
        1,
        51,
        49,
    )
    assert bank["versions"] == [1, 2] and bank["first"] == T0 and bank["last"] == T0 + timedelta(minutes=2)
    assert (insurer["consumer"], insurer["answered"], insurer["refused"], insurer["keys"]) == ("qd-insurer", 0, 1, 0)
    total_calls = sum(line["answered"] + line["refused"] for lines in pages.values() for line in lines)
    assert total_calls == len([r for r in LEDGER if r["product"]])  # every call with a product, once


def test_the_report_gets_a_consumption_page_per_product_from_the_ledger(tmp_path):
    zones = Zones(tmp_path / "var")
    day = zones.home / "quality" / "2026-11-03"
    day.mkdir(parents=True)
    (day / "ent_registry.json").write_text(
        json.dumps(
            {
                "source": "ent_registry",
                "suite": "ent_registry",
                "run_id": "r",
                "rows_in": 10,
                "rows_conformed": 10,
                "rows_quarantined": 0,
                "rows_released": 0,
                "critical": [],
                "warnings": [],
                "expectations": [],
            }
        )
    )
    state = sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    create_tables(state)
    insert_rows(state, LEDGER)
    write_pages(zones, date(2026, 11, 3), repo=REPO, state=state)
    reports = zones.reports()
    page = (reports / "usage" / "anti_fraud_admission.html").read_text()
    assert "jinan-bank" in page and "SME loans" in page and "qd-insurer" in page
    assert ">51<" in page and ">49<" in page  # keys asked, rows returned
    assert not any(r["keys_hash"] and r["keys_hash"] in page for r in LEDGER)
    index = (reports / "index.html").read_text()
    assert 'href="usage/anti_fraud_admission.html"' in index and 'href="usage/underwriting_risk_grades.html"' in index


def test_no_consumption_section_before_any_api_call(tmp_path):
    zones = Zones(tmp_path / "var")
    (zones.home / "quality").mkdir(parents=True)
    write_pages(zones, repo=REPO, state=sa.create_engine(f"sqlite:///{tmp_path / 'state.db'}"))
    assert "Consumption" not in (zones.reports() / "index.html").read_text()
    assert not (zones.reports() / "usage").exists()
