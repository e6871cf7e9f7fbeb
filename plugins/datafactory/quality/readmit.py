"""Re-admission of what ingest set aside at parse time, once the spec is fixed (a rename, a date form,
a delimiter): rows are re-parsed from their text and whole files examined again, and what now parses
moves into the raw partition and the validation quarantine, for the validation release to judge."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
import pandas as pd

from datafactory.quality.quarantine_view import ReleaseError, ingest_reasons
from datafactory.quality.split import REASON_COLUMN, ROW_COLUMN, RUN_COLUMN, SOURCE_COLUMN
from datafactory.specs import SourceSpec
from datafactory.zones import Zones, read_partition, write_json_atomic, write_parquet_atomic, write_partition_atomic

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
            held, _ = ingest_reasons(folder)
            return Readmitted(held, 0, held)
    _apply_readmission(spec, day, zones, folder)
    held, _ = ingest_reasons(folder)
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
