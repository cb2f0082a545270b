#!/usr/bin/env bash
# The edge benchmark: nearjs-edge side by side with haproxy 2.6 (the seed's `option httpclose` config and
# a tuned keep-alive one with `http-reuse always`), nginx 1.22 and the h2o 2.2.5 server, all from Debian,
# in one run, on identical work: TLS termination (ECDSA P-256, TLS 1.3) + a TLS upstream with SNI and Host
# rewritten to the gateway's name and its certificate verified against a CA file. One shared upstream: h2o
# serving a 1 KiB static script over TLS as us-east-1-fast.example.com.
#
# Each proxy runs alone on CPU 0 with one worker (taskset); the load client and the upstream share CPU 1.
# On 2 cores the client saturates first, so the figure is the CPU time per request (user + system) of
# the proxy's threads and processes (/proc/PID/task/*/schedstat) before and after a run, divided by the
# requests answered 2xx.
# Modes: h1 keep-alive (h2load --h1, 16 connections), h2 (4 connections x 16 streams), a new TLS connection
# per request with a full handshake and with a resumed session (openssl s_time -new / -reuse, HTTP/1.0),
# and a fixed rate of 1000 req/s over 4 keep-alive connections (p50/p99 latency from h2load's log).
#
# Usage: bench/edge/run.sh [BUILD_DIR]   (default: build). Installs haproxy, nginx-light, h2o, nghttp2-client
# (h2load) and wrk from Debian when missing. Loopback only; about 4 minutes. Prints the table and writes it
# to bench/results/edge.txt (METRIC=instructions: edge-instructions.txt; raw output: bench/results/edge-raw.txt).
# All proxies run at once (each idle but the one measured); ROUNDS rounds interleave them and the round with
# the least CPU per request counts. Knobs: SECS (run length, 3), ROUNDS (3), RATE (fixed-rate req/s, 1000),
# MODES ("h1 h2 full resumed rate"), PROXIES ("nearjs-edge haproxy-seed haproxy-tuned nginx h2o"), BEFORE (a path
# to another nearjs-edge binary, run as the extra proxy "edge-before": before/after in one run), SIGN=1 (adds
# "edge-signed": the same nearjs-edge with its upstream under sign: {service: lambda, region: us-east-1}, every
# request SigV4-signed with credentials from a file, and a "signed/edge" column: the cost of signing).
# Quick keep-alive check: MODES=h1 PROXIES="nearjs-edge haproxy-tuned" BEFORE=/tmp/nearjs-edge.old bench/edge/run.sh
# Exit: 0 ok, 1 a proxy failed, 2 set-up.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$root/$build" ;; esac
results="$root/bench/results"
mkdir -p "$results"
SECS=${SECS:-3}
ROUNDS=${ROUNDS:-$([ "${METRIC:-cpu}" = instructions ] && echo 1 || echo 3)}
RATE=${RATE:-1000}
say() { echo "bench/edge: $*" >&2; }
# METRIC=instructions: every proxy runs under callgrind and the figure is user-space instructions per request,
# which no neighbour on a shared machine can disturb (CPU time here moves +-20% from run to run); the kernel's
# share (loopback TCP, epoll) is not in it. One round is enough; the fixed-rate mode means nothing there.
METRIC=${METRIC:-cpu}
[ "$METRIC" = instructions ] && MODES=${MODES:-h1 h2 full resumed}
# Every client offers TLS 1.3 suites in a browser's order (Chrome's and Firefox's: AES-128-GCM first), as
# h2load does by default; openssl s_time would put AES-256 first. Each server then picks by its own rule:
# nginx takes the client's first, haproxy and h2o their OpenSSL default order (AES-256 first), nearjs-edge
# its own (AES-128 first). So every proxy runs as it would behind real browsers.
BROWSER_TLS13=TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384

# ---- dependencies (idempotent) ----
pkgs=(haproxy nginx-light h2o nghttp2-client wrk openssl util-linux python3)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# nginx-light or full nginx: either one serves
if printf '%s\n' "${missing[@]}" | grep -qx nginx-light && command -v nginx >/dev/null; then
    mapfile -t missing < <(printf '%s\n' "${missing[@]}" | grep -vx nginx-light)
