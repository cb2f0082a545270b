#!/usr/bin/env bash
# bench/function: what the function costs, side by side in one run (see README.md):
#   1. handler CPU per request, in process (fn_bench.c linked with libnearjs-function): 2 KB / 100 KB /
#      100 KB config-heavy scripts, identity / gzip, warm / config changed / loader changed, folder
#      store and S3 store (moto); S3 requests per warm request counted from moto's request log; S3 warm
#      rows again through a relay adding RELAY_DELAY_MS (default 50) per answer: round trips per request;
#   2. cold start of build/bin/bootstrap (spawn -> first GET /next) with the folder and the S3 store,
#      through bench/runtime's driver, echo-bootstrap as the floor;
#   3. requests/s end to end through `nearjs-local start-api --workers 2` with wrk (a side number).
# Usage: bench/function/run.sh [BUILD_DIR]
# Knobs: WARM_N, CHANGED_N, COLD_RUNS, WRK_SECONDS, RELAY_DELAY_MS, RELAY_N.
# Results: bench/results/function.txt (table), function-raw.txt, function-*.log. Exit 0 or 1.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" && pwd)
results="$root/bench/results"
mkdir -p "$results"
raw="$results/function-raw.txt"
: >"$raw"

lib="$build/lib/libnearjs-function.a"
common_lib="$build/lib/libnearjs-common.a" # the capped buffer (cm_buf_t) the function is built on
for f in "$lib" "$build/bin/bootstrap" "$build/bin/nearjs-local"; do
    [ -e "$f" ] || { echo "bench/function: $f missing: build first (cmake --build $build)"; exit 1; }
done

# wrk (and a compiler) from Debian, only when missing.
"$root/scripts/ensure-packages.sh" bench/function wrk gcc || exit 2

work=$(mktemp -d /tmp/nearjs-bench-function.XXXXXX)
moto_pid=""
api_pid=""
relay_pid=""
cleanup() {
    # A killed child's wait returns 143: under set -e that would become the script's exit code.
    for pid in $api_pid $relay_pid $moto_pid; do
        kill "$pid" 2>/dev/null && { wait "$pid" 2>/dev/null || true; }
    done
    rm -rf "$work"
}
trap cleanup EXIT

cflags=(-O2 -std=gnu11 -Wall -Wextra -Werror)
cc "${cflags[@]}" -I"$root/function/include" -I"$root/common/include" -o "$results/function-bench" "$here/fn_bench.c" \
    "$lib" "$common_lib" \
    $(pkg-config --cflags --libs libcurl jansson libcrypto zlib) -ldl
