#!/usr/bin/env bash
# Mutation testing of the engine's guarantees with mutmut 3 (not run in CI: it takes a while).
#
# mutmut plants one small bug at a time (a flipped comparison, a changed constant, a dropped call) and
# runs the tests that reach the mutated function; a mutant the tests do not notice "survives" and
# points at a guarantee nothing checks.
#
# It works on a scratch copy, never in the working tree: the engine is copied to <workdir>/src/datafactory
# (mutmut finds packages under src/ and imports them by their real names), the tests and the specs they
# read beside it, and mutmut's config goes into the copy's own setup.cfg, so the shared pyproject.toml
# is not touched.
#
# Usage:
#   scripts/mutation.sh                         # quality/, sources/ (without simulator/) and products/
#   scripts/mutation.sh quality/split.py products/banding.py   # a bounded scope (paths under datafactory/)
# Environment:
#   MUTATION_TESTS     test files to run (default: a fast unit subset, below)
#   MUTATION_WORKDIR   scratch directory (default: a fresh one under ${TMPDIR:-/tmp})
#   MUTATION_CHILDREN  parallel test processes (default: 1; the development machines have 2 cores)
# The score is printed at the end and written to <workdir>/score.txt; survivors are listed with
# `cd <workdir> && .venv-python -m mutmut results` and shown with `mutmut show <name>`.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$REPO/.venv/bin/python"
MUTMUT_VERSION="3.8.1"
SCOPE=("$@")
if [ ${#SCOPE[@]} -eq 0 ]; then
    SCOPE=(quality/ sources/ products/)
fi
TESTS="${MUTATION_TESTS:-tests/unit/test_guarantees_conformed.py tests/unit/test_guarantees_bands.py \
tests/unit/test_guarantees_review.py tests/unit/test_quality_split_report.py tests/unit/test_quality_rules.py \
tests/unit/test_key_sets.py tests/unit/test_products_grading.py tests/unit/test_products_review.py \
tests/unit/test_products_diff.py tests/unit/test_products_spec.py tests/unit/test_watermark_and_banding.py \
tests/unit/test_sources_dedupe.py tests/unit/test_sources_drift.py tests/unit/test_sources_fileparse.py \
tests/unit/test_sources_ledger.py tests/unit/test_sources_protect.py tests/unit/test_sources_retry.py \
tests/unit/test_sources_validators.py tests/unit/test_sources_codes.py tests/unit/test_identifiers.py}"
CHILDREN="${MUTATION_CHILDREN:-1}"
WORK="${MUTATION_WORKDIR:-$(mktemp -d "${TMPDIR:-/tmp}/datafactory-mutation.XXXXXX")}"

if ! "$PY" -c "import mutmut" 2>/dev/null; then
    echo "installing mutmut==$MUTMUT_VERSION into .venv"
    uv pip install --python "$PY" "mutmut==$MUTMUT_VERSION"
fi

echo "scratch copy: $WORK"
mkdir -p "$WORK/src"
rsync -a --delete --exclude __pycache__ "$REPO/plugins/datafactory/" "$WORK/src/datafactory/"
for item in tests models products sources expectations pyproject.toml; do
    rsync -a --delete --exclude __pycache__ --exclude .hypothesis "$REPO/$item" "$WORK/"
done

{
    echo "[mutmut]"
    echo "source_paths = src/"
    echo "only_mutate ="
    for path in "${SCOPE[@]}"; do
        path="${path#plugins/datafactory/}"
        case "$path" in
            *.py) echo "    src/datafactory/$path" ;;
            *) echo "    src/datafactory/${path%/}/*" ;;
        esac
    done
    echo "also_copy ="  # the specs the tests read, found beside tests/ in the mutants/ copy
    for item in models products sources expectations; do echo "    $item/"; done
    echo "do_not_mutate ="
    echo "    src/datafactory/sources/simulator/*"
    echo "pytest_add_cli_args_test_selection ="
    for test in $TESTS; do echo "    $test"; done
    echo "pytest_add_cli_args ="
    echo "    -p"
    echo "    no:cacheprovider"
    echo "    -q"
} >"$WORK/setup.cfg"
cat "$WORK/setup.cfg"

cd "$WORK"
# mutmut's own exit status says nothing about survivors; the counts below do.
"$PY" -m mutmut run --max-children "$CHILDREN" || true
"$PY" -m mutmut results --all true >results.txt 2>&1 || "$PY" -m mutmut results >results.txt 2>&1 || true
"$PY" - <<'EOF' | tee score.txt
import re
from collections import Counter
from pathlib import Path

statuses = Counter()
for line in Path("results.txt").read_text().splitlines():
    match = re.match(r"\s*(\S+__mutmut_\d+):\s*(.+)$", line)
    if match:
        statuses[match.group(2).strip()] += 1
total = sum(statuses.values())
killed = statuses.get("killed", 0)
survived = statuses.get("survived", 0)
print(f"mutants: {total}  killed: {killed}  survived: {survived}  other: {dict(statuses)}")
if total:
    print(f"score (killed / total): {killed / total:.1%}")
EOF
echo "survivors: cd $WORK && $PY -m mutmut results; $PY -m mutmut show <mutant name>"
