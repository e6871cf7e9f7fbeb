"""A modeller's CSV as real offices write it: GBK from Excel, `;` from European exports, tabs in UTF-16
from Excel's "Unicode text", numbers written with separators, currency and percent signs. The reader
finds the format by itself and must agree with the writer that made the file (round trips), and reading
numbers from text must give back the number that was formatted (an independent oracle: Python's format)."""

from __future__ import annotations

import codecs
import math
import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from datafactory.modeling.csvformat import sniff
from datafactory.modeling.tables import numbers_from_text, read_table, without_empty_rows, without_surrounding_blanks

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]

FORMATS = [("utf-8", ","), ("utf-8-sig", ","), ("gb18030", ";"), ("gb18030", ","), ("utf-16", "\t"), ("utf-8", "|")]


def _office_table() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "客户编号": [f"C{i:05d}" for i in range(40)],
            "所属行业": ["制造业", "批发和零售业", "建筑业;土木", "信息技术, 软件"] * 10,  # delimiters inside values
            "年龄": list(range(20, 60)),
            "备注": ['说 "好"', "", "line|pipe", "tab\tinside"] * 10,
            "是否违约": [0, 1] * 20,
        }
    )


@pytest.mark.parametrize(("encoding", "delimiter"), FORMATS)
def test_the_format_of_an_office_export_is_found_and_the_table_reads_back_equal(tmp_path, encoding, delimiter):
    frame = _office_table()
    path = tmp_path / "export.csv"
    frame.to_csv(path, index=False, sep=delimiter, encoding=encoding)
    form = sniff(path)
    assert form.delimiter == delimiter
    assert codecs.lookup(form.encoding).name in {codecs.lookup(encoding).name, "utf-8"} or encoding == "utf-8-sig"
    read, notes = read_table(path)
    pd.testing.assert_frame_equal(read.fillna(""), frame.fillna(""), check_dtype=False)
    assert notes == {}


def test_the_uci_bank_marketing_layout_is_semicolons_with_quoted_text(tmp_path):
    path = tmp_path / "bank-full.csv"
    path.write_text(
        '"age";"job";"marital";"balance";"y"\n'
        '58;"management";"married";2143;"no"\n'
        '44;"technician";"single";29;"no"\n'
        '33;"entrepreneur";"married";2;"yes"\n'
    )
    frame, _ = read_table(path)
    assert list(frame.columns) == ["age", "job", "marital", "balance", "y"]
    assert frame["balance"].tolist() == [2143, 29, 2] and frame["y"].tolist() == ["no", "no", "yes"]


def test_a_gbk_file_cut_inside_a_character_is_still_gbk(tmp_path):
    path = tmp_path / "big.csv"
    row = "企业名称,注册资本\n" + "某某制造有限公司,100\n" * 30_000  # longer than the sample
    path.write_bytes(row.encode("gbk"))
    assert sniff(path).encoding == "gb18030"


def test_lending_club_style_text_numbers_become_numbers_and_words_stay_text():
    frame = pd.DataFrame(
        {
            "int_rate": [" 13.56%", "7.9%", "22.35%", "10%"] * 25,
            "revol_bal": ["$1,234.50", "$0", "$12,000", "$987"] * 25,
            "amount_cny": ["¥3,000", "１２,０００元", "500", "-"] * 25,  # full-width digits, a dash for none
            "term": [" 36 months", " 60 months"] * 50,
            "grade": ["A", "B", "C", "D"] * 25,
            "zip": ["100xx", "945xx", "606xx", "021xx"] * 25,
            "target": ["1", "0", "0", "1"] * 25,
        }
    )
    read, notes = numbers_from_text(frame, exclude={"target"})
    assert set(notes) == {"int_rate", "revol_bal", "amount_cny"}
    assert read["int_rate"].tolist()[:4] == [13.56, 7.9, 22.35, 10.0]
    assert read["revol_bal"].tolist()[:4] == [1234.5, 0.0, 12000.0, 987.0]
    assert read["amount_cny"].tolist()[:3] == [3000.0, 12000.0, 500.0] and math.isnan(read["amount_cny"][3])
    assert "'13.56%'" in notes["int_rate"]
    for kept in ("term", "grade", "zip", "target"):
        assert read[kept].tolist() == frame[kept].tolist()


def test_a_column_where_more_than_a_few_values_are_words_is_left_as_text():
    values = ["1,200"] * 90 + ["unknown"] * 10
    read, notes = numbers_from_text(pd.DataFrame({"income": values}))
    assert notes == {} and read["income"].tolist() == values


def test_the_values_that_are_not_numbers_are_counted_not_dropped_silently():
    values = ["1,200"] * 99 + ["n.a"]
    read, notes = numbers_from_text(pd.DataFrame({"income": values}))
    assert read["income"].isna().sum() == 1 and "1 value(s) that are not numbers read as missing" in notes["income"]


def _continental(text: str) -> str:
    return text.translate(str.maketrans(",.", ".,"))


