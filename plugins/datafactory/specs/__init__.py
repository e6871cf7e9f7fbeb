"""Loads the declarative specs (sources/, expectations/, models/, products/) from the repo as typed
objects. Each loader raises `SpecError` with one `path: field: problem` line."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from datafactory.specs.base import SpecError, spec_error
from datafactory.specs.feed import ColumnSpec, FileOptions, PiiRule, SourceSpec
from datafactory.specs.model import FAMILIES, ModelSpec, model_spec
from datafactory.specs.product import ProductSpec
from datafactory.specs.suite import SEVERITIES, ExpectationSpec, SuiteSpec

T = TypeVar("T")

__all__ = [
    "FAMILIES",
    "SEVERITIES",
    "ColumnSpec",
    "ExpectationSpec",
    "FileOptions",
    "ModelSpec",
    "PiiRule",
    "ProductSpec",
    "SourceSpec",
    "SpecError",
    "SuiteSpec",
    "load_model",
    "load_models",
    "load_product",
    "load_products",
    "load_source",
    "load_sources",
    "load_suite",
]


def read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at top level")
    return data


def load_named(path: Path, model: Callable[[dict[str, Any]], T], field: str = "name") -> T:
    """A YAML spec validated by `model`, whose `field` must equal the file's stem (one file, one name)."""
    try:
        spec = model(read_yaml(path))
    except ValidationError as exc:
        raise spec_error(path, exc) from exc
    named = getattr(spec, field)
    if named != path.stem:
        raise SpecError(f"{path}: {field}: {named!r} differs from the file name {path.stem!r}")
    return spec


def load_source(path: Path) -> SourceSpec:
    return load_named(path, SourceSpec.model_validate)


def load_sources(repo: Path) -> dict[str, SourceSpec]:
    specs = [load_source(path) for path in sorted((repo / "sources").glob("*.yaml"))]
    return {spec.name: spec for spec in specs}


def load_model(folder: Path) -> ModelSpec:
    """`<folder>/model.yaml`, typed by its family; its SQL and card are read from `folder`."""
    path = folder / "model.yaml"
    raw = read_yaml(path)
    try:
        spec = model_spec(raw)
    except ValidationError as exc:
        raise spec_error(path, exc) from exc
    except SpecError as exc:  # an unknown family: no model to validate against
        raise SpecError(f"{path}: {exc}") from exc
    if spec.scenario != folder.name:
        raise SpecError(f"{path}: scenario: {spec.scenario!r} differs from the folder name {folder.name!r}")
    return spec.located(folder)


def load_models(repo: Path) -> dict[str, ModelSpec]:
    specs = [load_model(path.parent) for path in sorted((repo / "models").glob("*/model.yaml"))]
    return {spec.name: spec for spec in specs}


def load_product(path: Path) -> ProductSpec:
    return load_named(path, ProductSpec.model_validate)


def load_products(repo: Path) -> dict[str, ProductSpec]:
    specs = [load_product(path) for path in sorted((repo / "products").glob("*.yaml"))]
    return {spec.name: spec for spec in specs}


def load_suite(repo: Path, suite: str) -> SuiteSpec:
    path = repo / "expectations" / f"{suite}.json"
    try:
        return SuiteSpec.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        raise spec_error(path, exc) from exc
