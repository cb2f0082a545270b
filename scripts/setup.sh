#!/usr/bin/env bash
# Installs what nearjs needs to build and test on Debian 12, and nothing that is already there.
# Idempotent: a second run installs nothing and says so. Needs root or sudo only when something is missing.
# Usage: scripts/setup.sh [build|test|bench]   (each level includes the ones before it)
set -euo pipefail

level=${1:-test}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

build_pkgs=(gcc make cmake pkg-config libcurl4-openssl-dev libjansson-dev libhttp-parser-dev libh2o-evloop-dev
            libssl-dev zlib1g-dev libyaml-dev)
test_pkgs=(python3 python3-venv bats curl iproute2 procps valgrind openssl jq awscli clang-format patchelf zip unzip)
bench_pkgs=(hyperfine nodejs npm autoconf automake libtool g++)

want=("${build_pkgs[@]}")
case "$level" in
build) ;;
test) want+=("${test_pkgs[@]}") ;;
bench) want+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
*) echo "setup: unknown level '$level' (want build, test or bench)" >&2; exit 2 ;;
esac
exec "$here/ensure-packages.sh" setup "${want[@]}"