STYLES = {  # how each style writes a number, and how many decimals it keeps
    "thousands": (lambda x: f"{x:,.2f}", 2),
    "percent": (lambda x: f"{x:.2f}%", 2),
    "dollars": (lambda x: f"${x:,.2f}" if x >= 0 else f"-${-x:,.2f}", 2),
    "yuan": (lambda x: f"{x:,.2f}元", 2),
    "accounting": (lambda x: f"({-x:,.2f})" if x < 0 else f"{x:,.2f}", 2),  # Excel's finance format
    "continental": (lambda x: _continental(f"{x:.2f}"), 2),
    "continental grouped": (lambda x: _continental(f"{x:,.2f}"), 2),
    "euro": (lambda x: _continental(f"{x:,.2f} €"), 2),
    "continental percent": (lambda x: _continental(f"{x:.3f} %"), 3),
    "sap": (lambda x: f"{-x:,.2f}-" if x < 0 else f"{x:,.2f}", 2),  # SAP's trailing minus
    "typographic minus": (lambda x: f"{x:,.2f}".replace("-", "\u2212"), 2),  # U+2212, from typeset reports
    "yuan sign and a space": (lambda x: f"¥ {x:,.2f}" if x >= 0 else f"-¥ {-x:,.2f}", 2),
    "ten-thousands": (lambda x: f"{x / 1e4:.4f}万", 4),  # 注册资本 500万
    "hundred-millions of yuan": (lambda x: f"{x / 1e8:.6f}亿元", 6),
    "zh-CN currency": (lambda x: f"¥{x:,.2f}", 2),  # Excel's negative currency in Chinese: ¥-1,234.50
    "bank code before": (lambda x: f"RMB {x:,.2f}", 2),  # RMB -1,200.00
    "de-CH": (lambda x: f"{x:,.2f}".replace(",", "'"), 2),  # Swiss Excel: 1'234.50
    "unit after": (lambda x: f"{x:,.2f}kg", 2),  # a weighbridge export
    "chinese unit": (lambda x: f"{x:.2f}平方米", 2),  # a property register
    "kilograms": (lambda x: f"{x:.2f}千克", 2),  # 千 here is part of the unit, never a thousand
    "de-CH typeset": (lambda x: f"CHF {x:,.2f}".replace(",", "’"), 2),  # CHF 1’234.50
}
SCALES = {"ten-thousands": 1e4, "hundred-millions of yuan": 1e8}  # what the written figure counts in


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=3, max_size=40),
    style=st.sampled_from(sorted(STYLES)),
    order=st.randoms(use_true_random=False),
)
@example(values=[3.5, -1234.5, 12.0], style="kilograms", order=random.Random(0))  # 3.5千克 is 3.5 kg
def test_a_formatted_number_reads_back_as_itself_whatever_the_row_order(values, style, order):
    """Python's formatting is the oracle (with the marks swapped for continental styles); whole numbers
    beside it, which read alike with either mark, stay whole."""
    from datafactory.modeling.number_text import number_from_text

    write, digits = STYLES[style]
    text = [write(v) for v in values]
    if all(number_from_text(t, ".") is not None and number_from_text(t, ",") is not None for t in text):
        return  # e.g. only '12,345 %': nothing in the file shows its locale (a test below)
    frame = pd.DataFrame({"x": text, "whole": [f"{round(v)}" for v in values]})
    read, notes = numbers_from_text(frame)
    assert ("decimal comma" in notes["x"]) == (style.startswith("continental") or style == "euro")
    scale = SCALES.get(style, 1.0)
    shown = [float(f"{v / scale:.{digits}f}") * scale for v in values]  # what was written
    np.testing.assert_allclose(read["x"].to_numpy(), shown, rtol=0, atol=1e-6)
    assert read["whole"].tolist() == [round(v) for v in values]
    shuffled = list(range(len(text)))
    order.shuffle(shuffled)
    again, _ = numbers_from_text(frame.iloc[shuffled].reset_index(drop=True))
    np.testing.assert_array_equal(again["x"].to_numpy(), read["x"].to_numpy()[shuffled])


@settings(max_examples=40, deadline=None)
@given(
    cells=st.lists(
        st.lists(st.text(alphabet="ab,;|\t\"' 中文", min_size=1, max_size=6), min_size=3, max_size=3),
        min_size=2,
        max_size=12,
    ),
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
)
def test_any_text_written_with_quoting_reads_back_with_its_delimiter(tmp_path_factory, cells, delimiter):
    frame = pd.DataFrame(cells, columns=["first", "second", "third"])
    path = tmp_path_factory.mktemp("sniff") / "t.csv"
    frame.to_csv(path, index=False, sep=delimiter, encoding="gb18030")
    read = pd.read_csv(path, sep=sniff(path).delimiter, encoding=sniff(path).encoding, dtype=str, keep_default_na=False)
    assert list(read.columns) == ["first", "second", "third"]
    pd.testing.assert_frame_equal(read, frame.astype(str))


def test_a_utf8_file_cut_inside_a_character_is_still_utf8(tmp_path):
    from datafactory.modeling.csvformat import SAMPLE_BYTES

    head = "name,city\n" + "a" * (SAMPLE_BYTES - len("name,city\n") - 1) + ",杭州\n"  # 杭 straddles the cut
    path = tmp_path / "long.csv"
    path.write_bytes((head + "b,宁波\n" * 10).encode("utf-8"))
    assert sniff(path).encoding == "utf-8"


@pytest.mark.parametrize("encoding", ["latin-1", "cp1252"])
def test_a_western_excel_export_is_not_taken_for_gbk(tmp_path, encoding):
    """Accented letters followed by ASCII pair up as valid GBK bytes (`â` then `g`); the headers must
    still read as written, not as Chinese."""
    rows = ["nom;âge;ville;défaut;coût €" if encoding == "cp1252" else "nom;âge;ville;défaut;coût"]
    rows += [f"Zoé{i};{20 + i % 40};Besançon;{i % 2};{i}" for i in range(50)]
    path = tmp_path / "export.csv"
    path.write_bytes("\n".join(rows).encode(encoding))
    assert sniff(path).encoding in ("cp1252", "latin-1")
    frame, _ = read_table(path)
    assert list(frame.columns)[:4] == ["nom", "âge", "ville", "défaut"] and frame["ville"][0] == "Besançon"


