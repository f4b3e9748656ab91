#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (run as root or with sudo):
#   - this package with its `test` extra (pytest, hypothesis, jsonschema, ruff, mypy);
#   - Debian's chromium and poppler-utils (the HTML report is tested in headless Chromium,
#     the PDF is turned into pages with pdftoppm);
#   - @stoplight/prism-cli from npm, which serves a mock straight from Twilio's OpenAPI
#     description for the collector's contract test.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v pdftotext >/dev/null; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium poppler-utils fonts-dejavu-core >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test]"

if [ ! -x .ci/node/node_modules/.bin/prism ]; then
  npm install --prefix .ci/node --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5 >/dev/null
fi
echo "setup-tests: ready (python deps, chromium, poppler-utils, prism)"
