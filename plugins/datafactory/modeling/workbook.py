"""A modeller's Excel workbook, read without pandas (the CLI checks it before the heavy imports): the
first sheet's rows as Excel typed them, and the names of its sheets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WORKBOOKS = (".xlsx", ".xlsm")


@contextmanager
def first_sheet_rows(path: Path) -> Iterator[tuple[Iterator[tuple[object, ...]], list[str]]]:
    """The first sheet's rows (values, formulas as last computed) and every sheet's name. A file that
    is not a workbook is one error naming it."""
    from zipfile import BadZipFile

    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except (BadZipFile, KeyError, OSError) as exc:
        raise ValueError(f"{path.name}: not an Excel workbook ({exc}); save it again as .xlsx or .csv") from exc
    try:
        yield book.worksheets[0].iter_rows(values_only=True), list(book.sheetnames)
    finally:
        book.close()