def test_a_ragged_row_is_one_error_naming_the_file_its_format_and_the_line(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,target\n1,2,0\n3,4,1,extra\n" + "5,6,1\n" * 20)
    with pytest.raises(
        ValueError, match=r"ragged.csv \(utf-8, comma-separated\): line 3 holds a value past the header's last column"
    ):
        read_table(path)


@given(
    st.lists(st.text(alphabet="0123456789,.-+$¥€%元 ５eE()万亿千\u2212<>=≤＞", max_size=12), min_size=1, max_size=30)
)
@example(["--0", "-$5", "5-", "(-5)", "1e-3"])  # two signs once made float() raise; one sign, anywhere, reads
def test_one_value_and_a_column_read_numbers_from_text_alike(values):
    """The CLI reads a target value by value (before pandas loads); the trainer reads whole columns.
    Both must call the same texts numbers, with the same values, under the mark the column was read with."""
    from datafactory.modeling.number_text import DECIMAL_MARKS, number_from_text

    column = pd.Series(values, dtype=object)
    read, notes = numbers_from_text(pd.DataFrame({"v": column}))
    if read["v"].dtype == object:  # the column as a whole is text (too few numbers): compare value by value
        return
    mark = "," if "decimal comma" in notes["v"] else "."
    for text, number in zip(values, read["v"], strict=True):
        one = number_from_text(text, mark)
        if one is None:
            assert math.isnan(number)
            continue
        assert number == pytest.approx(one, nan_ok=False)
        assert not all(number_from_text(text, m) is None for m in DECIMAL_MARKS)  # the CLI's check takes it


def test_a_continental_export_has_decimal_commas_and_dates_and_times_stay_text(tmp_path):
    """The layout of UCI's Air Quality table (semicolons, '2,6' for 2.6, times as '18.00.00'), with the
    thousands dots and euro signs of a German Excel export."""
    path = tmp_path / "AirQualityUCI.csv"
    path.write_text(
        "Date;Time;CO(GT);PT08.S1(CO);AH;Kosten;Anteil\n"
        "10/03/2004;18.00.00;2,6;1360;0,7578;1.234,50 €;0,750\n"
        "10/03/2004;19.00.00;2;1292;0,7255;-12,00 €;0,125\n"
        "10/03/2004;20.00.00;2,2;1402;0,7502;1.000.000,00 €;1,500\n",
        encoding="cp1252",
    )
    frame, notes = read_table(path)
    assert frame["CO(GT)"].tolist() == [2.6, 2.0, 2.2]
    assert frame["AH"].tolist() == [0.7578, 0.7255, 0.7502]
    assert frame["Kosten"].tolist() == [1234.5, -12.0, 1_000_000.0]
    # Every value has three decimals, so alone it could be thousands; the file's locale decides.
    assert frame["Anteil"].tolist() == [0.75, 0.125, 1.5]
    assert frame["PT08.S1(CO)"].tolist() == [1360, 1292, 1402]
    assert frame["Date"].tolist() == ["10/03/2004"] * 3 and frame["Time"].tolist()[0] == "18.00.00"
    assert set(notes) == {"CO(GT)", "AH", "Kosten", "Anteil"}
    assert all("decimal comma" in note for note in notes.values())


def test_the_same_three_decimal_text_reads_by_the_locale_the_rest_of_the_file_shows():
    ambiguous = ["1,250", "2,500", "3,125"]  # 1250 with a thousands comma, 1.25 with a decimal comma
    english, _ = numbers_from_text(pd.DataFrame({"x": ambiguous, "rate": ["2.5", "3.75", "1.5"]}))
    continental, _ = numbers_from_text(pd.DataFrame({"x": ambiguous, "rate": ["2,5", "3,75", "1,5"]}))
    alone, notes = numbers_from_text(pd.DataFrame({"x": ambiguous}))
    assert english["x"].tolist() == [1250.0, 2500.0, 3125.0]
    assert continental["x"].tolist() == [1.25, 2.5, 3.125]
    assert alone["x"].tolist() == [1250.0, 2500.0, 3125.0] and "decimal comma" not in notes["x"]


def test_a_leading_zero_group_is_a_decimal_comma_never_thousands():
    read, notes = numbers_from_text(pd.DataFrame({"share": ["0,125", "0,500", "1,000"]}))
    assert read["share"].tolist() == [0.125, 0.5, 1.0] and "decimal comma" in notes["share"]


TITLES = [
    ["2024年度企业信用信息表"],
    ["单位：万元", "", "", "制表日期：2024-12-31"],
    [""],
    ["数据来源：市大数据局"],
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    titles=st.lists(st.sampled_from(TITLES), max_size=4),
    padded=st.booleans(),
    form=st.sampled_from(FORMATS),
)
def test_titles_above_the_header_are_skipped_and_named_whatever_they_are(tmp_path, titles, padded, form):
    """Offices put a title, a unit line or a date above a table, padded by Excel to the table's width or
    typed without delimiters; the table must read back as if they were not there."""
    encoding, delimiter = form
    frame = _office_table()
    width = len(frame.columns)
    lines = []
    for title in titles:
        cells = title + [""] * (width - len(title)) if padded else [cell for cell in title if cell]
        lines.append(delimiter.join(cells) if padded else " ".join(cells))
    path = tmp_path / f"titled-{len(titles)}-{padded}.csv"
    body = frame.to_csv(index=False, sep=delimiter)
    path.write_bytes(("".join(line + "\n" for line in lines) + body).encode(encoding))
    read, _ = read_table(path)
    pd.testing.assert_frame_equal(read.fillna(""), frame.fillna(""), check_dtype=False)
    shown = [line for line in (" ".join(cell for cell in title if cell) for title in titles) if line]
    if shown:
        assert read.attrs["layout"] == [
            f"{len(titles)} line(s) above the header skipped: " + ", ".join(f"'{line}'" for line in shown)
        ]
    else:
        assert read.attrs["layout"] == []


def test_a_workbook_reads_its_first_sheet_from_the_header_down_with_excels_types(tmp_path):
    from openpyxl import Workbook

    frame = _office_table()
    book = Workbook()
    sheet = book.active
    sheet.title = "数据"
    sheet.append(["2024年度企业信用信息表"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(frame.columns) + 1)
    sheet.append(["单位：元", None, None, "制表日期：2024-12-31"])
    sheet.append([*frame.columns, "成立日期"])
    for i, row in enumerate(frame.itertuples(index=False)):
        sheet.append([*row, pd.Timestamp("2010-01-01").to_pydatetime() + pd.Timedelta(days=i)])
    book.create_sheet("说明").append(["字段", "含义"])
    path = tmp_path / "信用.xlsx"
    book.save(path)
    read, _ = read_table(path)
    pd.testing.assert_frame_equal(read.drop(columns="成立日期").fillna(""), frame.fillna(""), check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(read["成立日期"]) and read["成立日期"][1] == pd.Timestamp("2010-01-02")
    assert read.attrs["layout"] == [
        "sheet '数据', the first of 2 (说明 not read)",
        "2 line(s) above the header skipped: '2024年度企业信用信息表', '单位：元 制表日期：2024-12-31'",
    ]


def _xls(frame: pd.DataFrame, path, titles: list[str], dates: list[pd.Timestamp], notes_first: bool) -> None:
    """An Excel 97-2003 workbook as government systems write one (xlwt writes BIFF8, as Excel 2003 and
    Apache POI's HSSF do): an optional codebook sheet, title lines, then the header and typed cells."""
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    if notes_first:
        book.add_sheet("字段说明").write(0, 0, "字段")
    sheet = book.add_sheet("数据")
    for row, title in enumerate(titles):
        sheet.write(row, 0, title)
    top = len(titles)
    day = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for column, name in enumerate([*frame.columns, "成立日期"]):
        sheet.write(top, column, name)
    for row, values in enumerate(frame.itertuples(index=False), start=top + 1):
        for column, value in enumerate(values):
            if value != "":  # an empty cell, as Excel leaves it
                sheet.write(row, column, value.item() if hasattr(value, "item") else value)
        sheet.write(row, len(frame.columns), dates[row - top - 1].to_pydatetime(), day)
    book.save(str(path))


@pytest.mark.parametrize("notes_first", [False, True])
def test_an_excel_97_2003_workbook_reads_as_the_same_table_saved_as_xlsx(tmp_path, notes_first):
    """Differential: the same table, titles, codebook sheet and dates written as .xls and as .xlsx read
    the same, in the trainer and in the CLI's input check."""
    from openpyxl import Workbook

    from datafactory.cli.model import profile

    frame = _office_table()
    titles = ["2024年度企业信用信息表", "单位：元"]
    dates = [pd.Timestamp("2010-01-01") + pd.Timedelta(days=i) for i in range(len(frame))]
    old = tmp_path / "信用.xls"
    _xls(frame, old, titles, dates, notes_first)
    book = Workbook()
    if notes_first:
        book.active.title = "字段说明"
        book.active.append(["字段"])
        sheet = book.create_sheet("数据")
    else:
        sheet = book.active
        sheet.title = "数据"
    for title in titles:
        sheet.append([title])
    sheet.append([*frame.columns, "成立日期"])
    for row, when in zip(frame.itertuples(index=False), dates, strict=True):
        sheet.append([*(None if v == "" else v for v in row), when.to_pydatetime()])
    new = tmp_path / "信用.xlsx"
    book.save(new)

    read_old, notes_old = read_table(old, target="是否违约")
    read_new, notes_new = read_table(new, target="是否违约")
    pd.testing.assert_frame_equal(read_old, read_new, check_dtype=False)
    assert pd.api.types.is_datetime64_any_dtype(read_old["成立日期"]) and read_old["成立日期"][1] == dates[1]
    pd.testing.assert_frame_equal(read_old.drop(columns="成立日期").fillna(""), frame.fillna(""), check_dtype=False)
    assert read_old.attrs["layout"] == read_new.attrs["layout"] and notes_old == notes_new
    assert any("2 line(s) above the header skipped" in line for line in read_old.attrs["layout"])
    assert profile(old, "是否违约") == profile(new, "是否违约")


def test_a_damaged_or_protected_old_workbook_is_one_error_saying_what_to_do(tmp_path, capsys):
    from datafactory.cli.model import profile

    empty = tmp_path / "table.xls"
    empty.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # an OLE2 header and nothing readable
    whole = tmp_path / "whole.xls"
    _xls(_office_table(), whole, [], [pd.Timestamp("2020-01-01")] * 40, notes_first=False)
    cut = tmp_path / "cut.xls"  # a download that stopped halfway
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    for path in (empty, cut):
        for read in (read_table, lambda p: profile(p, "y")):
            with pytest.raises(
                ValueError, match=rf"{path.name}: not an Excel 97-2003 workbook that can be read .*password"
            ):
                read(path)
    printed = capsys.readouterr()
    assert printed.out == "" and printed.err == ""  # xlrd's own warnings do not reach the terminal


def _as_named(frame: pd.DataFrame, path, holds: str) -> None:
    if holds == "xlsx":
        import io

        buffer = io.BytesIO()
        frame.to_excel(buffer, index=False)
        path.write_bytes(buffer.getvalue())
    else:
        encoding, delimiter = holds.split(":")
        frame.to_csv(path, index=False, sep=delimiter.replace("tab", "\t"), encoding=encoding)


@pytest.mark.parametrize(
    ("name", "holds"),
    [
        ("导出.xls", "gb18030:tab"),  # a web system's "Excel" export: tab-separated GBK text
        ("导出.xls", "utf-16:tab"),  # Excel's own "Unicode text" saved under .xls
        ("导出.xls", "xlsx"),  # a new workbook renamed to the old extension
        ("导出.csv", "xlsx"),  # and one renamed to .csv
        ("export.tsv", "utf-8:tab"),
        ("export.txt", "utf-8:,"),
        ("export.TXT", "gb18030:|"),
    ],
)
def test_a_file_is_read_by_what_it_holds_not_by_its_name(tmp_path, name, holds):
    from datafactory.cli.model import profile

    frame = _office_table().drop(columns="备注")  # xlsx cells keep tabs and quotes; text exports would too
    path = tmp_path / name
    _as_named(frame, path, holds)
    read, _ = read_table(path, target="是否违约")
    pd.testing.assert_frame_equal(read.fillna(""), frame.fillna(""), check_dtype=False)
    found = profile(path, "是否违约")
    assert found.columns == list(frame.columns) and found.rows == len(frame) and found.values == {"0", "1"}


@pytest.mark.parametrize(
    "page",
    [
        "<html><body><table><tr><td>是否违约</td></tr></table></body></html>",
        "\ufeff  <TABLE border=1><tr><td>a</td></tr></TABLE>",
        '<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet"></Workbook>',
    ],
)
def test_a_web_page_saved_as_xls_is_named_for_what_it_is(tmp_path, page):
    from datafactory.cli.model import profile

    for encoding in ("utf-8", "utf-16"):
        path = tmp_path / "报表.xls"
        path.write_text(page, encoding=encoding)
        for read in (read_table, lambda p: profile(p, "是否违约")):
            with pytest.raises(ValueError, match=r"报表\.xls: a web page \(HTML or XML\) under a '\.xls' name"):
                read(path)


def test_a_file_type_no_reader_knows_is_one_error_listing_what_is_read(tmp_path):
    from datafactory.cli.model import profile

    path = tmp_path / "table.sav"
    path.write_bytes(b"$FL2@(#) SPSS DATA FILE")
    for read in (read_table, lambda p: profile(p, "y")):
        with pytest.raises(
            ValueError, match=r"unsupported file type '\.sav'; give a \.csv \(or \.tsv, \.txt\), \.xlsx, \.xls"
        ):
            read(path)


LEADING = [
    "宁波某某有限公司", "大理市", "合计", "小 计", " 总计：", "Total", "Grand Total:", "制表人：张三",
    "注1：金额为万元", "注册资本不详", "来源公司", "单位：万元", "平均", "", "备注", "数据来源：市大数据局", "7",
]  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.sampled_from(LEADING), st.sampled_from(LEADING)), min_size=1, max_size=30))
@example(rows=[("7", "制表人：张三"), ("7", "宁波某某有限公司")])  # a numbered row: its first cell is the number
def test_the_trainer_skips_exactly_the_total_and_note_rows_ingest_would(tmp_path, rows):
    """A differential test: ingest's Arrow detector (`sources/fileparse.py`), the trainer's pandas one and
    the CLI's row-by-row one must keep the same rows of the same file."""
    from datafactory.cli.model import profile
    from datafactory.sources.fileparse import parse_csv

    lines = ["name,area,amount,n"] + [f"{a},{b},{i * 10},{i}" for i, (a, b) in enumerate(rows)]
    data = ("\n".join(lines) + "\n").encode("utf-8")
    path = tmp_path / "office.csv"
    path.write_bytes(data)
    ingest = parse_csv("office.csv", data, "utf-8")
    kept_by_ingest = sorted(int(n) for n in ingest.table.column("n").to_pylist())
    read, _ = read_table(path)
    assert sorted(read["n"].tolist()) == kept_by_ingest
    assert len(read) + sum(int(line.split()[0]) for line in read.attrs["layout"]) == len(rows)
    if read.empty:  # the CLI's input check, row by row in Python
        with pytest.raises(ValueError, match="has a header"):
            profile(path, "amount")
    else:
        assert profile(path, "amount").rows == len(read)


