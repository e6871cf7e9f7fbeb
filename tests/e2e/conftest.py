"""The README's demo sequence, run once for every e2e module: `datafactory run` for day one, again for day
two, then a rerun of day one. Each module asserts on it (and on snapshots taken between the runs), so the
e2e suite pays for one factory, not three."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

DAY1, DAY2 = "2026-11-01", "2026-11-02"
PSEUDONYM_KEY = "e2e-key"


def store_state(products: Path) -> dict[str, dict]:
    """Per product: its versions (manifests) and what latest points at."""
    state = {}
    for folder in sorted(p for p in products.iterdir() if p.is_dir()):
        manifests = {int(m.parent.name[1:]): json.loads(m.read_text()) for m in folder.glob("v*/manifest.json")}
        latest = folder / "latest.json"
        state[folder.name] = {
            "manifests": manifests,
            "latest": json.loads(latest.read_text())["version"] if latest.exists() else None,
        }
    return state


@pytest.fixture(scope="session")
def demo(tmp_path_factory) -> dict:
    home = tmp_path_factory.mktemp("demo") / "var"
    env = {
        "DATAFACTORY_HOME": str(home),
        "DATAFACTORY_ENTERPRISES": "800",  # the smallest population every model trains on
        "DATAFACTORY_PSEUDONYM_KEY": PSEUDONYM_KEY,
        "DATAFACTORY_FIRST_DATE": DAY1,
    }
    runs = [run_cli(["run"], env), run_cli(["run"], env)]
    after_day2 = store_state(home / "products")
    runs.append(run_cli(["run", "--date", DAY1], env))
    after_rerun = store_state(home / "products")
    rerun_reports = {  # what the rerun's publish runs said and built with, before anything else runs day 1
        name: {
            "report": json.loads((home / "review" / DAY1 / f"{name}.json").read_text()),
            "model": json.loads(
                max(
                    (home / "staging" / "products" / name).glob("*/build.json"), key=lambda p: p.stat().st_mtime
                ).read_text()
            )["model"],
        }
        for name in after_rerun
    }
    return {
        "home": home,
        "env": env,
        "runs": runs,
        "after_day2": after_day2,
        "after_rerun": after_rerun,
        "rerun_reports": rerun_reports,
    }
