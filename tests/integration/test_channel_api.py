"""Sharing-platform API channel against the simulated platform on loopback: token auth, paging,
rate limits, and injected 5xx, timeouts, slow and repeated pages, each ending with row accounting."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.sources.channels.api import ApiChannel
from datafactory.sources.dedupe import identities
from datafactory.sources.ingest import IngestError, ingest
from datafactory.sources.ledger import Ledger
from datafactory.sources.pseudonymize import decrypt_value, pseudonym
from datafactory.sources.retry import Backoff
from datafactory.sources.simulator.api_server import ApiFaults, PlatformApi
from datafactory.sources.simulator.deliver import write_tables
from datafactory.sources.simulator.medical import medical_delivery
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources
from datafactory.zones import Zones

pytestmark = pytest.mark.integration
FIRST = date(2026, 11, 1)
PERSONS = 600
KEY, SECRET, SM4 = "app", "s3cret", bytes(range(16))
FAST = Backoff(attempts=12, base_s=0.01, max_s=0.1)


@pytest.fixture
def platform(settings) -> str:
    """The platform's store holding two days of medical feeds."""
    url = f"sqlite:///{settings.home}/platform.db"
    engine = sa.create_engine(url)
    for day in (0, 1):
        write_tables(engine, medical_delivery(settings.seed, PERSONS, FIRST, day), FIRST + timedelta(days=day))
    engine.dispose()
    return url


def _spec(settings, name: str, page_size: int | None = None):
    spec = load_sources(settings.repo)[name]
    if page_size:
        spec = spec.revised(options={"dataset": name, "page_size": page_size})
    return spec


def _pull(settings, spec, day, api_url, secret=SECRET, timeout_s=5.0):
    channel = ApiChannel(api_url, KEY, secret, backoff=FAST, timeout_s=timeout_s)
    return ingest(
        spec,
        day,
        "run-a",
        upstream=Upstream(api=channel),
        ledger=Ledger(sa.create_engine(settings.state_url)),
        zones=Zones(settings.home),
        pseudonym_key=b"k",
        sm4_key=SM4,
    )


def _accounted(settings, platform, spec) -> None:
    """Every upstream row landed exactly once across the raw partitions."""
    upstream = pd.read_sql_table(spec.table, sa.create_engine(platform))
    landed = pd.concat([pd.read_parquet(p) for p in sorted((settings.home / "raw" / spec.name).glob("ds=*"))])
    cols = [*spec.keys, spec.watermark_column]
    upstream[spec.watermark_column] = pd.to_datetime(upstream[spec.watermark_column])
    landed[spec.watermark_column] = pd.to_datetime(landed[spec.watermark_column])
    assert len(landed) == len(upstream)
    assert Counter(identities(landed, cols).tolist()) == Counter(identities(upstream, cols).tolist())


def test_pages_land_every_record_once_with_personal_fields_protected(settings, platform):
    spec = _spec(settings, "uw_decisions", page_size=97)
    with PlatformApi(platform, KEY, SECRET) as api:
        results = [_pull(settings, spec, FIRST + timedelta(days=d), api.url) for d in (0, 1)]
        assert api.stats.by_status[200] > 5  # several pages
    assert all(r.rows_received == r.rows + r.rows_duplicate + r.rows_quarantined for r in results)
    _accounted(settings, platform, spec)
    raw = pd.read_parquet(settings.home / "raw" / spec.name / f"ds={FIRST}")
    upstream = pd.read_sql_table(spec.table, sa.create_engine(platform)).set_index("application_id")
    row = raw.iloc[0]
    original = upstream.loc[row["application_id"], "person_id"]
    if isinstance(original, pd.Series):
        original = original.iloc[0]
    assert row["person_id"] == pseudonym(original, b"k")
    assert decrypt_value(row["person_id_sm4"], SM4, b"person_id") == original
    assert raw["applicant_phone"].str.startswith("sm4gcm:").all()
    text = raw.astype(str).to_numpy().ravel()
    assert not any(v in text for v in upstream["person_id"].head(50))


def test_wrong_secret_fails_with_one_clear_line_and_records_the_pull(settings, platform):
    with PlatformApi(platform, KEY, SECRET) as api, pytest.raises(IngestError) as err:
        _pull(settings, _spec(settings, "med_claims"), FIRST, api.url, secret="wrong")
    assert "refused the app key/secret" in str(err.value) and "\n" not in str(err.value)
    failed = Ledger(sa.create_engine(settings.state_url)).history("med_claims")[0]
    assert failed.outcome == "failed" and failed.rows == 0
    assert not (settings.home / "raw" / "med_claims" / f"ds={FIRST}").exists()  # nothing half-written


def test_an_expired_token_is_renewed_mid_pull(settings, platform):
    spec = _spec(settings, "med_visits", page_size=150)
    with PlatformApi(platform, KEY, SECRET, faults=ApiFaults(slow_rate=1.0, slow_s=0.3), token_ttl_s=1.0) as api:
        result = _pull(settings, spec, FIRST, api.url)
        assert api.stats.unauthorized > 0 and api.stats.by_status[200] > 3
    assert "retried" in Ledger(sa.create_engine(settings.state_url)).history()[0].message
    _accounted_day(settings, platform, spec, result.rows)