def test_a_total_row_is_not_a_patient_and_the_checks_before_training_agree(tmp_path):
    """A total kept as data is an outlier (the sum of every row) or a third class; the CLI's input check
    must skip it too, or a 0/1 target with a total of 2 is refused as three-valued."""
    from datafactory.cli.model import profile

    path = tmp_path / "defaults.csv"
    rows = ["客户,地区,逾期天数,是否违约"] + [f"C{i:03d},宁波,{i % 90},{i % 2}" for i in range(40)]
    rows += ["合计,,1755,20", "大理市,小计,0,0", "制表人：张三,,,", "注1：逾期天数截至12月31日,,,"]
    path.write_text("\n".join(rows) + "\n", encoding="gbk")
    read, _ = read_table(path)
    assert len(read) == 40 and read["逾期天数"].max() == 39
    assert read["是否违约"].dtype == "int64" and set(read["是否违约"]) == {0, 1}  # as without the note lines
    assert read.attrs["layout"] == [
        "2 total row(s) skipped, not data: '合计', '大理市'",
        "2 sign-off or note row(s) skipped, not data: '制表人：张三', '注1：逾期天数截至12月31日'",
    ]
    checked = profile(path, "是否违约")
    assert checked.rows == 40 and checked.values == {"0", "1"}


