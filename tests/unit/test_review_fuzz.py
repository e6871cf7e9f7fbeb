"""Fuzzing the output review: canaries in many written forms, planted at random rows of realistic clean
products, in every kind of product column (free text and codes as strings, integers, floats). Every
canary must be caught, in its column and at its row: 0 leaks. The same clean products with nothing
planted measure the false-positive rate (printed; run with -s to see it).

Seeded RNG, so a failure reproduces exactly.
"""

from __future__ import annotations

import unicodedata
from datetime import date, timedelta
from functools import partial

import numpy as np
import pandas as pd
import pytest

from datafactory.domain.identifiers import make_resident_id, make_uscc
from datafactory.products.review import Dictionaries, Policy, flag_values, review_table
from datafactory.sources.pseudonymize import encrypt_value, pseudonym

pytestmark = pytest.mark.unit
KEY = b"fuzz-key"
ID18 = make_resident_id("330502", date(1985, 6, 12), 3)  # Huzhou, born 1985-06-12
ID18X = next(i for i in (make_resident_id("340524", date(1980, 1, 1), n) for n in range(200)) if i.endswith("X"))
ID15 = "330502850612003"  # the same person's first-generation ID: yymmdd, no check character
MOBILE = "13812345678"
PERSON, COMPANY, ADDRESS = "王芳", "湖州市绿洲建材有限公司", "凤凰公寓三幢"
PSEUDO = pseudonym(PERSON, KEY)
DICTS = Dictionaries(
    personal_pseudonyms=frozenset(pseudonym(v, KEY) for v in (PERSON, "欧阳修文", ID18, MOBILE, "13900001111")),
    pseudonymize=partial(pseudonym, key=KEY),
    company_names=frozenset({COMPANY, "余姚市测试3贸易有限公司"}),
    addresses=frozenset({ADDRESS, "阳明街道123号"}),
)


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def grouped(value: str, sizes: tuple[int, ...], sep: str) -> str:
    parts, at = [], 0
    for size in sizes:
        parts.append(value[at : at + size])
        at += size
    return sep.join(p for p in parts if p)


