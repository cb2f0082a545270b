#!/usr/bin/env bash
# The runtime benchmark: Lambda runtime clients side by side against one Runtime API server (driver.c).
# Usage: bench/runtime/run.sh [BUILD_DIR]   (default: build)
# Installs what it needs (idempotent, says what), builds the driver and the floor client into
# bench/results/, runs every client in one driver run, prints the table and writes it to
# bench/results/runtime.txt. Loopback only. Exit: 0 all measured clients OK, 1 a client FAILED,
# 2 set-up failed. Knobs (environment): COLD_RUNS (20), WARMUP (100), INVOCATIONS (5000), ROUNDS (5).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
results="$root/bench/results"
node_dir="$here/node"
mkdir -p "$results"

say() { echo "bench/runtime: $*"; }

# ---- dependencies: compilers for the driver, and what aws-lambda-ric's native build needs ----
"$root/scripts/ensure-packages.sh" bench/runtime gcc g++ make cmake autoconf automake libtool python3 nodejs npm || exit 2
for tool in node npm npx taskset; do
    command -v "$tool" >/dev/null || { say "'$tool' not found: install Node.js 20 (nodejs, npm) and util-linux"; exit 2; }
done

# ---- the Node.js runtime interface client (aws-lambda-ric ^3, pinned by package-lock.json) ----
# Reinstalled when the lock file's content or node's version changes (the addon is built for one ABI).
addon="$node_dir/node_modules/aws-lambda-ric/dist/rapid-client.node"
stamp="$node_dir/node_modules/.nearjs-stamp"
want_stamp="$(sha256sum <"$node_dir/package-lock.json" | cut -d' ' -f1) node $(node --version)"
if [ ! -f "$addon" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want_stamp" ]; then
    say "npm ci in bench/runtime/node (aws-lambda-ric builds curl and aws-lambda-cpp from source: ~2 min) ..."
    t0=$(date +%s)
    if ! (cd "$node_dir" && npm ci --no-audit --no-fund --foreground-scripts) >"$results/npm-install.log" 2>&1; then
        tail -30 "$results/npm-install.log"
        say "npm ci failed (full log: bench/results/npm-install.log)"
        exit 2
    fi
    echo "$want_stamp" >"$stamp"
    say "npm ci took $(($(date +%s) - t0)) s"
else
    say "aws-lambda-ric $(node -p "require('$node_dir/node_modules/aws-lambda-ric/package.json').version") already installed"
fi
ric_bin=$(node -p "const p=require('$node_dir/node_modules/aws-lambda-ric/package.json'); typeof p.bin==='string'?p.bin:p.bin['aws-lambda-ric']")
ric_bin="$node_dir/node_modules/aws-lambda-ric/$ric_bin"

# ---- build ----
cflags=(-O2 -std=gnu11 -Wall -Wextra -Werror)
cc "${cflags[@]}" -o "$results/runtime-driver" "$here/driver.c" "$here/http_req.c"
cc "${cflags[@]}" -o "$results/floor_client" "$here/floor_client.c"

# ---- clients: NAME|TASK_ROOT|COMMAND (split on spaces) ----
clients=(-c "floor|$results|$results/floor_client")
skipped=()
echo_bin="$build/bin/echo-bootstrap"
if [ -x "$echo_bin" ]; then
    clients+=(-c "echo-bootstrap|$(dirname "$echo_bin")|$echo_bin")
else
    say "skip: echo-bootstrap: $echo_bin not found (build runtime/ first: make build)"
    skipped+=(echo-bootstrap)
fi
clients+=(-c "node-ric-direct|$node_dir|node $ric_bin index.handler")
clients+=(-c "node-ric-npx|$node_dir|npx aws-lambda-ric index.handler")

# ---- run ----
if [ "$(nproc)" -ge 2 ]; then
    cpu_s=0 cpu_c=1
    pin="driver pinned to cpu 0, each client (and its children) to cpu 1 (sched_setaffinity, as taskset)"
else
    cpu_s=-1 cpu_c=-1
    pin="one cpu: nothing pinned"
fi
cold=${COLD_RUNS:-20} warm=${WARMUP:-100} inv=${INVOCATIONS:-5000} rounds=${ROUNDS:-5}
rm -f "$results"/runtime-*.log
say "$pin; per client, interleaved: $cold cold starts (+1 priming), then $rounds rounds of $warm warm-up + $inv invocations of a ~230-byte JSON event"
rc=0
"$results/runtime-driver" -k "$cold" -w "$warm" -n "$inv" -r "$rounds" -s "$cpu_s" -C "$cpu_c" -l "$results" "${clients[@]}" \
    >"$results/runtime-raw.txt" || rc=$?
[ "$rc" -le 1 ] || { say "driver failed (exit $rc)"; exit 2; }

{
    echo "# bench/runtime on $(hostname), $(nproc) cpus, $(date -u +%Y-%m-%dT%H:%MZ); $pin"
    echo "# node $(node --version), aws-lambda-ric $(node -p "require('$node_dir/node_modules/aws-lambda-ric/package.json').version"); cold = spawn -> first GET /next, median/p90 of $cold; inv/s = median of $rounds rounds of $inv sequential invocations; latency (p50/p99 over all rounds) = /next answer sent -> /response received; RSS = max ru_maxrss over the client's process tree"
    awk -v skipped="${skipped[*]}" '
    function kv(line, key,   m) { return match(line, " " key "=[^ ]*") ? substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2) : "" }
    {
        sub(/^client=/, " client=")
        n++; name[n] = kv($0, "client"); st[n] = kv($0, "status")
        cm[n] = kv($0, "cold_median_ms"); cp[n] = kv($0, "cold_p90_ms"); ips[n] = kv($0, "invps")
        p50[n] = kv($0, "p50_us"); p99[n] = kv($0, "p99_us"); rss[n] = kv($0, "peak_rss_mb")
        why[n] = match($0, /why="[^"]*"/) ? substr($0, RSTART + 5, RLENGTH - 6) : ""
        if (name[n] == "floor" && st[n] == "OK") floor = ips[n]
    }
    END {
        fmt = "%-16s | %14s | %11s | %7s | %7s | %7s | %11s | %22s | %s\n"
        printf fmt, "client", "cold median ms", "cold p90 ms", "inv/s", "p50 us", "p99 us", "peak RSS MB", "ratio vs floor (inv/s)", "status"
        for (i = 1; i <= n; i++) {
            r = (floor > 0 && ips[i] > 0) ? sprintf("%.2f", ips[i] / floor) : "-"
            printf fmt, name[i], cm[i], cp[i], ips[i], p50[i], p99[i], rss[i], r, st[i] (why[i] != "" ? " (" why[i] ")" : "")
        }
        m = split(skipped, s, " ")
        for (i = 1; i <= m; i++) printf fmt, s[i], "-", "-", "-", "-", "-", "-", "-", "skipped (not built)"
    }' "$results/runtime-raw.txt"
} | tee "$results/runtime.txt"
say "table in bench/results/runtime.txt, raw lines in runtime-raw.txt, client output in runtime-<client>.log"
exit "$rc"
