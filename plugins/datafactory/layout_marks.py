"""The labels office exports put on rows that are not data: totals (合计, 小计, Total) and sign-off,
source or footnote lines (制表人：, 数据来源：, 注1：). Pure: ingest matches them with Arrow over whole
columns (`sources/fileparse.py`), the trainer with Python's `re` over a modeller's table."""

from __future__ import annotations

import re

SUMMARY_MARKERS = ("合计", "小计", "总计", "平均", "备注")
LABEL_COLUMNS = 3  # summary labels sit in the leading columns; exact labels are looked for there
EXACT_SUMMARY = sorted(
    {
        f"{pad}{a}{gap}{b}{colon}{pad}"
        for a, b in SUMMARY_MARKERS
        for gap in ("", " ", "  ", "\u3000")
        for colon in ("", ":", "：")
        for pad in ("", " ")
    }
    | {
        f"{pad}{word}{colon}{pad}"
        for pad in ("", " ")
        for base in ("total", "subtotal", "sub-total", "sub total", "grand total")
        for word in (base, base.title(), base.upper(), base.capitalize())
        for colon in ("", ":")
    }
)
# Who made and checked the table, for which unit, from what source, and numbered notes. A marker counts
# only when a colon follows it ("注：", "制表人:", "注1："), so a name that merely starts with such a word
# ("注册资本", "来源公司") stays data.
NOTE_MARKERS = (
    "制表人", "制表日期", "制表单位", "制表", "审核人", "审核", "复核人", "复核", "负责人", "联系人", "联系电话",
    "填报单位", "填报人", "填报日期", "填表人", "填表日期", "数据来源", "资料来源", "来源", "统计时间", "导出时间",
    "打印时间", "说明", "注", "单位",
)  # fmt: skip
NOTE_NUMBER = "[0-9０-９一二三四五六七八九十()（）]*"


def summary_start(gap: str) -> str:
    """A cell that starts with a summary marker (blanks allowed between its two characters)."""
    return "^" + gap + "(" + "|".join(f"{a}{gap}{b}" for a, b in SUMMARY_MARKERS) + ")"


def note_start(gap: str) -> str:
    """A cell that starts with a note marker, a note number, then a colon."""
    return "^" + gap + "(" + "|".join(NOTE_MARKERS) + ")" + gap + NOTE_NUMBER + gap + "[:：]"


PYTHON_GAP = r"[\s\u3000\u00a0]*"
SUMMARY_CELL = re.compile(summary_start(PYTHON_GAP))
NOTE_CELL = re.compile(note_start(PYTHON_GAP))
EXACT_SUMMARY_SET = frozenset(EXACT_SUMMARY)


def is_layout_row(cells: list[object]) -> bool:
    """A total or a sign-off line, by its leading cells: an exact total label in any of them, or a first
    filled cell (a number fills it too, as in ingest) that starts with a total or note marker."""
    filled = [cell for cell in cells[:LABEL_COLUMNS] if cell is not None and str(cell).strip()]
    if any(isinstance(cell, str) and cell in EXACT_SUMMARY_SET for cell in filled):
        return True
    first = filled[0] if filled else None
    return isinstance(first, str) and bool(SUMMARY_CELL.match(first) or NOTE_CELL.match(first))
