"""Loads the declarative specs (sources/, expectations/, models/, products/) from the repo."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class SpecError(ValueError):
    """A spec file is missing or malformed; the message names the file and the field."""


@dataclass(frozen=True)
class SourceSpec:
    name: str
    description: str
    channel: str
    table: str
    keys: list[str]
    watermark_column: str
    columns: dict[str, str]
    pii: dict[str, Any] = field(default_factory=dict)  # column -> action, or {action, validate}
    schedule: str = "@daily"
    suite: str = ""
    renames: dict[str, str] = field(default_factory=dict)  # known upstream name -> spec column name
    options: dict[str, Any] = field(default_factory=dict)  # channel options (dataset, file pattern, ...)
    watermark_lookback_hours: float = 6.0  # re-read this far behind the watermark to catch late rows
    row_count_tolerance: float = 0.5  # ± share of the previous incremental run's rows before the volume check warns
    key_buckets: int = 0  # a large feed with no region or month: conform it in this many buckets of its key


@dataclass(frozen=True)
class ModelSpec:
    name: str
    folder: Path
    raw: dict[str, Any]

    @property
    def inputs(self) -> list[str]:
        return list(self.raw["inputs"])

    @property
    def features_sql(self) -> str:
        return (self.folder / self.raw.get("features", "features.sql")).read_text()


@dataclass(frozen=True)
class ProductSpec:
    name: str
    raw: dict[str, Any]


def _yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: {exc}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at top level")
    return data


def load_sources(repo: Path) -> dict[str, SourceSpec]:
    specs = {}
    for path in sorted((repo / "sources").glob("*.yaml")):
        raw = _yaml(path)
        try:
            spec = SourceSpec(**{"suite": raw.get("name", ""), **raw})
        except TypeError as exc:
            raise SpecError(f"{path}: {exc}") from exc
        specs[spec.name] = spec
    return specs


def load_models(repo: Path) -> dict[str, ModelSpec]:
    return {
        p.parent.name: ModelSpec(p.parent.name, p.parent, _yaml(p))
        for p in sorted((repo / "models").glob("*/model.yaml"))
    }


def load_products(repo: Path) -> dict[str, ProductSpec]:
    return {p.stem: ProductSpec(p.stem, _yaml(p)) for p in sorted((repo / "products").glob("*.yaml"))}


def load_suite_json(repo: Path, suite: str) -> dict[str, Any]:
    path = repo / "expectations" / f"{suite}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from exc
