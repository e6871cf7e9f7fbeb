"""Real-world file drops built by hand (bytes): encodings, layout rows, title rows, delimiters. Every file
either raises its whole-file reason or accounts for every row: rows in = rows kept + rows rejected."""

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datafactory.sources.fileparse import (
    BLANK_ROW,
    EOF_ROW,
    NOTE_ROW,
    REPEATED_HEADER,
    SUMMARY_ROW,
    TRAILING_VALUE,
    FileRejected,
    parse_file,
)

pytestmark = pytest.mark.unit
HEADER = "户号,户名,用电量"


def _lines(*lines: str, encoding: str = "gbk", end: str = "\r\n") -> bytes:
    return "".join(line + end for line in lines).encode(encoding)


def test_utf8_bytes_on_a_gbk_feed_would_be_mojibake_so_the_file_is_refused():
    utf8 = "大理市供电局".encode()
    assert utf8.decode("gbk") == "澶х悊甯備緵鐢靛眬"  # what used to land
    data = _lines(HEADER, "A1,大理市供电局,12", encoding="utf-8")
    with pytest.raises(FileRejected, match=r"looks like UTF-8.*accept_utf8: true"):
        parse_file("f.csv", data, "gbk")
    parsed = parse_file("f.csv", data, "gbk", accept_utf8=True)
    assert parsed.frame["户名"].tolist() == ["大理市供电局"] and parsed.encoding == "utf-8"


def test_a_gbk_feed_reads_gb18030_only_characters():
    data = _lines(HEADER, "A1,𠮷野家,3", encoding="gb18030")
    with pytest.raises(UnicodeEncodeError):
        "𠮷".encode("gbk")
    assert parse_file("f.csv", data, "gbk").frame["户名"].tolist() == ["𠮷野家"]


def test_utf16_with_a_bom_is_read_and_without_one_is_refused():
    text = "户号\t户名\r\nA1\t余姚\r\n"
    parsed = parse_file("f.csv", b"\xff\xfe" + text.encode("utf-16-le"), "gbk", delimiter="\t")
    assert parsed.frame.to_dict("list") == {"户号": ["A1"], "户名": ["余姚"]}
    with pytest.raises(FileRejected, match="looks like UTF-16 without a byte-order mark"):
        parse_file("f.csv", "a,b\r\n1,2\r\n".encode("utf-16-le"), "gbk")


def test_layout_rows_are_rejected_each_with_its_reason():
    data = (
        _lines(
            HEADER,
            "A1,余姚,100",
            ",,",
            " 户号 ,户名,用电量",
            "A2,大理,200",
            "合计,,300",
            "合 计,,300",
            "大理市,小计,200",
            "Total,,300",
            "备注：数据来源于供电局,,",
            "A3,平均分配公司,5",  # 平均 inside a name, not in the leading cell: data
        )
        + b"\x1a"
    )
    parsed = parse_file("f.csv", data, "gbk")
    assert parsed.frame["户号"].tolist() == ["A1", "A2", "A3"]
    reasons = parsed.rejected["_reason"].tolist()
    assert sorted(reasons) == sorted([BLANK_ROW, REPEATED_HEADER, *[SUMMARY_ROW] * 5, EOF_ROW])
    assert parsed.rows_seen == 11 and parsed.data_rows == 3
    assert "end-of-file marker" in EOF_ROW and "summary row" in SUMMARY_ROW and "repeated header" in REPEATED_HEADER
    assert "blank row" in BLANK_ROW


def test_sign_off_and_footnote_lines_are_notes_and_words_that_only_start_alike_are_data():
    data = _lines(
        HEADER,
        "A1,余姚,100",
        "注：本表数据截至2026年10月31日,,",
        "注 2 ：户名为脱敏后名称,,",
        "制表人：李四,审核人：王五,",
        "填报单位：大理市数据资源管理局,,",
        "  数据来源: 供电局营销系统,,",
        "单位：千瓦时,,",
        "A2,注册会计师事务所,7",  # a name that starts like a note: data
        ",来源公司,8",  # no id, a name that starts like a note: data (validation judges it)
    )
    parsed = parse_file("f.csv", data, "gbk")
    assert parsed.frame["户名"].tolist() == ["余姚", "注册会计师事务所", "来源公司"]
    assert parsed.rejected["_reason"].tolist() == [NOTE_ROW] * 6
    assert parsed.rows_seen == 9 and parsed.data_rows == 3


def test_eof_byte_right_after_the_last_row_ends_the_file():
    parsed = parse_file("f.csv", _lines(HEADER, encoding="gbk") + "A1,余姚,1\x1a".encode("gbk"), "gbk")
    assert parsed.frame["户号"].tolist() == ["A1"] and parsed.rejected["_reason"].tolist() == [EOF_ROW]