# Text canaries: (format, value). Each is planted alone or inside free text.
TEXT_CANARIES = [
    ("id18", ID18),
    ("id18 small x", ID18X.lower()),
    ("id18 spaces 6-8-4", grouped(ID18, (6, 8, 4), " ")),
    ("id18 spaces 4-4-4-4-2", grouped(ID18, (4, 4, 4, 4, 2), " ")),
    ("id18 hyphens", grouped(ID18, (6, 8, 4), "-")),
    ("id18 full-width", full_width(ID18X)),
    ("id18 full-width spaced", full_width(grouped(ID18, (6, 8, 4), " "))),
    ("id15", ID15),
    ("id15 spaces", grouped(ID15, (6, 6, 3), " ")),
    ("id15 full-width", full_width(ID15)),
    ("mobile", MOBILE),
    ("mobile 3-4-4 hyphens", grouped(MOBILE, (3, 4, 4), "-")),
    ("mobile 3-4-4 spaces", grouped(MOBILE, (3, 4, 4), " ")),
    ("mobile dots", grouped(MOBILE, (3, 4, 4), ".")),
    ("mobile +86", "+86 " + grouped(MOBILE, (3, 4, 4), " ")),
    ("mobile 0086", "0086-" + MOBILE),
    ("mobile full-width", full_width(MOBILE)),
    ("mobile en dash", grouped(MOBILE, (3, 4, 4), "\u2013")),
    ("registry name", PERSON),
    ("registry name spaced", "王 芳"),
    ("registry name after a label", "法人" + PERSON),
    ("registry name before a follower", PERSON + "已签字"),
    ("registry compound name", "欧阳修文"),
    ("pseudonym", PSEUDO),
    ("pseudonym upper", PSEUDO.upper()),
    ("pseudonym mixed case", "P_" + PSEUDO[2:].upper()[:16] + PSEUDO[18:]),
    ("pseudonym after rotation", "p2_" + PSEUDO[2:]),
    ("pseudonym bare hex", PSEUDO[2:]),
    ("sm4 token", encrypt_value(MOBILE, b"0123456789abcdef", b"v")),
    ("sm4 token upper", encrypt_value(MOBILE, b"0123456789abcdef", b"v").replace("sm4gcm:", "SM4GCM:")),
    ("company", COMPANY),
    ("company full-width", full_width(COMPANY)),
    ("company spaced", "湖州市 绿洲建材 有限公司"),
    ("address registry", ADDRESS),
    ("address registry numbered", "阳明街道 123 号"),
    ("address shape", "仁皇山路66号"),
    ("address shape full-width", "仁皇山路" + full_width("66") + "号"),
]
# Where a text canary goes: alone, or inside free text (Chinese and ASCII, glued or spaced).
CONTEXTS = [
    "{}",
    "申请人{}已核验",
    "备注: {}",
    "联系方式：{}，请勿外传",
    "note {} end",
    "【{}】",
    "供货方{}",
    "{};-late deliveries",
]
# Number canaries: (format, value) planted in integer and float columns.
NUMBER_CANARIES = [
    ("mobile as int", int(MOBILE)),
    ("id15 as int", int(ID15)),
    ("id18 as int", int(ID18)) if ID18.isdigit() else ("id15 other as int", 110101900101001),
]
EXPECTED = {  # the check each family must raise (others may fire too)
    "id": {"resident_id", "person_name"},
    "mobile": {"mobile", "person_name"},
    "registry": {"person_name"},
    "pseudonym": {"pseudonym", "person_name"},
    "sm4": {"encrypted"},
    "company": {"company_name"},
    "address": {"address"},
}
TYPES = ["free_text", "code"]
INDUSTRIES = ["批发和零售业", "制造业", "住宿和餐饮业", "建筑业", "信息传输、软件和信息技术服务业", "交通运输业"]
NOTES = [
    "近六个月纳税正常",
    "存在一次行政处罚，已整改",
    "社保缴纳人数稳定",
    "-late deliveries; +firm age",
    "+insured staff; -tax credit grade",
    "2026-11-01 起监测",
    "注册资本1000万元，实缴500万元",
    "评分612.35，较上期上升12分",
    "所属园区: 余姚经济开发区",
    "建材批发，年营业额约3500万元",
    "供应链稳定, 交付准时率98.5%",
    "办公楼宇, 建筑面积12000平方米",
]


def clean_product(rows: int, seed: int) -> pd.DataFrame:
    """A realistic clean product: every column kind a product has, nothing personal."""
    rng = np.random.default_rng(seed)
    start = date(2020, 1, 1)
    return pd.DataFrame(
        {
            "uscc": [
                make_uscc(str(rng.choice(["330281", "330502", "532901", "110101"])), f"{i:08d}") for i in range(rows)
            ],
            "building_id": [f"BLD-{rng.integers(3301, 3399)}-{i:06d}" for i in range(rows)],
            "industry": rng.choice(INDUSTRIES, rows).astype(object),
            "note": rng.choice(NOTES, rows).astype(object),
            "grade": rng.choice(["AAA", "AA", "A", "B", "C"], rows).astype(object),
            "region_code": rng.choice(["330281", "330502", "330503", "532901"], rows).astype(object),
            "as_of": [(start + timedelta(days=int(d))).isoformat() for d in rng.integers(0, 2500, rows)],
            "score": rng.integers(0, 1001, rows),
            "months_with_revenue": rng.integers(0, 7, rows),
            "revenue_6m": np.round(rng.lognormal(14, 1.5, rows), 2),
            "registered_capital": np.round(
                rng.choice([1e5, 5e5, 1e6, 3e6, 1e7, 5e7], rows) * rng.integers(1, 10, rows)
            ),
            "k_value": np.round(rng.uniform(0.3, 2.5, rows), 4),
            "co2_t": np.round(rng.lognormal(4, 1, rows), 1),
            "model_version": rng.choice(["3", "4", "12"], rows).astype(object),
        }
    )


def _family(name: str) -> str:
    head = name.split()[0]
    return {"id18": "id", "id15": "id", "sm4": "sm4", "registry": "registry"}.get(head, head)


CASES = [(name, value, context) for name, value in TEXT_CANARIES for context in CONTEXTS]


