"""A table's column names as the trainer and the CLI's input check both give them, from the header's
cells: blanks around a name dropped (`' 年龄 '`, an ideographic space), an empty cell `Unnamed: N`
and a repeated name `name.1`, `name.2` (pandas' own spelling, so `--target` names what pandas shows).

Stripping can make two names one (`age` and `age ` in an Excel header), so repeats are numbered after
stripping; two columns under one name would reach the trainer as a frame where it expects a column."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def column_names(cells: Sequence[Any]) -> list[str]:
    names: list[str] = []
    taken: set[str] = set()
    for index, cell in enumerate(cells):
        text = "" if cell is None else str(cell).strip()
        name = text or f"Unnamed: {index}"
        count = 0
        while name in taken:
            count += 1
            name = f"{text}.{count}"
        names.append(name)
        taken.add(name)
    return names


def repeated_names(cells: Sequence[Any]) -> dict[str, list[str]]:
    """Each header text that heads more than one column, with the names its columns are read as
    (`金额` twice: `金额`, `金额.1`)."""
    names = column_names(cells)
    groups: dict[str, list[str]] = {}
    for cell, name in zip(cells, names, strict=True):
        text = "" if cell is None else str(cell).strip()
        if text:
            groups.setdefault(text, []).append(name)
    return {text: group for text, group in groups.items() if len(group) > 1}


def ambiguous_column(file_name: str, flag: str, column: str, repeats: dict[str, list[str]]) -> str | None:
    """The error for a flag that names a header text several columns share: taking the first silently
    trained on whichever came first (an outcome sheet pasted beside an older one)."""
    names = repeats.get(column)
    if not names:
        return None
    return (
        f"{file_name}: {len(names)} columns are headed '{column}' (read as {', '.join(names)}), so {flag} "
        f"{column} could mean any of them; give each its own name in the file"
    )


def row_names_shift(header: Sequence[Any], first_row: Sequence[Any] | None) -> bool:
    """R's `write.table(sep=",")` writes each row's name first and no header cell above the names:
    every data row then has one field more than the header, the extra one filled (a line ending in a
    delimiter the header lacks has it empty instead). The caller checks every row agrees."""
    return (
        first_row is not None
        and len(first_row) == len(header) + 1
        and first_row[-1] is not None
        and str(first_row[-1]).strip() != ""
    )
