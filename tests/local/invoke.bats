#!/usr/bin/env bats
# nearjs-local invoke against real runtime processes: the bootstraps in bootstraps/ speak the Runtime
# API with curl (or by hand over /dev/tcp where curl cannot, e.g. trailers). Each test checks stdout
# (the payload), stderr (Lambda's lines, the runtime's output, our notices) and the exit code.
# Variables for a bootstrap go through --env-vars: like Lambda, invoke passes none of its own environment.

setup() {
    BIN=${NEARJS_BIN:?NEARJS_BIN must name the bin folder of a build}/nearjs-local
    B=$BATS_TEST_DIRNAME/bootstraps
    T=$(mktemp -d)
}

teardown() {
    rm -rf "$T"
}

# inv ARGS...: runs invoke, stdout to $T/out, stderr to $T/err; sets $status
inv() {
    set +e
    "$BIN" invoke "$@" >"$T/out" 2>"$T/err"
    status=$?
    set -e
    out=$(cat "$T/out")
    err=$(cat "$T/err")
}

# json_get FILE PATH: prints a value of the JSON in FILE (PATH like ["errorType"])
json_get() {
    python3 -c 'import json,sys; print(eval("json.load(open(sys.argv[1]))" + sys.argv[2]))' "$1" "$2"
}

# check KEY VALUE: the runtime's environment (env.sh's payload) has KEY=VALUE
check() {
    local got
    got=$(json_get "$T/out" "[\"$1\"]")
    [ "$got" = "$2" ] || fail_with "$1: want '$2', got '$got'"
}

# absent KEY: the runtime's environment has no KEY
absent() {
    python3 -c 'import json,sys; sys.exit(sys.argv[2] in json.load(open(sys.argv[1])))' "$T/out" "$1" ||
        fail_with "$1 should not be set"
}

fail_with() {
    echo "$1"
    echo "--- stdout:"; cat "$T/out"
    echo "--- stderr:"; cat "$T/err"
    return 1
}

@test "help: global and invoke usage list the exit codes" {
    run "$BIN" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"invoke BOOTSTRAP"* ]]
    run "$BIN" invoke --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Exit codes:"* ]]
    [[ "$output" == *"Sandbox.Timedout"* ]]
    run "$BIN" frobnicate
    [ "$status" -eq 2 ]
    [[ "$output" == *"unknown verb 'frobnicate'"* ]]
}

@test "usage errors: bad flags, missing and non-executable bootstraps exit 2 with one line" {
    inv --bogus "$B/echo.sh"
    [ "$status" -eq 2 ] || fail_with "bogus flag: $status"
    [[ "$err" == *"unknown or incomplete option '--bogus'"* ]]
    inv --timeout zero "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"--timeout 'zero'"* ]]
    inv "$B/does-not-exist"
    [ "$status" -eq 2 ] || fail_with "missing: $status"
    [[ "$err" == *"bootstrap '$B/does-not-exist': No such file or directory"* ]]
    [ "$(wc -l <"$T/err")" -eq 1 ]
    inv "$B/not-executable.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"is not an executable file: chmod +x it"* ]]
    mkdir "$T/empty"
    inv "$T/empty"
    [ "$status" -eq 2 ] && [[ "$err" == *"holds no 'bootstrap'"* ]]
    [ -z "$out" ]
}

@test "success: the payload on stdout byte for byte, Lambda lines on stderr" {
    printf '{"a":[1,2,3],"s":"h\\u00e9"}' >"$T/event.json"
    inv -e "$T/event.json" "$B/echo.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    cmp "$T/out" "$T/event.json" || fail_with "payload differs"
    id=$(grep -o '^START RequestId: [0-9a-f-]*' "$T/err" | awk '{print $3}')
    [[ "$id" =~ ^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$ ]] || fail_with "bad id '$id'"
    grep -qx "START RequestId: $id Version: \$LATEST" "$T/err"
    grep -qx "END RequestId: $id" "$T/err"
    grep -qP "^REPORT RequestId: $id\tDuration: [0-9]+\.[0-9]{2} ms\tBilled Duration: [0-9]+ ms\tMemory Size: 128 MB\tMax Memory Used: [0-9]+ MB\tInit Duration: [0-9]+\.[0-9]{2} ms$" "$T/err" ||
        fail_with "REPORT line"
    # the runtime's stdout went to our stderr, never into the payload
    grep -q '^echo.sh: stdout goes to stderr$' "$T/err"
}

