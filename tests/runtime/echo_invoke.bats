#!/usr/bin/env bats
# The runtime's echo-bootstrap under the real Runtime API server, through `nearjs-local invoke`: every
# outcome a Lambda function can have, end to end between our two processes.
# Knobs reach the bootstrap through --env-vars (invoke, like Lambda, passes none of its own environment).

setup() {
    INVOKE=${NEARJS_BIN:?NEARJS_BIN must name the bin folder of a build}/nearjs-local
    ECHO=$NEARJS_BIN/echo-bootstrap
    T=$(mktemp -d)
}

teardown() {
    rm -rf "$T"
}

# inv ARGS...: invoke with stdout in $T/out, stderr in $T/err; sets $status, $out, $err
inv() {
    set +e
    "$INVOKE" invoke "$@" >"$T/out" 2>"$T/err"
    status=$?
    set -e
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# env_vars JSON: writes a SAM --env-vars file for the function named echo
env_vars() {
    printf '{"echo": %s}' "$1" >"$T/env.json"
}

jget() {
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/out" "$1"
}

@test "success: the event comes back byte for byte, REPORT with init duration" {
    printf '{"msg":"h\\u00e9llo \\u2028","n":[1,2,3]}' >"$T/event.json"
    inv -e "$T/event.json" --name echo "$ECHO"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/event.json"
    [[ "$err" == *"REPORT RequestId: "*"Init Duration: "* ]]
}

@test "handler error: exit 1, the error JSON with the handler's type" {
    echo '{"x":"fail"}' >"$T/event.json"
    inv -e "$T/event.json" --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Echo.Failed" ]
    [[ "$(jget errorMessage)" == "the event asked to fail (request "*")" ]]
}

@test "init error: exit 1, Runtime.InitError reported, the runtime's own line on stderr" {
    env_vars '{"ECHO_FAIL_INIT": "1"}'
    inv --env-vars "$T/env.json" --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Runtime.InitError" ]
    [[ "$err" == *"nearjs runtime: init failed: Runtime.InitError: echo: ECHO_FAIL_INIT is set"* ]]
}

@test "crash: exit 1, Runtime.ExitError naming the signal" {
    echo '["crash"]' >"$T/event.json"
    inv -e "$T/event.json" --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Runtime.ExitError" ]
    [[ "$(jget errorMessage)" == *"signal: aborted"* ]]
}

@test "timeout: exit 1, Task timed out after 1.00 seconds" {
    env_vars '{"ECHO_DELAY_MS": "5000"}'
    inv --env-vars "$T/env.json" --timeout 1 --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Sandbox.Timedout" ]
    [[ "$err" == *"Task timed out after 1.00 seconds"* ]]
}

@test "response over 6 MB: Function.ResponseSizeTooLarge, as Lambda words it" {
    # events are capped at 6 MB too, so the answer is the event twice over: 2 x 4000010 bytes
    python3 -c 'import sys; sys.stdout.write("{\"pad\":\"" + "a" * 4000000 + "\"}")' >"$T/event.json"
    env_vars '{"ECHO_REPEAT": "2"}'
    inv -e "$T/event.json" --env-vars "$T/env.json" --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Function.ResponseSizeTooLarge" ]
    [ "$(jget errorMessage)" = "Response payload size (8000020 bytes) exceeded maximum allowed payload size (6291556 bytes)." ]
}

@test "streaming: the body arrives whole, in 7-byte chunks" {
    python3 -c 'import sys; sys.stdout.write("{\"s\":\"" + "x" * 100000 + "\"}")' >"$T/event.json"
    env_vars '{"ECHO_STREAM": "1", "ECHO_CHUNK": "7"}'
    inv -e "$T/event.json" --env-vars "$T/env.json" --name echo "$ECHO"
    [ "$status" -eq 0 ]
    cmp "$T/out" "$T/event.json"
}

@test "streaming error mid-stream: the trailers reach invoke as the function's error" {
    echo '["fail-midstream"]' >"$T/event.json"
    env_vars '{"ECHO_STREAM": "1", "ECHO_CHUNK": "4"}'
    inv -e "$T/event.json" --env-vars "$T/env.json" --name echo "$ECHO"
    [ "$status" -eq 1 ]
    [ "$(jget errorType)" = "Echo.FailedMidStream" ]
}

@test "trace id: _X_AMZN_TRACE_ID is the invocation's Lambda-Runtime-Trace-Id; JSON logs carry the request id" {
    env_vars '{"AWS_LAMBDA_LOG_LEVEL": "DEBUG", "AWS_LAMBDA_LOG_FORMAT": "JSON"}'
    inv --env-vars "$T/env.json" --name echo "$ECHO"
    [ "$status" -eq 0 ]
    line=$(grep '"level":"DEBUG"' "$T/err")
    id=$(sed -n 's/^START RequestId: \([^ ]*\) .*/\1/p' "$T/err")
    python3 - "$line" "$id" <<'PY'
import json, re, sys
entry = json.loads(sys.argv[1])
assert entry["requestId"] == sys.argv[2], entry
m = re.fullmatch(r"echo: 2 bytes, _X_AMZN_TRACE_ID=(Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=[01])", entry["message"])
assert m, entry["message"]
PY
}
