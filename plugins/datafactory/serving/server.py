"""Runs the product API under uvicorn. SIGINT/SIGTERM stop it gracefully: in-flight calls finish, then
the lifespan shutdown flushes the usage ledger."""

from __future__ import annotations

from datafactory.serving.app import ServingConfig, create_app
from datafactory.settings import Settings


def serve(settings: Settings, host: str, port: int, config: ServingConfig | None = None, log_level: str = "warning"):
    import uvicorn

    app = create_app(settings, config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=False, timeout_graceful_shutdown=30)
