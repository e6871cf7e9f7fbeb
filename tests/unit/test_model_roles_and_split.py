"""Column roles and the split, as pure functions on small frames: what counts as an identifier, a
constant or a leak (and what does not), and a split that reads only which rows share a class."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datafactory.modeling.columns import (
    PROBE_ROWS,
    FeatureSchema,
    constant_reason,
    identifier_reason,
    leakage_suspects,
)
from datafactory.modeling.split import Splitter, content_hashes, key_hashes

pytestmark = pytest.mark.unit

N = 400
rng = np.random.default_rng(7)


@pytest.mark.parametrize(
    "name,values,expected",
    [
        ("row", np.arange(N), "row index"),
        ("Unnamed: 0", np.arange(1, N + 1).astype(float), "row index"),  # pandas' saved index, read back as float
        ("seq", np.cumsum(rng.integers(1, 5, N)), "sequence number"),
        ("customer_id", rng.permutation(10**6)[:N], "identifier"),
        ("ref", [f"R{i:06d}" for i in rng.permutation(N)], "identifier"),
        ("notes", [f"called on day {i} about the late delivery of order {i * 7}" for i in range(N)], "identifier"),
    ],
)
def test_identifiers_are_recognised(name, values, expected):
    reason = identifier_reason(name, pd.Series(values))
    assert reason is not None and expected in reason


def test_free_text_with_repeats_is_recognised_as_text():
    words = ["late", "delivery", "called", "twice", "refund", "asked", "for", "order", "the", "again"]
    notes = [" ".join(rng.choice(words, 6)) for _ in range(N)]
    notes[:20] = notes[20:40]  # some notes repeat: not unique per row, still free text
    assert "free text" in identifier_reason("notes", pd.Series(notes))


@pytest.mark.parametrize(
    "name,values",
    [
        ("income", rng.lognormal(8, 1, N)),  # a measurement: unique floats are not an identifier
        ("age", rng.integers(18, 90, N)),  # whole numbers that repeat
        ("amount", rng.permutation(N).astype(float) + 0.5),
        ("city", rng.choice(["a", "b", "c"], N)),
        ("flag", rng.random(N) < 0.5),
    ],
)
def test_measurements_and_categories_are_not_identifiers(name, values):
    assert identifier_reason(name, pd.Series(values)) is None


def test_constant_columns_but_not_one_value_with_missing_ones():
    assert "constant" in constant_reason(pd.Series([3] * N))
    assert "constant" in constant_reason(pd.Series(["x"] * N))
    assert constant_reason(pd.Series([np.nan] * N)) == "always empty"
    assert constant_reason(pd.Series([1.0, np.nan] * (N // 2))) is None  # present or not: a signal
    assert constant_reason(pd.Series([1, 2] * (N // 2))) is None


def test_leakage_suspects_are_near_copies_of_the_target_not_good_features():
    y = (rng.random(2000) < 0.3).astype(int)
    x = pd.DataFrame(
        {
            "leak": y * 5 + rng.normal(0, 0.2, 2000),  # the outcome, recorded afterwards
            "good": y + rng.normal(0, 1.0, 2000),  # predictive, but far from the target itself
            "status": pd.Categorical(np.where(y == 1, "written_off", "current")),
            "noise": rng.normal(size=2000),
        }
    )
    suspects, _ = leakage_suspects(x, y, "binary")
    assert set(suspects) == {"leak", "status"} and "AUC" in suspects["leak"]
    amount = rng.lognormal(3, 1, 2000)
    numbers = pd.DataFrame({"copy": amount * 1.02 + 1, "related": amount + rng.normal(0, 20, 2000)})
    assert set(leakage_suspects(numbers, amount, "regression")[0]) == {"copy"}
    grades = np.digitize(amount, np.quantile(amount, [0.33, 0.66]))
    assert set(leakage_suspects(pd.DataFrame({"raw": amount}), grades, "ordinal")[0]) == {"raw"}


def test_the_split_reads_only_the_partition_of_rows_into_classes():
    frame = pd.DataFrame({"a": rng.normal(size=N), "b": rng.integers(0, 5, N)})
    labels = np.where(rng.random(N) < 0.2, "bad", "good")
    hashes = content_hashes(frame)
    split = Splitter.build(hashes, labels).take(0.25)
    for recoded in (np.where(labels == "bad", 1, 0), np.where(labels == "bad", "good", "bad")):
        assert np.array_equal(Splitter.build(hashes, recoded).take(0.25), split)
    for label in ("bad", "good"):
        share = split[labels == label].mean()
        assert abs(share - 0.25) <= 1 / (labels == label).sum()


def test_rows_sharing_a_key_share_a_side_and_a_fold():
    ids = pd.Series([f"person{i // 4}" for i in range(N)])
    labels = rng.integers(0, 3, N)
    splitter = Splitter.build(key_hashes(ids), labels)
    assert splitter.grouped
    test, folds = splitter.take(0.25), splitter.folds(3)
    assert (pd.Series(test).groupby(ids).nunique() == 1).all()
    assert (pd.Series(folds).groupby(ids).nunique() == 1).all()
    assert set(folds) == {0, 1, 2}


def test_a_long_column_with_one_repeat_beyond_the_probe_is_not_an_identifier():
    ids = rng.permutation(10**7)[: 3 * PROBE_ROWS]
    assert "identifier" in identifier_reason("customer_id", pd.Series(ids))
    repeated = ids.copy()
    repeated[-1] = repeated[-2]  # one repeat in 60,000 values: the probe alone would miss it
    assert identifier_reason("customer_id", pd.Series(repeated)) is None
    text = pd.Series([f"R{i:07d}" for i in repeated])
    assert identifier_reason("ref", text) is None
    assert "identifier" in identifier_reason("ref", pd.Series([f"R{i:07d}" for i in ids]))


def test_inputs_picked_by_row_positions_are_those_rows_of_the_whole_table():
    frame = pd.DataFrame(
        {
            "amount": pd.array([1, None, 3, 4, 5, 6], dtype="Int64"),
            "ratio": [0.5, np.nan, 1.5, 2.5, 3.5, 4.5],
            "text_number": ["1.5", "x", None, "2", "3", "4"],
            "region": ["a", "b", None, "a", "c", ""],
        },
        index=[10, 11, 12, 13, 14, 15],
    )
    schema = FeatureSchema(("amount", "ratio", "text_number"), ("region",)).with_levels(frame.iloc[:4])
    rows = np.array([5, 0, 3])
    for picked, whole in (
        (schema.matrix(frame, rows), schema.matrix(frame)),
        (schema.external(frame, rows), schema.external(frame)),
    ):
        pd.testing.assert_frame_equal(picked, whole.iloc[rows].reset_index(drop=True))
    whole = schema.matrix(frame)
    assert whole.index.tolist() == frame.index.tolist()
    assert whole["amount"].isna().tolist() == [False, True, False, False, False, False]
    assert whole["text_number"].iloc[0] == 1.5 and np.isnan(whole["text_number"].iloc[1])  # text read as numbers
    assert whole["region"].cat.categories.tolist() == ["(missing)", "a", "b"]  # levels as trained
    assert whole["region"].isna().tolist() == [False, False, True, False, True, True]  # missing, unseen, empty
    numbers = FeatureSchema(schema.numeric, ()).matrix(frame, rows)
    assert np.asarray(numbers).flags["C_CONTIGUOUS"]  # one rows x features block: LightGBM reads it without a copy


DATE_WRITERS = {
    "iso": lambda d: d.isoformat(),
    "iso_time": lambda d: f"{d.isoformat()} 08:30:00",
    "slashes": lambda d: d.strftime("%Y/%m/%d"),
    "chinese": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "day_first": lambda d: d.strftime("%d/%m/%Y"),
}


@settings(max_examples=25, deadline=None)
@given(
    start=st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 1, 1)),
    writer=st.sampled_from(sorted(DATE_WRITERS)),
    repeats=st.booleans(),
)
def test_dates_written_as_text_are_excluded_as_dates_not_identifiers(start, writer, repeats):
    from datafactory.modeling.columns import DATE_TEXT, infer_schema

    days = [start + timedelta(days=int(i)) for i in rng.permutation(N)]
    if repeats:  # many rows a day, still more days than categories
        days = days[: N // 2] * 2
    frame = pd.DataFrame({"applied_on": [DATE_WRITERS[writer](d) for d in days], "amount": np.arange(N) % 7})
    schema, ignored = infer_schema(frame, exclude=set())
    assert ignored.get("applied_on") == DATE_TEXT and "applied_on" not in schema.names


def test_codes_with_digits_are_identifiers_and_a_few_months_stay_categories():
    from datafactory.modeling.columns import infer_schema

    frame = pd.DataFrame(
        {
            "invoice": [f"INV-2019-{i:04d}" for i in range(N)],
            "issue_month": [f"{m}-2011" for m in ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug"]] * (N // 8),
        }
    )
    schema, ignored = infer_schema(frame, exclude=set())
    assert ignored["invoice"].startswith("an identifier")
    assert "issue_month" in schema.categorical


def test_the_split_key_is_the_documented_crc32_of_the_id_text():
    """A modeller can rebuild the holdout in any tool: the bucket starts from CRC-32, not a library's hash."""
    import zlib

    ids = pd.Series(["91330200MA2AB3XK6T", "P0001", "客户-7"])
    assert key_hashes(ids).tolist() == [zlib.crc32(i.encode()) for i in ids]
    assert key_hashes(pd.Series([7, 42])).tolist() == [zlib.crc32(b"7"), zlib.crc32(b"42")]


