"""GE Data Docs for reviewers: one static site under reports/data_docs, a page per feed and run.

Conform keeps each run's GE validation result (masked, without row lists) beside its quality
result; this module loads them into an ephemeral GE context and lets GE's SiteBuilder render
them. Only the given run's pages are rendered (and made offline) again; the site index lists the runs
within two months of it, and every suite has its page.

The site works offline (the normal case inside a government network): GE's templates load Bootstrap,
jQuery, bootstrap-table, Font Awesome and Vega from CDNs, so the assets are copied into the site
(`static/vendor/`, from quality/templates/data_docs_vendor) and every page is pointed at them. Custom
expectations render as sentences (quality/renderers.py), and each validation carries its run's name.
"""

from __future__ import annotations

import json
import re
import time
from datetime import date
from pathlib import Path
from typing import Any

from datafactory.quality.masking import mask_value
from datafactory.zones import Zones

SITE = "reviewers"
VENDOR = Path(__file__).with_name("templates") / "data_docs_vendor"
# CDN address in GE's templates -> the copy under static/vendor/
CDN = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/bootstrap.min.js",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery-3.7.1.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper/popper.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table/bootstrap-table-filter-control.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "datepicker/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "datepicker/bootstrap-datepicker.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark/bootstrap-prefers-dark.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/vega@5": "vega/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega/vega-embed.min.js",
}
_LONG_LIST = 20  # kwargs lists longer than this (reference key sets) are summarized
# The site index lists the runs this close to the one being built. Every result loaded is parsed again on
# each build, so listing all history made each day's build slower than the last (a year of 19 feeds and
# their regions is tens of thousands of results); older runs' pages stay on disk, linked from their reports.
INDEX_WINDOW_DAYS = 62


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


def _run_name(day: str, airflow_run: str | None):
    from great_expectations.core.run_identifier import RunIdentifier

    name = f"{day} ({airflow_run})" if airflow_run else day
    return RunIdentifier(run_name=name, run_time=f"{day}T00:00:00+00:00")


def _airflow_run_id(ge_result: Path) -> str | None:
    """The run that produced a kept GE result: its quality result beside it says."""
    quality = ge_result.parent.parent / ge_result.name
    if not quality.exists():
        return None
    return json.loads(quality.read_text()).get("run_id")


def _add_suites(context: Any, names: set[str]) -> list[Any]:
    """Each suite of the run, from expectations/, so its page is built (every suite link resolves)."""
    from great_expectations.core.expectation_suite import ExpectationSuite
    from great_expectations.data_context.types.resource_identifiers import ExpectationSuiteIdentifier

    from datafactory.settings import load_settings

    folder, keys = load_settings().repo / "expectations", []
    for name in sorted(names):
        path = folder / f"{name}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text(encoding="utf-8"))
        suite = ExpectationSuite(name=name, expectations=data["expectations"], meta=data.get("meta") or {})
        context.suites.add_or_update(suite)
        keys.append(ExpectationSuiteIdentifier(name))
    return keys


_GE_LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"'\s]*?\.png[^\"'\s]*")


def make_offline(site: Path, since: float = 0.0) -> int:
    """Copy the vendored assets into the site and point its pages written since `since` (a time stamp;
    earlier builds fixed theirs) at them; returns pages changed."""
    import shutil

    shutil.copytree(VENDOR, site / "static" / "vendor", dirs_exist_ok=True)
    changed = 0
    for page in site.rglob("*.html"):
        if page.stat().st_mtime < since:
            continue
        text = page.read_text(encoding="utf-8")
        depth = len(page.relative_to(site).parts) - 1
        local = text
        for url, target in CDN.items():
            local = local.replace(f'"{url}"', f'"{"../" * depth}static/vendor/{target}"')
        local = _GE_LOGO.sub(f"{'../' * depth}static/images/logo-long.png", local)
        if local != text:
            page.write_text(local, encoding="utf-8")
            changed += 1
    return changed


def stored_results(zones: Zones, around: date | None = None) -> list[tuple[str, Path]]:
    """(batch name, file) of every kept GE result: `<feed>` for a feed conformed whole, and
    `<feed>.<region>` for each region of a feed conformed region by region. With `around`, only
    the runs within INDEX_WINDOW_DAYS of that date."""
    found = [(p.stem, p) for p in (zones.home / "quality").glob("*/ge/*.json")]
    for p in (zones.home / "partitions").glob("*/region=*/quality/*/ge/*.json"):
        region = p.parents[3].name.removeprefix("region=")
        found.append((f"{p.stem}.{region}", p))
    if around is not None:
        found = [(batch, p) for batch, p in found if _within_window(p.parent.parent.name, around)]
    return sorted(found)


def _within_window(day: str, around: date) -> bool:
    try:
        return abs((date.fromisoformat(day) - around).days) <= INDEX_WINDOW_DAYS
    except ValueError:  # not a run's folder
        return False


def build_data_docs(zones: Zones, logical_date: date) -> dict[str, str]:
    """Render the run's validation pages and the site index; returns batch -> page path relative
    to the reports folder (`report._docs_links` finds the same pages for earlier runs)."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

    import datafactory.quality.renderers  # noqa: F401  custom expectations, and the sentences that describe them
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
    started = time.time()
    for batch, path in stored_results(zones, around=logical_date):
        day = path.parent.parent.name
        result = schema.load(json.loads(path.read_text()))
        key = _identifier(day, result.suite_name, batch)
        result.meta["run_id"] = _run_name(day, _airflow_run_id(path))
        context.validation_results_store.set(key, result)
        if day == logical_date.isoformat():
            today[batch] = key
    if not today:
        return {}
    suites = _add_suites(context, {key.expectation_suite_identifier.name for key in today.values()})
    context.build_data_docs(site_names=[SITE], resource_identifiers=[*today.values(), *suites])
    make_offline(site, since=started - 1)  # the pages this build wrote (a second's slack for coarse clocks)
    pages = {}
    for batch, key in today.items():
        url = context.get_docs_sites_urls(resource_identifier=key, site_name=SITE)[0]["site_url"]
        pages[batch] = str(Path(url.removeprefix("file://")).relative_to(zones.reports()))
    return pages
