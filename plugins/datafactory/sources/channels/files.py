"""File-drop channel: CSV (GBK, UTF-8 with or without BOM) and XLSX files in a landing folder or S3 prefix.

A file is taken exactly once, by content: its SHA-256 is receipted with the pull, so the same bytes
arriving again under another name are a duplicate delivery, and a corrected re-send (new bytes) is
new. A file dated after the logical date waits for its own run; a file dated earlier that arrives
late is taken by the next run. When the provider sends control files (`<file>.ok` holding rows,
bytes and sha256), a data file without one is still in flight and waits, and a mismatch means a
truncated or corrupt file; an unreadable or invalid control file (not JSON, `rows` not a whole
number) says nothing trustworthy about its file, which is quarantined with that reason too. Such a file
is quarantined whole with its reason, and so is a file that cannot be decoded or parsed, or whose
columns drifted in a way the spec does not map.

Every file in the feed's folder (and its subfolders) is taken or reported: extensions and the spec's
`pattern` match without regard to case (`用电量_20261001.CSV`), and a file the feed does not take (another
extension, a name outside the pattern, a control file without its data file) gets an "ignored" receipt
with its reason and a note on the pull, once. Files dated after the logical date, and data files
waiting for their control file, are neither taken nor receipted: they wait.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

import pandas as pd

from datafactory.sources.channels import ChannelError, Delivery, QuarantinedFile, Receipt, Unit, Window
from datafactory.sources.drift import Drift, align
from datafactory.sources.fileparse import FileRejected, parse_file
from datafactory.sources.landing import Landing
from datafactory.sources.retry import Backoff, RetriesExhaustedError, TransientError, with_retries
from datafactory.specs import SourceSpec

CONTROL_SUFFIX = ".ok"
DATA_SUFFIXES = (".csv", ".xlsx")
_DATE_IN_NAME = re.compile(r"(20\d{2})(\d{2})(\d{2})")
_DRIFT_SAMPLE_ROWS = 10_000


def delivery_date(name: str) -> date | None:
    """The date a provider stamped into the file name (YYYYMMDD), if any."""
    match = _DATE_IN_NAME.search(name.rsplit("/", 1)[-1])
    if not match:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Examined:
    """One file's verdict: a unit to land (with its malformed rows), or a reason to quarantine it whole."""

    unit: Unit | None
    rejected: pd.DataFrame | None
    problem: str | None
    drift: Drift
    rows: int


def examine(spec: SourceSpec, name: str, data: bytes, control: dict | None) -> Examined:
    """Control-file check, parse, and column alignment of one file. Pure."""
    if control is not None:
        problem = control_problem(control)
        if problem is not None:
            return Examined(None, None, problem, Drift(), _rows_hint(name, data))
    rows = int(control["rows"]) if control is not None and "rows" in control else None  # what the provider says
    if control is not None:
        if "bytes" in control and int(control["bytes"]) != len(data):
            problem = f"truncated: control file says {int(control['bytes'])} bytes, received {len(data)}"
            return Examined(None, None, problem, Drift(), rows if rows is not None else _rows_hint(name, data))
        if "sha256" in control and control["sha256"].strip().lower() != sha256(data):
            problem = "corrupt: SHA-256 differs from the control file"
            return Examined(None, None, problem, Drift(), rows if rows is not None else _rows_hint(name, data))
    try:
        parsed = parse_file(name, data, **parse_options(spec))
    except FileRejected as exc:
        return Examined(None, None, str(exc), Drift(), _rows_hint(name, data))
    if rows is not None and rows not in (parsed.rows_seen, parsed.data_rows):
        problem = f"truncated: control file says {rows} rows, the file holds {parsed.data_rows}"
        return Examined(None, None, problem, Drift(), parsed.rows_seen)
    # Every value in a file is text, so drift is a matter of names, plus what a sample of values reads as.
    _, drift = align(parsed.table.slice(0, _DRIFT_SAMPLE_ROWS).to_pandas(), spec)
    if drift.blocking:
        problem = _other_delimiter(parsed.table.column_names, spec.options.delimiter)
        if problem and parsed.encoding.startswith("utf-16"):
            problem = f"a UTF-16 file (Excel's 'Unicode text' export): {problem}"
        return Examined(None, None, problem or f"schema drift: {drift.summary(spec.name)}", drift, parsed.rows_seen)
    return Examined(
        Unit(name, reader=_aligned_batches(parsed.table, spec)), parsed.rejected, None, drift, parsed.rows_seen
    )