def test_there_are_at_least_twenty_formats_in_every_column_type():
    assert len(TEXT_CANARIES) + len(NUMBER_CANARIES) >= 20
    assert len({_family(n) for n, _ in TEXT_CANARIES}) == len(EXPECTED)


@pytest.mark.parametrize("column", ["note", "industry", "uscc", "building_id", "grade"])
def test_every_text_canary_in_every_context_is_caught_in_text_and_code_columns(column: str):
    """All canaries at once among the column's clean values: each one flagged by its family's check."""
    clean = clean_product(300, seed=11)[column]
    planted = [context.format(value) for _, value, context in CASES]
    values = pd.Series([*planted, *clean.unique()], dtype=object)
    flagged = flag_values(values, Policy([column]), DICTS, column)
    leaks = [
        (name, context)
        for i, (name, _, context) in enumerate(CASES)
        if not any(flagged[c].iloc[i] for c in EXPECTED[_family(name)] if c in flagged)
    ]
    assert leaks == [], f"{len(leaks)} of {len(CASES)} canaries leaked from {column}: {leaks[:10]}"
    clean_hits = {c: int(m.iloc[len(planted) :].sum()) for c, m in flagged.items() if m.iloc[len(planted) :].any()}
    assert clean_hits == {}  # and nothing clean next to them


@pytest.mark.parametrize("column", ["note", "uscc", "building_id"])
def test_a_planted_canary_is_reported_at_its_row_of_a_whole_product(column: str):
    rng = np.random.default_rng(sum(map(ord, column)))
    base = clean_product(300, seed=13)
    for pick in rng.choice(len(CASES), 12, replace=False):
        name, value, context = CASES[pick]
        frame = base.copy()
        row = int(rng.integers(0, len(frame)))
        frame.loc[row, column] = context.format(value)
        result = review_table(frame, Policy(list(frame.columns)), DICTS)
        assert not result.passed
        assert {(f.column, f.first_rows[0]) for f in result.findings} == {(column, row)}, (name, result.reasons())


@pytest.mark.parametrize("dtype", ["int64", "Int64", "float64"])
@pytest.mark.parametrize("column", ["score", "registered_capital", "months_with_revenue"])
def test_number_canaries_are_caught_in_integer_and_float_columns(column: str, dtype: str):
    base = clean_product(300, seed=12)
    for name, value in NUMBER_CANARIES:
        if dtype == "float64" and value >= 2**53:
            continue  # beyond float precision the digits are already lost: nothing to leak
        frame = base.copy()
        numbers = [int(v) for v in frame[column]]
        numbers[17] = value
        frame[column] = pd.Series(numbers, dtype="object").astype(dtype)  # no trip through float for ints
        result = review_table(frame, Policy(list(frame.columns)), DICTS)
        hit = {f.check for f in result.findings if f.column == column and 17 in f.first_rows}
        assert hit & EXPECTED[_family(name.split(" as ")[0].split()[0])], (name, dtype, result.reasons())


def test_false_positive_rate_on_clean_products_is_zero_cells_in_a_million():
    """Every clean cell wrongly flagged would stop a publish, so the bound is per product: with 14
    columns and a few thousand rows, a rate of 1e-6 per cell would still reject about one clean
    product in twenty. The measured rate must stay at or below that bound."""
    flagged = cells = products = rejected = 0
    for seed in range(20):
        frame = clean_product(4000, seed=100 + seed)
        result = review_table(frame, Policy(list(frame.columns)), DICTS)
        flagged += sum(f.rows for f in result.findings)
        cells += frame.size
        products += 1
        rejected += not result.passed
    rate = flagged / cells
    print(
        f"\nfalse positives on clean products: {flagged} of {cells:,} cells ({rate:.2e}); "
        f"{rejected} of {products} products rejected"
    )
    assert rate <= 1e-6 and rejected == 0, [f for f in result.findings]


def test_normalization_is_what_catches_them():
    """The same canaries without normalization (the old review) leak: NFKC and digit-run separators matter."""
    assert unicodedata.normalize("NFKC", full_width(MOBILE)) == MOBILE
    frame = pd.DataFrame({"v": [grouped(MOBILE, (3, 4, 4), "-")]})
    assert {f.check for f in review_table(frame, Policy(["v"])).findings} == {"mobile"}
