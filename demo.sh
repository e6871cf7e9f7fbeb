#!/usr/bin/env bash
# One command: build the environment from the lock file, then run the whole factory on the
# embedded default (SQLite, local files, no services). Extra arguments go to `datafactory run`
# (-v streams Airflow's logs; they are always in var/logs/<date>/). Then `.venv/bin/datafactory ui`
# opens the Airflow and MLflow UIs on the same state.
set -euo pipefail
cd "$(dirname "$0")"
# The project's own modules cache their bytecode too (under __pycache__/, ignored by git).
unset PYTHONDONTWRITEBYTECODE
scripts/bootstrap.sh
exec .venv/bin/datafactory run "$@"
