#!/usr/bin/env bash
# bench/local: nearjs-local start-api with echo-bootstrap and 2 warm workers, loopback only, bounded
# (~40 s). Measures keep-alive requests/s and p50/p99 (wrk over HTTP/1.1, h2load over h2c), the latency
# of one request at a time (to compare with the bootstrap's Runtime API loop alone, bench/runtime), and
# the time from launching start-api to its first answered request.
# Usage: bench/local/run.sh BUILD_DIR   (knobs: DURATION=5 CONNS=16 LAUNCHES=10)
set -euo pipefail

BUILD=${1:?usage: bench/local/run.sh BUILD_DIR}
BUILD=$(cd "$BUILD" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=$HERE/../results
DURATION=${DURATION:-5}
CONNS=${CONNS:-16}
LAUNCHES=${LAUNCHES:-10}
BIN=$BUILD/bin/nearjs-local
FN=$BUILD/bin/echo-bootstrap
mkdir -p "$RESULTS"
for f in "$BIN" "$FN"; do
    [ -x "$f" ] || { echo "bench/local: $f is not built (make build)" >&2; exit 2; }
done

# the load generators come from Debian; installed only when missing
"$HERE/../../scripts/ensure-packages.sh" bench/local wrk nghttp2-client || exit 2

PID=
ERR=$(mktemp)
cleanup() {
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -f "$ERR"
}
trap cleanup EXIT

# start ARGS...: start-api on a free port, waits until both workers are warm; sets PORT
start() {
    "$BIN" start-api --port 0 --workers 2 "$@" "$FN" 2>"$ERR" >/dev/null &
    PID=$!
    for _ in $(seq 1 200); do
        if grep -q 'warm .* after start' "$ERR"; then
            PORT=$(grep -o 'listening on http://[^ ]*:[0-9]*' "$ERR" | grep -o '[0-9]*$')
            return 0
        fi
        sleep 0.02
    done
    echo "bench/local: start-api did not come up:" >&2
    cat "$ERR" >&2
    exit 1
}
stop() {
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

# wrk_line LABEL ARGS...: one table row from wrk --latency
wrk_line() {
    local label=$1
    shift
    local out
    out=$(wrk --latency "$@")
    local rps p50 p99 errs
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errs=$(grep -E 'Non-2xx|Socket errors' <<<"$out" | tr '\n' ' ' || true)
    printf '| %s | %s | %s | %s | %s |\n' "$label" "$rps" "$p50" "$p99" "${errs:-none}"
}

url() { echo "http://127.0.0.1:$PORT/bench?x=1"; }

{
    echo "# bench/local on $(date -u +%Y-%m-%d) ($(nproc) cores; $(git -C "$HERE" rev-parse --short HEAD 2>/dev/null || echo '?'))"
    echo
    echo "| load | requests/s | p50 | p99 | errors |"
    echo "|---|---|---|---|---|"
    start --quiet
    wrk -t1 -c2 -d1s "$(url)" >/dev/null # warm-up
    wrk_line "HTTP/1.1 keep-alive, $CONNS conns, 2 threads (--quiet)" -t2 -c"$CONNS" -d"${DURATION}s" "$(url)"
    wrk_line "HTTP/1.1 keep-alive, 1 conn (one at a time, --quiet)" -t1 -c1 -d"${DURATION}s" "$(url)"
    h2=$(h2load -c4 -m4 -D "$DURATION" "$(url)" 2>&1)
    h2rps=$(awk '/^finished in/ {print $(NF-2)}' <<<"$h2" | tr -d ',')
    h2mean=$(awk '/^time for request:/ {print $6}' <<<"$h2")
    h2max=$(awk '/^time for request:/ {print $5}' <<<"$h2")
    h2err=$(awk '/^requests:/ {print $10 " failed, " $12 " errored"}' <<<"$h2")
    printf '| h2c (h2load, 4 conns x 4 streams, --quiet) | %s | mean %s | max %s | %s |\n' "$h2rps" "$h2mean" "$h2max" "$h2err"
    stop
    start
    wrk_line "HTTP/1.1 keep-alive, $CONNS conns, START/END/REPORT lines on" -t2 -c"$CONNS" -d"${DURATION}s" "$(url)"
    stop
    echo
    echo "Launch to first answered request ($LAUNCHES launches, ms):"
    python3 - "$BIN" "$FN" "$LAUNCHES" <<'PY'
import socket, subprocess, sys, time
binary, fn, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p
req = b"GET /first HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
times = []
for _ in range(n):
    port = free_port()
    t0 = time.monotonic()
    p = subprocess.Popen([binary, "start-api", "--quiet", "--workers", "2", "--port", str(port), fn],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            if time.monotonic() - t0 > 5:
                raise SystemExit("no answer within 5 s")
            try:
                s = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                time.sleep(0.0005)
                continue
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            s.close()
            if data.startswith(b"HTTP/1.1 200"):
                times.append((time.monotonic() - t0) * 1000)
                break
            time.sleep(0.0005)
    finally:
        p.terminate(); p.wait()
times.sort()
print("  median %.1f, min %.1f, max %.1f (goal < 50)" % (times[len(times) // 2], times[0], times[-1]))
PY
} | tee "$RESULTS/local.txt"
