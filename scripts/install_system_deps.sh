#!/usr/bin/env bash
# Debian packages the tests need: chromium, for the headless report test (tests/e2e/test_report_*.py).
# Idempotent, and instant when chromium is already there. Installing needs root, as on the
# development and CI machines.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "chromium is missing; run as root: apt-get update && apt-get install -y chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
command -v chromium >/dev/null
