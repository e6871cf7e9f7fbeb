"""Writes the messy-export corpus: one folder per case, holding the files to drop (exact bytes) and
`case.yaml` stating each row's fate. Run it to regenerate (`.venv/bin/python tests/corpus/make_corpus.py`);
the test reads the committed files, never this script. See tests/corpus/README.md for the case format.

The files imitate what county and city exports really look like (Excel/WPS "save as CSV" on Chinese
Windows, report tools, DOS-era converters); nothing here uses the factory's simulator. Identifiers are
built with check characters computed here (GB 32100, GB 11714, GB 11643), cross-checked against
`datafactory.domain.identifiers`, and invalid ones are planted on purpose.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import random
import shutil
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
DAY = dt.date(2026, 11, 3)
STAMP = DAY.strftime("%Y%m%d")

# --- identifiers, computed independently of the engine -----------------------------------------

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
ORG_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def org_check(body: str) -> str:
    total = sum(ORG_ALPHABET.index(c) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def uscc(area: str, body: str, kind: str = "91") -> str:
    first = kind + area + body + org_check(body)
    total = sum(USCC_ALPHABET.index(c) * pow(3, i, 31) for i, c in enumerate(first))
    code = first + USCC_ALPHABET[(31 - total % 31) % 31]
    from datafactory.domain.identifiers import is_valid_uscc

    assert is_valid_uscc(code), code
    return code


def bad_check(code: str) -> str:
    """The same code with a wrong check character (what an early pilot code or a typo looks like)."""
    wrong = USCC_ALPHABET[(USCC_ALPHABET.index(code[-1]) + 7) % 31]
    return code[:-1] + wrong


def resident_id(area: str, birth: str, seq: int) -> str:
    first = f"{area}{birth}{seq:03d}"
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    code = first + "10X98765432"[sum(int(c) * w for c, w in zip(first, weights, strict=True)) % 11]
    from datafactory.domain.identifiers import is_valid_resident_id

    assert is_valid_resident_id(code), code
    return code


def wrong_id_check(code: str) -> str:
    return code[:-1] + ("0" if code[-1] != "0" else "1")


def fullwidth(text: str) -> str:
    """ASCII letters, digits and punctuation as their full-width forms (what an IME in full-width mode types)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


# --- file builders -----------------------------------------------------------------------------


def cell(value: Any) -> str:
    text = "" if value is None else str(value)
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def records(rows: list[list[Any]], end: str = "\r\n") -> list[str]:
    return [",".join(cell(v) for v in row) + end for row in rows]


def control(data: bytes, rows: int) -> bytes:
    return json.dumps({"rows": rows, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}).encode()


