#!/usr/bin/env bash
# nearjs-edge's SIGTERM path ends in a full teardown (connections, contexts, loops, pools, SSL contexts)
# and a return from main, so the exit is leak-checked: this test gives the edge every kind of state a
# running instance has (HTTP/1.1 keep-alive connections left idle, HTTP/2 connections, a request still
# waiting on a slow upstream past the drain deadline, a TLS handshake never finished, headers never
# finished, reloaded generations (one still owning a connection's listener context), pooled upstream connections, health checks in flight), SIGTERMs it and
# fails on a non-zero exit or any sanitizer or leak report.
# An ASan build (the sanitizer tree) is checked by ASan/LSan/UBSan; a plain build runs under
# valgrind --leak-check=full when valgrind is installed (else only the exit is checked).
# Usage: edge_clean_exit.sh PATH/TO/nearjs-edge
set -u
EDGE=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
edge_test_begin edge-exit
make_ca edge-exit-ca
mkcert gw us-east-1-fast.example.com
mkcert edge fast.example.com

if ldd "$EDGE" | grep -q libasan; then
    MODE=asan
    RUN=()
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=66
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    SLOW=1
elif command -v valgrind >/dev/null; then
    MODE=valgrind
    RUN=(valgrind -q --suppressions="$HERE/valgrind.supp" --leak-check=full --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible
         --error-exitcode=66 --track-fds=no)
    SLOW=10
else
    MODE=plain
    RUN=()
    SLOW=1
fi
echo "mode: $MODE"

U=$(free_port)
python3 "$HERE/upstream.py" --domain us-east-1-fast.example.com --cert gw.pem --key gw.key --port "$U" --tag one >up.log 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready up.log && break; sleep 0.1; done
L=$(free_port)
A=$(free_port)
cat >edge.yaml <<YAML
threads: 2
timeouts: {connect: 2000, first_byte: 8000, header: 20000, drain: 1500}
access_log: {path: $T/access.log, format: json}
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://us-east-1-fast.example.com
    connect_to: 127.0.0.1:$U
    ca: $T/ca.pem
    health: {path: /healthz, interval: 100}
YAML
"${RUN[@]}" "$EDGE" -c edge.yaml >edge.out 2>edge.err &
EPID=$!
PIDS+=($EPID)
for _ in $(seq $((100 * SLOW))); do grep -q 'serving:' edge.err && break; sleep 0.05; done
C=(curl -sS --max-time $((10 * SLOW)) --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
URL="https://fast.example.com:$L"
check "HTTP/1.1 keep-alive: 3 answers on one connection" \
    "$("${C[@]}" --http1.1 -o /dev/null -o /dev/null -o /dev/null -w '%{http_code}' "$URL/a" "$URL/b" "$URL/c")" 200200200
check "HTTP/2: 2 answers" "$("${C[@]}" --http2 -o /dev/null -o /dev/null -w '%{http_code}' "$URL/a" "$URL/b")" 200200
check "POST" "$("${C[@]}" -d x=1 -o /dev/null -w '%{http_code}' "$URL/p")" 200
check "metrics" "$(curl -sS --max-time $((5 * SLOW)) -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A/metrics")" 200
# a connection accepted before two reloads that sends its ClientHello only after them: its listener
# context belongs to a generation the reloads retired (h2o calls SSL_new only at the first bytes)
python3 - "$L" "$T/ca.pem" "$T/go" >early.out 2>&1 <<'PY' &
import os, socket, ssl, sys, time
port, ca, go = int(sys.argv[1]), sys.argv[2], sys.argv[3]
raw = socket.create_connection(("127.0.0.1", port))
print("connected", flush=True)
for _ in range(600):
    if os.path.exists(go):
        break
    time.sleep(0.05)
s = ssl.create_default_context(cafile=ca).wrap_socket(raw, server_hostname="fast.example.com")
s.sendall(b"GET /early HTTP/1.1\r\nHost: fast.example.com\r\nConnection: close\r\n\r\n")
print("early answer:", s.recv(100)[:12], flush=True)
PY
EARLY=$!
PIDS+=($EARLY)
for _ in $(seq 100); do grep -q connected early.out && break; sleep 0.05; done
# wait_reloads N: until the log shows N reloads, then one more worker tick or so
wait_reloads() {
    for _ in $(seq $((100 * SLOW))); do [ "$(grep -c 'reloaded:' edge.err)" -ge "$1" ] && break; sleep 0.05; done
    sleep 0.3
}
kill -HUP "$EPID"
wait_reloads 1
kill -HUP "$EPID"
wait_reloads 2
touch go
wait "$EARLY"
check "connection from before two reloads, ClientHello after them" "$(grep -o "early answer: b'HTTP/1.1 [0-9]*" early.out | tail -c 4)" 200
check "after reload" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/after")" 200

# connections left open at SIGTERM: idle HTTP/1.1 and HTTP/2 keep-alive, a request waiting on /slow
# (5 s, past the 1.5 s drain), a TCP connection that never starts TLS, headers never finished
python3 - "$L" "$T/ca.pem" >hold.out 2>&1 <<'PY' &
import socket, ssl, sys, time
port, ca = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=ca)
def tls(alpn=None):
    c = ssl.create_default_context(cafile=ca)
    if alpn:
        c.set_alpn_protocols(alpn)
    return c.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="fast.example.com")
idle = tls()
idle.sendall(b"GET /idle HTTP/1.1\r\nHost: fast.example.com\r\n\r\n")
idle.recv(65536)
h2 = tls(["h2"])
h2.sendall(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0]))
raw = socket.create_connection(("127.0.0.1", port))
partial = tls()
partial.sendall(b"GET /partial HTTP/1.1\r\nHost: fast")
slow = tls()
slow.sendall(b"GET /slow HTTP/1.1\r\nHost: fast.example.com\r\n\r\n")
print("holding", flush=True)
slow.settimeout(30)
try:
    print("slow answer:", slow.recv(100)[:12], flush=True)
except Exception as e:
    print("slow:", repr(e), flush=True)
time.sleep(30)
PY
PIDS+=($!)
disown $! # killed in cleanup; no job notice
for _ in $(seq 100); do grep -q holding hold.out && break; sleep 0.05; done
[ "$SLOW" -gt 1 ] && sleep 2 || sleep 0.5
t0=$(date +%s%N)
kill -TERM "$EPID"
status=timeout
for _ in $(seq $((200 * SLOW))); do
    if ! kill -0 "$EPID" 2>/dev/null; then
        wait "$EPID"
        status=$?
        break
    fi
    sleep 0.05
done
took=$((($(date +%s%N) - t0) / 1000000))
check "SIGTERM: exit status 0 (no sanitizer or leak report)" "$status" 0
check "stopped after the drain, within 5 s x $SLOW (took $took ms)" "$([ "$took" -lt $((5000 * SLOW)) ] && echo yes)" yes
check "no sanitizer, leak or valgrind report on stderr" \
    "$(grep -cE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: |definitely lost|possibly lost|Invalid (read|write)|uninitialised' edge.err)" 0
grep -q 'stopped' edge.err
check "log says stopped" "$?" 0
check "no connection left to exit()" "$(grep -c 'still open after' edge.err)" 0
check "the request in flight past the drain got an answer (504)" "$(grep -o "slow answer: b'HTTP/1.1 5[0-9][0-9]" hold.out | tail -c 4)" 504

if [ "$FAILS" -ne 0 ]; then
    echo "--- edge.err"
    head -120 edge.err
    echo "--- hold.out"
    cat hold.out
    exit 1
fi
echo "clean exit ($MODE): all checks passed"