_DELIMITERS = {"\t": "tab", ";": "semicolon", "|": "pipe", ",": "comma"}


def _other_delimiter(header: list[str], declared: str) -> str | None:
    """When the header reads as one column holding another delimiter, say so rather than "drift"."""
    if len(header) != 1:
        return None
    for delimiter, word in _DELIMITERS.items():
        if delimiter != declared and header[0].count(delimiter) >= 1:
            shown = json.dumps(delimiter)
            return (
                f"the header reads as one column: the file looks {word}-separated, not "
                f"{_DELIMITERS.get(declared, repr(declared))}-separated; ask the provider for the declared "
                f"delimiter, or declare `delimiter: {shown}` in the feed's options"
            )
    return None


def parse_options(spec: SourceSpec) -> dict:
    """The spec's file options as `parse_file` keywords."""
    opts = spec.options
    return {
        "encoding": opts.encoding,
        "require_final_newline": opts.require_final_newline,
        "delimiter": opts.delimiter,
        "header_row": opts.header_row,
        "accept_utf8": opts.accept_utf8,
        "trailing_delimiter": opts.trailing_delimiter,
    }


_WHOLE = re.compile(r"\d+")


def control_problem(control: dict) -> str | None:
    """Why a control file cannot be trusted, or None. `rows` and `bytes` are whole numbers, given as
    numbers or as strings of digits ("1204"); anything else ("1,204", "abc", 12.5) is ambiguous."""
    if control.get("_unreadable"):
        return f"control file is not readable JSON: {control['_unreadable']}"
    for key in ("rows", "bytes"):
        if key not in control:
            continue
        value = control[key]
        if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
            continue
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
            continue
        shown = json.dumps(value, ensure_ascii=False)[:40]
        return f"control file is invalid: {key!r} must be a whole number, got {shown}"
    if "sha256" in control and not (
        isinstance(control["sha256"], str) and re.fullmatch(r"[0-9a-fA-F]{64}", control["sha256"].strip())
    ):
        return "control file is invalid: 'sha256' must be 64 hex digits"
    return None


def _aligned_batches(table, spec: SourceSpec) -> Callable[[int], Iterator[pd.DataFrame]]:
    def read(rows: int) -> Iterator[pd.DataFrame]:
        for start in range(0, max(table.num_rows, 1), rows):
            yield align(table.slice(start, rows).to_pandas(), spec)[0]

    return read


def _rows_hint(name: str, data: bytes) -> int:
    """Data rows in a file that could not be parsed, counted as well as they can be (0 for XLSX)."""
    if not name.lower().endswith(".csv"):
        return 0
    return max(0, sum(1 for line in data.splitlines() if line.strip(b" \t\r\n\x1a\x00")) - 1)


