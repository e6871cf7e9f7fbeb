"""Building the reviewers' Data Docs costs the same on day 400 as on day 2: only the runs near the one
being built are loaded for the index, and only the pages this build wrote are rewritten for offline use."""

import os
import time
from datetime import date, timedelta

import pytest

from datafactory.quality.data_docs import INDEX_WINDOW_DAYS, make_offline, stored_results
from datafactory.zones import Zones

pytestmark = pytest.mark.unit

DAY = date(2026, 11, 1)


def _result(zones: Zones, feed: str, day: date, region: str | None = None) -> None:
    if region is None:
        folder = zones.home / "quality" / day.isoformat() / "ge"
    else:
        folder = zones.home / "partitions" / feed / f"region={region}" / "quality" / day.isoformat() / "ge"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{feed}.json").write_text("{}")


def test_the_index_loads_only_the_runs_near_the_one_built(tmp_path):
    zones = Zones(tmp_path)
    edge, beyond = timedelta(days=INDEX_WINDOW_DAYS), timedelta(days=INDEX_WINDOW_DAYS + 1)
    for day in (DAY - beyond, DAY - edge, DAY, DAY + edge, DAY + beyond):
        _result(zones, "ent_registry", day)
        _result(zones, "ent_tax_monthly", day, region="330281")
    near = {(batch, p.parent.parent.name) for batch, p in stored_results(zones, around=DAY)}
    days = {d.isoformat() for d in (DAY - edge, DAY, DAY + edge)}
    assert near == {(b, d) for b in ("ent_registry", "ent_tax_monthly.330281") for d in days}
    assert len(stored_results(zones)) == 10  # without a date: every kept result


def test_only_pages_written_since_the_build_began_are_rewritten(tmp_path):
    cdn = "https://code.jquery.com/jquery-3.7.1.min.js"
    old, new = tmp_path / "validations" / "old.html", tmp_path / "validations" / "new.html"
    old.parent.mkdir()
    for page in (old, new):
        page.write_text(f'<script src="{cdn}"></script>')
    long_ago = time.time() - 86_400
    os.utime(old, (long_ago, long_ago))
    assert make_offline(tmp_path, since=time.time() - 60) == 1
    assert cdn in old.read_text() and cdn not in new.read_text()
    assert "../static/vendor/jquery/jquery-3.7.1.min.js" in new.read_text()
