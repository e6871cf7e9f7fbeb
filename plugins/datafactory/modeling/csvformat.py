"""How a modeller's CSV is written: its encoding and its delimiter. Standard library only, so the CLI's
input checks and the trainer read the file the same way before any heavy import.

Real tables are not all UTF-8 with commas: Excel in China saves GBK, European exports use `;` (the UCI
bank-marketing table does), database dumps use tabs or `|`."""

from __future__ import annotations

import codecs
import csv
import io
from dataclasses import dataclass
from pathlib import Path

from datafactory.modeling.number_text import DECIMAL_MARKS, missing_mark, number_from_text

SAMPLE_BYTES = 256 * 1024
DELIMITERS = (",", ";", "\t", "|")
SAMPLE_LINES = 50


TITLE_ROWS_MAX = 10
NAMES_PROBE_ROWS = 5  # data rows read below a header to tell a second names line from data
HEAD_ROWS = TITLE_ROWS_MAX + 2 + NAMES_PROBE_ROWS  # what title_rows reads: titles, header, names, data


@dataclass(frozen=True)
class CsvFormat:
    encoding: str
    delimiter: str
    title_rows: int = 0  # lines above the header: a title, a unit, a date

    def describe(self) -> str:
        shown = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[self.delimiter]
        above = f", {self.title_rows} title line(s) above the header" if self.title_rows else ""
        return f"{self.encoding}, {shown}-separated{above}"


def title_rows(rows: list[list[object]]) -> int:
    """How many rows above the header hold a title, a unit or a date (Excel pads them with empty cells
    to the table's width): the header is the first row that fills more than half as many cells as the
    fullest row of the sample. When the row below it names the columns again (`second_names_line`),
    the upper one is a line of group titles or codes above the real header, and is skipped too."""
    filled = [sum(cell is not None and str(cell).strip() != "" for cell in row) for row in rows[: TITLE_ROWS_MAX + 1]]
    widest = max(filled, default=0)
    header = next((index for index, count in enumerate(filled) if count > widest / 2), 0)
    below = rows[header + 1 : header + 2 + NAMES_PROBE_ROWS]
    return header + 1 if header < TITLE_ROWS_MAX and second_names_line(below) else header


def second_names_line(rows: list[list[object]]) -> bool:
    """`rows[0]` is a second header line: the rows below it hold numbers in at least two columns, and
    `rows[0]` names every one of those with text and holds no number itself. UCI's credit-card table
    has codes (X1 ... Y) above its names (LIMIT_BAL ... default payment next month); a Chinese report
    has merged group titles (基本信息, 财务信息) above them. A data row never names every numeric
    column with a word: at most it has a missing mark (无, n/a) in some."""
    if len(rows) < 2:
        return False
    names, data = rows[0], rows[1:]
    if any(_is_number(cell) for cell in names):
        return False
    numeric = [j for j in range(len(names)) if all(j < len(row) and _is_number(row[j]) for row in data)]
    return len(numeric) >= 2 and all(_is_name(names[j]) for j in numeric)


def _is_number(cell: object) -> bool:
    if isinstance(cell, bool):
        return False
    if isinstance(cell, int | float):
        return True
    text = str(cell) if cell is not None else ""
    return any(number_from_text(text, mark) is not None for mark in DECIMAL_MARKS)


def _is_name(cell: object) -> bool:
    text = "" if cell is None else str(cell).strip()
    return bool(text) and not missing_mark(text)


GB2312_SHARE = 0.9  # of a GBK text's non-ASCII characters, in GB2312's common block (both bytes >= 0xA1)


def _decodes(head: bytes, encoding: str, complete: bool) -> str | None:
    try:
        return codecs.getincrementaldecoder(encoding)().decode(head, final=complete)  # a cut character is no error
    except UnicodeDecodeError:
        return None


def _chinese(text: str) -> bool:
    """Real GBK text is almost all common characters, both of whose bytes are high; Latin-1 or cp1252
    bytes that happen to pair up as GBK (`â` then `g`) land outside that block."""
    wide = [ch.encode("gb18030") for ch in text if ord(ch) > 127]
    common = sum(len(b) == 2 and b[0] >= 0xA1 and b[1] >= 0xA1 for b in wide)
    return not wide or common >= GB2312_SHARE * len(wide)


def _encoding(head: bytes, complete: bool) -> str:
    """UTF-8 (with or without a BOM) when the bytes decode as it; UTF-16 by its BOM; GB18030 (the
    superset of the GBK that Excel saves in China) when they read as Chinese; else cp1252, the Western
    Excel's, or Latin-1 where cp1252 leaves a byte undefined."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if _decodes(head, "utf-8", complete) is not None:
        return "utf-8"
    chinese = _decodes(head, "gb18030", complete)
    if chinese is not None and _chinese(chinese):
        return "gb18030"
    return "cp1252" if _decodes(head, "cp1252", complete) is not None else "latin-1"


def _delimiter(text: str) -> str:
    """The delimiter that splits the header into the most fields and every sampled row into as many
    (quoted fields respected); a comma when nothing splits."""
    lines = [line for line in text.splitlines()[: SAMPLE_LINES + TITLE_ROWS_MAX] if line.strip()]
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the sample may end inside a row
    while len(lines) > 1 and not any(d in lines[0] for d in DELIMITERS):
        lines = lines[1:]  # a title typed above the table, without Excel's padding
    lines = lines[:SAMPLE_LINES]
    best, fields = ",", 1
    for delimiter in DELIMITERS:
        widths = {len(row) for row in csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter)}
        width = max(widths, default=1)
        if len(widths) == 1 and width > fields:
            best, fields = delimiter, width
    if fields == 1:  # no delimiter is consistent (ragged rows): the one the header uses most
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in DELIMITERS}
        best = max(DELIMITERS, key=lambda d: counts[d]) if any(counts.values()) else ","
    return best


def sniff(path: Path) -> CsvFormat:
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
        complete = not handle.read(1)
    encoding = _encoding(head, complete)
    text = head.decode(encoding, errors="ignore")
    delimiter = _delimiter(text)
    head_lines = io.StringIO("\n".join(text.splitlines()[:HEAD_ROWS]))
    try:
        titles = title_rows(list(csv.reader(head_lines, delimiter=delimiter)))
    except csv.Error:  # a huge or unclosed field: no title line is read into it; pandas reports the field
        titles = 0
    return CsvFormat(encoding, delimiter, titles)
