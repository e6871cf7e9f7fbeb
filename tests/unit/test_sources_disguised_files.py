"""Exports renamed by hand: what a file's bytes are wins over its name, with a reason that says so."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from datafactory.sources.fileparse import REPEATED_HEADER, FileRejected, parse_file

pytestmark = pytest.mark.unit


def _xlsx() -> bytes:
    book = Workbook()
    book.active.append(["uscc", "period"])
    book.active.append(["91330281MA2GK0012U", "2026-10"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    "name, data, phrase",
    [
        ("sup_outcomes_20261103.csv", _xlsx(), "its bytes are an XLSX workbook"),
        ("sup_incidents_20261103.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504, "an old Excel .xls"),
        ("sup_incidents_20261103.xlsx", b"<html><body><table><tr><td>uscc</td></tr>", "HTML/XML page"),
        ("sup_outcomes_20261103.csv", "\ufeff<table><tr><td>统一社会信用代码</td></tr>".encode(), "HTML/XML page"),
        ("sup_outcomes_20261103.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),
    ],
)
def test_a_file_whose_bytes_are_something_else_is_set_aside_with_what_it_is(name, data, phrase):
    with pytest.raises(FileRejected, match=phrase) as raised:
        parse_file(name, data, "gbk")
    assert "\n" not in str(raised.value)


def test_a_real_xlsx_and_a_csv_starting_with_p_are_read():
    assert parse_file("x.xlsx", _xlsx()).table.num_rows == 1
    assert parse_file("x.csv", b"PKey,period\nA1,2026-10\n").table.num_rows == 1


def test_two_utf8_bom_exports_joined_with_copy_b_have_their_second_header_set_aside():
    part = "\ufeffuscc,period\r\n91330281MA2GK0012U,2026-10\r\n".encode()
    parsed = parse_file("joined.csv", part + part, "utf-8")
    assert parsed.table.num_rows == 2
    assert parsed.rejected["_reason"].tolist() == [REPEATED_HEADER]
