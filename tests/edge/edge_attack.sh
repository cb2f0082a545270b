#!/usr/bin/env bash
# The edge under attack (issue 10), over loopback with real TLS on both sides (upstream.py as the gateway):
# HTTP/2 rapid reset (no upstream connection for a reset stream; GOAWAY ENHANCE_YOUR_CALM), 100 SIGHUPs
# leave the descriptor count as it was, running out of descriptors (accepts pause instead of spinning,
# repeated log lines are rate-limited), request targets and methods checked before anything goes upstream.
# Every wait is bounded; every process started is killed on exit.
# Usage: edge_attack.sh PATH/TO/nearjs-edge
set -u
EDGE=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib.sh"
# Debian's python3 has python3-h2 (scripts/setup.sh installs it); a pyenv python3 on PATH may not
PY=/usr/bin/python3
$PY -c 'import h2' 2>/dev/null || { echo "FAIL python3-h2 missing: run scripts/setup.sh test"; exit 1; }
edge_test_begin edge-attack
make_ca edge-attack-ca
GW=us-east-1-fast.example.com
mkcert gw1 $GW
mkcert edge fast.example.com
U1=$(free_port)
python3 "$HERE/upstream.py" --domain $GW --cert gw1.pem --key gw1.key --port "$U1" --tag one >up.log 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready up.log && break; sleep 0.1; done

# write_conf NAME PORT [HSTS_MAX_AGE]: one TLS listener on PORT, a plain-HTTP redirect listener on PLAIN_PORT (set here)
write_conf() {
    PLAIN_PORT=$(free_port)
    cat >"$1.yaml" <<YAML
threads: 1
timeouts: {connect: 1000, first_byte: 3000, header: 1000, idle: 5000}
listeners:
  - listen: 127.0.0.1:$2
    tls:
      - cert: $T/edge.pem
        key: $T/edge.key
$([ -n "${3:-}" ] && echo "    hsts: $3")
  - listen: 127.0.0.1:$PLAIN_PORT
    plain: redirect
upstreams:
  - url: https://$GW
    connect_to: 127.0.0.1:$U1
    ca: $T/ca.pem
    health: {path: /healthz, interval: 60000, rise: 1, fall: 3}
YAML
}
start_edge() { # NAME [prefix command...]: sets EDGE_PID
    local name=$1
    shift
    "$@" "$EDGE" -c "$name.yaml" >"$name.out" 2>"$name.err" &
    EDGE_PID=$!
    PIDS+=("$EDGE_PID")
    for _ in $(seq 100); do
        grep -q 'serving:' "$name.err" 2>/dev/null && return 0
        sleep 0.05
    done
    echo "FAIL edge $name did not start:"
    cat "$name.err"
    exit 1
}
upstream_count() { # accepted | requests
    curl -sS --max-time 5 --cacert ca.pem --resolve "$GW:$U1:127.0.0.1" -H "Host: $GW" "https://$GW:$U1/conns" | jq -r ".$1"
}
upstream_conns() { upstream_count accepted; }
nfds() { ls "/proc/$1/fd" | wc -l; }

L=$(free_port)
write_conf edge "$L" 600
P=$PLAIN_PORT
start_edge edge
MAIN_PID=$EDGE_PID
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
URL="https://fast.example.com:$L"
check "edge serves" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/a.js")" 200
H2=($PY "$HERE/h2_attack.py" "$L" fast.example.com "$T/ca.pem")

# --- 7. HSTS: a listener option, off by default
sts() { # PORT [curl args]: the Strict-Transport-Security of the answer to /a.js
    local port=$1
    shift
    curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$port:127.0.0.1" -D - -o /dev/null "$@" \
        "https://fast.example.com:$port/a.js" | tr -d '\r' | awk -F': ' 'tolower($1)=="strict-transport-security"{print $2}'
}
check "hsts: 600 on the listener -> Strict-Transport-Security on a 200" "$(sts "$L")" max-age=600
check "... and on the edge's own 400" "$(sts "$L" --request-target x)" max-age=600

# --- 1. rapid reset: a reset stream costs no upstream connection; a flood of them gets GOAWAY ---
before=$(upstream_conns)
check "100 resets, then a GET on the same connection" "$("${H2[@]}" reset-then-get 100)" 200
after=$(upstream_conns)
echo "     upstream connections opened for 100 resets + 1 GET: $((after - before - 1))"
check "100 resets open (almost) no upstream connection" "$([ $((after - before - 1)) -le 3 ] && echo yes || echo "$((after - before - 1))")" yes
before=$(upstream_conns)
out=$("${H2[@]}" reset 10000)
after=$(upstream_conns)
echo "     10000 resets: $out; upstream connections opened: $((after - before - 1))"
check "10000 resets end in GOAWAY ENHANCE_YOUR_CALM (11)" "${out#* * }" "goaway 11"
check "10000 resets open (almost) no upstream connection" "$([ $((after - before - 1)) -le 3 ] && echo yes || echo "$((after - before - 1))")" yes
check "GOAWAY logged once" "$(grep -c 'ENHANCE_YOUR_CALM' edge.err)" 1
check "the edge still serves after the flood" "$("${C[@]}" --http2 -o /dev/null -w '%{http_code}' "$URL/a.js")" 200

