"""Task bodies. Each opens settings and specs, calls the engine, and returns a small JSON dict."""

from __future__ import annotations

import math
from typing import Any

from datafactory.airflow.context import run_date, run_id


def _delivered(settings, source: str, context: dict[str, Any], whole_batch: bool):
    """The pull ledger's counts for the feed and date (a region slice knows only the feed's delivery)."""
    from datafactory.quality.parameters import Delivered
    from datafactory.sources.ledger import Ledger

    record = Ledger(settings.state_engine()).successful_pull(source, run_date(context))
    if record is None:
        return None
    return Delivered(record.rows_received, record.rows if whole_batch else None)


def pull(source: str, context: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    from datafactory.settings import load_settings
    from datafactory.sources.ingest import ingest
    from datafactory.sources.ledger import Ledger
    from datafactory.sources.upstream import Upstream
    from datafactory.specs import load_sources
    from datafactory.zones import Zones

    settings = load_settings()
    spec = load_sources(settings.repo)[source]
    result = ingest(
        spec,
        run_date(context),
        run_id(context),
        upstream=Upstream.from_settings(settings),
        ledger=Ledger(settings.state_engine()),
        zones=Zones(settings.home),
        pseudonym_key=settings.pseudonym_key(),
        sm4_key=settings.sm4_key(),
    )
    return asdict(result)


def conform(source: str, context: dict[str, Any]) -> dict[str, Any]:
    from airflow.sdk.exceptions import AirflowFailException

    from datafactory.quality.conform import QualityGateError, conform
    from datafactory.settings import load_settings
    from datafactory.specs import load_sources, load_suite
    from datafactory.zones import Zones

    settings = load_settings()
    spec = load_sources(settings.repo)[source]
    try:
        suite, zones = load_suite(settings.repo, spec.suite), Zones(settings.home)
        delivery = _delivered(settings, source, context, whole_batch=True)
        result = conform(spec, suite, run_date(context), run_id(context), zones, delivery)
    except QualityGateError as exc:  # retrying cannot fix bad upstream data
        raise AirflowFailException(str(exc)) from exc
    return {k: result[k] for k in ("source", "rows_in", "rows_conformed", "rows_quarantined")}


def quality_report(context: dict[str, Any]) -> str:
    from datafactory.quality.report import write_reports
    from datafactory.settings import load_settings
    from datafactory.zones import Zones

    return str(write_reports(Zones(load_settings().home), run_date(context)))


def train(scenario: str, context: dict[str, Any]) -> dict[str, Any]:
    from datafactory.modeling.pipeline import train_scenario
    from datafactory.settings import load_settings
    from datafactory.sources.ledger import Ledger
    from datafactory.specs import load_models

    settings = load_settings()
    spec = load_models(settings.repo)[scenario]
    day = run_date(context)
    snapshot = Ledger(settings.state_engine()).snapshot(spec.inputs, day)  # raw partitions + watermarks
    result = train_scenario(settings, spec, day, snapshot)
    refresh_reports(settings)  # the model's score check lands after the day's report: show it there
    return json_safe(result)


def json_safe(value: Any) -> Any:
    """`value` as strict JSON takes it: NaN and infinities (an undefined metric, a noise estimate on a
    tiny holdout) become None. An XCom that JSON refuses fails the task after the model was registered."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def refresh_reports(settings) -> None:
    from datafactory.quality.report import write_pages
    from datafactory.zones import Zones

    write_pages(Zones(settings.home), repo=settings.repo)


def publish(product: str, step: str, context: dict[str, Any]) -> dict[str, Any]:
    """One stage of publishing a product: build, validate, review, publish or promote."""
    from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

    from datafactory.modeling.errors import NoChampionError
    from datafactory.products import pipeline
    from datafactory.settings import load_settings
    from datafactory.sources.ledger import Ledger

    settings = load_settings()
    if step == "promote":
        return pipeline.promote(settings, product, context["ti"].xcom_pull(task_ids="publish"))
    definition = pipeline.load_definition(settings, product)
    run = pipeline.ProductRun(settings, definition, run_date(context), run_id(context))
    try:
        if step == "publish":
            return json_safe(pipeline.publish(run, f"airflow:{run_id(context)}", Ledger(settings.state_engine())))
        result = {"build": pipeline.build, "validate": pipeline.validate, "review": pipeline.review}[step](run)
    except pipeline.ProductRejectedError as exc:  # retrying cannot make a rejected product acceptable
        raise AirflowFailException(str(exc)) from exc
    except NoChampionError as exc:  # a new deployment's daily tick before its first training: nothing to score
        raise AirflowSkipException(f"{exc}; the first version follows the first registered champion") from exc
    if step == "build" and definition.model:
        # Scoring wrote the day's model check (PSI, model version): whatever ran this build (a run, a
        # rerun, a restatement, the scheduler), the day's page and the index show it from now on.
        refresh_reports(settings)
    return json_safe(result)


def split_regions(source: str, context: dict[str, Any]) -> list[list[str]]:
    """Region partitions: the feed's raw partition streamed into one slice per region; returns the
    regions in batches, one conform task each (`conform_batch_rows`)."""
    from datafactory.partitioning.regions import batch_regions, split_by_region
    from datafactory.settings import load_settings
    from datafactory.specs import load_sources
    from datafactory.zones import Zones

    settings = load_settings()
    spec = load_sources(settings.repo)[source]
    rows = split_by_region(spec, Zones(settings.home), run_date(context))
    return batch_regions(rows, settings.conform_batch_rows)


def conform_regions(source: str, regions: list[str], context: dict[str, Any]) -> dict[str, Any]:
    """A batch of a feed's regions, each conformed as its own batch, one after another. A critical
    failure is recorded, not raised: the feed-level step holds the whole feed and fails once, with the reason."""
    from datafactory.partitioning.regions import RegionZones, batch_label
    from datafactory.quality.conform import QualityGateError, conform
    from datafactory.settings import load_settings
    from datafactory.specs import load_sources, load_suite

    settings = load_settings()
    spec = load_sources(settings.repo)[source]
    suite = load_suite(settings.repo, spec.suite)
    delivery = _delivered(settings, source, context, whole_batch=False)
    totals = {"region": batch_label(regions), "source": source}
    totals |= dict.fromkeys(("rows_in", "rows_conformed", "rows_quarantined"), 0)
    critical = []
    for region in regions:
        try:
            zones = RegionZones(settings.home, source, region)
            result = conform(spec, suite, run_date(context), run_id(context), zones, delivery)
        except QualityGateError as exc:
            critical.append(f"{region}: {exc}")
            continue
        for key in ("rows_in", "rows_conformed", "rows_quarantined"):
            totals[key] += result[key]
    return totals | ({"critical": "; ".join(critical)} if critical else {})


def assemble_regions(source: str, batches: list[list[str]], context: dict[str, Any]) -> dict[str, Any]:
    """The feed's conformed snapshot, quarantine and quality result from its regions."""
    from airflow.sdk.exceptions import AirflowFailException

    from datafactory.partitioning.regions import assemble
    from datafactory.settings import load_settings
    from datafactory.specs import load_sources
    from datafactory.zones import Zones

    settings = load_settings()
    spec = load_sources(settings.repo)[source]
    regions = [region for batch in batches for region in batch]
    result = assemble(spec, Zones(settings.home), run_date(context), run_id(context), regions)
    if result["critical"]:  # retrying cannot fix bad upstream data
        raise AirflowFailException(f"{source}: critical expectation failed: {result['critical'][0]}")
    return {k: result[k] for k in ("source", "rows_in", "rows_conformed", "rows_quarantined")}
