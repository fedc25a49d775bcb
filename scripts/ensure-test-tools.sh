#!/usr/bin/env bash
# Tools the tests use beyond the Python venv: Debian's Chromium for the browser tests, and
# datumaro in a side venv (it pins an older Pillow than ours) as an independent reader, and
# deepaas in another (it pins an old Werkzeug), the real DEEPaaS server the models tests start.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian chromium for the browser tests"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "chromium is missing and cannot be installed here; browser tests will be skipped" >&2
  fi
fi

DM_VENV=${DATUMARO_VENV:-.venv-datumaro}
if [ ! -x "$DM_VENV/bin/datumaro" ] && [ ! -f "$DM_VENV/.installed" ]; then
  echo "Installing datumaro into $DM_VENV (independent reader for format tests)"
  python3 -m venv "$DM_VENV"
  "$DM_VENV/bin/pip" install -q --upgrade pip >/dev/null
  if "$DM_VENV/bin/pip" install -q datumaro; then
    touch "$DM_VENV/.installed"
  else
    echo "datumaro could not be installed; its reader tests will be skipped" >&2
  fi
fi

DP_VENV=${DEEPAAS_VENV:-.venv-deepaas}
if [ ! -x "$DP_VENV/bin/deepaas-run" ] && [ ! -f "$DP_VENV/.installed" ]; then
  echo "Installing deepaas into $DP_VENV (the DEEPaaS server of the models tests)"
  python3 -m venv "$DP_VENV"
  "$DP_VENV/bin/pip" install -q --upgrade pip >/dev/null
  if "$DP_VENV/bin/pip" install -q deepaas pillow; then
    touch "$DP_VENV/.installed"
  else
    echo "deepaas could not be installed; the DEEPaaS tests will be skipped" >&2
  fi
fi

# Servers the tests start from npm: an OIDC provider (sign-in tests) and Azurite (Azure
# storage tests), into tests/tools/node_modules (git-ignored).
if command -v npm >/dev/null; then
  if [ ! -d tests/tools/node_modules/oidc-provider ] || [ ! -x tests/tools/node_modules/.bin/azurite ]; then
    echo "Installing oidc-provider and azurite into tests/tools/node_modules"
    (cd tests/tools && npm install --no-audit --no-fund --loglevel=error) \
      || echo "npm install failed; OIDC and Azure tests will be skipped" >&2
  fi
else
  echo "npm is missing; OIDC and Azure tests will be skipped" >&2
fi
