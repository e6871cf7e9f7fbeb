"""Publishing one product for one logical date: build, validate, review, publish, then promote.

Each stage reads what the one before left in the run's staging folder and returns a small JSON-safe
dict (all Airflow passes between tasks). A stage that rejects the product writes its reasons to the
run's review report, `var/review/<date>/<product>.json`, and raises ProductRejectedError: nothing is
published. `publish` itself refuses a table that has not passed both checks.

Dates never go backwards: a rerun of a published date scores with the model version recorded for it
and finds its version again; if its output differs anyway, nothing is published until an operator
restates the date (`datafactory products restate`), which rebuilds it with today's champion and
publishes a version recorded as a restatement. `latest` only moves forward in logical date.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from datafactory.products.build import build_table
from datafactory.products.review import Policy, review_table
from datafactory.products.staging import prune_runs
from datafactory.products.store import ObjectStore, open_store
from datafactory.products.versioning import (
    APPROVED,
    BackwardsError,
    close_restatement,
    fingerprint,
    latest_version,
    move_latest,
    open_restatement,
    publish_version,
    read_decision,
    recorded_model,
    versions_of_date,
)
from datafactory.settings import Settings
from datafactory.specs import ProductSpec, load_products, load_suite
from datafactory.zones import Zones, write_json_atomic

TABLE, BUILD, VALIDATION, REVIEW = "table.parquet", "build.json", "validation.json", "review.json"


class ProductRejectedError(RuntimeError):
    """The product failed its quality suite or the output review; nothing was published."""


class RestatementRequiredError(ProductRejectedError):
    """A rerun of a published date produced other output; only an operator's restatement publishes it."""


def load_definition(settings: Settings, name: str) -> ProductSpec:
    products = load_products(settings.repo)
    if name not in products:
        raise LookupError(f"no product {name!r}; products are {', '.join(sorted(products))}")
    return products[name]


def product_store(settings: Settings) -> ObjectStore:
    return open_store(settings.store_url, settings.s3_endpoint_url)


def review_report_path(home: Path, day: date, product: str) -> Path:
    return home / "review" / day.isoformat() / f"{product}.json"


@dataclass(frozen=True)
class ProductRun:
    """One run of one product: where its stages leave their results, and its review report."""

    settings: Settings
    definition: ProductSpec
    day: date
    run_id: str

    @cached_property
    def staging(self) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.run_id)
        return self.settings.home / "staging" / "products" / self.definition.name / safe

    @property
    def report_path(self) -> Path:
        return review_report_path(self.settings.home, self.day, self.definition.name)

    def save(self, name: str, payload: dict[str, Any]) -> None:
        write_json_atomic(payload, self.staging / name)

    def load(self, name: str) -> dict[str, Any] | None:
        path = self.staging / name
        return json.loads(path.read_text()) if path.exists() else None

    def table_bytes(self) -> bytes:
        path = self.staging / TABLE
        if not path.exists():
            raise FileNotFoundError(f"{self.definition.name}: nothing built for run {self.run_id}; run build first")
        return path.read_bytes()

    def table(self) -> pd.DataFrame:
        return pd.read_parquet(io.BytesIO(self.table_bytes()))

    def report(self, status: str, reasons: list[str] | None = None, **extra: Any) -> None:
        """The run's review report: what the reviewers' quality report shows for this product."""
        payload = {
            "product": self.definition.name,
            "logical_date": self.day.isoformat(),
            "run_id": self.run_id,
            "status": status,
            "reasons": reasons or [],
            "validation": self.load(VALIDATION),
            "review": self.load(REVIEW),
            **extra,
        }
        write_json_atomic(payload, self.report_path)


def build(run: ProductRun) -> dict[str, Any]:
    """Build the table. A published date is rebuilt with the model recorded for it, unless an
    operator asked to restate it (then with today's champion)."""
    store = product_store(run.settings)
    name, day = run.definition.name, run.day.isoformat()
    restatement = open_restatement(store, name, day)
    recorded = None if restatement or not run.definition.is_model else recorded_model(store, name, day)
    pinned = str(recorded["version"]) if recorded and recorded.get("version") else None
    built = build_table(run.settings, run.definition, run.day, model_version=pinned)
    buffer = io.BytesIO()
    built.table.to_parquet(buffer, index=False)
    run.staging.mkdir(parents=True, exist_ok=True)
    prune_runs(run.staging.parent, keep=run.staging, retention_days=run.settings.staging_retention_days)
    for stale in (VALIDATION, REVIEW):  # a rebuilt table must be checked again
        (run.staging / stale).unlink(missing_ok=True)
    (run.staging / TABLE).write_bytes(buffer.getvalue())
    run.save(
        BUILD, {"inputs": built.inputs, "model": built.model, "rows": len(built.table), "restatement": restatement}
    )
    run.report("built", restatement=restatement)
    return {
        "product": name,
        "rows": len(built.table),
        "model": built.model,
        "restatement": restatement["id"] if restatement else None,
    }


def validate(run: ProductRun) -> dict[str, Any]:
    from datafactory.quality.runner import validate_frame

    suite = load_suite(run.settings.repo, run.definition.suite)
    outcomes, _ = validate_frame(run.table(), suite)
    failed = [o.label for o in outcomes if not o.success and o.severity == "critical"]
    result = {
        "suite": run.definition.suite,
        "passed": not failed,
        "expectations": len(outcomes),
        "failed_critical": failed,
        "failed_warning": [o.label for o in outcomes if not o.success and o.severity != "critical"],
    }
    run.save(VALIDATION, result)
    if failed:
        reasons = [f"quality: {label} failed" for label in failed]
        run.report("rejected", reasons)
        raise ProductRejectedError(f"{run.definition.name}: not published: {'; '.join(reasons)}")
    run.report("validated")
    return result


