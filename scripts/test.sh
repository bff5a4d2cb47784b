#!/usr/bin/env bash
# Installs what the tests need (scripts/setup.sh), builds the plugins, runs every test.
# Usage: scripts/test.sh [extra cargo test arguments]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
"$ROOT/scripts/setup.sh"
"$ROOT/plugins/build.sh" --quiet
cargo test --workspace "$@"
