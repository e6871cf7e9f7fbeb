"""What a modeller's file really holds, read from its first bytes rather than trusted from its name.
Standard library only: the CLI decides before any heavy import, and the trainer decides the same way.

Web systems in Chinese government offices export "Excel" files that are tab-separated text or an
HTML table under a `.xls` name; a workbook is sometimes renamed `.csv`; Excel 97-2003 workbooks
(`.xls`, an OLE2 compound file) are still what many systems write."""

from __future__ import annotations

from pathlib import Path

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".tab")
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet", ".pq")
ACCEPTED = "a .csv (or .tsv, .txt), .xlsx, .xls or .parquet file, or one such file in a .gz or .zip"

_ZIP = b"PK\x03\x04"  # .xlsx and .xlsm
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (and an .xlsx saved with a password)
_PARQUET = b"PAR1"
_HTML_MARKS = (b"<html", b"<table", b"<!doctype html", b"<?xml", b"<meta")


def table_kind(path: Path) -> str:
    """'text', 'xlsx', 'xls' or 'parquet'; or one error naming the file and what to do."""
    suffix = path.suffix.lower()
    if suffix not in TEXT_SUFFIXES + WORKBOOK_SUFFIXES + PARQUET_SUFFIXES:
        raise ValueError(f"{path.name}: unsupported file type '{suffix}'; give {ACCEPTED}")
    with path.open("rb") as handle:
        head = handle.read(512)
    if head.startswith(_ZIP):
        return "xlsx"
    if head.startswith(_OLE2):
        return "xls"
    if head.startswith(_PARQUET) or suffix in PARQUET_SUFFIXES:
        return "parquet"
    if _markup(head):
        raise ValueError(
            f"{path.name}: a web page (HTML or XML) under a '{suffix}' name, as some web systems export "
            "'Excel'; open it in Excel and save it as .xlsx, or export CSV"
        )
    return "text"  # a delimited text file, whatever its name says (`.xls` exports are often tab-separated)


def _markup(head: bytes) -> bool:
    text = head.replace(b"\x00", b"")  # UTF-16 markup reads as ASCII without its zeros
    for bom in (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"):
        text = text.replace(bom, b"")  # a BOM, or two (a BOM character written after the encoder's own)
    return text.lstrip().lower().startswith(_HTML_MARKS)
