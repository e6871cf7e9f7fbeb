"""Trains one candidate of a scenario on a feature table: split, tune, fit, evaluate, explain. No I/O."""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datafactory.modeling.columns import FeatureSchema, infer_schema, row_keys
from datafactory.modeling.config import Candidate, TrainingConfig
from datafactory.modeling.drift import Reference, reference_from
from datafactory.modeling.estimators import sample_rows
from datafactory.modeling.families import Family, TrainingDataError, family_for
from datafactory.modeling.families.base import HoldoutView
from datafactory.modeling.metrics import LOWER_IS_BETTER
from datafactory.modeling.pyfunc import ScenarioModel
from datafactory.modeling.split import holdout_mask

REFERENCE_LIMIT = 100_000  # unlabelled rows scored for the PSI reference
MIN_GROUP_ROWS = 30  # smaller regions get a row count in the fairness table, not metrics


@dataclass
class Trial:
    params: dict[str, Any]
    metrics: dict[str, float]


@dataclass
class TrainedModel:
    config: TrainingConfig
    candidate: Candidate
    family: Family
    model: ScenarioModel
    params: dict[str, Any]  # after tuning
    holdout_x: pd.DataFrame  # in the model's input form: what champion and challenger are both scored on
    holdout_y: np.ndarray
    holdout_outputs: pd.DataFrame
    metrics: dict[str, float]
    baseline_metrics: dict[str, float]
    trials: list[Trial]
    fairness: pd.DataFrame
    artifacts: dict[str, Any]
    train_rows: int
    ignored: dict[str, str]
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def features(self) -> list[str]:
        return self.model.schema.names


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    if target not in frame.columns:
        raise TrainingDataError(f"target column '{target}' is not in the data (columns: {', '.join(frame.columns)})")
    known = frame[target].notna()
    return frame.reset_index(drop=True) if known.all() else frame[known].reset_index(drop=True)


def training_fingerprint(frame: pd.DataFrame, recipe: str) -> str:
    """Same labelled data and same recipe give the same fingerprint, so nothing retrains twice.

    Numbers are hashed as their bytes and text as one joined string: a pass over memory, where a
    per-row hash of a million text ids costs seconds."""
    digest = hashlib.sha256(recipe.encode())
    for name in frame.columns:
        column = frame[name]
        digest.update(f"\x1e{name}:{column.dtype}\x1e".encode())
        if pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
            digest.update(np.ascontiguousarray(column.to_numpy()).tobytes())
        else:
            digest.update("\x1f".join(column.astype(str).tolist()).encode())
    return digest.hexdigest()[:32]


def grid_points(grid: dict[str, list[Any]]) -> list[dict[str, Any]]:
    names = sorted(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*(grid[n] for n in names))]


def best_trial(trials: list[Trial], metric: str) -> Trial:
    sign = -1 if metric in LOWER_IS_BETTER else 1
    return max(trials, key=lambda t: sign * t.metrics[metric])


def tune(
    family: Family, candidate: Candidate, x: pd.DataFrame, y: np.ndarray, keys: pd.Series, config: TrainingConfig
) -> list[Trial]:
    """Each grid point is fitted on part of the training side and scored on the rest; the holdout stays unseen."""
    tuning = config.tuning
    validation = holdout_mask("tune:" + keys.astype(str), tuning.validation_share)
    family.check_split(y[~validation], y[validation], config)
    trials = []
    for point in grid_points(tuning.grid):
        params = {**candidate.params, **point}
        estimator = family.fit(candidate.algorithm, params, x[~validation], y[~validation], config)
        outputs = estimator.predict_outputs(x[validation])
        metrics = family.evaluate(y[validation], outputs, config)
        if tuning.metric not in metrics:
            raise TrainingDataError(f"{config.scenario}: tuning metric '{tuning.metric}' is not one of {list(metrics)}")
        trials.append(Trial(point, metrics))
    return trials


def fairness_table(
    groups: pd.Series, y: np.ndarray, outputs: pd.DataFrame, family: Family, config: TrainingConfig
) -> pd.DataFrame:
    """Holdout metrics per group (e.g. region_code) so a reviewer sees where the model is weaker."""
    rows = []
    for value, index in groups.reset_index(drop=True).groupby(groups.astype(str).to_numpy()).groups.items():
        positions = np.asarray(index)
        row: dict[str, Any] = {"group": value, "rows": len(positions)}
        if len(positions) >= MIN_GROUP_ROWS:
            part = outputs.iloc[positions]
            row.update(family.group_summary(y[positions], part))
            with contextlib.suppress(ValueError):  # e.g. a region with one class has no AUC
                row.update(family.evaluate(y[positions], part, config))
        rows.append(row)
    return pd.DataFrame(rows).sort_values("group").reset_index(drop=True)


