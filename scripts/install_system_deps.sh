#!/usr/bin/env bash
# Debian packages the tests need: chromium, for the headless report test. Idempotent and quick
# when already installed; needs root (as on the development and CI machines) otherwise.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium fonts-noto-cjk >/dev/null
command -v chromium >/dev/null
