"""Cost-plus prices per product (`products/pricing/<product>.yaml`), typed.

The government-guided model is "base data value + processing service input" (基础数据价值+加工服务投入),
free for public-governance and public-welfare use, and capped at cost plus a permitted profit. All
amounts are integer fen (0.01 CNY), so a statement adds up exactly.

    product: anti_fraud_admission
    base_data_value: {per_record_fen: 3}          # what the data itself is worth, per record returned
    processing: {per_call_fen: 1, per_record_fen: 1, per_bulk_download_fen: 50000}
    free_tier: {public_interest: true, records_per_month: 1000}
    monthly_cap_fen: 2000000                      # cost plus permitted profit, per consumer and month
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Fen = Annotated[int, Field(ge=0)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class BaseDataValue(_Strict):
    """基础数据价值: the value of the returned public data, charged per record delivered."""

    per_record_fen: Fen = 0


class Processing(_Strict):
    """加工服务投入: cleaning, modelling, review and serving, charged per call, record and download."""

    per_call_fen: Fen = 0
    per_record_fen: Fen = 0
    per_bulk_download_fen: Fen = 0


class FreeTier(_Strict):
    public_interest: bool = True  # public-governance / public-welfare licenses pay nothing (公益免费)
    records_per_month: Fen = 0  # every license's first N records a month are free


class Pricing(_Strict):
    product: str
    currency: str = "CNY"
    base_data_value: BaseDataValue = Field(default_factory=BaseDataValue)
    processing: Processing = Field(default_factory=Processing)
    free_tier: FreeTier = Field(default_factory=FreeTier)
    monthly_cap_fen: Fen | None = None  # the most one license pays for this product in a month

    @property
    def per_record_fen(self) -> int:
        return self.base_data_value.per_record_fen + self.processing.per_record_fen


def pricing_dir(repo: Path) -> Path:
    return repo / "products" / "pricing"


def load_pricing_file(path: Path) -> Pricing:
    from datafactory.specs import load_named

    return load_named(path, Pricing.model_validate, field="product")


def load_pricing(repo: Path) -> dict[str, Pricing]:
    """Every product's prices. A product without a file is free (and says so on the statement)."""
    return {p.product: p for p in (load_pricing_file(f) for f in sorted(pricing_dir(repo).glob("*.yaml")))}


def pricing_for(prices: dict[str, Pricing], product: str) -> Pricing:
    return prices.get(product) or Pricing(product=product)
