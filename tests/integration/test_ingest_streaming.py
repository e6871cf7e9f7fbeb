"""Ingest streams a delivery into the raw partition batch by batch: memory holds one batch, duplicates
across files are still caught, and a failure mid-delivery lands nothing."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from datafactory.sources import ingest as ingest_module
from datafactory.sources.channels.files import FileDropChannel
from datafactory.sources.ingest import IngestError, ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import FAILED, Ledger
from datafactory.sources.retry import Backoff
from datafactory.sources.upstream import Upstream
from datafactory.specs import SourceSpec
from datafactory.zones import Zones, read_partition

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)
SPEC = SourceSpec(
    name="meter_reads",
    description="test feed in several files",
    channel="files",
    table="meter_reads",
    keys=["meter_id", "period"],
    watermark_column="updated_at",
    columns={"meter_id": "string", "period": "string", "kwh": "float", "updated_at": "timestamp"},
    options={"format": "csv"},
)


def _csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(SPEC.columns))
    writer.writerows(rows)
    return out.getvalue().encode()


class FlakyLanding(LocalLanding):
    """A landing area whose transport drops every read of one file (a network fault, not a code path)."""

    def __init__(self, root, broken: str | None):
        super().__init__(root)
        self.broken = broken

    def read(self, name: str) -> bytes:
        if name == self.broken:
            raise ConnectionError("connection reset by peer")
        return super().read(name)


class _Upstream(Upstream):
    def channel(self, spec, ledger):
        return FileDropChannel(self.landing, ledger.taken_files, Backoff(attempts=2, base_s=0.01))


def _pull(settings, landing, ledger):
    return ingest(
        SPEC,
        DAY,
        "run-s",
        upstream=_Upstream(landing=landing),
        ledger=ledger,
        zones=Zones(settings.home),
        pseudonym_key=b"k",
    )


def _drop(landing) -> None:
    stamp = "2026-11-01 08:00:00"
    first = [("M1", "2026-10", "1.5", stamp), ("M2", "2026-10", "2.0", stamp), ("M3", "2026-10", "0.5", stamp)]
    # the second file repeats M2 (sent twice: a transport duplicate) and M4 (upstream's own duplicate)
    second = [("M2", "2026-10", "2.0", stamp), ("M4", "2026-10", "3.0", stamp), ("M4", "2026-10", "3.0", stamp)]
    landing.write("meter_reads/meter_reads_20261101_1.csv", _csv(first))
    landing.write("meter_reads/meter_reads_20261101_2.csv", _csv(second))


def test_a_delivery_lands_in_batches_with_duplicates_across_files_dropped(settings, monkeypatch):
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 2)
    landing = LocalLanding(settings.home / "landing")
    _drop(landing)
    result = _pull(settings, landing, Ledger(sa.create_engine(settings.state_url)))
    partition = Zones(settings.home).raw_partition(SPEC.name, DAY)
    assert len(list(partition.glob("*.parquet"))) == 4  # two batches per file
    landed = read_partition(partition)
    assert landed["meter_id"].tolist() == ["M1", "M2", "M3", "M4", "M4"]
    assert result.rows == 5 and result.rows_duplicate == 1 and result.rows_received == 6


def test_a_failure_in_the_middle_of_a_delivery_lands_nothing_and_the_retry_lands_everything(settings, monkeypatch):
    monkeypatch.setattr(ingest_module, "BATCH_ROWS", 2)
    root = settings.home / "landing"
    _drop(LocalLanding(root))
    ledger = Ledger(sa.create_engine(settings.state_url))
    flaky = FlakyLanding(root, broken="meter_reads/meter_reads_20261101_2.csv")
    with pytest.raises(IngestError, match="connection reset"):
        _pull(settings, flaky, ledger)  # the first file was already written into the partition's staging
    feed_folder = settings.home / "raw" / SPEC.name
    assert not list(feed_folder.iterdir())  # neither the partition nor its staging folder
    assert [r.outcome for r in ledger.history(SPEC.name)] == [FAILED]
    assert ledger.watermark(SPEC.name, DAY + timedelta(days=1)) is None and not ledger.taken_files(SPEC.name)
    retry = _pull(settings, FlakyLanding(root, broken=None), ledger)
    assert retry.rows == 5 and len(read_partition(Zones(settings.home).raw_partition(SPEC.name, DAY))) == 5
