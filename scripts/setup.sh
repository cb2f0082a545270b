#!/usr/bin/env bash
# Installs what nearjs needs to build and test on Debian 12, and nothing that is already there.
# Idempotent: a second run installs nothing and says so. Needs root or sudo only when something is missing.
# Usage: scripts/setup.sh [build|test|bench]   (each level includes the ones before it)
set -euo pipefail

level=${1:-test}

build_pkgs=(gcc make cmake pkg-config libcurl4-openssl-dev libjansson-dev libhttp-parser-dev libh2o-evloop-dev libssl-dev
            zlib1g-dev libyaml-dev)
test_pkgs=(python3 bats curl iproute2 procps valgrind openssl jq awscli)
bench_pkgs=(hyperfine nodejs npm autoconf automake libtool g++ make cmake python3)

want=("${build_pkgs[@]}")
case "$level" in
build) ;;
test) want+=("${test_pkgs[@]}") ;;
bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "setup: unknown level '$level' (want build, test or bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        # nodejs may come from elsewhere than Debian (NodeSource, nvm): a working node counts.
        if [ "$p" = nodejs ] && command -v node >/dev/null; then continue; fi
        if [ "$p" = npm ] && command -v npm >/dev/null; then continue; fi
        missing+=("$p")
    fi
done
# de-duplicate while keeping order
mapfile -t missing < <(printf '%s\n' "${missing[@]}" | awk 'NF && !seen[$0]++')

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${level} dependencies present"
    exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        sudo="sudo"
    else
        echo "setup: need root or sudo to install: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
# An old or empty package list makes apt-get install fail to find packages: refresh it once.
$sudo apt-get update -qq || echo "setup: apt-get update failed; trying with the lists already here" >&2
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
