"""What ingest sets aside keeps no readable personal value, and a crash before the ledger commit
neither loses nor duplicates anything."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.pseudonymize import decrypt_bytes, decrypt_value, pseudonym
from datafactory.sources.upstream import Upstream
from datafactory.specs import SourceSpec
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)
SM4 = bytes(range(16))
SPEC = SourceSpec(
    name="clinic_visits",
    description="test feed with a personal field",
    channel="files",
    table="clinic_visits",
    keys=["visit_id"],
    watermark_column="updated_at",
    columns={"visit_id": "string", "person_id": "string", "cost": "float", "updated_at": "timestamp"},
    pii={"person_id": {"action": "pseudonymize", "validate": "resident_id"}},
    options={"format": "csv", "encoding": "gbk"},
)
IDS = ["360426199101010071", "34052419800101001X"]


def _csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(SPEC.columns))
    writer.writerows(rows)
    return out.getvalue().encode("gbk")


def _pull(settings, landing, day=DAY, ledger=None):
    return ingest(
        SPEC,
        day,
        "run-q",
        upstream=Upstream(landing=landing),
        ledger=ledger or Ledger(sa.create_engine(settings.state_url)),
        zones=Zones(settings.home),
        pseudonym_key=b"k",
        sm4_key=SM4,
    )


def test_quarantined_rows_and_files_of_a_personal_feed_are_sm4_encrypted(settings):
    landing = LocalLanding(settings.home / "landing")
    good = _csv([["V1", IDS[0], "12.5", "2026-11-01 08:00:00"], ["V2", IDS[1], "3", "2026-11-01 09:00:00"]])
    malformed = good + f"V3,{IDS[0]},oops\n".encode()
    truncated = _csv([["V9", IDS[1], "7", "2026-11-01 10:00:00"]])[:-4]
    landing.write("clinic_visits/clinic_visits_20261101_a.csv", malformed)
    landing.write("clinic_visits/clinic_visits_20261101_b.csv", truncated)
    result = _pull(settings, landing)
    assert result.rows == 2 and result.rows_quarantined == 2  # one malformed row + one row in the cut file
    raw = pd.read_parquet(Zones(settings.home).raw_partition(SPEC.name, DAY))
    assert raw["person_id"].tolist() == [pseudonym(i, b"k") for i in IDS] and raw["person_id_valid"].tolist() == [1, 1]
    held = Zones(settings.home).ingest_quarantine(SPEC.name, DAY)
    rows = pd.read_parquet(held / "rows.parquet")
    assert decrypt_value(rows["_row_text"][0], SM4, b"_row_text") == f"V3,{IDS[0]},oops"
    kept = (held / "files" / "clinic_visits_20261101_b.csv.sm4").read_bytes()
    assert decrypt_bytes(kept, SM4, b"clinic_visits_20261101_b.csv") == truncated
    for path in held.rglob("*"):
        if path.is_file():
            assert not any(i.encode() in path.read_bytes() for i in IDS), path


def test_a_crash_before_the_ledger_commit_takes_the_same_files_again_exactly_once(settings, monkeypatch):
    landing = LocalLanding(settings.home / "landing")
    landing.write("clinic_visits/clinic_visits_20261101.csv", _csv([["V1", IDS[0], "1", "2026-11-01 08:00:00"]]))
    ledger = Ledger(sa.create_engine(settings.state_url))
    real_record = Ledger.record

    def crash(self, rec, receipts=()):
        raise OSError("disk vanished")

    monkeypatch.setattr(Ledger, "record", crash)
    with pytest.raises(OSError):
        _pull(settings, landing, ledger=ledger)
    monkeypatch.setattr(Ledger, "record", real_record)
    assert ledger.successful_pull(SPEC.name, DAY) is None and not ledger.taken_files(SPEC.name)
    first = _pull(settings, landing, ledger=ledger)
    assert first.rows == 1 and not first.reused
    landing.write("clinic_visits/clinic_visits_20261102.csv", _csv([["V2", IDS[1], "2", "2026-11-02 08:00:00"]]))
    second = _pull(settings, landing, day=DAY + timedelta(days=1), ledger=ledger)
    assert second.rows == 1
    landed = pd.concat(pd.read_parquet(p) for p in sorted((settings.home / "raw" / SPEC.name).glob("ds=*")))
    assert landed["visit_id"].tolist() == ["V1", "V2"]
    assert [r.outcome for r in ledger.file_receipts(SPEC.name)] == ["landed", "landed"]


def test_readmitted_rows_of_a_personal_feed_are_decrypted_reparsed_and_protected(settings):
    from datafactory.quality.quarantine_view import list_quarantine
    from datafactory.quality.release import release

    landing = LocalLanding(settings.home / "landing")
    good = _csv([["V1", IDS[0], "12.5", "2026-11-01 08:00:00"]])
    landing.write("clinic_visits/clinic_visits_20261101.csv", good + f"V2,{IDS[1]},3,2026-11-01 09:00:00,\n".encode())
    assert _pull(settings, landing).rows_quarantined == 1
    zones = Zones(settings.home)
    (entry,) = list_quarantine(zones, SPEC.name, DAY)
    assert entry.reasons == {"malformed row: expected 4 fields, got 5": 1}
    fixed = SPEC.revised(options={**SPEC.options.model_dump(), "trailing_delimiter": True})
    moved = release(fixed, {}, DAY, zones, pseudonym_key=b"k", sm4_key=SM4)  # not conformed yet: raw only
    assert moved.readmitted == 1 and list_quarantine(zones, SPEC.name, DAY) == []
    raw = pd.read_parquet(zones.raw_partition(SPEC.name, DAY))
    assert raw["person_id"].tolist() == [pseudonym(i, b"k") for i in IDS] and raw["visit_id"].tolist() == ["V1", "V2"]
    assert release(fixed, {}, DAY, zones, pseudonym_key=b"k", sm4_key=SM4).readmitted == 0
