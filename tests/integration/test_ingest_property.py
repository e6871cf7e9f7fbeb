"""Property: malformed CSV/XLSX drops never crash ingest + conform, and every input row ends up
either conformed or quarantined with a reason (a file quarantined whole is kept byte for byte)."""

from __future__ import annotations

import csv
import io
import json
import tempfile
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafactory.quality.conform import QualityGateError, conform
from datafactory.settings import REPO_ROOT
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)
SPEC = load_sources(REPO_ROOT)["sup_outcomes"]
SPEC = SPEC.revised(options={**SPEC.options.model_dump(), "pattern": "sup_outcomes_*"})  # CSV or XLSX
SUITE = load_suite(REPO_ROOT, SPEC.suite)
COLUMNS = list(SPEC.columns)

USCC = st.sampled_from(["91110000600037341L", "91532901000000158T", "91110000600037341M", "", "not-a-code", "余姚"])
PERIOD = st.sampled_from(["2025-10", "2025-11", "2025-13", "", "十月"])
FLAG = st.sampled_from(["0", "1", "2", "", "yes", "1.0"])
STAMP = st.sampled_from(["2026-11-01 08:00:00", "2026-11-01 09:30:00", "yesterday", ""])
ROW = st.tuples(USCC, PERIOD, FLAG, STAMP).map(list)
SHAPED = st.one_of(ROW, ROW.map(lambda r: r[:-1]), ROW.map(lambda r: [*r, "extra"]))


def _render(rows: list[list[str]], fmt: str, encoding: str) -> bytes:
    if fmt == "xlsx":  # rows may run past the header, as hand-edited sheets do
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("data")
        for row in [COLUMNS, *rows]:
            sheet.append(row)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(
    rows=st.lists(SHAPED, min_size=1, max_size=30),
    fmt=st.sampled_from(["csv", "xlsx"]),
    encoding=st.sampled_from(["gbk", "utf-8-sig"]),
    truncate=st.booleans(),
)
def test_every_row_of_a_malformed_drop_is_conformed_or_quarantined(rows, fmt, encoding, truncate):
    data = _render(rows, fmt, encoding)
    if truncate:
        data = data[: max(1, len(data) * 2 // 3)].rstrip(b"\r\n")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        landing = LocalLanding(home / "landing")
        landing.write(f"sup_outcomes/sup_outcomes_{DAY:%Y%m%d}.{fmt}", data)
        zones = Zones(home)
        ledger = Ledger(sa.create_engine(f"sqlite:///{home}/state.db"))
        pulled = ingest(
            SPEC, DAY, "run-p", upstream=Upstream(landing=landing), ledger=ledger, zones=zones, pseudonym_key=b"k"
        )
        held = zones.ingest_quarantine(SPEC.name, DAY)
        whole = list((held / "files").glob("*.reason.json")) if held.exists() else []
        if whole:  # quarantined whole: kept byte for byte, with its reason
            reason = json.loads(whole[0].read_text())
            assert (
                reason["reason"] and (held / "files" / whole[0].name.removesuffix(".reason.json")).read_bytes() == data
            )
            assert pulled.rows == 0
            return
        assert not truncate or (fmt == "xlsx" and pulled.rows >= 0)
        rejected = pd.read_parquet(held / "rows.parquet") if (held / "rows.parquet").exists() else pd.DataFrame()
        assert rejected.empty or rejected["_reason"].str.len().gt(0).all()
        try:
            result = conform(SPEC, SUITE, DAY, "run-p", zones)
            conformed = result["rows_conformed"]
        except QualityGateError:
            conformed = 0  # a critical failure holds the whole batch in quarantine
        quarantined = pd.read_parquet(zones.quarantine_partition(SPEC.name, DAY))
        assert quarantined.empty or quarantined["_failed_expectations"].str.len().gt(0).all()
        # An all-empty spreadsheet row is layout, not data; a CSV line of empty fields is a row.
        expected = [r for r in rows if fmt == "csv" or any(v != "" for v in r)]
        assert len(expected) == conformed + len(quarantined) + len(rejected)
