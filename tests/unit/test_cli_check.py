"""`datafactory check`: the real repo is clean; each fault planted in a copy is one `path: problem`
line of its own (no consequences reported again, no traceback) and a non-zero exit."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from datafactory.cli import main
from tests.conftest import REPO, VENV_BIN

pytestmark = pytest.mark.unit

SPEC_FOLDERS = ("sources", "expectations", "models", "products")


def _copy(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    for folder in SPEC_FOLDERS:
        shutil.copytree(REPO / folder, repo / folder)
    return repo


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{path}: {old!r} not found; update the planted fault"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _suite(repo: Path, name: str, change: Callable[[list[dict]], None]) -> None:
    path = repo / "expectations" / f"{name}.json"
    suite = json.loads(path.read_text(encoding="utf-8"))
    change(suite["expectations"])
    path.write_text(json.dumps(suite, ensure_ascii=False, indent=2), encoding="utf-8")


def _index(expectations: list[dict], kind: str) -> int:
    return next(i for i, e in enumerate(expectations) if e["type"] == kind)


def _unknown_type(repo: Path) -> str:
    _suite(repo, "ent_tax_credit", lambda exps: exps[0].update(type="expect_column_values_to_sparkle"))
    return (
        "expectations/ent_tax_credit.json: expectations.0: expect_column_values_to_sparkle is not a GE "
        "expectation (nor one in quality/custom_expectations.py)"
    )


def _suite_column(repo: Path) -> str:
    found: dict[str, int] = {}

    def change(exps: list[dict]) -> None:
        found["i"] = i = _index(exps, "expect_column_values_to_not_be_null")
        exps[i]["kwargs"]["column"] = "no_such_column"

    _suite(repo, "ent_tax_monthly", change)
    return (
        f"expectations/ent_tax_monthly.json: expectations.{found['i']}: expect_column_values_to_not_be_null: "
        "column 'no_such_column' is not a column of sources/ent_tax_monthly.yaml"
    )


def _bad_kwargs(repo: Path) -> str:
    found: dict[str, int] = {}

    def change(exps: list[dict]) -> None:
        found["i"] = i = _index(exps, "expect_column_values_to_not_be_null")
        exps[i]["kwargs"]["mostly"] = "most"

    _suite(repo, "ent_tax_monthly", change)
    return f"expectations/ent_tax_monthly.json: expectations.{found['i']}: expect_column_values_to_not_be_null: mostly:"


def _features_column(repo: Path) -> str:
    _edit(repo / "models/anti_fraud_admission/features.sql", "reg.registered_capital", "reg.no_such_column")
    return (
        "models/anti_fraud_admission/features.sql: "
        'Binder Error: Table "reg" does not have a column named "no_such_column"'
    )


def _missing_feed(repo: Path) -> str:
    _edit(
        repo / "products/enterprise_360_profile.yaml", "inputs: [ent_registry,", "inputs: [ent_nowhere, ent_registry,"
    )
    return "products/enterprise_360_profile.yaml: inputs: 'ent_nowhere' is not a feed in sources/"


def _keys_as_string(repo: Path) -> str:
    _edit(repo / "sources/ent_registry.yaml", "keys: [uscc]", "keys: uscc")
    return "sources/ent_registry.yaml: keys: Input should be a valid list"


def _lookback_as_word(repo: Path) -> str:
    path = repo / "sources/med_visits.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "watermark_lookback_hours: six\n", encoding="utf-8")
    return "sources/med_visits.yaml: watermark_lookback_hours: Input should be a valid number"


def _columns_as_list(repo: Path) -> str:
    path = repo / "sources/weather_monthly.yaml"
    text = path.read_text(encoding="utf-8")
    block = re.search(r"^columns:\n((?:  .*\n)+)", text, flags=re.MULTILINE)
    assert block, "weather_monthly.yaml: no columns block"
    as_list = "".join(f"  - {line.strip()}\n" for line in block.group(1).splitlines())
    path.write_text(text.replace(block.group(0), "columns:\n" + as_list), encoding="utf-8")
    return "sources/weather_monthly.yaml: columns: Input should be a valid dictionary"


def _product_grade(repo: Path) -> str:
    _edit(repo / "products/anti_fraud_admission.yaml", "medium: 500, high: 800", "medium: 900, high: 800")
    return "products/anti_fraud_admission.yaml: grades.risk_band: bounds must increase strictly"


def _model_key(repo: Path) -> str:
    _edit(repo / "models/supplier_rating/model.yaml", "pdo: 20", "pdo: 20\n  offset: 3")
    return "models/supplier_rating/model.yaml: scaling.offset: Extra inputs are not permitted"


def _platform_limits_disagree(repo: Path) -> str:
    _edit(
        repo / "sources/med_visits.yaml",
        "platform: {name: sharing_platform, connections: 4}",
        "platform: {name: sharing_platform, connections: 6}",
    )
    return "sources/med_visits.yaml: platform: platform 'sharing_platform': med_visits declares 6 connection(s)"


FAULTS = [
    _unknown_type,
    _suite_column,
    _bad_kwargs,
    _features_column,
    _missing_feed,
    _keys_as_string,
    _lookback_as_word,
    _columns_as_list,
    _product_grade,
    _model_key,
    _platform_limits_disagree,
]


def test_the_repo_checks_clean(capsys: pytest.CaptureFixture[str]):
    assert main(["check", "--repo", str(REPO)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("datafactory check: ") and out[0].endswith(": OK")


@pytest.mark.parametrize("plant", FAULTS, ids=[f.__name__.strip("_") for f in FAULTS])
def test_a_planted_fault_is_exactly_its_own_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], plant):
    repo = _copy(tmp_path)
    expected = plant(repo)
    assert main(["check", "--repo", str(repo)]) == 1
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(expected), lines[0]
    assert "Traceback" not in captured.out + captured.err
    assert "1 problem" in captured.err


def test_every_finding_is_reported_not_just_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    repo = _copy(tmp_path)
    expected = [plant(repo) for plant in (_keys_as_string, _unknown_type, _missing_feed)]
    assert main(["check", "--repo", str(repo)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert sorted(lines) == sorted(expected)


def test_the_command_exits_non_zero_with_plain_lines_and_no_traceback(tmp_path: Path):
    repo = _copy(tmp_path)
    expected = _lookback_as_word(repo)
    done = subprocess.run(
        [str(VENV_BIN / "datafactory"), "check", "--repo", str(repo)], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [expected + ", unable to parse string as a number"]
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    "hostile",
    ["SELECT content AS uscc FROM read_text('/etc/passwd')", "COPY (SELECT 1 AS uscc) TO '{target}' (FORMAT csv)"],
)
def test_checking_hostile_spec_sql_touches_no_host_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile):
    """`check` runs spec SQL as the engine does, in the DuckDB sandbox: it reports, and reads or writes nothing."""
    repo = _copy(tmp_path)
    target = tmp_path / "written-by-spec-sql.csv"
    (repo / "models/anti_fraud_admission/features.sql").write_text(hostile.format(target=target), encoding="utf-8")
    assert main(["check", "--repo", str(repo)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert any(line.startswith("models/anti_fraud_admission/features.sql: ") for line in lines), lines
    assert not any("root:" in line for line in lines)
    assert not target.exists()
