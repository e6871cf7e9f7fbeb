"""A modeller's table as the trainer reads it: a CSV in its own encoding and delimiter, or a workbook's
first sheet, from the header down (title lines above it skipped and named), and numbers that
were written as text (`13.56%`, `$1,200`, `1,234.5`, `１２３`, `2,6` from a continental export) read as
numbers, each such column named.

Without this, a rate written with `%` had hundreds of distinct text values and was excluded as an
identifier, though it is the strongest predictor of a credit table."""

from __future__ import annotations

import csv
import itertools
import warnings
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from datafactory.layout_marks import EXACT_SUMMARY_SET, LABEL_COLUMNS, NOTE_CELL, SUMMARY_CELL, is_layout_row
from datafactory.modeling.csvformat import HEAD_ROWS, CsvFormat, sniff, title_rows
from datafactory.modeling.file_kind import table_kind
from datafactory.modeling.header import column_names, repeated_names, row_names_shift
from datafactory.modeling.number_text import (
    CENSORED,
    MAGNITUDE,
    MAGNITUDES,
    MEASURES,
    MISSING_MARKS,
    SAME_UNIT,
    decided_marks,
    number_grammar,
    strip_pattern,
)
from datafactory.modeling.packed import unpacked
from datafactory.modeling.workbook import data_sheet

NUMBER_SHARE = 0.98  # of a column's non-blank values: below this it is text that holds some numbers


def read_table(
    path: Path, exclude: Collection[str] = (), target: str | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The table, and for each text column read as numbers, what was done (for the CLI and the card).
    Columns in `exclude` (the target, the id, the group) are left as they are. A parquet file's types are
    the modeller's own: a text column there stays text. What was skipped to find the table (lines above
    the header, other sheets of a workbook) is listed in the frame's `attrs["layout"]`, and header texts
    that head several columns in `attrs["repeats"]` (see `header.repeated_names`)."""
    with unpacked(path) as inner:
        kind = table_kind(inner)
        if kind == "parquet":
            return pd.read_parquet(inner), {}
        frame, layout = _read_csv(inner) if kind == "text" else _read_workbook(inner, target, kind)
    repeats = frame.attrs.get("repeats", {})
    layout += [f"{len(names)} columns headed '{text}' read as {', '.join(names)}" for text, names in repeats.items()]
    frame, skipped = without_layout_rows(frame)  # on the cells as written, as ingest's detector reads them
    frame, empty = without_empty_rows(without_surrounding_blanks(frame))
    frame, notes = numbers_from_text(frame, exclude)
    frame.attrs["layout"] = layout + empty + skipped
    frame.attrs["repeats"] = repeats
    return frame, notes


def without_surrounding_blanks(frame: pd.DataFrame) -> pd.DataFrame:
    """Text cells without the blanks around them, and a blank cell empty: `'yes '` and `'yes'` are one
    label and `'north '` one region (the blank is invisible in Excel), as the input check reads them.
    Each distinct value is stripped once, then spread over its rows."""
    stripped = {}
    for name in frame.columns:
        column = frame[name]
        if not pd.api.types.is_object_dtype(column):
            continue
        codes, uniques = pd.factorize(column)
        distinct = pd.Series(uniques, dtype=object)
        kind = pd.api.types.infer_dtype(distinct, skipna=True)
        if kind == "string":
            text = distinct.str.strip()
        elif kind.startswith("mixed"):  # Excel's numbers and text in one column: only the text is touched
            text = distinct.map(lambda value: value.strip() if isinstance(value, str) else value)
        else:
            continue
        text = text.where(text != "", np.nan)
        if text.equals(distinct):
            continue
        values = np.append(text.to_numpy(dtype=object), np.nan)[codes]  # a missing row (-1) stays missing
        stripped[name] = pd.Series(values, index=column.index, dtype=object)
    return frame.assign(**stripped) if stripped else frame


def without_empty_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The table without rows whose every cell is empty (`,,,,` left by Excel below the data, a spacer
    line between blocks; blank text is already empty): they hold nothing to learn from, and the input
    check skips them."""
    empty = frame.isna().all(axis=1)
    if not empty.any():
        return frame, []
    return _without_rows(frame, empty), [f"{int(empty.sum())} empty row(s) skipped"]


