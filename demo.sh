#!/usr/bin/env bash
# One command: build the environment from the lock file, then run the whole factory on the
# embedded default (SQLite, local files, no services). Extra arguments go to `datafactory run`.
set -euo pipefail
cd "$(dirname "$0")"
scripts/bootstrap.sh
exec .venv/bin/datafactory run "$@"