@test "event headers: request id, deadline, function ARN and the X-Ray trace id shape" {
    inv --name fn-x "$B/echo.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    [ "$out" = "{}" ]
    id=$(grep -o '^START RequestId: [0-9a-f-]*' "$T/err" | awk '{print $3}')
    grep -qx "echo.sh: header Lambda-Runtime-Aws-Request-Id: $id" "$T/err"
    grep -qx 'echo.sh: header Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:[a-z0-9-]*:123456789012:function:fn-x' "$T/err"
    grep -qE '^echo.sh: header Lambda-Runtime-Trace-Id: Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0$' "$T/err" ||
        fail_with "trace id shape"
    deadline=$(grep -o 'Lambda-Runtime-Deadline-Ms: [0-9]*' "$T/err" | awk '{print $2}')
    now=$(date +%s%3N)
    [ "$deadline" -gt "$now" ] && [ "$deadline" -le $((now + 3000)) ] || fail_with "deadline $deadline vs now $now"
}

@test "stdin event and a bootstrap found by its folder" {
    echo '{"from":"stdin"}' >"$T/stdin.json"
    inv -e - "$B/echo.sh" <"$T/stdin.json"
    [ "$status" -eq 0 ] && [ "$out" = '{"from":"stdin"}' ] || fail_with 'stdin event'
    inv "$B/folder"
    [ "$status" -eq 0 ] || fail_with "status $status"
    [ "$out" = "\"$B/folder\"" ] || fail_with "cwd should be the task root"
    echo '{"broken":' >"$T/bad.json"
    inv -e "$T/bad.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"event '$T/bad.json': not JSON"* ]]
}

@test "environment: Lambda variables, env-vars sections, nothing else from the parent" {
    echo '{"Parameters": {"SHARED": "from-parameters", "OWN": "overridden", "NUM": 42, "FLAG": true},
           "envfn": {"OWN": "from-function"}, "otherfn": {"OTHER": "no"}}' >"$T/env.json"
    AWS_REGION=eu-west-3 AWS_ACCESS_KEY_ID=AKIDTEST AWS_SECRET_ACCESS_KEY=secret NEARJS_PARENT_ONLY=1 \
        inv --env-vars "$T/env.json" --name envfn --memory 256 "$B/env.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    check _HANDLER handler
    check LAMBDA_TASK_ROOT "$B"
    check LAMBDA_RUNTIME_DIR /var/runtime
    check AWS_LAMBDA_FUNCTION_NAME envfn
    check AWS_LAMBDA_FUNCTION_VERSION '$LATEST'
    check AWS_LAMBDA_FUNCTION_MEMORY_SIZE 256
    check AWS_LAMBDA_LOG_GROUP_NAME /aws/lambda/envfn
    check AWS_REGION eu-west-3
    check AWS_DEFAULT_REGION eu-west-3
    check AWS_EXECUTION_ENV AWS_Lambda_provided.al2023
    check AWS_ACCESS_KEY_ID AKIDTEST
    check AWS_SECRET_ACCESS_KEY secret
    check TZ :UTC
    check PATH /usr/local/bin:/usr/bin/:/bin:/opt/bin
    check SHARED from-parameters
    check OWN from-function
    check NUM 42
    check FLAG true
    api=$(json_get "$T/out" '["AWS_LAMBDA_RUNTIME_API"]')
    [[ "$api" =~ ^127\.0\.0\.1:[0-9]+$ ]] || fail_with "runtime api '$api'"
    stream=$(json_get "$T/out" '["AWS_LAMBDA_LOG_STREAM_NAME"]')
    stream_re='^[0-9]{4}/[0-9]{2}/[0-9]{2}/\[\$LATEST\][0-9a-f]{32}$'
    [[ "$stream" =~ $stream_re ]] || fail_with "log stream '$stream'"
    absent NEARJS_PARENT_ONLY
    absent OTHER
    absent AWS_SESSION_TOKEN
}

