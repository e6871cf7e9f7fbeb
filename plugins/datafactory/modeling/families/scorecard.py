"""Credit scorecard: monotonic WoE bins + logistic regression scaled to points and grades.

LightGBM can be declared as the challenger: its probability goes through the same points scaling
and grade cut-offs, so champion and challenger are compared and published on the same scale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from datafactory.modeling.config import TrainingConfig
from datafactory.modeling.estimators import fit_booster
from datafactory.modeling.families.base import (
    Family,
    HoldoutView,
    TrainingDataError,
    binary_target,
    check_both_classes,
    with_importance,
)
from datafactory.modeling.families.binary import fit_logistic
from datafactory.modeling.metrics import rank_auc, ranking_metrics
from datafactory.modeling.plots import roc_svg
from datafactory.modeling.woe import BinningRules, FeatureBinning, fit_binnings
from datafactory.specs.model import ScorecardModel, ScorecardOptions


@dataclass(frozen=True)
class Scaling:
    """Points = offset + factor * ln(good:bad odds), with factor = PDO / ln 2."""

    base_points: float
    base_odds: float  # good:bad odds at base_points
    pdo: float  # points to double the odds

    @property
    def factor(self) -> float:
        return self.pdo / math.log(2)

    @property
    def offset(self) -> float:
        return self.base_points - self.factor * math.log(self.base_odds)

    def points(self, logit_bad: np.ndarray) -> np.ndarray:
        return self.offset - self.factor * np.asarray(logit_bad, dtype=float)


def scaling_from(spec: ScorecardOptions) -> Scaling:
    return Scaling(float(spec.scaling.base_points), float(spec.scaling.base_odds), float(spec.scaling.pdo))


def _options(config: TrainingConfig) -> ScorecardOptions:
    return config.options  # type: ignore[return-value]  # a scorecard config carries scorecard options


def grade_of(points: np.ndarray, grades: list[tuple[str, float]]) -> np.ndarray:
    lows = np.array([low for _, low in grades][::-1][1:])  # ascending, without -inf
    names = np.array([name for name, _ in grades][::-1], dtype=object)
    return names[np.searchsorted(lows, np.asarray(points, dtype=float), side="right")]


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


@dataclass
class WoEScorecard:
    binnings: list[FeatureBinning]
    coefficients: np.ndarray
    intercept: float
    scaling: Scaling
    grades: list[tuple[str, float]]

    def _woe(self, x: pd.DataFrame) -> np.ndarray:
        return np.column_stack([b.transform(x[b.feature]) for b in self.binnings])

    def attribute_points(self) -> list[np.ndarray]:
        """Whole points per bin (missing bin last) for each feature; a score is their sum."""
        share = (self.scaling.offset - self.scaling.factor * self.intercept) / len(self.binnings)
        return [
            np.rint(-self.scaling.factor * coef * np.append(b.woe, b.missing_woe) + share)
            for b, coef in zip(self.binnings, self.coefficients, strict=True)
        ]

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        logit = self.intercept + self._woe(x) @ self.coefficients
        table = self.attribute_points()
        points = np.zeros(len(x))
        for b, pts in zip(self.binnings, table, strict=True):
            points += pts[b.bin_index(x[b.feature])]  # bin -1 (missing) reads the last entry
        return pd.DataFrame(
            {
                "probability": 1 / (1 + np.exp(-logit)),
                "points": points.astype(int),
                "grade": grade_of(points, self.grades),
            },
            index=x.index,
        )

    def table(self) -> pd.DataFrame:
        rows = []
        for b, coef, pts in zip(self.binnings, self.coefficients, self.attribute_points(), strict=True):
            bins = [
                *zip(b.labels, b.counts, b.bads, b.woe, strict=True),
                ("(missing)", b.missing_count, b.missing_bads, b.missing_woe),
            ]
            for i, (label, count, bad, woe) in enumerate(bins):
                rows.append(
                    {
                        "feature": b.feature,
                        "bin": label,
                        "rows": count,
                        "bad_rate": round(bad / count, 4) if count else None,
                        "woe": round(woe, 4),
                        "points": int(pts[i]),
                        "iv": round(b.iv, 4),
                        "trend": b.trend,
                        "coefficient": round(float(coef), 4),
                    }
                )
        return pd.DataFrame(rows)


@dataclass
class BoosterScorecard:
    booster: lgb.Booster
    scaling: Scaling
    grades: list[tuple[str, float]]

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        p = np.asarray(self.booster.predict(x), dtype=float)
        points = np.rint(self.scaling.points(_logit(p)))
        return pd.DataFrame(
            {"probability": p, "points": points.astype(int), "grade": grade_of(points, self.grades)}, index=x.index
        )


@dataclass
class LinearScorecard:
    """The logistic baseline on the scorecard's points scale and grades, so it can win and be published."""

    linear: Any  # LinearBinary
    scaling: Scaling
    grades: list[tuple[str, float]]

    @property
    def pipeline(self) -> Any:
        return self.linear.pipeline

    def predict_outputs(self, x: pd.DataFrame) -> pd.DataFrame:
        p = self.linear.probability(x)
        points = np.rint(self.scaling.points(_logit(p)))
        return pd.DataFrame(
            {"probability": p, "points": points.astype(int), "grade": grade_of(points, self.grades)}, index=x.index
        )


