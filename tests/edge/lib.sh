# Sourced by the tests/edge scripts. edge_test_begin PREFIX makes a scratch folder $T (the working
# directory from then on), removed on exit together with every process in PIDS and every process group
# in GROUPS_STARTED (killed, pass or fail); check() counts failures in FAILS; free_port() prints a free
# loopback port; make_ca CN and mkcert FILE NAME [EXTENSION] make a throwaway CA and certificates it signs.

edge_test_begin() { # prefix
    T=$(mktemp -d "/tmp/$1.XXXXXX")
    PIDS=()
    GROUPS_STARTED=() # process groups (setsid): a gateway and its runtimes go together
    FAILS=0
    trap edge_test_cleanup EXIT
    trap 'exit 1' INT TERM
    cd "$T" || exit 1
}

edge_test_cleanup() {
    for g in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$T"
}

check() { # name, got, want
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; FAILS=$((FAILS + 1)); fi
}

# The kernel may hand the same ephemeral port to two binds in a row once the first socket is closed, so the
# ports already given in this test are remembered (in a file: callers use $(free_port), a subshell) and skipped.
free_port() {
    local given=${T:-/tmp}/.free-ports p
    for _ in 1 2 3 4 5 6 7 8; do
        p=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
        grep -qx "$p" "$given" 2>/dev/null || break
    done
    [ -n "${T:-}" ] && echo "$p" >>"$given"
    echo "$p"
}

make_ca() { # CN: ca.key, ca.pem
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem -days 2 \
        -subj "/CN=$1" 2>/dev/null
}

mkcert() { # file name [extension line]: FILE.key, FILE.pem for DNS:name, signed by ca.pem
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" 2>/dev/null
    printf 'subjectAltName=DNS:%s\n' "$2" >"$1.ext"
    [ -n "${3:-}" ] && printf '%s\n' "$3" >>"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}

# check_idle_cpu PID WHAT: the process's CPU time over 2 s (user + system ticks from /proc), checked to be
# near idle (at most 20 ticks, 0.2 core-seconds): a server out of descriptors must pause accepting, not spin.
check_idle_cpu() {
    local t0 t1
    t0=$(awk '{print $14 + $15}' "/proc/$1/stat")
    sleep 2
    t1=$(awk '{print $14 + $15}' "/proc/$1/stat")
    echo "     $2: CPU $((t1 - t0)) ticks in 2 s (100 ticks = 1 core-second)"
    check "no spin while the descriptor table is full" "$([ $((t1 - t0)) -le 20 ] && echo yes || echo "$((t1 - t0)) ticks")" yes
}

# await_log PID FILE PATTERN WHAT [TRIES]: waits (TRIES x 50 ms, default 200) until FILE has a line matching
# PATTERN (a server saying it is ready); fails the test, showing FILE, when PID exits or time runs out.
await_log() {
    for _ in $(seq "${5:-200}"); do
        grep -q "$3" "$2" 2>/dev/null && return 0
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    echo "FAIL $4 did not start:"
    cat "$2"
    exit 1
}
