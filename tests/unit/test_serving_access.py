"""Keys, licenses, limits, signing and the served view of a version: the pure parts, and the access
snapshot over a SQLite state DB."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from datafactory.cli.consumers import license_scenario
from datafactory.serving import keys
from datafactory.serving.access import AccessControl, Refusal, authorize
from datafactory.serving.catalog import index_table, public_manifest
from datafactory.serving.consumers import Consumer, License, LicenseTerms, add_consumer, revoke, rotate
from datafactory.serving.limits import Quotas, RateLimiter
from datafactory.serving.signing import signature, valid
from datafactory.specs import ProductSpec

pytestmark = pytest.mark.unit
TODAY = date(2026, 11, 20)
SPEC = ProductSpec.model_validate(
    {
        "name": "demo",
        "kind": "sql_aggregate",
        "description": "d",
        "owner": "o",
        "audience": ["a"],
        "authorized_for": "anti_fraud_admission",
        "inputs": ["ent_registry"],
        "refresh": "@daily",
        "key": "uscc",
        "output": "SELECT 1",
        "schema": {"uscc": "string", "score": "int"},
        "pii_policy": {},
    }
)


def _license(**changes) -> License:
    base = License(1, 1, ("demo",), "anti_fraud_admission", "loans", False, TODAY, 10, 5.0, False)
    return replace(base, **changes)


def _consumer(*licenses: License) -> Consumer:
    return Consumer(1, "bank", "abc", "hash", False, licenses)


@pytest.mark.parametrize(
    ("licenses", "bulk", "reason"),
    [
        ((), False, "does not cover"),
        ((_license(products=("other",)),), False, "does not cover"),
        ((_license(scenario="medical_underwriting"),), False, "scenario"),
        ((_license(expires=TODAY - timedelta(days=1)),), False, "expired on 2026-11-19"),
        ((_license(revoked=True),), False, "does not cover"),
        ((_license(),), True, "bulk"),
    ],
)
def test_authorize_refuses_with_a_reason(licenses, bulk, reason):
    with pytest.raises(Refusal, match=reason) as caught:
        authorize(_consumer(*licenses), "demo", "anti_fraud_admission", TODAY, bulk=bulk)
    assert caught.value.status == 403


def test_authorize_picks_a_valid_license_and_the_last_day_is_valid():
    expired, good = _license(id=1, expires=TODAY - timedelta(days=3)), _license(id=2, bulk=True)
    assert authorize(_consumer(expired, good), "demo", "anti_fraud_admission", TODAY, bulk=True).id == 2


def test_rate_limiter_is_a_token_bucket():
    rates = RateLimiter()
    assert [rates.take(1, 2.0, 0.0) for _ in range(3)] == [0, 0, 1]
    assert rates.take(1, 2.0, 0.5) == 0  # half a second refills one
    assert rates.take(2, 0.01, 0.0) == 0 and rates.take(2, 0.01, 0.0) == 100


def test_quota_reserves_gives_back_and_starts_from_the_seed():
    quotas = Quotas()
    quotas.seed(1, TODAY, 7)
    assert quotas.take(1, TODAY, 10, 3) and not quotas.take(1, TODAY, 10, 1)
    quotas.give_back(1, TODAY, 2)
    assert quotas.used(1, TODAY) == 8
    quotas.seed(1, TODAY + timedelta(days=1), 0)
    assert not quotas.known(1, TODAY)  # yesterday is forgotten


def test_keys_are_hashed_slowly_and_parsed_strictly():
    new = keys.new_key()
    assert new.secret not in new.hash and new.hash.startswith("$argon2id$")
    assert keys.key_id_of(new.secret) == new.key_id
    assert keys.verify(new.hash, new.secret) and not keys.verify(new.hash, new.secret[:-1] + "x")
    for bad in ("", "let-me-in", new.secret + "x", new.secret.replace("dfk_", "dfx_")):
        with pytest.raises(keys.MalformedKeyError):
            keys.key_id_of(bad)


def test_signed_links_bind_path_expiry_and_holder():
    sig = signature(b"s", "p/v1/f", 100, 1, 2)
    assert valid(b"s", "p/v1/f", 100, 1, 2, sig, now=99)
    assert not valid(b"s", "p/v1/f", 100, 1, 2, sig, now=101)
    assert not valid(b"s", "p/v2/f", 100, 1, 2, sig, now=99)
    assert not valid(b"s", "p/v1/f", 100, 3, 2, sig, now=99)
    assert not valid(b"t", "p/v1/f", 100, 1, 2, sig, now=99)


def test_served_rows_and_manifest_hold_only_schema_columns_and_no_paths():
    frame = pd.DataFrame({"uscc": ["A1", "A2"], "score": [1, None], "legal_rep_name": ["x", "y"]})
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    columns, rows = index_table(buf.getvalue(), SPEC)
    assert columns == ("uscc", "score") and rows["A2"] == b'{"uscc":"A2","score":null}'
    manifest = {
        "product": "demo",
        "version": 3,
        "publish_id": "internal",
        "schema": {"uscc": "object", "score": "float64", "legal_rep_name": "object"},
        "model": {"name": "m", "version": "4", "uri": "models:/m/4", "run_id": "r"},
        "inputs": {"ent_registry": {"partitions": ["/var/lib/x"]}},
        "files": [{"path": "abcd-demo.parquet", "sha256": "s", "bytes": 1}],
    }
    public = public_manifest(manifest, SPEC, None)
    text = str(public)
    assert "legal_rep_name" not in text and "models:/" not in text and "internal" not in text
    assert "/var/lib" not in text and public["model"] == {"name": "m", "version": "4"}


def test_a_license_only_covers_products_of_its_scenario():
    other = SPEC.model_copy(update={"name": "grades", "authorized_for": "medical_underwriting"})
    specs = {"demo": SPEC, "grades": other}
    assert license_scenario(["demo"], None, specs) == "anti_fraud_admission"
    with pytest.raises(ValueError, match="authorized for medical_underwriting"):
        license_scenario(["demo", "grades"], "anti_fraud_admission", specs)
    with pytest.raises(ValueError, match="different scenarios"):
        license_scenario(["demo", "grades"], None, specs)
    with pytest.raises(LookupError, match="no product"):
        license_scenario(["nope"], None, specs)


def test_revocation_and_rotation_reach_the_verification_cache(tmp_path: Path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/state.db")
    terms = LicenseTerms(("demo",), "anti_fraud_admission", "loans", TODAY, 10, 1.0)
    _, key = add_consumer(engine, "bank", terms)
    access = AccessControl(engine)
    access.refresh()
    assert access.cached(key) is None  # not verified yet: the slow path runs once
    assert access.verify(key).name == "bank"
    assert access.cached(key).name == "bank"

    new = rotate(engine, "bank")
    assert access.refresh()
    assert access.cached(key) is None  # the cached verification was for the old hash
    with pytest.raises(Refusal) as caught:
        access.verify(key)
    assert caught.value.status == 401
    assert access.verify(new).name == "bank"

    revoke(engine, "bank")
    assert access.refresh()
    with pytest.raises(Refusal, match="revoked") as caught:
        access.cached(new)
    assert caught.value.status == 401
    with pytest.raises(Refusal) as caught:
        access.verify("nonsense")
    assert caught.value.status == 422
