"""The messy-export corpus (tests/corpus/<case>/): each case's files are dropped as bytes into a landing
folder, pulled by the real ingest and conformed by the real suite, and every row's fate is checked against
the case's `case.yaml`. Cases are discovered, so a held-out corpus runs the same way (CORPUS_DIR=<folder>).

Per case: rows_in == conformed + quarantined (ingest's row and file quarantine plus validation's), every
quarantined row has a reason holding the expected phrase, conformed values equal the typed expectations,
no conformed text is mojibake, no planted personal value is readable anywhere in the zones, and shuffling
a CSV's data rows (layout rows in place) changes no row's fate.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import random
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from datafactory.quality.conform import QualityGateError, conform
from datafactory.quality.parameters import Delivered
from datafactory.sources.ingest import ingest
from datafactory.sources.landing import LocalLanding
from datafactory.sources.ledger import Ledger
from datafactory.sources.pseudonymize import decrypt_value, pseudonym
from datafactory.sources.upstream import Upstream
from datafactory.specs import SourceSpec, SuiteSpec, load_sources, load_suite
from datafactory.zones import Zones, write_parquet_atomic

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(os.environ.get("CORPUS_DIR", REPO / "tests" / "corpus"))
PSEUDONYM_KEY = b"corpus-pseudonym-key"
SM4_KEY = bytes(range(16))
CONTROL = ".ok"
META = {"_failed_expectations", "_run_id", "_source", "_raw_row"}
CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


def _cases() -> list[Path]:
    return sorted(p for p in CORPUS.iterdir() if (p / "case.yaml").is_file())


def _load(folder: Path) -> dict[str, Any]:
    return yaml.safe_load((folder / "case.yaml").read_text(encoding="utf-8"))


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """Overrides merge into the feed's spec; a column given is replaced whole."""
    out = dict(base)
    for key, value in changes.items():
        if key == "columns":
            out["columns"] = {**base.get("columns", {}), **value}
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            out[key] = _merge(base[key], value)
        else:
            out[key] = value
    return out


def _spec(case: dict[str, Any]) -> SourceSpec:
    feed = case["feed"]
    if isinstance(feed, str):
        load_sources(REPO)  # the real feed specs load as they are
        data = yaml.safe_load((REPO / "sources" / f"{feed}.yaml").read_text(encoding="utf-8"))
    else:
        data = dict(feed)
    return SourceSpec.model_validate(_merge(data, case.get("overrides") or {}))


def _suite(case: dict[str, Any]) -> SuiteSpec:
    suite = case["suite"]
    return load_suite(REPO, suite) if isinstance(suite, str) else SuiteSpec.model_validate(suite)


def _phrases(reason: str | list[str]) -> list[str]:
    return [reason] if isinstance(reason, str) else list(reason)


def _says(text: str | None, reason: str | list[str]) -> bool:
    """The reason holds the phrase (any of a list), ignoring case."""
    return bool(text) and any(p.lower() in str(text).lower() for p in _phrases(reason))


@dataclass
class Held:
    text: str  # the row's raw text (ingest) or its landed values joined by commas (validation)
    reason: str
    where: str


@dataclass
class Run:
    spec: SourceSpec
    home: Path
    rows_in_result: int = 0
    conformed: pd.DataFrame = field(default_factory=pd.DataFrame)
    held: list[Held] = field(default_factory=list)
    held_files: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> reason.json
    receipts: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # base name -> (outcome, reason)
    result: dict[str, Any] = field(default_factory=dict)
    pull: Any = None
    gate: str | None = None


