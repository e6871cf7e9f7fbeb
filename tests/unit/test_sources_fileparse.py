"""File parsing: encodings, malformed rows, truncation, and hypothesis properties on malformed input."""

import csv
import datetime as dt
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafactory.sources.fileparse import NULL_MARKERS, FileRejected, parse_file
from datafactory.sources.simulator.files import render_xlsx

pytestmark = pytest.mark.unit
HEADER = ["uscc", "名称", "amount"]
ROWS = [["91110000600037341L", "余姚市阳明贸易有限公司", "12.5"], ["91330281000000000Q", "大理市农业有限公司", ""]]


def _csv(rows, header=HEADER, encoding="utf-8", newline="\n") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline)  # quotes any field holding a character of `newline`
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


@pytest.mark.parametrize("encoding,declared", [("gbk", "gbk"), ("utf-8-sig", "gbk"), ("utf-8", "utf-8")])
def test_csv_in_gbk_or_utf8_with_bom(encoding, declared):
    parsed = parse_file("f.csv", _csv(ROWS, encoding=encoding), declared)
    assert list(parsed.frame.columns) == HEADER  # the BOM never leaks into the first header
    assert parsed.frame["名称"].tolist() == ["余姚市阳明贸易有限公司", "大理市农业有限公司"]
    assert parsed.frame["amount"].tolist() == ["12.5", None]  # text stays text; empty is null
    assert parsed.rejected.empty


def test_malformed_rows_are_set_aside_with_a_reason():
    data = _csv([*ROWS, ["only", "two"], ["a", "b", "c", "d"]])
    parsed = parse_file("f.csv", data)
    assert len(parsed.frame) == 2 and parsed.rows_seen == 4
    assert parsed.rejected["_reason"].tolist() == [
        "malformed row: expected 3 fields, got 2",
        "malformed row: expected 3 fields, got 4",
    ]
    assert parsed.rejected["_row_text"].tolist() == ["only,two", "a,b,c,d"]


@pytest.mark.parametrize(
    "data,reason",
    [
        (_csv(ROWS)[:-7], "truncated"),
        (_csv(ROWS, encoding="utf-8"), "looks like UTF-8"),
        (_csv(ROWS, encoding="gbk"), "not valid utf-8 .* reads as GBK"),
        (b"", "empty file"),
        (b"a,a,b\n1,2,3\n", "repeats column names"),
        (b"a,,b\n1,2,3\n", "empty column name"),
        (b"a,b\n1\x00,2\n", "NUL bytes"),
    ],
)
def test_files_that_cannot_be_trusted_are_rejected_whole(data, reason):
    encoding = "gbk" if reason == "looks like UTF-8" else "utf-8"
    with pytest.raises(FileRejected, match=reason):
        parse_file("f.csv", data, encoding)


def test_xlsx_cells_become_text_and_overlong_rows_are_rejected():
    import pandas as pd

    frame = pd.DataFrame(
        {"id": ["a", "b"], "n": [3, 4.5], "when": [dt.datetime(2026, 11, 1, 8, 30), None]}, dtype=object
    )
    data = render_xlsx(frame, ["id", "n", "when"])
    parsed = parse_file("f.xlsx", data)
    assert parsed.frame.to_dict("list") == {"id": ["a", "b"], "n": ["3", "4.5"], "when": ["2026-11-01 08:30:00", None]}
    with pytest.raises(FileRejected, match="unreadable XLSX"):
        parse_file("f.xlsx", data[: len(data) // 2])


# --- properties: malformed input never crashes, and every data row is accounted for ----------------

ALPHABET = st.sampled_from([*"ab1,\"\n \r余姚市\t;'", "NULL", "x"])
FIELD = st.lists(ALPHABET, max_size=6).map("".join)


@st.composite
def csv_files(draw):
    width = draw(st.integers(2, 5))
    header = [f"c{i}" for i in range(width)]
    rows = draw(st.lists(st.lists(FIELD, min_size=width, max_size=width), max_size=25))
    bad = draw(st.lists(st.integers(0, max(0, len(rows) - 1)), max_size=4, unique=True)) if rows else []
    shaped = []
    for i, row in enumerate(rows):
        if i in bad:
            extra = draw(st.booleans())
            row = [*row, "extra"] if extra or width == 1 else row[:-1]
        shaped.append(row)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gbk"]))
    return header, shaped, set(bad), encoding


def _expected(value: str) -> str | None:
    return None if value in NULL_MARKERS else value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(csv_files(), st.sampled_from(["none", "truncate", "garble"]), st.integers(1, 10_000))
def test_malformed_csv_never_crashes_and_accounts_for_every_row(case, damage, cut):
    header, rows, bad, encoding = case
    data = _csv(rows, header, encoding, newline="\r\n")
    if damage == "truncate":
        data = data[: cut % (len(data) + 1)]
    elif damage == "garble":
        data = data[: cut % (len(data) + 1)] + b"\xff\xfe\x81" + data[cut % (len(data) + 1) :]
    try:
        parsed = parse_file("p.csv", data, "gbk" if encoding == "gbk" else "utf-8")
    except FileRejected as exc:
        assert str(exc)  # a whole-file rejection always carries its reason
        return
    assert parsed.rejected["_reason"].str.startswith(("malformed row", "blank row")).all()
    if damage == "none":
        blank = {i for i, row in enumerate(rows) if i not in bad and all(_expected(v) is None for v in row)}
        assert parsed.rows_seen == len(rows)
        assert len(parsed.rejected) == len(bad) + len(blank)
        good = [[_expected(v) for v in row] for i, row in enumerate(rows) if i not in bad | blank]
        assert parsed.frame.values.tolist() == good
    else:
        assert parsed.rows_seen <= len(rows) + 1


CELL = st.one_of(
    st.none(),
    st.text(alphabet=st.characters(blacklist_categories=["Cs", "Cc"]), max_size=8),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 1, 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(1, 4).flatmap(
        lambda w: st.tuples(st.just(w), st.lists(st.lists(CELL, min_size=1, max_size=w + 2), max_size=15))
    ),
    st.sampled_from(["none", "truncate", "flip"]),
    st.integers(1, 10_000),
)
def test_malformed_xlsx_never_crashes_and_accounts_for_every_row(case, damage, cut):
    import pandas as pd
    from openpyxl import Workbook

    width, rows = case
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append([f"c{i}" for i in range(width)])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    data = out.getvalue()
    if damage == "truncate":
        data = data[: cut % len(data)]
    elif damage == "flip":
        at = cut % len(data)
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    try:
        parsed = parse_file("p.xlsx", data)
    except FileRejected as exc:
        # a one-column header over wider rows reads as a title row above the header
        allowed = ("unreadable XLSX", "no header", *(("title row above the header",) if width == 1 else ()))
        assert str(exc).startswith(allowed)
        return

    def present(cell) -> bool:  # empty text and null markers read back as null
        return cell is not None and str(cell) not in NULL_MARKERS

    nonblank = [r for r in rows if any(present(c) for c in r)]
    if damage == "none":
        overlong = [r for r in nonblank if any(present(c) for c in r[width:])]
        assert parsed.rows_seen == len(nonblank)
        assert len(parsed.rejected) == len(overlong)
        assert parsed.rejected["_reason"].str.contains("beyond the header").all()
        assert isinstance(parsed.frame, pd.DataFrame) and list(parsed.frame.columns) == [f"c{i}" for i in range(width)]
