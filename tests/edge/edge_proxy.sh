#!/usr/bin/env bash
# Integration test of nearjs-edge over loopback, real TLS on both sides: a throwaway CA, an upstream
# that (like API Gateway) answers 403 unless SNI and Host are its name (upstream.py), and the edge in
# front of it. Cases: 200 with SNI/Host rewritten and XFF appended; HTTP/2; plain HTTP denied;
# wrong upstream certificate -> 502 + log line; failover with zero failed GETs while the first upstream
# is killed under load; /healthz and /metrics transitions; SIGHUP under load; broken reload refused;
# oversized headers. Usage: edge_proxy.sh PATH/TO/nearjs-edge
set -u
EDGE=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh"
edge_test_begin edge-test
make_ca edge-test-ca
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout bad.key -out bad.pem -days 2 -subj /CN=other-ca 2>/dev/null
mkcert gw1 us-east-1-fast.example.com
mkcert gw2 us-west-2-fast.example.com
mkcert edge fast.example.com
mkcert wild '*.example.net'

start_upstream() { # domain cert port tag
    python3 "$HERE/upstream.py" --domain "$1" --cert "$2.pem" --key "$2.key" --port "$3" --tag "$4" >"up-$4.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q ready "up-$4.log" && return; sleep 0.1; done
}
U1=$(free_port); U2=$(free_port); L=$(free_port); P=$(free_port); A=$(free_port)
start_upstream us-east-1-fast.example.com gw1 "$U1" one
UP1=${PIDS[-1]}
start_upstream us-west-2-fast.example.com gw2 "$U2" two

cat >edge.yaml <<YAML
threads: 2
timeouts:
  connect: 1000
  first_byte: 3000
  header: 1000
  idle: 1500
limits:
  header_bytes: 4096
access_log:
  path: $T/access.log
  format: json
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - cert: $T/edge.pem
        key: $T/edge.key
      - cert: $T/wild.pem
        key: $T/wild.key
  - listen: 127.0.0.1:$P
    plain: deny
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://us-east-1-fast.example.com
    connect_to: 127.0.0.1:$U1
    ca: $T/ca.pem
    health: {path: /healthz, interval: 200, rise: 2, fall: 1}
  - url: https://us-west-2-fast.example.com
    connect_to: 127.0.0.1:$U2
    ca: $T/ca.pem
    health: {path: /healthz, interval: 200, rise: 2, fall: 1}
YAML
check "test-config" "$("$EDGE" --test-config -c edge.yaml >/dev/null 2>&1; echo $?)" 0
"$EDGE" -c edge.yaml >edge.out 2>edge.err &
EPID=$!
PIDS+=($EPID)
sleep 1
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1" --resolve "www.example.net:$L:127.0.0.1")
URL="https://fast.example.com:$L"

