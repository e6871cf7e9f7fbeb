"""Builds, checks, reviews and publishes one data product for one logical date."""

from __future__ import annotations

import io
import json
from datetime import date
from typing import Any

from datafactory.modeling.features import build_features
from datafactory.modeling.scoring import champion, score
from datafactory.modeling.tracking import use_tracking
from datafactory.products.banding import score_table
from datafactory.products.review import review_table
from datafactory.products.store import open_store
from datafactory.products.versioning import APPROVED, move_latest, publish_version, record_decision
from datafactory.quality.runner import validate_frame
from datafactory.settings import Settings
from datafactory.sources.ledger import Ledger
from datafactory.specs import ModelSpec, ProductSpec, load_suite_json
from datafactory.zones import Zones


class ProductRejectedError(RuntimeError):
    """The product failed its quality suite or the output review; nothing was published."""


def _quality_summary(zones: Zones, inputs: list[str], logical_date: date) -> dict[str, Any]:
    summary = {}
    for source in inputs:
        path = zones.quality_result(logical_date, source)
        if path.exists():
            res = json.loads(path.read_text())
            summary[source] = {k: res[k] for k in ("rows_in", "rows_conformed", "rows_quarantined")}
    return summary


def build_and_publish(
    settings: Settings, product: ProductSpec, model: ModelSpec, logical_date: date, ledger: Ledger, publisher: str
) -> dict[str, Any]:
    spec = product.raw
    zones = Zones(settings.home)
    use_tracking(settings, model.name)
    ref = champion(model.name)
    features = build_features(model, zones, logical_date)
    table = score_table(features[model.raw["id_column"]], score(ref, features), spec["bands"], ref.version)
    outcomes, _ = validate_frame(table, load_suite_json(settings.repo, spec["suite"]))
    failed = [o.label for o in outcomes if not o.success and o.severity == "critical"]
    review = review_table(table, spec["pii_policy"])
    if failed or not review.passed:
        raise ProductRejectedError(
            f"{product.name}: not published: quality {failed or 'ok'}; review {review.findings or 'ok'}"
        )
    buffer = io.BytesIO()
    table.to_parquet(buffer, index=False)
    fields = {
        "publisher": publisher,
        "logical_date": logical_date.isoformat(),
        "row_count": len(table),
        "schema": {c: str(t) for c, t in table.dtypes.items()},
        "inputs": ledger.snapshot(spec["inputs"], logical_date),
        "quality": {
            "inputs": _quality_summary(zones, spec["inputs"], logical_date),
            "product_suite": {"suite": spec["suite"], "passed": True, "expectations": len(outcomes)},
        },
        "model": {"name": ref.name, "version": ref.version, "uri": ref.uri, "run_id": ref.run_id},
        "review": review.as_dict(),
        "score_distribution": table["risk_band"].value_counts().sort_index().to_dict(),
    }
    store = open_store(settings.store_url, settings.s3_endpoint_url)
    identity = {"logical_date": logical_date.isoformat()}
    published = publish_version(store, product.name, {"scores.parquet": buffer.getvalue()}, fields, identity)
    if settings.auto_approve and not published.reused:
        record_decision(store, product.name, published.version, APPROVED, "auto-approve", "by configuration")
        move_latest(store, product.name, published.version, "approve", "auto-approve", "auto-approved by configuration")
    return {
        "product": product.name,
        "version": published.version,
        "reused": published.reused,
        "manifest": published.manifest_key,
        "rows": len(table),
        "store": settings.store_url,
    }
