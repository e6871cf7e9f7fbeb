"""The generic trainer on small synthetic tables: column inference, each family learns, tuning, bad data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from datafactory.modeling.columns import MISSING, infer_schema
from datafactory.modeling.config import training_config
from datafactory.modeling.families.base import TrainingDataError
from datafactory.modeling.train import train
from datafactory.specs import SpecError
from datafactory.specs.model import model_spec

pytestmark = pytest.mark.unit

CLASSES = ["standard", "rated", "exclusion", "postpone", "decline"]


def _frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    kind = rng.choice(["a", "b", "c"], n)
    logit = -1.5 + 1.5 * x1 - x2 + 1.0 * (kind == "a")
    return pd.DataFrame(
        {
            "id": [f"row{i}" for i in range(n)],
            "x1": x1,
            "x2": x2,
            "kind": kind,
            "region_code": rng.choice(["330281", "330502"], n),
            "bad": (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int),
        }
    )


def _config(**overrides):
    raw = {
        "scenario": "synthetic",
        "inputs": ["synthetic"],
        "target": "bad",
        "id_column": "id",
        "family": "binary",
        "algorithm": "lightgbm",
        "params": {"num_boost_round": 60, "num_leaves": 7},
        "baseline": "logistic_regression",
        "promotion": {"metric": "auc"},
        "group_column": "region_code",
        "passthrough": ["region_code"],
    }
    return training_config(model_spec(raw | overrides))


def test_columns_are_inferred_numeric_categorical_or_ignored_with_a_reason():
    frame = _frame(300).assign(
        when=pd.Timestamp("2026-01-01"),
        code=[f"c{i}" for i in range(300)],
        empty=np.nan,
        flag=True,
        both=[True, False] * 150,
    )
    schema, ignored = infer_schema(frame, exclude={"id", "bad"})
    assert schema.numeric == ("x1", "x2", "both")
    assert schema.categorical == ("kind", "region_code")
    assert set(ignored) == {"when", "code", "empty", "flag"}
    assert "identifier" in ignored["code"] and "constant" in ignored["flag"] and "empty" in ignored["empty"]


def test_unseen_and_missing_categories_become_missing_in_the_matrix():
    schema, _ = infer_schema(pd.DataFrame({"kind": ["a", "b"], "n": [1.0, 2.0]}), exclude=set())
    schema = schema.with_levels(pd.DataFrame({"kind": ["a", "b"]}))
    matrix = schema.matrix(pd.DataFrame({"kind": ["a", "zzz", None], "n": [1, 2, 3]}))
    assert matrix["kind"].isna().tolist() == [False, True, True]
    assert schema.external(pd.DataFrame({"kind": [None], "n": [1]}))["kind"].tolist() == [MISSING]
    assert matrix["n"].dtype == "float64"


def test_binary_family_learns_and_reports_every_metric_per_region():
    trained = train(_frame(), _config())
    assert trained.metrics["auc"] > 0.8
    assert set(trained.metrics) == {"auc", "ks", "gini", "pr_auc", "precision_at_cutoff", "recall_at_cutoff"}
    assert [r.name for r in trained.results] == ["lightgbm", "logistic_regression"]
    assert all(r.holdout["auc"] > 0.8 and r.val["auc"] > 0.8 for r in trained.results)
    assert "region_code" not in trained.features  # passthrough: fairness only
    assert trained.fairness["group"].tolist() == ["330281", "330502"]
    assert (trained.fairness["auc"] > 0.7).all()


def test_tuning_tries_every_grid_point_by_cross_validation_and_keeps_the_best():
    config = _config(tuning={"metric": "auc", "grid": {"num_leaves": [2, 7], "num_boost_round": [2, 60]}})
    lightgbm = train(_frame(), config).results[0]
    assert len(lightgbm.trials) == 4
    best = max(lightgbm.trials, key=lambda t: t.metrics["auc"])
    assert lightgbm.params["num_leaves"] == best.params["num_leaves"]
    assert lightgbm.params["num_boost_round"] == best.params["num_boost_round"]
    assert lightgbm.val == best.metrics  # the candidate's validation score is its best grid point's


def test_training_is_deterministic():
    first = train(_frame(), _config())
    second = train(_frame(), _config())
    assert first.metrics == second.metrics
    pd.testing.assert_frame_equal(first.holdout_outputs, second.holdout_outputs)


def test_ordinal_family_grades_in_declared_order_and_prefers_over_grading():
    frame = _frame()
    rng = np.random.default_rng(3)
    risk = 1.3 * frame["x1"] + rng.normal(scale=0.5, size=len(frame))
    frame["decision"] = np.array(CLASSES)[np.digitize(risk, [-0.5, 0.3, 1.0, 1.7])]
    config = _config(
        family="ordinal",
        target="decision",
        classes=CLASSES,
        costs={"under_grade_per_step": 5, "over_grade_per_step": 1},
        high_risk=["postpone", "decline"],
        promotion={"metric": "macro_f1"},
    )
    trained = train(frame, config)
    assert trained.metrics["macro_f1"] > 0.4
    assert set(trained.holdout_outputs["grade"]) <= set(CLASSES)
    ranks = trained.holdout_outputs["grade_rank"].to_numpy()
    assert np.mean(ranks < trained.holdout_y) < np.mean(ranks > trained.holdout_y)  # errs on the safe side
    assert "confusion_matrix.csv" in trained.artifacts and "candidates.csv" in trained.artifacts


def test_regression_family_learns_expected_values():
    frame = _frame()
    rng = np.random.default_rng(4)
    frame["area"] = rng.lognormal(8, 1, len(frame))
    frame["energy"] = frame["area"] * 90 * np.exp(0.3 * frame["x1"] + rng.normal(scale=0.1, size=len(frame)))
    config = _config(
        family="regression", target="energy", target_transform="log", baseline="ridge", promotion={"metric": "mape"}
    )
    trained = train(frame.drop(columns=["bad"]), config)
    assert trained.metrics["r2"] > 0.8
    assert trained.metrics["mape"] < 0.25


def test_bad_targets_and_specs_fail_with_a_clear_message():
    frame = _frame()
    with pytest.raises(TrainingDataError, match="say which one is positive"):
        train(frame.assign(bad=np.where(frame["bad"] == 1, "yes", "no")), _config())
    with pytest.raises(TrainingDataError, match=r"--positive maybe is not a value of 'bad'; its values are no, yes"):
        train(frame.assign(bad=np.where(frame["bad"] == 1, "yes", "no")), _config().with_positive("maybe"))
    with pytest.raises(TrainingDataError, match=r"has a single value \(0\) in all 2000 labelled rows"):
        train(frame.assign(bad=0), _config())
    with pytest.raises(TrainingDataError, match="not in the data"):
        train(frame.drop(columns=["bad"]), _config())
    with pytest.raises(TrainingDataError, match="the table has no rows"):
        train(frame.head(0), _config())
    with pytest.raises(SpecError, match="family"):
        _config(family="neural")


def test_an_undeclared_class_in_the_target_is_an_error_not_a_new_order():
    frame = _frame()
    frame["decision"] = np.where(frame["x1"] > 1, "decline", np.where(frame["x1"] > 0, "rated", "standard"))
    frame.loc[:4, "decision"] = "unknown"
    config = _config(family="ordinal", target="decision", classes=CLASSES, promotion={"metric": "macro_f1"})
    with pytest.raises(TrainingDataError, match=r"outside the declared classes: \['unknown'\]"):
        train(frame, config)
    own_table = config.with_data("decision", "id", None)  # modellers' own data: their labels, sorted
    trained = train(frame.assign(decision=frame["decision"].replace("unknown", "rated")), own_table)
    assert set(trained.holdout_outputs["grade"]) <= {"decline", "rated", "standard"}


def test_a_holdout_with_a_handful_of_one_class_is_said_to_be_noise():
    from datafactory.modeling.train import THIN_CLASS_ROWS, thin_holdout_classes

    (said,) = thin_holdout_classes(np.array([0] * 9 + [1]))
    assert "only 1 row(s) of its rarest class" in said
    assert thin_holdout_classes(np.array([0] * 40 + [1] * THIN_CLASS_ROWS)) == []
    assert thin_holdout_classes(np.array([0] * 40 + [1] * (THIN_CLASS_ROWS - 1)))  # one short of enough
    assert "only 3 row(s)" in thin_holdout_classes(np.array([0, 1, 2] * 3 + [0, 1] * 20))[0]


def test_a_table_with_several_rows_per_customer_asks_for_a_group_until_given_one():
    frame = _frame(600).assign(customer_id=np.repeat(np.arange(200), 3))
    by_rows = train(frame, _config().with_data("bad", None, None))
    assert any("--group customer_id" in w for w in by_rows.warnings), by_rows.warnings
    grouped = train(frame, _config().with_data("bad", None, "customer_id"))
    assert not any("--group" in w for w in grouped.warnings), grouped.warnings


def test_a_long_tailed_industry_code_is_learned_from_and_beats_the_table_without_it():
    """Risk that differs by industry, coded the way a national classification spreads over firms (a few
    codes hold most firms, hundreds hold a handful). Excluded as an identifier, the code taught the
    models nothing; as a category of its frequent values, every candidate gains on the same holdout."""
    generator = np.random.default_rng(11)
    rows = 12_000
    weights = 1 / np.arange(1, 901) ** 1.1
    code = generator.choice(900, rows, p=weights / weights.sum())
    effect, x = generator.normal(0, 1.0, 900), generator.normal(size=rows)
    bad = (generator.random(rows) < 1 / (1 + np.exp(-(-2.0 + effect[code] + 0.8 * x)))).astype(int)
    frame = pd.DataFrame(
        {"id": [f"E{i:06d}" for i in range(rows)], "industry": [f"C{c:04d}" for c in code], "x": x, "bad": bad}
    )
    config = _config(group_column=None, passthrough=[])
    with_code = train(frame, config)
    without = train(frame.drop(columns="industry"), config)
    assert "industry" in with_code.features and "industry" not in with_code.ignored
    assert any("`industry` has" in w and "read as missing" in w for w in with_code.warnings)
    before = {r.name: r.holdout["auc"] for r in without.results}
    gained = {r.name: r.holdout["auc"] - before[r.name] for r in with_code.results}
    assert set(gained) == {"lightgbm", "logistic_regression"} and min(gained.values()) > 0.02, gained


def _branch_loan_panel(people: int = 150, months: int = 24) -> pd.DataFrame:
    """A branch's monthly loan panel as its core system exports it: the borrower's resident ID, name
    and mobile (pandas reads an 11-digit phone as a whole number), the account manager's name (30
    of them), colours and risk levels whose words start like surnames, and the outcome."""
    from datetime import date

    from datafactory.domain.identifiers import make_resident_id

    generator = np.random.default_rng(8)
    given = ["伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟"]
    surnames = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
    names = [surnames[i % 20] + given[(i * 7) % 15] + ("" if i % 3 else given[i % 15]) for i in range(people)]
    ids = [make_resident_id("330281", date(1960 + i % 40, 1 + i % 12, 1 + i % 28), i) for i in range(people)]
    managers = [surnames[(i * 3) % 20] + given[i % 15] for i in range(30)]
    risk = generator.normal(size=people)
    rows = people * months
    person = np.repeat(np.arange(people), months)
    score = risk[person] + generator.normal(0, 0.5, rows)
    return pd.DataFrame(
        {
            "身份证号": np.array(ids)[person],
            "姓名": np.array(names)[person],
            "手机号": 13_800_000_000 + person * 7_919,
            "客户经理": np.array(managers)[person % 30],
            "颜色": generator.choice(["黄色", "白色", "红色", "金色"], rows),
            "风险等级": np.where(score > 0.5, "高风险", np.where(score > -0.5, "中风险", "低风险")),
            "城市": generator.choice(["金华", "温州", "杭州", "宁波", "台州"], rows),
            "逾期天数": np.clip(score * 10, 0, None).round(),
            "bad": (generator.random(rows) < 1 / (1 + np.exp(-(score - 1)))).astype(int),
        }
    )


def test_personal_columns_are_never_inputs_and_the_review_finds_nothing_in_the_input_example():
    """Repeated monthly, a resident ID or a mobile number was no identifier (not unique per row) and became
    a numeric input; the account manager's name was a category. The model's levels and its logged input
    example carried them. The product review, an independent detector, checks what the model keeps."""
    from datafactory.products.review import Policy, review_table

    frame = _branch_loan_panel()
    trained = train(frame, _config(id_column=None, group_column=None, passthrough=[]))
    kinds = {"身份证号": "resident ID numbers", "手机号": "mobile numbers", "姓名": "personal names"}
    kinds["客户经理"] = "personal names"
    for column, kind in kinds.items():
        assert trained.ignored[column] == f"personal data ({kind}): never a model input", column
    assert {"颜色", "风险等级", "城市", "逾期天数"} <= set(trained.features)  # words that start like surnames
    kept = trained.holdout_x
    found = review_table(kept, Policy(allowed_columns=list(kept.columns))).findings
    assert [f for f in found if f.check in ("resident_id", "mobile")] == []
    levels = {level for values in trained.model.schema.levels.values() for level in values}
    assert not levels & (set(frame["姓名"]) | set(frame["客户经理"]))
