#!/usr/bin/env bash
# bench/e2e: the whole chain, edge -> gateway -> function, against the same request sent straight to the
# gateway, so the edge's added latency is a measured number; then with a 20 ms link between the proxy and
# the gateway (delay_relay.py holds every answer back 20 ms, a round trip: this kernel has no netem), the
# seed's haproxy config (`option httpclose`: a new TLS connection to the gateway per request) against
# nearjs-edge (kept connections), in milliseconds a visitor waits.
# The gateway is `nearjs-local start-api --domain` (TLS, 2 warm runtimes) over build/bin/bootstrap and a copy
# of the demo store; the client is h2load (HTTP/1.1 keep-alive, TLS), requests for /acme/main.js.
# Loopback: 1 connection (sequential requests: latency) and 8 connections (req/s), p50/p99 from h2load's
# per-request log, after a warm-up. The edge's /metrics shows how many upstream TLS handshakes the measured
# requests waited on (nearjs_edge_upstream_handshakes_total before and after).
# Issue 20: the same edge in front of a Lambda function URL instead (`start-api --function-url --iam`, TLS,
# AuthType AWS_IAM), signing each request (sign: {service: lambda, region: us-east-1}) with credentials from
# the IMDS double (scripts/imds_double.py): "edge -> function URL" against "edge -> gateway". Locally the two
# differ only in our own code (the edge's SigV4 signing and the emulator's verification against its SNI and
# Host checks); in AWS the function URL also saves API Gateway's own hop, which no local run can show.
# Usage: bench/e2e/run.sh [BUILD_DIR]   (default build). Installs haproxy and nghttp2-client (h2load) when
# missing. Knobs: N1 (sequential requests, 3000), N8 (requests over 8 connections, 20000), NSLOW (requests
# per proxy over the 20 ms link, 300), DELAY_MS (20). About a minute. Writes bench/results/e2e.txt.
# Exit: 0 ok, 1 a run failed, 2 set-up.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:-build}" && pwd) || exit 2
results=$root/bench/results
mkdir -p "$results"
N1=${N1:-3000}
N8=${N8:-20000}
NSLOW=${NSLOW:-300}
DELAY_MS=${DELAY_MS:-20}
say() { echo "bench/e2e: $*" >&2; }

"$root/scripts/ensure-packages.sh" bench/e2e haproxy nghttp2-client openssl python3 curl || exit 2
for f in nearjs-edge nearjs-local bootstrap; do
    [ -x "$build/bin/$f" ] || { say "$build/bin/$f is not built (make build)"; exit 2; }
done

. "$root/tests/edge/lib.sh" # scratch folder $T, cleanup of PIDS and GROUPS_STARTED, make_ca, mkcert, free_port
edge_test_begin nearjs-bench-e2e
GW=us-east-1-fast.example.test
PUB=fast.example.test
make_ca nearjs-bench-ca
mkcert gw $GW
mkcert edge $PUB
FURL=$(printf 'nearjs-bench' | sha256sum | cut -c1-32).lambda-url.us-east-1.on.aws
mkcert furl "*.lambda-url.us-east-1.on.aws"
cat edge.pem edge.key >edge.both.pem
cp -R "$root/function/demo" store
printf '{"Parameters": {"NEARJS_STORE": "file://%s/store"}}\n' "$T" >env.json

AWS_REGION=us-east-1 setsid "$build/bin/nearjs-local" start-api --port 0 --workers 2 --quiet --domain $GW \
    --cert gw.pem --key gw.key --env-vars env.json "$build/bin/bootstrap" >/dev/null 2>gw.err &
GROUPS_STARTED+=($!)
disown $!
GP=
for _ in $(seq 200); do
    grep -q 'warm .* after start' gw.err 2>/dev/null && GP=$(grep -o 'listening on https://[^ ]*:[0-9]*' gw.err | grep -o '[0-9]*$') && break
    sleep 0.05
done
[ -n "$GP" ] || { say "the gateway did not start: $(cat gw.err)"; exit 2; }
# The function URL, with the edge role's key, and the IMDS double that hands it to the edge.
KEY=ASIABENCHEDGE0000001 SECRET=$(openssl rand -hex 20) TOKEN=$(openssl rand -hex 40)
IP=$(free_port)
python3 "$root/scripts/imds_double.py" --port "$IP" --role nearjs-edge-bench --key $KEY --secret "$SECRET" \
    --token "$TOKEN" >/dev/null 2>imds.err &
PIDS+=($!)
disown $!
AWS_REGION=us-east-1 setsid "$build/bin/nearjs-local" start-api --port 0 --workers 2 --quiet --function-url \
    --url-id "${FURL%%.*}" --iam "$KEY:$SECRET:$TOKEN" --cert furl.pem --key furl.key --env-vars env.json \
    "$build/bin/bootstrap" >/dev/null 2>furl.err &
