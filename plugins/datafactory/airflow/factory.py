"""Turns the specs into Airflow DAGs. Imported at parse time, so it imports nothing heavy."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import DAG, Asset, TaskGroup, task

from datafactory.airflow.operators import QualityReportOperator
from datafactory.partitioning import region_column
from datafactory.quality.references import conform_after
from datafactory.settings import load_settings
from datafactory.specs import ProductSpec, SourceSpec, load_models, load_products, load_sources
from datafactory.specs.feed import platforms

START = datetime(2026, 1, 1)
DEFAULT_ARGS: dict[str, Any] = {"owner": "datafactory", "retries": 2, "retry_delay": timedelta(minutes=1)}
INGEST_DAG = "ingest_returned_data"
# A task annotated `-> dict` would push every key as an XCom of its own besides the whole value (TaskFlow
# infers multiple_outputs); each push is a request to the execution API. Downstream reads only the whole.
ONE_XCOM: dict[str, Any] = {"multiple_outputs": False}
EMBEDDED_NOTE = (
    "\n\n*Paused?* On the embedded default no scheduler runs: Airflow shows the DAG paused, and "
    "`datafactory run` runs it for each business date with `dag.test()` (the date is in the run's conf). "
    "Unpause it only where a scheduler runs (docker-compose)."
)


def schedule_end() -> datetime | None:
    """The DAGs' end_date: after DATAFACTORY_SCHEDULE_END the timed schedules make no runs (a pilot that
    ends on a date). Asset-triggered runs carry no logical date, so they still start after it."""
    end = load_settings().schedule_end
    return datetime.fromisoformat(end) if end else None


def conformed_asset(source: str) -> Asset:
    return Asset(name=f"conformed.{source}", uri=f"datafactory://conformed/{source}")


def model_asset(scenario: str) -> Asset:
    return Asset(name=f"model.{scenario}", uri=f"datafactory://models/{scenario}")


def product_asset(product: str) -> Asset:
    return Asset(name=f"product.{product}", uri=f"datafactory://products/{product}")


def _ingest_dag(sources: list[str]) -> DAG:
    with DAG(
        dag_id=INGEST_DAG,
        schedule="@daily",
        start_date=START,
        end_date=schedule_end(),
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["datafactory", "ingest", "quality"],
        doc_md=(
            "Pull every returned-data feed by watermark into an immutable raw partition, validate it with its "
            "GE suite, quarantine failing rows and upsert the rest into the conformed zone. Ends with the "
            "reviewers' quality report. Rerunning a date changes nothing."
        ),
    ) as dag:
        conformed, conform_entry = [], {}
        specs = load_sources(load_settings().repo)
        platforms(specs.values())  # feeds of one platform agree on its limit, or the DAG does not load
        for source in sources:
            platform = specs[source].platform
            with TaskGroup(group_id=source):
                # Under a scheduler, the platform's pool keeps the pulls running at once within its
                # connection limit: each holds as many slots as it opens connections. (dag.test()
                # ignores pools and runs one task at a time.)
                @task(task_id="pull", pool=platform.pool, pool_slots=specs[source].pull_connections, **ONE_XCOM)
                def pull_feed(name: str, **context) -> dict:
                    from datafactory.airflow.tasks import pull

                    return pull(name, context)

                @task(task_id="conform", outlets=[conformed_asset(source)], **ONE_XCOM)
                def conform_feed(name: str, pulled: dict, **context) -> dict:
                    from datafactory.airflow.context import run_date
                    from datafactory.airflow.tasks import conform

                    result = conform(name, context)
                    # Downstream asset-triggered runs read the business date from the event.
                    context["outlet_events"][conformed_asset(name)].extra = {
                        "logical_date": run_date(context).isoformat()
                    }
                    return result

                if region_column(specs[source]) is None:
                    conformed.append(conform_feed(source, pull_feed(source)))
                    conform_entry[source] = conformed[-1]
                else:
                    final, conform_entry[source] = _conform_by_region(source, pull_feed(source))
                    conformed.append(final)
        # Referential integrity reads another feed's conformed keys, so that feed conforms first.
        conform_tasks = dict(zip(sources, conformed, strict=True))
        for source, first in conform_after(sources).items():
            for feed in first:
                conform_tasks[feed] >> conform_entry[source]

        report = QualityReportOperator(task_id="quality_report", trigger_rule="all_done", python_callable=_report)
        conformed >> report
        # The report runs whatever happened, so it cannot be the leaf that decides the run's state: without
        # this gate a run whose feed was held by a critical check ended green in the grid.
        conformed >> _feeds_gate()
    return dag


def _feeds_gate() -> Any:
    @task(task_id="feeds_gate", trigger_rule="one_failed")
    def feeds_gate() -> None:
        """Runs only when a feed's pull or conform failed, and fails the run (AirflowFailException: no retry)."""
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException("a feed failed its pull or a critical check; its own task says which and why")

    return feeds_gate()


def _report(**context: Any) -> str:
    from datafactory.airflow.tasks import quality_report

    return quality_report(context)