@test "env-vars: malformed files exit 2 naming the file and the problem" {
    printf '{"Parameters": {' >"$T/e1.json"
    inv --env-vars "$T/e1.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"env-vars file '$T/e1.json': not valid JSON: line 1"* ]] || fail_with "e1"
    echo '{"Parameters": ["A"]}' >"$T/e2.json"
    inv --env-vars "$T/e2.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"\"Parameters\" must be an object"* ]] || fail_with "e2"
    echo '{"echo.sh": {"A": {"nested": 1}}}' >"$T/e3.json"
    inv --env-vars "$T/e3.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"\"echo.sh\".\"A\": value must be a string, number or boolean"* ]] || fail_with "e3"
    echo '[1]' >"$T/e4.json"
    inv --env-vars "$T/e4.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"must be a JSON object"* ]] || fail_with "e4"
    inv --env-vars "$T/missing.json" "$B/echo.sh"
    [ "$status" -eq 2 ] && [[ "$err" == *"env-vars file '$T/missing.json': No such file or directory"* ]] || fail_with "e5"
    [ "$(wc -l <"$T/err")" -eq 1 ]
}

@test "handler error: the error JSON on stdout, exit 1" {
    inv "$B/error.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    [ "$out" = '{"errorMessage":"it broke","errorType":"HandlerFailed","stackTrace":[]}' ] || fail_with "out"
    [[ "$err" == *"answer to invocation/"*"/error: {\"status\":\"OK\"} 202"* ]]
    grep -q '^END RequestId: ' "$T/err"
}

@test "handler error with a body that is not JSON: accepted, reported with the headers type" {
    inv "$B/badjson-error.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    [ "$out" = '{"errorMessage":"not json at all","errorType":"Weird"}' ] || fail_with "out"
}

@test "init error: the runtimes init/error document, exit 1" {
    inv "$B/init-error.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    [ "$out" = '{"errorMessage":"no handler","errorType":"Runtime.HandlerNotFound"}' ] || fail_with "out"
    [[ "$err" == *"answer to init/error: {\"status\":\"OK\"} 202"* ]]
}

@test "crash: exit status and signals as Lambda words them" {
    inv "$B/crash.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    id=$(grep -o '^START RequestId: [0-9a-f-]*' "$T/err" | awk '{print $3}')
    [ "$out" = "{\"errorType\":\"Runtime.ExitError\",\"errorMessage\":\"RequestId: $id Error: Runtime exited with error: exit status 3\"}" ] ||
        fail_with "exit status"
    echo '{"Parameters": {"CRASH_SIGNAL": "SEGV"}}' >"$T/segv.json"
    inv --env-vars "$T/segv.json" "$B/crash.sh"
    [ "$status" -eq 1 ] && [[ "$out" == *'Error: Runtime exited with error: signal: segmentation fault"}' ]] || fail_with "segv"
    echo '{"Parameters": {"CRASH_SIGNAL": "KILL"}}' >"$T/kill.json"
    inv --env-vars "$T/kill.json" "$B/crash.sh"
    [ "$status" -eq 1 ] && [[ "$out" == *'Error: Runtime exited with error: signal: killed"}' ]] || fail_with "kill"
    inv "$B/init-crash.sh"
    [ "$status" -eq 1 ] && [[ "$out" == *'"errorType":"Runtime.ExitError"'*'exit status 7"}' ]] || fail_with "init crash"
    grep -q '^REPORT RequestId: ' "$T/err"
}

