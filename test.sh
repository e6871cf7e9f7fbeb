#!/usr/bin/env bash
# One command: build the environment from the lock file, then run lint and every test.
set -euo pipefail
cd "$(dirname "$0")"
# The project's own modules cache their bytecode too (under __pycache__/, ignored by git).
unset PYTHONDONTWRITEBYTECODE
scripts/bootstrap.sh
scripts/install_system_deps.sh
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/datafactory check
exec .venv/bin/python -m pytest "$@"
