"""The product API's tables in the state DB: consumers, licenses, a revocation counter and the
append-only usage ledger. Created on first use (SQLite by default, PostgreSQL in production)."""

from __future__ import annotations

import sqlalchemy as sa

META = sa.MetaData()
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite only autoincrements INTEGER keys

CONSUMERS = sa.Table(
    "api_consumers",
    META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(128), nullable=False, unique=True),
    sa.Column("key_id", sa.String(32), nullable=False, unique=True),
    sa.Column("key_hash", sa.String(255), nullable=False),  # Argon2id; the key itself is never stored
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("rotated_at", sa.DateTime, nullable=True),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
)
LICENSES = sa.Table(
    "api_licenses",
    META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("consumer_id", sa.Integer, sa.ForeignKey("api_consumers.id"), nullable=False),
    sa.Column("products", sa.Text, nullable=False),  # comma-separated product names
    sa.Column("scenario", sa.String(128), nullable=False),  # must equal each product's authorized_for
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("public_interest", sa.Boolean, nullable=False, default=False),
    sa.Column("expires", sa.Date, nullable=False),  # valid through this day (China Standard Time)
    sa.Column("quota_per_day", sa.Integer, nullable=False),  # keys looked up per day
    sa.Column("rate_per_s", sa.Float, nullable=False),  # requests per second
    sa.Column("bulk", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("revoked_at", sa.DateTime, nullable=True),
    sa.Index("ix_api_licenses_consumer", "consumer_id"),
)
# One row; every change to consumers or licenses bumps it, and servers poll it (revocation in < 1 s).
ACCESS_STATE = sa.Table(
    "api_access_state",
    META,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.BigInteger, nullable=False),
)
USAGE = sa.Table(
    "api_usage",
    META,
    sa.Column("id", BigId, primary_key=True, autoincrement=True),
    sa.Column("request_id", sa.String(32), nullable=False, unique=True),  # a retried batch never doubles a row
    sa.Column("at", sa.DateTime, nullable=False),  # UTC
    sa.Column("consumer_id", sa.Integer, nullable=True),  # null: the caller was not identified
    sa.Column("consumer", sa.String(128), nullable=True),
    sa.Column("license_id", sa.Integer, nullable=True),
    sa.Column("product", sa.String(128), nullable=True),
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("endpoint", sa.String(16), nullable=False),  # record | batch | metadata | bulk | download
    sa.Column("keys_count", sa.Integer, nullable=False),
    sa.Column("keys_hash", sa.String(64), nullable=True),  # keyed hash of the keys asked, never the keys
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("status", sa.Integer, nullable=False),
    sa.Column("latency_ms", sa.Float, nullable=False),
    sa.Column("purpose", sa.Text, nullable=True),
    sa.Index("ix_api_usage_consumer_at", "consumer_id", "at"),
    sa.Index("ix_api_usage_at", "at"),
)


def create_tables(engine: sa.Engine) -> None:
    META.create_all(engine, checkfirst=True)
    with engine.begin() as conn:
        if conn.execute(sa.select(ACCESS_STATE.c.id)).first() is None:
            try:
                with conn.begin_nested():
                    conn.execute(ACCESS_STATE.insert().values(id=1, version=0))
            except sa.exc.IntegrityError:  # another process created it first
                pass
