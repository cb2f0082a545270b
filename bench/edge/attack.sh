#!/usr/bin/env bash
# The edge under the loads of issue 10, against the real gateway (nearjs-local start-api --domain, 4 warm
# runtimes of the function's bootstrap on the demo store), over loopback TLS:
#   load   50 connections x 100 streams for 10 s (h2load), straight to the gateway and through the edge
#          (2 threads, connect timeout 1 s): req/s, failures, DOWN transitions, edge log lines.
#   reset  ordinary clients' latency (h2load, 4 connections, one request at a time, 10 s), alone and while
#          4 rapid-reset attackers (tests/edge/h2_attack.py, reconnecting after each GOAWAY) run; the edge and
#          the ordinary client are pinned on CPU 0, the attackers on CPU 1, so the attackers' own CPU (Python)
#          does not count against the edge. The load phase pins nothing.
# Usage: bench/edge/attack.sh [BUILD_DIR]   BEFORE=/path/to/old/nearjs-edge adds the old binary to each run.
# Needs h2load (nghttp2-client), python3-h2, taskset. The machine is shared: compare within one run only.
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$(realpath "${1:-$ROOT/build}")/bin
. "$ROOT/tests/edge/lib.sh"
"$ROOT/scripts/ensure-packages.sh" bench/edge nghttp2-client python3-h2 util-linux || exit 1
edge_test_begin edge-attack-bench
make_ca bench-ca
GW=us-east-1-fast.example.com
mkcert gw1 $GW
mkcert edge fast.example.com
printf '{"Parameters": {"NEARJS_STORE": "file://%s"}}\n' "$ROOT/function/demo" >env.json
setsid "$B/nearjs-local" start-api --port 0 --workers 4 --quiet --domain $GW --cert gw1.pem --key gw1.key \
    --env-vars env.json "$B/bootstrap" 2>gw.err >/dev/null &
GROUPS_STARTED+=($!)
for _ in $(seq 100); do grep -q warm gw.err && break; sleep 0.1; done
GP=$(grep -o 'listening on https://[^ ]*:[0-9]*' gw.err | grep -o '[0-9]*$')
[ -n "$GP" ] || { echo "attack bench: the gateway did not start"; cat gw.err; exit 1; }
EDGES=("$B/nearjs-edge")
[ -n "${BEFORE:-}" ] && EDGES+=("$(realpath "$BEFORE")")

start_edge() { # binary connect_ms [taskset -c N]: sets L, EPID
    L=$(free_port)
    cat >e.yaml <<YAML
threads: 2
timeouts: {connect: $2, first_byte: 10000, header: 5000, idle: 5000}
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - cert: $T/edge.pem
        key: $T/edge.key
upstreams:
  - url: https://$GW
    connect_to: 127.0.0.1:$GP
    ca: $T/ca.pem
    health: {path: /acme/widget.js, interval: 2000, rise: 2, fall: 3}
YAML
    "${@:3}" "$1" -c e.yaml >e.out 2>e.err &
    EPID=$!
    PIDS+=($EPID)
    sleep 1
}
load() { # name port
    h2load -D 10 -c 50 -m 100 --connect-to=127.0.0.1:$2 "https://$1:$2/acme/widget.js" 2>&1 |
        awk '/^finished/{rps=$4} /^status codes/{ok=$3; bad=$9} END{printf "%s req/s, %s 2xx, %s 5xx", rps, ok, bad}'
}
pct() { sort -n -k3 "$1" | awk '{a[NR]=$3} END{printf "n=%d p50=%.2f ms p99=%.2f ms", NR, a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000}'; }

echo "== load: 50 connections x 100 streams, 10 s"
echo "direct to the gateway: $(load $GW "$GP")"
for e in "${EDGES[@]}"; do
    start_edge "$e" 1000
    r=$(load fast.example.com "$L")
    echo "through $e: $r; DOWN transitions $(grep -c 'is now DOWN' e.err); edge log lines $(wc -l <e.err)"
    kill "$EPID"; wait "$EPID" 2>/dev/null
done

echo "== reset: ordinary clients alone and under 4 rapid-reset attackers"
attacker() { # port id
    local total=0 conns=0 n
    while [ ! -f stop ]; do
        n=$(taskset -c 1 /usr/bin/python3 "$ROOT/tests/edge/h2_attack.py" "$1" fast.example.com "$T/ca.pem" reset 100000 2>/dev/null | awk '{print $2}')
        total=$((total + ${n:-0}))
        conns=$((conns + 1))
    done
    echo "$total $conns" >"count.$2"
}
for e in "${EDGES[@]}"; do
    start_edge "$e" 3000 taskset -c 0
    rm -f stop count.* alone.log attacked.log
    taskset -c 0 h2load -D 10 -c 4 -m 1 --connect-to=127.0.0.1:$L --log-file=alone.log "https://fast.example.com:$L/acme/widget.js" >/dev/null 2>&1
    t0=$(awk '{print $14 + $15}' "/proc/$EPID/stat")
    apids=()
    for i in 1 2 3 4; do attacker "$L" $i & apids+=($!); done
    sleep 1
    taskset -c 0 h2load -D 10 -c 4 -m 1 --connect-to=127.0.0.1:$L --log-file=attacked.log "https://fast.example.com:$L/acme/widget.js" >/dev/null 2>&1
    touch stop
    wait "${apids[@]}"
    t1=$(awk '{print $14 + $15}' "/proc/$EPID/stat")
    echo "$e: alone $(pct alone.log); attacked $(pct attacked.log);" \
        "$(cat count.* | awk '{r += $1; c += $2} END{print r " resets over " c " connections"}'); edge CPU $((t1 - t0)) ticks"
    kill "$EPID"; wait "$EPID" 2>/dev/null
done
