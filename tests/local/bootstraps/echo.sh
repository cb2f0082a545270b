#!/bin/bash
# Echo runtime: answers each event with the event itself. Prints what a test may check on stderr.
set -u
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
echo "echo.sh: init handler=$_HANDLER root=$LAMBDA_TASK_ROOT name=$AWS_LAMBDA_FUNCTION_NAME" >&2
while true; do
    headers=$(mktemp)
    event=$(curl -sS -D "$headers" "$api/invocation/next") || exit 1
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers" | tr -d '\r' | awk '{print $2}')
    grep -i '^lambda-runtime-' "$headers" | tr -d '\r' | sed 's/^/echo.sh: header /' >&2
    rm -f "$headers"
    echo "echo.sh: stdout goes to stderr"
    printf '%s' "$event" | curl -sS -o /dev/null -X POST --data-binary @- "$api/invocation/$id/response" || exit 1
done