@dataclass
class Prepared:
    """A labelled table split and encoded the one way every candidate (and the benchmark) sees it."""

    family: Family
    schema: FeatureSchema
    ignored: dict[str, str]
    data: pd.DataFrame
    test: np.ndarray  # holdout mask
    keys: pd.Series
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray


def prepare(frame: pd.DataFrame, config: TrainingConfig) -> Prepared:
    family = family_for(config)
    if config.baseline and config.baseline not in family.baselines:
        raise TrainingDataError(
            f"{config.scenario}: family {family.name} has no baseline '{config.baseline}'; "
            f"choose one of {', '.join(family.baselines)} or none"
        )
    data = labelled(frame, config.target)
    schema, ignored = infer_schema(data, config.non_features, config.categorical)
    if not schema.names:
        raise TrainingDataError(f"{config.scenario}: no usable feature columns (ignored: {ignored})")
    y = family.target(data[config.target], config)
    keys = data[config.hash_column] if config.hash_column else row_keys(data[[*schema.names, config.target]])
    test = holdout_mask(keys, config.holdout_share)
    family.check_split(y[~test], y[test], config)
    schema = schema.with_levels(data.loc[~test, list(schema.categorical)])
    matrix = schema.matrix(data)
    return Prepared(
        family=family,
        schema=schema,
        ignored=ignored,
        data=data,
        test=test,
        keys=keys,
        x_train=matrix[~test].reset_index(drop=True),
        x_test=matrix[test].reset_index(drop=True),
        y_train=y[~test],
        y_test=y[test],
    )


def population_reference(
    frame: pd.DataFrame, config: TrainingConfig, p: Prepared, estimator: Any, holdout_outputs: pd.DataFrame
) -> Reference:
    """What PSI compares scoring days against: the population at training time, scored out of sample
    (the holdout plus the rows without a label yet); training rows would look more extreme than any
    new population ever does."""
    primary = p.family.primary
    values = [holdout_outputs[primary].to_numpy(dtype=float)]
    unlabelled = frame[frame[config.target].isna()]
    if len(unlabelled):
        sample = unlabelled.iloc[sample_rows(len(unlabelled), REFERENCE_LIMIT)]
        values.append(estimator.predict_outputs(p.schema.matrix(sample))[primary].to_numpy(dtype=float))
    return reference_from(primary, np.concatenate(values), p.family.primary_is_discrete)


def declared_metrics(evaluated: dict[str, float], config: TrainingConfig) -> dict[str, float]:
    """The holdout metrics the spec's `metrics:` lists, in its order (all the family's when unset)."""
    return {m: evaluated[m] for m in config.metrics if m in evaluated}


def train_candidate(frame: pd.DataFrame, config: TrainingConfig, candidate: Candidate) -> TrainedModel:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    p = prepare(frame, config)
    family, schema, data, test = p.family, p.schema, p.data, p.test
    x_train, x_test, y_train, y_test = p.x_train, p.x_test, p.y_train, p.y_test
    timings["prepare_s"] = time.perf_counter() - started

    params = dict(candidate.params)
    trials: list[Trial] = []
    if config.tuning:
        mark = time.perf_counter()
        trials = tune(family, candidate, x_train, y_train, p.keys[~test].reset_index(drop=True), config)
        params.update(best_trial(trials, config.tuning.metric).params)
        timings["tuning_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    estimator = family.fit(candidate.algorithm, params, x_train, y_train, config)
    timings["fit_s"] = time.perf_counter() - mark

    mark = time.perf_counter()
    outputs = estimator.predict_outputs(x_test).reset_index(drop=True)
    metrics = declared_metrics(family.evaluate(y_test, outputs, config), config)
    baseline_outputs, baseline_metrics = None, {}
    if config.baseline and candidate.role == "primary":
        baseline = family.fit_baseline(config.baseline, x_train, y_train, config)
        baseline_outputs = baseline.predict_outputs(x_test).reset_index(drop=True)
        baseline_metrics = declared_metrics(family.evaluate(y_test, baseline_outputs, config), config)
    fairness = pd.DataFrame()
    if config.group_column and config.group_column in data.columns:
        fairness = fairness_table(data.loc[test, config.group_column], y_test, outputs, family, config)
    reference = population_reference(frame, config, p, estimator, outputs)
    view = HoldoutView(y_test, outputs, baseline_outputs, estimator, config)
    artifacts = family.artifacts(view)
    timings["evaluate_s"] = time.perf_counter() - mark
    return TrainedModel(
        config=config,
        candidate=candidate,
        family=family,
        model=ScenarioModel(family.name, schema, estimator, family.primary, reference),
        params=params,
        holdout_x=schema.external(data[test]).reset_index(drop=True),
        holdout_y=y_test,
        holdout_outputs=outputs,
        metrics=metrics,
        baseline_metrics=baseline_metrics,
        trials=trials,
        fairness=fairness,
        artifacts=artifacts,
        train_rows=int((~test).sum()),
        ignored=p.ignored,
        timings=timings,
    )
