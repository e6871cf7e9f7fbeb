"""Loads the declarative specs (sources/, expectations/, models/, products/) from the repo as typed
objects. Each loader raises `SpecError` with one `path: field: problem` line."""

from __future__ import annotations

import functools
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


# libyaml's parser where PyYAML was built with it: the same documents, several times faster, which every
# task pays when it loads the specs.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"{path}: cannot read: {exc}") from exc


def parse_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from exc
    if not isinstance(data, dict):
        raise SpecError(f"{path}: expected a mapping at top level")
    return data


def read_yaml(path: Path) -> dict[str, Any]:
    return parse_yaml(path, read_text(path))


def load_named(path: Path, model: Callable[[dict[str, Any]], T], field: str = "name") -> T:
    """A YAML spec validated by `model`, whose `field` must equal the file's stem (one file, one name).
    Specs are frozen, so each file content is parsed and validated once per process (keyed by the text
    itself, not by a timestamp that can miss a quick edit): every task of a run loads the specs, and a
    hundred mapped tasks would otherwise parse every file a hundred times."""
    return _load_named(str(path), read_text(path), model, field)


@functools.lru_cache(maxsize=512)
def _load_named(where: str, text: str, model: Callable[[dict[str, Any]], T], field: str) -> T:
    path = Path(where)
    try:
        spec = model(parse_yaml(path, text))
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
    return _load_suite(str(path), read_text(path))


@functools.lru_cache(maxsize=256)
def _load_suite(where: str, text: str) -> SuiteSpec:
    path = Path(where)
    try:
        return SuiteSpec.model_validate(json.loads(text))
    except json.JSONDecodeError as exc:
        raise SpecError(f"{path}: {exc}") from exc
    except ValidationError as exc:
        raise spec_error(path, exc) from exc
