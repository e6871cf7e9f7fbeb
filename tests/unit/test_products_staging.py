import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datafactory.products.staging import expired, prune_runs

pytestmark = pytest.mark.unit

DAY = 86_400


def _run_folder(root: Path, name: str, age_days: float, now: float) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "table.parquet").write_bytes(b"x")
    stamp = now - age_days * DAY
    os.utime(folder / "table.parquet", (stamp, stamp))
    os.utime(folder, (stamp, stamp))
    return folder


def test_runs_older_than_the_retention_are_removed_and_the_rest_kept(tmp_path):
    now = time.time()
    old = _run_folder(tmp_path, "scheduled__2026-11-01", 9, now)
    recent = _run_folder(tmp_path, "scheduled__2026-11-06", 2, now)
    current = _run_folder(tmp_path, "manual__2026-10-01", 30, now)  # the run building now, however old its name
    assert prune_runs(tmp_path, keep=current, retention_days=7, now=now) == [old]
    assert not old.exists() and recent.exists() and current.exists()


def test_a_run_whose_stage_wrote_lately_counts_as_recent(tmp_path):
    now = time.time()
    folder = _run_folder(tmp_path, "scheduled__2026-11-01", 9, now)
    (folder / "review.json").write_text("{}")  # a stage ran again today (a cleared task)
    os.utime(folder, (now - 9 * DAY, now - 9 * DAY))
    assert prune_runs(tmp_path, keep=tmp_path / "other", retention_days=7, now=now) == []
    assert folder.exists()


def test_a_product_that_never_built_has_nothing_to_prune(tmp_path):
    assert prune_runs(tmp_path / "missing", keep=tmp_path / "missing" / "run", retention_days=7) == []


@given(
    ages=st.lists(st.integers(min_value=0, max_value=60 * DAY), max_size=12),
    retention=st.integers(min_value=1, max_value=30),
    keep_index=st.integers(min_value=0, max_value=12),
)
def test_exactly_the_expired_folders_other_than_the_current_run_go(ages, retention, keep_index):
    now = 1_800_000_000  # whole seconds: the oracle and the code agree at the boundary itself
    folders = [(Path(f"run{i}"), float(now - age)) for i, age in enumerate(ages)]
    keep = Path(f"run{keep_index}")
    gone = set(expired(folders, now, retention, keep))
    for (path, _), age in zip(folders, ages, strict=True):
        assert (path in gone) == (age > retention * DAY and path != keep)
