"""Landing trusts nothing in a drop folder: no symlinks followed, no traversal, private quarantine copies
that never replace each other; product names cannot reach another product."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from datafactory.products.store import LocalStore, check_key
from datafactory.products.versioning import list_versions, product_name, publish_version, read_manifest
from datafactory.sources.landing import LocalLanding, free_name, restrict_tree, safe_relative, write_private

pytestmark = pytest.mark.unit


@pytest.fixture
def drop(tmp_path: Path) -> tuple[LocalLanding, Path]:
    root = tmp_path / "landing"
    (root / "feed" / "sub").mkdir(parents=True)
    (root / "feed" / "a.csv").write_text("x\n1\n")
    secret = tmp_path / "outside" / "secret.txt"
    secret.parent.mkdir()
    secret.write_text("resident ids")
    secret.chmod(0o600)
    os.symlink(secret, root / "feed" / "link.csv")
    os.symlink(secret.parent, root / "feed" / "linked-folder")
    return LocalLanding(root), secret


def test_listing_skips_symbolic_links_to_files_and_folders(drop):
    landing, _ = drop
    assert [o.name for o in landing.list("feed")] == ["feed/a.csv"]


def test_reading_never_follows_a_symbolic_link(drop):
    landing, _ = drop
    assert landing.read("feed/a.csv") == b"x\n1\n"
    with pytest.raises(ValueError, match="symbolic link"):
        landing.read("feed/link.csv")
    with pytest.raises(OSError):
        landing.read("feed/linked-folder/secret.txt")


def test_writing_refuses_a_symlinked_folder(drop):
    landing, secret = drop
    with pytest.raises(ValueError, match="symbolic link"):
        landing.write("feed/linked-folder/new.csv", b"x")
    assert sorted(p.name for p in secret.parent.iterdir()) == ["secret.txt"]


@pytest.mark.parametrize(
    "name",
    [
        "../etc/passwd",
        "feed/../../etc/passwd",
        "feed/./a.csv",
        "/etc/passwd",
        "feed//a.csv",
        "feed\\..\\a.csv",
        "feed/\uff0e\uff0e/a.csv",  # full-width dots are '..' once normalized
        "feed/a\x00.csv",
        "",
    ],
)
def test_traversal_and_odd_names_are_refused(drop, name):
    landing, _ = drop
    with pytest.raises(ValueError, match="escapes"):
        landing.read(name)


def test_names_are_unicode_normalized():
    assert safe_relative("feed/cafe\u0301.csv") == "feed/caf\u00e9.csv"


def test_quarantine_copies_are_private_and_never_replace_each_other(tmp_path: Path):
    folder = tmp_path / "files"
    folder.mkdir()
    names = []
    for base in ("a__b.csv", "a__b.csv", "a__b.csv"):
        name = free_name(folder, base)
        write_private(folder / name, name.encode())
        write_private(folder / f"{name}.reason.json", b"{}")
        names.append(name)
    assert names == ["a__b.csv", "a__b~2.csv", "a__b~3.csv"]
    assert {(folder / n).read_bytes() for n in names} == {n.encode() for n in names}
    with pytest.raises(FileExistsError):
        write_private(folder / "a__b.csv", b"again")
    (folder / "loose.parquet").write_bytes(b"p")
    restrict_tree(tmp_path)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()} == {0o600}


def test_two_quarantined_files_of_one_name_in_different_subfolders_are_both_kept(tmp_path: Path):
    from datafactory.sources.channels import QuarantinedFile
    from datafactory.sources.ingest import _write_quarantine
    from datafactory.specs import load_sources
    from datafactory.zones import Zones

    spec = next(s for s in load_sources(Path(__file__).resolve().parents[2]).values() if s.channel == "files")
    folder = (getattr(spec.options, "folder", None) or spec.name).strip("/")
    files = [
        QuarantinedFile(f"{folder}/x/b__c.csv", "a", b"first", "bad", 1),
        QuarantinedFile(f"{folder}/x__b/c.csv", "b", b"second", "bad", 1),
    ]

    class Delivery:
        rejected_rows = None
        quarantined_files = files

    from datetime import date

    zones = Zones(tmp_path)
    assert _write_quarantine(zones, spec, date(2026, 11, 1), "run", Delivery(), None) == 2
    target = zones.ingest_quarantine(spec.name, date(2026, 11, 1)) / "files"
    kept = sorted(p.name for p in target.iterdir() if not p.name.endswith(".json"))
    assert kept == ["x__b__c.csv", "x__b__c~2.csv"]
    assert sorted((target / k).read_bytes() for k in kept) == [b"first", b"second"]
    modes = {stat.S_IMODE(p.stat().st_mode) for p in target.rglob("*")} | {stat.S_IMODE(target.stat().st_mode)}
    assert modes == {0o600, 0o700}


@pytest.mark.parametrize("name", ["x/../anti_fraud_admission", "../anti_fraud_admission", "a/b", "..", "", "a\\b"])
def test_product_names_with_traversal_are_refused(tmp_path: Path, name):
    store = LocalStore(tmp_path)
    publish_version(store, "anti_fraud_admission", {"d.bin": b"1"}, {"logical_date": "2026-11-01"}, {})
    with pytest.raises(ValueError, match="not a plain name"):
        product_name(name)
    with pytest.raises(ValueError):
        list_versions(store, name)
    with pytest.raises(ValueError):
        read_manifest(store, name, 1)
    assert read_manifest(store, "anti_fraud_admission", 1)["version"] == 1


@pytest.mark.parametrize("key", ["x/../anti_fraud_admission/latest.json", "a/./b", "/abs", "a//b", "\uff0e\uff0e/x"])
def test_store_keys_with_traversal_are_refused_before_any_path_is_made(tmp_path: Path, key):
    with pytest.raises(ValueError, match="escapes the store"):
        check_key(key)
    with pytest.raises(ValueError, match="escapes the store"):
        LocalStore(tmp_path).get(key)
