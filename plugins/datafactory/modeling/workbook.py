"""A modeller's Excel workbook, read without pandas (the CLI checks it before the heavy imports): the
rows of its first sheet that holds data, as Excel typed them, and the names of its sheets."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datafactory.modeling.csvformat import TITLE_ROWS_MAX

WORKBOOKS = (".xlsx", ".xlsm")


@dataclass
class Sheet:
    rows: Iterator[tuple[object, ...]]  # values, formulas as last computed
    name: str
    names: list[str]  # every sheet of the workbook, in order

    def describe(self) -> str | None:
        """Which sheet was read, when the workbook has others; None when it has one."""
        if len(self.names) == 1:
            return None
        others = ", ".join(n for n in self.names if n != self.name)
        which = "the first" if self.name == self.names[0] else "the first with data"
        return f"sheet '{self.name}', {which} of {len(self.names)} ({others} not read)"


@contextmanager
def data_sheet(path: Path) -> Iterator[Sheet]:
    """The first sheet with a value in the rows where a header can be (a blank cover sheet before the
    data is passed over), else the first sheet. A file that is not a workbook is one error naming it."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"{path.name}: not an Excel workbook ({exc}); save it again as .xlsx or .csv") from exc
    try:
        sheets = book.worksheets
        chosen = next((sheet for sheet in sheets if _has_values(sheet)), sheets[0])
        yield Sheet(chosen.iter_rows(values_only=True), chosen.title, list(book.sheetnames))
    finally:
        book.close()


def _has_values(sheet: Any) -> bool:
    rows = sheet.iter_rows(max_row=TITLE_ROWS_MAX + 1, values_only=True)
    return any(cell is not None and str(cell).strip() for cell in itertools.chain.from_iterable(rows))