def without_layout_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The table without the totals (合计, 小计, Total) and sign-off or source lines (制表人：, 数据来源：)
    that office exports put among the rows, found by their leading cells as ingest finds them, and what
    was skipped. A total kept as data is an outlier with the sum of every row (or a third class)."""
    summary = pd.Series(False, index=frame.index)
    first = pd.Series(pd.NA, index=frame.index, dtype="string")  # the first filled leading cell
    for name in frame.columns[:LABEL_COLUMNS]:
        column = frame[name]
        if not pd.api.types.is_object_dtype(column):  # a number fills the cell and labels nothing
            first = first.mask(first.isna() & column.notna(), "0")
            continue
        text = column.astype("string")
        summary |= text.isin(EXACT_SUMMARY_SET).fillna(False).astype(bool)  # '大理市,小计,,200'
        first = first.fillna(text.where(text.str.strip() != ""))
    summary |= first.str.match(SUMMARY_CELL.pattern).fillna(False).astype(bool)  # '合计（全市）'
    note = first.str.match(NOTE_CELL.pattern).fillna(False).astype(bool) & ~summary
    skipped = []
    for mask, what in ((summary, "total"), (note, "sign-off or note")):
        if mask.any():
            labels = first[mask].head(3).tolist()
            more = ", ..." if mask.sum() > 3 else ""
            shown = ", ".join(f"'{label}'" for label in labels) + more
            skipped.append(f"{int(mask.sum())} {what} row(s) skipped, not data: {shown}")
    dropped = summary | note
    if not dropped.any():
        return frame, skipped
    return _without_rows(frame, dropped), skipped


def _without_rows(frame: pd.DataFrame, dropped: pd.Series) -> pd.DataFrame:
    """The frame without the dropped rows; whole numbers that were floats only for those rows' empty
    cells are whole numbers again."""
    kept = frame[~dropped].reset_index(drop=True)
    whole = {
        name: kept[name].astype("int64")
        for name in kept.columns
        if pd.api.types.is_float_dtype(kept[name])
        and frame[name].isna().any()
        and kept[name].notna().all()
        and (kept[name] % 1 == 0).all()
    }
    return kept.assign(**whole)


def _above_header(rows: list[list[object]]) -> list[str]:
    """The skipped rows' filled cells as one line each: a title, a unit, a date."""
    lines = [" ".join(str(cell).strip() for cell in row if cell is not None and str(cell).strip()) for row in rows]
    if not any(lines):
        return []
    shown = ", ".join(f"'{line}'" for line in lines if line)
    return [f"{len(rows)} line(s) above the header skipped: {shown}"]


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[str]]:
    form = sniff(path)
    with path.open(encoding=form.encoding, errors="replace", newline="") as handle:
        lines = list(itertools.islice(csv.reader(handle, delimiter=form.delimiter), form.title_rows + 1))
    header = lines[form.title_rows] if len(lines) > form.title_rows else []
    options = {"encoding": form.encoding, "sep": form.delimiter, "low_memory": False}
    try:
        with warnings.catch_warnings():
            # A row wider than the header: with index_col=False pandas would drop what lies past it, with a warning.
            warnings.simplefilter("error", pd.errors.ParserWarning)
            # Rows ending in a delimiter the header lacks ('1,2,yes,') would otherwise make the first column
            # the index and shift every name one column left, the target onto empty cells.
            frame = pd.read_csv(path, skiprows=form.title_rows, index_col=False, **options)
    except (pd.errors.ParserWarning, pd.errors.ParserError):  # rows wider: fine when what lies past is empty
        rows = _data_rows(path, form)
        first = next((row for row in rows if any(cell.strip() for cell in row) and not is_layout_row(row)), None)
        if row_names_shift(header, first):  # R's row names: the header gains their (empty) cell
            if not all(row_names_shift(header, row) for row in rows if any(cell.strip() for cell in row)):
                raise _row_names_mismatch(path, form, len(header) + 1) from None
            header = ["", *header]
        width = max([len(header), *map(len, rows)])
        try:
            frame = pd.read_csv(path, skiprows=form.title_rows + 1, header=None, names=range(width), **options)
        except pd.errors.ParserError as exc:  # pandas' own words, then what the file is read as and what to fix
            reason = str(exc).strip().removeprefix("Error tokenizing data. C error: ")
            raise ValueError(f"{path.name} ({form.describe()}): {reason}; fix the line it names") from exc
        past = frame.iloc[:, len(header) :].astype("string")
        if past.apply(lambda column: column.str.strip().fillna("").ne("")).any().any():
            raise _past_header(path, form, len(header)) from None
        frame = frame.iloc[:, : len(header)]
    return _named(frame, header), _above_header(lines[: form.title_rows])


