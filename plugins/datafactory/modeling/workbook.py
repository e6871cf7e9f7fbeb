"""A modeller's Excel workbook (.xlsx through openpyxl and calamine, Excel 97-2003 .xls through xlrd), read without
pandas (the CLI checks it before the heavy imports): the rows of the sheet that holds the table, as
Excel typed them, and the names of its sheets."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datafactory.modeling.csvformat import HEAD_ROWS, TITLE_ROWS_MAX, title_rows
from datafactory.modeling.header import column_names


@dataclass
class Sheet:
    rows: Iterator[tuple[object, ...]]  # values, formulas as last computed
    name: str
    names: list[str]  # every sheet of the workbook, in order
    why: str  # how it was chosen: 'the first with data', 'the first with column 'y''

    def describe(self) -> str | None:
        """Which sheet was read, when the workbook has others; None when it has one."""
        if len(self.names) == 1:
            return None
        others = ", ".join(n for n in self.names if n != self.name)
        which = "the first" if self.name == self.names[0] else self.why
        return f"sheet '{self.name}', {which} of {len(self.names)} ({others} not read)"


@dataclass
class _SheetRows:
    title: str
    rows: Callable[[int | None], Iterator[tuple[object, ...]]]  # the first n rows (all for None)


@contextmanager
def data_sheet(path: Path, column: str | None = None, kind: str = "xlsx") -> Iterator[Sheet]:
    """The first sheet whose header names `column` (the target: a notes or codebook sheet before the
    data has a header of its own), else the first sheet with a value in the rows where a header can be
    (a blank cover sheet is passed over), else the first sheet. `kind` is what the file holds ('xlsx'
    or 'xls', from `file_kind.table_kind`), whatever its name. A file that is not a workbook is one
    error naming it."""
    with ExitStack() as stack:
        sheets = _xls_sheets(path, stack) if kind == "xls" else _xlsx_sheets(path, stack)
        filled = [sheet for sheet in sheets if _has_values(sheet)]
        named = next((sheet for sheet in filled if column is not None and column in _header(sheet)), None)
        if named is not None:
            chosen, why = named, f"the first with column '{column}'"
        else:
            chosen, why = (filled or sheets)[0], "the first with data"
        yield Sheet(chosen.rows(None), chosen.title, [sheet.title for sheet in sheets], why)


def _xlsx_sheets(path: Path, stack: ExitStack) -> list[_SheetRows]:
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    handle = stack.enter_context(path.open("rb"))  # a handle, so a workbook named .xls or .csv opens too
    try:
        book = load_workbook(handle, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"{path.name}: not an Excel workbook ({exc}); save it again as .xlsx or .csv") from exc
    stack.callback(book.close)
    return [
        _SheetRows(
            sheet.title,
            lambda n, sheet=sheet: sheet.iter_rows(max_row=n, values_only=True) if n else _every_row(path, sheet),
        )
        for sheet in book.worksheets
    ]


def _every_row(path: Path, sheet: Any) -> Iterator[tuple[object, ...]]:
    """The head through openpyxl (where the trainer stops reading), the rest through calamine, which
    parses the whole sheet before its first row: only the input check's full walk pays for it."""
    head = list(sheet.iter_rows(max_row=HEAD_ROWS, values_only=True))
    yield from head
    if len(head) == HEAD_ROWS:
        yield from itertools.islice(_all_rows(path, sheet.title), HEAD_ROWS, None)


def _all_rows(path: Path, title: str) -> Iterator[tuple[object, ...]]:
    """Every row of a sheet through calamine (Rust: openpyxl took 14 s to walk 100,000 rows), lazily,
    as openpyxl gives them: None for an empty or error cell, whole numbers as ints; empty leading rows
    and columns kept (calamine's rows start at the first filled column), so the header stands where
    openpyxl finds it."""
    import io

    from python_calamine import CalamineWorkbook

    try:
        sheet = CalamineWorkbook.from_filelike(io.BytesIO(path.read_bytes())).get_sheet_by_name(title)
    except Exception as exc:  # calamine's errors have no common base; openpyxl already opened the file
        raise ValueError(f"{path.name}: sheet '{title}' cannot be read ({exc}); save it again as .xlsx") from exc
    pad = (None,) * (sheet.start[1] if sheet.start else 0)
    for row in sheet.iter_rows():
        yield pad + tuple(_as_openpyxl(cell) for cell in row)


def _as_openpyxl(cell: object) -> object:
    from datetime import date, datetime

    if cell == "":
        return None
    if type(cell) is float and cell.is_integer():
        return int(cell)
    if type(cell) is date:  # openpyxl gives a date cell as a datetime at midnight
        return datetime(cell.year, cell.month, cell.day)
    return cell


def _xls_sheets(path: Path, stack: ExitStack) -> list[_SheetRows]:
    import io
    import struct

    import xlrd
    from xlrd.compdoc import CompDocError

    try:  # every sheet parsed here (not on demand), so a damaged file fails at this one place
        book = xlrd.open_workbook(file_contents=path.read_bytes(), logfile=io.StringIO())
    except (xlrd.XLRDError, CompDocError, IndexError, ValueError, struct.error) as exc:  # truncated BIFF raises these
        raise ValueError(
            f"{path.name}: not an Excel 97-2003 workbook that can be read ({exc}); if it has a password, "
            "remove it; else save it again as .xlsx or .csv"
        ) from exc
    stack.callback(book.release_resources)
    return [
        _SheetRows(name, lambda n, index=index: _xls_rows(book, index, n))
        for index, name in enumerate(book.sheet_names())
    ]


def _xls_rows(book: Any, index: int, limit: int | None) -> Iterator[tuple[object, ...]]:
    """Rows as openpyxl gives them: None for an empty or error cell, dates as datetimes, whole
    numbers as ints (pandas' xlrd reader does the same)."""
    import xlrd

    sheet = book.sheet_by_index(index)
    for number in range(sheet.nrows if limit is None else min(limit, sheet.nrows)):
        row = []
        for cell in sheet.row(number):
            if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                row.append(None)
            elif cell.ctype == xlrd.XL_CELL_DATE:
                row.append(xlrd.xldate_as_datetime(cell.value, book.datemode))
            elif cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
                row.append(int(cell.value))
            elif cell.ctype == xlrd.XL_CELL_BOOLEAN:
                row.append(bool(cell.value))
            else:
                row.append(cell.value)
        yield tuple(row)


def _has_values(sheet: _SheetRows) -> bool:
    rows = sheet.rows(TITLE_ROWS_MAX + 1)
    return any(cell is not None and str(cell).strip() for cell in itertools.chain.from_iterable(rows))


def _header(sheet: _SheetRows) -> list[str]:
    """The sheet's column names, found as the trainer finds them (titles above skipped)."""
    head = [list(row) for row in sheet.rows(HEAD_ROWS)]
    skip = title_rows(head)
    return column_names(head[skip]) if skip < len(head) else []
