"""`datafactory serve`: the product API for licensed consumers (FastAPI under uvicorn)."""

from __future__ import annotations

import argparse

from rich.console import Console

console = Console(stderr=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run the product API (licensed lookups, metered); docs at /docs")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default: loopback)")
    p.add_argument("--port", type=int, default=8100)
    p.add_argument("--public-url", help="base URL of signed download links (default: the request's own)")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    from datafactory.database import masked
    from datafactory.serving.app import ServingConfig
    from datafactory.serving.server import serve as run
    from datafactory.settings import load_settings

    settings = load_settings()
    console.print(
        f"product API on http://{args.host}:{args.port} (docs: /docs); state DB {masked(settings.state_url)}; "
        f"store {settings.store_url}",
        soft_wrap=True,
    )
    run(settings, args.host, args.port, ServingConfig(public_url=args.public_url), args.log_level)
    return 0
