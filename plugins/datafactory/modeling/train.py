"""One training session on a feature table: split, column roles, every candidate cross-validated on
the training side, the winner chosen there, every candidate reported on the holdout. No I/O.

The candidates are the scenario's algorithm (tuned on its grid), its declared challenger, LightGBM
and the family's linear (or WoE) baseline. The winner is the best mean validation score; it is the
model that gets registered, even when it is the baseline.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from datafactory.modeling.columns import (
    FeatureSchema,
    infer_schema,
    leakage_suspects,
    long_tails,
    shared_entity_columns,
)
from datafactory.modeling.config import Candidate, TrainingConfig
from datafactory.modeling.drift import Reference, reference_from
from datafactory.modeling.estimators import sample_rows
from datafactory.modeling.families import Family, TrainingDataError, family_for
from datafactory.modeling.families.base import HoldoutView
from datafactory.modeling.metrics import (
    LOWER_IS_BETTER,
    least_p_value,
    paired_bootstrap_se,
    shuffled_outputs_p_value,
)
from datafactory.modeling.pyfunc import ScenarioModel
from datafactory.modeling.split import Splitter, canonical_order, content_hashes, describe, key_hashes

REFERENCE_LIMIT = 100_000  # unlabelled rows scored for the PSI reference
MIN_GROUP_ROWS = 30  # smaller regions get a row count in the fairness table, not metrics
THIN_CLASS_ROWS = 10  # of each class in the holdout: fewer, and its metrics turn on a row or two
HOLDOUT, FOLDS, SAMPLE = 1, 2, 3  # salts: independent buckets for the holdout, the folds and the CV sample
REPEAT_ROWS, MAX_REPEATS = 6_000, 3  # small tables: repeat the folds until about this many validation rows


@dataclass
class Trial:
    params: dict[str, Any]
    metrics: dict[str, float]  # mean over the validation folds


@dataclass(eq=False)  # compared by identity: it holds frames
class CandidateResult:
    """One candidate: its cross-validation on the training side, then its fit on the whole training
    side scored on the holdout."""

    candidate: Candidate
    params: dict[str, Any]
    trials: list[Trial]  # one per grid point (one when there is no grid)
    val: dict[str, float]  # mean over folds, of the chosen grid point
    val_std: dict[str, float]
    oof: pd.DataFrame | None  # out-of-fold outputs on the CV rows, in their order
    estimator: Any = None
    holdout_outputs: pd.DataFrame | None = None
    holdout: dict[str, float] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.candidate.label


@dataclass
class TrainedModel:
    config: TrainingConfig
    family: Family
    winner: CandidateResult
    results: list[CandidateResult]  # every candidate, in the config's order
    model: ScenarioModel
    holdout_x: pd.DataFrame  # the winner's inputs on the holdout (its signature's form)
    holdout_table: pd.DataFrame  # every column of the holdout rows: what a champion with other inputs reads
    holdout_y: np.ndarray
    fairness: pd.DataFrame
    artifacts: dict[str, Any]
    train_rows: int
    ignored: dict[str, str]  # column -> why it is not a feature
    warnings: list[str]
    split: str  # the split in one sentence
    selection: str  # what was compared and why the winner won
    noise: dict[str, float]  # candidate -> 2 x paired-bootstrap SE of (winner - it) on the holdout
    cv_rows: int
    folds: int
    repeats: int  # how many times the folds were drawn (more on small tables)
    train_frame: pd.DataFrame  # model inputs and target, for MLflow's dataset record
    holdout_frame: pd.DataFrame
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def candidate(self) -> Candidate:
        return self.winner.candidate

    @property
    def metrics(self) -> dict[str, float]:
        """The winner's holdout metrics (what promotion compares)."""
        return self.winner.holdout

    @property
    def params(self) -> dict[str, Any]:
        return self.winner.params

    @property
    def trials(self) -> list[Trial]:
        return self.winner.trials

    @property
    def holdout_outputs(self) -> pd.DataFrame:
        assert self.winner.holdout_outputs is not None
        return self.winner.holdout_outputs

    @property
    def features(self) -> list[str]:
        return self.model.schema.names

    def comparison(self) -> pd.DataFrame:
        """One row per candidate: validation mean (and spread) and holdout value of each metric."""
        rows = []
        for r in self.results:
            row: dict[str, Any] = {"candidate": r.name, "winner": r is self.winner}
            metric = self.config.promotion_metric
            row[f"val_{metric}"] = r.val.get(metric, np.nan)
            row[f"val_{metric}_sd"] = r.val_std.get(metric, np.nan)
            row.update({f"holdout_{k}": v for k, v in r.holdout.items()})
            rows.append(row)
        return pd.DataFrame(rows)


