#!/usr/bin/env bash
# Creates .venv from requirements.lock and installs the engine (editable). Idempotent:
# it re-syncs only when the lock file or pyproject changed since the last sync.
# Packages are installed with their bytecode: where PYTHONDONTWRITEBYTECODE is set, Python never
# caches it, and every process would compile Airflow, GE and pandas from source (an import of
# airflow.sdk took 4.9 s instead of 1.5 s).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v uv >/dev/null 2>&1; then
  "$PY" -m pip install --quiet --disable-pip-version-check "uv==0.13.9"
fi
stamp=.venv/.lock-stamp
want=$( (cat requirements.lock pyproject.toml; echo compile-bytecode) | sha256sum | cut -d' ' -f1)
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  [ -x .venv/bin/python ] || uv venv --quiet --python 3.11 .venv
  uv pip sync --quiet --compile-bytecode --python .venv/bin/python requirements.lock
  uv pip install --quiet --compile-bytecode --python .venv/bin/python --no-deps -e .
  echo "$want" > "$stamp"
fi
