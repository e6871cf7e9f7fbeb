"""Pricing specs and billing: pure functions over ledger rows, in integer fen."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
import yaml

from datafactory.serving.billing import price_line, statement, yuan
from datafactory.serving.pricing import Pricing, load_pricing, load_pricing_file
from datafactory.serving.statement import render_csv, render_html
from datafactory.specs import SpecError

pytestmark = pytest.mark.unit

PRICE = Pricing.model_validate(
    {
        "product": "p",
        "base_data_value": {"per_record_fen": 7},
        "processing": {"per_call_fen": 3, "per_record_fen": 2, "per_bulk_download_fen": 500},
        "free_tier": {"public_interest": True, "records_per_month": 5},
        "monthly_cap_fen": 1_000,
    }
)


def _row(i: int, endpoint: str = "record", status: int = 200, rows: int = 1, license_id: int = 1) -> dict:
    return {"id": i, "product": "p", "license_id": license_id, "endpoint": endpoint, "status": status, "rows": rows}


def test_cost_plus_line_takes_free_records_first():
    line = price_line("p", 1, False, calls=4, records=10, bulks=1, pricing=PRICE)
    assert line.free_records == 5
    assert (line.call_fen, line.record_fen, line.bulk_fen) == (4 * 3, 5 * (7 + 2), 500)
    assert line.amount_fen == line.list_fen == 12 + 45 + 500


def test_public_interest_is_free_and_the_cap_bounds_the_rest():
    free = price_line("p", 1, True, calls=4, records=10, bulks=0, pricing=PRICE)
    assert free.list_fen > 0 and free.amount_fen == 0 and "public-interest" in free.note
    capped = price_line("p", 1, False, calls=1000, records=0, bulks=0, pricing=PRICE)
    assert capped.list_fen == 3000 and capped.amount_fen == 1_000 and "capped" in capped.note


def test_statement_counts_only_successful_lookups_and_bulk_and_reconciles():
    rows = [
        _row(1),
        _row(2, "batch", rows=8),
        _row(3, status=404, rows=0),
        _row(4, status=429, rows=0),
        _row(5, "metadata", rows=0),
        _row(6, "metadata", status=304, rows=0),
        _row(7, "bulk", rows=200),
        _row(8, license_id=2),
    ]
    s = statement("bank", "2026-11", rows, {"p": PRICE}, {1: False, 2: True})
    assert s.ledger_rows == 8 and s.billed_rows == 4 and s.refused_rows == 2 and s.other_rows == 2
    assert s.billed_rows + s.refused_rows + s.other_rows == s.ledger_rows
    first, second = s.lines
    assert (first.calls, first.records, first.bulk_downloads) == (2, 9, 1)  # bulk rows are not per-record
    assert first.amount_fen == 2 * 3 + (9 - 5) * 9 + 500
    assert second.amount_fen == 0
    assert s.total_fen == first.amount_fen
    table = list(csv.DictReader(io.StringIO(render_csv(s))))
    assert sum(int(r["amount_fen"]) for r in table[:-1]) == int(table[-1]["amount_fen"]) == s.total_fen
    assert table[-1]["amount_yuan"] == yuan(s.total_fen)
    html = render_html(s, {"p": PRICE})
    assert yuan(s.total_fen) in html and "<script" not in html


def test_html_escapes_consumer_text():
    s = statement("<script>x</script>", "2026-11", [], {}, {})
    assert "<script>x" not in render_html(s, {})


def test_yuan_is_exact():
    assert yuan(1) == "0.01" and yuan(123456789) == "1234567.89" and yuan(0) == "0.00"


def test_pricing_rejects_unknown_keys_negative_amounts_and_misnamed_files(tmp_path: Path):
    with pytest.raises(ValueError):
        Pricing.model_validate({"product": "p", "discount": 5})
    with pytest.raises(ValueError):
        Pricing.model_validate({"product": "p", "processing": {"per_call_fen": -1}})
    folder = tmp_path / "products" / "pricing"
    folder.mkdir(parents=True)
    (folder / "q.yaml").write_text(yaml.safe_dump({"product": "p"}))
    with pytest.raises(SpecError, match="differs from the file name"):
        load_pricing_file(folder / "q.yaml")
    (folder / "q.yaml").write_text(yaml.safe_dump({"product": "q", "processing": {"per_cal_fen": 1}}))
    with pytest.raises(SpecError, match="per_cal_fen"):
        load_pricing(tmp_path)


def test_every_repository_pricing_file_is_valid_and_names_a_product():
    from datafactory.settings import REPO_ROOT
    from datafactory.specs import load_products

    prices = load_pricing(REPO_ROOT)
    assert prices and set(prices) <= set(load_products(REPO_ROOT))