def thin_holdout_classes(y_test: np.ndarray) -> list[str]:
    """A warning when the holdout holds too few rows of a class for its metrics to mean much: with 1
    malignant tumour among 10 rows, AUC is 0 or 1 by that one row's rank."""
    smallest = int(np.bincount(y_test.astype(int)).min()) if len(y_test) else 0
    if smallest >= THIN_CLASS_ROWS:
        return []
    return [
        f"the holdout holds only {smallest} row(s) of its rarest class, so each of its metrics turns on a "
        f"row or two; label more rows (at least {THIN_CLASS_ROWS} of every class in the holdout) before "
        "trusting the comparison"
    ]


def labelled(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    if target not in frame.columns:
        raise TrainingDataError(f"target column '{target}' is not in the data (columns: {', '.join(frame.columns)})")
    known = frame[target].notna()
    if not known.any():
        raise TrainingDataError(
            f"no labelled rows: '{target}' is empty in all {len(frame)} rows" if len(frame) else "the table has no rows"
        )
    if not known.all():
        return frame[known].reset_index(drop=True)
    if isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0 and frame.index.step == 1:
        return frame  # already positional: a million-row copy would buy nothing (callers never write to it)
    return frame.reset_index(drop=True)


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


def _sign(metric: str) -> int:
    return -1 if metric in LOWER_IS_BETTER else 1


def best_trial(trials: list[Trial], metric: str) -> Trial:
    return max(trials, key=lambda t: _sign(metric) * t.metrics[metric])


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
    splitter: Splitter
    x_train: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray
    y_test: np.ndarray
    split: str
    warnings: list[str]


def _protected(config: TrainingConfig) -> set[str]:
    """Columns the spec names as inputs: never dropped by the leakage check."""
    per = getattr(config.options, "target_per", None)
    return {*config.categorical, *([per] if per else [])}


def prepare(frame: pd.DataFrame, config: TrainingConfig) -> Prepared:
    family = family_for(config)
    data = labelled(frame, config.target)
    y = family.target(data[config.target], config)
    # Roles in the file's order (a sequence number is one in row order); every later step in one order.
    schema, ignored = infer_schema(data, config.non_features, config.categorical)
    if not schema.names:
        raise TrainingDataError(f"{config.scenario}: no usable feature columns (excluded: {ignored or 'none'})")
    key = config.hash_column
    hashes = key_hashes(data[key]) if key else content_hashes(data.drop(columns=[config.target]))
    order = canonical_order(data[key] if key else None, hashes, data)  # shuffled rows: the same model
    if not np.array_equal(order, np.arange(len(order))):
        data, hashes, y = data.iloc[order].reset_index(drop=True), hashes[order], y[order]
    splitter = Splitter.build(hashes, y if family.stratified else None)
    test = splitter.take(config.holdout_share, HOLDOUT)
    family.check_split(y[~test], y[test], config)
    schema = schema.with_levels(data.loc[~test, list(schema.categorical)])
    tails = long_tails(data.loc[~test, list(schema.categorical)], schema)
    x_train, x_test = schema.matrix(data, np.flatnonzero(~test)), schema.matrix(data, np.flatnonzero(test))
    y_train = y[~test]
    checked = [c for c in x_train.columns if c not in _protected(config)]
    leaks, strong = leakage_suspects(
        x_train[checked], family.modelled_target(y_train, x_train, config), family.target_kind
    )
    if leaks:
        ignored.update(leaks)
        schema = schema.without(set(leaks))
        x_train, x_test = x_train[schema.names], x_test[schema.names]
        if not schema.names:
            raise TrainingDataError(f"{config.scenario}: every feature column was excluded ({ignored})")
    return Prepared(
        family=family,
        schema=schema,
        ignored=ignored,
        data=data,
        test=test,
        splitter=splitter,
        x_train=x_train,
        x_test=x_test,
        y_train=y_train,
        y_test=y[test],
        split=describe(config.holdout_share, key, family.stratified, splitter.grouped, config.split_groups),
        warnings=tails
        + list(strong.values())
        + ([] if key else list(shared_entity_columns(data, {config.target}).values())),
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
        if len(unlabelled) > REFERENCE_LIMIT:  # the same sample whatever the rows' order
            unlabelled = unlabelled.iloc[np.argsort(content_hashes(unlabelled), kind="stable")]
        sample = unlabelled.iloc[sample_rows(len(unlabelled), REFERENCE_LIMIT)]
        values.append(estimator.predict_outputs(p.schema.matrix(sample))[primary].to_numpy(dtype=float))
    return reference_from(primary, np.concatenate(values), p.family.primary_is_discrete)


def declared_metrics(evaluated: dict[str, float], config: TrainingConfig) -> dict[str, float]:
    """The metrics the spec's `metrics:` lists, in its order (all the family's when unset)."""
    return {m: evaluated[m] for m in config.metrics if m in evaluated}


@dataclass
class CrossValidation:
    x: pd.DataFrame
    y: np.ndarray
    folds: np.ndarray  # fold per row, first repetition
    k: int
    repeats: list[np.ndarray] = field(default_factory=list)  # fold per row, every repetition (first included)

    @property
    def rows(self) -> int:
        return len(self.y)


def cross_validation(p: Prepared, config: TrainingConfig) -> CrossValidation | None:
    """k folds over (a deterministic sample of) the training side, stratified and grouped like the holdout.
    None when a class is too rare to appear in two folds, or there are fewer than two groups."""
    train = p.splitter.subset(np.flatnonzero(~p.test))
    rows = np.arange(len(p.y_train))
    limit = config.selection.max_rows
    if len(rows) > limit:
        rows = np.flatnonzero(train.take(limit / len(rows), SAMPLE))
        train = train.subset(rows)
    k = min(config.selection.folds, train.group_count)  # a fold needs a group of its own
    if train.strata is not None:
        smallest = int(np.bincount(train.strata).min())
        k = min(k, smallest)
    if k < 2:
        return None
    # Small tables give noisy folds: repeat with fresh buckets until about REPEAT_ROWS validation rows are seen.
    repeats = int(min(MAX_REPEATS, max(1, np.ceil(REPEAT_ROWS / len(rows)))))
    assignments = [train.folds(k, FOLDS + 10 * r) for r in range(repeats)]
    x = p.x_train.iloc[rows].reset_index(drop=True)
    return CrossValidation(x, p.y_train[rows], assignments[0], k, assignments)


def _cross_validate(
    family: Family, candidate: Candidate, params: dict[str, Any], cv: CrossValidation, config: TrainingConfig
) -> tuple[dict[str, float], dict[str, float], pd.DataFrame | None]:
    scores: list[dict[str, float]] = []
    parts: list[pd.DataFrame] = []
    for repeat, folds in enumerate(cv.repeats or [cv.folds]):
        for fold in range(cv.k):
            valid = folds == fold
            estimator = family.fit_candidate(candidate, params, cv.x[~valid], cv.y[~valid], config)
            outputs = estimator.predict_outputs(cv.x[valid])
            if repeat == 0:
                parts.append(outputs)
            with contextlib.suppress(ValueError):  # a fold with one class has no AUC: the others still count
                scores.append(
                    declared_metrics(family.evaluate(cv.y[valid], outputs.reset_index(drop=True), config), config)
                )
    if not scores:
        raise TrainingDataError(f"{config.scenario}: no validation fold could be scored for {candidate.label}")
    frame = pd.DataFrame(scores)
    oof = pd.concat(parts).sort_index()
    return frame.mean().to_dict(), frame.std(ddof=1).fillna(0.0).to_dict(), oof


def select(
    p: Prepared, config: TrainingConfig, cv: CrossValidation | None, skipped: dict[str, str]
) -> list[CandidateResult]:
    """Every candidate (and every grid point of the tuned ones) scored by cross-validation. A candidate
    that cannot be fitted on this data (say, a scorecard whose features all fall below the minimum
    information value) is left out with its reason in `skipped`."""
    results = []
    tuning_metric = (config.tuning.metric if config.tuning else None) or config.promotion_metric
    for candidate in config.candidates:
        grid = config.tuning.grid if config.tuning and candidate.algorithm == "lightgbm" else {}
        points = grid_points(grid) if grid else [{}]
        if cv is None:  # too few rows of some class to cross-validate: the recipe as declared
            results.append(CandidateResult(candidate, dict(candidate.params), [], {}, {}, None))
            continue
        trials, best = [], None
        for point in points:
            params = {**candidate.params, **point}
            try:
                mean, spread, oof = _cross_validate(p.family, candidate, params, cv, config)
            except TrainingDataError as exc:
                skipped[candidate.label] = str(exc)
                break
            trial = Trial(point, mean)
            trials.append(trial)
            if (
                best is None
                or _sign(tuning_metric) * mean[tuning_metric] > _sign(tuning_metric) * best[0].metrics[tuning_metric]
            ):
                best = (trial, params, spread, oof)
        if best is None or candidate.label in skipped:
            continue
        trial, params, spread, oof = best
        results.append(CandidateResult(candidate, params, trials if grid else [], trial.metrics, spread, oof))
    return results


def _winner(results: list[CandidateResult], metric: str) -> CandidateResult:
    scored = [r for r in results if metric in r.val]
    if not scored:
        return results[0]
    return max(scored, key=lambda r: _sign(metric) * r.val[metric])  # ties: the earlier candidate


def _selection_text(results: list[CandidateResult], winner: CandidateResult, cv: CrossValidation | None, metric: str):
    if cv is None:
        return (
            "No cross-validation (fewer than two groups on the training side, or a class with fewer rows than two "
            f"folds need): `{winner.name}`, the scenario's "
            "algorithm, is kept as declared."
        )
    ranked = sorted(results, key=lambda r: -_sign(metric) * r.val[metric])
    shown = "; ".join(f"`{r.name}` {r.val[metric]:.4f} ± {r.val_std.get(metric, 0.0):.4f}" for r in ranked)
    runner_up = next((r for r in ranked if r is not winner), None)
    gap = f" ({abs(winner.val[metric] - runner_up.val[metric]):.4f} ahead of `{runner_up.name}`)" if runner_up else ""
    direction = "lowest" if metric in LOWER_IS_BETTER else "highest"
    return (
        f"Compared by the mean of `val_{metric}` over {cv.k}-fold cross-validation"
        f"{f' repeated {len(cv.repeats)} times' if len(cv.repeats) > 1 else ''} on {cv.rows} training rows "
        f"(mean ± sd over folds): {shown}. `{winner.name}` has the {direction} mean{gap}, so it is the winner "
        "and the model registered, whatever kind of model it is."
    )


def _promotion_score(p: Prepared, config: TrainingConfig) -> Callable[[np.ndarray, pd.DataFrame], float]:
    """The promotion metric of a model's outputs against the truth, as the resampling tests call it."""

    def score(y: np.ndarray, outputs: pd.DataFrame) -> float:
        return p.family.metric(config.promotion_metric, y, outputs, config)

    return score


def _noise(p: Prepared, config: TrainingConfig, winner: CandidateResult, others: list[CandidateResult]):
    """2 x the paired-bootstrap standard error of (winner - candidate) on the holdout, per candidate."""
    score = _promotion_score(p, config)
    out = {}
    for r in others:
        assert winner.holdout_outputs is not None and r.holdout_outputs is not None
        se = paired_bootstrap_se(p.y_test, winner.holdout_outputs, r.holdout_outputs, score)
        out[r.name] = 2 * se
    return out


NO_SIGNAL_P = 0.05


def no_signal(p: Prepared, config: TrainingConfig, winner: CandidateResult) -> list[str]:
    """A warning when the winner scores the holdout no better than its own outputs shuffled: whatever
    the metric says, the features then carry no signal the model found (a noise table, a target
    unrelated to the columns, or the signal excluded as a suspect)."""
    metric = config.promotion_metric
    outputs = winner.holdout_outputs
    if outputs is None or metric not in winner.holdout:
        return []
    score = _promotion_score(p, config)
    return signal_warning(p.y_test, outputs, score, metric, winner.holdout[metric], config.target)


def signal_warning(
    y: np.ndarray,
    outputs: pd.DataFrame,
    score: Callable[[np.ndarray, pd.DataFrame], float],
    metric: str,
    value: float,
    target: str,
) -> list[str]:
    """The permutation test's verdict on a holdout: nothing, no signal, or too few rows to tell (a
    perfect model on 1 bad row among 10 has p = 0.1: that is the holdout's size, not the columns)."""
    chance = shuffled_outputs_p_value(y, outputs, score, metric in LOWER_IS_BETTER)
    if chance <= NO_SIGNAL_P:
        return []
    least = least_p_value(y)
    if least > NO_SIGNAL_P:
        return [
            f"too few holdout rows to test for signal: even a perfect model would have permutation p of about "
            f"{least:.2f} on these {len(y)} rows (the winner's holdout_{metric} is {value:.4f}, p = {chance:.2f}); "
            "label more rows before trusting any of its metrics"
        ]
    return [
        f"no signal found: the winner's holdout_{metric} ({value:.4f}) is no better than its own "
        f"outputs shuffled across the holdout rows (permutation p = {chance:.2f}); the columns as given do not "
        f"predict `{target}`: check the target column, and the exclusions printed above"
    ]


def train(frame: pd.DataFrame, config: TrainingConfig) -> TrainedModel:
    """The whole session: prepare, cross-validate every candidate, fit each on the training side, score
    each on the holdout, keep the winner.

    BLAS runs single-threaded throughout: the linear fits are small, and OpenBLAS threads left
    spinning after a parallel call would steal the cores LightGBM's OpenMP threads need next."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        return _train(frame, config)


def _train(frame: pd.DataFrame, config: TrainingConfig) -> TrainedModel:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    p = prepare(frame, config)
    family, schema, data, test = p.family, p.schema, p.data, p.test
    timings["prepare_s"] = time.perf_counter() - started

    mark = time.perf_counter()
    cv = cross_validation(p, config)
    skipped: dict[str, str] = {}
    results = select(p, config, cv, skipped)
    timings["selection_s"] = time.perf_counter() - mark

    fitted: list[CandidateResult] = []
    for r in results:
        mark = time.perf_counter()
        try:
            r.estimator = family.fit_candidate(r.candidate, r.params, p.x_train, p.y_train, config)
        except TrainingDataError as exc:
            skipped[r.name] = str(exc)
            continue
        timings[f"fit_{r.name}_s"] = time.perf_counter() - mark
        mark = time.perf_counter()
        r.holdout_outputs = r.estimator.predict_outputs(p.x_test).reset_index(drop=True)
        r.holdout = declared_metrics(family.evaluate(p.y_test, r.holdout_outputs, config), config)
        timings["holdout_scoring_s"] = timings.get("holdout_scoring_s", 0.0) + time.perf_counter() - mark
        fitted.append(r)
    if not fitted:
        raise TrainingDataError(f"{config.scenario}: no candidate could be fitted: {skipped}")
    results = [r for r in results if any(r is f for f in fitted)]
    winner = _winner(results, config.promotion_metric)
    timings["fit_s"] = timings[f"fit_{winner.name}_s"]

    mark = time.perf_counter()
    outputs = winner.holdout_outputs
    assert outputs is not None
    noise = _noise(p, config, winner, [r for r in results if r is not winner])
    warnings = [*p.warnings, *(f"candidate `{name}` left out: {why}" for name, why in skipped.items())]
    warnings += family.label_warnings(
        cv.y if cv is not None and winner.oof is not None else p.y_test,
        winner.oof if cv is not None else outputs,
        config,
    )
    if family.stratified:
        warnings += thin_holdout_classes(p.y_test)
    warnings += no_signal(p, config, winner)
    metric = config.promotion_metric
    for r in results:
        if r is winner or metric not in r.holdout:
            continue
        ahead = _sign(metric) * (r.holdout[metric] - winner.holdout[metric])
        if ahead > noise[r.name]:
            warnings.append(
                f"on the holdout `{r.name}` beats the winner `{winner.name}` on {metric} by {ahead:.4f}, more than "
                f"the noise ({noise[r.name]:.4f}); cross-validation chose otherwise"
            )
    fairness = pd.DataFrame()
    if config.group_column and config.group_column in data.columns:
        fairness = fairness_table(data.loc[test, config.group_column], p.y_test, outputs, family, config)
    reference = population_reference(frame, config, p, winner.estimator, outputs)
    curves = {r.name: r.holdout_outputs for r in results if r.holdout_outputs is not None}
    view = HoldoutView(p.y_test, outputs, curves, winner.estimator, config, schema.names)
    artifacts = family.artifacts(view)
    holdout_table = data[test].reset_index(drop=True)
    holdout_x = schema.external(holdout_table)
    target = config.target
    recorded = [*schema.names, target]  # what MLflow's dataset records describe: the model's inputs and target
    timings["evaluate_s"] = time.perf_counter() - mark
    mark = time.perf_counter()
    train_frame, holdout_frame = data.loc[~test, recorded], holdout_table[recorded]
    timings["dataset_frames_s"] = time.perf_counter() - mark
    trained = TrainedModel(
        config=config,
        family=family,
        winner=winner,
        results=results,
        model=ScenarioModel(family.name, schema, winner.estimator, family.primary, reference),
        holdout_x=holdout_x,
        holdout_table=holdout_table,
        holdout_y=p.y_test,
        fairness=fairness,
        artifacts=artifacts,
        train_rows=int((~test).sum()),
        ignored=p.ignored,
        warnings=warnings,
        split=p.split,
        selection=_selection_text(results, winner, cv, config.promotion_metric),
        noise=noise,
        cv_rows=cv.rows if cv else 0,
        folds=cv.k if cv else 0,
        repeats=len(cv.repeats) if cv else 0,
        train_frame=train_frame,
        holdout_frame=holdout_frame,
        timings=timings,
    )
    trained.artifacts["candidates.csv"] = trained.comparison().to_csv(index=False)
    return trained
