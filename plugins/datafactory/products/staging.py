"""Product runs' staging folders are kept for a while after their run, then pruned.

A run's folder holds its built table and its check results until `publish`; after that the store
holds what was published and the review report holds why a run was rejected. The folders of older
runs are kept `retention_days` (a failed run stays readable while someone looks into it), then
removed when the same product builds again, so `var/staging` does not grow with every day's run.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterable
from pathlib import Path


def expired(folders: Iterable[tuple[Path, float]], now: float, retention_days: float, keep: Path) -> list[Path]:
    """The folders (with their last-modified times) untouched for longer than the retention, never `keep`."""
    limit = now - retention_days * 86_400
    return sorted(path for path, modified in folders if modified < limit and path != keep)


def prune_runs(product_root: Path, keep: Path, retention_days: float, now: float | None = None) -> list[Path]:
    """Remove the product's expired run folders; returns what was removed. A folder that vanishes
    meanwhile (another run pruning) is not an error."""
    if not product_root.is_dir():
        return []
    folders = []
    for path in product_root.iterdir():
        try:
            if path.is_dir():
                folders.append((path, _last_change(path)))
        except FileNotFoundError:
            continue
    removed = expired(folders, time.time() if now is None else now, retention_days, keep)
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed


def _last_change(folder: Path) -> float:
    """The newest modification time of the folder or anything directly in it (a stage rewrites its file)."""
    times = [folder.stat().st_mtime]
    times += [p.stat().st_mtime for p in folder.iterdir()]
    return max(times)