# --- 5. request targets and methods are checked before anything goes upstream ---
raw1() { # bytes (printf format) sent over TLS as they are; prints the status code of the answer
    $PY - "$L" "$T/ca.pem" "$1" <<'PYEOF'
import socket, ssl, sys
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.set_alpn_protocols(["http/1.1"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10), server_hostname="fast.example.com")
s.sendall(sys.argv[3].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while b"\r\n" not in data:
    d = s.recv(4096)
    if not d:
        break
    data += d
print(data.split(b" ")[1].decode() if data else "closed")
PYEOF
}
r0=$(upstream_count requests)
check "h2 :path '/x HTTP/1.0' -> 400" "$("${H2[@]}" raw '/x HTTP/1.0' GET)" 400
check "h2 :method 'GET /smuggle' -> 400" "$("${H2[@]}" raw /a.js 'GET /smuggle')" 400
check "h2 :path absolute-form -> 400" "$("${H2[@]}" raw 'https://evil.example/a.js' GET)" 400
check "h2 :path without a slash -> 400" "$("${H2[@]}" raw 'acme/main.js' GET)" 400
check "HTTP/1 obs-fold -> 400" "$(raw1 'GET /a.js HTTP/1.1\r\nHost: fast.example.com\r\nX-A: 1\r\n x: 2\r\n\r\n')" 400
check "HTTP/1.1 without Host -> 400" "$(raw1 'GET /a.js HTTP/1.1\r\nUser-Agent: t\r\n\r\n')" 400
r1=$(upstream_count requests)
# (- 1: the /conns request that read r1 is itself counted)
check "none of these 6 reached the upstream" "$((r1 - r0 - 1))" 0
check "h2 ordinary request still 200" "$("${H2[@]}" raw '/acme/main.js?x=1' GET)" 200
check "HTTP/1.1 with Host -> 200" "$(raw1 'GET /a.js HTTP/1.1\r\nHost: fast.example.com\r\n\r\n')" 200

# the plain-HTTP redirect names a checked host and an origin-form path only
plain() { # request bytes (printf format): prints the status line's code and the Location, if any
    exec 3<>"/dev/tcp/127.0.0.1/$P"
    printf "$1" >&3
    timeout 5 cat <&3 | tr -d '\r' | awk 'NR==1{s=$2} tolower($1)=="location:"{l=$2} END{print s, l}'
    exec 3<&-
}
check "redirect of an origin-form path" "$(plain 'GET /a.js?x=1 HTTP/1.1\r\nHost: fast.example.com\r\nConnection: close\r\n\r\n')" \
    "301 https://fast.example.com/a.js?x=1"
check "no redirect to a userinfo trick (GET @evil.example/x)" \
    "$(plain 'GET @evil.example/x HTTP/1.1\r\nHost: fast.example.com\r\nConnection: close\r\n\r\n' | cut -d' ' -f1)" 400
check "no redirect to a Host with '@'" \
    "$(plain 'GET /x HTTP/1.1\r\nHost: fast.example.com@evil.example\r\nConnection: close\r\n\r\n' | cut -d' ' -f1)" 400

# --- 6. a connection limit per upstream and worker, with a bounded wait queue; overload is no gateway failure
L3=$(free_port)
write_conf limit "$L3"
sed -i 's|^    ca: |    max_conns: 2\n    queue: 6\n    ca: |; s|^timeouts: {|timeouts: {queue: 5000, |' limit.yaml
start_edge limit
curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L3:127.0.0.1" -o /dev/null "https://fast.example.com:$L3/"
sleep 0.3 # the first health check's connection too
before=$(upstream_conns)
check "8 requests at once, max_conns 2, queue 6: all served" \
    "$($PY "$HERE/h2_attack.py" "$L3" fast.example.com "$T/ca.pem" many 8 /sleep/300)" 200x8
after=$(upstream_conns)
echo "     upstream connections for 8 concurrent requests under max_conns 2: $((after - before - 1))"
check "8 requests at once used at most 2 upstream connections" \
    "$([ $((after - before - 1)) -le 2 ] && echo yes || echo "$((after - before - 1))")" yes
check "12 at once: 2 busy + 6 waiting served, 4 refused at once" \
    "$($PY "$HERE/h2_attack.py" "$L3" fast.example.com "$T/ca.pem" many 12 /sleep/300)" "200x8 503x4"
check "no hsts on the listener: no Strict-Transport-Security" "$(sts "$L3")" ""
check "the edge's own overload does not mark the gateway down" "$(grep -c 'is now DOWN' limit.err)" 0
kill "$EDGE_PID" 2>/dev/null

# --- 4. SIGHUP: a reload leaves the descriptor count where it was ---
fds_before=$(nfds "$MAIN_PID")
for i in $(seq 100); do
    kill -HUP "$MAIN_PID"
    # one at a time: signals sent faster than the main thread takes them would merge into one
    for _ in $(seq 100); do [ "$(grep -c '^.*reloaded:' edge.err)" -ge "$i" ] && break; sleep 0.01; done
done
check "100 reloads done" "$(grep -c 'reloaded:' edge.err)" 100
sleep 0.3 # workers take the new generation at their next tick
# No request is in flight: once the last health check is answered (or timed out: timeouts sum to 4 s) the edge
# holds no connection to the upstream. A check's connection left in the generation's pool stays there in
# CLOSE-WAIT (the upstream closes it after the check's "connection: close") for as long as the generation lives.
upconns() { ss -Htanp "dport = :$U1" | grep -c "pid=$MAIN_PID,"; }
for _ in $(seq 50); do [ "$(upconns)" -eq 0 ] && break; sleep 0.1; done
check "after the reloads the edge holds no upstream connection (none left in CLOSE-WAIT)" \
    "$(upconns) $(ss -Htanp state close-wait "dport = :$U1" | grep -c "pid=$MAIN_PID,")" "0 0"
fds_after=$(nfds "$MAIN_PID")
echo "     descriptors before/after 100 SIGHUPs: $fds_before -> $fds_after"
check "100 SIGHUPs leak no descriptor" "$([ "$fds_after" -le "$fds_before" ] && echo yes || echo "$fds_before -> $fds_after")" yes
check "serves after 100 reloads" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/a.js")" 200

# --- 2. out of descriptors: accepts pause, log lines are rate-limited ---
L2=$(free_port)
write_conf emfile "$L2"
start_edge emfile prlimit --nofile=48:48
C2=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L2:127.0.0.1")
# an HTTP/2 connection made before the table fills, for requests while it is full
$PY - "$L2" "$T/ca.pem" 64 >emfile-h2.out 2>&1 <<'PYEOF' &
import socket, ssl, sys, time
import h2.config, h2.connection, h2.events, h2.exceptions
port, ca, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)), server_hostname="fast.example.com")
c = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
c.initiate_connection()
s.sendall(c.data_to_send())
print("connected", flush=True)
while True:  # wait for the go: a file
    try:
        open("go").close()
        break
    except OSError:
        time.sleep(0.05)
