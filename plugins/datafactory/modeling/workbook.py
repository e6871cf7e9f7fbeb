"""A modeller's Excel workbook, read without pandas (the CLI checks it before the heavy imports): the
rows of the sheet that holds the table, as Excel typed them, and the names of its sheets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datafactory.modeling.csvformat import HEAD_ROWS, TITLE_ROWS_MAX, title_rows
from datafactory.modeling.header import column_names

WORKBOOKS = (".xlsx", ".xlsm")


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


@contextmanager
def data_sheet(path: Path, column: str | None = None) -> Iterator[Sheet]:
    """The first sheet whose header names `column` (the target: a notes or codebook sheet before the
    data has a header of its own), else the first sheet with a value in the rows where a header can be
    (a blank cover sheet is passed over), else the first sheet. A file that is not a workbook is one
    error naming it."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"{path.name}: not an Excel workbook ({exc}); save it again as .xlsx or .csv") from exc
    try:
        sheets = book.worksheets
        filled = [sheet for sheet in sheets if _has_values(sheet)]
        named = next((sheet for sheet in filled if column is not None and column in _header(sheet)), None)
        if named is not None:
            chosen, why = named, f"the first with column '{column}'"
        else:
            chosen, why = (filled or sheets)[0], "the first with data"
        yield Sheet(chosen.iter_rows(values_only=True), chosen.title, list(book.sheetnames), why)
    finally:
        book.close()


def _has_values(sheet: Any) -> bool:
    rows = sheet.iter_rows(max_row=TITLE_ROWS_MAX + 1, values_only=True)
    return any(cell is not None and str(cell).strip() for cell in itertools.chain.from_iterable(rows))


def _header(sheet: Any) -> list[str]:
    """The sheet's column names, found as the trainer finds them (titles above skipped)."""
    head = [list(row) for row in sheet.iter_rows(max_row=HEAD_ROWS, values_only=True)]
    skip = title_rows(head)
    return column_names(head[skip]) if skip < len(head) else []
