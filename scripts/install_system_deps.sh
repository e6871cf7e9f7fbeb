#!/usr/bin/env bash
# Debian packages the tests and the screens need: chromium, for the headless report and Data Docs tests
# (tests/e2e/test_report_*.py) and the Airflow UI test (tests/e2e/test_ui_airflow.py, which drives this
# chromium through Playwright: Playwright's own browser download is never used), and a CJK font
# (fonts-noto-cjk), so Chinese names render in the reports and the browser. Idempotent, and instant when both are there. Installing needs root, as on the
# development and CI machines.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
if ! command -v fc-list >/dev/null 2>&1 || [ -z "$(fc-list :lang=zh family 2>/dev/null)" ]; then
  missing+=(fonts-noto-cjk fontconfig)
fi
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing ${missing[*]}; run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fc-cache -f >/dev/null 2>&1 || true
command -v chromium >/dev/null
[ -n "$(fc-list :lang=zh family)" ]
