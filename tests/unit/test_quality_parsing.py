"""Declared, order-independent parsing: each value read by the forms its ColumnSpec declares, never by
the shape of other rows. Table-driven real-world cases per kind, spec checks, and properties."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from datafactory.quality.casting import coerce
from datafactory.quality.parsing import parse_column
from datafactory.quality.split import row_failures
from datafactory.specs import SourceSpec
from datafactory.specs.feed import ColumnSpec

pytestmark = pytest.mark.unit

SLASH_OR_ISO = {"kind": "date", "formats": ["%Y/%m/%d", "iso"]}
CHINESE_DATE = {"kind": "date", "formats": ["iso", "%Y年%m月%d日"]}
XLSX_DATE = {"kind": "date", "formats": ["iso", "excel_serial"]}
STAMP_FORMS = {"kind": "timestamp", "formats": ["iso", "%Y/%m/%d %H:%M", "epoch_ms"]}
WAN = {"kind": "float", "unit": "万元", "accept_units": ["元", "万元", "亿元"]}
YES_NO = {"kind": "bool", "true_values": ["是", "Y", "true", "1"], "false_values": ["否", "N", "false", "0"]}
CODE = {"kind": "string", "normalize": "nfkc", "case": "upper"}


def _one(value, declared, column: str = "c"):
    parsed = parse_column(pd.Series([value], dtype=object), ColumnSpec.model_validate(declared), column)
    return parsed.values.iloc[0], bool(parsed.failed[0]), parsed.reason


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text)


READABLE = [
    # dates
    ("2026/10/3", SLASH_OR_ISO, _ts("2026-10-03")),
    ("2026-10-03", SLASH_OR_ISO, _ts("2026-10-03")),
    ("2026-10-03", "date", _ts("2026-10-03")),
    ("2026-10-03 00:00:00", "date", _ts("2026-10-03")),  # how CSV and XLSX exports write a date
    ("2024年3月5日", CHINESE_DATE, _ts("2024-03-05")),
    ("２０２４年３月５日", CHINESE_DATE, _ts("2024-03-05")),
    ("45231", XLSX_DATE, _ts("2023-11-01")),
    ("59", XLSX_DATE, _ts("1900-02-28")),  # before Lotus's phantom 1900-02-29
    ("61", XLSX_DATE, _ts("1900-03-01")),
    ("20261003", {"kind": "date", "formats": ["%Y%m%d"]}, _ts("2026-10-03")),
    (" 2026-10-03\u3000", "date", _ts("2026-10-03")),
    (dt.date(2026, 10, 3), "date", _ts("2026-10-03")),
    # timestamps: naive China time
    ("2026-10-03 08:15:30.123", "timestamp", _ts("2026-10-03 08:15:30.123")),
    ("2026-10-03T08:15:30.123456", "timestamp", _ts("2026-10-03 08:15:30.123456")),
    ("2026-10-03 08:15", "timestamp", _ts("2026-10-03 08:15")),
    ("2026-10-03", "timestamp", _ts("2026-10-03")),
    ("2026-10-03T00:15:30Z", "timestamp", _ts("2026-10-03 08:15:30")),
    ("2026-10-03T08:15:30+08:00", "timestamp", _ts("2026-10-03 08:15:30")),
    ("2026-10-03T01:15:30+0100", "timestamp", _ts("2026-10-03 08:15:30")),
    ("2026/10/3 8:05", STAMP_FORMS, _ts("2026-10-03 08:05")),
    ("1790986530000", STAMP_FORMS, _ts("2026-10-03 08:15:30")),
    ("２０２６－１０－０３　０８：１５：３０", "timestamp", _ts("2026-10-03 08:15:30")),
    # numbers
    ("1,234.50", "float", 1234.5),
    ("１，２３４．５", "float", 1234.5),
    (" 12 ", "float", 12.0),
    ("-0.5", "float", -0.5),
    ("1e3", "float", 1000.0),
    ("3.5万元", WAN, 3.5),
    ("3.5 万元", WAN, 3.5),
    ("35000元", WAN, 3.5),
    ("1亿元", WAN, 10000.0),
    ("163.67", WAN, 163.67),  # bare numbers are in the column's unit
    ("3", "int", 3),
    ("3.0", "int", 3),  # integral: taken
    ("1,000", "int", 1000),
    ("+7", "int", 7),
    ("12345678901234567", "int", 12345678901234567),  # every digit kept
    (18.0, "int", 18),
    # booleans
    ("是", YES_NO, True),
    ("否", YES_NO, False),
    ("y", YES_NO, True),
    ("FALSE", YES_NO, False),
    ("0", YES_NO, False),
    # strings
    ("ａｂｃ１２３", CODE, "ABC123"),
    ("\u3000913302810000000 0q\xa0", CODE, "913302810000000 0Q"),
    ("  余姚市贸易0有限公司 ", "string", "余姚市贸易0有限公司"),  # free text: trimmed only
    ("ＡＢＣ", "string", "ＡＢＣ"),  # free text is not normalized
]


@pytest.mark.parametrize("value,declared,wanted", READABLE)
def test_real_world_values_read_as_declared(value, declared, wanted):
    got, failed, _ = _one(value, declared)
    assert not failed
    assert got == wanted


UNREADABLE = [
    ("2026/10/3", "date", "c: expected a date as iso"),
    ("2026-10-03 08:00:00", "date", "c: expected a date as iso"),  # a time is not a date
    ("2026-02-30", SLASH_OR_ISO, "c: expected a date as %Y/%m/%d or iso"),
    ("2026-13-01", "date", "c: expected a date as iso"),
    ("60", XLSX_DATE, "c: expected a date as iso or excel_serial"),  # the phantom 1900-02-29
    ("45231.5", XLSX_DATE, "c: expected a date as iso or excel_serial"),
    ("2026-10", "date", "c: expected a date as iso"),
    ("2026103", {"kind": "date", "formats": ["%Y%m%d"]}, "c: expected a date as %Y%m%d"),
    ("10/03/2026", "timestamp", "c: expected a timestamp as iso"),
    ("2026-10-03 25:00", "timestamp", "c: expected a timestamp as iso"),
    ("yesterday", STAMP_FORMS, "c: expected a timestamp as iso or %Y/%m/%d %H:%M or epoch_ms"),
    ("NaN", "float", "c: expected a number"),
    ("inf", "float", "c: expected a number"),
    ("1,23", "float", "c: expected a number"),
    ("0,500", "float", "c: expected a number"),  # no thousands start with 0: a decimal comma, not 500
    ("-0,250", "float", "c: expected a number"),
    ("12%", "float", "c: expected a number"),
    ("3.5万美元", WAN, "c: expected a number in 万元, bare or with a unit 元, 万元, 亿元"),
    ("1.5", "int", "c: expected an integer"),  # never truncated
    (1.5, "int", "c: expected an integer"),
    ("maybe", YES_NO, "c: expected a boolean as 是/Y/true/1 or 否/N/false/0"),
    ("yes", "bool", "c: expected a boolean as true/1 or false/0"),
]


@pytest.mark.parametrize("value,declared,reason", UNREADABLE)
def test_unreadable_values_fail_with_the_forms_expected(value, declared, reason):
    got, failed, why = _one(value, declared)
    assert failed and pd.isna(got)
    assert why == reason


def test_missing_and_blank_values_are_missing_not_unreadable():
    parsed = parse_column(pd.Series([None, "", " \u3000", np.nan], dtype=object), "timestamp", "t")
    assert not parsed.failed.any() and parsed.values.isna().all()


def test_first_row_shape_decides_nothing():
    """The reported case: a non-padded slash date first no longer quarantines the ISO dates after it."""
    values = ["2026/10/3"] + [f"2026-10-{d:02d}" for d in range(1, 10)]
    typed, failures = coerce(pd.DataFrame({"d": values}), {"d": ColumnSpec.model_validate(SLASH_OR_ISO)})
    assert not failures and typed["d"].notna().all()
    typed, failures = coerce(pd.DataFrame({"d": values}), {"d": "date"})  # undeclared: only the slash date fails
    assert failures["d"].tolist() == [True] + [False] * 9


def test_quarantine_label_names_the_column_and_the_forms():
    spec = ColumnSpec.model_validate(STAMP_FORMS)
    _, failures = coerce(pd.DataFrame({"updated_at": ["2026-10-03 08:15", "soon"]}), {"updated_at": spec})
    labels = row_failures(2, [], pd.Series([False, False]), failures).labels
    assert labels == [
        "expect_column_values_to_be_of_type(updated_at: expected a timestamp as iso or %Y/%m/%d %H:%M or epoch_ms)"
    ]


# ---- spec checks ---------------------------------------------------------------------------------------


def _feed(**column) -> dict:
    return {
        "name": "f",
        "channel": "files",
        "table": "f",
        "keys": ["id"],
        "watermark_column": "updated_at",
        "columns": {"id": "string", "updated_at": "timestamp", **column},
    }


@pytest.mark.parametrize(
    "column,field",
    [
        ({"kind": "date", "format": ["%Y/%m/%d"]}, "format"),  # unknown key
        ({"kind": "date", "formats": ["%Y/%q/%d"]}, "formats"),
        ({"kind": "date", "formats": ["ymd"]}, "formats"),  # no directive, not a named form
        ({"kind": "date", "formats": ["%y-%m-%d"]}, "formats"),  # two-digit year: a century guess
        ({"kind": "date", "formats": ["%d/%m/%Y", "%m/%d/%Y"]}, "formats"),  # ambiguous pair
        ({"kind": "string", "formats": ["iso"]}, "formats"),
        ({"kind": "string", "unit": "元"}, "unit"),
        ({"kind": "float", "unit": "斤"}, "unit"),
        ({"kind": "float", "unit": "元", "accept_units": ["kWh"]}, "unit"),
        ({"kind": "int", "true_values": ["是"]}, "true_values"),
        ({"kind": "float", "case": "upper"}, "case"),
    ],
)
def test_bad_column_declarations_are_rejected_naming_the_field(column, field):
    with pytest.raises(ValidationError) as caught:
        SourceSpec.model_validate(_feed(x=column))
    message = str(caught.value)
    assert "columns.x" in message and field in message


def test_declared_columns_load_and_default():
    spec = SourceSpec.model_validate(_feed(x=WAN, d=XLSX_DATE))
    assert spec.columns["x"].unit == "万元" and spec.columns["d"].forms == ("iso", "excel_serial")
    assert spec.columns["updated_at"].forms == ("iso",)
    assert spec.revised(schedule="@hourly").columns == spec.columns


# ---- properties ----------------------------------------------------------------------------------------

DATE_FORMS = ["%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d", "iso", "excel_serial"]
DATE_SPEC = ColumnSpec.model_validate({"kind": "date", "formats": DATE_FORMS})
dates = st.dates(min_value=dt.date(1900, 3, 1), max_value=dt.date(2173, 10, 1))
junk = st.sampled_from(["", "x", "2026-02-30", "60", "1.5", "2026/13/1", "２０２６－１０－０３", "1,234", None])


def _render(day: dt.date, form: str) -> str:
    if form == "iso":
        return day.isoformat()
    if form == "excel_serial":
        return str((day - dt.date(1899, 12, 30)).days)
    if form == "%Y/%m/%d":
        return f"{day.year}/{day.month}/{day.day}"  # exports often drop the padding
    return day.strftime(form)


def _oracle(text: str, form: str) -> dt.date:
    """An independent reading: the standard library, per value."""
    if form == "iso":
        return dt.date.fromisoformat(text)
    if form == "excel_serial":
        return dt.date(1899, 12, 30) + dt.timedelta(days=int(text))
    return dt.datetime.strptime(text, form).date()


rendered = st.tuples(dates, st.sampled_from(DATE_FORMS)).map(lambda p: _render(*p))
mixed_values = st.lists(st.one_of(rendered, junk), min_size=1, max_size=30)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(dates, st.sampled_from(DATE_FORMS)), min_size=1, max_size=40))
def test_dates_agree_with_an_independent_oracle(cases):
    texts = [_render(day, form) for day, form in cases]
    parsed = parse_column(pd.Series(texts, dtype=object), DATE_SPEC, "d")
    assert not parsed.failed.any()
    got = [ts.date() for ts in parsed.values]
    assert got == [_oracle(text, form) for text, (_, form) in zip(texts, cases, strict=True)]


@settings(max_examples=60, deadline=None)
@given(mixed_values, st.randoms(use_true_random=False))
def test_shuffling_rows_changes_no_row_value_or_fate(values, rnd):
    series = pd.Series(values, dtype=object)
    order = list(range(len(values)))
    rnd.shuffle(order)
    shuffled = series.iloc[order]
    first = parse_column(series, DATE_SPEC, "d")
    second = parse_column(shuffled, DATE_SPEC, "d")
    again = pd.Series(second.failed, index=shuffled.index).reindex(series.index)
    assert again.tolist() == first.failed.tolist()
    assert second.values.reindex(series.index).equals(first.values)


@settings(max_examples=40, deadline=None)
@given(mixed_values, st.sampled_from(["date", "timestamp", "float", "int", "bool"]))
def test_a_value_fares_the_same_alone_and_in_any_frame(values, kind):
    declared = DATE_SPEC if kind == "date" else ColumnSpec.model_validate(kind)
    together = parse_column(pd.Series(values, dtype=object), declared, "c")
    for i, value in enumerate(values):
        alone = parse_column(pd.Series([value], dtype=object), declared, "c")
        assert bool(alone.failed[0]) == bool(together.failed[i])
        a, b = alone.values.iloc[0], together.values.iloc[i]
        assert (pd.isna(a) and pd.isna(b)) or a == b


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else ("\u3000" if c == " " else c) for c in text)


numbers = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
codes = st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY-.", min_size=1, max_size=18).filter(str.strip)


@settings(max_examples=60, deadline=None)
@given(st.one_of(
    numbers.map(lambda d: (f"{d:,}", "float")),
    numbers.map(lambda d: (f"{d:f}", "float")),
    st.integers(-(10**15), 10**15).map(lambda i: (f"{i:,}", "int")),
    rendered.map(lambda t: (t, "dates")),
    st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(
        lambda m: (m.isoformat(sep=" "), "timestamp")
    ),
    codes.map(lambda c: (c, "code")),
))  # fmt: skip
def test_full_width_renderings_read_as_their_ascii(case):
    text, kind = case
    declared = {"dates": DATE_SPEC, "code": ColumnSpec.model_validate(CODE)}.get(kind) or ColumnSpec(kind=kind)
    ascii_value, ascii_failed, _ = _one(text, declared)
    wide_value, wide_failed, _ = _one(_full_width(text), declared)
    assert not ascii_failed and not wide_failed
    assert wide_value == ascii_value