body=$("${C[@]}" "$URL/acct/app.js?x=1" -H 'X-Forwarded-For: 203.0.113.7')
check "200 via edge, SNI rewritten" "$(jq -r .sni <<<"$body")" us-east-1-fast.example.com
check "Host rewritten" "$(jq -r .headers.host <<<"$body")" us-east-1-fast.example.com
check "XFF appended" "$(jq -r '.headers["x-forwarded-for"]' <<<"$body")" "203.0.113.7, 127.0.0.1"
check "X-Forwarded-Proto" "$(jq -r '.headers["x-forwarded-proto"]' <<<"$body")" https
check "X-Forwarded-Host" "$(jq -r '.headers["x-forwarded-host"]' <<<"$body")" "fast.example.com:$L"
check "path and query kept" "$(jq -r .path <<<"$body")" "/acct/app.js?x=1"
check "hop-by-hop dropped" "$("${C[@]}" --http1.1 "$URL/" -H 'Proxy-Connection: keep-alive' -H 'Keep-Alive: 5' -H 'TE: trailers' | jq -r '[.headers["proxy-connection"], .headers["keep-alive"], .headers.te] | map(. // "none") | join(",")')" none,none,none
check "HTTP/2 client" "$("${C[@]}" --http2 -o /dev/null -w '%{http_version} %{http_code}' "$URL/")" "2 200"
check "HTTP/1.1 client" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_version} %{http_code}' "$URL/")" "1.1 200"
# one listening socket per worker (an SO_REUSEPORT group), and a second instance on the address is refused
check "a listening socket per worker" "$(ss -Hltn "sport = :$L" | grep -c LISTEN)" 2
"$EDGE" -c edge.yaml >second.out 2>second.err
check "second instance refused (exit 1)" "$?" 1
grep -q "listener 127.0.0.1:$L: cannot listen: Address already in use" second.err
check "second instance says the address is in use" "$?" 0
check "first instance still serving" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/")" 200
check "POST body forwarded" "$("${C[@]}" -d 'a=1' "$URL/p" | jq -r .body)" "a=1"
# answer framings (our HTTP/1.1 client): exact bodies, and the kept connection stays usable after each
check "chunked answer with trailer" "$("${C[@]}" --http1.1 "$URL/frame/chunked")" "hello, chunked world"
check "answer until close" "$("${C[@]}" --http1.1 "$URL/frame/close")" "until close"
check "204, no body" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code} %{size_download}' "$URL/frame/204")" "204 0"
check "304, no body" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code} %{size_download}' "$URL/frame/304")" "304 0"
# one Server: the edge's (upstream.py sends its own, BaseHTTP/...), on answers and over HTTP/2
"${C[@]}" --http1.1 -o /dev/null -D srv1.h "$URL/"
check "one Server header, the edge's" "$(grep -i '^server:' srv1.h | tr -d '\r' | tr 'A-Z\n' 'a-z ')" "server: nearjs-edge "
"${C[@]}" --http2 -o /dev/null -D srv2.h "$URL/"
check "one Server header over HTTP/2" "$(grep -i '^server:' srv2.h | tr -d '\r' | tr 'A-Z\n' 'a-z ')" "server: nearjs-edge "
"${C[@]}" --http1.1 -o /dev/null -D noreason.h "$URL/frame/noreason"
check "empty upstream reason phrase -> the standard one" "$(head -1 noreason.h | tr -d '\r')" "HTTP/1.1 405 Method Not Allowed"
check "one Server header on a framed answer" "$(grep -ci '^server:' noreason.h) $(grep -i '^allow:' noreason.h | tr -d '\r')" "1 allow: GET"
check "1xx interim answers skipped" "$("${C[@]}" --http1.1 "$URL/frame/interim")" "after interim"
check "HEAD: length kept, no body" "$("${C[@]}" --http1.1 -I "$URL/x" | tr -d '\r' | grep -ci '^content-length: [1-9]')" 1
check "trickled chunked answer" "$("${C[@]}" --http1.1 "$URL/frame/trickle")" "trickled body"
check "invalid answer head -> 502" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$URL/frame/garbage")" 502
check "answer head over 64 KiB -> 502" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$URL/frame/hugehead")" 502
check "answer shorter than its length -> 502" "$("${C[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$URL/frame/truncated")" 502
grep -q "invalid answer head -> 502" edge.err
check "invalid answer logged" "$?" 0
check "upstream closes a kept connection: next GETs fine" \
    "$("${C[@]}" --http1.1 -o /dev/null "$URL/frame/bye"; for i in 1 2 3 4; do "${C[@]}" --http1.1 -o /dev/null -w '%{http_code}' "$URL/after-bye"; done)" 200200200200
peers=$(for i in $(seq 12); do "${C[@]}" --http1.1 "$URL/reuse"; echo; done | jq -r .peer | sort -u | wc -l)
check "upstream connections reused (12 requests, 2 workers: $peers connection(s))" "$([ "$peers" -le 4 ] && echo yes)" yes
# the pool gauge counts the workers' connections: some while kept, none once timeouts.idle (1.5 s) passed
pool=$(curl -sS "http://127.0.0.1:$A/metrics" | grep 'nearjs_edge_upstream_pool_connections{upstream="us-east-1-fast.example.com"}' | cut -d' ' -f2)
check "pool gauge: kept connections counted ($pool)" "$([ "${pool:-0}" -ge 1 ] && [ "${pool:-0}" -le 4 ] && echo yes)" yes
sleep 2.2
check "idle upstream connections expire" "$(curl -sS "http://127.0.0.1:$A/metrics" | grep 'nearjs_edge_upstream_pool_connections{upstream="us-east-1-fast.example.com"}' | cut -d' ' -f2)" 0
check "wildcard SNI certificate" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://www.example.net:$L/")" 200
check "plain HTTP denied" "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P/x")" 403
check "healthz 200" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/healthz")" 200
big=$(head -c 6000 /dev/zero | tr '\0' a)
check "oversized headers refused" "$("${C[@]}" -o /dev/null -w '%{http_code}' -H "X-Big: $big" "$URL/")" 431
# slowloris: a connection that never finishes its headers is closed by the header timeout (1 s)
took=$(python3 - "$L" <<'PY'
import socket, ssl, sys, time
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1]))), server_hostname="fast.example.com")
s.settimeout(10)
t = time.monotonic()
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
try:
    while s.recv(100):
        pass
