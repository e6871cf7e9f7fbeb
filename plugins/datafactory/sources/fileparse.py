"""Reads one dropped file (CSV in any declared encoding, or XLSX) into text columns. Pure: bytes in.

A file that cannot be trusted as a whole (undecodable, in another encoding than declared, truncated,
unreadable, bad header, a title row nobody declared) raises `FileRejected` with its reason, and the
caller quarantines the file whole. A sound file may still hold rows that are not data: malformed rows
(wrong field count, values beyond the header) and layout rows (summary rows such as `合计`, the header
repeated mid-file, blank separator rows, a DOS end-of-file byte). Each comes back in `rejected` with
its text and reason, so every row of the file ends up either in the table or in `rejected`.

Encodings (see README, "Encodings of file drops"):

- A byte-order mark wins over the declared encoding: UTF-8 (`EF BB BF`) and UTF-16 (`FF FE`/`FE FF`,
  Excel's "Unicode text") are read as such. UTF-16 without a mark is rejected with a reason.
- A feed declared `gbk` is decoded as GB18030. GB18030 is GBK's superset: every GBK byte pair decodes
  to the same character in both, and GB18030 adds four-byte characters GBK lacks (𠮷, U+20BB7, and
  the rest beyond the BMP) that Windows exports from newer systems produce. Reading GBK as GB18030
  changes no GBK file and keeps those characters instead of rejecting the file.
- Mojibake is refused by a principled test, not a list of garbled characters: a file on a GBK feed
  that decodes whole as UTF-8 and holds multi-byte sequences is UTF-8 (GBK text of any length almost
  never forms valid UTF-8 sequences throughout), so it is rejected as "looks like UTF-8", or read as
  UTF-8 when the feed declares `accept_utf8: true`. A file on a UTF-8 feed that is not valid UTF-8 is
  rejected, with a hint when it reads as GBK.

Layout: a title row above the header is read only when the feed declares `header_row: N` (the header
is on line N; lines above it are titles, not data); undeclared, a single-cell first line followed by
a wider line rejects the file with the declaration to add. If the header line ends with a delimiter,
or the feed declares `trailing_delimiter: true`, every data line carries one more, empty, field; a
value there rejects the row. In XLSX, wholly empty rows are not rows (openpyxl yields formatted empty
rows); in CSV, a line of empty fields is a blank row, rejected with its reason.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from datafactory.layout_marks import (
    EXACT_SUMMARY,
    LABEL_COLUMNS,
    NOTE_MARKERS,
    SUMMARY_MARKERS,
    note_start,
    summary_start,
)

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}
NULL_MARKERS = ["", "NULL", "null", "\\N"]
REJECT_COLUMNS = ["_file", "_row_text", "_reason", "_header"]
GBK_FAMILY = ("gbk", "gb18030")
EOF_MARKER = "\x1a"

# Row reasons (stable: quarantine lists count them, and tests match on them).
BLANK_ROW = "blank row: every field is empty (a separator line, not data)"
REPEATED_HEADER = "repeated header: the header row again mid-file (not data)"
SUMMARY_ROW = "summary row: a total/subtotal/average/remark line (合计, 小计, 总计, 平均, 备注, Total), not data"
NOTE_ROW = (
    "note row: a sign-off, source or footnote line (制表人, 审核人, 填报单位, 数据来源, 注, 说明, 单位 ... followed by "
    "a colon), not data"
)
EOF_ROW = "end-of-file marker: a DOS ^Z byte (0x1A) after the last line, not data"
TRAILING_VALUE = "malformed row: a value after the last header column (the trailing delimiter's field must be empty)"

_GAP = r"[\s\x{3000}\x{00a0}]*"  # RE2's spelling
_SUMMARY_START = summary_start(_GAP)
_EXACT_SET = pa.array(EXACT_SUMMARY, type=pa.string())
_NOTE_START = note_start(_GAP)
_LEAD_CHARS = pa.array(
    sorted({m[0] for m in (*SUMMARY_MARKERS, *NOTE_MARKERS)} | {" ", "\t", "\u3000", "\u00a0"}), type=pa.string()
)
_TITLE_LOOKAHEAD = 10
_TRAIL = "\x00trailing{}"


class FileRejected(ValueError):
    """The file as a whole is corrupt, partial or not what the feed declares; the message is the reason."""


@dataclass
class ParsedFile:
    table: pa.Table  # one text column per header name, kept in Arrow (compact) until it is landed
    rejected: pd.DataFrame  # REJECT_COLUMNS: malformed and layout rows with their reason
    encoding: str
    layout_rows: int = 0  # of `rejected`: summary, repeated-header, blank and end-of-file rows

    @property
    def frame(self) -> pd.DataFrame:
        """The rows as pandas text columns; nulls as None."""
        return self.table.to_pandas()

    @property
    def rows_seen(self) -> int:
        return self.table.num_rows + len(self.rejected)

    @property
    def data_rows(self) -> int:
        """Rows that are meant as data (malformed or not): what a provider counts in a control file."""
        return self.rows_seen - self.layout_rows


def parse_file(
    name: str,
    data: bytes,
    encoding: str = "utf-8",
    require_final_newline: bool = True,
    *,
    delimiter: str = ",",
    header_row: int = 1,
    accept_utf8: bool = False,
    trailing_delimiter: bool = False,
) -> ParsedFile:
    lower = name.lower()
    disguised = _disguised(data, ".csv" if lower.endswith(".csv") else ".xlsx")
    if disguised:
        raise FileRejected(disguised)
    if lower.endswith(".csv"):
        return parse_csv(
            name,
            data,
            encoding,
            require_final_newline,
            delimiter=delimiter,
            header_row=header_row,
            accept_utf8=accept_utf8,
            trailing_delimiter=trailing_delimiter,
        )
    if lower.endswith(".xlsx"):
        return parse_xlsx(name, data, header_row=header_row)
    raise FileRejected(f"unsupported file type (want .csv or .xlsx): {name}")


# What a file's first bytes say it is, whatever its name (exports get renamed by hand).
_MAGIC = (
    (b"PK\x03\x04", "an XLSX workbook (a ZIP archive)", ".xlsx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel .xls workbook", None),
    (b"%PDF", "a PDF document", None),
)
_MARKUP = re.compile(rb"^\s*<(?:!doctype html|html|table|\?xml)", re.IGNORECASE)


def _disguised(data: bytes, extension: str) -> str | None:
    """Why a file is not what its extension says (a workbook named .csv, an HTML table named .xlsx), or None."""
    head = data[:64].removeprefix(UTF8_BOM)
    for magic, what, fits in _MAGIC:
        if head.startswith(magic) and fits != extension:
            want = "save it as .xlsx" if fits == ".xlsx" else "ask the provider for CSV or .xlsx"
            return f"not a {extension.lstrip('.').upper()} file: its bytes are {what}; {want}"
    if _MARKUP.match(head):
        return (
            f"not a {extension.lstrip('.').upper()} file: it is an HTML/XML page (a web report saved under this "
            "name); ask the provider for a real CSV or .xlsx export"
        )
    return None


def decode(data: bytes, encoding: str, accept_utf8: bool = False) -> tuple[str, str]:
    """Text of a file and the encoding it was read in. A byte-order mark wins over the declared encoding;
    a GBK feed reads as GB18030; UTF-8 on a GBK feed is refused unless accepted; anything undecodable
    rejects the file."""
    for bom, codec in UTF16_BOMS.items():
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(codec), codec
            except UnicodeDecodeError as exc:
                if exc.end >= len(data) - len(bom):
                    raise FileRejected(f"truncated: the file ends inside a {codec} character") from exc
                raise FileRejected(f"not valid {codec} at byte {exc.start + len(bom)}: {exc.reason}") from exc
    if data.startswith(UTF8_BOM):
        data, encoding = data[len(UTF8_BOM) :], "utf-8-sig"
    elif _looks_utf16(data):
        raise FileRejected(
            "looks like UTF-16 without a byte-order mark (every other byte is NUL): ask the provider for "
            "UTF-8 or GBK, or for UTF-16 with its byte-order mark (Excel's 'Unicode text')"
        )
    codec = "utf-8" if encoding == "utf-8-sig" else encoding
    if encoding in GBK_FAMILY:
        codec = "gb18030"
        if not data.isascii():
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None:
                if accept_utf8:
                    return text, "utf-8"
                wide = len(text) - len(text.encode("ascii", "ignore"))
                raise FileRejected(
                    f"looks like UTF-8, not the declared {encoding}: the whole file is valid UTF-8 with {wide} "
                    f"multi-byte character(s), which {encoding.upper()} text almost never is, and read as "
                    f"{encoding.upper()} it would be garbled; ask the provider for {encoding.upper()}, or declare "
                    "`accept_utf8: true` in the feed's options"
                )
    try:
        return data.decode(codec), encoding
    except UnicodeDecodeError as exc:
        if exc.end >= len(data) and exc.start >= len(data) - 4:
            raise FileRejected(f"truncated: the file ends inside a {encoding} character") from exc
        hint = ""
        if codec == "utf-8" and _decodes(data, "gb18030"):
            hint = "; the file reads as GBK: if the provider sends GBK, declare `encoding: gbk`"
        raise FileRejected(f"not valid {encoding} at byte {exc.start}: {exc.reason}{hint}") from exc
    except LookupError as exc:
        raise FileRejected(f"unknown encoding {encoding!r} declared for this feed") from exc


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _looks_utf16(data: bytes) -> bool:
    head = data[:4096]
    return len(head) >= 4 and head.count(0) * 3 >= len(head)  # ASCII in UTF-16: half the bytes are NUL


def header_names(cells: list[object]) -> tuple[list[str], int]:
    """The header's column names, and how many empty names it ends with (a trailing delimiter)."""
    names = ["" if c is None else str(c).strip().lstrip("\ufeff") for c in cells]
    trailing = 0
    while names and names[-1] == "":
        names.pop()
        trailing += 1
    if not names:
        raise FileRejected("no header row")
    if "" in names:
        raise FileRejected(f"header has an empty column name at position {names.index('') + 1}")
    if any("\n" in n or "\r" in n for n in names):
        raise FileRejected("header has a line break inside a column name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise FileRejected(f"header repeats column names {dupes}")
    return names, trailing


def _title_row(widths: list[int]) -> None:
    """A single-cell first line followed (within a few lines) by a wider one is a title above the header."""
    if len(widths) < 2 or widths[0] != 1:
        return
    for line, width in enumerate(widths[1:], start=2):
        if width > 1:
            raise FileRejected(
                f"title row above the header: line 1 holds a single cell and line {line} holds {width}; "
                f"if the header is on line {line}, declare `header_row: {line}` in the feed's options"
            )


def parse_csv(
    name: str,
    data: bytes,
    encoding: str = "utf-8",
    require_final_newline: bool = True,
    *,
    delimiter: str = ",",
    header_row: int = 1,
    accept_utf8: bool = False,
    trailing_delimiter: bool = False,
) -> ParsedFile:
    import pyarrow.csv as pacsv

    if not data:
        raise FileRejected("empty file")
    utf8 = _utf8_body(data, encoding)
    if utf8 is not None:  # checked on the bytes, never decoded whole (see _utf8_body)
        text, used = utf8
        nl, cr, eof_mark, nul = b"\n", b"\r", EOF_MARKER.encode(), b"\x00"
    else:
        text, used = decode(data, encoding, accept_utf8)
        nl, cr, eof_mark, nul = "\n", "\r", EOF_MARKER, "\x00"
    tail = text.rstrip(eof_mark + cr + nl)
    eof = eof_mark in text[len(tail) :]
    if eof:  # a DOS export's ^Z ends the file: the line before it is complete
        text = text[: text.index(eof_mark, len(tail))].rstrip(eof_mark)
        if text and not text.endswith((nl, cr)):
            text += nl
    if nul in text:
        raise FileRejected("binary content (NUL bytes) in a CSV file")
    if not text or _blank(text):
        raise FileRejected("empty file")
    if require_final_newline and not text.endswith((nl, cr)):
        last = len(_chars(text.rsplit(nl, 1)[-1]))  # its length only: reasons never quote data
        raise FileRejected(f"truncated: the file does not end with a line break (last line: {last} characters)")
    start = 0
    for _ in range(header_row - 1):  # declared title lines above the header
        end = text.find(nl, start)
        if end < 0:
            raise FileRejected(f"no header row: the file has fewer than {header_row} lines (header_row: {header_row})")
        start = end + 1
    try:
        head = _chars(text[start : start + _HEAD_BYTES])[: 64 * 1024].split("\n", _TITLE_LOOKAHEAD)[:_TITLE_LOOKAHEAD]
        first = [line.rstrip("\r") for line in head]
        if not first[-1] and len(first) > 1:
            first.pop()
        parsed_head = list(csv.reader(first, delimiter=delimiter))
        header, trailing = header_names(parsed_head[0] if parsed_head else [])
        if header_row == 1:
            _title_row([len([c for c in cells if c.strip()]) for cells in parsed_head])
    except csv.Error as exc:
        raise FileRejected(f"unreadable header: {exc}") from exc
    extra = trailing or (1 if trailing_delimiter else 0)
    trails = [_TRAIL.format(i) for i in range(extra)]
    width = len(header)
    header_line = _render_row(header, delimiter)
    bad: list[tuple[str, str]] = []

    def on_invalid(row) -> str:
        wanted = f"{width} fields" + (f" and {extra} trailing delimiter(s)" if extra else "")
        bad.append((row.text, f"malformed row: expected {wanted}, got {row.actual_columns}"))
        return "skip"

    if utf8 is not None:
        source = text[start:]  # already UTF-8: handed to Arrow as it is
    else:
        body = text[start:] if (start or eof or used not in ("utf-8", "utf-8-sig")) else None
        source = body.encode("utf-8") if body is not None else (data[3:] if data.startswith(UTF8_BOM) else data)
    names = [*header, *trails]
    try:
        table = pacsv.read_csv(
            io.BytesIO(source),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=True, invalid_row_handler=on_invalid
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in names},
                null_values=NULL_MARKERS,
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException) as exc:
        message = ":".join(str(exc).splitlines()[0].split(":")[:2])  # drop any quoted row text
        raise FileRejected(f"unreadable CSV: {message}") from exc
    rejects = [(text_, reason) for text_, reason in bad]
    if trails:
        valued = _any(pc.is_valid(table.column(t)) for t in trails)
        rejects += _take(table, valued, TRAILING_VALUE, delimiter)
        table = table.filter(_not(valued)).drop_columns(trails)
    table, layout = _layout_rows(table, header, delimiter)
    if eof:
        layout.append((EOF_MARKER, EOF_ROW))
    return ParsedFile(table, _rejects(name, rejects + layout, header_line), used, len(layout))