def test_an_entity_id_that_repeats_asks_for_a_group():
    """A transactions or visits table has several rows per customer; split by rows, one customer lands
    on both sides of the holdout. The id repeating is the sign, and the remedy is --group."""
    from datafactory.modeling.columns import shared_entity_columns

    customers = np.repeat(np.arange(150), 3)
    frame = pd.DataFrame(
        {
            "customer_id": customers,
            "客户编号": [f"C{c:05d}" for c in customers],
            "order_no": np.arange(len(customers)),  # one per row: an identifier, not an entity
            "region_id": customers % 5,  # few levels: a category
            "amount": rng.normal(size=len(customers)),
            "bad": customers % 2,
        }
    )
    found = shared_entity_columns(frame, {"bad"})
    assert set(found) == {"customer_id", "客户编号"}
    assert "150 for 450 rows" in found["customer_id"] and "--group customer_id" in found["customer_id"]
    assert shared_entity_columns(frame, {"bad", "customer_id", "客户编号"}) == {}


def test_the_wisconsin_tumours_strongest_measures_are_features_on_every_training_sample():
    """Real data: `worst perimeter` separates malignant from benign tumours with AUC 0.975 on the whole
    table, and above 0.98 on about one 75% sample in ten. A point estimate against 0.98 excluded it as
    a leak on those samples; a genuine measurement must stay a feature whatever the split."""
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    strongest = x[["worst perimeter", "worst radius", "worst area", "worst concave points"]]
    above = 0
    for seed in range(40):
        rows = np.random.default_rng(seed).random(len(y)) < 0.75
        suspects, kept = leakage_suspects(strongest[rows], y[rows].to_numpy(), "binary")
        assert suspects == {}, (seed, suspects)
        above += bool(kept)
    assert above >= 2  # the samples that would have been excluded are there, and warned of instead


