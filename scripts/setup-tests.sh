#!/usr/bin/env bash
# Install everything the test suite needs on a fresh Debian machine (run as root or with sudo):
#   - this package with its `test` extra (pytest, hypothesis, jsonschema, ruff, mypy);
#   - Debian's chromium and poppler-utils (the HTML report is tested in headless Chromium,
#     the PDF is turned into pages with pdftoppm);
#   - @stoplight/prism-cli from npm, which serves a mock straight from Twilio's OpenAPI
#     description for the collector's contract test;
#   - Debian's postgresql (initdb, pg_ctl): the --history tests start a real server of their
#     own in a temporary folder (the packaged cluster is not used), and the psycopg driver
#     (the package's `postgresql` extra).
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != "0" ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

have_pg() { command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; }
if ! command -v chromium >/dev/null || ! command -v pdftoppm >/dev/null || ! command -v pdftotext >/dev/null || ! have_pg; then
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    chromium poppler-utils fonts-dejavu-core postgresql >/dev/null
fi

python3 -m pip install -q --disable-pip-version-check -e ".[test,postgresql]"

if [ ! -x .ci/node/node_modules/.bin/prism ]; then
  npm install --prefix .ci/node --no-audit --no-fund --loglevel=error @stoplight/prism-cli@5 >/dev/null
fi
echo "setup-tests: ready (python deps, chromium, poppler-utils, postgresql, prism)"