def fit_woe_scorecard(
    x: pd.DataFrame, y: np.ndarray, params: dict[str, Any], scaling: Scaling, grades: list[tuple[str, float]]
) -> WoEScorecard:
    rules = BinningRules(
        **{k: params[k] for k in ("max_bins", "initial_bins", "min_bin_share", "min_iv") if k in params}
    )
    binnings = [b for b in fit_binnings(x, y, rules) if b.iv >= rules.min_iv]
    # Evidence (higher WoE = safer) must lower the bad odds: drop features whose sign flips
    # (collinearity), so every attribute's points move in the direction its bad rate says.
    while binnings:
        woe = np.column_stack([b.transform(x[b.feature]) for b in binnings])
        model = LogisticRegression(C=float(params.get("C", 1.0)), max_iter=1000).fit(woe, y)
        coefficients = model.coef_[0]
        if np.all(coefficients < 0):
            return WoEScorecard(binnings, coefficients, float(model.intercept_[0]), scaling, grades)
        binnings.pop(int(np.argmax(coefficients)))
    raise TrainingDataError(f"scorecard: no feature reaches the information value {rules.min_iv}")


def grade_table(y: np.ndarray, outputs: pd.DataFrame, grades: list[tuple[str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame({"grade": outputs["grade"].to_numpy(), "bad": y})
    table = frame.groupby("grade")["bad"].agg(rows="count", bad_rate="mean").reindex([g for g, _ in grades])
    table["min_points"] = [low for _, low in grades]
    return table.reset_index()


class ScorecardFamily(Family):
    spec = ScorecardModel
    primary = "points"

    def target(self, values: pd.Series, config: TrainingConfig) -> np.ndarray:
        return binary_target(values, _options(config).positive, config.scenario)

    def check_split(self, y_train: np.ndarray, y_test: np.ndarray, config: TrainingConfig) -> None:
        super().check_split(y_train, y_test, config)
        check_both_classes(y_train, y_test, config.scenario)

    def fit(self, algorithm: str, params: dict[str, Any], x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        self.check_algorithm(algorithm, config)
        options = _options(config)
        scaling, grades = scaling_from(options), options.grade_floors
        if algorithm == "woe_logistic":
            return fit_woe_scorecard(x, y, params, scaling, grades)
        return BoosterScorecard(fit_booster(x, y, params, objective="binary"), scaling, grades)

    def fit_baseline(self, kind: str, x: pd.DataFrame, y: np.ndarray, config: TrainingConfig):
        options = _options(config)
        return LinearScorecard(fit_logistic(x, y), scaling_from(options), options.grade_floors)

    def metric(self, name: str, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> float:
        if name in ("auc", "gini"):  # the rank form: roc_auc_score's value without its per-call checks
            auc = rank_auc(y, outputs["probability"].to_numpy())
            return auc if name == "auc" else 2 * auc - 1
        return super().metric(name, y, outputs, config)

    def evaluate(self, y: np.ndarray, outputs: pd.DataFrame, config: TrainingConfig) -> dict[str, float]:
        return ranking_metrics(y, outputs["probability"].to_numpy())

    def label_warnings(self, y: np.ndarray, validation: pd.DataFrame | None, config: TrainingConfig) -> list[str]:
        """Bad rates must fall as grades rise; most rows bad, or most rows in the worst grade, suggests the
        label is coded the other way round (good = 1)."""
        options = _options(config)
        bad = "the positive label" if options.positive is None else f"'{options.positive}'"
        warnings = []
        share = float(np.mean(y))
        if share > 0.5:
            warnings.append(
                f"coding looks inverted: {bad} (read as bad) is {share:.0%} of the rows; a scorecard expects bad to "
                "be the minority. If it means good, rerun with --positive naming the bad label"
            )
        if validation is None or validation.empty:
            return warnings
        names = [g for g, _ in options.grade_floors]
        table = pd.DataFrame({"grade": validation["grade"].to_numpy(), "bad": y}).groupby("grade")["bad"]
        stats = table.agg(["count", "mean"]).reindex(names).dropna()
        stats = stats[stats["count"] >= 20]
        rates, counts = stats["mean"].to_numpy(), stats["count"].to_numpy()
        # A better grade with a higher bad rate than the next one, beyond two standard errors of the gap.
        pooled = (rates[:-1] * counts[:-1] + rates[1:] * counts[1:]) / (counts[:-1] + counts[1:])
        se = np.sqrt(pooled * (1 - pooled) * (1 / counts[:-1] + 1 / counts[1:]))
        if len(rates) >= 2 and np.any(rates[:-1] - rates[1:] > 2 * se):
            shown = ", ".join(f"{g} {r:.0%}" for g, r in zip(stats.index, rates, strict=True))
            warnings.append(
                f"bad rates do not fall as grades rise on validation ({shown}, best grade first): "
                "check the label's coding and the grade floors"
            )
        worst = float(np.mean(validation["grade"].to_numpy() == names[-1]))
        if worst >= 0.8:
            warnings.append(
                f"{worst:.0%} of validation rows land in the worst grade {names[-1]}: "
                "the label's coding may be inverted, or the grade floors do not suit this data"
            )
        return warnings

    def group_summary(self, y: np.ndarray, outputs: pd.DataFrame) -> dict[str, float]:
        return {"observed_bad_rate": float(np.mean(y)), "mean_points": float(outputs["points"].mean())}

    def artifacts(self, view: HoldoutView) -> dict[str, Any]:
        model = view.estimator
        curves = {name: outputs["probability"].to_numpy() for name, outputs in view.curves.items()}
        scaling = model.scaling
        out: dict[str, Any] = {
            "plots/roc.svg": roc_svg(view.y, curves),
            "grades_on_holdout.csv": grade_table(view.y, view.outputs, model.grades).to_csv(index=False),
            "scaling.json": {
                "base_points": scaling.base_points,
                "base_odds_good_to_bad": scaling.base_odds,
                "pdo": scaling.pdo,
                "factor": scaling.factor,
                "offset": scaling.offset,
                "grades_min_points": {g: (None if low == -math.inf else low) for g, low in model.grades},
            },
        }
        if isinstance(model, WoEScorecard):
            table = model.table()
            out["scorecard.csv"] = table.to_csv(index=False)
            out["scorecard.md"] = _markdown_table(table)
            return out
        return with_importance(out, model, view.features)


def _markdown_table(table: pd.DataFrame) -> str:
    header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
    body = "".join(
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |\n" for row in table.itertuples(False)
    )
    return "# Scorecard\n\nPoints per attribute; a supplier's score is the sum over its features.\n\n" + header + body
