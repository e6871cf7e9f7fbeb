"""Model specs: typed per family, unknown keys and other families' options rejected with one
`path: field: problem` line, and the training recipe derived from the typed spec."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from datafactory.modeling.config import training_config
from datafactory.modeling.families import family_for
from datafactory.modeling.metrics import LOWER_IS_BETTER
from datafactory.specs import FAMILIES, SpecError, load_model, load_models
from datafactory.specs.model import METRIC_DIRECTIONS, MODEL_TYPES, BinaryModel, model_spec
from tests.conftest import REPO

pytestmark = pytest.mark.unit

BINARY: dict[str, Any] = {
    "scenario": "synthetic",
    "inputs": ["synthetic"],
    "target": "bad",
    "id_column": "id",
    "family": "binary",
    "algorithm": "lightgbm",
    "params": {"num_boost_round": 60},
    "baseline": "logistic_regression",
    "promotion": {"metric": "auc"},
}


def _load(tmp_path: Path, raw: dict[str, Any]):
    folder = tmp_path / "models" / raw.get("scenario", "synthetic")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.yaml").write_text(yaml.safe_dump(raw))
    return load_model(folder)


def _error(tmp_path: Path, raw: dict[str, Any]) -> str:
    with pytest.raises(SpecError) as caught:
        _load(tmp_path, raw)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_every_model_spec_in_the_repo_loads_typed_by_its_family():
    models = load_models(REPO)
    assert {type(m).__name__ for m in models.values()} == {
        "BinaryModel",
        "OrdinalModel",
        "ScorecardModel",
        "RegressionModel",
    }
    for name, spec in models.items():
        assert spec.name == name and spec.features_path.exists() and spec.card_path.exists()
        assert set(spec.holdout_metrics) <= set(spec.metric_names)


def test_an_unknown_key_is_one_line_naming_the_file_and_the_key(tmp_path: Path):
    message = _error(tmp_path, {**BINARY, "learning_rate": 0.1})
    assert message == f"{tmp_path}/models/synthetic/model.yaml: learning_rate: Extra inputs are not permitted"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"classes": ["a", "b", "c"]}, "classes: Extra inputs are not permitted"),
        (
            {"family": "regression", "baseline": "ridge", "promotion": {"metric": "mae"}, "scaling": {}},
            "scaling: Extra",
        ),
        ({"family": "regression", "promotion": {"metric": "mae"}}, "baseline: family regression has no baseline"),
        ({"family": "ordinal", "operating_cutoff": 0.3}, "operating_cutoff: Extra inputs are not permitted"),
        ({"family": "neural"}, "family: 'neural' is not one of binary, ordinal, scorecard, regression"),
        ({"family": None}, "family: missing binary, ordinal, scorecard, regression"),
        ({"algorithm": "xgboost"}, "algorithm: Input should be 'lightgbm' or 'woe_logistic'"),
        ({"algorithm": "woe_logistic"}, "algorithm: family binary has no algorithm 'woe_logistic'"),
        ({"holdout": {"share": 1.5}}, "holdout.share: Input should be less than 1"),
        ({"tuning": {"validation_share": 0, "grid": {"a": [1]}}}, "tuning.validation_share: Input should be greater"),
        ({"tuning": {"grid": {"num_leaves": []}}}, "tuning.grid.num_leaves: List should have at least 1 item"),
        ({"tuning": {"metric": "mape", "grid": {"a": [1]}}}, "tuning.metric: 'mape' is not among this model's"),
        ({"promotion": {"metric": "auc", "direction": "lower"}}, "promotion: auc is higher-is-better, not lower"),
        ({"promotion": {"metric": "ks"}, "metrics": ["auc"]}, "promotion.metric: 'ks' is not among"),
        ({"metrics": ["auc", "mape"]}, "metrics: ['mape'] are not computed for family binary"),
        ({"operating_cutoff": 1.2}, "operating_cutoff: Input should be less than 1"),
        ({"inputs": "ent_registry"}, "inputs: Input should be a valid list"),
        ({"scenario": "other"}, "scenario: 'other' differs from the folder name 'synthetic'"),
    ],
)
def test_a_broken_model_spec_names_its_field(tmp_path: Path, change: dict, message: str):
    raw = {k: v for k, v in {**copy.deepcopy(BINARY), **change}.items() if v is not None}
    folder = tmp_path / "models" / "synthetic"
    folder.mkdir(parents=True)
    (folder / "model.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(SpecError) as caught:
        load_model(folder)
    assert message in str(caught.value) and str(caught.value).startswith(f"{folder}/model.yaml: ")


def test_family_sections_are_checked_where_they_are_declared(tmp_path: Path):
    scorecard = {
        **BINARY,
        "family": "scorecard",
        "algorithm": "woe_logistic",
        "scaling": {"base_points": 600, "base_odds": 50, "pdo": 20},
    }
    assert "grades: list at least two grades" in _error(tmp_path, {**scorecard, "grades": {"A": 600}})
    assert "fall from best to worst" in _error(tmp_path, {**scorecard, "grades": {"A": 500, "B": 600, "C": None}})
    ordinal = {**BINARY, "family": "ordinal", "promotion": {"metric": "macro_f1"}, "classes": ["a", "b", "c"]}
    assert "high_risk: ['d'] are not among classes" in _error(tmp_path, {**ordinal, "high_risk": ["d"]})
    regression = {**BINARY, "family": "regression", "baseline": "ridge", "promotion": {"metric": "mape"}}
    assert "target_transform: Input should be 'none' or 'log'" in _error(
        tmp_path, {**regression, "target_transform": "sqrt"}
    )
    efficiency = {"actual": "a", "grades": {1: 0.8, 2: 0.6, 3: None}}
    assert "upper bounds must increase" in _error(tmp_path, {**regression, "efficiency": efficiency})
    emissions = {
        "year_column": "y",
        "region_column": "r",
        "activities": {"power": {"column": "kwh", "factor": "grid"}},
        "factors": {"gas": [{"region": "national", "year": 2023, "value": 2.1}]},
    }
    assert "activities.power: factor 'grid' is not declared" in _error(tmp_path, {**regression, "emissions": emissions})


def test_the_training_recipe_is_derived_from_the_typed_spec_and_its_identity_is_stable():
    spec = model_spec(BINARY)
    config = training_config(spec)
    assert (config.hash_column, config.holdout_share, config.options.operating_cutoff) == ("id", 0.25, 0.5)
    # The hash of this recipe before the typed spec; registered versions are found by it.
    assert config.identity(config.candidates[0]) == "cdb5f22189e828c6"
    tuned = training_config(model_spec({**BINARY, "tuning": {"grid": {"num_leaves": [7, 15]}}}))
    assert tuned.tuning is not None and tuned.tuning.metric == "auc"  # the promotion metric by default
    other = config.with_data("y", "key", None).with_positive("yes")
    assert other.options.positive == "yes" and other.identity(other.candidates[0]) != config.identity(
        config.candidates[0]
    )


def test_the_family_list_lives_in_the_spec_and_every_family_has_an_implementation():
    assert tuple(MODEL_TYPES) == FAMILIES
    for name, model in MODEL_TYPES.items():
        family = family_for(training_config(model_spec(_minimal(name))))
        assert (family.name, family.algorithms, family.metric_names) == (name, model.algorithms, model.metric_names)


def test_metric_directions_agree_with_the_metrics_module():
    assert {m for m, d in METRIC_DIRECTIONS.items() if d == "lower"} == LOWER_IS_BETTER - {"rmse", "psi"}
    assert model_spec({**BINARY}).promotion.lower_is_better is False
    assert isinstance(model_spec(BINARY), BinaryModel)


def _minimal(family: str) -> dict[str, Any]:
    raw = {**BINARY, "family": family, "algorithm": MODEL_TYPES[family].algorithms[0], "baseline": None}
    raw["promotion"] = {"metric": MODEL_TYPES[family].metric_names[0]}
    if family == "scorecard":
        raw |= {"scaling": {"base_points": 600, "base_odds": 50, "pdo": 20}, "grades": {"A": 600, "B": None}}
    return raw
