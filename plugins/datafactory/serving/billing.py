"""Billing: a consumer's month of ledger rows, priced. Pure functions over rows and prices.

Billed: successful lookups (per call and per record returned) and bulk-link issues (per download).
Not billed: refused calls, metadata reads, 304s and downloads through an issued link. Per license
and product: the free tier's records come off first, a public-interest license pays nothing, and the
monthly cap bounds the amount. All amounts are integer fen, so the lines add up to the total exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from datafactory.serving.pricing import Pricing, pricing_for

LOOKUP_ENDPOINTS = ("record", "batch")
BULK_ENDPOINT = "bulk"


@dataclass(frozen=True)
class StatementLine:
    product: str
    license_id: int
    public_interest: bool
    calls: int  # successful lookups (single and batch)
    records: int  # rows returned by them
    bulk_downloads: int
    free_records: int
    call_fen: int
    record_fen: int
    bulk_fen: int
    list_fen: int  # before the public-interest waiver and the cap
    amount_fen: int
    note: str


@dataclass(frozen=True)
class Statement:
    consumer: str
    month: str
    lines: list[StatementLine]
    ledger_rows: int  # every row of the consumer in the month, billed or not
    billed_rows: int
    refused_rows: int
    other_rows: int  # metadata, 304s, downloads: recorded, not billed
    currency: str = "CNY"
    first_id: int | None = None
    last_id: int | None = None
    by_status: dict[int, int] = field(default_factory=dict)

    @property
    def total_fen(self) -> int:
        return sum(line.amount_fen for line in self.lines)


def yuan(fen: int) -> str:
    return f"{(Decimal(fen) / 100).quantize(Decimal('0.01'))}"


def billable(row: dict[str, Any]) -> bool:
    return row["status"] == 200 and row["endpoint"] in (*LOOKUP_ENDPOINTS, BULK_ENDPOINT)


def price_line(
    product: str, license_id: int, public_interest: bool, calls: int, records: int, bulks: int, pricing: Pricing
) -> StatementLine:
    free = min(records, pricing.free_tier.records_per_month)
    call_fen = calls * pricing.processing.per_call_fen
    record_fen = (records - free) * pricing.per_record_fen
    bulk_fen = bulks * pricing.processing.per_bulk_download_fen
    list_fen = call_fen + record_fen + bulk_fen
    amount, notes = list_fen, []
    if free:
        notes.append(f"first {pricing.free_tier.records_per_month} records of the month free")
    if public_interest and pricing.free_tier.public_interest:
        amount = 0
        notes.append("public-interest use: free")
    if pricing.monthly_cap_fen is not None and amount > pricing.monthly_cap_fen:
        amount = pricing.monthly_cap_fen
        notes.append(f"capped at {yuan(pricing.monthly_cap_fen)} a month")
    return StatementLine(
        product, license_id, public_interest, calls, records, bulks, free, call_fen, record_fen, bulk_fen, list_fen,
        amount, "; ".join(notes),
    )  # fmt: skip


def statement(
    consumer: str,
    month: str,
    rows: Iterable[dict[str, Any]],
    prices: dict[str, Pricing],
    public_interest: dict[int, bool],
) -> Statement:
    """`rows`: the consumer's ledger rows of the month; `public_interest`: per license id."""
    rows = list(rows)
    totals: dict[tuple[str, int], list[int]] = {}
    by_status: dict[int, int] = {}
    billed = refused = 0
    for row in rows:
        by_status[row["status"]] = by_status.get(row["status"], 0) + 1
        if row["status"] >= 400:
            refused += 1
        if not billable(row):
            continue
        billed += 1
        entry = totals.setdefault((row["product"], row["license_id"]), [0, 0, 0])
        if row["endpoint"] == BULK_ENDPOINT:
            entry[2] += 1
        else:
            entry[0] += 1
            entry[1] += row["rows"]
    lines = [
        price_line(p, lic, public_interest.get(lic, False), c, r, b, pricing_for(prices, p))
        for (p, lic), (c, r, b) in sorted(totals.items())
    ]
    ids = [row["id"] for row in rows if row.get("id") is not None]
    return Statement(
        consumer=consumer,
        month=month,
        lines=lines,
        ledger_rows=len(rows),
        billed_rows=billed,
        refused_rows=refused,
        other_rows=len(rows) - billed - refused,
        first_id=min(ids) if ids else None,
        last_id=max(ids) if ids else None,
        by_status=dict(sorted(by_status.items())),
    )
