"""Specs are parsed once per process and served from a cache (every mapped task loads them). The cache
must never serve an old spec: an edit that keeps the file's size and modification time (a quick
rewrite inside one clock tick, or a tool that restores timestamps) still gives the new spec, and a
cached load equals a fresh parse of every spec in the repository."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml

from datafactory.specs import SourceSpec, SpecError, SuiteSpec, load_source, load_sources, load_suite
from tests.conftest import REPO

pytestmark = pytest.mark.unit


def _rewrite_keeping_stat(path: Path, text: str) -> None:
    before = path.stat()
    assert len(text.encode()) == before.st_size  # same size: only the content tells the versions apart
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_an_edit_with_the_same_size_and_mtime_is_seen(tmp_path):
    path = tmp_path / "ent_registry.yaml"
    shutil.copy(REPO / "sources" / "ent_registry.yaml", path)
    first = load_source(path)
    description = first.description or ""
    assert description, "the registry spec has a description to edit"
    changed = path.read_text(encoding="utf-8").replace(description, description[::-1], 1)
    assert changed != path.read_text(encoding="utf-8")
    _rewrite_keeping_stat(path, changed)
    assert load_source(path).description == description[::-1]


def test_a_suite_edit_with_the_same_size_and_mtime_is_seen(tmp_path):
    suite = load_suite(REPO, "ent_registry")
    folder = tmp_path / "expectations"
    folder.mkdir()
    path = folder / "ent_registry.json"
    shutil.copy(REPO / "expectations" / "ent_registry.json", path)
    text = path.read_text(encoding="utf-8")
    severities = [e.meta.severity for e in load_suite(tmp_path, "ent_registry").expectations]
    assert "critical" in severities
    _rewrite_keeping_stat(path, text.replace('"critical",', '"warning", ', 1))  # same length, other severity
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw != json.loads(text)
    edited = load_suite(tmp_path, "ent_registry")
    assert [e.meta.severity for e in edited.expectations].count("critical") == severities.count("critical") - 1
    assert load_suite(REPO, "ent_registry") == suite


def test_cached_specs_equal_a_fresh_parse():
    cached = load_sources(REPO)
    for name, spec in cached.items():
        path = REPO / "sources" / f"{name}.yaml"
        assert spec == SourceSpec.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))), name
        fresh = SuiteSpec.model_validate(json.loads((REPO / "expectations" / f"{spec.suite}.json").read_text()))
        assert load_suite(REPO, spec.suite) == fresh, spec.suite
    assert load_sources(REPO) == cached


def test_a_broken_edit_is_an_error_every_time_not_a_cached_success(tmp_path):
    path = tmp_path / "ent_registry.yaml"
    shutil.copy(REPO / "sources" / "ent_registry.yaml", path)
    load_source(path)
    path.write_text("name: ent_registry\nchannel: [\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(SpecError, match="not valid YAML"):
            load_source(path)
