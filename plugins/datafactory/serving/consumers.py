"""Consumers and their licenses in the state DB: issue, list, revoke, rotate.

Every change bumps the access-state counter in the same transaction; running servers poll it and
reload, so a revocation or rotation takes effect within their poll interval (well under a second).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from datafactory.serving import keys
from datafactory.serving.clock import utcnow
from datafactory.serving.tables import ACCESS_STATE, CONSUMERS, LICENSES, create_tables

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")


@dataclass(frozen=True)
class License:
    id: int
    consumer_id: int
    products: tuple[str, ...]
    scenario: str
    purpose: str
    public_interest: bool
    expires: date
    quota_per_day: int
    rate_per_s: float
    bulk: bool
    revoked: bool = False


@dataclass(frozen=True)
class Consumer:
    id: int
    name: str
    key_id: str
    key_hash: str
    revoked: bool
    licenses: tuple[License, ...] = ()


@dataclass(frozen=True)
class LicenseTerms:
    products: tuple[str, ...]
    scenario: str
    purpose: str
    expires: date
    quota_per_day: int
    rate_per_s: float
    bulk: bool = False
    public_interest: bool = False

    def __post_init__(self) -> None:
        if not self.products:
            raise ValueError("a license names at least one product")
        if not self.purpose.strip():
            raise ValueError("a license states its purpose (--purpose)")
        if self.quota_per_day < 1 or self.rate_per_s <= 0:
            raise ValueError("quota and rate must be positive (e.g. --quota 10000/day --rate 20/s)")


class ConsumerError(LookupError):
    """No such consumer, or the name is taken; the message says which."""


def _bump(conn: sa.Connection) -> None:
    conn.execute(ACCESS_STATE.update().where(ACCESS_STATE.c.id == 1).values(version=ACCESS_STATE.c.version + 1))


def access_version(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(ACCESS_STATE.c.version).where(ACCESS_STATE.c.id == 1)).scalar_one())


def add_consumer(engine: sa.Engine, name: str, terms: LicenseTerms) -> tuple[Consumer, str]:
    """A new consumer with one license; returns it and its API key (shown once, stored only hashed)."""
    if not NAME_RE.match(name):
        raise ValueError(f"consumer name {name!r}: use letters, digits, '_', '.', '-' (at most 128)")
    create_tables(engine)
    key = keys.new_key()
    now = utcnow()
    try:
        with engine.begin() as conn:
            consumer_id = conn.execute(
                CONSUMERS.insert().values(name=name, key_id=key.key_id, key_hash=key.hash, created_at=now)
            ).inserted_primary_key[0]
            _insert_license(conn, consumer_id, terms, now)
            _bump(conn)
    except sa.exc.IntegrityError as exc:
        raise ConsumerError(f"consumer {name!r} exists; rotate its key or pick another name") from exc
    return consumer(engine, name), key.secret


def _insert_license(conn: sa.Connection, consumer_id: int, terms: LicenseTerms, now) -> int:
    return conn.execute(
        LICENSES.insert().values(
            consumer_id=consumer_id,
            products=",".join(terms.products),
            scenario=terms.scenario,
            purpose=terms.purpose,
            public_interest=terms.public_interest,
            expires=terms.expires,
            quota_per_day=terms.quota_per_day,
            rate_per_s=terms.rate_per_s,
            bulk=terms.bulk,
            created_at=now,
        )
    ).inserted_primary_key[0]


def load_consumers(conn: sa.Connection) -> dict[int, Consumer]:
    licenses: dict[int, list[License]] = {}
    for row in conn.execute(sa.select(LICENSES).order_by(LICENSES.c.id)).mappings():
        licenses.setdefault(row["consumer_id"], []).append(
            License(
                id=row["id"],
                consumer_id=row["consumer_id"],
                products=tuple(p for p in row["products"].split(",") if p),
                scenario=row["scenario"],
                purpose=row["purpose"],
                public_interest=bool(row["public_interest"]),
                expires=row["expires"],
                quota_per_day=int(row["quota_per_day"]),
                rate_per_s=float(row["rate_per_s"]),
                bulk=bool(row["bulk"]),
                revoked=row["revoked_at"] is not None,
            )
        )
    return {
        row["id"]: Consumer(
            id=row["id"],
            name=row["name"],
            key_id=row["key_id"],
            key_hash=row["key_hash"],
            revoked=row["revoked_at"] is not None,
            licenses=tuple(licenses.get(row["id"], ())),
        )
        for row in conn.execute(sa.select(CONSUMERS).order_by(CONSUMERS.c.id)).mappings()
    }


def snapshot(engine: sa.Engine) -> tuple[int, dict[int, Consumer]]:
    """The access-state version and every consumer with its licenses, read in one transaction."""
    with engine.begin() as conn:
        version = conn.execute(sa.select(ACCESS_STATE.c.version).where(ACCESS_STATE.c.id == 1)).scalar_one()
        return int(version), load_consumers(conn)


def list_consumers(engine: sa.Engine) -> list[Consumer]:
    create_tables(engine)
    return list(snapshot(engine)[1].values())


def consumer(engine: sa.Engine, name: str) -> Consumer:
    for found in list_consumers(engine):
        if found.name == name:
            return found
    raise ConsumerError(f"no consumer {name!r}; `datafactory consumers list` shows them")


def revoke(engine: sa.Engine, name: str) -> Consumer:
    """Revoke the consumer's key and every license it holds; the ledger keeps its history."""
    found = consumer(engine, name)
    now = utcnow()
    with engine.begin() as conn:
        conn.execute(CONSUMERS.update().where(CONSUMERS.c.id == found.id).values(revoked_at=now))
        conn.execute(
            LICENSES.update()
            .where(LICENSES.c.consumer_id == found.id, LICENSES.c.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        _bump(conn)
    return consumer(engine, name)


def rotate(engine: sa.Engine, name: str) -> str:
    """A new key for the consumer; the old one stops working. Returns the new key (shown once)."""
    found = consumer(engine, name)
    if found.revoked:
        raise ConsumerError(f"consumer {name!r} is revoked; add a new consumer instead")
    key = keys.new_key()
    with engine.begin() as conn:
        conn.execute(
            CONSUMERS.update()
            .where(CONSUMERS.c.id == found.id)
            .values(key_id=key.key_id, key_hash=key.hash, rotated_at=utcnow())
        )
        _bump(conn)
    return key.secret