def test_what_chinese_exports_write_for_no_value_is_missing_not_text():
    """'无', '——', '／' and Excel's error values in a column of amounts: the amounts stay numbers."""
    marks = ["无", "——", "／", "暂无", "不详", "#REF!", "#N/A", "－"]
    values = [f"{i * 1000:,}" for i in range(40)] + marks
    read, notes = numbers_from_text(pd.DataFrame({"营业收入": values}))
    assert read["营业收入"].iloc[:40].tolist() == [i * 1000.0 for i in range(40)]
    assert read["营业收入"].iloc[40:].isna().all()
    assert "not numbers" not in notes["营业收入"]  # blank, not unreadable


def test_blanks_around_a_header_name_are_not_part_of_it(tmp_path):
    import argparse

    from datafactory.cli.model import check_target, profile

    path = tmp_path / "typed.csv"
    rows = [" 企业编号 ,年龄\u3000,营业收入 ,利润"] + [
        f"E{i},{20 + i},{i * 1000},{'无' if i % 9 == 0 else i}" for i in range(30)
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    read, _ = read_table(path)
    assert list(read.columns) == ["企业编号", "年龄", "营业收入", "利润"]
    found = profile(path, "利润")
    assert found.columns == list(read.columns)
    args = argparse.Namespace(
        target="利润",
        id_column="企业编号",
        group_column=None,
        positive=None,
        classes=None,
        scenario="carbon_efficiency",
    )
    check_target(found, path, args, "regression")  # '无' is no value, not a value that is not a number
    assert read["利润"].isna().sum() == 4


def test_a_blank_cover_sheet_before_the_data_is_passed_over(tmp_path):
    from openpyxl import Workbook

    from datafactory.cli.model import profile

    frame = _office_table()
    book = Workbook()
    book.active.title = "封面"
    sheet = book.create_sheet("数据")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    book.create_sheet("说明")
    path = tmp_path / "封面在前.xlsx"
    book.save(path)
    read, _ = read_table(path)
    pd.testing.assert_frame_equal(read.fillna(""), frame.fillna(""), check_dtype=False)
    assert read.attrs["layout"] == ["sheet '数据', the first with data of 3 (封面, 说明 not read)"]
    assert profile(path, "是否违约").rows == len(frame)  # the input check reads the same sheet


def test_a_codebook_sheet_before_the_data_is_passed_over_for_the_sheet_with_the_target(tmp_path):
    """Public data portals ship a workbook whose first sheet explains the fields (字段, 含义) and whose
    second holds the table: the sheet read is the first whose header names the target."""
    from openpyxl import Workbook

    from datafactory.cli.model import profile

    frame = _office_table()
    book = Workbook()
    book.active.title = "字段说明"
    book.active.append(["字段", "含义"])
    for name in frame.columns:
        book.active.append([name, f"{name}的说明"])
    sheet = book.create_sheet("数据")
    sheet.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        sheet.append(list(row))
    path = tmp_path / "带说明.xlsx"
    book.save(path)
    read, _ = read_table(path, target="是否违约")
    pd.testing.assert_frame_equal(read.fillna(""), frame.fillna(""), check_dtype=False)
    assert read.attrs["layout"] == ["sheet '数据', the first with column '是否违约' of 2 (字段说明 not read)"]
    found = profile(path, "是否违约")
    assert found.rows == len(frame) and found.columns == list(frame.columns)
    assert list(read_table(path)[0].columns) == ["字段", "含义"]  # no target named: the first with data


def test_a_numbered_workbook_row_is_data_in_the_input_check_as_in_the_trainer(tmp_path):
    """Excel types a row number as a number: it still fills the first cell, so the text after it is no
    sign-off line, for the CLI's row-by-row check as for the trainer and ingest."""
    from openpyxl import Workbook

    from datafactory.cli.model import profile

    book = Workbook()
    book.active.append(["序号", "备考", "是否违约"])
    for i, note in enumerate(["制表人：张三", "宁波", "宁波"], start=1):
        book.active.append([i, note, i % 2])
    path = tmp_path / "numbered.xlsx"
    book.save(path)
    read, _ = read_table(path)
    assert len(read) == 3 and profile(path, "是否违约").rows == 3


HEADER_CELLS = ["年龄", " 年龄", "年龄 ", "\u3000年龄", "", "amount", "amount.1", "2023", "Unnamed: 1", "x"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    cells=st.lists(st.sampled_from(HEADER_CELLS), min_size=2, max_size=7).filter(lambda c: c.count("") <= 1),
    workbook=st.booleans(),
)
@example(cells=["年龄", "年龄 "], workbook=False)  # one name once stripped: two columns under one name
@example(cells=["", "a", "b"], workbook=True)  # the index column's empty header cell
def test_the_input_check_names_the_columns_the_trainer_reads(tmp_path, cells, workbook):
    """Real headers repeat a name, pad it with blanks or leave a cell empty; `--target` must name the
    same column in the CLI's check and in the trainer, and every column keeps a name of its own."""
    from openpyxl import Workbook

    from datafactory.cli.model import profile

    header = [*cells, "target"]
    rows = [[*(str(i * 10 + j) for j in range(len(cells))), "yes" if i % 2 else "no"] for i in range(6)]
    if workbook:
        path = tmp_path / "headers.xlsx"
        book = Workbook()
        for row in [[c if c else None for c in header], *rows]:
            book.active.append(row)
        book.save(path)
    else:
        path = tmp_path / "headers.csv"
        path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n", encoding="utf-8")
    read, _ = read_table(path)
    names = profile(path, "target").columns
    assert list(read.columns) == names
    assert len(set(names)) == len(names) == len(header)
    assert all(name == name.strip() and name for name in names)
    assert read["target"].tolist() == [r[-1] for r in rows]


ROW_SHAPES = {
    "plain": "{a},{b},{t}",
    "trailing delimiter": "{a},{b},{t},",  # some exporters end every data line with one
    "two trailing": "{a},{b},{t},,",
    "value past the header": "{a},{b},{t},7",
    "empty line of delimiters": ",,",
    "wide empty line": ",,,,,",  # Excel's ghost rows below the data
    "blank": "",
    "short": "{a},{b}",  # no outcome yet
    "padded label": "{a},{b}, {t} ",  # a blank typed around the label, invisible in Excel
    "blank label": "{a},{b},  ",
}


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    shapes=st.lists(st.sampled_from(sorted(ROW_SHAPES)), min_size=1, max_size=12),
    trailing_everywhere=st.booleans(),
)
@example(shapes=["trailing delimiter"] * 3, trailing_everywhere=False)
@example(shapes=["plain", "wide empty line", "plain"], trailing_everywhere=False)
def test_rows_wider_or_emptier_than_the_header_read_the_same_in_the_check_and_the_trainer(
    tmp_path, shapes, trailing_everywhere
):
    """A differential test over how real exports end their lines. pandas made the first column the
    index when every data line ended in a delimiter, shifting the target onto empty cells while the
    input check counted every label; and it refused a wide empty ghost row the check skipped."""
    from datafactory.cli.model import profile

    lines = ["a,b,target"]
    for i, shape in enumerate(shapes):
        line = ROW_SHAPES[shape].format(a=i, b=i * 10, t="yes" if i % 2 else "no")
        lines.append(line + ("," if trailing_everywhere and line else ""))
    path = tmp_path / "export.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    filled = [shape for shape in shapes if "{a}" in ROW_SHAPES[shape]]
    if filled and not trailing_everywhere and all(shape == "value past the header" for shape in filled):
        read, _ = read_table(path)  # every row one filled field wider: R's row names (a test below)
        found = profile(path, "target")
        assert list(read.columns) == found.columns == ["Unnamed: 0", "a", "b", "target"]
        assert len(read) == found.rows == len(filled)
        return
    if "value past the header" in shapes:
        for read in (lambda: read_table(path), lambda: profile(path, "target")):
            with pytest.raises(ValueError, match=r"past the header's last column|R's row names"):
                read()
        return
    written = [(i, "yes" if i % 2 else "no") for i, s in enumerate(shapes) if "{a}" in ROW_SHAPES[s]]
    labels = [t if "{t}" in ROW_SHAPES[shapes[i]] else None for i, t in written]  # blanks around a label dropped
    if not written:
        return
    frame, _ = read_table(path)
    assert frame["a"].tolist() == [i for i, _ in written]
    assert frame["b"].tolist() == [i * 10 for i, _ in written]
    assert [None if pd.isna(t) else t for t in frame["target"]] == labels
    found = profile(path, "target")
    assert (found.rows, found.labelled) == (len(frame), sum(t is not None for t in labels))
    assert found.values == {t for t in labels if t}