def review_policy(d: ProductSpec) -> Policy:
    return Policy(
        allowed_columns=list(d.schema),
        forbidden_columns=d.pii.forbidden_columns,
        pseudonymous_key=d.pii.pseudonymous_key,
        company_names=d.pii.company_names,
        k=d.pii.k,
        groups=[(g.size_column, g.columns) for g in d.pii.groups],
    )


def review(run: ProductRun) -> dict[str, Any]:
    from datafactory.products.dictionaries import load_dictionaries

    result = review_table(run.table(), review_policy(run.definition), load_dictionaries(run.settings, run.day))
    run.save(REVIEW, result.as_dict())
    if not result.passed:
        reasons = [f"review: {r}" for r in result.reasons()]
        run.report("rejected", reasons)
        raise ProductRejectedError(f"{run.definition.name}: not published: {'; '.join(reasons)}")
    run.report("reviewed")
    return {"passed": True, "rows": result.rows}


def _input_quality(zones: Zones, inputs: list[str], day: date) -> dict[str, Any]:
    summary = {}
    for source in inputs:
        path = zones.quality_result(day, source)
        if path.exists():
            res = json.loads(path.read_text())
            summary[source] = {k: res.get(k) for k in ("rows_in", "rows_conformed", "rows_quarantined")}
    return summary


def distribution(table: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Per declared column: category shares, or quantiles for numbers (what `diff` compares first)."""
    out: dict[str, Any] = {}
    for column in columns:
        values = table[column].dropna()
        if pd.api.types.is_numeric_dtype(values) and values.nunique() > 12:
            q = values.quantile([0.1, 0.25, 0.5, 0.75, 0.9])
            out[column] = {"mean": float(values.mean()), **{f"p{int(k * 100)}": float(v) for k, v in q.items()}}
        else:
            out[column] = {str(k): int(v) for k, v in values.value_counts().sort_index().items()}
    return out


def _checked(run: ProductRun) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    built, validation, reviewed = run.load(BUILD), run.load(VALIDATION), run.load(REVIEW)
    if not (built and validation and validation["passed"] and reviewed and reviewed["passed"]):
        raise ProductRejectedError(
            f"{run.definition.name}: refusing to publish a table that has not passed validation and review"
        )
    return built, validation, reviewed


def publish(run: ProductRun, publisher: str, ledger: Any = None) -> dict[str, Any]:
    """Write the checked table as the next immutable version (or find this date's version again)."""
    built, validation, reviewed = _checked(run)
    data = run.table_bytes()
    table = pd.read_parquet(io.BytesIO(data))
    d = run.definition
    fields = {
        "publisher": publisher,
        "logical_date": run.day.isoformat(),
        "row_count": len(table),
        "schema": {c: str(t) for c, t in table.dtypes.items()},
        "spec": d.summary(),
        "inputs": ledger.snapshot(built["inputs"], run.day) if ledger else {},
        "quality": {
            "inputs": _input_quality(Zones(run.settings.home), built["inputs"], run.day),
            "product": validation,
        },
        "model": built["model"],
        "review": reviewed,
        "distribution": distribution(table, d.distribution),
    }
    store = product_store(run.settings)
    day, files, identity = run.day.isoformat(), {f"{d.name}.parquet": data}, {"logical_date": run.day.isoformat()}
    request = built.get("restatement")
    earlier = versions_of_date(store, d.name, day)
    same = [v for v, m in earlier if m.get("fingerprint") == fingerprint(files, identity)]
    if earlier and not same:
        if not request:
            reason = (
                f"{day} is already published as v{earlier[0][0]} and this rerun's output differs; nothing "
                f"published. To replace it, restate the date: datafactory products restate {d.name} --date {day}"
            )
            run.report("rejected", [reason])
            raise RestatementRequiredError(f"{d.name}: {reason}")
        fields["restatement"] = {
            "of": day,
            "restates": earlier[0][0],
            **{k: request[k] for k in ("id", "by", "reason", "at")},
        }
    published = publish_version(store, d.name, files, fields, identity)
    if request:
        outcome = {"version": published.version, "reused": published.reused}
        outcome["restates"] = None if published.reused else earlier[0][0]
        close_restatement(store, d.name, day, request["id"], outcome)
    restates = None if published.reused or not request else earlier[0][0]
    run.report("published", version=published.version, reused=published.reused, restates=restates)
    return {
        "product": d.name,
        "version": published.version,
        "reused": published.reused,
        "logical_date": day,
        "restates": restates,
        "manifest": published.manifest_key,
        "rows": len(table),
        "store": store.url(published.manifest_key),
    }


def promote(settings: Settings, product: str, published: dict[str, Any]) -> dict[str, Any]:
    """Move `latest` to the version just published, if it was approved; a rerun moves nothing."""
    store = product_store(settings)
    version = int(published["version"])
    if published.get("reused"):
        return {"product": product, "version": version, "moved": False, "latest": latest_version(store, product)}
    decision = read_decision(store, product, version)
    if not decision or decision["decision"] != APPROVED:
        return {"product": product, "version": version, "moved": False, "latest": latest_version(store, product)}
    action = "restate" if published.get("restates") else "approve"
    try:
        event = move_latest(store, product, version, action, decision["by"], decision.get("note") or "approved")
    except BackwardsError as exc:  # an approved restatement of an earlier date: published, never latest
        return {
            "product": product,
            "version": version,
            "moved": False,
            "latest": latest_version(store, product),
            "reason": str(exc),
        }
    return {"product": product, "version": version, "moved": True, "latest": version, "from": event["from"]}
