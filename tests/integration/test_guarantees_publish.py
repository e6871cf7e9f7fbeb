"""Conditional create of product versions, on both real backends (a local directory and S3 on a
loopback moto server; the fixtures come from test_store_backends.py).

- two writers racing for the same version number: exactly one creates it, the other takes the next;
- the manifest is written last, after every data file it names;
- a publish that fails part-way leaves no version, and the number is not burnt.
The races are staged deterministically: a wrapper lets the rival publish at the worst moment.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from datafactory.products.versioning import (
    MANIFEST,
    latest_version,
    list_versions,
    publish_version,
    read_file,
    read_manifest,
)
from tests.integration import test_store_backends as backends

pytestmark = pytest.mark.integration
moto_endpoint = backends.moto_endpoint  # reused fixtures: a moto S3 server, and the local/s3 backends
backend = backends.backend
PRODUCT = "guarded"


class Staged:
    """An ObjectStore that records every write and can run `before(key)` ahead of one."""

    def __init__(self, inner, before: Callable[[str], None] | None = None):
        self.inner, self.before, self.writes = inner, before, []

    def _hook(self, key: str) -> None:
        if self.before is not None:
            self.before(key)

    def put(self, key, data):
        self._hook(key)
        self.writes.append(key)
        return self.inner.put(key, data)

    def put_if_absent(self, key, data):
        self._hook(key)
        created = self.inner.put_if_absent(key, data)
        if created:
            self.writes.append(key)
        return created

    def get(self, key):
        return self.inner.get(key)

    def exists(self, key):
        return self.inner.exists(key)

    def list(self, prefix):
        return self.inner.list(prefix)

    def url(self, key=""):
        return self.inner.url(key)


def _publish(store, payload: bytes, files: dict[str, bytes] | None = None):
    files = files or {"data.parquet": payload, "dictionary.json": b"{}" + payload}
    return publish_version(store, PRODUCT, files, {"row_count": 1}, {"payload": payload.hex()})


def test_a_key_is_created_once_and_never_overwritten(backend):
    store = backend.store
    assert store.put_if_absent("k/one.json", b"first") is True
    assert store.put_if_absent("k/one.json", b"second") is False
    assert store.get("k/one.json") == b"first"
    assert store.list("k/") == ["k/one.json"]


def test_two_writers_racing_for_a_version_one_wins_the_other_takes_the_next(backend):
    store = backend.store
    rival_done = []

    def rival_first(key: str) -> None:
        if key.endswith(MANIFEST) and not rival_done:
            rival_done.append(_publish(store, b"rival"))  # claims v1 between our data and our manifest

    ours = _publish(Staged(store, rival_first), b"ours")
    (rival,) = rival_done
    assert (rival.version, ours.version) == (1, 2) and not ours.reused
    assert list_versions(store, PRODUCT) == [1, 2]
    for published, payload in ((rival, b"rival"), (ours, b"ours")):
        manifest = read_manifest(store, PRODUCT, published.version)
        assert manifest["version"] == published.version
        data = {entry["path"].split("-", 1)[1]: entry["path"] for entry in manifest["files"]}
        assert read_file(store, PRODUCT, published.version, data["data.parquet"]) == payload


def test_the_loser_of_a_race_never_overwrites_the_winners_manifest(backend):
    store = backend.store
    winner = _publish(store, b"winner")
    before = store.get(f"{PRODUCT}/v1/{MANIFEST}")
    # A writer that read the version list before the winner published still aims at v1.
    stale = Staged(store)
    stale.list = lambda prefix: []
    loser = _publish(stale, b"loser")
    assert winner.version == 1 and loser.version == 2
    assert store.get(f"{PRODUCT}/v1/{MANIFEST}") == before


def test_the_manifest_is_written_last_after_every_file_it_names(backend):
    staged = Staged(backend.store)
    published = _publish(staged, b"payload")
    assert staged.writes[-1] == published.manifest_key
    manifest = read_manifest(backend.store, PRODUCT, published.version)
    named = {f"{PRODUCT}/v{published.version}/{entry['path']}" for entry in manifest["files"]}
    assert len(named) == 2 and named <= set(staged.writes[:-1])


@pytest.mark.parametrize("fail_on", ["dictionary.json", "data.parquet", MANIFEST])
def test_a_publish_that_fails_part_way_leaves_no_version(backend, fail_on: str):
    store = backend.store

    def broken(key: str) -> None:
        if key.endswith(fail_on):
            raise ConnectionError(f"store went away writing {key}")

    with pytest.raises(ConnectionError):
        _publish(Staged(store, broken), b"doomed")
    assert list_versions(store, PRODUCT) == []
    assert latest_version(store, PRODUCT) is None
    assert not store.exists(f"{PRODUCT}/v1/{MANIFEST}")
    assert _publish(store, b"next").version == 1  # the number was not burnt


def test_a_retried_manifest_write_that_had_landed_is_not_a_lost_race(backend):
    """The first request created the manifest but its answer was lost; the retry sees its own bytes."""
    store = backend.store

    class LostAnswer(Staged):
        def put_if_absent(self, key, data):
            created = self.inner.put_if_absent(key, data)
            return created and not key.endswith(MANIFEST)

    published = _publish(LostAnswer(store), b"once")
    assert published.version == 1 and list_versions(store, PRODUCT) == [1]


def test_publishing_the_same_inputs_again_reuses_the_version(backend):
    first = _publish(backend.store, b"same")
    again = _publish(backend.store, b"same")
    assert again.reused and again.version == first.version and list_versions(backend.store, PRODUCT) == [1]


def test_the_loser_of_a_race_against_the_same_inputs_reuses_the_winners_version(backend):
    """Two publishers of the same inputs: the one that loses the manifest race finds the winner's
    fingerprint and returns its version instead of creating a second, identical one."""
    store = backend.store
    rival_done = []

    def rival_first(key: str) -> None:
        if key.endswith(MANIFEST) and not rival_done:
            rival_done.append(_publish(store, b"same"))  # claims v1 between our data and our manifest

    ours = _publish(Staged(store, rival_first), b"same")
    (rival,) = rival_done
    assert (rival.version, rival.reused) == (1, False)
    assert (ours.version, ours.reused) == (1, True)
    assert list_versions(store, PRODUCT) == [1]


def test_the_loser_of_a_race_checks_every_version_it_had_not_seen(backend):
    """Several publishers landed while we wrote; the one with our inputs is not the newest."""
    store = backend.store
    rivals = []

    def rivals_first(key: str) -> None:
        if key.endswith(MANIFEST) and not rivals:
            rivals.extend(_publish(store, payload) for payload in (b"same", b"other"))

    ours = _publish(Staged(store, rivals_first), b"same")
    assert [r.version for r in rivals] == [1, 2]
    assert (ours.version, ours.reused) == (1, True)
    assert list_versions(store, PRODUCT) == [1, 2]


def test_latest_only_moves_forward_in_logical_date_except_by_rollback(backend):
    from datafactory.products.versioning import APPROVED, BackwardsError, move_latest, record_decision, rollback

    store = backend.store
    for n, day in enumerate(("2026-11-02", "2026-11-01", "2026-11-02")):
        files = {"d.parquet": f"{day} #{n}".encode()}
        published = publish_version(store, PRODUCT, files, {"logical_date": day}, {"logical_date": day})
        record_decision(store, PRODUCT, published.version, APPROVED, "tester")
    move_latest(store, PRODUCT, 1, "approve", "tester", "day 2")
    with pytest.raises(BackwardsError, match="only moves forward"):
        move_latest(store, PRODUCT, 2, "approve", "tester", "day 1 after day 2")
    assert latest_version(store, PRODUCT) == 1
    move_latest(store, PRODUCT, 3, "restate", "tester", "day 2 again")  # the same date is not backwards
    assert latest_version(store, PRODUCT) == 3
    assert rollback(store, PRODUCT, 2, "operator", "explicit")["to"] == 2  # an operator may go back
    assert latest_version(store, PRODUCT) == 2
