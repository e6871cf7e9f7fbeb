"""What a task's captured output looks like in Airflow's log panel: a structlog line keeps its own
timestamp and level (one timestamp per line, not two), and any other line is stamped when it is read."""

from __future__ import annotations

from datetime import datetime

import pytest

from datafactory.airflow.runs import task_log_record

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("line", "stamp", "level", "event"),
    [
        (
            "2026-12-01T20:51:42.864220Z [info     ] Done. Returned value was: /r/index.html [airflow.task]\n",
            "2026-12-01T20:51:42.864220Z",
            "info",
            "Done. Returned value was: /r/index.html [airflow.task]",
        ),
        ("2026-12-01T20:51:42+08:00 [warning  ] 配额 90%\n", "2026-12-01T20:51:42+08:00", "warning", "配额 90%"),
        ("2026-12-01T20:51:42.5-0500 no level here", "2026-12-01T20:51:42.5-0500", None, "no level here"),
    ],
)
def test_a_stamped_line_keeps_its_own_time_and_level(line, stamp, level, event):
    record = task_log_record(line)
    assert record["timestamp"] == stamp and record["event"] == event and record.get("level") == level


@pytest.mark.parametrize("line", ["Traceback (most recent call last):\n", "2026-12-01 not a stamp", "[info] x"])
def test_any_other_line_is_kept_whole_and_stamped_now(line):
    before = datetime.now().astimezone()
    record = task_log_record(line)
    assert record["event"] == line.rstrip("\n") and "level" not in record
    assert datetime.fromisoformat(record["timestamp"]) >= before
