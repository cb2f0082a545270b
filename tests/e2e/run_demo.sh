#!/usr/bin/env bash
# `make run`'s script (scripts/run-demo.sh) as a user meets it, non-interactively: started on free
# loopback ports, it must print ready-to-paste lines; each printed `curl` line is run as printed (through
# each edge: 200 from its own region, X-Nearjs-Region; straight to a gateway with the public Host: 403),
# the printed content edit (jq, then mv) shows on the next request through both edges; SIGINT (what
# Ctrl-C sends) stops it with exit 0 and leaves none of the processes it started (gateways, runtimes,
# edges) running. A taken port fails at once, naming the port. The store's copy goes to the test's scratch
# folder (DEMO_STORE), so a `make run` of the same build tree is not disturbed.
# Usage: run_demo.sh REPO_ROOT BUILD_DIR
set -u
ROOT=$(realpath "$1")
BUILD=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$ROOT/tests/edge/lib.sh"
edge_test_begin run-demo

# free_base: a first port whose PORT..PORT+1, +10, +11, +20, +21, +30 are all free on loopback.
free_base() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randrange(20000, 30000)
    socks = []
    try:
        for off in (0, 1, 10, 11, 20, 21, 30):
            s = socket.socket()
            s.bind(("127.0.0.1", base + off))
            socks.append(s)
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
}

# descendants PID: every process below PID, recursively.
descendants() {
    local c
    for c in $(ps -o pid= --ppid "$1"); do
        echo "$c"
        descendants "$c"
    done
}

BASE=$(free_base)
# Job control: the script runs in a process group of its own with SIGINT not ignored, as in a terminal
# (a non-interactive shell's background job would start with SIGINT ignored, which no trap can undo).
set -m
PORT=$BASE TMPDIR=$T DEMO_STORE=$T/store "$ROOT/scripts/run-demo.sh" "$BUILD" >run.out 2>run.err &
RUN=$!
set +m
PIDS+=("$RUN")
for _ in $(seq 300); do
    grep -q 'Ctrl-C stops everything' run.out && break
    kill -0 "$RUN" 2>/dev/null || break
    sleep 0.05
done
if ! grep -q 'Ctrl-C stops everything' run.out; then
    echo "FAIL make run's script did not get ready:"
    cat run.out run.err
    exit 1
fi
cat run.out
mapfile -t started < <(descendants "$RUN")
check "started two function URLs, two edges, the IMDS double and their runtimes (>= 7 processes)" "$([ ${#started[@]} -ge 7 ] && echo yes)" yes
mapfile -t lines < <(grep '^curl ' run.out)
check "three curl lines printed" "${#lines[@]}" 3
regions=(us-east-1 eu-west-1)
for i in 0 1; do
    code=$(eval "${lines[$i]} -sS --max-time 10 -o body.$i -D head.$i -w '%{http_code}'" 2>&1)
    check "printed line $((i + 1)) (edge for ${regions[$i]}): 200" "$code" 200
    check "printed line $((i + 1)): rendered in ${regions[$i]}" \
        "$(grep -i '^x-nearjs-region:' head.$i | cut -d' ' -f2 | tr -d '\r')" "${regions[$i]}"
    check "printed line $((i + 1)): the acme widget script" "$(grep -c '"account":"acme"' body.$i)" 1
done
check "printed line 3 (unsigned, straight at a region's function URL): 403" \
    "$(eval "${lines[2]} -sS --max-time 10 -o body.3 -D head.3 -w '%{http_code}'")" 403
check "printed line 3: x-amzn-ErrorType AccessDeniedException" \
    "$(grep -i '^x-amzn-errortype:' head.3 | cut -d' ' -f2 | tr -d '\r')" AccessDeniedException
check "printed line 3: Lambda's body" "$(tr -d '\r' <body.3 | sed '1,/^$/d' | jq -r .Message | cut -d. -f1)" Forbidden
check "the edges' requests were signed: the function URL logged no refusal but line 3's" \
    "$(cat "$T"/nearjs-run.*/gateway-*.log | grep -c '403 AccessDeniedException')" 1

edit=$(grep '^jq ' run.out)
check "an edit command printed (write a new file, then mv)" "$(grep -c '\.tmp && mv ' <<<"$edit")" 1
eval "$edit"
check "the edit ran" "$?" 0
for i in 0 1; do
    eval "${lines[$i]} -sS --max-time 10 -o after.$i"
    check "edit visible on the next request through the ${regions[$i]} edge" "$(grep -c '"title":"Edited at ' after.$i)" 1
done

kill -INT "$RUN"
rc=timeout
for _ in $(seq 150); do
    if ! kill -0 "$RUN" 2>/dev/null; then
        wait "$RUN"
        rc=$?
        break
    fi
    sleep 0.1
done
check "SIGINT: the script exits 0" "$rc" 0
left=()
for p in "${started[@]}"; do kill -0 "$p" 2>/dev/null && left+=("$p $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)"); done
check "SIGINT: nothing it started is left running" "${left[*]:-none}" none
check "SIGINT: its scratch folder is removed" "$(ls -d "$T"/nearjs-run.* 2>/dev/null | wc -l)" 0

# A taken port: fails at once, naming it. A listener on the base port's second gateway port.
BASE=$(free_base)
python3 -c 'import socket,sys,time; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(); time.sleep(60)' \
    $((BASE + 10)) &
HOLD=$!
PIDS+=("$HOLD")
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$((BASE + 10))") 2>/dev/null && break; sleep 0.05; done
start=$(date +%s%N)
PORT=$BASE TMPDIR=$T DEMO_STORE=$T/store timeout 20 "$ROOT/scripts/run-demo.sh" "$BUILD" >taken.out 2>taken.err
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
check "taken port: exit 1" "$rc" 1
check "taken port: the message names it" "$(grep -c "port $((BASE + 10)) on 127.0.0.1 is taken" taken.err)" 1
echo "     (failed after $ms ms: $(cat taken.err))"
check "taken port: nothing started (no scratch folder left)" "$(ls -d "$T"/nearjs-run.* 2>/dev/null | wc -l)" 0

if [ "$FAILS" -ne 0 ]; then
    echo "--- run.err"
    cat run.err
    exit 1
fi
echo "all make run tests passed"