def test_a_title_row_above_the_header_is_refused_unless_declared():
    data = _lines("2026年10月用电量明细,,", HEADER, "A1,余姚,1")
    with pytest.raises(FileRejected, match=r"title row above the header.*header_row: 2"):
        parse_file("f.csv", data, "gbk")
    parsed = parse_file("f.csv", data, "gbk", header_row=2)
    assert parsed.frame.to_dict("list") == {"户号": ["A1"], "户名": ["余姚"], "用电量": ["1"]}


def test_quoted_newlines_crlf_header_only_and_empty_files():
    parsed = parse_file("f.csv", _lines(HEADER, 'A1,"余姚\r\n阳明",1'), "gbk")
    assert parsed.frame["户名"].tolist() == ["余姚\r\n阳明"] and parsed.rows_seen == 1
    only = parse_file("f.csv", _lines(HEADER), "gbk")
    assert only.rows_seen == 0 and list(only.frame.columns) == HEADER.split(",")
    with pytest.raises(FileRejected, match="empty file"):
        parse_file("f.csv", b"", "gbk")


def test_wide_files_keep_every_column_and_duplicate_names_refuse_the_file():
    names = [f"c{i}" for i in range(300)]
    parsed = parse_file("f.csv", _lines(",".join(names), ",".join(str(i) for i in range(300))))
    assert parsed.table.num_columns == 300 and parsed.frame["c299"].tolist() == ["299"]
    with pytest.raises(FileRejected, match="repeats column names"):
        parse_file("f.csv", _lines("户号,户号,用电量", "1,2,3"), "gbk")


def test_trailing_delimiters():
    auto = parse_file("f.csv", _lines(HEADER + ",", "A1,余姚,1,", "A2,大理,2,x"), "gbk")
    assert auto.frame["户号"].tolist() == ["A1"] and auto.rejected["_reason"].tolist() == [TRAILING_VALUE]
    data = _lines(HEADER, "A1,余姚,1,", "A2,大理,2,")
    strict = parse_file("f.csv", data, "gbk")
    assert strict.table.num_rows == 0 and set(strict.rejected["_reason"]) == {"malformed row: expected 3 fields, got 4"}
    declared = parse_file("f.csv", data, "gbk", trailing_delimiter=True)
    assert declared.frame["户号"].tolist() == ["A1", "A2"] and declared.rejected.empty


@pytest.mark.parametrize("delimiter", [";", "\t", "|"])
def test_declared_delimiters(delimiter):
    data = _lines(HEADER.replace(",", delimiter), delimiter.join(["A1", "余,姚", "1,5"]))
    assert parse_file("f.csv", data, "gbk", delimiter=delimiter).frame["户名"].tolist() == ["余,姚"]


def test_xlsx_layout_rows_and_title_rows():
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    for row in [["2026年10月用电量明细"], ["户号", "户名", "用电量"], ["A1", "余姚", 100], ["户号", "户名", "用电量"]]:
        sheet.append(row)
    sheet.append(["合计", None, 100])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(FileRejected, match="title row above the header"):
        parse_file("f.xlsx", out.getvalue())
    parsed = parse_file("f.xlsx", out.getvalue(), header_row=2)
    assert parsed.frame["户号"].tolist() == ["A1"]
    assert parsed.rejected["_reason"].tolist() == [REPEATED_HEADER, SUMMARY_ROW]


# --- property: an encoding round trip keeps every row exactly ---------------------------------------

LAYOUT = ("合计", "小计", "总计", "平均", "备注")
TEXT = st.text(alphabet=st.sampled_from([*"ab1 ,\"'\n;余姚市大理𠮷Ａ-"]), max_size=8).filter(
    lambda v: v.strip() not in ("", "NULL", "null") and not v.strip().startswith(LAYOUT)
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(TEXT, min_size=3, max_size=3), max_size=20),
    st.sampled_from(["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"]),
    st.sampled_from(["\n", "\r\n"]),
)
def test_rendered_rows_read_back_exactly_in_every_supported_encoding(rows, encoding, newline):
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline, quoting=csv.QUOTE_NONNUMERIC)
    writer.writerow(["c0", "c1", "c2"])
    writer.writerows(rows)
    text = out.getvalue()
    data = text.encode("gb18030" if encoding == "gbk" else encoding)  # utf-16 carries its BOM
    declared = "gbk" if encoding in ("utf-16", "gbk") else encoding
    try:
        parsed = parse_file("f.csv", data, declared)
    except FileRejected as exc:  # GBK bytes that happen to be valid UTF-8 (only the ASCII-free cases)
        assert encoding in ("gbk", "gb18030") and "looks like UTF-8" in str(exc)
        return
    assert parsed.rejected.empty
    assert parsed.frame.values.tolist() == [[v for v in row] for row in rows]