fi
if [ ${#missing[@]} -gt 0 ] && [ -n "${missing[0]}" ]; then
    say "installing ${missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq || say "apt-get update failed; trying with the package lists already here"
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || {
        say "apt-get install ${missing[*]} failed"; exit 2; }
else
    say "peers present: $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), $(h2o --version | head -1)"
fi
EDGE=$build/bin/nearjs-edge
[ -x "$EDGE" ] || { say "$EDGE not built (make)"; exit 2; }
for tool in h2load taskset openssl python3 unshare; do
    command -v "$tool" >/dev/null || { say "'$tool' not found"; exit 2; }
done
[ "$(nproc)" -ge 2 ] || { say "needs 2 cores (proxy on one, client and upstream on the other)"; exit 2; }

T=$(mktemp -d /tmp/bench-edge.XXXXXX)
VG=()
[ "$METRIC" = instructions ] && VG=(valgrind --tool=callgrind -q --callgrind-out-file="$T/cg.%p.out")
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
    sleep 0.2
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cd "$T" || exit 2

# ---- certificates: one CA, the gateway's name, the public name; ECDSA P-256 everywhere ----
GW=us-east-1-fast.example.com
PUB=fast.example.com
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=bench-ca 2>/dev/null
mkcert() { # file name
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$2" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
    cat "$1.pem" "$1.key" >"$1.both.pem" # haproxy's crt
}
mkcert gw $GW
mkcert edge $PUB
mkdir -p www
head -c 768 /dev/urandom | base64 -w 76 | sed 's/^/\/\/ /' >www/app.js # ~1 KiB script
BYTES=$(wc -c <www/app.js)
# h2o 2.2.5's proxy resolves the upstream's name itself (no connect-to): it alone runs in a mount
# namespace whose /etc/hosts maps the gateway's name to loopback
{ cat /etc/hosts; echo "127.0.0.1 $GW $PUB"; } >hosts

# ---- the upstream: h2o serving the script over TLS as the gateway, on CPU 1 ----
UP=$(free_port)
cat >upstream.conf <<EOF
num-threads: 1
user: $(id -un)
pid-file: $T/upstream.pid
error-log: $T/upstream.err
listen:
  host: 127.0.0.1
  port: $UP
  ssl:
    certificate-file: $T/gw.pem
    key-file: $T/gw.key
    minimum-version: TLSv1.2
    ocsp-update-interval: 0
hosts:
  "$GW:$UP":
    paths:
      /:
        file.dir: $T/www
EOF
taskset -c 1 h2o -c upstream.conf >upstream.out 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
    curl -sf --cacert ca.pem --resolve "$GW:$UP:127.0.0.1" "https://$GW:$UP/app.js" -o /dev/null && break
    sleep 0.1
done
curl -sf --cacert ca.pem --resolve "$GW:$UP:127.0.0.1" "https://$GW:$UP/app.js" -o /dev/null || {
    say "upstream h2o did not start"; cat upstream.out upstream.err; exit 2; }

# ---- the proxies: each a function writing its config and starting it on CPU 0; sets PROXY_PID ----
start_nearjs() { # port [binary]
    taskset -c 0 "${VG[@]}" "${2:-$EDGE}" --listen "127.0.0.1:$1" --cert edge.pem --key edge.key --upstream "https://$GW:$UP" \
        --connect-to "127.0.0.1:$UP" --ca ca.pem --threads 1 >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}
haproxy_conf() { # port tuned(0|1)
    cat <<EOF
global
    nbthread 1
    ssl-default-bind-options ssl-min-ver TLSv1.2
    ssl-default-server-options ssl-min-ver TLSv1.2
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout http-keep-alive 30s
frontend https
    bind 127.0.0.1:$1 ssl crt $T/edge.both.pem $([ "$2" = 1 ] && echo "alpn h2,http/1.1")
    http-request deny if !{ ssl_fc }
    option forwardfor
    default_backend api_gateway
backend api_gateway
$([ "$2" = 1 ] && echo "    http-reuse always" || echo "    option httpclose")
    http-request replace-value Host .* $GW:$UP
    server apig1 127.0.0.1:$UP ssl sni str($GW) verify required ca-file $T/ca.pem verifyhost $GW
EOF
}
# nearjs-edge signing every request (issue 20): the one-line mode has no sign:, so a YAML file, with the
# test-only credentials_file (the upstream here checks no signature; the cost measured is the edge's).
start_signed() { # port
    printf '{"AccessKeyId":"AKIABENCHEXAMPLE","SecretAccessKey":"bench/secret","Token":"%s","Expiration":"%s"}\n' \
        "$(head -c 700 /dev/urandom | base64 -w0)" "$(date -u -d '+1 day' +%Y-%m-%dT%H:%M:%SZ)" >creds.json
    cat >signed.yaml <<EOF
threads: 1
credentials_file: $T/creds.json
listeners:
  - listen: 127.0.0.1:$1
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
upstreams:
  - url: https://$GW:$UP
    connect_to: 127.0.0.1:$UP
    ca: $T/ca.pem
    sign: {service: lambda, region: us-east-1}
EOF
    taskset -c 0 "${VG[@]}" "$EDGE" -c signed.yaml >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}
start_haproxy_seed() {
    haproxy_conf "$1" 0 >haproxy.cfg
    taskset -c 0 "${VG[@]}" haproxy -db -f haproxy.cfg >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}
start_haproxy_tuned() {
    haproxy_conf "$1" 1 >haproxy.cfg
    taskset -c 0 "${VG[@]}" haproxy -db -f haproxy.cfg >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}
start_nginx() {
    mkdir -p nginx
    cat >nginx.conf <<EOF
worker_processes 1;
master_process off;
daemon off;
pid $T/nginx.pid;
error_log $T/nginx.err;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $T/nginx/body;
    proxy_temp_path $T/nginx/proxy;
    upstream api_gateway {
        server 127.0.0.1:$UP;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$1 ssl http2;
        ssl_certificate $T/edge.pem;
        ssl_certificate_key $T/edge.key;
        ssl_protocols TLSv1.2 TLSv1.3;
        keepalive_requests 100000;
        location / {
            proxy_pass https://api_gateway;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $GW:$UP;
            proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-Host \$http_host;
            proxy_ssl_server_name on;
            proxy_ssl_name $GW;
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate $T/ca.pem;
            proxy_ssl_session_reuse on;
        }
    }
}
EOF
    taskset -c 0 "${VG[@]}" nginx -p "$T/nginx" -c "$T/nginx.conf" >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}
start_h2o() {
    cat >h2o.conf <<EOF
num-threads: 1
user: $(id -un)
pid-file: $T/h2o.pid
error-log: $T/h2o.err
listen:
  host: 127.0.0.1
  port: $1
  ssl:
    certificate-file: $T/edge.pem
    key-file: $T/edge.key
    minimum-version: TLSv1.2
    ocsp-update-interval: 0
proxy.ssl.verify-peer: ON
proxy.ssl.cafile: $T/ca.pem
proxy.preserve-host: OFF
hosts:
  default:
    paths:
      /:
        proxy.reverse.url: https://$GW:$UP/
EOF
    taskset -c 0 unshare -m sh -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' sh "$T/hosts" "${VG[@]}" h2o -c "$T/h2o.conf" \
        >"proxy-$1.out" 2>&1 &
    PROXY_PID=$!
}

# cpu_ns PID: CPU time (ns, user + system) of every thread of PID and of its children (h2o's neverbleed
# process signs for it): the scheduler's sum_exec_runtime from /proc/*/task/*/schedstat. /proc/PID/stat's
# clock ticks (10 ms) were too coarse: a 4 s fixed-rate run is ~30 ticks, so the tick decided 3%.
cpu_ns() {
    local p
    for p in "$1" $(pgrep -P "$1"); do
        cat /proc/"$p"/task/*/schedstat 2>/dev/null
    done | awk '{ s += $1 } END { printf "%.0f\n", s }'
}

# cg_dump PID: dumps (and zeroes) the callgrind counters of PID and of its children under valgrind; echoes
# the instructions counted since their previous dump
cg_dump() {
    local p f total=0
    for p in "$1" $(pgrep -P "$1"); do
        callgrind_control -d "$p" >/dev/null 2>&1 || continue
        f=$(ls -t "$T/cg.$p.out."* 2>/dev/null | head -1)
        [ -n "$f" ] && total=$((total + $(awk '/^summary:/ {print $2; exit}' "$f")))
    done
    echo "$total"
}

# counter PID: what a run is measured in, read before and after it
counter() { if [ "$METRIC" = instructions ]; then cg_dump "$1"; else cpu_ns "$1"; fi; }

# run_client MODE PORT SECS: one client run on CPU 1; sets out (its output) and n (2xx answers)
run_client() {
    local mode=$1 port=$2 secs=$3
    local url="https://$PUB:$port/app.js"
    # h1 and h2 by duration, except for instructions: there a fixed count, so that every proxy carries the
    # connections' handshakes (16 in h1, 4 in h2) over the same number of requests
    local span=(-D "$secs")
    [ "$METRIC" = instructions ] && span=(-n $((secs * 1000)))
    case "$mode" in
    h1)
        out=$(taskset -c 1 h2load --h1 -t1 -c16 "${span[@]}" --connect-to "127.0.0.1:$port" "$url" 2>&1)
        n=$(grep -o '[0-9]* succeeded' <<<"$out" | cut -d' ' -f1)
        ;;
    h2)
        out=$(taskset -c 1 h2load -t1 -c4 -m16 "${span[@]}" --connect-to "127.0.0.1:$port" "$url" 2>&1)
        n=$(grep -o '[0-9]* succeeded' <<<"$out" | cut -d' ' -f1)
        grep -qi 'application protocol: h2' <<<"$out" || n=0 # no h2 offered: not an h1 run counted as h2
        ;;
    full | resumed)
        out=$(taskset -c 1 openssl s_time -connect "127.0.0.1:$port" "$([ "$mode" = full ] && echo -new || echo -reuse)" \
            -ciphersuites "$BROWSER_TLS13" -time "$secs" -www /app.js 2>&1)
        # the last "N connections in" line is the run asked for (-new or -reuse)
        n=$(grep -o '^[0-9]* connections in' <<<"$out" | tail -1 | cut -d' ' -f1)
        ;;
    rate)
        out=$(taskset -c 1 h2load --h1 -t1 -c4 --rps $((RATE / 4)) -D "$secs" --log-file "$T/lat.log" \
            --connect-to "127.0.0.1:$port" "$url" 2>&1)
        n=$(grep -o '[0-9]* succeeded' <<<"$out" | cut -d' ' -f1)
        ;;
    esac
}

# measure NAME MODE PORT: runs one mode's client on CPU 1; echoes "requests us_per_req [p50_ms p99_ms]"
measure() {
    local name=$1 mode=$2 port=$3 before after n out
    # the same load for a second first, uncounted, under valgrind: upstream connections opened, idle ones
    # expired meanwhile replaced (the proxies run slowly there, rounds are minutes apart)
    [ "$METRIC" = instructions ] && run_client "$mode" "$port" 1
    before=$(counter "$PROXY_PID")
    run_client "$mode" "$port" "$SECS"
    after=$(counter "$PROXY_PID")
    [ "$METRIC" = instructions ] && before=0 # a dump zeroes the counters: after is the run's count alone
    printf '%s\n' "=== $name $mode" "$out" >>"$results/edge-raw.txt"
    n=${n:-0}
    if [ "$n" -eq 0 ]; then
        echo "0 -"
        return
    fi
    local us
    us=$(awk -v a="$after" -v b="$before" -v n="$n" 'BEGIN { printf "%.1f", (a - b) / 1e3 / n }')
    if [ "$mode" = rate ]; then
        # h2load's log: start (us since epoch), status, microseconds to the end of the response
        read -r p50 p99 < <(awk -F'\t' '$2 ~ /^2/ {print $3}' "$T/lat.log" | sort -n |
            awk '{a[NR]=$1} END {if (NR==0) {print "- -"; exit} printf "%.2f %.2f\n", a[int(NR*0.5)+ (NR*0.5>int(NR*0.5))]/1000, a[int(NR*0.99)+(NR*0.99>int(NR*0.99))]/1000}')
        echo "$n $us $p50 $p99"
    else
        echo "$n $us"
    fi
}

read -ra PROXIES <<<"${PROXIES:-nearjs-edge haproxy-seed haproxy-tuned nginx h2o}"
read -ra MODES <<<"${MODES:-h1 h2 full resumed rate}"
[ -n "${BEFORE:-}" ] && PROXIES=(nearjs-edge edge-before "${PROXIES[@]:1}")
[ "${SIGN:-0}" = 1 ] && PROXIES=(nearjs-edge edge-signed "${PROXIES[@]:1}")
: >"$results/edge-raw.txt"
declare -A R PORT PID
failed=0
# all proxies up at once (an idle one costs nothing), so that rounds interleave them: a burst of noise from
# elsewhere on the machine then hits one run, and the minimum over rounds drops it
for p in "${PROXIES[@]}"; do
    port=$(free_port)
    case $p in
    nearjs-edge) start_nearjs "$port" ;;
    edge-before) start_nearjs "$port" "$BEFORE" ;;
    edge-signed) start_signed "$port" ;;
    haproxy-seed) start_haproxy_seed "$port" ;;
    haproxy-tuned) start_haproxy_tuned "$port" ;;
    nginx) start_nginx "$port" ;;
    h2o) start_h2o "$port" ;;
    esac
    PIDS+=("$PROXY_PID")
    ok=0
    for _ in $(seq $([ "$METRIC" = instructions ] && echo 300 || echo 50)); do
        if curl -sf --max-time 2 --cacert ca.pem --resolve "$PUB:$port:127.0.0.1" "https://$PUB:$port/app.js" -o check.js 2>/dev/null; then
            ok=1
            break
        fi
        sleep 0.1
    done
    if [ $ok = 0 ] || ! cmp -s check.js www/app.js; then
        say "$p: no correct answer through it; skipped"
        cat "proxy-$port.out" >&2
        failed=1
        kill -TERM "$PROXY_PID" 2>/dev/null
        continue
    fi
    PORT[$p]=$port
    PID[$p]=$PROXY_PID
    # warm-up: fills the upstream pools
    taskset -c 1 h2load --h1 -c4 -n 400 --connect-to "127.0.0.1:$port" "https://$PUB:$port/app.js" >/dev/null 2>&1
done
for round in $(seq "$ROUNDS"); do
    for m in "${MODES[@]}"; do
        for p in "${PROXIES[@]}"; do
            [ -n "${PORT[$p]:-}" ] || continue
            PROXY_PID=${PID[$p]}
            r=$(measure "$p" "$m" "${PORT[$p]}")
            say "round $round: $p $m: $r"
            # keep the round with the least CPU per request
            old=${R[$p,$m]:-}
            if [ -z "$old" ] || [ "$(cut -d' ' -f2 <<<"$old")" = - ] ||
                awk -v a="$(cut -d' ' -f2 <<<"$r")" -v b="$(cut -d' ' -f2 <<<"$old")" 'BEGIN { exit !(a != "-" && a + 0 < b + 0) }'; then
                R[$p,$m]=$r
            fi
        done
    done
done

# ---- the table: CPU us per request (lower is better); the ratio is nearjs-edge over the best peer ----
{
    if [ "$METRIC" = instructions ]; then
        echo "nearjs-edge vs peers: user-space instructions per request (thousands, callgrind; lower is better),"
        echo "proxy and children counted; kernel work (TCP, epoll) not included. Each proxy alone on one core,"
    else
        echo "nearjs-edge vs peers: proxy CPU time per request (us; lower is better), each proxy alone on one core,"
    fi
    echo "one worker; TLS 1.3 in, TLS upstream with SNI+Host rewrite and verification; ${BYTES}-byte script."
    if [ "$METRIC" = instructions ]; then
        echo "h1/h2: $((SECS * 1000)) requests after an uncounted warm-up; full/resumed: ${SECS} s of s_time. h2o: its worker only;"
        echo "its signatures run in its neverbleed process, which callgrind_control cannot dump (about 235 k more per full handshake)."
        echo "Run $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores,"
    else
        echo "Best of $ROUNDS interleaved rounds of ${SECS} s. rate: ${RATE} req/s over 4 keep-alive connections, p50/p99 in ms. Run $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores,"
    fi
    echo "$(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), $(h2o --version | head -1), $(openssl version | cut -d' ' -f1-2)."
    echo
    printf '%-16s' mode
    for p in "${PROXIES[@]}"; do printf '%15s' "$p"; done
    printf '%12s' "edge/best"
    [ -n "${PORT[edge-signed]:-}" ] && printf '%13s' "signed/edge"
    echo
    for m in "${MODES[@]}"; do
        printf '%-16s' "$m ($([ "$METRIC" = instructions ] && echo kIr || echo us)/req)"
        best=
        for p in "${PROXIES[@]}"; do
            v=$(cut -d' ' -f2 <<<"${R[$p,$m]:-0 -}")
            printf '%15s' "$v"
            if [ "$p" != nearjs-edge ] && [ "$p" != edge-before ] && [ "$p" != edge-signed ] && [ "$v" != - ]; then
                best=$(awk -v a="$v" -v b="${best:-}" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }')
            fi
        done
        e=$(cut -d' ' -f2 <<<"${R[nearjs-edge,$m]:-0 -}")
        if [ -n "$best" ] && [ "$e" != - ]; then
            printf '%12s' "$(awk -v e="$e" -v b="$best" 'BEGIN { printf "%.2fx", e / b }')"
        else
            printf '%12s' -
        fi
        sv=$(cut -d' ' -f2 <<<"${R[edge-signed,$m]:-0 -}")
        [ -n "${PORT[edge-signed]:-}" ] &&
            printf '%13s' "$(awk -v s="$sv" -v e="$e" 'BEGIN { if (s == "-" || e == "-" || e + 0 == 0) print "-"; else printf "%.2fx", s / e }')"
        echo
    done
    for q in $([ "$METRIC" = instructions ] || echo 3 4); do
        printf '%-16s' "rate p$([ $q = 3 ] && echo 50 || echo 99) (ms)"
        best=
        for p in "${PROXIES[@]}"; do
            v=$(cut -d' ' -f$q <<<"${R[$p,rate]:-0 - - -}")
            v=${v:--}
            printf '%15s' "$v"
            if [ "$p" != nearjs-edge ] && [ "$p" != edge-before ] && [ "$p" != edge-signed ] && [ "$v" != - ]; then
                best=$(awk -v a="$v" -v b="${best:-}" 'BEGIN { print (b == "" || a + 0 < b + 0) ? a : b }')
            fi
        done
        e=$(cut -d' ' -f$q <<<"${R[nearjs-edge,rate]:-0 - - -}")
        if [ -n "$best" ] && [ -n "$e" ] && [ "$e" != - ]; then
            printf '%12s\n' "$(awk -v e="$e" -v b="$best" 'BEGIN { printf "%.2fx", e / b }')"
        else
            printf '%12s\n' -
        fi
    done
    printf '%-16s' "requests"
    for p in "${PROXIES[@]}"; do
        s=0
        for m in "${MODES[@]}"; do s=$((s + $(cut -d' ' -f1 <<<"${R[$p,$m]:-0}"))); done
        printf '%15s' "$s"
    done
    echo
    echo
    echo "'-': mode not offered (the seed's haproxy config has no ALPN h2) or the proxy failed. Full and resumed:"
    echo "openssl s_time, one connection at a time, HTTP/1.0 GET per connection."
} | tee "$results/edge$([ "$METRIC" = instructions ] && echo -instructions).txt"
exit $failed