_HEAD_BYTES = 4 * 64 * 1024 + 4  # holds the first 64K characters of any UTF-8 text
_ASCII_SPACE = b" \t\n\r\x0b\x0c"


def _utf8_body(data: bytes, encoding: str) -> tuple[bytes, str] | None:
    """The file's bytes (without a BOM) and the encoding `decode` would report, when `decode` would read
    the file as UTF-8 and it is valid UTF-8; else None, and `decode` reads it (and says what is wrong).

    Why: a UTF-8 file is already what Arrow reads. Decoding it whole into a Python string (and scanning
    that string for the end-of-file marker, NULs and line ends) cost as much again as the CSV read, and
    made the UTF-8 path slower than a plain read by twice the margin of the GBK path. The checks below
    run on the bytes instead: every character they look for is ASCII, and in UTF-8 an ASCII byte never
    occurs inside another character, so they find exactly what they found in the text. Validity is
    checked by Arrow's UTF-8 validator (RFC 3629, as strict as Python's decoder)."""
    if data.startswith(UTF8_BOM):
        body, used = data[len(UTF8_BOM) :], "utf-8-sig"
    elif encoding in ("utf-8", "utf-8-sig") and not any(data.startswith(b) for b in UTF16_BOMS):
        if _looks_utf16(data):
            return None
        body, used = data, encoding
    else:
        return None
    if not body.isascii():
        blob = pa.Array.from_buffers(
            pa.large_binary(), 1, [None, pa.array([0, len(body)], pa.int64()).buffers()[1], pa.py_buffer(body)]
        )
        try:
            blob.cast(pa.large_string())
        except pa.ArrowInvalid:
            return None
    return body, used


