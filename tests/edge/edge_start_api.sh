#!/usr/bin/env bash
# nearjs-edge against the real upstream: `nearjs-local start-api --domain`, which like API Gateway's
# custom domain answers 403 ForbiddenException unless SNI and Host are its name. Real TLS on both
# sides over loopback, a throwaway CA. Cases: the public name straight at the gateway is refused
# (403); through the edge it is 200 with SNI and Host rewritten, and the API Gateway event the function
# gets (echo-bootstrap returns it) shows the gateway's name, X-Forwarded-For and the path; the real
# function's JavaScript comes through byte-identical with its headers (ETag, Cache-Control, gzip
# passthrough, 304, HEAD, 404); HTTP/2 clients, multiplexed; the first region's gateway killed
# (SIGKILL, runtimes too) under continuous keep-alive load -> failover to the second with zero failed
# GETs. Every server it starts is stopped on exit, pass or fail; every wait is bounded.
# Usage: edge_start_api.sh NEARJS_EDGE NEARJS_LOCAL BOOTSTRAP ECHO_BOOTSTRAP DEMO_STORE_DIR
set -u
EDGE=$(realpath "$1")
LOCAL=$(realpath "$2")
FUNC=$(realpath "$3")
ECHO=$(realpath "$4")
STORE=$(realpath "$5")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
edge_test_begin edge-sa
make_ca edge-sa-ca
GW1=us-east-1-fast.example.com
GW2=us-west-2-fast.example.com
mkcert gw1 $GW1
mkcert gw2 $GW2
mkcert edge fast.example.com
printf '{"Parameters": {"NEARJS_STORE": "file://%s"}}\n' "$STORE" >env.json

# start_gateway TAG DOMAIN CERT BOOTSTRAP [ARGS...]: start-api --domain on a port the kernel picks, in a
# process group of its own; sets GW_PORT and GW_PGID once its runtimes are warm (10 s at most).
start_gateway() {
    local tag=$1 domain=$2 cert=$3 boot=$4
    shift 4
    setsid "$LOCAL" start-api --port 0 --workers 2 --quiet --domain "$domain" --cert "$cert.pem" --key "$cert.key" \
        "$@" "$boot" 2>"gw-$tag.err" >/dev/null &
    GW_PGID=$!
    GROUPS_STARTED+=("$GW_PGID")
    disown "$GW_PGID" # killed by group in cleanup; no "Killed" job notice
    GW_PORT=
    for _ in $(seq 200); do
        if grep -q 'warm .* after start' "gw-$tag.err" 2>/dev/null; then
            GW_PORT=$(grep -o 'listening on https://[^ ]*:[0-9]*' "gw-$tag.err" | grep -o '[0-9]*$')
            return 0
        fi
        kill -0 "$GW_PGID" 2>/dev/null || break
        sleep 0.05
    done
    echo "FAIL gateway $tag did not start:"
    cat "gw-$tag.err"
    exit 1
}

# start_edge NAME: nearjs-edge -c NAME.yaml, waits until it serves (5 s at most); sets EDGE_PID.
start_edge() {
    "$EDGE" -c "$1.yaml" >"$1.out" 2>"$1.err" &
    EDGE_PID=$!
    PIDS+=("$EDGE_PID")
    await_log "$EDGE_PID" "$1.err" 'serving:' "edge $1" 100
}

start_gateway echo $GW1 gw1 "$ECHO"
ECHO_PORT=$GW_PORT
start_gateway f1 $GW1 gw1 "$FUNC" --env-vars env.json
F1_PORT=$GW_PORT
F1_PGID=$GW_PGID
start_gateway f2 $GW2 gw2 "$FUNC" --env-vars env.json
F2_PORT=$GW_PORT

# --- the gateway itself, reached with the public name: refused, as API Gateway refuses it
D=(curl -sS --max-time 10 --cacert "$T/ca.pem")
check "direct, public name as SNI and Host -> 403" \
    "$("${D[@]}" -k --resolve "fast.example.com:$ECHO_PORT:127.0.0.1" -o direct.b -D direct.h -w '%{http_code}' "https://fast.example.com:$ECHO_PORT/acme/main.js")" 403
check "direct: x-amzn-errortype ForbiddenException" \
    "$(grep -i '^x-amzn-errortype:' direct.h | cut -d' ' -f2 | tr -d '\r')" ForbiddenException
check "direct: body {\"message\":\"Forbidden\"}" "$(jq -r .message direct.b)" Forbidden
check "direct, right SNI but public Host -> 403" \
    "$("${D[@]}" --resolve "$GW1:$ECHO_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' -H 'Host: fast.example.com' "https://$GW1:$ECHO_PORT/")" 403