def _data_rows(path: Path, form: CsvFormat) -> list[list[str]]:
    """The rows below the header, as the csv module splits them (on the rare path of rows wider than it)."""
    with path.open(encoding=form.encoding, errors="replace", newline="") as handle:
        return list(itertools.islice(csv.reader(handle, delimiter=form.delimiter), form.title_rows + 1, None))


def _row_names_mismatch(path: Path, form: CsvFormat, width: int) -> ValueError:
    return ValueError(
        f"{path.name} ({form.describe()}): the first data row has {width} fields, one more than the header "
        "(R's row names), but not every row does; every row needs as many fields as the first"
    )


def _past_header(path: Path, form: CsvFormat, width: int) -> ValueError:
    """The error for a row holding a value past the header's `width` fields, naming its line."""
    with path.open(encoding=form.encoding, errors="replace", newline="") as handle:
        reader = csv.reader(handle, delimiter=form.delimiter)
        rows = itertools.islice(reader, form.title_rows + 1, None)
        line = next((reader.line_num for row in rows if any(cell.strip() for cell in row[width:])), None)
    return ValueError(
        f"{path.name} ({form.describe()}): line {line} holds a value past the header's last column; "
        "every row needs as many fields as the header"
    )


def _read_workbook(path: Path, target: str | None, kind: str) -> tuple[pd.DataFrame, list[str]]:
    """The sheet with the target (else the first with data), from its header down (cells typed by
    Excel; dates stay dates)."""
    with data_sheet(path, target, kind) as sheet:
        head = [list(row) for row in itertools.islice(sheet.rows, HEAD_ROWS)]
    skip = title_rows(head)
    with path.open("rb") as handle:  # a handle: openpyxl refuses a workbook whose name says .xls or .csv
        engine = "xlrd" if kind == "xls" else "calamine"  # Rust: about 6x openpyxl on a 100k-row sheet
        frame = pd.read_excel(handle, sheet_name=sheet.name, header=skip, engine=engine)
    which = sheet.describe()
    return _named(frame, head[skip] if skip < len(head) else []), ([which] if which else []) + _above_header(
        head[:skip]
    )


def _named(frame: pd.DataFrame, header: list[object]) -> pd.DataFrame:
    """The columns named from the header's own cells, as the input check names them (pandas has
    already numbered repeats, and numbering its `a.1` again after stripping would give `a.1.1`)."""
    cells = (header + [None] * len(frame.columns))[: len(frame.columns)]
    frame.columns = column_names(cells)
    frame.attrs["repeats"] = repeated_names(cells)
    return frame


def numbers_from_text(frame: pd.DataFrame, exclude: Collection[str] = ()) -> tuple[pd.DataFrame, dict[str, str]]:
    """Text columns whose values are (nearly) all numbers with separators, currency or a percent sign,
    as float64; the few other values become missing and are counted. Each column's decimal mark is
    decided from its own values, then from the file's (`decided_marks`). Pure: returns a new frame."""
    distinct: dict[str, _Distinct] = {}
    shown: dict[str, set[str]] = {}
    for name in frame.columns:
        column = frame[name]
        if name in exclude or not (pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column)):
            continue
        found = _Distinct.of(column)
        if found is not None:
            distinct[name] = found
            shown[name] = _marks_shown(found.texts)
    converted: dict[str, pd.Series] = {}
    notes: dict[str, str] = {}
    for name, mark in decided_marks(shown).items():
        read = _numbers(distinct[name], mark)
        if read is None:
            continue
        converted[name] = pd.Series(read.values, index=frame.index, dtype="float64")
        comma = " with a decimal comma" if mark == "," else ""
        lost = f"; {read.unreadable} value(s) that are not numbers read as missing" if read.unreadable else ""
        if read.other_unit:
            lost += f"; {read.other_unit} value(s) in another unit than '{read.unit}' read as missing"
        limits = f"; {read.censored} beyond a limit (e.g. '{read.censored_example}') read as the limit"
        notes[name] = (
            f"numbers written as text (e.g. '{read.example}') read as numbers{comma}{limits if read.censored else ''}"
            f"{lost}"
        )
    return (frame.assign(**converted) if converted else frame), notes


