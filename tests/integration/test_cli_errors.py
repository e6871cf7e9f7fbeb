"""Every CLI error a person can reach is one line on stderr and a non-zero exit; `--debug` shows the trace.

Run as the installed command in fresh processes, with bad state as people really meet it: a new home,
a mistyped or driverless state URL, a PostgreSQL that is down, an unknown feed, a broken spec.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _one_line_error(done) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


def test_pulls_on_a_new_home_lists_nothing_instead_of_failing(tmp_path):
    done = run_cli(["pulls"], {"DATAFACTORY_HOME": str(tmp_path / "new" / "var")}, timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr


@pytest.mark.parametrize(
    "url, phrase",
    [
        ("nonsense", "DATAFACTORY_STATE_URL='nonsense' is not a database URL"),
        ("oracle+nodriver://u@h/db", "DATAFACTORY_STATE_URL: no driver for 'oracle+nodriver'"),
        ("postgresql+psycopg2://postgres:s3cret@127.0.0.1:1/none", "database unavailable: connection to server"),
        ("sqlite:////proc/no/such/state.db", "DATAFACTORY_STATE_URL: cannot create /proc/no/such"),
    ],
)
def test_a_bad_or_unreachable_state_database_is_one_line_that_names_the_setting(tmp_path, url, phrase):
    env = {"DATAFACTORY_HOME": str(tmp_path / "var"), "DATAFACTORY_STATE_URL": url}
    line = _one_line_error(run_cli(["pulls"], env, timeout=120))
    assert phrase in line and "DATAFACTORY_STATE_URL" in line
    assert "s3cret" not in line  # a password in a URL is never printed


def test_debug_shows_the_traceback(tmp_path):
    env = {"DATAFACTORY_HOME": str(tmp_path / "var"), "DATAFACTORY_STATE_URL": "nonsense"}
    done = run_cli(["--debug", "pulls"], env, timeout=120)
    assert done.returncode != 0 and "Traceback" in done.stderr


def test_an_unknown_feed_names_the_known_ones(tmp_path):
    done = run_cli(["quarantine", "release", "--source", "ent_regsitry", "--date", "2026-11-01"], _home(tmp_path))
    assert "unknown feed 'ent_regsitry'" in _one_line_error(done) and "ent_registry" in done.stderr


def _home(tmp_path: Path) -> dict[str, str]:
    return {"DATAFACTORY_HOME": str(tmp_path / "var")}


@pytest.mark.parametrize(
    "old, new, phrase",
    [
        ("keys: [uscc, period]", "keys: uscc", "keys: Input should be a valid list"),
        ('schedule: "@daily"', 'schedule: "@daily"\nwatermark_lookback_hours: six', "watermark_lookback_hours"),
        ("channel: exchange_db", "channel: exchange_db\ncolour: blue", "colour: Extra inputs are not permitted"),
    ],
)
def test_a_broken_feed_spec_is_one_line_naming_the_file_and_field(tmp_path, old, new, phrase):
    repo = tmp_path / "repo"
    for folder in ("sources", "expectations", "models", "products"):
        shutil.copytree(REPO / folder, repo / folder)
    spec = repo / "sources" / "ent_tax_monthly.yaml"
    text = spec.read_text()
    assert old in text
    spec.write_text(text.replace(old, new))
    env = {**_home(tmp_path), "DATAFACTORY_REPO": str(repo)}
    line = _one_line_error(
        run_cli(["quarantine", "release", "--source", "ent_tax_monthly", "--date", "2026-11-01"], env)
    )
    assert str(spec) in line and phrase in line
