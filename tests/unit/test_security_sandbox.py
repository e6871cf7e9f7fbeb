"""Spec SQL runs in a DuckDB sandbox: its inputs and nothing else of the host."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from datafactory import sandbox
from datafactory.sandbox import SandboxError

pytestmark = pytest.mark.unit


@pytest.fixture
def inputs(tmp_path: Path) -> dict:
    path = tmp_path / "conformed.parquet"
    pd.DataFrame({"uscc": ["a", "b"], "amount": [1.5, 2.5]}).to_parquet(path)
    return {"feed": path, "frame": pd.DataFrame({"uscc": ["a"], "grade": ["A"]})}


def test_the_sandbox_reads_its_registered_inputs(inputs):
    with sandbox.connect(inputs) as con:
        rows = con.execute("SELECT f.uscc, amount, grade FROM feed f JOIN frame USING (uscc)").fetchall()
    assert rows == [("a", 1.5, "A")]


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('/etc/passwd')",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_parquet('{path}')",  # even an input's own file, by path
        "COPY (SELECT 1) TO '{folder}/out.csv'",
        "ATTACH '{folder}/other.duckdb'",
        "INSTALL httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "SELECT * FROM glob('/etc/*')",
    ],
)
def test_spec_sql_cannot_reach_the_host_or_unlock_the_sandbox(inputs, sql):
    folder = inputs["feed"].parent
    with sandbox.connect(inputs) as con, pytest.raises(SandboxError) as raised:
        con.execute(sql.format(path=inputs["feed"], folder=folder))
    message = str(raised.value)
    assert "\n" not in message and message.startswith("spec SQL may")
    assert not (folder / "out.csv").exists() and not (folder / "other.duckdb").exists()


def test_a_features_sql_that_reads_a_host_file_fails_with_one_line(tmp_path: Path, monkeypatch):
    from datafactory.modeling.features import build_features
    from datafactory.zones import Zones

    zones = Zones(tmp_path)
    folder = tmp_path / "conformed" / "ent_registry"
    folder.mkdir(parents=True)
    pd.DataFrame({"uscc": ["a"]}).to_parquet(folder / "ds=2026-11-01.parquet")

    class Spec:
        name = "evil"
        inputs = ("ent_registry",)
        features_sql = "SELECT uscc, (SELECT content FROM read_text('/etc/passwd')) AS leak FROM ent_registry"
        sql_params: dict = {}  # noqa: RUF012

    with pytest.raises(SandboxError) as raised:
        build_features(Spec(), zones, date(2026, 11, 2))
    assert str(raised.value) == (
        'spec SQL may only read its inputs (ent_registry): Cannot access file "/etc/passwd" - file system '
        "operations are disabled by configuration"
    )
    from datafactory.cli.errors import one_line

    assert one_line(raised.value) == str(raised.value)


def test_product_sql_runs_in_the_same_sandbox(inputs):
    from datafactory.products.build import run_sql

    assert run_sql("SELECT count(*) AS n FROM feed", inputs, {}).n.tolist() == [2]
    with pytest.raises(SandboxError):
        run_sql("SELECT * FROM read_text('/etc/hostname')", inputs, {})


def test_input_names_must_be_identifiers(inputs):
    with pytest.raises(ValueError, match="not an SQL identifier"):
        sandbox.connect({"feed; DROP": inputs["feed"]})