@dataclass(frozen=True)
class _Distinct:
    """A text column as its distinct values (normalized as `normal_text` does, in order of first
    appearance) and, per row, which one it holds (-1: no value). Every pattern is matched once per
    distinct value, not once per row: a 300,000-row loan book has a few thousand rates and seven grades."""

    texts: pd.Series  # "string" dtype, index 0..k-1
    codes: np.ndarray  # per row
    counts: np.ndarray  # rows per distinct text

    @classmethod
    def of(cls, column: pd.Series) -> _Distinct | None:
        codes, uniques = pd.factorize(column)
        text = pd.Series(uniques, dtype=object).astype("string").str.normalize("NFKC")
        text = text.str.replace("\u2212", "-").str.strip()
        present = (text.notna() & (text != "") & ~text.isin(MISSING_MARKS)).to_numpy(dtype=bool)
        if not present.any():
            return None
        kept = np.flatnonzero(present)
        renumber = np.full(len(text) + 1, -1, dtype=np.int64)  # the last slot maps a missing row (-1) to -1
        renumber[kept] = np.arange(len(kept))
        codes = renumber[codes]
        counts = np.bincount(codes[codes >= 0], minlength=len(kept))
        return cls(text.iloc[kept].reset_index(drop=True), codes, counts)

    def per_row(self, values: np.ndarray) -> np.ndarray:
        """One float per distinct text, spread over the rows (NaN where a row has none)."""
        return np.append(values, np.nan)[self.codes]


@dataclass(frozen=True)
class _ReadNumbers:
    values: np.ndarray  # per row
    example: str
    unreadable: int  # rows whose value is not a number
    unit: str
    other_unit: int  # rows in another unit of measure than the column's
    censored: int  # rows beyond a limit ('<5'), read as the limit
    censored_example: str


def _readable(values: pd.Series, mark: str) -> pd.Series:
    return values.str.fullmatch(number_grammar(mark)).fillna(False).astype(bool)


def _marks_shown(values: pd.Series) -> set[str]:
    """The decimal marks that some value reads with and the other mark does not."""
    point, comma = _readable(values, "."), _readable(values, ",")
    return {mark for mark, only in ((".", point & ~comma), (",", comma & ~point)) if only.any()}


def _numbers(column: _Distinct, mark: str) -> _ReadNumbers | None:
    """The column as numbers by the grammar of `mark`, when at least NUMBER_SHARE of its rows read; with
    the column's unit of measure and the rows written in another (one unit per column: '6个月' among
    '3年' is not 6 years)."""
    texts, counts = column.texts, column.counts
    readable = _readable(texts, mark).to_numpy(dtype=bool)
    needed = NUMBER_SHARE * counts.sum()
    if counts[readable].sum() < needed:  # before the units: one more regex pass only for number columns
        return None
    units = texts.str.extract(f"({MEASURES})", expand=False).where(readable).replace(SAME_UNIT)
    unit, other_unit = "", 0
    if units.notna().any():
        rows = pd.Series(counts).groupby(units.to_numpy(dtype=object)).sum()  # missing units are not a group
        unit = min(rows.index[rows == rows.max()])
        other = (units.notna() & (units != unit)).to_numpy(dtype=bool)
        readable &= ~other
        other_unit = int(counts[other].sum())
    if counts[readable].sum() < needed:
        return None
    # Python's float, as `number_from_text` reads one value (pandas' parser refuses '0E310'); an overflow
    # ('1e400') is not a number either way, and is counted with the other unreadable values.
    read = texts[readable]
    digits = read.str.replace(strip_pattern(mark), "", regex=True)
    numbers = digits.str.replace(mark, ".", regex=False).astype(object).astype("float64")
    magnitude = read.str.extract(f"({MAGNITUDE})", expand=False).map(MAGNITUDES)  # '3.2万' is 32,000
    numbers = numbers * magnitude.fillna(1.0).astype("float64")
    negative = (read.str.startswith("(") | read.str.endswith("-")).to_numpy(dtype=bool)  # as negative_mark
    numbers[negative] = -numbers[negative].abs()
    finite = np.isfinite(numbers.to_numpy())
    values = np.full(len(texts), np.nan)
    values[numbers.index[finite]] = numbers.to_numpy()[finite]
    censored = (texts.str.match(CENSORED).fillna(False).to_numpy(dtype=bool)) & readable
    return _ReadNumbers(
        values=column.per_row(values),
        example=str(read.iloc[0]),
        unreadable=int(counts[~readable].sum() + counts[numbers.index[~finite]].sum()) - other_unit,
        unit=unit,
        other_unit=other_unit,
        censored=int(counts[censored].sum()),
        censored_example=str(texts[censored].iloc[0]) if censored.any() else "",
    )
