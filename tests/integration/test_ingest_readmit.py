"""Parse-time rejects show in `quarantine list` with their counts and reasons, and `quarantine release`
re-admits those that parse after a spec fix, exactly once, through the validation release; a crash
mid-release followed by a rerun moves nothing twice."""

from __future__ import annotations

import json
from collections import Counter
from datetime import date

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.quality.conform import conform
from datafactory.quality.quarantine_view import list_quarantine
from datafactory.quality.readmit import READMITTED
from datafactory.quality.release import release
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.simulator.deliver import Scale, day_tables
from datafactory.sources.simulator.files import render_csv
from datafactory.sources.upstream import Upstream
from datafactory.specs import load_sources, load_suite
from datafactory.zones import Zones, read_partition

pytestmark = pytest.mark.integration
DAY = date(2026, 11, 1)


def _drop(settings):
    """sup_outcomes (a GBK feed): one file sent in UTF-8 with a renamed column, one whose data lines end
    with a delimiter and that carries a 合计 row, and a clean GBK file. The first fix: accept_utf8 and the
    rename (the second, trailing_delimiter, would break the first file: it is made after that file is in)."""
    spec = load_sources(settings.repo)["sup_outcomes"]
    frame = day_tables(settings.seed, Scale(300), DAY, 0)["sup_outcomes"]
    a, b, c = frame.iloc[:20], frame.iloc[20:30], frame.iloc[30:]
    landing = LocalLanding(settings.home / "landing")
    chinese = ["统一社会信用代码", *list(frame.columns)[1:]]  # a header the spec does not know yet, in UTF-8
    landing.write(f"sup_outcomes/sup_outcomes_{DAY:%Y%m%d}_a.csv", render_csv(a, chinese, "utf-8"))
    lines = render_csv(b, list(frame.columns), "gbk").decode("gbk").splitlines()
    trailing = "\n".join([lines[0], *(line + "," for line in lines[1:]), "合计,,,", ""])
    landing.write(f"sup_outcomes/sup_outcomes_{DAY:%Y%m%d}_b.csv", trailing.encode("gbk"))
    landing.write(f"sup_outcomes/sup_outcomes_{DAY:%Y%m%d}_c.csv", render_csv(c, list(frame.columns), "gbk"))
    zones = Zones(settings.home)
    ledger = Ledger(sa.create_engine(settings.state_url))
    pulled = ingest(
        spec, DAY, "run-r", upstream=Upstream(landing=landing), ledger=ledger, zones=zones, pseudonym_key=b"k"
    )
    assert pulled.rows == len(c) and pulled.rows_quarantined == len(a) + len(b) + 1
    suite = load_suite(settings.repo, spec.suite)
    conform(spec, suite, DAY, "run-r", zones)
    options = {**spec.options.model_dump(), "accept_utf8": True}
    fixed = spec.revised(options=options, renames={**spec.renames, "统一社会信用代码": "uscc"})
    return spec, fixed, suite, zones, frame, (a, b, c)


def _accounted(zones, spec):
    result = json.loads(zones.quality_result(DAY, spec.name).read_text())
    assert result["rows_in"] == result["rows_conformed"] + result["rows_quarantined"]
    return result


def test_list_shows_parse_time_rejects_and_release_readmits_them_once(settings):
    spec, fixed, suite, zones, frame, (a, b, _) = _drop(settings)
    (entry,) = [e for e in list_quarantine(zones, spec.name, DAY) if e.stage == "ingest"]
    assert entry.rows == len(a) + len(b) + 1
    assert entry.reasons["malformed row: expected 4 fields, got 5"] == len(b)
    assert any(label.startswith("summary row") and n == 1 for label, n in entry.reasons.items())
    utf8 = [n for label, n in entry.reasons.items() if "looks like UTF-8" in label]
    assert utf8 == [len(a)]
    before = _accounted(zones, spec)

    first = release(fixed, suite, DAY, zones)
    assert first.readmitted == len(a)
    (mid,) = [e for e in list_quarantine(zones, spec.name, DAY) if e.stage == "ingest"]
    assert mid.rows == len(b) + 1 and sum(n for r, n in mid.reasons.items() if r.startswith("summary row")) == 1
    fixed = fixed.revised(options={**fixed.options.model_dump(), "trailing_delimiter": True})
    second = release(fixed, suite, DAY, zones)
    assert second.readmitted == len(b)
    (left,) = [e for e in list_quarantine(zones, spec.name, DAY) if e.stage == "ingest"]
    assert left.rows == 1  # the 合计 row; its reason is the current one (under trailing_delimiter it is short)
    after = _accounted(zones, spec)
    assert after["rows_in"] == before["rows_in"] + len(a) + len(b)
    raw = read_partition(zones.raw_partition(spec.name, DAY))
    assert Counter(raw["uscc"]) == Counter(frame["uscc"])  # every delivered row once
    conformed = pd.read_parquet(zones.conformed(spec.name, DAY))
    held = read_partition(zones.quarantine_partition(spec.name, DAY))
    assert not held["_failed_expectations"].str.contains(READMITTED).any()  # every re-admitted row was judged
    assert len(conformed) + len(held) >= len(frame) - frame.duplicated(list(spec.keys)).sum()

    again = release(fixed, suite, DAY, zones)
    assert again.readmitted == 0 and again.released == 0
    assert len(read_partition(zones.raw_partition(spec.name, DAY))) == len(frame)
    assert pd.read_parquet(zones.conformed(spec.name, DAY)).equals(conformed)
    assert _accounted(zones, spec) == {**after, "releases": _accounted(zones, spec)["releases"]}


def test_a_crash_mid_release_then_a_rerun_moves_nothing_twice(settings, monkeypatch):
    import datafactory.quality.readmit as module  # the re-admission writes the feed's result

    spec, fixed, suite, zones, frame, (a, b, c) = _drop(settings)
    real = module.write_json_atomic

    def crash(payload, path):
        if path.name == f"{spec.name}.json":
            raise OSError("disk vanished")
        real(payload, path)

    monkeypatch.setattr(module, "write_json_atomic", crash)
    with pytest.raises(OSError):
        release(fixed, suite, DAY, zones)  # rows are in raw and the validation quarantine; accounting is not
    monkeypatch.setattr(module, "write_json_atomic", real)
    rerun = release(fixed, suite, DAY, zones)
    assert rerun.readmitted == len(a)
    raw = read_partition(zones.raw_partition(spec.name, DAY))
    assert Counter(raw["uscc"]) == Counter(pd.concat([a, c])["uscc"])
    result = _accounted(zones, spec)
    assert result["rows_in"] == len(frame) - len(b) and len(result["readmissions"]) == 1
    assert release(fixed, suite, DAY, zones).readmitted == 0
    assert len(read_partition(zones.raw_partition(spec.name, DAY))) == len(frame) - len(b)
