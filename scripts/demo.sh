#!/usr/bin/env bash
# The word-count demo: installs the wasm target if missing, builds the plugins and sluice
# (release), then runs examples/wordcount/job.toml for a few batches.
# Usage: scripts/demo.sh [batches] [wall|virtual]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BATCHES="${1:-5}"
CLOCK="${2:-wall}"
if command -v rustup >/dev/null && ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    echo "demo.sh: adding rust target wasm32-unknown-unknown" >&2
    rustup target add wasm32-unknown-unknown >&2
fi
"$ROOT/plugins/build.sh" --quiet
cargo build --release --quiet -p sluice
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
exec "$TARGET/release/sluice" run examples/wordcount/job.toml --clock "$CLOCK" --batches "$BATCHES"
