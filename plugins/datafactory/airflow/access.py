"""The reports' access check: the same authentication and permission as Airflow's own REST API.

`ReportsAccess` wraps the whole reports app (its routes and the mounted static files, which FastAPI
route dependencies would not cover). A request must carry an Airflow JWT, as a bearer token (API
clients) or as the UI's `_token` cookie (the browser, after logging in to the Airflow UI), and its user
must be allowed to read the runs of the ingest DAG, whose quality the reports describe: in the FAB
auth manager that is the Viewer role and up. No token: 401, as `/api/v2/dags` answers; a token
without that permission: 403.
"""

from __future__ import annotations

import json
from typing import Any

INGEST_DAG = "ingest_returned_data"  # the reports describe this DAG's runs (datafactory.airflow.factory)


class ReportsAccess:
    """ASGI middleware: authenticate with Airflow's auth manager, then require read access to the runs."""

    def __init__(self, app: Any, dag_id: str = INGEST_DAG):
        self.app = app
        self.dag_id = dag_id

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = await self.refusal(scope)
        if status is None:
            await self.app(scope, receive, send)
            return
        detail = {401: "Not authenticated", 403: "Forbidden"}[status]
        headers = [(b"content-type", b"application/json")]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": json.dumps({"detail": detail}).encode()})

    async def refusal(self, scope: dict) -> int | None:
        """None when the caller may read the reports, else the HTTP status to answer."""
        from airflow.api_fastapi.app import get_auth_manager
        from airflow.api_fastapi.auth.managers.base_auth_manager import COOKIE_NAME_JWT_TOKEN
        from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails
        from starlette.requests import Request

        request = Request(scope)
        scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
        token = credentials.strip() if scheme.lower() == "bearer" else request.cookies.get(COOKIE_NAME_JWT_TOKEN)
        if not token:
            return 401
        manager = get_auth_manager()
        try:
            user = await manager.get_user_from_token(token)
        except Exception:  # expired or forged: the API answers 401/403 the same way
            return 401
        allowed = manager.is_authorized_dag(
            method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=self.dag_id), user=user
        )
        return None if allowed else 403