GROUPS_STARTED+=($!)
disown $!
FP=
for _ in $(seq 200); do
    grep -q 'warm .* after start' furl.err 2>/dev/null && FP=$(grep -o 'listening on https://[^ ]*:[0-9]*' furl.err | grep -o '[0-9]*$') && break
    sleep 0.05
done
[ -n "$FP" ] || { say "the function URL did not start: $(cat furl.err)"; exit 2; }

# start_edge PORT ADMIN UPSTREAM_PORT: nearjs-edge, one line, one worker.
start_edge() {
    "$build/bin/nearjs-edge" --listen "127.0.0.1:$1" --cert edge.pem --key edge.key --upstream "https://$GW" \
        --connect-to "127.0.0.1:$3" --ca ca.pem --threads 1 --admin "127.0.0.1:$2" >/dev/null 2>"edge-$1.err" &
    PIDS+=($!)
    disown $!
    for _ in $(seq 100); do grep -q 'serving:' "edge-$1.err" 2>/dev/null && return 0; sleep 0.05; done
    say "nearjs-edge did not start: $(cat "edge-$1.err")"
    exit 2
}
# start_signing_edge PORT ADMIN: nearjs-edge, one worker, in front of the function URL, signing.
start_signing_edge() {
    cat >"edge-$1.yaml" <<EOF
threads: 1
listeners:
  - listen: 127.0.0.1:$1
    tls: [{cert: $T/edge.pem, key: $T/edge.key}]
  - listen: 127.0.0.1:$2
    admin: true
upstreams:
  - url: https://$FURL
    connect_to: 127.0.0.1:$FP
    ca: $T/ca.pem
    sign: {service: lambda, region: us-east-1}
EOF
    NEARJS_EDGE_IMDS=http://127.0.0.1:$IP "$build/bin/nearjs-edge" -c "edge-$1.yaml" >/dev/null 2>"edge-$1.err" &
    PIDS+=($!)
    disown $!
    for _ in $(seq 100); do
        [ "$(curl -s -o /dev/null -w '%{http_code}' --cacert ca.pem --resolve "$PUB:$1:127.0.0.1" "https://$PUB:$1/acme/main.js")" = 200 ] &&
            return 0
        sleep 0.05
    done
    say "the signing nearjs-edge did not serve: $(cat "edge-$1.err")"
    exit 2
}
# start_haproxy_seed PORT UPSTREAM_PORT: the seed's config: TLS in, `option httpclose`, TLS to the gateway
# with SNI and Host set to its name and its certificate verified.
start_haproxy_seed() {
    cat >"haproxy-$1.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend https
    bind 127.0.0.1:$1 ssl crt $T/edge.both.pem
    option forwardfor
    default_backend api_gateway
backend api_gateway
    option httpclose
    http-request replace-value Host .* $GW
    server apig1 127.0.0.1:$2 ssl sni str($GW) verify required ca-file $T/ca.pem verifyhost $GW
EOF
    haproxy -db -f "haproxy-$1.cfg" >"haproxy-$1.out" 2>&1 &
    PIDS+=($!)
    disown $!
    for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
    say "haproxy did not start: $(cat "haproxy-$1.out")"
    exit 2
}
handshakes() { # admin port: the edge's upstream TLS handshakes made for requests so far
    curl -sS --max-time 5 "http://127.0.0.1:$1/metrics" | awk '/^nearjs_edge_upstream_handshakes_total/ {print $2}'
}

# run NAME HOST PORT CONNS REQUESTS: h2load over HTTP/1.1 keep-alive to https://HOST:PORT/acme/main.js
# (SNI and Host = HOST), connecting to 127.0.0.1:PORT. A warm-up of CONNS x 50 requests first. Appends
# "NAME conns requests failed req/s p50_ms p99_ms" to rows.txt.
run() {
    local name=$1 host=$2 port=$3 c=$4 n=$5 out ok rps p50 p99
    local url="https://$host:$port/acme/main.js"
    h2load --h1 -t1 -c"$c" -n $((c * 50)) --connect-to "127.0.0.1:$port" "$url" >/dev/null 2>&1
    [ -n "${ADMIN:-}" ] && HS0=$(handshakes "$ADMIN")
    rm -f "$T/lat.log" # h2load appends to its log
    out=$(h2load --h1 -t1 -c"$c" -n "$n" --connect-to "127.0.0.1:$port" --log-file "$T/lat.log" "$url" 2>&1)
    [ -n "${ADMIN:-}" ] && HS1=$(handshakes "$ADMIN")
    echo "== $name c=$c n=$n" >>raw.txt
    echo "$out" >>raw.txt
    ok=$(awk -F'\t' '$2 == 200' "$T/lat.log" | wc -l)
    rps=$(grep -o 'finished in [0-9.]*[a-z]*, [0-9.]* req/s' <<<"$out" | awk '{print $4}')
    read -r p50 p99 < <(awk -F'\t' '$2 == 200 {print $3}' "$T/lat.log" | sort -n |
        awk '{v[NR] = $1} END {if (NR) printf "%.3f %.3f\n", v[int(NR * 0.50 + 0.5)] / 1000, v[int(NR * 0.99 + 0.5)] / 1000}')
    printf '%-38s %5s %7s %7s %9s %9s %9s\n' "$name" "$c" "$n" "$((n - ok))" "${rps:-?}" "${p50:-?}" "${p99:-?}" | tee -a rows.txt >&2
    [ "$ok" -eq "$n" ]
}

failed=0
EP=$(free_port)
EA=$(free_port)
start_edge "$EP" "$EA" "$GP"
printf '%-38s %5s %7s %7s %9s %9s %9s\n' "path" "conns" "reqs" "failed" "req/s" "p50 ms" "p99 ms" | tee rows.txt >&2
ADMIN= run "gateway direct" $GW "$GP" 1 "$N1" || failed=1
ADMIN=$EA run "edge -> gateway" $PUB "$EP" 1 "$N1" || failed=1
seq_hs=$((HS1 - HS0))
ADMIN= run "gateway direct" $GW "$GP" 8 "$N8" || failed=1
ADMIN=$EA run "edge -> gateway" $PUB "$EP" 8 "$N8" || failed=1
par_hs=$((HS1 - HS0))
UP=$(free_port)
UA=$(free_port)
start_signing_edge "$UP" "$UA"
ADMIN=$UA run "edge -> function URL (signed)" $PUB "$UP" 1 "$N1" || failed=1
url_seq_hs=$((HS1 - HS0))
ADMIN=$UA run "edge -> function URL (signed)" $PUB "$UP" 8 "$N8" || failed=1
url_par_hs=$((HS1 - HS0))
url_refused=$(grep -c '403 AccessDeniedException' furl.err)

# The 20 ms link: a delaying relay in front of the gateway; each proxy reaches the gateway through it.
python3 "$root/tests/function/delay_relay.py" "$GP" "$DELAY_MS" >relay.port 2>relay.err &
PIDS+=($!)
disown $!
for _ in $(seq 100); do [ -s relay.port ] && break; sleep 0.05; done
RP=$(head -1 relay.port)
[ -n "$RP" ] || { say "delay_relay.py did not start: $(cat relay.err)"; exit 2; }
SP=$(free_port)
SA=$(free_port)
start_edge "$SP" "$SA" "$RP"
HP=$(free_port)
start_haproxy_seed "$HP" "$RP"
ADMIN= run "haproxy seed (httpclose), ${DELAY_MS} ms link" $PUB "$HP" 1 "$NSLOW" || failed=1
ADMIN=$SA run "nearjs-edge, ${DELAY_MS} ms link" $PUB "$SP" 1 "$NSLOW" || failed=1
slow_hs=$((HS1 - HS0))

# The edge's added latency at one request at a time: the two sequential rows' difference.
read -r d50 d99 < <(awk 'NR == 2 {a50 = $(NF - 1); a99 = $NF} NR == 3 {printf "%.3f %.3f\n", $(NF - 1) - a50, $NF - a99}' \
    <(grep -E '^(path|gateway direct|edge -> gateway) ' rows.txt | head -3))
{
    echo "bench/e2e, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores (shared: one run, compare within it)."
    echo "Client h2load --h1 (keep-alive, TLS), GET /acme/main.js (526 bytes), the function over a folder store."
    cat rows.txt
    echo "edge's added latency, 1 connection: p50 +$d50 ms, p99 +$d99 ms"
    echo "edge -> function URL against edge -> gateway (locally only our own code differs: signing and its check):"
    awk '/^edge -> (gateway|function URL)/ {c = $(NF - 5); k = ($3 == "gateway") ? "g" : "u"
            rps[k, c] = $(NF - 2); p50[k, c] = $(NF - 1); p99[k, c] = $NF}
        END {for (c = 1; c <= 8; c *= 8) if (("u", c) in p50)
            printf "  %d connection(s): p50 %+.3f ms, p99 %+.3f ms, req/s x%.2f\n", c, p50["u", c] - p50["g", c],
                p99["u", c] - p99["g", c], rps["u", c] / rps["g", c]}' rows.txt
    echo "upstream TLS handshakes the measured requests waited on (nearjs_edge_upstream_handshakes_total):"
    echo "  loopback, 1 connection: $seq_hs of $N1; 8 connections: $par_hs of $N8; ${DELAY_MS} ms link: $slow_hs of $NSLOW"
    echo "  to the function URL: 1 connection: $url_seq_hs of $N1; 8 connections: $url_par_hs of $N8"
    echo "the function URL's refusals of the edge's signed requests: $url_refused"
} | tee "$results/e2e.txt"
cp raw.txt "$results/e2e-raw.txt"
exit "$failed"
