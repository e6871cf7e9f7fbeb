"""Creates or updates one Airflow pool per source platform the feeds declare (sources/*.yaml
`platform: {name, connections}`), with the platform's connection limit as its slots. Pull tasks run
in their platform's pool, each taking as many slots as it opens connections, so the Celery workers
never hold more connections to one platform than its licence allows; a task whose pool does not
exist is never scheduled, hence this step before the scheduler starts.

Idempotent: a changed limit takes effect on the next `docker compose up`. Prints one line per pool.
"""

from __future__ import annotations

import sys


def main() -> int:
    from datafactory.airflow.factory import ensure_pools

    for name, slots in ensure_pools().items():
        print(f"Airflow pool {name}: {slots} slot(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
