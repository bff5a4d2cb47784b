#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh), builds the plugins, runs every test.
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
"$ROOT/plugins/build.sh" --quiet
cargo test --workspace "$@"
# The Python SDK natively, against ABI v1's fixtures.
python3 -m unittest discover -s "$ROOT/guest-sdk/python/tests"
# The Spark conformance cases again, on the Python port of spark-builtins.
if [[ -f "$ROOT/plugins/dist/py-spark.wasm" ]]; then
    SLUICE_CONFORMANCE_PLUGIN=py-spark cargo test -p sluice --test conformance
else
    echo "test.sh: skipped the conformance cases on py-spark: not built (componentize-py missing)" >&2
fi
