"""Airflow stays in datafactory/airflow: no other engine module imports it, at the top or inside a function."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ENGINE = Path(__file__).resolve().parents[2] / "plugins" / "datafactory"


def airflow_imports(source: str) -> list[int]:
    """Line numbers of every `import airflow…` / `from airflow… import …` in a module."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name.split(".")[0] == "airflow" for name in names):
            lines.append(node.lineno)
    return sorted(lines)


def test_the_scan_finds_imports_at_any_depth():
    code = "import os\ndef f():\n    from airflow.sdk import task\n    import airflow.models as m\n"
    code += "from . import airflow\nimport airflowish\n"
    assert airflow_imports(code) == [3, 4]


def test_no_engine_module_outside_airflow_imports_airflow():
    modules = [p for p in ENGINE.rglob("*.py") if "airflow" not in p.relative_to(ENGINE).parts[:1]]
    assert len(modules) > 50  # the whole engine was scanned
    found = {str(p.relative_to(ENGINE)): airflow_imports(p.read_text()) for p in modules}
    assert {path: lines for path, lines in found.items() if lines} == {}
