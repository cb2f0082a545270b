# Shared by start_api.bats and start_lambda.bats: start a server on a free port (--port 0: the kernel picks
# it, the server prints it), wait until it listens and its runtimes are warm, and always stop it.

serve_setup() {
    BIN=${NEARJS_BIN:?NEARJS_BIN must name the bin folder of a build}/nearjs-local
    FN=${NEARJS_TEST_BIN:?NEARJS_TEST_BIN must name the folder of apigw-bootstrap}/apigw-bootstrap
    T=$(mktemp -d)
    SERVER_PID=
}

# Stops the server and fails the test unless it exited 0 (under ASan a leak or an error makes that 1).
serve_teardown() {
    local was_running=$SERVER_PID
    stop_server
    if [ -n "$was_running" ] && [ "$server_status" != 0 ]; then
        echo "server exit status $server_status:"
        tail -40 "$T/err"
        rm -rf "$T"
        return 1
    fi
    rm -rf "$T"
}

# start_server VERB ARGS...: starts nearjs-local VERB --port 0 ARGS..., stderr to $T/err; sets PORT, URL.
# Waits (5 s at most) until every runtime is warm.
start_server() {
    local verb=$1
    shift
    "$BIN" "$verb" --port 0 "$@" 2>"$T/err" >/dev/null &
    SERVER_PID=$!
    local i
    for i in $(seq 1 100); do
        if grep -q 'warm .* after start' "$T/err" 2>/dev/null; then
            PORT=$(grep -o 'listening on https\?://[^ ]*:[0-9]*' "$T/err" | grep -o '[0-9]*$')
            URL=http://127.0.0.1:$PORT
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            echo "server exited early:"
            cat "$T/err"
            SERVER_PID=
            return 1
        fi
        sleep 0.05
    done
    echo "server not warm after 5 s:"
    cat "$T/err"
    return 1
}

# stop_server: SIGTERM, then waits for the exit; sets server_status.
stop_server() {
    server_status=
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        set +e
        wait "$SERVER_PID"
        server_status=$?
        set -e
        SERVER_PID=
    fi
}

# req ARGS...: curl with the status in $code, headers in $T/h, body in $T/b.
req() {
    : >"$T/b" # curl writes no file for an answer without a body (304)
    code=$(curl -sS --max-time 20 -o "$T/b" -D "$T/h" -w '%{http_code}' "$@") || code=curl-failed
    body=$(cat "$T/b")
}

# header NAME: the value of response header NAME (case-insensitive; first one).
header() {
    grep -i "^$1:" "$T/h" | head -1 | cut -d' ' -f2- | tr -d '\r'
}

# jq_py FILE EXPR: evaluates a Python expression over the JSON in FILE bound as d.
jq_py() {
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"
}

fail_with() {
    echo "$1"
    echo "--- status: $code"
    echo "--- headers:"; cat "$T/h" 2>/dev/null || true
    echo "--- body:"; head -c 2000 "$T/b" 2>/dev/null || true; echo
    echo "--- server stderr:"; tail -40 "$T/err" 2>/dev/null || true
    return 1
}
