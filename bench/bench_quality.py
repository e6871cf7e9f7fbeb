"""Validate a 1M-row enterprise table with every row-level expectation plus quarantine, through
the GE engine and through the same rules as hand-written vectorized pandas; print both and the ratio.

    .venv/bin/python bench/bench_quality.py [--rows 1000000] [--profile]

Both paths apply the same rule kernels (`quality.rules`), so the ratio is what GE and the engine's
bookkeeping (per-expectation metrics, failing-row indexes, reasons, the split) add on top.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time
from datetime import date

import numpy as np
import pandas as pd

from datafactory.quality import rules
from datafactory.quality.casting import coerce
from datafactory.quality.runner import validate_frame
from datafactory.quality.split import REASON_COLUMN, older_duplicates, row_failures, split_rows
from datafactory.sources.simulator.defects import DefectPlan, inject_defects
from datafactory.sources.simulator.enterprise import uscc_for
from datafactory.specs import SuiteSpec

SORT = "tottime"
LOGICAL_DATE = date(2026, 11, 1)
REGIONS = ["330200", "330500", "370100", "370200", "532900"]
STATUSES = ["active", "revoked", "cancelled"]
COLUMNS = {
    "uscc": "string",
    "name": "string",
    "legal_rep_id_valid": "bool",
    "registered_capital": "float",
    "established_date": "date",
    "region_code": "string",
    "status": "string",
    "credit_grade": "string",
    "updated_at": "timestamp",
}


def _q(kind: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"severity": "quarantine"}}


SUITE = SuiteSpec.model_validate(
    {
        "name": "bench_enterprise",
        "expectations": [
            _q("expect_column_values_to_be_unique", column="uscc"),
            _q("expect_column_values_to_not_be_null", column="uscc"),
            _q("expect_column_values_to_not_be_null", column="name"),
            _q("expect_column_values_to_be_well_formed_uscc", column="uscc"),
            {**_q("expect_column_values_to_be_valid_uscc", column="uscc"), "meta": {"severity": "warning"}},
            _q("expect_column_pair_values_to_be_valid_uscc_or_pilot", column_A="uscc", column_B="established_date"),
            _q("expect_column_values_to_not_be_in_future", column="established_date", reference_date="2026-11-01"),
            _q("expect_column_values_to_be_non_negative", column="registered_capital"),
            _q("expect_column_values_to_be_in_set", column="status", value_set=STATUSES),
            _q("expect_column_values_to_be_area_code_in_regions", column="region_code", regions=REGIONS),
            _q("expect_column_values_to_be_tax_credit_grade", column="credit_grade"),
            _q("expect_column_values_to_be_in_set", column="legal_rep_id_valid", value_set=[True]),
        ],
    }
)


def enterprise_table(rows: int, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    uscc = uscc_for(np.arange(rows))
    frame = pd.DataFrame(
        {
            "uscc": uscc,
            "name": [f"企业{i}" for i in range(rows)],
            "legal_rep_id_valid": rng.random(rows) > 0.002,
            "registered_capital": np.round(rng.lognormal(5.0, 1.2, rows), 2),
            "established_date": pd.Timestamp(LOGICAL_DATE) - pd.to_timedelta(rng.integers(30, 9000, rows), unit="D"),
            "region_code": [u[2:8] for u in uscc],
            "status": rng.choice(STATUSES, rows, p=[0.9, 0.07, 0.03]),
            "credit_grade": rng.choice(list("ABMCDE"), rows, p=[0.3, 0.4, 0.1, 0.1, 0.097, 0.003]),
        }
    )
    frame["updated_at"] = pd.Timestamp(LOGICAL_DATE) + pd.to_timedelta(rng.integers(0, 86_400, rows), unit="s")
    plan = DefectPlan(
        key=["uscc"], not_null=["name"], uscc=["uscc"], dates=["established_date"], amounts=["registered_capital"]
    )
    typed, _ = coerce(inject_defects(frame, plan, rng), COLUMNS)  # as conform types a raw partition
    return typed


def through_ge(frame: pd.DataFrame) -> tuple[int, int]:
    duplicates = older_duplicates(frame, ["uscc"], "updated_at")
    outcomes, _ = validate_frame(frame, SUITE)
    reasons = row_failures(len(frame), outcomes, duplicates, {})
    split = split_rows(frame, frame, reasons, "bench", "bench_enterprise")
    return len(split.conformed), len(split.quarantined)


def hand_written(frame: pd.DataFrame) -> tuple[int, int]:
    """The same rules, written directly: one boolean mask per rule, then the split."""
    uscc, established = frame["uscc"], frame["established_date"]
    present = uscc.notna().to_numpy()
    failures = {
        "unique(uscc)": older_duplicates(frame, ["uscc"], "updated_at").to_numpy(),
        "not_null(uscc)": ~present,
        "not_null(name)": frame["name"].isna().to_numpy(),
        "well_formed_uscc(uscc)": present & ~rules.uscc_structure_ok(uscc),
        "uscc_or_pilot(uscc,established_date)": present & ~rules.valid_uscc_or_pilot(uscc, established),
        "not_in_future(established_date)": ~rules.not_in_future(established, "2026-11-01"),
        "non_negative(registered_capital)": frame["registered_capital"].notna().to_numpy()
        & ~rules.non_negative(frame["registered_capital"]),
        "in_set(status)": frame["status"].notna().to_numpy() & ~frame["status"].isin(STATUSES).to_numpy(),
        "area_code_in_regions(region_code)": frame["region_code"].notna().to_numpy()
        & ~rules.area_code_in_regions(frame["region_code"], REGIONS),
        "tax_credit_grade(credit_grade)": frame["credit_grade"].notna().to_numpy()
        & ~rules.tax_credit_grade(frame["credit_grade"]),
        "in_set(legal_rep_id_valid)": ~frame["legal_rep_id_valid"].to_numpy(dtype=bool),
    }
    flagged = int((present & ~rules.valid_uscc(uscc)).sum())  # warning: reported, rows stay
    failed = np.logical_or.reduce(list(failures.values()))
    labels = np.array(list(failures))
    matrix = np.column_stack(list(failures.values()))[failed]
    quarantined = frame[failed].astype("string")
    quarantined[REASON_COLUMN] = ["; ".join(labels[row]) for row in matrix]
    conformed = frame[~failed].reset_index(drop=True)
    assert flagged >= 0
    return len(conformed), len(quarantined)


def _timed(fn, frame: pd.DataFrame) -> tuple[float, tuple[int, int]]:
    start = time.perf_counter()
    result = fn(frame)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each path, interleaved; the best counts")
    parser.add_argument("--profile", action="store_true", help="print the GE path's top functions")
    args = parser.parse_args()
    frame = enterprise_table(args.rows)
    through_ge(frame.head(1000))  # import GE and register expectations outside the timings
    print(f"table: {len(frame):,} rows x {frame.shape[1]} columns; {len(SUITE.expectations)} expectations")
    hand_times, ge_times = [], []
    for _ in range(args.repeat):  # interleaved, so both paths see the same machine load
        hand_s, hand = _timed(hand_written, frame)
        ge_s, ge = _timed(through_ge, frame)
        hand_times.append(hand_s)
        ge_times.append(ge_s)
    hand_s, ge_s = min(hand_times), min(ge_times)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        through_ge(frame)
        profiler.disable()
        pstats.Stats(profiler).sort_stats(SORT).print_stats(40)
    if ge != hand:
        raise SystemExit(f"paths disagree: GE (conformed, quarantined) {ge} vs hand-written {hand}")
    print(f"conformed {ge[0]:,}  quarantined {ge[1]:,}  (rows in {len(frame):,})")
    print(f"hand-written pandas: {hand_s:8.2f} s  (best of {args.repeat})")
    print(f"GE engine:           {ge_s:8.2f} s  (best of {args.repeat})")
    print(f"ratio GE / pandas:   {ge_s / hand_s:8.2f} x  (target <= 1.5x, issue 16)")


if __name__ == "__main__":
    main()