check "direct, gateway's name -> 200" \
    "$("${D[@]}" --resolve "$GW1:$ECHO_PORT:127.0.0.1" -o /dev/null -w '%{http_code}' "https://$GW1:$ECHO_PORT/")" 200

# --- through the edge: echo-bootstrap shows the API Gateway event that reached the function
L=$(free_port)
A=$(free_port)
cat >echo.yaml <<YAML
threads: 2
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://$GW1:$ECHO_PORT
    connect_to: 127.0.0.1:$ECHO_PORT
    ca: $T/ca.pem
YAML
start_edge echo
ECHO_EDGE=$EDGE_PID
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
URL="https://fast.example.com:$L"
code=$("${C[@]}" -o ev.json -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.7' "$URL/acme/main.js?v=2&x=%20y")
check "edge -> start-api: 200 (SNI and Host rewritten)" "$code" 200
check "event: requestContext.domainName is the gateway's" "$(jq -r .requestContext.domainName ev.json)" $GW1
check "event: host header is the gateway's" "$(jq -r .headers.host ev.json)" "$GW1:$ECHO_PORT"
check "event: X-Forwarded-For visitor, edge" "$(jq -r '.headers["x-forwarded-for"]' ev.json | cut -d, -f1-2)" "203.0.113.7, 127.0.0.1"
check "event: X-Forwarded-Proto" "$(jq -r '.headers["x-forwarded-proto"]' ev.json)" https
check "event: rawPath" "$(jq -r .rawPath ev.json)" /acme/main.js
check "event: rawQueryString" "$(jq -r .rawQueryString ev.json)" "v=2&x=%20y"
check "event: method" "$(jq -r .requestContext.http.method ev.json)" GET
code=$("${C[@]}" -o ev2.json -w '%{http_code}' "$URL/p")
check "event: XFF without a visitor header is the visitor's address" \
    "$(jq -r '.headers["x-forwarded-for"]' ev2.json | cut -d, -f1)" 127.0.0.1
check "HTTP/2 client -> HTTP/1.1 upstream: event" \
    "$("${C[@]}" --http2 -w ' %{http_version}' "$URL/h2" | sed 's/^\(.*\) \([0-9.]*\)$/\2 \1/' | { read -r v j; echo "$v $(jq -r .requestContext.domainName <<<"$j")"; })" "2 $GW1"
check "POST body reaches the event" \
    "$("${C[@]}" -d 'a=1&b=2' "$URL/post" | jq -r 'if .isBase64Encoded then (.body|@base64d) else .body end')" "a=1&b=2"
kill -TERM "$ECHO_EDGE"
wait "$ECHO_EDGE" 2>/dev/null
check "edge exits 0 on SIGTERM" "$?" 0

# --- the real function through the edge; two regions for failover
L=$(free_port)
A=$(free_port)
cat >fn.yaml <<YAML
threads: 2
timeouts: {connect: 1000, first_byte: 3000}
access_log: {path: $T/access.log, format: json}
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://$GW1:$F1_PORT
    connect_to: 127.0.0.1:$F1_PORT
    ca: $T/ca.pem
    health: {path: /acme/main.js, interval: 200, rise: 2, fall: 1}
  - url: https://$GW2:$F2_PORT
    connect_to: 127.0.0.1:$F2_PORT
    ca: $T/ca.pem
    health: {path: /acme/main.js, interval: 200, rise: 2, fall: 1}
YAML
start_edge fn
FN_EDGE=$EDGE_PID
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
URL="https://fast.example.com:$L"
G=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "$GW1:$F1_PORT:127.0.0.1")
GURL="https://$GW1:$F1_PORT"
# hdr FILE NAME: a response header's value (first one, case-insensitive)
hdr() { grep -i "^$2:" "$1" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
for enc in identity gzip; do
    "${G[@]}" -H "Accept-Encoding: $enc" -D g.$enc.h -o g.$enc.b "$GURL/acme/main.js"
    code=$("${C[@]}" -H "Accept-Encoding: $enc" -D e.$enc.h -o e.$enc.b -w '%{http_code}' "$URL/acme/main.js")
    check "function via edge ($enc): 200" "$code" 200
    check "function via edge ($enc): body byte-identical ($(wc -c <g.$enc.b) bytes)" "$(cmp -s g.$enc.b e.$enc.b && echo same)" same
    for h in etag cache-control content-type content-encoding vary access-control-allow-origin x-content-type-options; do
        check "function via edge ($enc): $h" "$(hdr e.$enc.h $h)" "$(hdr g.$enc.h $h)"
    done
done
check "gzip passthrough: Content-Encoding" "$(hdr e.gzip.h content-encoding)" gzip
check "gzip passthrough: ETag is the gzip one" "$(hdr e.gzip.h etag | grep -c -- '-gz"$')" 1
check "gzip passthrough: decodes to the script" "$(gunzip -c e.gzip.b | cmp -s - g.identity.b && echo same)" same
check "Cache-Control: no-cache" "$(hdr e.identity.h cache-control)" no-cache
etag=$(hdr e.identity.h etag)
check "If-None-Match via edge -> 304" "$("${C[@]}" -o /dev/null -D nm.h -w '%{http_code}' -H "If-None-Match: $etag" "$URL/acme/main.js")" 304
# a browser applies the 304's type to its cached copy: it must be the script's, not a gateway default
check "304 via edge: the 200's Content-Type" "$(hdr nm.h content-type)" "$(hdr e.identity.h content-type)"
check "304 via edge: one Server, the edge's" "$(grep -i '^server:' nm.h | tr -d '\r' | tr 'A-Z\n' 'a-z ')" "server: nearjs-edge "
check "200 via edge: one Server, the edge's" "$(grep -i '^server:' e.gzip.h | tr -d '\r' | tr 'A-Z\n' 'a-z ')" "server: nearjs-edge "
"${C[@]}" --http1.1 -o /dev/null -D post.h -d x "$URL/acme/main.js"
check "POST via edge: 405 with its reason phrase" "$(head -1 post.h | tr -d '\r')" "HTTP/1.1 405 Method Not Allowed"
check "HEAD via edge: 200, no body, same ETag" \
    "$("${C[@]}" -I -o head.h -w '%{http_code} %{size_download}' "$URL/acme/main.js") $(hdr head.h etag)" "200 0 $etag"
check "missing script via edge -> 404" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/acme/nope.js")" 404
check "HTTP/2 client: 200, byte-identical" \
    "$("${C[@]}" --http2 -H 'Accept-Encoding: gzip' -o h2.b -w '%{http_version} %{http_code}' "$URL/acme/main.js") $(cmp -s h2.b g.gzip.b && echo same)" "2 200 same"
# 40 streams multiplexed on one HTTP/2 connection
args=()
for i in $(seq 40); do args+=(-o "m$i.b" "$URL/acme/main.js?n=$i"); done
"${C[@]}" --http2 --parallel --parallel-max 40 -w '%{http_version} %{http_code}\n' "${args[@]}" >multi.txt 2>multi.err
check "HTTP/2 multiplexed: 40 answers 2 200" "$(grep -c '^2 200$' multi.txt)" 40
same=0
for i in $(seq 40); do cmp -s "m$i.b" g.identity.b && same=$((same + 1)); done
check "HTTP/2 multiplexed: 40 bodies byte-identical" "$same" 40

# --- failover: SIGKILL the first region's gateway (and its runtimes) under continuous keep-alive load
sha=$(sha256sum g.identity.b | cut -d' ' -f1)
rm -f stop
python3 "$HERE/load.py" --url-host fast.example.com --path /acme/main.js --connect "127.0.0.1:$L" --ca ca.pem \
    --threads 4 --stop "$T/stop" --seconds 20 --sha256 "$sha" >load.out 2>load.err &
LOAD=$!
sleep 1.5
kill -KILL -- "-$F1_PGID"
sleep 2
touch stop
wait "$LOAD"
read -r _ n _ bad <load.out
check "failover under load: zero failed GETs ($n requests)" "${bad:-missing}" 0
check "failover under load: enough requests to mean something" "$([ "${n:-0}" -ge 100 ] && echo yes || echo "only ${n:-0}")" yes
echo "     (retries during failover: $(curl -sS --max-time 5 "http://127.0.0.1:$A/metrics" | grep '^nearjs_edge_retries_total' | cut -d' ' -f2))"
grep -q "is now DOWN" fn.err
check "first region marked DOWN" "$?" 0
check "now served by the second region (access log)" \
    "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/acme/main.js") $(tail -1 access.log | jq -r .upstream)" "200 $GW2"
check "metrics: first region unhealthy" \
    "$(curl -sS --max-time 5 "http://127.0.0.1:$A/metrics" | grep "nearjs_edge_upstream_healthy{upstream=\"$GW1\"}" | cut -d' ' -f2)" 0
check "healthz still 200" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
kill -TERM "$FN_EDGE"
wait "$FN_EDGE" 2>/dev/null
check "edge exits 0 on SIGTERM" "$?" 0

if [ "$FAILS" -ne 0 ]; then
    for f in echo.err fn.err load.err gw-*.err; do echo "--- $f"; tail -30 "$f"; done
    exit 1
fi
echo "all edge start-api tests passed"