def _conform_by_region(source: str, pulled: Any) -> tuple[Any, Any]:
    """Large feeds: split the raw partition by region, conform the regions as dynamically mapped tasks
    (spread over the workers, one region in memory at a time; small regions share a task, so a feed of
    many small regions does not pay the orchestrator's per-task cost for each), then assemble the
    feed's snapshot. The last task keeps the feed's `conform` id and its conformed asset. Returns
    (last task, first task)."""

    @task(task_id="split_regions")
    def split(name: str, pulled: dict, **context) -> list[list[str]]:
        from datafactory.airflow.tasks import split_regions

        return split_regions(name, context)

    @task(task_id="conform_region", map_index_template="{{ region }}", **ONE_XCOM)
    def conform_batch(name: str, regions: list[str], **context) -> dict:
        from airflow.sdk import get_current_context

        from datafactory.airflow.tasks import conform_regions
        from datafactory.partitioning.regions import batch_label

        # The map index template reads the task's own context (`**context` here is a copy of it).
        get_current_context()["region"] = batch_label(regions)
        return conform_regions(name, regions, context)

    @task(task_id="conform", outlets=[conformed_asset(source)], **ONE_XCOM)
    def assemble(name: str, batches: list[list[str]], done: list[dict], **context) -> dict:
        from datafactory.airflow.context import run_date
        from datafactory.airflow.tasks import assemble_regions

        result = assemble_regions(name, batches, context)
        context["outlet_events"][conformed_asset(name)].extra = {"logical_date": run_date(context).isoformat()}
        return result

    batches = split(source, pulled)
    per_batch = conform_batch.partial(name=source).expand(regions=batches)
    return assemble(source, batches, per_batch), batches


def _train_dag(scenario: str, inputs: list[str]) -> DAG:
    with DAG(
        dag_id=f"train_{scenario}",
        schedule=[conformed_asset(s) for s in inputs],
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["datafactory", "model", scenario],
        doc_md=(
            f"Build `{scenario}` features with DuckDB SQL over the conformed zone, train the algorithm family "
            f"`models/{scenario}/model.yaml` declares (each candidate, tuning as nested runs, a baseline), log "
            "each run to MLflow with its model card, register it as `challenger`, and move `champion` only if it "
            "wins on the same holdout. Runs when every input feed has been conformed."
        ),
    ) as dag:

        @task(task_id="train_register_promote", outlets=[model_asset(scenario)], **ONE_XCOM)
        def train_model(**context) -> dict:
            from datafactory.airflow.tasks import train

            return train(scenario, context)

        train_model()
    return dag


def _publish_dag(spec: ProductSpec) -> DAG:
    from airflow.sdk import AssetOrTimeSchedule, CronTriggerTimetable, chain

    from datafactory.airflow.approval import APPROVAL_TASK, ProductApprovalOperator

    product, model = spec.name, spec.model
    triggers = [model_asset(model)] if model else [conformed_asset(s) for s in spec.inputs]
    source = f"the `{model}` champion's scores" if model else "SQL aggregates over the conformed zone"
    with DAG(
        dag_id=f"publish_{product}",
        schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable(spec.refresh, timezone="UTC"), assets=triggers),
        start_date=START,
        end_date=schedule_end(),
        catchup=False,
        max_active_runs=1,
        default_args={**DEFAULT_ARGS, "owner": spec.owner},
        tags=["datafactory", "product", product],
        doc_md=(
            f"**{product}** ({spec.description.strip()}) for {', '.join(spec.audience)}, "
            f"authorized for the `{spec.authorized_for}` scenario. Build it from {source}, validate it "
            "with its GE suite, run the output review (出域审核: no personal data, no small groups), publish an "
            "immutable version (data first, manifest last), ask for approval (human in the loop), and only then "
            f"move `latest`. Refreshed on `{spec.refresh}` and whenever its inputs change."
        ),
    ) as dag:

        def stage(step: str, **kwargs: Any):
            @task(task_id=step, **ONE_XCOM, **kwargs)
            def run_stage(**context) -> dict:
                from datafactory.airflow.tasks import publish

                return publish(product, step, context)

            return run_stage()

        chain(
            stage("build"),
            stage("validate"),
            stage("review"),
            stage("publish"),
            ProductApprovalOperator(task_id=APPROVAL_TASK, product=product),
            stage("promote", outlets=[product_asset(product)]),
        )
    return dag


def pools(specs: dict[str, SourceSpec]) -> dict[str, tuple[int, str]]:
    """The Airflow pool of each platform the feeds are pulled from: name -> (slots, description)."""
    found = {}
    for platform in platforms(specs.values()).values():
        feeds = sorted(name for name, spec in specs.items() if spec.platform.name == platform.name)
        about = f"pulls from {platform.name}: {platform.connections} connection(s) at once; feeds {', '.join(feeds)}"
        found[platform.pool] = (platform.connections, about)
    return found


def ensure_pools() -> dict[str, int]:
    """Creates or updates the platforms' pools in the Airflow metadata DB (idempotent): a scheduler
    leaves a task whose pool does not exist unscheduled. Returns pool -> slots."""
    from airflow.models.pool import Pool

    wanted = pools(load_sources(load_settings().repo))
    for name, (slots, about) in wanted.items():
        Pool.create_or_update_pool(name, slots, about, include_deferred=False)
    return {name: slots for name, (slots, _) in wanted.items()}


def build_dags() -> dict[str, DAG]:
    repo = load_settings().repo
    sources = load_sources(repo)
    models = load_models(repo)
    dags = [_ingest_dag(sorted(sources))]
    dags += [_train_dag(name, spec.inputs) for name, spec in models.items()]
    dags += [_publish_dag(spec) for spec in load_products(repo).values()]
    for d in dags:  # the UI shows why the DAGs are paused
        d.doc_md = (d.doc_md or "") + EMBEDDED_NOTE
    return {d.dag_id: d for d in dags}