def _blank(text: str | bytes) -> bool:
    """`text.isspace()` of the text (for UTF-8 bytes: decoded only when the first non-ASCII-blank byte
    could start a Unicode blank)."""
    if isinstance(text, str):
        return text.isspace()
    lead = text.lstrip(_ASCII_SPACE)
    if not lead:
        return True
    if lead[0] < 0x80 and not 0x1C <= lead[0] <= 0x1F:  # an ASCII character that is not a blank
        return False
    return text.decode("utf-8").isspace()


def _chars(text: str | bytes) -> str:
    """Text; UTF-8 bytes decoded, a character cut at the end dropped (the bytes were validated whole)."""
    return text if isinstance(text, str) else text.decode("utf-8", "ignore")


def _render_row(cells: list[str | None], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(["" if c is None else c for c in cells])
    return out.getvalue()


def _any(masks) -> pa.Array | None:
    out = None
    for mask in masks:
        out = mask if out is None else pc.or_(out, mask)
    return out


def _not(mask: pa.Array) -> pa.Array:
    return pc.invert(mask)


def _take(table: pa.Table, mask: pa.Array | None, reason: str, delimiter: str) -> list[tuple[str, str]]:
    if mask is None or not pc.any(mask).as_py():
        return []
    rows = table.filter(mask)
    cells = zip(*(rows.column(i).to_pylist() for i in range(rows.num_columns)), strict=True)
    return [(_render_row(list(row), delimiter), reason) for row in cells]


def _layout_rows(table: pa.Table, header: list[str], delimiter: str) -> tuple[pa.Table, list[tuple[str, str]]]:
    """Blank, repeated-header and summary rows, found with Arrow compute over whole columns (a handful of
    kernels per file; only the rows found are touched one by one).

    Blank: every field empty. Repeated header: every cell equals its header name (after trimming).
    Summary: the first non-empty cell starts with 合计/小计/总计/平均/备注 (spaces between the two
    characters allowed), or one of the leading cells is exactly such a label or Total/Subtotal/Grand total
    (the "大理市,小计,,200" shape). Note: the first non-empty cell starts with a sign-off, source or
    footnote marker and a colon ("制表人：", "数据来源:", "注1：")."""
    if table.num_rows == 0 or table.num_columns == 0:
        return table, []
    columns = [table.column(i) for i in range(table.num_columns)]
    blank = _all(pc.is_null(c) for c in columns)
    repeated = pc.fill_null(pc.equal(_trimmed(columns[0]), header[0]), False)
    if pc.any(repeated).as_py():  # rare: confirm on the other columns
        rest = (pc.fill_null(pc.equal(_trimmed(c), n), False) for c, n in zip(columns, header, strict=True))
        repeated = pc.and_(repeated, _all(rest))
    first = pc.coalesce(*columns)
    leading = pc.fill_null(pc.is_in(pc.utf8_slice_codeunits(first, 0, 1), value_set=_LEAD_CHARS), False)
    note = leading
    if pc.any(leading).as_py():  # only then the regexes
        note = pc.fill_null(pc.match_substring_regex(first, _NOTE_START), False)
        leading = pc.fill_null(pc.match_substring_regex(first, _SUMMARY_START), False)
    exact = _any(pc.is_in(c, value_set=_EXACT_SET) for c in columns[:LABEL_COLUMNS])
    summary = pc.or_(leading, pc.fill_null(exact, False))
    repeated = pc.and_(repeated, _not(blank))
    summary = pc.and_(summary, _not(pc.or_(blank, repeated)))
    note = pc.and_(note, _not(pc.or_(pc.or_(blank, repeated), summary)))
    found: list[tuple[str, str]] = []
    masks = ((blank, BLANK_ROW), (repeated, REPEATED_HEADER), (summary, SUMMARY_ROW), (note, NOTE_ROW))
    for mask, reason in masks:
        found += _take(table, mask, reason, delimiter)
    if found:
        table = table.filter(_not(_any(mask for mask, _ in masks)))
    return table, found


def _trimmed(column) -> pa.Array:
    """Cells without surrounding blanks, or a ^Z glued on by `copy /b a.csv+b.csv` (two exports joined)."""
    return pc.utf8_trim(column, characters=" \t\r\n\u3000\x1a\ufeff")


def _all(masks) -> pa.Array:
    out = None
    for mask in masks:
        out = mask if out is None else pc.and_(out, mask)
    return out


def parse_xlsx(name: str, data: bytes, *, header_row: int = 1) -> ParsedFile:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheet = book.worksheets[0]
            rows = iter(sheet.iter_rows(values_only=True))
            for _ in range(header_row - 1):  # declared title rows above the header
                next(rows, None)
            head = [list(r) for _, r in zip(range(_TITLE_LOOKAHEAD), rows, strict=False)]
            if header_row == 1:
                _title_row([sum(1 for c in r if _cell_text(c) is not None) for r in head])
            header, _ = header_names(head[0] if head else [])
            width = len(header)
            good: list[list[str | None]] = []
            bad: list[tuple[str, str]] = []
            for cells in [*head[1:], *rows]:
                values = [_cell_text(c) for c in cells]
                if all(v is None for v in values):
                    continue  # formatted empty rows are not rows in a spreadsheet
                beyond = [v for v in values[width:] if v is not None]
                if beyond:
                    shown = _render_row(values, ",")
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
    table, layout = _layout_rows(table, header, ",")
    return ParsedFile(table, _rejects(name, bad + layout, _render_row(header, ",")), "xlsx", len(layout))


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


def _rejects(name: str, bad: list[tuple[str, str]], header: str) -> pd.DataFrame:
    return pd.DataFrame([(name, text, reason, header) for text, reason in bad], columns=REJECT_COLUMNS, dtype=object)
