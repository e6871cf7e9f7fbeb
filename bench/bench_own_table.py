"""Reading a modeller's own table: a LendingClub-shaped loan book of N rows (amounts written `5,000`,
rates `13.56%`, grades, employment lengths, states, outcomes) saved as .xlsx, .csv and .csv.gz, read
by the trainer's `read_table`; beside it, in the same process, the same workbook read by pandas with
openpyxl (the reader `read_table` used before) as the baseline, and the ratio.

    .venv/bin/python -m bench.bench_own_table [--rows 100000]

Figures, not assertions: each read is timed once after a warm-up read of a small file.
"""

from __future__ import annotations

import argparse
import gzip
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def loan_book(rows: int, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    grade = rng.choice(list("ABCDEFG"), rows, p=[0.2, 0.3, 0.25, 0.13, 0.07, 0.03, 0.02])
    rate = 6 + (np.frombuffer("".join(grade).encode(), dtype=np.uint8) - 65) * 3.5 + rng.normal(0, 1, rows)
    income = rng.lognormal(11, 0.6, rows)
    bad = rng.random(rows) < 1 / (1 + np.exp(-(-3 + 0.12 * rate - 0.4 * np.log(income / 60_000))))
    return pd.DataFrame(
        {
            "loan_amnt": [f"{a:,}" for a in rng.choice([5_000, 10_000, 15_000, 20_000, 35_000], rows)],
            "int_rate": [f"{r:.2f}%" for r in rate],
            "grade": grade,
            "emp_length": rng.choice(["< 1 year", "1 year", "2 years", "5 years", "10+ years", "n/a"], rows),
            "annual_inc": income.round(2),
            "addr_state": rng.choice([f"S{i:02d}" for i in range(50)], rows),
            "dti": rng.uniform(0, 40, rows).round(2),
            "loan_status": np.where(bad, "Charged Off", "Fully Paid"),
        }
    )


def timed(read) -> float:
    start = time.perf_counter()
    read()
    return time.perf_counter() - start


def main() -> None:
    from datafactory.modeling.tables import read_table

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    book = loan_book(args.rows)
    with tempfile.TemporaryDirectory(prefix="bench-own-table-") as folder:
        root = Path(folder)
        xlsx, csv, packed = root / "loans.xlsx", root / "loans.csv", root / "loans.csv.gz"
        book.to_excel(xlsx, index=False)
        book.to_csv(csv, index=False)
        packed.write_bytes(gzip.compress(csv.read_bytes()))
        warm = root / "warm.xlsx"
        book.head(100).to_excel(warm, index=False)
        read_table(warm)
        pd.read_excel(warm, engine="openpyxl")
        print(f"own table: {args.rows:,} rows x {len(book.columns)} columns (LendingClub-shaped loan book)")
        baseline = timed(lambda: pd.read_excel(xlsx, engine="openpyxl"))
        factory = timed(lambda: read_table(xlsx))
        line = "  {:7} read_table {:6.2f} s   {:24} {:6.2f} s   ratio {:.2f}x"
        print(line.format(".xlsx", factory, "pandas + openpyxl alone", baseline, factory / baseline))
        plain = timed(lambda: pd.read_csv(csv))
        factory_csv = timed(lambda: read_table(csv))
        print(line.format(".csv", factory_csv, "pandas read_csv alone", plain, factory_csv / plain))
        factory_gz = timed(lambda: read_table(packed))
        print(f"  .csv.gz read_table {factory_gz:6.2f} s   (the .csv's read_table: {factory_csv:.2f} s)")


if __name__ == "__main__":
    main()
