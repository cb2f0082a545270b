#!/usr/bin/env bash
# start-api --domain under attack (issue 10), over loopback with real TLS: connections that never finish their
# TLS handshake (nothing sent, or half a ClientHello) are closed after 10 s, not before, and with the descriptor table
# full accepting pauses instead of spinning, with the failure logged once a second at most; real requests are
# served again once the idle ones are gone. Every wait is bounded; every process started is killed on exit.
# Usage: start_api_attack.sh PATH/TO/nearjs-local PATH/TO/echo-bootstrap
set -u
LOCAL=$(realpath "$1")
ECHO=$(realpath "$2")
. "$(dirname "$0")/../edge/lib.sh"
edge_test_begin sa-attack
make_ca sa-attack-ca
D=us-east-1-fast.example.com
mkcert gw $D

setsid prlimit --nofile=64:64 "$LOCAL" start-api --port 0 --workers 1 --quiet --domain $D --cert gw.pem --key gw.key \
    "$ECHO" 2>gw.err >/dev/null &
GW=$!
GROUPS_STARTED+=("$GW")
disown "$GW"
PORT=
for _ in $(seq 200); do
    grep -q 'warm .* after start' gw.err 2>/dev/null && PORT=$(grep -o 'listening on https://[^ ]*:[0-9]*' gw.err | grep -o '[0-9]*$') && break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "FAIL start-api did not start:"; cat gw.err; exit 1; }
C=(curl -sS --max-time 10 --cacert ca.pem --resolve "$D:$PORT:127.0.0.1")
check "serves" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://$D:$PORT/x")" 200

# 40 connections that send nothing and 40 that send half a ClientHello: more than the 64 descriptors
python3 - "$PORT" >idle.out 2>&1 <<'PYEOF' &
import socket, sys, time
port = int(sys.argv[1])
conns = []
for i in range(80):
    s = socket.create_connection(("127.0.0.1", port))
    if i % 2:
        s.sendall(bytes.fromhex("160301020001000000fc0303") + b"\x00" * 20)  # a ClientHello cut short
    conns.append(s)
opened = time.monotonic()
print("opened", len(conns), flush=True)
deadline = opened + 25
closed = set()
first = None
while time.monotonic() < deadline and len(closed) < len(conns):
    for i, s in enumerate(conns):
        if i in closed:
            continue
        s.settimeout(0.01)
        try:
            if s.recv(4096) == b"":
                closed.add(i)
        except (socket.timeout, TimeoutError):
            pass
        except OSError:
            closed.add(i)
        if i in closed and first is None:
            first = time.monotonic() - opened
    time.sleep(0.2)
    if len(closed) == len(conns):
        break
print("closed by server", len(closed), "after", round(25 - (deadline - time.monotonic()), 1), "s", flush=True)
print("first closed after %.1f s" % (first if first is not None else -1), flush=True)
PYEOF
PIDS+=($!)
disown $!
for _ in $(seq 100); do grep -q opened idle.out && break; sleep 0.05; done
sleep 0.5
check_idle_cpu "$GW" "80 idle connections under a 64-descriptor limit: start-api"
n=$(grep -c 'accept() failed' gw.err)
check "accept failure logged once a second at most" "$([ "$n" -ge 1 ] && [ "$n" -le 4 ] && echo yes || echo "$n lines")" yes
for _ in $(seq 250); do grep -q 'closed by server' idle.out && break; sleep 0.1; done
echo "     $(grep 'closed by server' idle.out)"
check "every unfinished handshake closed by the server" "$(grep -o 'closed by server [0-9]*' idle.out)" "closed by server 80"
# ... and not before the 10 s the handshake is given (its clock starts at accept, after the connect: the
# 0.5 s spare is this loop's own polling)
first=$(grep -o 'first closed after [0-9.-]* s' idle.out | grep -o '[0-9.-]*')
check "no unfinished handshake closed before 10 s" \
    "$(awk -v f="${first:-0}" 'BEGIN { print (f >= 9.5) ? "yes" : "first closed after " f " s" }')" yes
check "serves again once they are gone" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://$D:$PORT/x")" 200

[ "$FAILS" -eq 0 ] || { echo "start_api_attack: $FAILS failure(s)"; tail -5 gw.err; exit 1; }
echo "start_api_attack: all passed"