def _credit_card_lines(rng: np.random.Generator) -> list[str]:
    """The shape of UCI's 'default of credit card clients' table: codes above the names."""
    rows = [
        f"{i},{rng.integers(1, 50) * 10000},{rng.integers(1, 3)},{rng.integers(20, 70)},{rng.integers(0, 2)}"
        for i in range(1, 40)
    ]
    return [",X1,X2,X3,Y", "ID,LIMIT_BAL,SEX,AGE,default payment next month", *rows]


def test_a_line_of_codes_above_the_names_is_skipped_like_a_title(tmp_path):
    from datafactory.cli.model import profile

    path = tmp_path / "credit_card.csv"
    path.write_text("\n".join(_credit_card_lines(np.random.default_rng(0))) + "\n", encoding="utf-8")
    read, _ = read_table(path)
    assert list(read.columns) == ["ID", "LIMIT_BAL", "SEX", "AGE", "default payment next month"]
    assert read["LIMIT_BAL"].dtype.kind == "i" and len(read) == 39
    assert read.attrs["layout"] == ["1 line(s) above the header skipped: 'X1 X2 X3 Y'"]
    found = profile(path, "default payment next month")
    assert found.columns == list(read.columns) and found.values == {"0", "1"}


def test_merged_group_titles_above_a_workbooks_header_are_skipped(tmp_path):
    from openpyxl import Workbook

    path = tmp_path / "suppliers.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.append(["2024年供应商评级表"])
    sheet.append(["基本信息", None, "财务信息", None, None])  # merged over two and three columns
    sheet.merge_cells("A2:B2")
    sheet.merge_cells("C2:E2")
    sheet.append(["企业名称", "成立年份", "营业收入", "利润", "评级"])
    for i in range(20):
        sheet.append([f"公司{i}", 2000 + i, 100.5 * i, 10 * i, "A" if i % 2 else "B"])
    book.save(path)
    read, _ = read_table(path)
    assert list(read.columns) == ["企业名称", "成立年份", "营业收入", "利润", "评级"] and len(read) == 20


@pytest.mark.parametrize(
    "text",
    [
        "name,age,income,target\nTom,无,n/a,yes\nAnn,30,5000,no\nBob,40,6000,yes\n",  # missing marks, not names
        "name,city,target\nTom,Paris,yes\nAnn,Rome,no\nBob,Oslo,yes\n",  # no numbers at all
        "name,age,income,target\nTom,unknown,30,yes\nAnn,30,5000,no\nBob,40,6000,yes\n",  # one word in one column
    ],
)
def test_a_first_data_row_of_text_is_data_not_a_second_header(tmp_path, text):
    path = tmp_path / "people.csv"
    path.write_text(text, encoding="utf-8")
    read, _ = read_table(path)
    assert list(read.columns) == text.split("\n")[0].split(",") and read.iloc[0, 0] == "Tom"


def test_r_row_names_without_a_header_cell_keep_every_name_over_its_column(tmp_path):
    """R's write.table(sep=",") writes each row's name first and no header cell for them: every data
    row has one field more than the header. The names stay over their columns, the row names become
    'Unnamed: 0' (an identifier), and the input check agrees; a row that breaks the pattern is an error."""
    from datafactory.cli.model import profile

    path = tmp_path / "from_r.csv"
    rows = [f'"{i}",{i * 1.5},"{"north" if i % 2 else "south"}","{"yes" if i % 3 else "no"}"' for i in range(1, 31)]
    path.write_text('"income","region","default"\n' + "\n".join(rows) + "\n", encoding="utf-8")
    read, _ = read_table(path)
    assert list(read.columns) == ["Unnamed: 0", "income", "region", "default"]
    assert read["income"].tolist() == [i * 1.5 for i in range(1, 31)]
    assert read["default"].tolist() == ["yes" if i % 3 else "no" for i in range(1, 31)]
    found = profile(path, "default")
    assert found.columns == list(read.columns) and found.values == {"yes", "no"} and found.rows == 30
    broken = tmp_path / "broken.csv"
    broken.write_text('"income","region","default"\n' + "\n".join([*rows[:5], "9.5,north,no"]) + "\n", encoding="utf-8")
    for check in (lambda: read_table(broken), lambda: profile(broken, "default")):
        with pytest.raises(ValueError, match="R's row names"):
            check()


