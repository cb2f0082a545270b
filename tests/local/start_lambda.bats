#!/usr/bin/env bats
# nearjs-local start-lambda against the real aws CLI (`aws lambda invoke --endpoint-url`), one test per
# invocation type, plus the API's own errors checked with curl. Dummy credentials; loopback only.

load serve_lib

setup() {
    serve_setup
    # The aws beside the Python the AWS-side tests use (scripts/find-aws-python.sh), else any on PATH.
    AWS=
    [ -n "${NEARJS_AWS_PYTHON:-}" ] && [ -x "$(dirname "$NEARJS_AWS_PYTHON")/aws" ] && AWS=$(dirname "$NEARJS_AWS_PYTHON")/aws
    [ -n "$AWS" ] || AWS=$(command -v aws || true)
    # aws CLI v2 reads --payload as base64 unless told otherwise; v1 knows no such flag.
    AWS_PAYLOAD_FLAGS=()
    [ -n "$AWS" ] && "$AWS" --version 2>&1 | grep -q '^aws-cli/2' && AWS_PAYLOAD_FLAGS=(--cli-binary-format raw-in-base64-out)
    export AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_SESSION_TOKEN=x AWS_DEFAULT_REGION=us-east-1
    export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_PAGER=
}

teardown() {
    serve_teardown
}

need_aws() {
    [ -n "$AWS" ] || skip "aws CLI not found (make test installs Debian's awscli, through scripts/setup.sh)"
}

# invoke ARGS...: aws lambda invoke against the server; metadata JSON in $T/meta, payload in $T/out
invoke() {
    set +e
    "$AWS" lambda invoke --endpoint-url "$URL" --region us-east-1 --function-name apigw-bootstrap \
        "${AWS_PAYLOAD_FLAGS[@]}" "$@" \
        "$T/out" >"$T/meta" 2>"$T/aws_err"
    status=$?
    set -e
}

@test "RequestResponse: payload back, ExecutedVersion, no FunctionError" {
    need_aws
    start_server start-lambda --workers 1 "$FN"
    invoke --payload '{"hello":"world"}'
    [ "$status" -eq 0 ] || fail_with "aws: $(cat "$T/aws_err")"
    [ "$(cat "$T/out")" = '{"hello":"world"}' ] || fail_with "payload: $(cat "$T/out")"
    [ "$(jq_py "$T/meta" 'd["StatusCode"]')" = 200 ] || fail_with "status"
    [ "$(jq_py "$T/meta" 'd["ExecutedVersion"]')" = '$LATEST' ] || fail_with "version"
    [ "$(jq_py "$T/meta" '"FunctionError" in d')" = False ] || fail_with "function error"
}

@test "Tail: LogResult is the invocation's log, base64, START to REPORT" {
    need_aws
    start_server start-lambda --workers 1 "$FN"
    invoke --payload '{}' --log-type Tail
    [ "$status" -eq 0 ] || fail_with "aws: $(cat "$T/aws_err")"
    jq_py "$T/meta" 'd["LogResult"]' | base64 -d >"$T/log"
    grep -q '^START RequestId: .* Version: \$LATEST' "$T/log" || fail_with "START: $(cat "$T/log")"
    grep -q '^apigw-bootstrap: (no path)' "$T/log" || fail_with "function's line: $(cat "$T/log")"
    grep -q '^END RequestId:' "$T/log" || fail_with "END"
    grep -q '^REPORT RequestId: .*Duration' "$T/log" || fail_with "REPORT"
    [ "$(grep -c '^START' "$T/log")" = 1 ] || fail_with "another invocation's lines"
}

@test "function error and crash: FunctionError Unhandled with the error document" {
    need_aws
    start_server start-lambda --workers 1 "$FN"
    invoke --payload '"fail"'
    [ "$status" -eq 0 ] || fail_with "aws: $(cat "$T/aws_err")"
    [ "$(jq_py "$T/meta" 'd["FunctionError"]')" = Unhandled ] || fail_with "FunctionError"
    [ "$(jq_py "$T/out" 'd["errorType"]')" = Test.Failed ] || fail_with "errorType"
    invoke --payload '"crash"'
    [ "$(jq_py "$T/meta" 'd["FunctionError"]')" = Unhandled ] || fail_with "crash FunctionError"
    [ "$(jq_py "$T/out" 'd["errorType"]')" = Runtime.ExitError ] || fail_with "crash errorType"
    invoke --payload '{"after":"ok"}'
    [ "$(cat "$T/out")" = '{"after":"ok"}' ] || fail_with "after the crash"
}

@test "Event: 202 at once, the invocation still runs" {
    need_aws
    start_server start-lambda --workers 1 "$FN"
    invoke --invocation-type Event --payload '{"async":1}'
    [ "$status" -eq 0 ] || fail_with "aws: $(cat "$T/aws_err")"
    [ "$(jq_py "$T/meta" 'd["StatusCode"]')" = 202 ] || fail_with "status"
    local i
    for i in $(seq 1 40); do grep -q '^END RequestId' "$T/err" && break; sleep 0.05; done
    grep -q '^END RequestId' "$T/err" || fail_with "the event never ran"
}

@test "DryRun: 204, nothing runs" {
    need_aws
    start_server start-lambda --workers 1 "$FN"
    invoke --invocation-type DryRun
    [ "$status" -eq 0 ] || fail_with "aws: $(cat "$T/aws_err")"
    [ "$(jq_py "$T/meta" 'd["StatusCode"]')" = 204 ] || fail_with "status"
    ! grep -q '^START RequestId' "$T/err" || fail_with "DryRun invoked the function"
}

@test "API errors: unknown function, bad invocation type, payload not JSON, unknown operation" {
    start_server start-lambda --workers 1 "$FN"
    if [ -n "$AWS" ]; then
        set +e
        "$AWS" lambda invoke --endpoint-url "$URL" --region us-east-1 --function-name nope "$T/out" 2>"$T/aws_err"
        status=$?
        set -e
        [ "$status" -ne 0 ] && grep -q 'ResourceNotFoundException' "$T/aws_err" || fail_with "nope: $(cat "$T/aws_err")"
    fi
    req -X POST "$URL/2015-03-31/functions/apigw-bootstrap/invocations" -H 'X-Amz-Invocation-Type: Sometimes'
    [ "$code" = 400 ] && [ "$(header x-amzn-errortype)" = InvalidParameterValueException ] || fail_with type
    req -X POST "$URL/2015-03-31/functions/apigw-bootstrap/invocations" --data-binary 'not json'
    [ "$code" = 400 ] && [ "$(header x-amzn-errortype)" = InvalidRequestContentException ] || fail_with json
    req "$URL/2015-03-31/functions"
    [ "$code" = 404 ] && [ "$(header x-amzn-errortype)" = UnknownOperationException ] || fail_with operation
    # the full ARN with a qualifier names the function too
    req -X POST "$URL/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Aapigw-bootstrap%3A%24LATEST/invocations" -d '{"arn":1}'
    [ "$code" = 200 ] && [ "$body" = '{"arn":1}' ] || fail_with arn
}
