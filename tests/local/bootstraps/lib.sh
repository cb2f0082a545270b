# Shared by the test bootstraps: fetch the next event into $event, its request id into $id, its
# headers into $headers_file. Plain curl, as a runtime without a client library would do it.
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime"
headers_file=$(mktemp)
trap 'rm -f "$headers_file"' EXIT
next() {
    event=$(curl -sS -D "$headers_file" "$api/invocation/next") || exit 1
    id=$(grep -i '^lambda-runtime-aws-request-id:' "$headers_file" | tr -d '\r' | awk '{print $2}')
}
# post PATH [curl args...]: posts and prints "STATUS BODY" of the answer to stderr, prefixed with the script name
post() {
    local path=$1
    shift
    local out
    out=$(curl -sS -w ' %{http_code}' -X POST "$@" "$api/$path")
    echo "$(basename "$0"): answer to $path: $out" >&2
}
