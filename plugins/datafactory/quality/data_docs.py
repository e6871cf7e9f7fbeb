"""GE Data Docs for reviewers: one static site under reports/data_docs, a page per feed and run.

Conform keeps each run's GE validation result (masked, without row lists) beside its quality
result; this module loads them into an ephemeral GE context and lets GE's SiteBuilder render
them. Only the given run's pages are rendered again; the site index lists every run.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from datafactory.quality.masking import mask_value
from datafactory.zones import Zones

SITE = "reviewers"
_LONG_LIST = 20  # kwargs lists longer than this (reference key sets) are summarized


def sanitized_result(result: Any, personal_columns: set[str]) -> dict[str, Any]:
    """GE's result as JSON with every sample value masked, personal columns hidden whole, and
    long kwargs lists (reference key sets) cut to their first values, noted in the meta."""
    data = result.to_json_dict()
    for item in data["results"]:
        kwargs = item["expectation_config"]["kwargs"]
        columns = {kwargs.get(k) for k in ("column", "column_A", "column_B")} | set(kwargs.get("column_list") or [])
        personal = bool(columns & personal_columns)
        for key, value in list(kwargs.items()):
            if isinstance(value, list) and len(value) > _LONG_LIST:
                kwargs[key] = value[:_LONG_LIST]
                item["expectation_config"].setdefault("meta", {})[key] = f"first {_LONG_LIST} of {len(value)} shown"
        details = item.get("result") or {}
        if "partial_unexpected_list" in details:
            details["partial_unexpected_list"] = [_mask(v, personal) for v in details["partial_unexpected_list"]]
        for count in details.get("partial_unexpected_counts") or []:
            count["value"] = _mask(count["value"], personal)
    return data


def _mask(value: Any, personal: bool) -> Any:
    if isinstance(value, list | tuple):  # column-pair samples
        return [mask_value(v, personal) for v in value]
    return mask_value(value, personal)


def _identifier(day: str, suite_name: str, batch: str):
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    run = RunIdentifier(run_name=day, run_time=f"{day}T00:00:00+00:00")
    return ValidationResultIdentifier(ExpectationSuiteIdentifier(suite_name), run, batch)


def stored_results(zones: Zones) -> list[tuple[str, Path]]:
    """(batch name, file) of every kept GE result: `<feed>` for a feed conformed whole, and
    `<feed>.<region>` for each region of a feed conformed region by region."""
    found = [(p.stem, p) for p in (zones.home / "quality").glob("*/ge/*.json")]
    for p in (zones.home / "partitions").glob("*/region=*/quality/*/ge/*.json"):
        region = p.parents[3].name.removeprefix("region=")
        found.append((f"{p.stem}.{region}", p))
    return sorted(found)


def build_data_docs(zones: Zones, logical_date: date) -> dict[str, str]:
    """Render the run's validation pages and the site index; returns batch -> page path relative
    to the reports folder (`report._docs_links` finds the same pages for earlier runs)."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

    import datafactory.quality.custom_expectations  # noqa: F401  pages render the custom expectations too
    from datafactory.quality.runner import _context

    site = zones.reports() / "data_docs"
    context = _context()
    context.add_data_docs_site(
        SITE,
        {
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(site)},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        },
    )
    schema = ExpectationSuiteValidationResultSchema()
    today: dict[str, Any] = {}
    for batch, path in stored_results(zones):
        day = path.parent.parent.name
        result = schema.load(json.loads(path.read_text()))
        key = _identifier(day, result.suite_name, batch)
        context.validation_results_store.set(key, result)
        if day == logical_date.isoformat():
            today[batch] = key
    if not today:
        return {}
    context.build_data_docs(site_names=[SITE], resource_identifiers=list(today.values()))
    pages = {}
    for batch, key in today.items():
        url = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE)[0]["site_url"]
        pages[batch] = str(Path(url.removeprefix("file://")).relative_to(zones.reports()))
    return pages