except Exception:
    pass
print(int((time.monotonic() - t) * 1000))
PY
)
check "slowloris cut off within 3 s" "$([ "$took" -lt 3000 ] && echo yes || echo "no ($took ms)")" yes
grep -q '"sni": "fast.example.com"' access.log || grep -q '"sni":"fast.example.com"' access.log
check "access log has SNI" "$?" 0

# failover under load: kill the first upstream while GETs run; none may fail
load() { local n=0 bad=0; while [ ! -f stop ]; do code=$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/load"); n=$((n+1)); [ "$code" = 200 ] || bad=$((bad+1)); done; echo "$n $bad" >"load.$1"; }
rm -f stop; load a & LA=$!; load b & LB=$!
sleep 1; kill "$UP1"; sleep 2
touch stop; wait $LA $LB
failed=$(( $(cut -d' ' -f2 load.a) + $(cut -d' ' -f2 load.b) ))
check "failover: zero failed GETs ($(cut -d' ' -f1 load.a) + $(cut -d' ' -f1 load.b) requests)" "$failed" 0
check "served by the second region" "$("${C[@]}" "$URL/" | jq -r .tag)" two
grep -q "is now DOWN" edge.err
check "down logged" "$?" 0
check "metrics health gauge" "$(curl -sS "http://127.0.0.1:$A/metrics" | grep 'nearjs_edge_upstream_healthy{upstream="us-east-1-fast.example.com"}' | cut -d' ' -f2)" 0

# SIGHUP under load, no failed request
rm -f stop; load c & LC=$!
sleep 0.5; kill -HUP "$EPID"; sleep 0.5; kill -HUP "$EPID"; sleep 0.5
touch stop; wait $LC
check "SIGHUP under load: zero failures" "$(cut -d' ' -f2 load.c)" 0
# a session from before a reload resumes after it (the ticket keys pass to the new generation), with no
# new ticket sent after a resumption under the current key
sclient() { # extra s_client args...: prints New/Reused and the number of tickets the client got
    printf 'GET /healthz HTTP/1.0\r\nHost: fast.example.com\r\n\r\n' |
        timeout 10 openssl s_client -connect "127.0.0.1:$L" -servername fast.example.com -ign_eof -msg "$@" 2>&1 |
        awk '/^(New|Reused),/ {r=$1} /NewSessionTicket/ && /^<<</ {t++} END {printf "%s %d\n", r, t}'
}
check "full handshake: one session ticket" "$(sclient -sess_out sess.pem)" "New, 1"
kill -HUP "$EPID"; sleep 0.5
check "resumed across a reload, no new ticket" "$(sclient -sess_in sess.pem)" "Reused, 0"
check "metrics count the resumption" "$(curl -sS "http://127.0.0.1:$A/metrics" | grep '^nearjs_edge_tls_resumed_total' | cut -d' ' -f2)" 1
# broken reload refused, old config keeps serving
cp edge.yaml edge.yaml.good
printf 'threads: many\n' >>edge.yaml
kill -HUP "$EPID"; sleep 0.5
grep -q "reload refused" edge.err
check "broken reload refused" "$?" 0
check "still serving after refused reload" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/")" 200
cp edge.yaml.good edge.yaml

# wrong upstream certificate: the edge trusts a different CA -> 502 and a log line
kill "${PIDS[-1]}" 2>/dev/null
cat >bad.yaml <<YAML
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
upstreams:
  - url: https://us-west-2-fast.example.com
    connect_to: 127.0.0.1:$U2
    ca: $T/bad.pem
YAML
kill -TERM "$EPID"; wait "$EPID" 2>/dev/null
check "SIGTERM exit code" "$?" 0
"$EDGE" -c bad.yaml >bad.out 2>bad.err &
PIDS+=($!)
sleep 0.7
check "wrong upstream certificate -> 502" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/")" 502
grep -q "certificate" bad.err
check "certificate error logged" "$?" 0
check "healthz 503 with no healthy upstream" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/healthz")" 503

if [ "$FAILS" -ne 0 ]; then
    echo "--- edge.err"; cat edge.err; echo "--- bad.err"; cat bad.err
    exit 1
fi
echo "all edge tests passed"
