"""Operator views of the quarantine zone, and re-release of quarantined rows after a fix.

A release re-validates a date's quarantined rows against the current suite (and the newest
conformed reference data), moves the rows that now pass into the conformed snapshots, and keeps
the rest with their current reasons. Accounting is recomputed from what is on disk, so
`rows_in = rows_conformed + rows_quarantined` holds after every release, and repeating a release
(or finishing one that crashed) moves nothing twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from datafactory.quality.casting import coerce
from datafactory.quality.conform import evaluate
from datafactory.quality.parameters import suite_parameters
from datafactory.quality.split import (
    REASON_COLUMN,
    ROW_COLUMN,
    RUN_COLUMN,
    SOURCE_COLUMN,
    Failures,
    merge_conformed,
    older_duplicates,
    split_rows,
)
from datafactory.specs import SourceSpec, SuiteSpec
from datafactory.zones import Zones, read_partition, write_json_atomic, write_parquet_atomic, write_partition_atomic

INGEST = "_ingest"


class ReleaseError(RuntimeError):
    """A release could not run; nothing was moved."""


@dataclass(frozen=True)
class QuarantineEntry:
    source: str
    logical_date: str
    stage: str  # "validation" (GE suite) or "ingest" (malformed rows and files)
    rows: int
    reasons: dict[str, int]


@dataclass(frozen=True)
class ReleaseResult:
    source: str
    logical_date: str
    checked: int
    released: int
    remaining: int
    readmitted: int = 0  # parse-time rejects that now parse, moved into the raw partition and re-validated


def _reason_counts(reasons: pd.Series) -> dict[str, int]:
    counts = reasons.dropna().str.split("; ").explode().value_counts()
    return {str(k): int(v) for k, v in counts.items()}


def list_quarantine(zones: Zones, source: str | None = None, day: date | None = None) -> list[QuarantineEntry]:
    root = zones.home / "quarantine"
    entries = []
    for stage, folder in (("validation", root), ("ingest", root / INGEST)):
        for partition in sorted(folder.glob("*/ds=*")):
            feed, ds = partition.parent.name, partition.name.removeprefix("ds=")
            if feed == INGEST or (source and feed != source) or (day and ds != day.isoformat()):
                continue
            if stage == "validation":
                frame = pd.read_parquet(partition, columns=[REASON_COLUMN])
                entries.append(QuarantineEntry(feed, ds, stage, len(frame), _reason_counts(frame[REASON_COLUMN])))
            else:
                rows, reasons = _ingest_reasons(partition)
                entries.append(QuarantineEntry(feed, ds, stage, rows, reasons))
    return [e for e in entries if e.rows or e.reasons]


def _ingest_reasons(partition) -> tuple[int, dict[str, int]]:
    """Rows set aside at parse time, by their own reason, plus each whole file with the rows it held."""
    reasons: dict[str, int] = {}
    count = 0
    rows = partition / "rows.parquet"
    if rows.exists():
        frame = pd.read_parquet(rows, columns=["_reason"])
        count += len(frame)
        reasons |= {str(k): int(v) for k, v in frame["_reason"].value_counts().items()}
    for path in sorted((partition / "files").glob("*.reason.json")):
        held = json.loads(path.read_text())
        count += int(held.get("rows") or 0)
        label = f"file {held.get('name', path.name.removesuffix('.reason.json'))}: {held.get('reason', '')}"
        reasons[label] = int(held.get("rows") or 0)
    return count, reasons


def release(
    spec: SourceSpec,
    suite_json: SuiteSpec,
    day: date,
    zones: Zones,
    *,
    pseudonym_key: bytes | None = None,
    sm4_key: bytes | None = None,
) -> ReleaseResult:
    """Release one feed's quarantined rows of `day`: first the parse-time rejects that now parse (see
    `readmit`), then everything in the validation quarantine is re-validated."""
    back = readmit(spec, day, zones, pseudonym_key, sm4_key)
    if not zones.quarantine_partition(spec.name, day).exists() and zones.ingest_quarantine(spec.name, day).exists():
        # not conformed yet: re-admitted rows wait in the raw partition, and conform will judge them
        return ReleaseResult(spec.name, day.isoformat(), back.checked, 0, back.remaining, back.admitted)
    result = _release(spec, suite_json, day, zones)
    return ReleaseResult(
        result.source,
        result.logical_date,
        result.checked + back.checked - back.admitted,
        result.released,
        result.remaining + back.remaining,
        back.admitted,
    )


def _release(spec: SourceSpec, suite_json: SuiteSpec, day: date, zones: Zones) -> ReleaseResult:
    """A feed conformed region by region is released region by region, then its feed-level snapshots,
    quarantine and result are assembled again."""
    from datafactory.partitioning.regions import RegionZones, known_regions

    regions = [
        r
        for r in known_regions(zones.home, spec.name)
        if RegionZones(zones.home, spec.name, r).quarantine_partition(spec.name, day).exists()
    ]
    if not regions:
        return _release_batch(spec, suite_json, day, zones)
    region_zones = [RegionZones(zones.home, spec.name, r) for r in regions]
    for rz in region_zones:  # a critical failure in any region must stop the release before anything moves
        _release_batch(spec, suite_json, day, rz, apply=False)
    parts = [_release_batch(spec, suite_json, day, rz) for rz in region_zones]
    _reassemble(spec, zones, day)
    return ReleaseResult(
        spec.name,
        day.isoformat(),
        sum(p.checked for p in parts),
        sum(p.released for p in parts),
        sum(p.remaining for p in parts),
    )


def _reassemble(spec: SourceSpec, zones: Zones, day: date) -> None:
    """The feed-level snapshot, quarantine and result of `day` and of every later run, from the regions
    (released rows now live in the regions' snapshots from `day` on)."""
    from datafactory.partitioning.regions import assemble

    for path in sorted((zones.home / "quality").glob(f"*/{spec.name}.json")):
        if path.parent.name >= day.isoformat():
            result = json.loads(path.read_text())
            regions = list(result.get("partitions") or {})
            assemble(spec, zones, date.fromisoformat(path.parent.name), result["run_id"], regions)


def _release_batch(
    spec: SourceSpec, suite_json: SuiteSpec, day: date, zones: Zones, apply: bool = True
) -> ReleaseResult:
    partition = zones.quarantine_partition(spec.name, day)
    if not partition.exists():
        raise ReleaseError(f"{spec.name} has no quarantine for {day}; see `datafactory quarantine list`")
    held = pd.read_parquet(partition)
    if held.empty:
        return ReleaseResult(spec.name, day.isoformat(), 0, 0, 0)
    if ROW_COLUMN not in held:
        raise ReleaseError(f"{spec.name} {day}: quarantine predates row tracking; rerun the ingest for that date")
    raw = read_partition(zones.raw_partition(spec.name, day))
    positions = held[ROW_COLUMN].to_numpy(dtype=np.int64)
    typed_all, _ = coerce(raw, spec.landed_columns)
    duplicates = older_duplicates(typed_all, spec.keys, spec.watermark_column)  # judged within the whole batch
    rows = raw.iloc[positions].reset_index(drop=True)
    parameters = suite_parameters(suite_json, spec.name, day, zones, spec.row_count_tolerance, date.max)
    ev = evaluate(spec, suite_json, rows, duplicates.iloc[positions].reset_index(drop=True), parameters)
    if ev.critical:
        raise ReleaseError(f"{spec.name} {day}: critical expectation still fails: {ev.critical[0].label}")
    split = split_rows(rows, ev.typed, ev.failures, "", spec.name)
    still = ev.failures.failed()
    remaining = split.quarantined.assign(
        **{ROW_COLUMN: positions[still], RUN_COLUMN: held[RUN_COLUMN].to_numpy()[still]}
    )
    if not apply:
        return ReleaseResult(spec.name, day.isoformat(), len(held), len(split.conformed), len(remaining))
    _upsert_from(zones, spec, day, split.conformed)
    write_partition_atomic(remaining, partition)
    _update_accounting(zones, spec.name, day, len(remaining), ev.failures)
    return ReleaseResult(spec.name, day.isoformat(), len(held), len(split.conformed), len(remaining))


def _upsert_from(zones: Zones, spec: SourceSpec, day: date, released: pd.DataFrame) -> None:
    """Upsert the released rows into the snapshot of `day` and every later snapshot (each is the
    full table as of its date); the newest version of a key still wins."""
    if released.empty:
        return
    folder = zones.home / "conformed" / spec.name
    later = sorted(p for p in folder.glob("ds=*.parquet") if p.stem[3:] > day.isoformat())
    base = zones.conformed_as_of(spec.name, day)
    targets = [(zones.conformed(spec.name, day), base), *((p, p) for p in later)]
    for target, source in targets:
        existing = pd.read_parquet(source) if source else None
        write_parquet_atomic(merge_conformed(existing, released, spec.keys, spec.watermark_column), target)


def _update_accounting(zones: Zones, source: str, day: date, remaining: int, failures: Failures) -> None:
    path = zones.quality_result(day, source)
    if not path.exists():
        return
    result = json.loads(path.read_text())
    quarantined_at_conform = int(result["rows_quarantined"]) + int(result.get("rows_released", 0))
    result["rows_quarantined"] = remaining
    result["rows_released"] = quarantined_at_conform - remaining
    result["rows_conformed"] = int(result["rows_in"]) - remaining
    result["failures_by_expectation"] = failures.counts()
    if result.get("critical"):  # the batch passes its critical checks now: it is no longer held
        result["critical_at_conform"], result["critical"] = result["critical"], []
    result.setdefault("releases", []).append(
        {"at": datetime.now(UTC).isoformat(timespec="seconds"), "released_total": result["rows_released"]}
    )
    write_json_atomic(result, path)


# --- parse-time rejects -------------------------------------------------------------------------------

READMITTED = "re-admitted from the ingest quarantine"
_PENDING = "readmit.pending.json"


@dataclass(frozen=True)
class Readmitted:
    checked: int  # rows held at parse time (rows and whole files) that were looked at
    admitted: int  # of those, rows that now parse, moved into the raw partition
    remaining: int  # rows still held at parse time


def readmit(
    spec: SourceSpec, day: date, zones: Zones, pseudonym_key: bytes | None, sm4_key: bytes | None
) -> Readmitted:
    """Re-parse what ingest set aside on `day` with the current spec, and move what now parses into the raw
    partition and the validation quarantine (reason READMITTED), so the validation release judges it.

    Rows are re-parsed from their text under their file's header; whole files are examined again exactly
    as ingest did (same control file), so a truncated file stays held. Personal fields are protected as
    ingest does. The move is journalled (`readmit.pending.json`): every step after the journal is
    idempotent, and a rerun after a crash finishes the journalled move before looking for more, so a
    row is never moved twice."""
    folder = zones.ingest_quarantine(spec.name, day)
    if not folder.exists():
        return Readmitted(0, 0, 0)
    pending = folder / _PENDING
    if not pending.exists():
        plan = _plan_readmission(spec, day, zones, folder, pseudonym_key, sm4_key)
        if plan is None:
            held, _ = _ingest_reasons(folder)
            return Readmitted(held, 0, held)
    _apply_readmission(spec, day, zones, folder)
    held, _ = _ingest_reasons(folder)
    journal = json.loads((folder / "readmitted.json").read_text())
    last = journal[-1]
    return Readmitted(last["admitted"] + held, last["admitted"], held)


def _plan_readmission(spec, day, zones, folder, pseudonym_key, sm4_key) -> dict | None:
    import uuid

    from datafactory.partitioning.regions import known_regions
    from datafactory.sources.channels.files import examine, parse_options
    from datafactory.sources.drift import align
    from datafactory.sources.fileparse import FileRejected, parse_csv
    from datafactory.sources.protect import pii_rules, protect
    from datafactory.sources.pseudonymize import SM4_PREFIX, decrypt_bytes, decrypt_value, encrypt_column

    rules = pii_rules(spec)
    if rules and (pseudonym_key is None or sm4_key is None):
        raise ReleaseError(f"{spec.name}: re-admitting parse-time rejects of a personal feed needs the keys")
    opts = parse_options(spec)
    admitted: list[pd.DataFrame] = []
    kept: list[pd.DataFrame] = []
    rows_path = folder / "rows.parquet"
    if rows_path.exists():
        held = pd.read_parquet(rows_path)
        texts = held["_row_text"].astype(object).tolist()
        if sm4_key:
            texts = [
                decrypt_value(t, sm4_key, b"_row_text") if isinstance(t, str) and t.startswith(SM4_PREFIX) else t
                for t in texts
            ]
        headers = held["_header"].tolist() if "_header" in held else [None] * len(held)
        reasons = held["_reason"].astype(object).tolist()
        for i, (name, text, header) in enumerate(zip(held["_file"], texts, headers, strict=True)):
            if header is None or text is None:
                continue  # held before headers were kept: it stays
            spreadsheet = str(name).lower().endswith(".xlsx")
            options = {**opts, "encoding": "utf-8", "header_row": 1, "accept_utf8": False}
            if spreadsheet:
                options |= {"delimiter": ",", "trailing_delimiter": False}
            data = f"{header}\n{text}\n".encode()
            try:
                parsed = parse_csv(str(name), data, **options)
            except FileRejected as exc:
                reasons[i] = str(exc)
                continue
            if parsed.table.num_rows != 1 or len(parsed.rejected):
                if len(parsed.rejected):
                    reasons[i] = parsed.rejected["_reason"].iloc[0]
                continue
            frame, drift = align(parsed.frame, spec)
            if drift.blocking:
                reasons[i] = f"schema drift: {drift.summary(spec.name)}"
                continue
            admitted.append(frame)
            reasons[i] = None
        keep = [r is not None for r in reasons]
        rest = held.assign(_reason=reasons)[keep]
        kept.append(rest)
    files_out: list[str] = []
    for path in sorted((folder / "files").glob("*.reason.json")):
        meta = json.loads(path.read_text())
        stored = meta.get("stored_as") or path.name.removesuffix(".reason.json")
        blob = (folder / "files" / (stored + (".sm4" if meta.get("sm4_encrypted") else ""))).read_bytes()
        if meta.get("sm4_encrypted"):
            if sm4_key is None:
                raise ReleaseError(f"{spec.name}: re-examining an encrypted quarantined file needs the SM4 key")
            blob = decrypt_bytes(blob, sm4_key, stored.encode())
        verdict = examine(spec, meta["name"], blob, meta.get("control"))
        if verdict.problem is not None:
            continue
        for batch in verdict.unit.batches(500_000):
            admitted.append(batch)
        if verdict.rejected is not None and len(verdict.rejected):
            kept.append(verdict.rejected.assign(_run_id=meta.get("run_id"), _source=spec.name, _fresh=True))
        files_out.append(path.name)
    if not admitted and not files_out:
        return None
    if known_regions(zones.home, spec.name):
        raise ReleaseError(
            f"{spec.name} {day}: is conformed region by region; re-run the ingest and conform for that date "
            "to take in the parse-time rejects that now parse"
        )
    frame = pd.concat(admitted, ignore_index=True) if admitted else pd.DataFrame(columns=list(spec.columns))
    frame = protect(frame, rules, pseudonym_key or b"", sm4_key).reset_index(drop=True)
    token = uuid.uuid4().hex[:12]
    raw = zones.raw_partition(spec.name, day)
    order = len(list(raw.glob("part-readmit-*.parquet")))
    write_parquet_atomic(frame, folder / f"readmit-{token}.parquet")
    remaining = pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()
    if not remaining.empty and "_fresh" in remaining:
        fresh = remaining["_fresh"].fillna(False).astype(bool)
        if sm4_key and rules:
            texts = remaining.loc[fresh, "_row_text"]
            remaining.loc[fresh, "_row_text"] = encrypt_column(texts, sm4_key, context="_row_text")
        remaining = remaining.drop(columns=["_fresh"])
    write_parquet_atomic(remaining, folder / f"rows-{token}.parquet")
    plan = {"token": token, "part": f"part-readmit-{order:05d}-{token}.parquet", "files": files_out}
    write_json_atomic(plan, folder / _PENDING)
    return plan


def _apply_readmission(spec: SourceSpec, day: date, zones: Zones, folder) -> None:
    import os

    import pyarrow.parquet as pq

    plan = json.loads((folder / _PENDING).read_text())
    token = plan["token"]
    frame = pd.read_parquet(folder / f"readmit-{token}.parquet")
    raw = zones.raw_partition(spec.name, day)
    part = raw / plan["part"]
    if len(frame) and not part.exists():
        write_parquet_atomic(frame, part)
    if len(frame):
        before = sum(pq.ParquetFile(p).metadata.num_rows for p in sorted(raw.glob("*.parquet")) if p.name < part.name)
        positions = np.arange(before, before + len(frame), dtype=np.int64)
        run = f"readmit-{token}"
        quarantine = zones.quarantine_partition(spec.name, day)
        if quarantine.exists():
            held = read_partition(quarantine)
            if RUN_COLUMN not in held or not (held[RUN_COLUMN] == run).any():
                added = frame.astype("string").assign(
                    **{REASON_COLUMN: READMITTED, RUN_COLUMN: run, SOURCE_COLUMN: spec.name, ROW_COLUMN: positions}
                )
                write_partition_atomic(pd.concat([held, added], ignore_index=True), quarantine)
        path = zones.quality_result(day, spec.name)
        if path.exists():
            result = json.loads(path.read_text())
            if token not in result.get("readmissions", []):
                result["rows_in"] = int(result["rows_in"]) + len(frame)
                result["rows_quarantined"] = int(result["rows_quarantined"]) + len(frame)
                result.setdefault("readmissions", []).append(token)
                write_json_atomic(result, path)
    rows = folder / f"rows-{token}.parquet"
    if rows.exists():
        remaining = pd.read_parquet(rows)
        if remaining.empty:
            (folder / "rows.parquet").unlink(missing_ok=True)
            rows.unlink()
        else:
            os.replace(rows, folder / "rows.parquet")
    for name in plan["files"]:
        meta_path = folder / "files" / name
        if meta_path.exists():
            stored = json.loads(meta_path.read_text()).get("stored_as") or name.removesuffix(".reason.json")
            for data in (folder / "files" / stored, folder / "files" / f"{stored}.sm4"):
                data.unlink(missing_ok=True)
            meta_path.unlink()
    journal_path = folder / "readmitted.json"
    journal = json.loads(journal_path.read_text()) if journal_path.exists() else []
    if not any(j["token"] == token for j in journal):
        journal.append({"token": token, "admitted": len(frame), "at": datetime.now(UTC).isoformat(timespec="seconds")})
        write_json_atomic(journal, journal_path)
    (folder / f"readmit-{token}.parquet").unlink(missing_ok=True)
    (folder / _PENDING).unlink()