statuses = {}
try:  # a connection the edge ends is an answer count short, said below, not a traceback
    for i in range(n):
        c.send_headers(1 + 2 * i, [(":method", "GET"), (":scheme", "https"), (":authority", "fast.example.com"),
                                   (":path", "/a.js")], end_stream=True)
    s.sendall(c.data_to_send())
    s.settimeout(10)
    done = 0
    while done < n:
        d = s.recv(65536)
        if not d:
            break
        for ev in c.receive_data(d):
            if isinstance(ev, h2.events.ResponseReceived):
                st = dict(ev.headers)[":status"]
                statuses[st] = statuses.get(st, 0) + 1
            if isinstance(ev, (h2.events.StreamEnded, h2.events.StreamReset)):
                done += 1
        s.sendall(c.data_to_send())
except (OSError, h2.exceptions.ProtocolError) as e:
    print("connection ended:", e, flush=True)
print("statuses", sorted(statuses.items()), flush=True)
print("answered", sum(statuses.values()), flush=True)
PYEOF
PIDS+=($!)
disown $!
for _ in $(seq 100); do grep -q connected emfile-h2.out && break; sleep 0.05; done
# fill the descriptor table with idle TCP connections (the edge accepts until accept4 fails)
$PY - "$L2" 80 >filler.out 2>&1 <<'PYEOF' &
import socket, sys, time
conns = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
print("filled", len(conns), flush=True)
time.sleep(60)
PYEOF
PIDS+=($!)
disown $!
for _ in $(seq 100); do grep -q filled filler.out && break; sleep 0.05; done
sleep 0.5
check_idle_cpu "$EDGE_PID" "out of descriptors, 80 idle connections: edge"
check "accept failure logged, rate-limited" "$([ "$(grep -c 'accept' emfile.err)" -le 4 ] && [ "$(grep -c 'accept' emfile.err)" -ge 1 ] && echo yes || grep -c accept emfile.err)" yes
lines0=$(wc -l <emfile.err)
touch go
for _ in $(seq 200); do grep -q statuses emfile-h2.out && break; sleep 0.05; done
lines1=$(wc -l <emfile.err)
echo "     64 requests while out of descriptors: $(grep statuses emfile-h2.out); log lines: $((lines1 - lines0))"
# Every one of the 64 got a status (a closed connection or a reset stream leaves a count short).
check "requests while out of descriptors: each answered with a status" "$(grep '^answered' emfile-h2.out)" "answered 64"
check "log lines while out of descriptors are rate-limited" "$([ $((lines1 - lines0)) -le 8 ] && echo yes || echo "$((lines1 - lines0)) lines")" yes
kill "$EDGE_PID" 2>/dev/null

if [ "$FAILS" -ne 0 ]; then
    echo "edge_attack: $FAILS failure(s); edge log tail:"
    tail -20 edge.err
    exit 1
fi
echo "edge_attack: all passed"