@test "timeout: Task timed out line, Sandbox.Timedout, the whole process group killed" {
    echo "{\"Parameters\": {\"SLEEP_PIDFILE\": \"$T/sleep.pid\"}}" >"$T/env.json"
    start=$(date +%s%N)
    inv --timeout 1 --env-vars "$T/env.json" "$B/sleep.sh"
    elapsed_ms=$((($(date +%s%N) - start) / 1000000))
    [ "$status" -eq 1 ] || fail_with "status $status"
    id=$(grep -o '^START RequestId: [0-9a-f-]*' "$T/err" | awk '{print $3}')
    [ "$out" = "{\"errorType\":\"Sandbox.Timedout\",\"errorMessage\":\"RequestId: $id Error: Task timed out after 1.00 seconds\"}" ] ||
        fail_with "out"
    grep -qE "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z $id Task timed out after 1.00 seconds$" "$T/err" || fail_with "line"
    [ "$elapsed_ms" -lt 5000 ] || fail_with "took ${elapsed_ms} ms"
    pid=$(cat "$T/sleep.pid")
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    ! kill -0 "$pid" 2>/dev/null || fail_with "the runtime's child $pid survived"
}

@test "response over 6291556 bytes: 413 to the runtime, Function.ResponseSizeTooLarge from invoke" {
    inv "$B/big.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    [ "$out" = '{"errorMessage":"Response payload size (6291557 bytes) exceeded maximum allowed payload size (6291556 bytes).","errorType":"Function.ResponseSizeTooLarge"}' ] ||
        fail_with "out"
    [[ "$err" == *'{"errorMessage":"Exceeded maximum allowed payload size (6291556 bytes).","errorType":"RequestEntityTooLarge"} 413'* ]] ||
        fail_with "413 to the runtime"
    # exactly at the cap is fine
    echo '{"Parameters": {"BIG_SIZE": 6291556}}' >"$T/env.json"
    inv --env-vars "$T/env.json" "$B/big.sh"
    [ "$status" -eq 0 ] || fail_with "at the cap: status $status"
    [ "$(wc -c <"$T/out")" -eq 6291556 ]
}

@test "response posted twice: the second gets 403 InvalidStateTransition, the first stands" {
    inv "$B/twice.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    [ "$out" = '"first"' ]
    [[ "$err" == *'"errorType":"InvalidStateTransition"} 403'* ]] || fail_with "403"
    [ "$(grep -c 'nearjs-local: runtime api: POST .* 403 InvalidStateTransition' "$T/err")" -eq 1 ]
}

@test "unknown request id gets 400 InvalidRequestID, unknown path 404; the invocation goes on" {
    inv "$B/badid.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    [ "$out" = '"right"' ]
    [[ "$err" == *'{"errorMessage":"Invalid request ID","errorType":"InvalidRequestID"} 400'* ]] || fail_with "400"
    [[ "$err" == *'answer to no/such/path: {"errorMessage":"Not Found","errorType":"NotFound"} 404'* ]] || fail_with "404"
    grep -q 'runtime api: POST /2018-06-01/runtime/invocation/00000000-0000-4000-8000-000000000000/response: 400' "$T/err"
    grep -q 'runtime api: GET /2018-06-01/runtime/no/such/path: 404' "$T/err"
}

@test "streaming response: chunks collected into the payload" {
    inv "$B/stream.sh"
    [ "$status" -eq 0 ] || fail_with "status $status"
    [ "$out" = 'hello, streamed world' ] || fail_with "out"
}

@test "streaming response with error trailers: the decoded error, exit 1" {
    echo '{"Parameters": {"STREAM_FAIL": "1"}}' >"$T/env.json"
    inv --env-vars "$T/env.json" "$B/stream.sh"
    [ "$status" -eq 1 ] || fail_with "status $status"
    [ "$out" = '{"errorMessage":"midway","errorType":"StreamBroke"}' ] || fail_with "out"
    [[ "$err" == *"stream.sh: answer: HTTP/1.1 202 Accepted"* ]]
}
