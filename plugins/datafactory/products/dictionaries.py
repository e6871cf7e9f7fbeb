"""Loads what the output review matches against from the conformed zone (I/O only)."""

from __future__ import annotations

from datetime import date
from functools import partial
from pathlib import Path

import pyarrow.parquet as pq
import yaml

from datafactory.products.review import Dictionaries
from datafactory.settings import Settings
from datafactory.sources.pseudonymize import pseudonym
from datafactory.specs import SpecError, load_sources
from datafactory.zones import Zones

CONFIG = Path("products") / "review" / "dictionaries.yaml"
PSEUDONYMIZED = ("pseudonymize", "pseudonymize_and_encrypt")


def _values(path: Path | None, columns: list[str]) -> set[str]:
    if path is None:
        return set()
    present = [c for c in columns if c in pq.read_schema(path).names]
    if not present:
        return set()
    table = pq.read_table(path, columns=present)
    return {str(v) for c in present for v in table.column(c).to_pylist() if v is not None}


def _referenced(zones: Zones, refs: list[str], day: date) -> set[str]:
    values: set[str] = set()
    for ref in refs:
        source, _, column = ref.partition(".")
        if not column:
            raise SpecError(f"{CONFIG}: {ref!r} must be <feed>.<column>")
        values |= _values(zones.conformed_as_of(source, day), [column])
    return values


def personal_columns(pii: dict) -> list[str]:
    """The columns a source spec pseudonymizes (the rule is an action or {action, validate})."""
    return [c for c, rule in pii.items() if (rule.get("action") if isinstance(rule, dict) else rule) in PSEUDONYMIZED]


def load_dictionaries(settings: Settings, day: date) -> Dictionaries:
    zones = Zones(settings.home)
    personal: set[str] = set()
    for spec in load_sources(settings.repo).values():
        columns = personal_columns(spec.pii)
        if columns:
            personal |= _values(zones.conformed_as_of(spec.name, day), columns)
    config = yaml.safe_load((settings.repo / CONFIG).read_text()) or {}
    return Dictionaries(
        personal_pseudonyms=frozenset(personal),
        pseudonymize=partial(pseudonym, key=settings.pseudonym_key()),
        company_names=frozenset(_referenced(zones, config.get("company_names", []), day)),
        addresses=frozenset(_referenced(zones, config.get("addresses", []), day)),
    )
