#!/usr/bin/env bash
# bench/deploy: what `make package` ships and what it costs at a cold start. Sizes of build/function.zip
# (PACKAGE_LIBS=system and bundle) and of the edge tarball, next to aws-lambda-cpp's packager (its README's
# numbers, quoted in issue 11); then the packaged bootstrap's cold start under `nearjs-local invoke` (spawn,
# init, one GET /acme/main.js from the demo folder store, exit) against build/bin/bootstrap's, by hyperfine
# in one run; then `make deploy`'s wall time for two regions against moto (deploy_time.sh). Bounded
# (~2 min). Writes bench/results/deploy.txt.
# Usage: bench/deploy/run.sh BUILD_DIR   (knobs: RUNS=40)
set -euo pipefail
BUILD=${1:?usage: bench/deploy/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
RESULTS=$HERE/../results
RUNS=${RUNS:-40}
mkdir -p "$RESULTS"
[ -x "$BUILD/bin/bootstrap" ] && [ -x "$BUILD/bin/nearjs-local" ] || { echo "bench/deploy: make build first" >&2; exit 2; }
"$SRC/scripts/ensure-packages.sh" bench/deploy hyperfine patchelf zip jq >/dev/null || exit 2
T=$(mktemp -d /tmp/bench-deploy.XXXXXX)
trap 'rm -rf "$T"' EXIT

"$SRC/deploy/package.sh" --build "$BUILD" --out "$T/system.zip" >"$T/system.out"
"$SRC/deploy/package.sh" --build "$BUILD" --libs bundle --out "$T/bundle.zip" >"$T/bundle.out"
"$SRC/deploy/edge-package.sh" --build "$BUILD" --out "$T/edge.tar.gz" >"$T/edge.out"
mb() { awk -v b="$(stat -c %s "$1")" 'BEGIN {printf "%.2f MB (%d bytes)", b / 1048576, b}'; }
files() { unzip -Z1 "$1" | wc -l; }

cat >"$T/event.json" <<'EOF'
{"version":"2.0","rawPath":"/acme/main.js","rawQueryString":"","headers":{},"requestContext":{"http":{"method":"GET","path":"/acme/main.js"}},"isBase64Encoded":false}
EOF
echo "{\"Parameters\":{\"NEARJS_STORE\":\"file://$SRC/function/demo\"}}" >"$T/env.json"
INV=("$BUILD/bin/nearjs-local" invoke -e "$T/event.json" --env-vars "$T/env.json")
for b in "$T/system-package/bootstrap" "$BUILD/bin/bootstrap"; do
    out=$("${INV[@]}" "$b" 2>/dev/null) || { echo "bench/deploy: $b does not answer" >&2; exit 1; }
    [ "$(jq -r .statusCode <<<"$out")" = 200 ] || { echo "bench/deploy: $b: $out" >&2; exit 1; }
done
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$T/cold.json" \
    -n packaged "${INV[*]} $T/system-package/bootstrap" \
    -n build/bin "${INV[*]} $BUILD/bin/bootstrap" >"$T/hyperfine.out" 2>&1
ms() { jq -r --arg n "$1" '.results[] | select(.command == $n) | "\(.mean * 1000 | . * 100 | round / 100) ms +- \(.stddev * 1000 | . * 100 | round / 100)"' "$T/cold.json"; }
mean() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .mean' "$T/cold.json"; }
ratio=$(awk -v a="$(mean packaged)" -v b="$(mean build/bin)" 'BEGIN {printf "%.2f", a / b}')

{
    echo "bench/deploy, $(date -u +%Y-%m-%d), $(nproc) cores (shared), $(git -C "$SRC" rev-parse --short HEAD 2>/dev/null)"
    echo
    echo "| artifact | size | files |"
    echo "|---|---|---|"
    echo "| function.zip, PACKAGE_LIBS=system (relies on provided.al2023's libcurl, OpenSSL, zlib) | $(mb "$T/system.zip") | $(files "$T/system.zip") |"
    echo "| function.zip, PACKAGE_LIBS=bundle (relies on glibc only) | $(mb "$T/bundle.zip") | $(files "$T/bundle.zip") |"
    echo "| aws-lambda-cpp packager, without libc (its README) | 7.9 MB | - |"
    echo "| aws-lambda-cpp packager, with libc (its README) | 13.4 MB | - |"
    echo "| nearjs-edge tarball (relies on AL2023's glibc, OpenSSL, zlib) | $(mb "$T/edge.tar.gz") | $(tar -tzf "$T/edge.tar.gz" | grep -vc '/$') |"
    echo
    echo "cold start under nearjs-local invoke (spawn, init, one GET /acme/main.js from the demo folder store, exit),"
    echo "hyperfine -N, $RUNS runs after 5 warmups:"
    echo "| bootstrap | mean |"
    echo "|---|---|"
    echo "| packaged (the zip unzipped: bootstrap stripped, DT_RPATH \$ORIGIN/lib, lib/libjansson.so.4) | $(ms packaged) |"
    echo "| build/bin/bootstrap | $(ms build/bin) |"
    echo "| ratio packaged / build/bin | $ratio |"
    echo
    "$HERE/deploy_time.sh" "$T/system.zip"
} | tee "$RESULTS/deploy.txt"