@pytest.mark.parametrize("workbook", [False, True], ids=["csv", "xlsx"])
@pytest.mark.parametrize("flag", ["target", "id_column", "group_column"])
def test_a_name_that_heads_two_columns_is_refused_by_the_check_and_the_trainer_alike(
    tmp_path, settings, workbook, flag
):
    """An outcome column pasted beside an older one keeps its header: `是否违约` twice, once with an
    invisible blank. Taking the first silently trained on the old outcome and excluded the new one as
    its leak; the check before the heavy imports and the trainer both name the columns instead."""
    import argparse

    from openpyxl import Workbook

    from datafactory.cli.model import check_target, profile
    from datafactory.modeling.pipeline import train_table
    from datafactory.specs import load_models

    repeated = "是否违约" if flag == "target" else "客户编号"
    header = ["客户编号", "年龄", "是否违约", f"{repeated} "]
    rows = [[f"C{i % 20:03d}", 20 + i, i % 2, (i // 2) % 2] for i in range(40)]
    if workbook:
        path = tmp_path / "outcomes.xlsx"
        book = Workbook()
        for row in [header, *rows]:
            book.active.append(row)
        book.save(path)
    else:
        path = tmp_path / "outcomes.csv"
        path.write_text("\n".join(",".join(map(str, r)) for r in [header, *rows]) + "\n", encoding="utf-8")
    named = {"target": "是否违约", "id_column": None, "group_column": None} | (
        {flag: "客户编号"} if flag != "target" else {}
    )
    args = argparse.Namespace(**named, positive=None, classes=None, scenario="anti_fraud_admission")
    cli_flag = {"target": "--target", "id_column": "--id", "group_column": "--group"}[flag]
    expected = f"2 columns are headed '{repeated}' (read as {repeated}, {repeated}.1), so {cli_flag} {repeated}"
    with pytest.raises(ValueError, match=re.escape(expected)):
        check_target(profile(path, "是否违约"), path, args, "binary")
    spec = load_models(REPO)["anti_fraud_admission"]
    with pytest.raises(ValueError, match=re.escape(expected)):
        train_table(settings, spec, path, "是否违约", id_column=named["id_column"], group_column=named["group_column"])
    assert not (settings.home / "mlflow.db").exists()  # refused before any run was opened
    read, _ = read_table(path)
    assert f"2 columns headed '{repeated}' read as {repeated}, {repeated}.1" in read.attrs["layout"]


def _packed_copies(plain: Path, folder: Path) -> dict[str, Path]:
    """The table as portals serve it: gzip, a zip, a zip made on a Mac (a folder and `__MACOSX` resource
    forks beside the table)."""
    import gzip
    import zipfile

    gz = folder / f"{plain.name}.gz"
    gz.write_bytes(gzip.compress(plain.read_bytes()))
    zipped = folder / f"{plain.stem}.zip"
    with zipfile.ZipFile(zipped, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(plain, plain.name)
    mac = folder / f"{plain.stem}-mac.zip"
    with zipfile.ZipFile(mac, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export/", "")
        archive.write(plain, f"export/{plain.name}")
        archive.writestr(f"__MACOSX/export/._{plain.name}", b"\x00\x05\x16\x07 resource fork")
        archive.writestr("export/.DS_Store", b"\x00\x00\x00\x01Bud1")
    return {"gz": gz, "zip": zipped, "mac zip": mac}


@pytest.mark.parametrize("form", ["csv", "xlsx", "parquet"])
def test_a_compressed_table_reads_as_the_table_inside_in_the_check_and_the_trainer(tmp_path, monkeypatch, form):
    import tempfile
    import zipfile

    from datafactory.cli.model import profile

    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    from datafactory.modeling.packed import table_stem

    frame = _office_table()
    plain = tmp_path / f"客户表.{form}"
    if form == "csv":
        plain.write_bytes(frame.to_csv(index=False).encode("gb18030"))
    elif form == "xlsx":
        frame.to_excel(plain, index=False)
    else:
        frame.to_parquet(plain)
    expected, notes = read_table(plain)
    hostile = tmp_path / f"{plain.stem}-up.zip"  # a member named to climb out of the folder: read in it
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.write(plain, f"../../outside/{plain.name}")
    for name, packed in {**_packed_copies(plain, tmp_path), "climbing zip": hostile}.items():
        read, packed_notes = read_table(packed)
        pd.testing.assert_frame_equal(read, expected, obj=name)
        assert packed_notes == notes
        assert profile(packed, "是否违约") == profile(plain, "是否违约"), name
    assert table_stem(tmp_path / f"客户表.{form}.gz") == table_stem(plain) == "客户表"
    assert list(scratch.iterdir()) == []  # the temporary copies are gone
    assert not (tmp_path.parent / "outside").exists() and not (scratch.parent / "outside").exists()


def test_a_compressed_file_that_is_not_one_table_is_one_error_saying_what_to_do(tmp_path):
    import gzip
    import zipfile

    from datafactory.cli.model import profile

    plain = tmp_path / "loans.csv"
    _office_table().to_csv(plain, index=False)
    two = tmp_path / "two.zip"
    with zipfile.ZipFile(two, "w") as archive:
        archive.write(plain, "2024.csv")
        archive.write(plain, "2025.csv")
    cut = tmp_path / "cut.csv.gz"
    whole = gzip.compress(plain.read_bytes())
    cut.write_bytes(whole[: len(whole) // 2])  # a download that stopped halfway
    named = tmp_path / "plain.csv.gz"
    named.write_bytes(plain.read_bytes())
    no_table = tmp_path / "loans.gz"
    no_table.write_bytes(gzip.compress(plain.read_bytes()))
    cases = {
        two: "holds 2 tables (2024.csv, 2025.csv); the trainer reads a zip holding one",
        cut: "the gzip data is damaged or incomplete",
        named: "named .gz but not gzip-compressed",
        no_table: "the file inside would be 'loans'; name it like 'table.csv.gz'",
    }
    for path, said in cases.items():
        for read in (lambda p: read_table(p), lambda p: profile(p, "是否违约")):
            with pytest.raises(ValueError, match=re.escape(said)):
                read(path)


def test_a_laboratory_result_beyond_its_limit_reads_as_the_limit_and_is_counted(tmp_path):
    """A hospital export writes results beyond what the assay measures as '<5', '>1000' or '＜0.5'
    (full-width). Such values made the column text (under 98% plain numbers) and the liver enzyme was
    excluded as a category with hundreds of values; now they read as their limit, and the note says how
    many. The CLI's check of a regression target reads them the same way, value by value."""
    from datafactory.modeling.number_text import number_from_text

    rng = np.random.default_rng(4)
    alt = [f"{v:.1f}" for v in rng.lognormal(3, 0.6, 200)]
    creatinine = [f"{v:.2f}" for v in rng.lognormal(0, 0.3, 200)]
    for i in range(0, 200, 19):
        alt[i] = "<5" if i % 2 else ">1000"
        creatinine[i] = "＜0.5"
    path = tmp_path / "化验结果.csv"
    pd.DataFrame({"ALT": alt, "肌酐": creatinine, "住院天数": [f"{d}" for d in rng.integers(1, 30, 200)]}).to_csv(
        path, index=False, encoding="gb18030"
    )
    read, notes = read_table(path)
    assert read["ALT"].dtype == read["肌酐"].dtype == np.float64
    assert read["ALT"].iloc[0] == 1000.0 and read["ALT"].iloc[19] == 5.0 and read["肌酐"].iloc[0] == 0.5
    assert "11 beyond a limit (e.g. '>1000') read as the limit" in notes["ALT"]
    assert "11 beyond a limit (e.g. '<0.5') read as the limit" in notes["肌酐"]
    assert [number_from_text(v) for v in ("<5", ">1000", "＜0.5", "≥ 8", "<=3")] == [5.0, 1000.0, 0.5, 8.0, 3.0]
    assert number_from_text("<>5") is None and number_from_text("<") is None


def test_a_unit_after_the_number_reads_as_the_number_and_a_column_keeps_one_unit(tmp_path):
    """Chinese exports write the unit in the cell: '45岁', '3年', '120㎡', '65公斤', '1,234度'. Such columns
    were text, and age was a category of 60+ values; now they are numbers. Synonyms are one unit ('㎡',
    'm²', '平方米'; '公斤', 'kg'; '度' is a kWh). A value in another unit ('6个月' among years) is not
    read as 6 years: it is missing and counted."""
    rows = 100
    frame = pd.DataFrame(
        {
            "年龄": [f"{20 + i % 50}岁" if i % 7 else f"{20 + i % 50}周岁" for i in range(rows)],
            "工龄": [f"{i % 30}年" for i in range(rows - 1)] + ["6个月"],
            "面积": [("{}㎡", "{} m²", "{}平方米", "{}m2")[i % 4].format(60 + i) for i in range(rows)],
            "体重": [f"{50 + i % 40}公斤" if i % 2 else f"{50 + i % 40}kg" for i in range(rows)],
            "用电量": [f"{1000 + i * 10:,}度" if i % 3 else f"{1000 + i * 10:,} kWh" for i in range(rows)],
            "是否理赔": [i % 2 for i in range(rows)],
        }
    )
    path = tmp_path / "体检.csv"
    frame.to_csv(path, index=False, encoding="gb18030")
    read, notes = read_table(path)
    assert read["年龄"].tolist() == [20.0 + i % 50 for i in range(rows)]
    assert read["工龄"].iloc[:-1].tolist() == [float(i % 30) for i in range(rows - 1)] and np.isnan(
        read["工龄"].iloc[-1]
    )
    assert "1 value(s) in another unit than '年' read as missing" in notes["工龄"]
    assert read["面积"].tolist() == [60.0 + i for i in range(rows)]
    assert read["体重"].tolist() == [50.0 + i % 40 for i in range(rows)]
    assert read["用电量"].tolist() == [1000.0 + i * 10 for i in range(rows)]
    mixed, _ = numbers_from_text(pd.DataFrame({"期限": ["3年", "6个月"] * 50}))
    assert mixed["期限"].dtype == object  # half in months, half in years: no one number


def test_a_workbook_reads_cell_for_cell_as_openpyxl_reads_it(tmp_path):
    """The trainer reads .xlsx through calamine (Rust, about six times openpyxl on a 100k-row sheet);
    openpyxl, Excel's reference reader in Python, is the oracle for every cell: text, whole and
    fractional numbers, booleans, dates, times, blanks, error values, under a title line."""
    from datetime import date, datetime, time

    from openpyxl import Workbook

    rng = np.random.default_rng(6)
    book = Workbook()
    sheet = book.active
    sheet.append(["客户风险表（2024年）"])
    sheet.append(["编号", "金额", "笔数", "是否", "开户日", "时刻", "登记时间", "备注", "违约"])
    for i in range(60):
        sheet.append(
            [
                f"K{i:04d}",
                None if i % 11 == 0 else round(float(rng.normal(1e4, 3e3)), 2),
                int(rng.integers(0, 50)),
                bool(i % 3),
                date(2020, 1 + i % 12, 1 + i % 28),
                time(9 + i % 8, i % 60),
                datetime(2024, 3, 1 + i % 28, i % 24, 30),
                ["", "#N/A", "无", "正常", "说明：见附件"][i % 5] or None,
                i % 2,
            ]
        )
    path = tmp_path / "风险表.xlsx"
    book.save(path)
    read, _ = read_table(path)
    oracle = pd.read_excel(path, header=1, engine="openpyxl")
    oracle, _ = numbers_from_text(without_empty_rows(without_surrounding_blanks(oracle))[0])
    pd.testing.assert_frame_equal(read, oracle, check_dtype=True)


def test_a_sheets_rows_walked_by_calamine_are_the_rows_openpyxl_gives(tmp_path):
    """The input check walks every row (calamine: 2.8 s for 100,000 rows where openpyxl took 14 s); the
    header it names and every value must be openpyxl's, empty leading rows and columns included. An
    error cell (#N/A) is no value either way."""
    from datetime import date, time

    from openpyxl import Workbook, load_workbook

    from datafactory.modeling.workbook import data_sheet

    book = Workbook()
    sheet = book.active
    sheet.cell(row=2, column=2, value="2024年 客户表")
    header = ["编号", 2023, "开户日", "时刻", "是否", "金额", "备注"]
    for j, cell in enumerate(header):
        sheet.cell(row=4, column=2 + j, value=cell)
    for i in range(40):
        row = [f"K{i}", i * 3, date(2020, 1 + i % 12, 1 + i % 28), time(i % 24, 5), i % 2 == 0, i * 1.25 - 7, None]
        row[-1] = ["#N/A", None, "正常"][i % 3]
        for j, cell in enumerate(row):
            sheet.cell(row=5 + i, column=2 + j, value=cell)
    path = tmp_path / "客户.xlsx"
    book.save(path)
    oracle = [
        tuple(None if cell == "#N/A" else cell for cell in row)
        for row in load_workbook(path, read_only=True, data_only=True).active.iter_rows(values_only=True)
    ]
    with data_sheet(path, "是否") as chosen:
        walked = [tuple(None if cell == "#N/A" else cell for cell in row) for row in chosen.rows]
    assert walked == oracle
