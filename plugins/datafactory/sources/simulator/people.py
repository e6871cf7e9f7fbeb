"""Synthetic persons: valid resident IDs, Chinese names and mobile numbers (vectorized)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np

from datafactory.domain.identifiers import make_resident_id

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅海燕鹏飞宇浩然欣怡子涵")
MOBILE_PREFIXES = np.array(
    [130, 131, 132, 135, 136, 137, 138, 139, 150, 151, 152, 158, 159, 176, 177, 186, 187, 188, 199]
)


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    s = rng.choice(SURNAMES, n)
    g1 = rng.choice(GIVEN, n)
    g2 = np.where(rng.random(n) < 0.6, rng.choice(GIVEN, n), "")
    return np.char.add(np.char.add(s.astype(str), g1.astype(str)), g2.astype(str))


def mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    prefix = rng.choice(MOBILE_PREFIXES, n).astype(np.int64)
    return (prefix * 100_000_000 + rng.integers(0, 100_000_000, n)).astype(str)


def resident_ids(rng: np.random.Generator, areas: np.ndarray) -> list[str]:
    born = date(1955, 1, 1)
    days = rng.integers(0, 365 * 45, len(areas))
    seqs = rng.integers(0, 1000, len(areas))
    return [
        make_resident_id(a, born + timedelta(days=int(d)), int(q)) for a, d, q in zip(areas, days, seqs, strict=True)
    ]
