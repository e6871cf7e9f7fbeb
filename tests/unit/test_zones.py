import pandas as pd
import pytest

from datafactory.zones import PartitionWriter, read_partition

pytestmark = pytest.mark.unit


def test_parts_typed_differently_read_back_as_one_frame(tmp_path):
    partition = tmp_path / "raw" / "feed" / "ds=2026-11-01"
    with PartitionWriter(partition) as writer:
        writer.write(pd.DataFrame({"id": ["a", "b"], "note": [None, None], "amount": [1, 2]}))
        writer.write(pd.DataFrame({"id": ["c"], "note": ["late"], "amount": [2.5]}))
        writer.commit()
    frame = read_partition(partition)
    assert frame["id"].tolist() == ["a", "b", "c"]
    assert frame["note"].tolist() == [None, None, "late"]
    assert frame["amount"].tolist() == [1.0, 2.0, 2.5]
    assert list(frame.index) == [0, 1, 2]


def test_an_uncommitted_partition_leaves_nothing_and_keeps_the_old_one(tmp_path):
    partition = tmp_path / "ds=2026-11-01"
    with PartitionWriter(partition) as writer:
        writer.write(pd.DataFrame({"id": ["old"]}))
        writer.commit()
    with pytest.raises(RuntimeError), PartitionWriter(partition) as writer:
        writer.write(pd.DataFrame({"id": ["new"]}))
        raise RuntimeError("the channel dropped")
    assert read_partition(partition)["id"].tolist() == ["old"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds=2026-11-01"]


def test_only_the_first_part_may_be_empty(tmp_path):
    partition = tmp_path / "ds=2026-11-01"
    with PartitionWriter(partition) as writer:
        writer.write(pd.DataFrame({"id": pd.Series([], dtype=object)}))
        writer.write(pd.DataFrame({"id": pd.Series([], dtype=object)}))
        writer.write(pd.DataFrame({"id": ["a"]}))
        writer.commit()
    assert writer.parts == 2 and read_partition(partition)["id"].tolist() == ["a"]