def _run(folder: Path, case: dict[str, Any], home: Path, replace: dict[str, bytes] | None = None) -> Run:
    spec = _spec(case)
    day = case["logical_date"]
    zones = Zones(home / "var")
    landing = LocalLanding(home / "landing")
    target = spec.options.folder or spec.name
    for path in sorted(folder.iterdir()):
        if path.name != "case.yaml" and path.is_file():
            data = (replace or {}).get(path.name, path.read_bytes())
            landing.write(f"{target}/{path.name}", data)
    for feed, columns in (case.get("references") or {}).items():
        frame = pd.DataFrame({c: pd.Series(v, dtype=object) for c, v in columns.items()})
        write_parquet_atomic(frame, zones.conformed(feed, day - dt.timedelta(days=1)))
    ledger = Ledger(sa.create_engine(f"sqlite:///{home / 'state.db'}"))
    run = Run(spec, home)
    run.pull = ingest(
        spec,
        day,
        "corpus-run",
        upstream=Upstream(landing=landing),
        ledger=ledger,
        zones=zones,
        pseudonym_key=PSEUDONYM_KEY,
        sm4_key=SM4_KEY,
    )
    try:
        delivered = Delivered(run.pull.rows_received, run.pull.rows)
        run.result = conform(spec, _suite(case), day, "corpus-run", zones, delivered)
    except QualityGateError as exc:
        run.gate = str(exc)
        run.result = json.loads(zones.quality_result(day, spec.name).read_text())
    snapshot = zones.conformed(spec.name, day)
    run.conformed = pd.read_parquet(snapshot) if snapshot.exists() and not run.gate else pd.DataFrame()
    quarantine = zones.quarantine_partition(spec.name, day)
    if quarantine.exists():
        frame = pd.concat([pd.read_parquet(p) for p in sorted(quarantine.glob("*.parquet"))], ignore_index=True)
        columns = [c for c in frame.columns if c not in META]
        for _, row in frame.iterrows():
            text = ",".join("" if pd.isna(row[c]) else str(row[c]) for c in columns)
            run.held.append(Held(text, str(row.get("_failed_expectations") or ""), "validation"))
    ingest_held = zones.ingest_quarantine(spec.name, day)
    if (ingest_held / "rows.parquet").exists():
        for _, row in pd.read_parquet(ingest_held / "rows.parquet").iterrows():
            text = str(row["_row_text"])
            if text.startswith("sm4gcm:"):
                text = decrypt_value(text, SM4_KEY, b"_row_text")
            run.held.append(Held(text, str(row["_reason"] or ""), "ingest"))
    for reason_file in sorted((ingest_held / "files").glob("*.reason.json")):
        info = json.loads(reason_file.read_text(encoding="utf-8"))
        run.held_files[info["name"].rsplit("/", 1)[-1]] = info
    for receipt in ledger.file_receipts(spec.name, limit=1000):
        run.receipts[receipt.name.rsplit("/", 1)[-1]] = (receipt.outcome, receipt.reason)
    return run


# --- checks ------------------------------------------------------------------------------------


def _key(row: pd.Series, keys: list[str]) -> str:
    return "|".join(str(row[k]) for k in keys)


def _matches(held: Held, needle: str) -> bool:
    text = held.text
    return needle in text or unicodedata.normalize("NFKC", needle) in unicodedata.normalize("NFKC", text)


def _held(run: Run, needle: str) -> list[Held]:
    """The quarantined rows a needle names; a row whose whole text is the needle wins over rows containing it."""
    found = [h for h in run.held if _matches(h, needle)]
    exact = [h for h in found if h.text.strip("\r\n") == needle]
    return exact if len(found) > 1 and len(exact) == 1 else found


def _same(actual: Any, expected: Any) -> bool:
    if isinstance(expected, dict) and "pseudonym_of" in expected:
        return actual == pseudonym(str(expected["pseudonym_of"]), PSEUDONYM_KEY)
    if expected is None:
        return actual is None or bool(pd.isna(actual))
    if actual is None or (not isinstance(actual, str | bytes) and bool(pd.isna(actual))):
        return False
    if isinstance(expected, dt.datetime):
        return pd.Timestamp(actual) == pd.Timestamp(expected)
    if isinstance(expected, dt.date):
        stamp = pd.Timestamp(actual)
        return stamp == stamp.normalize() and stamp.date() == expected
    if isinstance(expected, bool):
        return bool(actual) == expected
    if isinstance(expected, int | float):
        try:
            return math.isclose(float(actual), float(expected), rel_tol=1e-9, abs_tol=1e-9)
        except (TypeError, ValueError):
            return False
    return actual == expected


