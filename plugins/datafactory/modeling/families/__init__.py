"""Algorithm families, chosen by `family:` in a scenario's model.yaml."""

from __future__ import annotations

from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.families.base import Family, TrainingDataError
from datafactory.modeling.families.binary import BinaryFamily
from datafactory.modeling.families.ordinal import OrdinalFamily
from datafactory.modeling.families.regression import RegressionFamily
from datafactory.modeling.families.scorecard import ScorecardFamily
from datafactory.specs.model import FAMILIES

_FAMILIES: dict[str, type[Family]] = {
    f.name: f for f in (BinaryFamily, OrdinalFamily, ScorecardFamily, RegressionFamily)
}
assert tuple(_FAMILIES) == FAMILIES, "every family in specs/model.py needs its implementation here"


def family_for(config: TrainingConfig) -> Family:
    """A fresh family object per training run (a family remembers the target's classes)."""
    return _FAMILIES[config.family]()


__all__ = ["Family", "TrainingDataError", "family_for"]
