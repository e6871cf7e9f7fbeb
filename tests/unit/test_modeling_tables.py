"""A modeller's CSV as real offices write it: GBK from Excel, `;` from European exports, tabs in UTF-16
from Excel's "Unicode text", numbers written with separators, currency and percent signs. The reader
finds the format by itself and must agree with the writer that made the file (round trips), and reading
numbers from text must give back the number that was formatted (an independent oracle: Python's format)."""

from __future__ import annotations

import codecs
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafactory.modeling.csvformat import sniff
from datafactory.modeling.tables import numbers_from_text, read_table

pytestmark = pytest.mark.unit

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


STYLES = {
    "thousands": lambda x: f"{x:,.2f}",
    "percent": lambda x: f"{x:.2f}%",
    "dollars": lambda x: f"${x:,.2f}" if x >= 0 else f"-${-x:,.2f}",
    "yuan": lambda x: f"{x:,.2f}元",
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    values=st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=3, max_size=40),
    style=st.sampled_from(sorted(STYLES)),
    order=st.randoms(use_true_random=False),
)
def test_a_formatted_number_reads_back_as_itself_whatever_the_row_order(values, style, order):
    text = [STYLES[style](v) for v in values]
    read, notes = numbers_from_text(pd.DataFrame({"x": text}))
    assert set(notes) == {"x"}
    np.testing.assert_allclose(read["x"].to_numpy(), np.round(values, 2), rtol=0, atol=0.006)
    shuffled = list(range(len(text)))
    order.shuffle(shuffled)
    again, _ = numbers_from_text(pd.DataFrame({"x": [text[i] for i in shuffled]}))
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
        ValueError, match=r"ragged.csv \(utf-8, comma-separated\): Expected 3 fields in line 3, saw 4; "
    ):
        read_table(path)


@given(st.lists(st.text(alphabet="0123456789,.-+$¥%元 ５eE", max_size=12), min_size=1, max_size=30))
def test_one_value_and_a_column_read_numbers_from_text_alike(values):
    """The CLI reads a target value by value (before pandas loads); the trainer reads whole columns.
    Both must call the same texts numbers, with the same values."""
    from datafactory.modeling.number_text import number_from_text

    column = pd.Series(values, dtype=object)
    read, _ = numbers_from_text(pd.DataFrame({"v": column}))
    if read["v"].dtype == object:  # the column as a whole is text (too few numbers): compare value by value
        return
    for text, number in zip(values, read["v"], strict=True):
        one = number_from_text(text)
        if one is None:
            assert math.isnan(number)
        else:
            assert number == pytest.approx(one, nan_ok=False)
