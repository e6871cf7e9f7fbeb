"""Approval of a new product version in Airflow, with the human-in-the-loop ApprovalOperator.

The operator writes the request into Airflow's HITL table and parks the task (`awaiting_input`);
whoever answers (the Required Actions page, the HITL REST API, `datafactory products approve`)
goes through Airflow's own response handler, which resumes the task into `execute_complete`.
There the decision is recorded in the product store; `latest` moves in the next task, only on
approval. A rejection skips that task, so the version stays published but never becomes latest.

`dag.test()`, which the embedded runner uses, has no scheduler and no API server: it waits for a
response recorded from outside. With DATAFACTORY_AUTO_APPROVE the runner starts `auto_approver`,
which answers pending product approvals through the same handler as the user
`datafactory-auto-approver`. Nothing skips the step. Imported at DAG-parse time: nothing heavy here.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from airflow.providers.standard.operators.hitl import ApprovalOperator

APPROVAL_TASK = "approve"
PUBLISH_DAG_PREFIX = "publish_"
AUTO_APPROVER = "datafactory-auto-approver"
log = logging.getLogger(__name__)


def responder_name(event: dict[str, Any]) -> str:
    user = event.get("responded_by_user") or {}
    if user.get("name"):
        return str(user["name"])
    return "default on timeout" if event.get("timedout") else "unknown"


class ProductApprovalOperator(ApprovalOperator):
    """Approve or reject the version the `publish` task just created, before `latest` moves."""

    def __init__(self, *, product: str, **kwargs: Any) -> None:
        self.product = product
        version = "{{ ti.xcom_pull(task_ids='publish')['version'] }}"
        super().__init__(
            subject=f"Make {product} v{version} the latest version?",
            body=(
                f"**{product} v{version}** has passed its quality suite and the output review "
                f"(出域审核) and is published, immutable, at `{{{{ ti.xcom_pull(task_ids='publish')['store'] }}}}`.\n\n"
                f"Rows: {{{{ ti.xcom_pull(task_ids='publish')['rows'] }}}}. "
                f"Inspect it with `datafactory products show {product} {version}` and "
                f"`datafactory products diff {product} <latest> {version}`.\n\n"
                "**Approve** moves `latest` to it; **Reject** keeps the current latest."
            ),
            **kwargs,
        )

    def execute(self, context: Any) -> Any:
        from airflow.sdk.exceptions import AirflowSkipException

        published = context["ti"].xcom_pull(task_ids="publish")
        if published and published.get("reused"):
            raise AirflowSkipException(f"{self.product} v{published['version']} was published and decided before")
        return super().execute(context)

    def execute_complete(self, context: Any, event: dict[str, Any]) -> Any:
        from datafactory.products.pipeline import product_store
        from datafactory.products.versioning import APPROVED, REJECTED, record_decision
        from datafactory.settings import load_settings

        # Recorded before the parent runs: on Reject it skips `promote` by raising, so nothing after it runs.
        if "error" not in event:  # a timeout without a default is the parent's to raise
            self.validate_chosen_options(event["chosen_options"])
            published = context["ti"].xcom_pull(task_ids="publish")
            approved = event["chosen_options"] == [self.APPROVE]
            decision = record_decision(
                product_store(load_settings()),
                self.product,
                int(published["version"]),
                APPROVED if approved else REJECTED,
                responder_name(event),
                f"Airflow HITL, run {context['run_id']}",
            )
            self.log.info("%s v%s %s by %s", self.product, published["version"], decision["decision"], decision["by"])
        return super().execute_complete(context=context, event=event)


def pending_approvals(session: Any) -> list[tuple[str, str, str, int]]:
    """(dag_id, run_id, task_id, map_index) of product approvals waiting for an answer."""
    from airflow.models.hitl import HITLDetail
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.state import TaskInstanceState
    from sqlalchemy import select

    query = (
        select(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id, TaskInstance.map_index)
        .join(HITLDetail, HITLDetail.ti_id == TaskInstance.id)
        .where(
            HITLDetail.responded_at.is_(None),
            TaskInstance.state == TaskInstanceState.AWAITING_INPUT,
            TaskInstance.task_id == APPROVAL_TASK,
            TaskInstance.dag_id.startswith(PUBLISH_DAG_PREFIX),
        )
    )
    return [tuple(row) for row in session.execute(query).all()]


def respond(dag_id: str, run_id: str, task_id: str, map_index: int, approve: bool, user: str) -> dict[str, Any]:
    """Answer one approval through Airflow's Core API handler (what the UI's button calls)."""
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.datamodels.hitl import UpdateHITLDetailPayload
    from airflow.api_fastapi.core_api.routes.public.hitl import update_hitl_detail
    from airflow.utils.session import create_session

    choice = ApprovalOperator.APPROVE if approve else ApprovalOperator.REJECT
    with create_session() as session:
        response = update_hitl_detail(
            dag_id=dag_id,
            dag_run_id=run_id,
            task_id=task_id,
            update_hitl_detail_payload=UpdateHITLDetailPayload(chosen_options=[choice]),
            user=SimpleAuthManagerUser(username=user, role="admin"),
            session=session,
            map_index=map_index,
        )
    return {"dag_id": dag_id, "run_id": run_id, "chosen": response.chosen_options, "by": user}


def answer_pending(approve: bool, user: str, dag_id: str | None = None) -> list[dict[str, Any]]:
    from airflow.utils.session import create_session

    with create_session() as session:
        pending = pending_approvals(session)
    return [respond(*p, approve=approve, user=user) for p in pending if dag_id in (None, p[0])]


@contextmanager
def auto_approver(enabled: bool, interval: float = 0.5) -> Iterator[None]:
    """While the block runs, approve every pending product approval as AUTO_APPROVER."""
    if not enabled:
        yield
        return
    # Import every Airflow model, configure the ORM and load the response handler here, before the
    # thread exists: a first query from the thread while the main thread is still importing Airflow
    # deadlocks on SQLAlchemy's mapper configuration and the import lock.
    from airflow.models import import_all_models
    from sqlalchemy.orm import configure_mappers

    import_all_models()
    configure_mappers()
    answer_pending(True, AUTO_APPROVER)
    stop = threading.Event()

    def loop() -> None:
        while not stop.wait(interval):
            try:
                for answer in answer_pending(True, AUTO_APPROVER):
                    log.info("auto-approved %s run %s by configuration", answer["dag_id"], answer["run_id"])
            except Exception:  # a locked SQLite file or a race with the run: try again next tick
                log.debug("auto-approver tick failed", exc_info=True)

    thread = threading.Thread(target=loop, name="datafactory-auto-approver", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
