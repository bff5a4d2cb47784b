#!/usr/bin/env bash
# The word-count demo: adds the Rust target wasm32-unknown-unknown if missing, builds the
# one plugin it needs (plugins/words) and sluice, then runs examples/wordcount/job.toml for
# a few batches. Needs only cargo (with rustup, to add the target); nothing else.
# Usage: scripts/demo.sh [batches] [wall|virtual]
# Environment:
#   SLUICE_DEMO_PROFILE  cargo profile of sluice: `release` (default) or `dev` (a faster
#                        build, for tests that already have a debug build)
#   CARGO_TARGET_DIR     where cargo builds sluice, as usual (default: target/)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
BATCHES="${1:-5}"
CLOCK="${2:-wall}"
PROFILE="${SLUICE_DEMO_PROFILE:-release}"
say() { echo "demo.sh: $*" >&2; }

case "$PROFILE" in
release | dev) ;;
*)
    say "SLUICE_DEMO_PROFILE=$PROFILE: expected release or dev"
    exit 2
    ;;
esac
if ! command -v cargo >/dev/null; then
    say "cargo not found: install Rust with rustup (https://rustup.rs), then run this again"
    exit 1
fi
sysroot="$(rustc --print sysroot 2>/dev/null || true)"
if [[ ! -d "$sysroot/lib/rustlib/wasm32-unknown-unknown/lib" ]]; then
    if ! command -v rustup >/dev/null; then
        say "the Rust target wasm32-unknown-unknown is missing and rustup is not installed to add it"
        exit 1
    fi
    say "adding rust target wasm32-unknown-unknown"
    rustup target add wasm32-unknown-unknown >&2
fi
say "building plugins/words and sluice ($PROFILE); the first time takes 6 to 10 minutes on 2 cores"
"$ROOT/plugins/build.sh" --quiet words
if [[ ! -f "$ROOT/plugins/dist/words.wasm" ]]; then
    say "plugins/dist/words.wasm was not built (see the messages above)"
    exit 1
fi
# `cargo run` finds the target directory itself (CARGO_TARGET_DIR, .cargo/config.toml) and
# replaces itself with sluice, so Ctrl-C and the exit status are sluice's.
exec cargo run --quiet --profile "$PROFILE" -p sluice -- \
    run examples/wordcount/job.toml --clock "$CLOCK" --batches "$BATCHES"