def xlsx(sheet_rows: list[list[Any]], merge_title: int = 0, formats: dict[tuple[int, int], str] | None = None) -> bytes:
    """A workbook as Excel/WPS saves it; `merge_title` merges the first row across that many columns."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Sheet1"
    for row in sheet_rows:
        sheet.append(row)
    if merge_title:
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=merge_title)
    for (r, c), number_format in (formats or {}).items():
        sheet.cell(row=r, column=c).number_format = number_format
    out = io.BytesIO()
    book.save(out)
    # openpyxl stamps the save time into docProps/core.xml; pin it so the bytes are reproducible.
    return _pin_zip(out.getvalue())


def _pin_zip(data: bytes) -> bytes:
    import re
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                body = re.sub(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", b"2026-11-03T09:12:00Z", body)
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 11, 3, 9, 12, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, body)
    return out.getvalue()


# --- cases -------------------------------------------------------------------------------------

CASES: dict[str, dict[str, Any]] = {}


def case(name: str, description: str, **fields: Any) -> None:
    CASES[name] = {"description": description, **fields}


def conformed(**values: Any) -> dict[str, Any]:
    return {"conformed": values}


def quarantined(reason: str | list[str]) -> dict[str, Any]:
    return {"quarantined": reason}


def shuffle_spec(file: str, encoding: str, lines: list[str], data: list[int]) -> dict[str, Any]:
    """Which records of `file` are data rows (0-based, a record may span lines inside quotes)."""
    assert all(0 <= i < len(lines) for i in data)
    return {"file": file, "encoding": encoding, "records": data}


# Enterprises of Yuyao (330281) and Dali (532901); bodies are GB 11714 organization-code bodies.
YY = [uscc("330281", f"MA2GK{n:03d}") for n in range(1, 30)]
DL = [uscc("532901", f"MA6KT{n:03d}") for n in range(1, 30)]
BUILDINGS = [f"HZ-B{n:04d}" for n in range(1, 40)]
REF_BUILDINGS = {"bld_buildings": {"building_id": BUILDINGS[:30]}}


def elec_gbk_control() -> None:
    header = ["meter_id", "building_id", "户名", "period", "kwh", "updated_at"]
    rows = [
        ["M0001", "HZ-B0001", "湖州市行政中心", "2026-10", "10045.0", "2026-11-02 08:00:00"],
        ["M0002", "HZ-B0002", "吴兴区图书馆", "2026-10", "2310.5", "2026-11-02 08:00:00.250"],
        ["M0003", "", "南浔区档案馆（暂未关联）", "2026-10", "880", "2026-11-02 08:01:00"],
        ["M0004", "HZ-B0999", "德清县体育馆", "2026-10", "120", "2026-11-02 08:02:00"],
        ["M0005", "HZ-B0003", "长兴县医院", "2026-10", "-5", "2026-11-02 08:03:00"],
        ["M0006", "HZ-B0003", "长兴县医院", "2026-9", "300", "2026-11-02 08:04:00"],
        ["M0007", "HZ-B0004", "安吉县政务中心", "2026-10", "400", "2026-11-01 23:00:00"],
        ["M0007", "HZ-B0004", "安吉县政务中心", "2026-10", "410", "2026-11-02 09:00:00"],
        ["M0008", "HZ-B0001", "湖州市行政中心", "2026-10", "abc", "2026-11-02 08:05:00"],
    ]
    lines = records([header, *rows])
    data = "".join(lines).encode("gbk")
    name = f"bld_electricity_monthly_{STAMP}_1.csv"
    case(
        "elec_gbk_control",
        "Grid company's GBK CSV with a control file, as the spec declares; an extra Chinese column (户名) is "
        "dropped; timestamps with and without milliseconds; the real suite judges references, signs, periods, "
        "duplicates and unreadable numbers.",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=9,
        files={name: data, name + ".ok": control(data, 9)},
        expect={
            "M0001|2026-10": conformed(kwh=10045.0, building_id="HZ-B0001", updated_at=dt.datetime(2026, 11, 2, 8)),
            "M0002|2026-10": conformed(kwh=2310.5, updated_at=dt.datetime(2026, 11, 2, 8, 0, 0, 250000)),
            "M0003|2026-10": conformed(kwh=880.0, building_id=None),
            "M0004,": quarantined("exist_in_reference(building_id)"),
            "M0005,": quarantined("non_negative(kwh)"),
            "M0006,": quarantined("match_regex(period)"),
            "2026-11-01 23:00:00": quarantined("unique"),
            "M0007|2026-10": conformed(kwh=410.0),
            "M0008,": quarantined("kwh"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, list(range(1, 10))),
    )


def outcomes_rows(codes: list[str], start: int = 0) -> list[list[str]]:
    return [[c, "2026-10", str((i + start) % 2), f"2026-11-02 1{i % 10}:00:00"] for i, c in enumerate(codes)]


OUT_HEADER = ["uscc", "period", "is_bad", "updated_at"]


def outcomes_gbk_layout() -> None:
    first, second = outcomes_rows(DL[:3]), outcomes_rows(DL[3:6], 1)
    layout = [
        ["2026年10月 供货方履约结果明细表", "", "", ""],
        ["导出单位：大理市数据资源管理局", "导出时间：2026-11-03 09:12", "", ""],
        OUT_HEADER,
        *first,
        ["", "", "", ""],
        OUT_HEADER,
        *second,
        ["小计", "", "2", ""],
        ["合计", "", "3", ""],
    ]
    lines = records(layout)
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_gbk_layout",
        "A report tool's GBK export: a title and an export-info line above the header (preamble, not rows), "
        "a blank separator row, a repeated header where two reports were concatenated, 小计 and 合计 rows. "
        "Layout rows below the header count as rows and are quarantined with what they are.",
        feed="sup_outcomes",
        overrides={"options": {"header_row": 3}},
        suite="sup_outcomes",
        rows_in=10,
        files={name: "".join(lines).encode("gbk")},
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(DL[:3])},
            **{f"{c}|2026-10": conformed(is_bad=(i + 1) % 2) for i, c in enumerate(DL[3:6])},
            ",,,": quarantined("blank row"),
            "uscc,period,is_bad,updated_at": quarantined("repeated header"),
            "小计": quarantined("summary row"),
            "合计": quarantined("summary row"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, [3, 4, 5, 8, 9, 10]),
    )


def outcomes_signed_footer() -> None:
    codes = [uscc("532901", f"MA6KU{n:03d}") for n in range(1, 5)]
    layout = [
        OUT_HEADER,
        *outcomes_rows(codes),
        ["注：is_bad 为 1 表示履约异常", "", "", ""],
        ["制表人：李四", "审核人：王五", "", ""],
        ["数据来源：大理市公共资源交易中心", "", "", ""],
        ["填报日期：2026-11-03", "", "", ""],
    ]
    lines = records(layout)
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_signed_footer",
        "A county office's GBK export signed off at the bottom, as government report tools print it: a footnote, "
        "who made and checked the table, the data's source and the filing date. Each footer line is a row and is "
        "quarantined as a note, never conformed and never dropped.",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=8,
        files={name: "".join(lines).encode("gbk")},
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(codes)},
            "注：is_bad": quarantined("note row"),
            "制表人：李四": quarantined("note row"),
            "数据来源：": quarantined("note row"),
            "填报日期：": quarantined("note row"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, [1, 2, 3, 4]),
    )


def outcomes_fullwidth_ids() -> None:
    codes = DL[6:14]
    pilot = bad_check(codes[4])
    mangled = codes[5][:9] + "O" + codes[5][10:]
    rows = [
        [codes[0], "2026-10", "0", "2026-11-02 10:00:00"],
        [fullwidth(codes[1]), "２０２６－１０", "１", "2026-11-02 10:01:00"],
        [codes[2].lower(), "2026-10", "0", "2026-11-02 10:02:00"],
        ["  " + codes[3] + "  ", "2026-10", "0", "2026-11-02 10:03:00"],
        [pilot, "2026-10", "1", "2026-11-02 10:04:00"],
        [mangled, "2026-10", "0", "2026-11-02 10:05:00"],
        ["\u3000" + fullwidth(codes[6].lower()), "2026-10", "0", "2026-11-02 10:06:00"],
        [codes[7], "2026-10", "2", "2026-11-02 10:07:00"],
        ["9.13303E+17", "2026-10", "0", "2026-11-02 10:08:00"],
    ]
    lines = records([OUT_HEADER, *rows])
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_fullwidth_ids",
        "USCCs typed in full-width mode, in lower case, padded with spaces (ASCII and ideographic); the spec "
        "declares NFKC and upper case for uscc and NFKC for period. An early pilot code (bad check character) is "
        "flagged by the real suite's warning and kept; a code with a letter outside the GB 32100 alphabet and "
        "one Excel turned into scientific notation are quarantined; is_bad 2 is out of the set.",
        feed="sup_outcomes",
        overrides={
            "columns": {
                "uscc": {"kind": "string", "normalize": "nfkc", "case": "upper"},
                "period": {"kind": "string", "normalize": "nfkc"},
            }
        },
        suite="sup_outcomes",
        rows_in=9,
        files={name: "".join(lines).encode("gbk")},
        expect={
            f"{codes[0]}|2026-10": conformed(is_bad=0),
            f"{codes[1]}|2026-10": conformed(is_bad=1, period="2026-10"),
            f"{codes[2]}|2026-10": conformed(uscc=codes[2]),
            f"{codes[3]}|2026-10": conformed(uscc=codes[3]),
            f"{pilot}|2026-10": conformed(is_bad=1),
            mangled: quarantined("well_formed_uscc(uscc)"),
            f"{codes[6]}|2026-10": conformed(uscc=codes[6]),
            "2026-11-02 10:07:00": quarantined("in_set(is_bad)"),
            "9.13303E+17": quarantined("well_formed_uscc(uscc)"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, list(range(1, 10))),
    )


def outcomes_dos_eof() -> None:
    rows = outcomes_rows(DL[14:19])
    lines = records([OUT_HEADER, *rows])
    lines[3] = lines[3].replace("\r\n", "\n")  # a line re-typed on another machine: mixed line endings
    text = "".join(lines) + "\x1a"
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_dos_eof",
        "A DOS-era converter's GBK export: CRLF (one line LF) and a ^Z (0x1A) end-of-file marker after the last "
        "line break. The file is complete; the marker is a layout line below the header, so it counts as a row "
        "and is quarantined as an end-of-file marker (never the file as truncated).",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=6,
        files={name: text.encode("gbk")},
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(DL[14:19])},
            "\x1a": quarantined("end-of-file marker"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, list(range(1, 6))),
    )


def outcomes_utf16_tab() -> None:
    rows = outcomes_rows(DL[19:24])
    text = "".join("\t".join(r) + "\r\n" for r in [OUT_HEADER, *rows])
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_utf16_tab",
        "Excel's 'Unicode text' (UTF-16 LE with BOM, TAB-separated) renamed to .csv by the provider, on a feed "
        "declared GBK CSV: set aside whole with a reason that names what it is; its 5 rows are counted.",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=5,
        files={name: b"\xff\xfe" + text.encode("utf-16-le")},
        expect={"files": {name: quarantined(["UTF-16", "tab"])}},
    )


def outcomes_empty_and_header_only() -> None:
    good = outcomes_rows(DL[24:27])
    names = [f"sup_outcomes_{STAMP}_{part}.csv" for part in "abc"]
    lines = records([OUT_HEADER, *good])
    case(
        "outcomes_empty_and_header_only",
        "Three parts of one day: a 0-byte file (a failed export: quarantined, receipted), a header-only file "
        "(a valid 'nothing today': landed with no rows) and a normal file.",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=3,
        files={
            names[0]: b"",
            names[1]: "".join(records([OUT_HEADER])).encode("gbk"),
            names[2]: "".join(lines).encode("gbk"),
        },
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(DL[24:27])},
            "files": {names[0]: quarantined("empty"), names[1]: {"landed": None}, names[2]: {"landed": None}},
        },
        shuffle=shuffle_spec(names[2], "gbk", lines, [1, 2, 3]),
    )


GAS_HEADER = ["meter_id", "building_id", "period", "m3", "用户名称", "updated_at"]


def gas_bom_trailing_delims() -> None:
    rows = [
        ["G-0001", "HZ-B0005", "2026-10", "1,204.5", "湖州市第一人民医院", "2026-11-02 07:00:00"],
        ["G-0002", "HZ-B0006", "2026-10", "88", "吴兴区实验小学, 东校区", "2026-11-02 07:00:00.120"],
        ["G-0003", "", "2026-10", "0", "南浔古镇游客中心", "2026-11-02 07:01:00"],
        ["G-0004", "HZ-B0007", "2026-10", "", "德清县政府", "2026-11-02 07:02:00"],
        ["G-0005", "HZ-B0008", "2026-10", "312.75", '长兴县"太湖图影"展馆', "2026-11-02 07:03:00"],
    ]
    lines = [line.replace("\r\n", ",\r\n") for line in records([GAS_HEADER, *rows])]
    lines.append("G-0006,HZ-B0009,2026-10\r\n")  # a short row: fields missing
    data = "\ufeff".encode() + "".join(lines).encode("utf-8")
    name = f"bld_gas_monthly_{STAMP}.csv"
    case(
        "gas_bom_trailing_delims",
        "Gas company's UTF-8 CSV with BOM and CRLF, where every line (header included) ends with a trailing "
        "comma; quoted values with commas and quotes; an amount with a thousands separator; one short row.",
        feed="bld_gas_monthly",
        overrides={"options": {"trailing_delimiter": True}},
        suite="bld_gas_monthly",
        references=REF_BUILDINGS,
        rows_in=6,
        files={name: data, name + ".ok": control(data, 6)},
        expect={
            "G-0001|2026-10": conformed(m3=1204.5),
            "G-0002|2026-10": conformed(m3=88.0, updated_at=dt.datetime(2026, 11, 2, 7, 0, 0, 120000)),
            "G-0003|2026-10": conformed(m3=0.0, building_id=None),
            "G-0004,": quarantined("not_be_null(m3)"),
            "G-0005|2026-10": conformed(m3=312.75),
            "G-0006,": quarantined("fields"),
        },
        shuffle=shuffle_spec(name, "utf-8-sig", lines, [1, 2, 3, 4, 5, 6]),
    )


def gas_gbk_in_utf8_feed() -> None:
    rows = [
        ["G-0101", "HZ-B0010", "2026-10", "10.5", "湖州市民中心", "2026-11-02 07:00:00"],
        ["G-0102", "HZ-B0011", "2026-10", "11.5", "吴兴区妇幼保健院", "2026-11-02 07:01:00"],
        ["G-0103", "HZ-B0012", "2026-10", "12.5", "南浔区人民法院", "2026-11-02 07:02:00"],
        ["G-0104", "HZ-B0013", "2026-10", "13.5", "德清县第三中学", "2026-11-02 07:03:00"],
    ]
    data = "".join(records([GAS_HEADER, *rows])).encode("gbk")
    name = f"bld_gas_monthly_{STAMP}.csv"
    case(
        "gas_gbk_in_utf8_feed",
        "The gas company switched to Excel 'save as CSV' on Chinese Windows: GBK bytes on a feed declared UTF-8 "
        "(BOM). Set aside whole, and the reason should say it looks like GBK.",
        feed="bld_gas_monthly",
        suite="bld_gas_monthly",
        references=REF_BUILDINGS,
        rows_in=4,
        files={name: data, name + ".ok": control(data, 4)},
        expect={"files": {name: quarantined(["GBK", "GB18030"])}},
    )


ELEC_HEADER = ["meter_id", "building_id", "period", "kwh", "户名", "updated_at"]


def elec_rows(start: int, n: int) -> list[list[str]]:
    return [
        [
            f"M{start + i:04d}",
            BUILDINGS[i % 30],
            "2026-10",
            f"{100 + i}.5",
            "湖州市公共建筑",
            f"2026-11-02 06:{i:02d}:00",
        ]
        for i in range(n)
    ]


def elec_utf8_in_gbk_feed() -> None:
    data = "".join(records([ELEC_HEADER, *elec_rows(200, 4)])).encode("utf-8")
    name = f"bld_electricity_monthly_{STAMP}_1.csv"
    case(
        "elec_utf8_in_gbk_feed",
        "UTF-8 without BOM on the grid company's GBK feed (a new export server). Read as GBK it would decode "
        "into mojibake, so the file is set aside whole because it looks like UTF-8.",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=4,
        files={name: data, name + ".ok": control(data, 4)},
        expect={"files": {name: quarantined("looks like UTF-8")}},
    )


def elec_control_mismatch() -> None:
    names = [f"bld_electricity_monthly_{STAMP}_{n}.csv" for n in (1, 2, 3)]
    short = "".join(records([ELEC_HEADER, *elec_rows(300, 4)])).encode("gbk")
    other = "".join(records([ELEC_HEADER, *elec_rows(310, 3)])).encode("gbk")
    good_lines = records([ELEC_HEADER, *elec_rows(320, 3)])
    good = "".join(good_lines).encode("gbk")
    forged = json.loads(control(other, 3))
    forged["sha256"] = hashlib.sha256(other + b"x").hexdigest()
    case(
        "elec_control_mismatch",
        "Three parts with control files: part 1's control file announces 5 rows but the file holds 4, part 2's "
        "SHA-256 differs from its control file; both are set aside whole with the control-file reason. Part 3 lands.",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=10,
        files={
            names[0]: short,
            names[0] + ".ok": json.dumps({**json.loads(control(short, 4)), "rows": 5}).encode(),
            names[1]: other,
            names[1] + ".ok": json.dumps(forged).encode(),
            names[2]: good,
            names[2] + ".ok": control(good, 3),
        },
        expect={
            **{f"M{320 + i:04d}|2026-10": conformed(kwh=100.5 + i) for i in range(3)},
            "files": {
                names[0]: quarantined("control file"),
                names[1]: quarantined("control file"),
                names[2]: {"landed": None},
            },
        },
    )


def elec_empty_ok_flag() -> None:
    lines = records([ELEC_HEADER, *elec_rows(400, 4)])
    data = "".join(lines).encode("gbk")
    name = f"bld_electricity_monthly_{STAMP}_1.csv"
    case(
        "elec_empty_ok_flag",
        "The control file is an empty .ok flag ('transfer finished'), as many exchange systems write it: it "
        "marks the file complete and carries no counts to check, so the file lands.",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=4,
        files={name: data, name + ".ok": b""},
        expect={
            **{f"M{400 + i:04d}|2026-10": conformed(kwh=100.5 + i) for i in range(4)},
            "files": {name: {"landed": None}},
        },
        shuffle=shuffle_spec(name, "gbk", lines, [1, 2, 3, 4]),
    )


def elec_wide() -> None:
    rng = random.Random(20261103)
    width = 320
    names = [f"字段{n:03d}" if n % 7 == 0 else f"col_{n:03d}" for n in range(width)]
    declared = {17: "meter_id", 88: "building_id", 150: "period", 233: "kwh", 301: "updated_at"}
    names[40], names[41] = "联系电话", "身份证号"
    for pos, column in declared.items():
        names[pos] = column
    people = [resident_id("330502", f"19{70 + i:02d}0{1 + i % 9}1{i % 9}", 11 + 2 * i) for i in range(20)]
    phones = [f"1{3 + i % 7}{rng.randrange(10**8, 10**9)}" for i in range(20)]
    rows = []
    for i in range(20):
        row = [str(rng.randrange(1000)) if n % 3 else "" for n in range(width)]
        row[40], row[41] = phones[i], people[i]
        values = {
            "meter_id": f"W{i:04d}",
            "building_id": BUILDINGS[i],
            "period": "2026-10" if i != 7 else "2026-13",
            "kwh": f"{1000 + 10 * i}" if i != 12 else "-1",
            "updated_at": f"2026-11-02 05:{i:02d}:00",
        }
        for pos, column in declared.items():
            row[pos] = values[column]
        rows.append(row)
    lines = records([names, *rows])
    data = "".join(lines).encode("gbk")
    name = f"bld_electricity_monthly_{STAMP}_1.csv"
    expect = {f"W{i:04d}|2026-10": conformed(kwh=1000.0 + 10 * i) for i in range(20) if i not in (7, 12)}
    case(
        "elec_wide",
        "A 320-column GBK dump of the grid company's meter table of which the feed declares 5, scattered; the "
        "undeclared columns hold phone numbers and resident IDs, which must be dropped (never land anywhere).",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=20,
        files={name: data, name + ".ok": control(data, 20)},
        expect={
            **expect,
            "W0007,": quarantined("match_regex(period)"),
            "W0012,": quarantined("non_negative(kwh)"),
        },
        pii_values=people + phones,
        shuffle=shuffle_spec(name, "gbk", lines, list(range(1, 21))),
    )


def elec_odd_names() -> None:
    upper = f"BLD_ELECTRICITY_MONTHLY_{STAMP}.CSV"
    spaced = f"bld_electricity_monthly_{STAMP} 湖州 第2批.csv"
    first = "".join(records([ELEC_HEADER, *elec_rows(500, 3)])).encode("gbk")
    second = "".join(records([ELEC_HEADER, *elec_rows(510, 2)])).encode("gbk")
    readme = "说明：本批次为2026年10月用电量数据，共两个文件。\r\n".encode("gbk")
    legacy = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504  # an OLE2 (.xls) header
    case(
        "elec_odd_names",
        "File names as people produce them: upper-case name and .CSV extension, Chinese characters and spaces in "
        "the name, a readme .txt and a legacy .xls in the same folder. Both CSVs land; the .txt and .xls are not "
        "taken but receipted as ignored with their reason.",
        feed="bld_electricity_monthly",
        suite="bld_electricity_monthly",
        references=REF_BUILDINGS,
        rows_in=5,
        files={
            upper: first,
            upper + ".ok": control(first, 3),
            spaced: second,
            spaced + ".ok": control(second, 2),
            "说明.txt": readme,
            f"bld_electricity_monthly_{STAMP}.xls": legacy,
        },
        expect={
            **{f"M{500 + i:04d}|2026-10": conformed(kwh=100.5 + i) for i in range(3)},
            **{f"M{510 + i:04d}|2026-10": conformed(kwh=100.5 + i) for i in range(2)},
            "files": {
                upper: {"landed": None},
                spaced: {"landed": None},
                "说明.txt": {"ignored": ["txt", "pattern", "not taken", "not a data file"]},
                f"bld_electricity_monthly_{STAMP}.xls": {"ignored": ["xls", "pattern", "not taken"]},
            },
        },
    )


REG_COLUMNS = {
    "uscc": {"kind": "string", "normalize": "nfkc", "case": "upper"},
    "name": "string",
    "legal_rep_id": {"kind": "string", "normalize": "nfkc", "case": "upper"},
    "legal_rep_name": "string",
    "legal_rep_phone": {"kind": "string", "normalize": "nfkc"},
    "registered_capital": {"kind": "float", "unit": "元", "bare_unit": "万元"},
    "established_date": {"kind": "date", "formats": ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"]},
    "address": "string",
    "updated_at": "timestamp",
}


def reg_feed(name: str, encoding: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": "County list of registered enterprises from the market-regulation bureau, as CSV.",
        "channel": "files",
        "table": name,
        "keys": ["uscc"],
        "watermark_column": "updated_at",
        "columns": REG_COLUMNS,
        "pii": {
            "legal_rep_id": {"action": "pseudonymize", "validate": "resident_id"},
            "legal_rep_name": "pseudonymize",
            "legal_rep_phone": {"action": "pseudonymize", "validate": "mobile"},
        },
        "options": {"format": "csv", "encoding": encoding, "pattern": f"{name}_*.csv"},
    }


def exp(kind: str, severity: str = "quarantine", **kwargs: Any) -> dict[str, Any]:
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": severity}}


def reg_suite(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "expectations": [
            exp("expect_table_row_count_to_be_between", "critical", min_value=1),
            exp("expect_column_values_to_be_unique", column="uscc"),
            exp("expect_column_values_to_not_be_null", column="uscc"),
            exp("expect_column_values_to_be_well_formed_uscc", column="uscc"),
            exp("expect_column_values_to_be_valid_uscc", column="uscc"),
            exp("expect_column_values_to_not_be_null", column="name"),
            exp("expect_column_values_to_be_in_set", column="legal_rep_id_valid", value_set=[1]),
            exp("expect_column_values_to_be_in_set", "warning", column="legal_rep_phone_valid", value_set=[1]),
            exp("expect_column_values_to_be_non_negative", column="registered_capital"),
            exp("expect_column_values_to_not_be_in_future", column="established_date", reference_date="2026-11-03"),
        ],
    }


def reg_gbk_pii_mixed() -> None:
    codes = YY[:13]
    ids = [resident_id("330281", f"19{80 + i}0{1 + i % 9}1{i % 9}", 21 + 2 * i) for i in range(13)]
    ids[3] = resident_id("340524", "19800101", 1)  # ends in X
    names = ["王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵磊", "黄敏", "周杰", "吴芳", "徐亮", "孙丽", "马超"]
    phones = [f"138{5700 + i:04d}{1000 + i:04d}" for i in range(13)]
    phones[5] = "1385700100"  # ten digits
    raw_ids = list(ids)
    raw_ids[2] = fullwidth(ids[2])
    raw_ids[3] = ids[3].lower()
    raw_ids[4] = wrong_id_check(ids[4])
    capital = ["500", "1,200.5", "１２００", "50", "60", "70", "80", "壹佰万", "90", "30", "20", "10", "5"]
    dates = ["2015-03-12", "2015年3月12日", "20150312", "2015/3/12", *["2016-06-01"] * 4, "2015.03.12"]
    dates += ["2016-06-01"] * 4
    addresses = ["浙江省余姚市阳明街道\n新建北路1号", '余姚市"中国塑料城"A区,2幢'] + [
        f"余姚市凤山街道{i}号" for i in range(11)
    ]
    company = [f"余姚市{n}科技有限公司" for n in "甲乙丙丁戊己庚辛壬癸子丑寅"]
    uscc_col = [bad_check(c) if i == 6 else c for i, c in enumerate(codes)]
    rows = [
        [
            uscc_col[i],
            company[i],
            raw_ids[i],
            names[i],
            phones[i],
            capital[i],
            dates[i],
            addresses[i],
            f"2026-11-02 09:{i:02d}:00",
        ]
        for i in range(13)
    ]
    lines = records([list(REG_COLUMNS), *rows])
    feed = "corpus_registry"
    name = f"{feed}_{STAMP}.csv"
    case(
        "reg_gbk_pii_mixed",
        "A registry list exported from WPS as GBK: addresses with a line break, quotes and a comma inside quoted "
        "cells; resident IDs in full-width digits and with a lower-case x (valid after NFKC and upper case, and "
        "pseudonymized as normalized), one with a wrong check character; a ten-digit phone (flagged, kept); "
        "registered capital in 万元 with a thousands separator, full-width digits, and once in words; established "
        "dates in the four declared forms and one undeclared; a USCC with a wrong check character (this suite "
        "quarantines it).",
        feed=reg_feed(feed, "gbk"),
        suite=reg_suite(feed),
        rows_in=13,
        files={name: "".join(lines).encode("gbk")},
        expect={
            codes[0]: conformed(
                registered_capital=5_000_000.0,
                established_date=dt.date(2015, 3, 12),
                address="浙江省余姚市阳明街道\n新建北路1号",
                legal_rep_id={"pseudonym_of": ids[0]},
                legal_rep_name={"pseudonym_of": names[0]},
                legal_rep_id_valid=1,
            ),
            codes[1]: conformed(
                registered_capital=12_005_000.0, established_date=dt.date(2015, 3, 12), address=addresses[1]
            ),
            codes[2]: conformed(
                registered_capital=12_000_000.0,
                established_date=dt.date(2015, 3, 12),
                legal_rep_id={"pseudonym_of": ids[2]},
                legal_rep_id_valid=1,
            ),
            codes[3]: conformed(
                established_date=dt.date(2015, 3, 12), legal_rep_id={"pseudonym_of": ids[3]}, legal_rep_id_valid=1
            ),
            company[4]: quarantined("legal_rep_id_valid"),
            codes[5]: conformed(legal_rep_phone_valid=0, legal_rep_phone={"pseudonym_of": phones[5]}),
            company[6]: quarantined("valid_uscc(uscc)"),
            company[7]: quarantined("registered_capital"),
            company[8]: quarantined("established_date"),
            **{codes[i]: conformed(established_date=dt.date(2016, 6, 1)) for i in range(9, 13)},
        },
        pii_values=sorted({*ids, *raw_ids, *phones, *names}),
        shuffle=shuffle_spec(name, "gbk", lines, list(range(1, 14))),
    )


def reg_gb18030_rare_chars() -> None:
    codes = YY[13:16]
    ids = [resident_id("330281", "19900315", 31 + 2 * i) for i in range(3)]
    rows = [
        [
            codes[0],
            "𠮷祥餐饮（余姚）有限公司",
            ids[0],
            "刘䶮",
            "13857001234",
            "100",
            "2019-05-20",
            "余姚市䶮山路8号",
            "2026-11-02 09:00:00",
        ],
        [
            codes[1],
            "余姚市𬌗齿科诊所",
            ids[1],
            "王𬭎",
            "13857001235",
            "10",
            "2020-01-02",
            "余姚市梨洲街道",
            "2026-11-02 09:01:00",
        ],
        [
            codes[2],
            "余姚市普通贸易有限公司",
            ids[2],
            "张三",
            "13857001236",
            "20",
            "2021-07-08",
            "余姚市兰江街道",
            "2026-11-02 09:02:00",
        ],
    ]
    feed = "corpus_registry_gb18030"
    name = f"{feed}_{STAMP}.csv"
    lines = records([list(REG_COLUMNS), *rows])
    case(
        "reg_gb18030_rare_chars",
        "Declared GBK, but written by a GB18030 encoder (a Java export service): names with characters outside "
        "GBK (𠮷, 䶮, 𬌗, 𬭎, four-byte sequences). GB18030 is a superset of GBK, so the file reads whole and "
        "the rare characters survive.",
        feed=reg_feed(feed, "gbk"),
        suite=reg_suite(feed),
        rows_in=3,
        files={name: "".join(lines).encode("gb18030")},
        expect={
            codes[0]: conformed(
                name="𠮷祥餐饮（余姚）有限公司", address="余姚市䶮山路8号", legal_rep_name={"pseudonym_of": "刘䶮"}
            ),
            codes[1]: conformed(name="余姚市𬌗齿科诊所", legal_rep_name={"pseudonym_of": "王𬭎"}),
            codes[2]: conformed(name="余姚市普通贸易有限公司"),
        },
        pii_values=[*ids, "刘䶮", "王𬭎", "张三"],
        shuffle=shuffle_spec(name, "gb18030", lines, [1, 2, 3]),
    )


PEN_COLUMNS = {
    "penalty_id": {"kind": "string", "normalize": "nfkc", "case": "upper"},
    "uscc": {"kind": "string", "normalize": "nfkc", "case": "upper"},
    "decision_date": {"kind": "date", "formats": ["%Y-%m-%d", "%Y/%m/%d", "%Y年%m月%d日", "%Y%m%d"]},
    "amount": {"kind": "float", "unit": "元", "accept_units": ["元", "万元"]},
    "updated_at": {"kind": "timestamp", "formats": ["iso"]},
}


def pen_feed(name: str, fmt: str, columns: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": name,
        "description": "Administrative penalty decisions from a county law-enforcement bureau, as file exports.",
        "channel": "files",
        "table": name,
        "keys": ["penalty_id"],
        "watermark_column": "updated_at",
        "columns": columns,
        "options": {"format": fmt, "encoding": "utf-8", "pattern": f"{name}_*.{fmt}"},
        "empty_day": "normal",
    }


def pen_suite(name: str, amount_not_null: str = "quarantine") -> dict[str, Any]:
    return {
        "name": name,
        "expectations": [
            exp("expect_column_values_to_be_unique", column="penalty_id"),
            exp("expect_column_values_to_not_be_null", column="penalty_id"),
            exp("expect_column_values_to_be_well_formed_uscc", column="uscc"),
            exp("expect_column_values_to_not_be_null", column="decision_date"),
            exp("expect_column_values_to_not_be_in_future", column="decision_date", reference_date="2026-11-03"),
            exp("expect_column_values_to_not_be_null", amount_not_null, column="amount"),
            exp("expect_column_values_to_be_non_negative", column="amount"),
        ],
    }


def penalty_mixed_forms() -> None:
    c = YY[16:18]
    rows = [
        ["P001", c[0], "2026-10-03", "1,234.5", "2026-11-02 08:00:00"],
        ["P002", c[0], "2026/10/3", "１，２３４．５", "2026-11-02 08:00:00.123"],
        ["P003", c[1], "2026年10月3日", "3.5万元", "2026-11-02T08:00:01"],
        ["P004", c[1], "20261003", "500元", "2026-11-02 08:00:02.123456"],
        ["P005", c[0], "2026-10-3", "800", "2026-11-02 08:00:03"],
        ["P006", c[0], "2026.10.03", "800", "2026-11-02 08:00:04"],
        ["P007", c[0], "03/10/2026", "800", "2026-11-02 08:00:05"],
        ["P008", c[0], "2026-02-30", "800", "2026-11-02 08:00:06"],
        ["P009", c[1], "2026-10-03", "3.5万", "2026-11-02 08:00:07"],
        ["P010", c[1], "2026-10-03", "1,23", "2026-11-02 08:00:08"],
        ["P011", c[1], "2026-11-05", "800", "2026-11-02 08:00:09"],
        [fullwidth("p012"), fullwidth(c[1]), "２０２６－１０－０３", "８００", "2026-11-02 08:00:10"],
        ["P013", c[0], " 2026-10-03 ", " 1200 ", "2026-11-02 08:00:11"],
        ["P014", c[0], "2026年10月03日", "0.5万元", "2026/11/02 08:00:12"],
    ]
    feed = "corpus_penalty"
    name = f"{feed}_{STAMP}.csv"
    lines = records([list(PEN_COLUMNS), *rows], end="\n")
    case(
        "penalty_mixed_forms",
        "Penalty decisions typed by hand into a spreadsheet and exported as UTF-8 (no BOM, LF): one date "
        "column in every form people type (declared: ISO, slashes, 年月日, compact), amounts with thousands "
        "separators, full-width digits and 元/万元 suffixes; undeclared forms (dotted dates, day-first dates, "
        "30 February, a bare 万, a broken digit group, a slashed timestamp) quarantine the row naming the column.",
        feed=pen_feed(feed, "csv", PEN_COLUMNS),
        suite=pen_suite(feed),
        rows_in=14,
        files={name: "".join(lines).encode("utf-8")},
        expect={
            "P001": conformed(
                decision_date=dt.date(2026, 10, 3), amount=1234.5, updated_at=dt.datetime(2026, 11, 2, 8)
            ),
            "P002": conformed(
                decision_date=dt.date(2026, 10, 3),
                amount=1234.5,
                updated_at=dt.datetime(2026, 11, 2, 8, 0, 0, 123000),
            ),
            "P003": conformed(decision_date=dt.date(2026, 10, 3), amount=35000.0),
            "P004": conformed(
                decision_date=dt.date(2026, 10, 3),
                amount=500.0,
                updated_at=dt.datetime(2026, 11, 2, 8, 0, 2, 123456),
            ),
            "P005": conformed(decision_date=dt.date(2026, 10, 3)),
            "P006,": quarantined("decision_date"),
            "P007,": quarantined("decision_date"),
            "P008,": quarantined("decision_date"),
            "P009,": quarantined("amount"),
            "P010,": quarantined("amount"),
            "P011,": quarantined("not_be_in_future(decision_date)"),
            "P012": conformed(uscc=c[1], decision_date=dt.date(2026, 10, 3), amount=800.0),
            "P013": conformed(decision_date=dt.date(2026, 10, 3), amount=1200.0),
            "P014,": quarantined("updated_at"),
        },
        shuffle=shuffle_spec(name, "utf-8", lines, list(range(1, 15))),
    )


def penalty_nulls_markers() -> None:
    c = YY[18]
    rows = [
        ["N001", c, "2026-10-01", "", "2026-11-02 08:00:00"],
        ["N002", c, "2026-10-01", "NULL", "2026-11-02 08:00:01"],
        ["N003", c, "2026-10-01", "\\N", "2026-11-02 08:00:02"],
        ["N004", c, "2026-10-01", "-", "2026-11-02 08:00:03"],
        ["N005", c, "2026-10-01", "无", "2026-11-02 08:00:04"],
        ["N006", c, "2026-10-01", "/", "2026-11-02 08:00:05"],
        ["N007", c, "2026-10-01", "0", "2026-11-02 08:00:06"],
    ]
    feed = "corpus_penalty_nulls"
    name = f"{feed}_{STAMP}.csv"
    lines = records([list(PEN_COLUMNS), *rows])
    case(
        "penalty_nulls_markers",
        "Missing amounts as exporters write them: empty, NULL and \\N (the engine's null markers: the amount "
        "is null, which this suite only warns about), and '-', '无', '/' which are not declared forms of a number: "
        "quarantined naming the column (a dash may mean zero or unknown; nobody should guess).",
        feed=pen_feed(feed, "csv", PEN_COLUMNS),
        suite=pen_suite(feed, amount_not_null="warning"),
        rows_in=7,
        files={name: "".join(lines).encode("utf-8")},
        expect={
            "N001": conformed(amount=None),
            "N002": conformed(amount=None),
            "N003": conformed(amount=None),
            "N004,": quarantined("amount"),
            "N005,": quarantined("amount"),
            "N006,": quarantined("amount"),
            "N007": conformed(amount=0.0),
        },
        shuffle=shuffle_spec(name, "utf-8", lines, list(range(1, 8))),
    )


def penalty_xlsx_serial() -> None:
    cols = {
        **PEN_COLUMNS,
        "decision_date": {"kind": "date", "formats": ["iso", "%Y/%m/%d", "%Y年%m月%d日", "excel_serial"]},
    }
    c = YY[19:21]
    rows = [
        ["湖州市吴兴区行政处罚决定明细（2026年10月）", None, None, None, None],
        ["penalty_id", "uscc", "decision_date", "amount", "updated_at"],
        ["X001", c[0], dt.datetime(2026, 10, 3), 1234.5, "2026-11-02 08:00:00"],
        ["X002", c[0], 46298, "1,234.5", "2026-11-02 08:00:01"],
        ["X003", c[1], "2026/10/3", "3.5万元", "2026-11-02 08:00:02"],
        ["X004", c[1], "2026年10月3日", 800, "2026-11-02 08:00:03.500"],
        [1005, c[1], "10/3/2026", 800, "2026-11-02 08:00:04"],
        ["合计", None, None, "=SUM(D3:D7)", None],
    ]
    feed = "corpus_penalty_xlsx"
    name = f"{feed}_{STAMP}.xlsx"
    case(
        "penalty_xlsx_serial",
        "An XLSX from the county's case system: a merged title row above the header, dates as real date cells, "
        "as bare Excel serials (46298 = 2026-10-03, General format) and as text; amounts as numbers and text; "
        "a numeric penalty id; a 合计 row with a formula (no cached value) at the bottom.",
        feed=pen_feed(feed, "xlsx", cols),
        overrides={"options": {"header_row": 2}},
        suite=pen_suite(feed),
        rows_in=6,
        files={name: xlsx(rows, merge_title=5, formats={(3, 3): "yyyy-mm-dd"})},
        expect={
            "X001": conformed(decision_date=dt.date(2026, 10, 3), amount=1234.5),
            "X002": conformed(decision_date=dt.date(2026, 10, 3), amount=1234.5),
            "X003": conformed(decision_date=dt.date(2026, 10, 3), amount=35000.0),
            "X004": conformed(decision_date=dt.date(2026, 10, 3), updated_at=dt.datetime(2026, 11, 2, 8, 0, 3, 500000)),
            "1005": quarantined("decision_date"),
            "合计": quarantined("summary row"),
        },
    )


def incidents_xlsx() -> None:
    c = DL[:6]
    rows = [
        ["incident_id", "uscc", "incident_date", "kind", "severity", "updated_at", "处理人"],
        ["INC-001", c[0], dt.datetime(2026, 10, 5), "complaint", 1, "2026-11-02 10:00:00", "段小明"],
        ["INC-002", c[1], "2026-10-06", "late_delivery", "２", "2026-11-02 10:01:00", "杨丽"],
        ["INC-003", c[2], dt.datetime(2026, 11, 10), "quality_failure", 3, "2026-11-02 10:02:00", "李四"],
        ["INC-004", c[3], dt.datetime(2026, 10, 7), "Complaint", 1, "2026-11-02 10:03:00", "段小明"],
        ["INC-005", c[4].lower(), dt.datetime(2026, 10, 8), "complaint", 2, "2026-11-02 10:04:00", "杨丽"],
        ["INC-006", c[5], dt.datetime(2026, 10, 9), "complaint", 3.0, "2026-11-01 22:00:00", "李四"],
        ["INC-006", c[5], dt.datetime(2026, 10, 9), "complaint", 2, "2026-11-02 10:05:00", "李四"],
        ["INC-007", c[0], "2026/10/9", "complaint", 1, "2026-11-02 10:06:00", "段小明"],
    ]
    name = f"sup_incidents_{STAMP}.xlsx"
    case(
        "incidents_xlsx",
        "The service desk's XLSX on the real sup_incidents spec: real date cells and ISO text; a full-width "
        "severity (NFKC by default for numbers); a float cell 3.0; a lower-case USCC (the spec declares NFKC and "
        "upper case: kept, folded); 'Complaint' in the wrong case (kind is free text: not in the set); a future "
        "date; an older copy of a key; a slashed date the spec does not declare; an extra column with staff "
        "names, dropped.",
        feed="sup_incidents",
        suite="sup_incidents",
        rows_in=8,
        files={name: xlsx(rows)},
        expect={
            "INC-001": conformed(incident_date=dt.date(2026, 10, 5), severity=1),
            "INC-002": conformed(incident_date=dt.date(2026, 10, 6), severity=2),
            "INC-003,": quarantined("not_be_in_future(incident_date)"),
            "INC-004,": quarantined("in_set(kind)"),
            "INC-005": conformed(uscc=DL[4]),
            "2026-11-01 22:00:00": quarantined("unique"),
            "INC-006": conformed(severity=2),
            "INC-007,": quarantined("incident_date"),
        },
    )


def buildings_xlsx() -> None:
    header = ["建筑编号", "建筑类型", "建筑面积(平方米)", "建成年份", "行政区划", "联系人", "联系电话", "更新时间"]
    people = ["沈国强", "钱芳"]
    phones = ["13905721234", "13905725678"]
    rows = [
        header,
        ["HZ-B0101", "office", 12000.5, 2008, 330502, people[0], phones[0], "2026-11-02 11:00:00"],
        ["HZ-B0102", "hotel", "12,345.6", "2012", "330503", people[1], phones[1], "2026-11-02 11:01:00"],
        ["HZ-B0103", "办公", 800, 2015, 330502, people[0], phones[0], "2026-11-02 11:02:00"],
        ["HZ-B0104", "education", 5600, "2008年", 330521, people[1], phones[1], "2026-11-02 11:03:00"],
        ["HZ-B0105", "hospital", 30100, 1998, 330102, people[0], phones[0], "2026-11-02 11:04:00"],
    ]
    upper_rows = [
        header,
        ["HZ-B0106", "government", 4200, 2001, 330522, people[1], phones[1], "2026-11-02 11:05:00"],
        ["HZ-B0107", "culture_sports", "9800", 2019, "330523", people[0], phones[0], "2026-11-02 11:06:00"],
    ]
    spaced = f"bld_buildings_{STAMP} 湖州市住建局导出.xlsx"
    upper = f"BLD_BUILDINGS_{STAMP}_B.XLSX"
    legacy = f"bld_buildings_{STAMP}.xls"
    case(
        "buildings_xlsx",
        "The housing bureau's XLSX with Chinese headers (mapped by the spec's renames) and extra contact columns "
        "(dropped, never landed); a name with Chinese and spaces, a second part named in upper case (.XLSX), and a "
        "legacy .xls copy that is not taken (receipted as ignored). Areas as numbers and as text with a thousands "
        "separator; a Chinese building type, a year written '2008年' and a Hangzhou area code are quarantined.",
        feed="bld_buildings",
        suite="bld_buildings",
        rows_in=7,
        files={spaced: xlsx(rows), upper: xlsx(upper_rows), legacy: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504},
        expect={
            "HZ-B0101": conformed(floor_area=12000.5, year_built=2008, region_code="330502"),
            "HZ-B0102": conformed(floor_area=12345.6, year_built=2012),
            "HZ-B0103,": quarantined("in_set(building_type)"),
            "HZ-B0104,": quarantined("year_built"),
            "HZ-B0105,": quarantined("area_code_in_regions(region_code)"),
            "HZ-B0106": conformed(floor_area=4200.0),
            "HZ-B0107": conformed(floor_area=9800.0, region_code="330523"),
            "files": {spaced: {"landed": None}, upper: {"landed": None}, legacy: {"ignored": ["xls", "pattern"]}},
        },
        pii_values=people + phones,
    )


def tax_wan_units() -> None:
    feed = "corpus_tax_monthly"
    columns = {
        "uscc": {"kind": "string", "normalize": "nfkc", "case": "upper"},
        "period": {"kind": "string", "normalize": "nfkc"},
        "revenue": {"kind": "float", "unit": "元", "bare_unit": "万元"},
        "tax_paid": {"kind": "float", "unit": "元", "accept_units": ["元", "万元"]},
        "updated_at": "timestamp",
    }
    spec = {
        "name": feed,
        "description": "Monthly tax per enterprise from the county tax bureau, as GBK CSV with Chinese headers.",
        "channel": "files",
        "table": feed,
        "keys": ["uscc", "period"],
        "watermark_column": "updated_at",
        "columns": columns,
        "renames": {
            "统一社会信用代码": "uscc",
            "所属期": "period",
            "营业收入（万元）": "revenue",
            "实缴税额（元）": "tax_paid",
            "更新时间": "updated_at",
        },
        "options": {"format": "csv", "encoding": "gbk", "pattern": f"{feed}_*.csv", "header_row": 2},
    }
    suite = {
        "name": feed,
        "expectations": [
            exp("expect_compound_columns_to_be_unique", column_list=["uscc", "period"]),
            exp("expect_column_values_to_be_well_formed_uscc", column="uscc"),
            exp("expect_column_values_to_match_regex", column="period", regex=r"^\d{4}-(?:0[1-9]|1[0-2])$"),
            exp("expect_column_values_to_not_be_null", column="revenue"),
            exp("expect_column_values_to_be_non_negative", column="revenue"),
            exp("expect_column_values_to_be_non_negative", column="tax_paid"),
        ],
    }
    c = YY[21:28]
    rows = [
        ["2026年10月 纳税情况汇总表（单位：见表头）", "", "", "", ""],
        ["统一社会信用代码", "所属期", "营业收入（万元）", "实缴税额（元）", "更新时间"],
        [c[0], "2026-10", "1,234.56", "3,456.78", "2026-11-02 12:00:00"],
        [c[1], "2026-10", "0.5", "1.2万元", "2026-11-02 12:01:00"],
        [c[2], "2026-10", "１２", "０", "2026-11-02 12:02:00"],
        [c[3], "2026-10", "100", "1.2亿元", "2026-11-02 12:03:00"],
        [c[4], "2026年10月", "100", "100", "2026-11-02 12:04:00"],
        [c[5], "2026-10", "-3.5", "0", "2026-11-02 12:05:00"],
        [c[6], "2026-10", "8.25万元", "10", "2026-11-02 12:06:00"],
        ["合计", "", "1,455.31", "", ""],
    ]
    lines = records(rows)
    name = f"{feed}_{STAMP}.csv"
    case(
        "tax_wan_units",
        "The tax bureau's GBK summary: a title line, Chinese headers with units in full-width brackets (mapped by "
        "renames), revenue declared in 万元 (bare numbers scaled x10,000, thousands separators, full-width "
        "digits), tax in 元 accepting a 万元 suffix; a 亿元 suffix and a suffix on a column that declares none are "
        "quarantined, as are a 2026年10月 period, a negative revenue and the 合计 row.",
        feed=spec,
        suite=suite,
        rows_in=8,
        files={name: "".join(lines).encode("gbk")},
        expect={
            f"{c[0]}|2026-10": conformed(revenue=12_345_600.0, tax_paid=3456.78),
            f"{c[1]}|2026-10": conformed(revenue=5000.0, tax_paid=12000.0),
            f"{c[2]}|2026-10": conformed(revenue=120_000.0, tax_paid=0.0),
            "1.2亿元": quarantined("tax_paid"),
            "2026年10月,": quarantined("match_regex(period)"),
            "-3.5": quarantined("non_negative(revenue)"),
            "8.25万元": quarantined("revenue"),
            "合计": quarantined("summary row"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, list(range(2, 9))),
    )


def outcomes_bom_padded_header() -> None:
    rows = [*outcomes_rows(DL[27:29]), [YY[28], "2026-10", "1", "2026-11-02 10:09:00"]]
    header = [" uscc ", "period ", "  is_bad", "updated_at"]
    lines = records([header, *rows])
    name = f"sup_outcomes_{STAMP}.csv"
    case(
        "outcomes_bom_padded_header",
        "UTF-8 with BOM (Excel's 'CSV UTF-8') on a feed declared GBK: the BOM is unambiguous and wins; header "
        "names padded with spaces still match the spec.",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=3,
        files={name: b"\xef\xbb\xbf" + "".join(lines).encode("utf-8")},
        expect={
            f"{DL[27]}|2026-10": conformed(is_bad=0),
            f"{DL[28]}|2026-10": conformed(is_bad=1),
            f"{YY[28]}|2026-10": conformed(is_bad=1),
        },
        shuffle=shuffle_spec(name, "utf-8-sig", lines, [1, 2, 3]),
    )


def outcomes_copyb_concatenated() -> None:
    first, second = outcomes_rows(YY[:3]), outcomes_rows(YY[3:6], 1)
    part_a = "".join(records([OUT_HEADER, *first])) + "\x1a"
    part_b = "".join(records([OUT_HEADER, *second])) + "\x1a"
    text = part_a + part_b  # `copy /b a.csv+b.csv all.csv`: each part keeps its ^Z, glued to the next header
    name = f"sup_outcomes_{STAMP}.csv"
    lines = [*records([OUT_HEADER, *first]), "\x1a" + records([OUT_HEADER])[0], *records(second), "\x1a"]
    assert "".join(lines) == text
    case(
        "outcomes_copyb_concatenated",
        "Two GBK exports joined with `copy /b a.csv+b.csv`: the first part's ^Z end-of-file marker is glued to "
        "the second part's header line, and the second part ends with its own ^Z. Both layout lines are rows "
        "quarantined with what they are; the six data rows conform.",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=8,
        files={name: text.encode("gbk")},
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(YY[:3])},
            **{f"{c}|2026-10": conformed(is_bad=(i + 1) % 2) for i, c in enumerate(YY[3:6])},
            "\x1auscc": quarantined(["end-of-file marker", "repeated header"]),
            "\x1a": quarantined("end-of-file marker"),
        },
        shuffle=shuffle_spec(name, "gbk", lines, [1, 2, 3, 5, 6, 7]),
    )


def outcomes_duplicate_copy() -> None:
    rows = outcomes_rows(YY[6:10])
    data = "".join(records([OUT_HEADER, *rows])).encode("gbk")
    names = [f"sup_outcomes_{STAMP}.csv", f"sup_outcomes_{STAMP} (1).csv"]
    case(
        "outcomes_duplicate_copy",
        "The same export dropped twice, the second time as a browser's 'file (1).csv' copy: the same bytes are "
        "one delivery, so its rows count once: one file lands, the other is a duplicate (which is immaterial).",
        feed="sup_outcomes",
        suite="sup_outcomes",
        rows_in=4,
        files={names[0]: data, names[1]: data},
        expect={
            **{f"{c}|2026-10": conformed(is_bad=i % 2) for i, c in enumerate(YY[6:10])},
            "files": {" | ".join(names): {"outcomes": ["duplicate", "landed"]}},
        },
    )


def gas_units_and_offsets() -> None:
    rows = [
        ["G-0201", "HZ-B0014", "2026-10", "12.5", "湖州市民中心", "2026-11-02 07:00:00"],
        ["G-0202", "HZ-B0015", "2026-10", "12.5立方米", "吴兴区档案馆", "2026-11-02T07:00:00+08:00"],
        ["G-0203", "HZ-B0016", "2026-10", "1.2万立方米", "南浔区医院", "2026-11-01T23:00:00Z"],
        ["G-0204", "HZ-B0017", "2026-10", "12.5m³", "德清县图书馆", "2026-11-02 07:00:00.5"],
        ["G-0205", "HZ-B0018", "2026-10", "12.5 M3", "长兴县政府", "2026-11-02 07:01:00"],
        ["G-0206", "HZ-B0019", "2026-10", "12.5吨", "安吉县医院", "2026-11-02 07:02:00"],
        ["G-0207", "HZ-B0020", "2026-10", "12.5kWh", "湖州市体育馆", "2026-11-02 07:03:00"],
    ]
    lines = records([GAS_HEADER, *rows])
    data = "\ufeff".encode() + "".join(lines).encode("utf-8")
    name = f"bld_gas_monthly_{STAMP}.csv"
    case(
        "gas_units_and_offsets",
        "Gas volumes typed with units (立方米, 万立方米, m³, ' M3') on a column declared in m3 accepting those "
        "units; a weight (吨) and an energy unit (kWh) are not volumes and are quarantined. Timestamps with a "
        "+08:00 offset and with Z are read as China time (UTC+8), as the factory's timestamps are.",
        feed="bld_gas_monthly",
        overrides={"columns": {"m3": {"kind": "float", "unit": "m3", "accept_units": ["m3", "立方米", "万立方米"]}}},
        suite="bld_gas_monthly",
        references=REF_BUILDINGS,
        rows_in=7,
        files={name: data, name + ".ok": control(data, 7)},
        expect={
            "G-0201|2026-10": conformed(m3=12.5, updated_at=dt.datetime(2026, 11, 2, 7)),
            "G-0202|2026-10": conformed(m3=12.5, updated_at=dt.datetime(2026, 11, 2, 7)),
            "G-0203|2026-10": conformed(m3=12000.0, updated_at=dt.datetime(2026, 11, 2, 7)),
            "G-0204|2026-10": conformed(m3=12.5, updated_at=dt.datetime(2026, 11, 2, 7, 0, 0, 500000)),
            "G-0205|2026-10": conformed(m3=12.5),
            "G-0206,": quarantined("m3"),
            "G-0207,": quarantined("m3"),
        },
        shuffle=shuffle_spec(name, "utf-8-sig", lines, list(range(1, 8))),
    )


def write_all() -> None:
    for build in (
        elec_gbk_control,
        outcomes_gbk_layout,
        outcomes_signed_footer,
        outcomes_fullwidth_ids,
        outcomes_dos_eof,
        outcomes_utf16_tab,
        outcomes_empty_and_header_only,
        gas_bom_trailing_delims,
        gas_gbk_in_utf8_feed,
        elec_utf8_in_gbk_feed,
        elec_control_mismatch,
        elec_empty_ok_flag,
        elec_wide,
        elec_odd_names,
        reg_gbk_pii_mixed,
        reg_gb18030_rare_chars,
        penalty_mixed_forms,
        penalty_nulls_markers,
        penalty_xlsx_serial,
        incidents_xlsx,
        buildings_xlsx,
        tax_wan_units,
        outcomes_bom_padded_header,
        outcomes_copyb_concatenated,
        outcomes_duplicate_copy,
        gas_units_and_offsets,
    ):
        build()
    for name, spec in CASES.items():
        folder = HERE / name
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        files = spec.pop("files")
        for file, data in files.items():
            (folder / file).write_bytes(data)
        meta = {"description": spec.pop("description"), "logical_date": DAY, **spec}
        (folder / "case.yaml").write_text(
            yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=110), encoding="utf-8"
        )
    print(f"wrote {len(CASES)} cases under {HERE}", file=sys.stderr)


if __name__ == "__main__":
    write_all()
