#!/usr/bin/env bash
# Installs the toolchains of Python and JavaScript component plugins (docs/components.md),
# when missing, at pinned versions:
#   componentize-py 0.25.1                       pip
#   @bytecodealliance/componentize-js 0.23.0     npm ci in guest-sdk/js (package-lock.json)
#   @bytecodealliance/jco 1.35.0                 (same)
# A missing pip or npm is one line and a skip, never a failure: plugins/build.sh then skips
# those plugins and their tests say so. Idempotent. Usage: scripts/component-toolchains.sh
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "component-toolchains.sh: $*" >&2; }

PY_VERSION=0.25.1
if [[ "$(componentize-py --version 2>/dev/null)" == "componentize-py $PY_VERSION" ]]; then
    :
elif command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    say "installing componentize-py==$PY_VERSION with pip"
    python3 -m pip install --quiet --disable-pip-version-check "componentize-py==$PY_VERSION" >&2 \
        || say "SKIPPED: pip could not install componentize-py: Python plugins will be skipped"
    command -v componentize-py >/dev/null \
        || say "componentize-py installed but not on PATH: add $(python3 -c 'import sys; print(sys.prefix)')/bin"
else
    say "SKIPPED: python3 with pip not found: Python plugins will be skipped"
fi

JS="$ROOT/guest-sdk/js"
if [[ -x "$JS/node_modules/.bin/componentize-js" ]] && [[ "$JS/node_modules/.package-lock.json" -nt "$JS/package-lock.json" ]]; then
    :
elif command -v npm >/dev/null && command -v node >/dev/null; then
    say "installing componentize-js and jco in guest-sdk/js with npm ci"
    (cd "$JS" && npm ci --silent --no-audit --no-fund >&2) \
        || say "SKIPPED: npm ci failed in guest-sdk/js: JavaScript plugins will be skipped"
else
    say "SKIPPED: node and npm not found: JavaScript plugins will be skipped"
fi
exit 0