class FileDropChannel:
    name = "files"

    def __init__(
        self,
        landing: Landing,
        receipts: Callable[[str], list[tuple[str, str]]],
        backoff: Backoff | None = None,
    ):
        """`receipts(feed)` lists (name, sha256) of every file the feed's earlier pulls handled."""
        self.landing = landing
        self.receipts = receipts
        self.backoff = backoff or Backoff(attempts=4, base_s=0.5)

    def fetch(self, spec: SourceSpec, window: Window) -> Delivery:
        """The files due by the logical date, examined one at a time as the delivery's units are consumed
        (a file's rows are in memory only while it is landed)."""
        listing = self._retry(lambda: self.landing.list(spec.options.folder or spec.name))
        delivery = Delivery()
        delivery.units = self._units(spec, window, listing, delivery)
        return delivery

    def _units(self, spec: SourceSpec, window: Window, listing: list, delivery: Delivery) -> Iterator[Unit]:
        opts = spec.options
        names = {o.name for o in listing}
        controls = {o.name[: -len(CONTROL_SUFFIX)]: o.name for o in listing if o.name.lower().endswith(CONTROL_SUFFIX)}
        handled = set(self.receipts(spec.name))
        known = {digest for _, digest in handled}
        rejected: list[pd.DataFrame] = []
        for obj in sorted(listing, key=lambda o: (delivery_date(o.name) or date.min, o.name)):
            base = obj.name.rsplit("/", 1)[-1]
            stamped = delivery_date(obj.name)
            if stamped is not None and stamped > window.logical_date:
                continue  # belongs to a later run
            ignored = self._ignored(spec, obj.name, base, names)
            if ignored is False:
                continue  # a control file beside its data file: read with it
            if ignored is None and opts.control_file and obj.name not in controls:
                delivery.notes.append(f"{base}: no control file yet, waiting")
                continue
            data = self._retry(lambda name=obj.name: self.landing.read(name))
            digest = sha256(data)
            if (obj.name, digest) in handled:
                continue  # still lying in the landing area; handled by an earlier pull
            if ignored is not None:
                delivery.receipts.append(Receipt(obj.name, digest, len(data), "ignored", ignored))
                delivery.notes.append(f"{base}: ignored: {ignored}")
                continue
            if digest in known:
                delivery.receipts.append(
                    Receipt(obj.name, digest, len(data), "duplicate", "same bytes as a file taken before")
                )
                delivery.transport_duplicates += examine(spec, obj.name, data, None).rows
                continue
            known.add(digest)
            size = len(data)
            delivery.bytes += size
            control = self._control(controls[obj.name]) if obj.name in controls else None
            verdict = examine(spec, obj.name, data, control)
            delivery.drift = delivery.drift.merge(verdict.drift)
            if verdict.problem is not None:
                delivery.quarantined_files.append(
                    QuarantinedFile(obj.name, digest, data, verdict.problem, verdict.rows, control)
                )
                delivery.receipts.append(Receipt(obj.name, digest, size, "quarantined", verdict.problem))
                continue
            del data  # only the parsed table stays while the unit is landed
            if verdict.rejected is not None and len(verdict.rejected):
                rejected.append(verdict.rejected)
            delivery.receipts.append(Receipt(obj.name, digest, size, "landed"))
            yield verdict.unit
        if rejected:
            delivery.rejected_rows = pd.concat(rejected, ignore_index=True)

    @staticmethod
    def _ignored(spec: SourceSpec, name: str, base: str, names: set[str]) -> str | bool | None:
        """Why the feed does not take this file (a reason), False for a control file that goes with its data
        file, None for a data file the feed takes. Names and extensions match without regard to case."""
        lower = base.lower()
        if lower.endswith(CONTROL_SUFFIX):
            data_name = name[: -len(CONTROL_SUFFIX)]  # `.ok` or `.OK`
            if data_name in names:
                return False
            return f"control file without its data file {data_name.rsplit('/', 1)[-1]!r}"
        if not lower.endswith(DATA_SUFFIXES):
            extension = "." + lower.rsplit(".", 1)[-1] if "." in lower else "no extension"
            hint = " (old Excel format: ask for .xlsx or CSV)" if extension == ".xls" else ""
            return f"not a data file: {extension}{hint}; the feed takes .csv and .xlsx files"
        if not fnmatch.fnmatchcase(lower, spec.options.pattern.lower()):
            return f"name does not match the feed's pattern {spec.options.pattern!r}"
        return None

    def _control(self, name: str) -> dict:
        raw = self._retry(lambda: self.landing.read(name))
        if not raw.strip(b" \t\r\n\xef\xbb\xbf"):  # an empty flag: "transfer finished", no counts to check
            return {}
        try:
            control = json.loads(raw.decode("utf-8-sig"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return {"_unreadable": f"{exc.__class__.__name__}: {str(exc)[:120]}"}
        if not isinstance(control, dict):
            return {"_unreadable": f"expected a JSON object, got {type(control).__name__}"}
        return control

    def _retry(self, call):
        from botocore.exceptions import BotoCoreError, ClientError

        def attempt():
            try:
                return call()
            except (ConnectionError, TimeoutError) as exc:
                raise TransientError(str(exc)) from exc

        try:
            return with_retries(attempt, self.backoff)
        except (RetriesExhaustedError, OSError, BotoCoreError, ClientError) as exc:
            raise ChannelError(f"landing area {self.landing.url}: {exc}") from exc