def test_rate_limit_answers_are_waited_out(settings, platform):
    spec = _spec(settings, "med_visits", page_size=300)
    with PlatformApi(platform, KEY, SECRET, rate_per_s=1, burst=1) as api:  # slower than any client
        result = _pull(settings, spec, FIRST, api.url)
        assert api.stats.throttled > 0 and api.stats.by_status[429] == api.stats.throttled
    _accounted_day(settings, platform, spec, result.rows)


def _accounted_day(settings, platform, spec, rows: int) -> None:
    upstream = pd.read_sql_table(spec.table, sa.create_engine(platform))
    first_day = pd.to_datetime(upstream[spec.watermark_column]) < pd.Timestamp(FIRST + timedelta(days=1))
    assert rows == int(first_day.sum())


def test_thirty_percent_5xx_timeouts_and_repeated_pages_lose_and_duplicate_nothing(settings, platform):
    spec = _spec(settings, "med_visits", page_size=120)
    faults = ApiFaults(error_rate=0.3, timeout_rate=0.05, hang_s=2.0, repeat_rate=0.3, seed=11)
    with PlatformApi(platform, KEY, SECRET, faults=faults) as api:
        results = [_pull(settings, spec, FIRST + timedelta(days=d), api.url, timeout_s=1.0) for d in (0, 1)]
        stats = api.stats
    assert stats.errors > 0 and stats.hangs > 0 and stats.repeats > 0
    assert sum(r.rows_duplicate for r in results) > 0  # repeated rows were received, counted, dropped
    assert all(r.rows_received == r.rows + r.rows_duplicate + r.rows_quarantined for r in results)
    _accounted(settings, platform, spec)


def _window(day: date):
    from datetime import datetime, time

    from datafactory.sources.channels import Window

    return Window(None, datetime.combine(day + timedelta(days=1), time()), day)


def _delivered(api_url: str, spec, arrow: bool) -> pd.DataFrame:
    channel = ApiChannel(api_url, KEY, SECRET, backoff=FAST, arrow=arrow)
    delivery = channel.fetch(spec, _window(FIRST + timedelta(days=1)))
    return pd.concat(list(delivery.units[0].batches(250)), ignore_index=True)


@pytest.mark.parametrize("name", ["uw_decisions", "med_visits", "med_claims"])
def test_arrow_and_gzipped_json_pages_deliver_identical_rows(settings, platform, name):
    spec = _spec(settings, name, page_size=97)
    with PlatformApi(platform, KEY, SECRET) as api:
        arrow = _delivered(api.url, spec, arrow=True)
        json_rows = _delivered(api.url, spec, arrow=False)
    assert len(arrow) > 97  # several pages
    pd.testing.assert_frame_equal(arrow, json_rows)


def test_pages_come_compressed_as_the_client_asks(settings, platform):
    import gzip
    import io

    import pyarrow as pa
    import requests

    with PlatformApi(platform, KEY, SECRET) as api:
        token = requests.post(f"{api.url}/api/v1/token", json={"app_key": KEY, "app_secret": SECRET}).json()
        auth = {"Authorization": f"Bearer {token['access_token']}"}
        url = f"{api.url}/api/v1/datasets/med_visits/records?until=2026-11-03&limit=500"
        plain = requests.get(url, headers={**auth, "Accept-Encoding": "identity"}, timeout=10)
        zipped = requests.get(url, headers=auth, timeout=10)  # requests sends Accept-Encoding: gzip
        raw = requests.get(url, headers=auth, timeout=10, stream=True).raw.read(decode_content=False)
        arrow = requests.get(url, headers={**auth, "Accept": "application/vnd.apache.arrow.stream"}, timeout=10)
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip" and zipped.json() == plain.json()  # decompressed
    assert len(raw) < len(plain.content) / 3 and gzip.decompress(raw) == plain.content
    assert arrow.headers["Content-Type"] == "application/vnd.apache.arrow.stream"
    table = pa.ipc.open_stream(io.BytesIO(arrow.content)).read_all()
    body = plain.json()
    assert table.column_names == body["columns"] and [list(r.values()) for r in table.to_pylist()] == body["rows"]


def test_a_column_arrow_cannot_type_falls_back_to_json(settings):
    url = f"sqlite:///{settings.home}/mixed.db"
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE mixed (id TEXT, v, updated_at TEXT)"))
        conn.execute(
            sa.text("INSERT INTO mixed VALUES ('a', 1, '2026-11-01 01:00:00'), ('b', 'x', '2026-11-01 02:00:00')")
        )
    engine.dispose()
    with PlatformApi(url, KEY, SECRET) as api:
        channel = ApiChannel(api.url, KEY, SECRET, backoff=FAST)
        page = channel._page("mixed", {"until": "2026-11-02", "limit": 10})
    assert page.frame["v"].tolist() == [1, "x"] and page.meta["total"] == 2 and page.meta["next_cursor"] is None