cc "${cflags[@]}" -o "$results/function-driver" "$root/bench/runtime/driver.c" "$root/bench/runtime/http_req.c"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# moto for the S3 rows (skipped with a line when no python has it).
endpoint=""
if py=$("$root/scripts/find-aws-python.sh" 2>"$work/find-python.err"); then
    port=$(free_port)
    "$py" -m moto.server -H 127.0.0.1 -p "$port" >"$results/function-moto.log" 2>&1 &
    moto_pid=$!
    for _ in $(seq 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    endpoint="http://127.0.0.1:$port"
else
    echo "bench/function: no python with moto ($(cat "$work/find-python.err")): S3 rows skipped"
fi

echo "bench/function: handler CPU in process (~2 min)"
mkdir -p "$work/store"
args=(-d "$work/store" -n "${WARM_N:-2000}" -c "${CHANGED_N:-300}")
[ -n "$endpoint" ] && args+=(-e "$endpoint" -l "$results/function-moto.log")
# Signed requests, as in Lambda (moto accepts any key): the S3 rows include SigV4's cost.
AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_SESSION_TOKEN=bench \
    "$results/function-bench" "${args[@]}" | tee -a "$raw"

# Round trips of a warm S3 request: moto on loopback answers in ~3 ms of its own CPU (it serializes
# concurrent requests), so latency is added by a relay that holds every answer back RELAY_DELAY_MS:
# round trips = (wall through the relay - wall without it) / delay. 2 sequential GETs: ~2; concurrent: ~1.
delay_ms=${RELAY_DELAY_MS:-50}
if [ -n "$endpoint" ]; then
    echo "bench/function: S3 warm rows through a ${delay_ms} ms relay"
    "$py" "$root/tests/function/delay_relay.py" "${endpoint##*:}" "$delay_ms" >"$work/relay.port" &
    relay_pid=$!
    for _ in $(seq 100); do
        [ -s "$work/relay.port" ] && break
        sleep 0.1
    done
    for row in "s3 2k identity warm" "s3 100k gzip warm"; do
        AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_SESSION_TOKEN=bench \
            "$results/function-bench" -d "$work/store" -e "$endpoint" -r "http://127.0.0.1:$(cat "$work/relay.port")" \
            -l "$results/function-moto.log" -n "${RELAY_N:-40}" -o "$row" | grep -v '^#' | sed "s/^/relay $delay_ms /" |
            tee -a "$raw"
    done
fi

echo "bench/function: cold start, spawn -> first GET /next"
mkdir -p "$work/task"
ln -s "$root/function/demo" "$work/task/content"
cold=(-k "${COLD_RUNS:-20}" -w 10 -n 1000 -r 1 -l "$work")
# The driver checks that clients echo their event; the function answers it (a 400): status FAILED is
# expected for bootstrap rows, whose cold and RSS columns are what is read here.
"$results/function-driver" "${cold[@]}" -c "echo-bootstrap|$work/task|$build/bin/echo-bootstrap" \
    -c "bootstrap-folder|$work/task|$build/bin/bootstrap" | sed 's/^/cold /' | tee -a "$raw" || true
if [ -n "$endpoint" ]; then
    "$results/function-driver" "${cold[@]}" -e "NEARJS_STORE=s3://nearjs-bench/100k" -e "NEARJS_S3_ENDPOINT=$endpoint" \
        -e AWS_ACCESS_KEY_ID=bench -e AWS_SECRET_ACCESS_KEY=bench -c "bootstrap-s3|$work/task|$build/bin/bootstrap" | sed 's/^/cold /' | tee -a "$raw" || true
fi

echo "bench/function: end to end through nearjs-local start-api --workers 2 (wrk)"
api_port=$(free_port)
echo "{\"Parameters\":{\"NEARJS_STORE\":\"file://$work/store/100k\"}}" >"$work/env.json"
"$build/bin/nearjs-local" start-api -q --port "$api_port" --workers 2 --env-vars "$work/env.json" \
    "$build/bin/bootstrap" 2>"$results/function-start-api.log" &
api_pid=$!
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$api_port/bench/main.js" && break
    sleep 0.1
done
for enc in identity gzip; do
    hdr=()
    [ "$enc" = gzip ] && hdr=(-H "Accept-Encoding: gzip")
    out=$(wrk -t 2 -c 8 -d "${WRK_SECONDS:-5}s" "${hdr[@]}" "http://127.0.0.1:$api_port/bench/main.js")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    lat=$(awk '/Latency/ {print $2; exit}' <<<"$out")
    echo "wrk 100k $enc rps=$rps latency_avg=$lat" | tee -a "$raw"
done

# The table.
{
    echo "handler CPU per request (us; CLOCK_THREAD_CPUTIME_ID around fn_handler_handle)"
    printf '%-7s %-12s %-9s %-7s %10s %10s %8s %7s %10s %8s\n' store script enc state median p99 renders gzips wall_us s3_req
    grep -v '^#' "$raw" | grep -v '^cold \|^wrk \|^relay ' |
        awk '{printf "%-7s %-12s %-9s %-7s %10s %10s %8s %7s %10s %8s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10}'
    if grep -q '^relay ' "$raw"; then
        echo
        echo "S3 warm through a relay holding answers back (round trips = (wall - wall without relay) / delay)"
        printf '%-7s %-12s %-9s %9s %12s %12s %11s %8s\n' store script enc delay_ms wall_us direct_us round_trips s3_req
        # Relay lines: relay DELAY store script enc state median p99 renders gzips wall s3_req.
        grep -v '^#' "$raw" | awk '$1 != "relay" && $1 != "cold" && $1 != "wrk" { direct[$1" "$2" "$3" "$4] = $9 }
            $1 == "relay" { k = $3" "$4" "$5" "$6; d = direct[k]
                printf "%-7s %-12s %-9s %9s %12s %12s %11.2f %8s\n", $3, $4, $5, $2, $11, d, ($11 - d) / ($2 * 1000), $12 }'
    fi
    echo
    echo "cold start (spawn -> first GET /next, ms)"
    grep '^cold ' "$raw" | sed -E 's/.*client=([^ ]+).* cold_median_ms=([^ ]+) cold_p90_ms=([^ ]+).* peak_rss_mb=([^ ]+).*/\1 median \2 p90 \3 rss_mb \4/'
    echo
    grep '^wrk ' "$raw"
} | tee "$results/function.txt"
