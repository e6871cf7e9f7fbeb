#!/usr/bin/env bash
# airflow-init (one-shot): migrates the metadata DB (Airflow's and the FAB auth manager's tables), creates
# or updates one pool per source platform (its connection limit as slots), then creates or updates the
# factory's users, one per FAB role. Runs behind `python -m datafactory.secrets`,
# so an empty or placeholder password has already stopped it with one line naming the variable.
set -euo pipefail
airflow db migrate
python "$(dirname "$0")/create_pools.py"
exec python "$(dirname "$0")/create_users.py"