def fates(run: Run, case: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Each expected row's fate as this run decided it: ('conformed', typed row) or ('quarantined', reason)."""
    keys = run.spec.keys
    by_key = {_key(row, keys): row for _, row in run.conformed.iterrows()}
    found: dict[str, tuple[str, str]] = {}
    for needle in (k for k in case["expect"] if k != "files"):
        if needle in by_key:
            row = by_key[needle]
            found[needle] = ("conformed", repr(sorted((c, str(row[c])) for c in row.index)))
            continue
        held = _held(run, needle)
        if held:
            found[needle] = ("quarantined", " / ".join(re.sub(r"\d+", "#", h.reason) for h in held))
        else:
            found[needle] = ("missing", "")
    return found


def check_case(run: Run, case: dict[str, Any]) -> list[str]:
    """Every way the run differs from the case's statement, one line each."""
    problems: list[str] = []
    expect = case["expect"]
    result = run.result
    held_file_rows = sum(int(info.get("rows") or 0) for info in run.held_files.values())
    conformed = int(result.get("rows_conformed", 0))
    quarantined = int(result.get("rows_quarantined", 0)) + len([h for h in run.held if h.where == "ingest"])
    total = conformed + quarantined + held_file_rows
    if total != case["rows_in"]:
        problems.append(
            f"rows_in {case['rows_in']} != conformed {conformed} + quarantined {quarantined} "
            f"+ rows in quarantined files {held_file_rows} (= {total})"
        )
    if result.get("rows_in") != result.get("rows_conformed", 0) + result.get("rows_quarantined", 0) and not run.gate:
        problems.append(f"quality result does not add up: {result}")
    if not run.gate and len(run.conformed) != conformed:
        problems.append(f"conformed snapshot holds {len(run.conformed)} rows, the quality result says {conformed}")
    if run.pull.rows_received != run.pull.rows + run.pull.rows_duplicate + run.pull.rows_quarantined:
        problems.append(f"pull record does not add up: {run.pull}")
    for held in run.held:
        if not held.reason.strip():
            problems.append(f"quarantined row without a reason: {held.text[:60]!r}")
    for name, info in run.held_files.items():
        if not str(info.get("reason") or "").strip():
            problems.append(f"quarantined file without a reason: {name}")
    expected_rows = {k: v for k, v in expect.items() if k != "files"}
    found = fates(run, case)
    for needle, fate in expected_rows.items():
        got, _ = found[needle]
        if "conformed" in fate:
            if got != "conformed":
                why = " / ".join(h.reason for h in run.held if _matches(h, needle))
                problems.append(f"{needle!r}: expected conformed, got {got}" + (f" ({why})" if why else ""))
                continue
            row = next(r for _, r in run.conformed.iterrows() if _key(r, run.spec.keys) == needle)
            for column, value in (fate["conformed"] or {}).items():
                actual = row.get(column, "<no such column>")
                if not _same(actual, value):
                    problems.append(f"{needle!r}: {column} = {actual!r}, expected {value!r}")
        else:
            reason = fate["quarantined"]
            held = _held(run, needle)
            if got != "quarantined":
                problems.append(f"{needle!r}: expected quarantined ({reason}), got {got}")
            elif len(held) != 1:
                problems.append(f"{needle!r}: matches {len(held)} quarantined rows, expected one")
            elif not _says(held[0].reason, reason):
                problems.append(f"{needle!r}: quarantined for {held[0].reason!r}, expected a reason with {reason!r}")
    n_conformed = sum("conformed" in f for f in expected_rows.values())
    if not run.gate and len(run.conformed) != n_conformed:
        extra = sorted(set(_key(r, run.spec.keys) for _, r in run.conformed.iterrows()) - set(expected_rows))
        problems.append(f"{len(run.conformed)} rows conformed, the case states {n_conformed}; unexpected: {extra}")
    n_held = sum("quarantined" in f for f in expected_rows.values())
    if len(run.held) != n_held:
        unexpected = [h for h in run.held if not any(_matches(h, n) for n in expected_rows)]
        problems.append(
            f"{len(run.held)} rows quarantined, the case states {n_held}; unexpected: "
            + "; ".join(f"{h.text[:50]!r} ({h.reason[:80]})" for h in unexpected)
        )
    for name, outcome in (expect.get("files") or {}).items():
        if " | " in name:  # files of one delivery whose roles are interchangeable: outcomes as a multiset
            got_all = sorted(run.receipts.get(n, ("<no receipt>", None))[0] for n in name.split(" | "))
            if got_all != sorted(outcome["outcomes"]):
                problems.append(f"files {name!r}: receipts {got_all}, expected {sorted(outcome['outcomes'])}")
            continue
        ((state, reason),) = outcome.items()
        got = run.receipts.get(name)
        if got is None:
            problems.append(f"file {name!r}: no receipt, expected {state}")
            continue
        if got[0] != state:
            problems.append(f"file {name!r}: receipt {got[0]} ({got[1]}), expected {state} ({reason})")
        elif reason and not _says(got[1], reason):
            problems.append(f"file {name!r}: {state} for {got[1]!r}, expected a reason with {reason!r}")
        if state == "quarantined" and name in run.held_files and not _says(run.held_files[name]["reason"], reason):
            problems.append(f"file {name!r}: reason.json says {run.held_files[name]['reason']!r}")
    problems += _mojibake(run.conformed)
    problems += _pii_leaks(run.home / "var", case.get("pii_values") or [])
    if run.gate and any("conformed" in f for f in expected_rows.values()):
        problems.append(f"critical gate: {run.gate}")
    return problems


def _garbled(text: str) -> str | None:
    if "\ufffd" in text:
        return "U+FFFD replacement character"
    try:
        as_utf8 = text.encode("gbk").decode("utf-8")
        if as_utf8 != text and CJK.search(as_utf8):
            return f"UTF-8 read as GBK (reads {as_utf8!r})"
    except (UnicodeEncodeError, UnicodeDecodeError):
        pass
    for wrong in ("latin-1", "cp1252"):
        try:
            raw = text.encode(wrong)
        except UnicodeEncodeError:
            continue
        if any(b > 0x7F for b in raw):
            for right in ("gbk", "utf-8"):
                try:
                    fixed = raw.decode(right)
                except UnicodeDecodeError:
                    continue
                if CJK.search(fixed):
                    return f"{right} read as {wrong} (reads {fixed!r})"
    return None


def _mojibake(frame: pd.DataFrame) -> list[str]:
    problems = []
    for column in frame.columns:
        for value in frame[column]:
            if isinstance(value, str):
                why = _garbled(value)
                if why:
                    problems.append(f"garbled conformed text in {column}: {value!r}: {why}")
    return problems


def _cells(path: Path) -> Iterable[str]:
    frame = pd.read_parquet(path)
    yield from (str(c) for c in frame.columns)
    for column in frame.columns:
        yield from (str(v) for v in frame[column].dropna())


def _pii_leaks(var: Path, planted: list[str]) -> list[str]:
    """Planted personal values never readable in the raw, conformed or quarantine zones (cells or bytes)."""
    if not planted:
        return []
    problems = []
    for zone in ("raw", "conformed", "quarantine", "quality"):
        for path in sorted((var / zone).rglob("*")):
            if not path.is_file():
                continue
            data = path.read_bytes()
            texts = list(_cells(path)) if path.suffix == ".parquet" else []
            for value in planted:
                if value.encode("utf-8") in data or value.encode("gb18030") in data or any(value in t for t in texts):
                    problems.append(f"personal value {value[:4]}… readable in {path.relative_to(var)}")
    return problems


# --- tests -------------------------------------------------------------------------------------

CASES = _cases()
_RUNS: dict[str, dict[str, tuple[str, str]]] = {}


@pytest.mark.parametrize("folder", CASES, ids=[c.name for c in CASES])
def test_every_row_has_its_stated_fate(folder: Path, tmp_path: Path) -> None:
    case = _load(folder)
    run = _run(folder, case, tmp_path / "home")
    _RUNS[folder.name] = fates(run, case)
    problems = check_case(run, case)
    assert not problems, f"{folder.name}:\n  " + "\n  ".join(problems)


def _records(text: str) -> list[str]:
    """Physical CSV records, each with its line break; a quoted field may span lines."""
    out, start, quoted = [], 0, False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif ch in "\r\n" and not quoted:
            end = i + 2 if text.startswith("\r\n", i) else i + 1
            out.append(text[start:end])
            start = i = end
            continue
        i += 1
    if start < len(text):
        out.append(text[start:])
    return out


def _shuffled(folder: Path, case: dict[str, Any], seed: int) -> dict[str, bytes]:
    plan = case["shuffle"]
    data = (folder / plan["file"]).read_bytes()
    encoding = plan["encoding"]
    text = data.decode(encoding)
    records = _records(text)
    slots = list(plan["records"])
    order = slots[:]
    random.Random(f"{folder.name}:{seed}").shuffle(order)
    if order == slots:
        order = slots[::-1]
    moved = list(records)
    for slot, source in zip(slots, order, strict=True):
        moved[slot] = records[source]
    if moved[-1] and not moved[-1].endswith(("\n", "\r")) and moved[-1] != "\x1a":
        moved = [r if r.endswith(("\n", "\r")) else r + "\r\n" for r in moved]  # keep every line terminated
    new = "".join(moved).encode(encoding)
    replace = {plan["file"]: new}
    control = folder / (plan["file"] + CONTROL)
    if control.exists() and control.read_bytes().strip():
        info = json.loads(control.read_bytes())
        info.update(bytes=len(new), sha256=hashlib.sha256(new).hexdigest())
        replace[control.name] = json.dumps(info).encode()
    return replace


SHUFFLED = [c for c in CASES if _load(c).get("shuffle")]


@pytest.mark.parametrize("folder", SHUFFLED, ids=[c.name for c in SHUFFLED])
def test_shuffling_data_rows_changes_no_fate(folder: Path, tmp_path: Path) -> None:
    case = _load(folder)
    baseline = _RUNS.get(folder.name) or fates(_run(folder, case, tmp_path / "base"), case)
    shuffled = fates(_run(folder, case, tmp_path / "shuffled", _shuffled(folder, case, 1)), case)
    changed = {k: (baseline[k], shuffled[k]) for k in baseline if baseline[k] != shuffled[k]}
    assert not changed, f"{folder.name}: fates changed by row order: {changed}"