def _binormal(auc: float, rare: int, common: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A feature whose true AUC is `auc`: normal in each class, means d apart, AUC = Φ(d / √2)."""
    from scipy.stats import norm

    generator = np.random.default_rng(seed)
    shift = np.sqrt(2) * norm.ppf(auc)
    values = np.r_[generator.normal(shift, 1, rare), generator.normal(0, 1, common)]
    return pd.DataFrame({"x": values}), np.r_[np.ones(rare), np.zeros(common)].astype(int)


@pytest.mark.parametrize(("rare", "common"), [(40, 400), (150, 300), (600, 1200)])
def test_a_feature_just_below_the_limit_is_rarely_taken_for_a_leak_at_any_size(rare, common):
    """The lower bound is one standard error: a true AUC of 0.975 is excluded on at most about one
    sample in six (the one-sided 84% level), at every size, while its point estimate crosses 0.98 far
    more often on small samples."""
    excluded = point_above = 0
    for seed in range(150):
        x, y = _binormal(0.975, rare, common, seed)
        suspects, kept = leakage_suspects(x, y, "binary")
        excluded += bool(suspects)
        point_above += bool(suspects) or bool(kept)
    assert excluded <= 0.2 * 150, excluded
    if rare <= 150:
        assert point_above >= 2 * excluded + 10  # what the old point rule would have excluded


@pytest.mark.parametrize("rare", [60, 200, 2000])
def test_a_recoded_outcome_is_excluded_once_enough_rows_back_it(rare):
    """A status filled in after the outcome (perfect, or wrong on one row in a hundred) is excluded from
    60 rows of the rarer class on; with 11 it is kept, and the warning names it and says why."""
    generator = np.random.default_rng(rare)
    y = np.r_[np.ones(rare), np.zeros(3 * rare)].astype(int)
    status = np.where(y == 1, "written_off", "current")
    flipped = generator.random(len(y)) < 0.005
    x = pd.DataFrame(
        {
            "status": pd.Categorical(status),
            "amount_recovered": y * 100.0 + generator.normal(0, 1, len(y)),
            "noisy_copy": np.where(flipped, 1 - y, y) + generator.normal(0, 0.01, len(y)),
        }
    )
    suspects, kept = leakage_suspects(x, y, "binary")
    assert set(suspects) == {"status", "amount_recovered", "noisy_copy"} and kept == {}
    few = np.r_[np.arange(11), np.arange(rare, rare + 19)]
    suspects, kept = leakage_suspects(x.iloc[few], y[few], "binary")
    assert suspects == {} and set(kept) == {"status", "amount_recovered", "noisy_copy"}
    assert "11 training rows of the rarer class are too few to tell a leak" in kept["status"]


def test_a_regression_copy_is_excluded_and_a_strong_measure_on_thirty_rows_is_kept():
    """Fisher's z on |corr|: an amount recorded again with a fee is a leak on 1,338 rows; a measure whose
    true correlation is 0.975 crosses 0.98 on many 30-row samples, and is excluded on few of them."""
    generator = np.random.default_rng(3)
    amount = generator.lognormal(9, 1, 1338)
    suspects, kept = leakage_suspects(pd.DataFrame({"billed": amount * 1.06 + 5}), amount, "regression")
    assert set(suspects) == {"billed"} and kept == {}
    excluded = warned = 0
    for seed in range(150):
        g = np.random.default_rng(seed)
        z = g.normal(size=30)
        measure = 0.975 * z + np.sqrt(1 - 0.975**2) * g.normal(size=30)
        suspects, kept = leakage_suspects(pd.DataFrame({"measure": measure}), z, "regression")
        excluded += bool(suspects)
        warned += bool(kept)
    assert excluded <= 0.2 * 150 and warned >= 20, (excluded, warned)


def _industry_codes(rows: int, seed: int) -> pd.Series:
    """Codes the way a national classification spreads over firms (GB/T 4754 has about 1,400 four-digit
    classes; a few hold most firms): Zipf over 900 codes."""
    generator = np.random.default_rng(seed)
    weights = 1 / np.arange(1, 901) ** 1.1
    return pd.Series([f"C{c:04d}" for c in generator.choice(900, rows, p=weights / weights.sum())])


def test_a_long_tailed_code_is_a_category_of_its_frequent_values_and_ids_and_flat_codes_are_not():
    from datafactory.modeling.columns import LEVEL_ROWS, infer_schema, long_tails

    rows = 12_000
    industry = _industry_codes(rows, 1)
    frame = pd.DataFrame(
        {
            "行业代码": industry,
            "zip": [f"Z{z:05d}" for z in rng.integers(0, 2_000, rows)],  # six rows a value: nothing to learn per value
            "客户编号": np.repeat([f"K{i:05d}" for i in range(rows // 24)], 24),  # 24 months a customer
            "y": rng.integers(0, 2, rows),
        }
    )
    schema, ignored = infer_schema(frame, {"y"})
    assert schema.categorical == ("行业代码",)
    assert "an entity's id" in ignored["客户编号"] and "--group 客户编号" in ignored["客户编号"]
    assert "too many categories to learn from" in ignored["zip"]
    schema = schema.with_levels(frame)
    counts = industry.value_counts()
    assert set(schema.levels["行业代码"]) == set(counts[counts >= LEVEL_ROWS].index)
    matrix = schema.matrix(frame)["行业代码"]
    rare = ~industry.isin(schema.levels["行业代码"])
    assert matrix[rare].isna().all() and matrix[~rare].notna().all()
    (note,) = long_tails(frame, schema)
    assert f"the other {int((counts < LEVEL_ROWS).sum())} read as missing" in note


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_the_levels_kept_do_not_depend_on_the_row_order(seed):
    """Ties at the last kept level are broken by the value, never by which row came first."""
    from datafactory.modeling.columns import KEPT_LEVELS, FeatureSchema

    values = [f"V{i:04d}" for i in range(KEPT_LEVELS + 40) for _ in range(12)]  # every value on 12 rows: all tie
    frame = pd.DataFrame({"code": values})
    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    schema = FeatureSchema((), ("code",))
    assert schema.with_levels(frame).levels == schema.with_levels(shuffled).levels
    assert len(schema.with_levels(frame).levels["code"]) == KEPT_LEVELS


def test_resident_ids_and_phones_read_as_whole_numbers_are_personal_and_amounts_are_not():
    """pandas reads an ID without an X, or a phone, as int64; repeated monthly it is no identifier."""
    from datetime import date

    from datafactory.domain.identifiers import make_resident_id
    from datafactory.modeling.columns import infer_schema

    ids = [make_resident_id("110105", date(1970 + i % 30, 1 + i % 12, 1 + i % 28), i) for i in range(400)]
    whole = [int(i) for i in ids if not i.endswith("X")][:100]
    old = [int(f"330281{70 + i % 29:02d}{1 + i % 12:02d}{1 + i % 28:02d}{i:03d}") for i in range(100)]  # 15-digit form
    frame = pd.DataFrame(
        {
            "证件": np.repeat(whole, 12),
            "旧证件": np.repeat(old, 12),
            "电话": np.repeat(13_900_000_000 + np.arange(100) * 104_729, 12),
            "营业收入": np.repeat(rng.uniform(1e10, 9e10, 100), 12),  # large amounts, not phones
            "y": rng.integers(0, 2, 1200),
        }
    )
    schema, ignored = infer_schema(frame, {"y"})
    assert ignored["证件"] == "personal data (resident ID numbers): never a model input"
    assert ignored["旧证件"] == "personal data (resident ID numbers): never a model input"
    assert ignored["电话"] == "personal data (mobile numbers): never a model input"
    assert schema.numeric == ("营业收入",)


@settings(max_examples=30, deadline=None)
@given(
    keys=st.lists(st.integers(0, 8), min_size=1, max_size=30),
    keyed=st.sampled_from(["id as text", "id as number", "none"]),
    seed=st.integers(0, 1000),
)
def test_the_trainers_row_order_is_a_function_of_the_rows_alone(keys, keyed, seed):
    """Whatever order the rows come in (sorted by the key or not, repeats of a key, duplicate rows),
    the rows put in `canonical_order` are the same table."""
    from datafactory.modeling.split import canonical_order

    frame = pd.DataFrame({"key": keys, "value": [k * 7 % 5 for k in keys], "other": range(len(keys))})
    if keyed == "id as text":
        frame["key"] = frame["key"].map(lambda k: f"K{k}")
    column = None if keyed == "none" else "key"

    def ordered(table: pd.DataFrame) -> pd.DataFrame:
        hashes = key_hashes(table["key"]) if column else content_hashes(table.drop(columns="value"))
        order = canonical_order(table[column] if column else None, hashes, table)
        return table.iloc[order].reset_index(drop=True)

    shuffled = frame.sample(frac=1, random_state=seed).reset_index(drop=True)
    by_key = frame.sort_values("key", kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(ordered(shuffled), ordered(frame))
    pd.testing.assert_frame_equal(ordered(by_key), ordered(frame))
