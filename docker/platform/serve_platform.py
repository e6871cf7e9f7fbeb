"""Serves the simulated data-sharing platform's API (datafactory.sources.simulator.api_server) until
stopped. The stack runs it as `upstream-platform`; a production deployment drops that service and
points DATAFACTORY_API_URL at the real platform.

Usage: serve_platform.py HOST PORT. Store, app key and secret come from the datafactory settings
(DATAFACTORY_PLATFORM_URL, DATAFACTORY_API_KEY, DATAFACTORY_API_SECRET).
"""

from __future__ import annotations

import signal
import sys
import threading


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].isdigit():
        print("usage: serve_platform.py HOST PORT", file=sys.stderr)
        return 2
    from datafactory.settings import load_settings
    from datafactory.sources.simulator.api_server import PlatformApi

    settings = load_settings()
    api = PlatformApi(settings.platform_url, settings.api_key, settings.api_secret())
    stopped = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopped.set())
    print(f"simulated sharing platform serving {api.start(argv[0], int(argv[1]))}", flush=True)
    try:
        stopped.wait()
    finally:
        api.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
