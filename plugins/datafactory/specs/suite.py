"""A GE suite as the factory reads it (`expectations/<suite>.json`, GE's own JSON): each expectation
with its `meta.severity`. GE keeps the kwargs; the factory owns the meta."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from datafactory.specs.base import Strict

Severity = Literal["critical", "quarantine", "warning"]
SEVERITIES: tuple[str, ...] = ("critical", "quarantine", "warning")


class ExpectationMeta(Strict):
    severity: Severity = "critical"
    notes: str | None = None  # why the check exists, in words a reviewer reads


class ExpectationSpec(Strict):
    type: str
    kwargs: dict[str, Any] = Field(default_factory=dict)
    meta: ExpectationMeta = Field(default_factory=ExpectationMeta)

    def as_json(self) -> dict[str, Any]:
        return {"type": self.type, "kwargs": self.kwargs, "meta": self.meta.model_dump(exclude_none=True)}


class SuiteSpec(Strict):
    # GE writes a few keys of its own (id, meta, notes); they are kept, not interpreted.
    model_config = ConfigDict(extra="allow", frozen=True)

    name: str
    expectations: list[ExpectationSpec]

    @model_validator(mode="after")
    def _distinct(self) -> SuiteSpec:
        seen: set[str] = set()
        for exp in self.expectations:
            identity = repr((exp.type, sorted(exp.kwargs.items())))
            if identity in seen:
                raise ValueError(f"{exp.type} appears twice with the same kwargs")
            seen.add(identity)
        return self

    def as_json(self) -> dict[str, Any]:
        """GE's own JSON shape, for code that hands the suite to GE."""
        return {"name": self.name, "expectations": [e.as_json() for e in self.expectations]}
