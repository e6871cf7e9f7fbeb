"""Reads one dropped file (CSV in any declared encoding, or XLSX) into text columns. Pure: bytes in.

A file that cannot be trusted as a whole (undecodable, truncated, unreadable, bad header) raises
`FileRejected` with its reason, and the caller quarantines the file whole. A sound file may still
hold malformed rows (wrong field count, values beyond the header): those come back separately, each
with its text and reason, so every data row ends up either in the frame or in `rejected`.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa

UTF8_BOM = b"\xef\xbb\xbf"
NULL_MARKERS = ["", "NULL", "null", "\\N"]
REJECT_COLUMNS = ["_file", "_row_text", "_reason"]


class FileRejected(ValueError):
    """The file as a whole is corrupt or partial; the message is the reason."""


@dataclass
class ParsedFile:
    table: pa.Table  # one text column per header name, kept in Arrow (compact) until it is landed
    rejected: pd.DataFrame  # REJECT_COLUMNS: malformed rows with their reason
    encoding: str

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as pandas text columns; nulls as None."""
        return self.table.to_pandas()

    @property
    def rows_seen(self) -> int:
        return self.table.num_rows + len(self.rejected)


def parse_file(name: str, data: bytes, encoding: str = "utf-8", require_final_newline: bool = True) -> ParsedFile:
    lower = name.lower()
    if lower.endswith(".csv"):
        return parse_csv(name, data, encoding, require_final_newline)
    if lower.endswith(".xlsx"):
        return parse_xlsx(name, data)
    raise FileRejected(f"unsupported file type (want .csv or .xlsx): {name}")


def decode(data: bytes, encoding: str) -> tuple[str, str]:
    """A UTF-8 byte-order mark wins over the declared encoding; anything undecodable rejects the file."""
    if data.startswith(UTF8_BOM):
        data, encoding = data[len(UTF8_BOM) :], "utf-8-sig"
    try:
        return data.decode("utf-8" if encoding == "utf-8-sig" else encoding), encoding
    except UnicodeDecodeError as exc:
        if exc.end >= len(data) and exc.start >= len(data) - 4:
            raise FileRejected(f"truncated: the file ends inside a {encoding} character") from exc
        raise FileRejected(f"not valid {encoding} at byte {exc.start}: {exc.reason}") from exc
    except LookupError as exc:
        raise FileRejected(f"unknown encoding {encoding!r} declared for this feed") from exc


def header_names(cells: list[object]) -> list[str]:
    names = ["" if c is None else str(c).strip().lstrip("\ufeff") for c in cells]
    while names and names[-1] == "":
        names.pop()
    if not names:
        raise FileRejected("no header row")
    if "" in names:
        raise FileRejected(f"header has an empty column name at position {names.index('') + 1}")
    if any("\n" in n or "\r" in n for n in names):
        raise FileRejected("header has a line break inside a column name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileRejected(f"header repeats column names {dupes}")
    return names


def parse_csv(name: str, data: bytes, encoding: str = "utf-8", require_final_newline: bool = True) -> ParsedFile:
    import pyarrow.csv as pacsv

    text, used = decode(data, encoding)
    if "\x00" in text:
        raise FileRejected("binary content (NUL bytes) in a CSV file")
    if not text or text.isspace():
        raise FileRejected("empty file")
    if require_final_newline and not text.endswith(("\n", "\r")):
        last = len(text.rsplit("\n", 1)[-1])  # its length only: reasons never quote data
        raise FileRejected(f"truncated: the file does not end with a line break (last line: {last} characters)")
    try:
        end = text.find("\n")
        header = header_names(next(csv.reader([text[: end if end >= 0 else len(text)].rstrip("\r")])))
    except csv.Error as exc:
        raise FileRejected(f"unreadable header: {exc}") from exc
    bad: list[tuple[str, str]] = []

    def on_invalid(row) -> str:
        bad.append((row.text, f"malformed row: expected {row.expected_columns} fields, got {row.actual_columns}"))
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                null_values=NULL_MARKERS,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        message = ":".join(str(exc).splitlines()[0].split(":")[:2])  # drop any quoted row text
        raise FileRejected(f"unreadable CSV: {message}") from exc
    return ParsedFile(table, _rejects(name, bad), used)


def parse_xlsx(name: str, data: bytes) -> ParsedFile:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            rows = iter(sheet.iter_rows(values_only=True))
            header = header_names(list(next(rows, None) or []))
            width = len(header)
            good: list[list[str | None]] = []
            bad: list[tuple[str, str]] = []
            for cells in rows:
                values = [_cell_text(c) for c in cells]
                if all(v is None for v in values):
                    continue  # blank rows are layout, not data
                beyond = [v for v in values[width:] if v is not None]
                if beyond:
                    shown = ",".join("" if v is None else v for v in values)
                    bad.append((shown, f"malformed row: {len(beyond)} value(s) beyond the header's {width} columns"))
                    continue
                good.append((values + [None] * width)[:width])
        finally:
            book.close()
    except FileRejected:
        raise
    except Exception as exc:  # any failure inside a corrupt workbook rejects the file, never the run
        raise FileRejected(f"unreadable XLSX: {exc.__class__.__name__}: {str(exc)[:200]}") from exc
    table = pa.table({c: pa.array([row[i] for row in good], type=pa.string()) for i, c in enumerate(header)})
    return ParsedFile(table, _rejects(name, bad), "xlsx")


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    text = str(value)
    return None if text in NULL_MARKERS else text


def _rejects(name: str, bad: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame([(name, text, reason) for text, reason in bad], columns=REJECT_COLUMNS, dtype=object)
