"""File-drop channel against a landing folder and a real S3 API (moto server on loopback): GBK and
UTF-8-BOM CSV, XLSX, control files; truncated, duplicated, late and drifted files, with row accounting."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date, timedelta

import boto3
import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.sources.dedupe import identities
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding, open_landing
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.deliver import Scale, Targets, day_tables, deliver_everything
from datafactory.sources.simulator.files import FileFaults, control_file, render_csv, render_xlsx
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
FIRST = date(2026, 11, 1)
SCALE = Scale(300)


@pytest.fixture
def s3_landing(monkeypatch):
    from moto.server import ThreadedMotoServer

    for key, value in {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket="drops")
    yield open_landing("s3://drops/returned/huzhou", endpoint)
    server.stop()


@pytest.fixture(params=["folder", "s3"])
def landing(request, settings):
    if request.param == "s3":
        return request.getfixturevalue("s3_landing")
    return LocalLanding(settings.home / "landing")


def _file_specs(settings):
    return {n: s for n, s in load_sources(settings.repo).items() if s.channel == "files"}


def _pull(settings, spec, day, landing):
    ledger = Ledger(sa.create_engine(settings.state_url))
    return ingest(
        spec,
        day,
        "run-a",
        upstream=Upstream(landing=landing),
        ledger=ledger,
        zones=Zones(settings.home),
        pseudonym_key=b"k",
    )


def _landed(settings, feed: str) -> pd.DataFrame:
    parts = sorted((settings.home / "raw" / feed).glob("ds=*"))
    return pd.concat([pd.read_parquet(p) for p in parts], ignore_index=True)


def _ids(frame: pd.DataFrame, spec) -> Counter:
    frame = frame.assign(**{spec.watermark_column: pd.to_datetime(frame[spec.watermark_column])})
    return Counter(identities(frame, [*spec.keys, spec.watermark_column]).tolist())


def test_faulty_drops_land_every_row_once(settings, landing):
    specs = _file_specs(settings)
    assert {"bld_buildings", "bld_electricity_monthly", "bld_gas_monthly", "sup_incidents", "sup_outcomes"} <= set(
        specs
    )
    faults = FileFaults(late=0.4, truncated=0.4, duplicate=0.5)
    for d in range(4):
        day = FIRST + timedelta(days=d)
        deliver_everything(Targets(landing=landing), specs, settings.seed, SCALE, FIRST, day, faults)
        assert (
            deliver_everything(Targets(landing=landing), specs, settings.seed, SCALE, FIRST, day, faults)["files"] == 0
        )
        for spec in specs.values():
            result = _pull(settings, spec, day, landing)
            assert result.rows >= 1, (spec.name, day)
            assert result.rows_received == result.rows + result.rows_duplicate + result.rows_quarantined
    receipts = Ledger(sa.create_engine(settings.state_url)).file_receipts(limit=1000)
    outcomes = Counter(r.outcome for r in receipts)
    assert outcomes["duplicate"] > 0 and outcomes["quarantined"] > 0 and outcomes["landed"] > 0
    assert all(r.reason.startswith("truncated") for r in receipts if r.outcome == "quarantined")
    late = [r for r in receipts if r.outcome == "landed" and r.name.split("_")[-2] != r.logical_date.strftime("%Y%m%d")]
    assert late  # files dated one day, taken the next
    cutoff = pd.Timestamp(FIRST + timedelta(days=3))
    truth = {name: [] for name in specs}
    for d in range(3):
        for name, frame in day_tables(settings.seed, SCALE, FIRST, d).items():
            if name in truth:
                truth[name].append(frame)
    for name, spec in specs.items():
        landed = _landed(settings, name)
        landed = landed[pd.to_datetime(landed[spec.watermark_column]) < cutoff]
        assert _ids(landed, spec) == _ids(pd.concat(truth[name], ignore_index=True), spec), name


def test_truncated_file_without_control_is_quarantined_whole_then_the_resend_lands(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["sup_outcomes"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["sup_outcomes"]
    full = render_csv(frame, list(frame.columns), "gbk")
    name = f"sup_outcomes/sup_outcomes_{FIRST:%Y%m%d}.csv"
    landing.write(name, full[: len(full) // 2 + 3])
    first = _pull(settings, spec, FIRST, landing)
    assert first.rows == 0 and first.rows_quarantined > 0
    held = Zones(settings.home).ingest_quarantine(spec.name, FIRST) / "files"
    reason = json.loads((held / "sup_outcomes_20261101.csv.reason.json").read_text())
    assert reason["reason"].startswith("truncated: the file does not end with a line break")
    assert (held / "sup_outcomes_20261101.csv").read_bytes() == full[: len(full) // 2 + 3]  # kept whole
    landing.write(name, full)  # the provider re-sends the whole file under the same name
    second = _pull(settings, spec, FIRST + timedelta(days=1), landing)
    assert second.rows == len(frame) and second.rows_duplicate == 0
    assert _ids(_landed(settings, spec.name), spec) == _ids(frame, spec)


def test_duplicate_delivery_lands_once(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["bld_gas_monthly"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["bld_gas_monthly"]
    data = render_csv(frame, list(frame.columns), "utf-8-sig")
    for name in (
        f"bld_gas_monthly/bld_gas_monthly_{FIRST:%Y%m%d}.csv",
        f"bld_gas_monthly/bld_gas_monthly_{FIRST:%Y%m%d}_copy.csv",
    ):
        landing.write(name, data)
        landing.write(name + ".ok", control_file(data, len(frame)))
    first = _pull(settings, spec, FIRST, landing)
    again = f"bld_gas_monthly/bld_gas_monthly_{FIRST + timedelta(days=1):%Y%m%d}.csv"  # and once more tomorrow
    landing.write(again, data)
    landing.write(again + ".ok", control_file(data, len(frame)))
    second = _pull(settings, spec, FIRST + timedelta(days=1), landing)
    assert first.rows == len(frame) and first.rows_duplicate == len(frame)
    assert second.rows == 0 and second.rows_duplicate == len(frame)
    assert len(_landed(settings, spec.name)) == len(frame)
    outcomes = Counter(r.outcome for r in Ledger(sa.create_engine(settings.state_url)).file_receipts(spec.name))
    assert outcomes == {"landed": 1, "duplicate": 2}


def test_files_in_flight_or_dated_later_wait_for_their_run(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["bld_electricity_monthly"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["bld_electricity_monthly"]
    data = render_csv(frame, list(frame.columns), "gbk")
    today = f"bld_electricity_monthly/bld_electricity_monthly_{FIRST:%Y%m%d}.csv"
    tomorrow = f"bld_electricity_monthly/bld_electricity_monthly_{FIRST + timedelta(days=1):%Y%m%d}.csv"
    landing.write(today, data)  # control file not written yet: still in flight
    landing.write(tomorrow, data[:10])
    landing.write(tomorrow + ".ok", control_file(data, len(frame)))
    assert _pull(settings, spec, FIRST, landing).rows == 0
    assert "no control file yet" in Ledger(sa.create_engine(settings.state_url)).history(spec.name)[0].message
    landing.write(today + ".ok", control_file(data, len(frame)))
    second = _pull(settings, spec, FIRST + timedelta(days=1), landing)
    assert second.rows == len(frame)  # today's file, now complete; tomorrow's is truncated per its control
    assert second.rows_quarantined == len(frame)  # as many rows as its control file announced
    receipts = {r.name: r for r in Ledger(sa.create_engine(settings.state_url)).file_receipts(spec.name)}
    assert receipts[tomorrow].outcome == "quarantined" and receipts[tomorrow].reason.startswith("truncated")


def test_renamed_headers_map_when_known_and_quarantine_the_file_when_not(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["bld_buildings"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["bld_buildings"]
    known = ["建筑编号", "建筑类型", "建筑面积(平方米)", "建成年份", "行政区划", "更新时间"]
    unknown = [*known[:2], "建筑面积(m²)", *known[3:]]
    landing.write(f"bld_buildings/bld_buildings_{FIRST:%Y%m%d}.xlsx", render_xlsx(frame, known))
    landing.write(f"bld_buildings/bld_buildings_{FIRST:%Y%m%d}_b.xlsx", render_xlsx(frame.head(3), unknown))
    result = _pull(settings, spec, FIRST, landing)
    assert result.rows == len(frame)
    assert "建筑面积(平方米)->floor_area" in result.drift and "(mapped by spec)" in result.drift
    assert "missing ['floor_area']" in result.drift
    receipts = {r.name.rsplit("/", 1)[-1]: r for r in Ledger(sa.create_engine(settings.state_url)).file_receipts()}
    bad = receipts[f"bld_buildings_{FIRST:%Y%m%d}_b.xlsx"]
    assert bad.outcome == "quarantined" and "schema drift" in bad.reason and "renames:" in bad.reason
    raw = pd.read_parquet(Zones(settings.home).raw_partition(spec.name, FIRST))
    assert list(raw.columns) == list(spec.columns)


def test_every_file_in_the_drop_is_taken_or_reported_once(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["sup_outcomes"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["sup_outcomes"]
    data = render_csv(frame, list(frame.columns), "gbk")
    landing.write(f"sup_outcomes/SUP_OUTCOMES_{FIRST:%Y%m%d}.CSV", data)  # upper case: taken
    landing.write(
        f"sup_outcomes/区县/sup_outcomes_{FIRST:%Y%m%d}_b.csv", render_csv(frame.head(2), list(frame.columns), "gbk")
    )
    for name in (
        "readme.txt",
        f"sup_outcomes_{FIRST:%Y%m%d}.xls",
        "bundle.zip",
        "用电量_20261001.CSV",
        "orphan.csv.ok",
    ):
        landing.write(f"sup_outcomes/{name}", b"x")
    landing.write(f"sup_outcomes/sup_outcomes_{FIRST + timedelta(days=1):%Y%m%d}.txt", b"later")  # waits
    first = _pull(settings, spec, FIRST, landing)
    assert first.rows == len(frame)  # the subfolder's two rows repeat identities already landed
    ledger = Ledger(sa.create_engine(settings.state_url))
    receipts = {r.name.rsplit("/", 1)[-1]: r for r in ledger.file_receipts(spec.name)}
    assert receipts[f"SUP_OUTCOMES_{FIRST:%Y%m%d}.CSV"].outcome == "landed"
    assert receipts[f"sup_outcomes_{FIRST:%Y%m%d}_b.csv"].outcome == "landed"
    ignored = {n: r.reason for n, r in receipts.items() if r.outcome == "ignored"}
    assert set(ignored) == {
        "readme.txt",
        f"sup_outcomes_{FIRST:%Y%m%d}.xls",
        "bundle.zip",
        "用电量_20261001.CSV",
        "orphan.csv.ok",
    }
    assert (
        "not a data file: .txt" in ignored["readme.txt"] and "old Excel" in ignored[f"sup_outcomes_{FIRST:%Y%m%d}.xls"]
    )
    assert "does not match the feed's pattern" in ignored["用电量_20261001.CSV"]
    assert "control file without its data file" in ignored["orphan.csv.ok"]
    assert "readme.txt: ignored" in ledger.history(spec.name)[0].message
    second = _pull(settings, spec, FIRST + timedelta(days=1), landing)
    later = [r for r in ledger.file_receipts(spec.name) if r.logical_date == FIRST + timedelta(days=1)]
    assert [r.name.rsplit("/", 1)[-1] for r in later] == [f"sup_outcomes_{FIRST + timedelta(days=1):%Y%m%d}.txt"]
    assert second.rows == 0 and "readme.txt" not in (ledger.history(spec.name)[0].message or "")


@pytest.mark.parametrize(
    "control,reason",
    [
        (b'{"rows": "1,204"}', "control file is invalid: 'rows' must be a whole number"),
        (b'{"rows": "abc"}', "control file is invalid: 'rows' must be a whole number"),
        (b"not json", "control file is not readable JSON"),
        (b"[1, 2]", "control file is not readable JSON"),
    ],
)
def test_an_invalid_control_file_quarantines_its_file_and_the_pull_is_recorded(settings, control, reason):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["bld_gas_monthly"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["bld_gas_monthly"]
    name = f"bld_gas_monthly/bld_gas_monthly_{FIRST:%Y%m%d}.csv"
    landing.write(name, render_csv(frame, list(frame.columns), "utf-8-sig"))
    landing.write(name + ".ok", control)
    result = _pull(settings, spec, FIRST, landing)
    assert result.rows == 0 and result.rows_quarantined == len(frame)
    ledger = Ledger(sa.create_engine(settings.state_url))
    assert ledger.successful_pull(spec.name, FIRST) is not None
    (receipt,) = ledger.file_receipts(spec.name)
    assert receipt.outcome == "quarantined" and receipt.reason.startswith(reason)


def test_a_control_file_with_a_bom_and_rows_as_digits_is_accepted(settings):
    landing = LocalLanding(settings.home / "landing")
    spec = _file_specs(settings)["bld_gas_monthly"]
    frame = day_tables(settings.seed, SCALE, FIRST, 0)["bld_gas_monthly"]
    data = render_csv(frame, list(frame.columns), "utf-8-sig")
    name = f"bld_gas_monthly/bld_gas_monthly_{FIRST:%Y%m%d}.csv"
    landing.write(name, data)
    landing.write(
        name + ".ok", b"\xef\xbb\xbf" + json.dumps({"rows": f" {len(frame)} ", "bytes": str(len(data))}).encode()
    )
    assert _pull(settings, spec, FIRST, landing).rows == len(frame)
