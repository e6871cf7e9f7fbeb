"""What a task returns goes to XCom as strict JSON: an undefined metric must not fail a task whose model was
already registered (found in a demo run: the noise estimate on a tiny holdout was NaN)."""

from __future__ import annotations

import json
import math

import pytest

from datafactory.airflow.tasks import json_safe

pytestmark = pytest.mark.unit


def test_non_finite_floats_become_null_at_any_depth_and_the_rest_is_untouched():
    result = {
        "metrics": {"auc": 0.56, "ks": math.nan},
        "candidates": [{"name": "lightgbm", "noise": math.inf}, {"name": "woe", "noise": -math.inf}],
        "rows": (3, 4.5),
        "winner": "woe",
    }
    safe = json_safe(result)
    assert json.loads(json.dumps(safe, allow_nan=False)) == {
        "metrics": {"auc": 0.56, "ks": None},
        "candidates": [{"name": "lightgbm", "noise": None}, {"name": "woe", "noise": None}],
        "rows": [3, 4.5],
        "winner": "woe",
    }
