#!/bin/bash
# Streams its response in chunks; with STREAM_FAIL=1 it ends with error trailers instead.
. "$(dirname "$0")/lib.sh"
next
trailer_args=()
if [ "${STREAM_FAIL:-0}" = 1 ]; then
    body=$(printf '%s' '{"errorMessage":"midway","errorType":"StreamBroke"}' | base64 -w0)
    # curl cannot send trailers: write the chunked request by hand over bash's /dev/tcp
    exec 3<>"/dev/tcp/${AWS_LAMBDA_RUNTIME_API%:*}/${AWS_LAMBDA_RUNTIME_API#*:}"
    printf 'POST /2018-06-01/runtime/invocation/%s/response HTTP/1.1\r\nHost: x\r\nLambda-Runtime-Function-Response-Mode: streaming\r\nTransfer-Encoding: chunked\r\nTrailer: Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body\r\n\r\n' "$id" >&3
    printf '5\r\nhello\r\n' >&3
    printf '0\r\nLambda-Runtime-Function-Error-Type: StreamBroke\r\nLambda-Runtime-Function-Error-Body: %s\r\n\r\n' "$body" >&3
    IFS= read -r status <&3
    echo "stream.sh: answer: $status" >&2
    exec 3>&-
else
    { printf 'hello, '; sleep 0.2; printf 'streamed '; sleep 0.2; printf 'world'; } |
        curl -sS -o /dev/null -X POST -H 'Lambda-Runtime-Function-Response-Mode: streaming' \
            -H 'Transfer-Encoding: chunked' --data-binary @- "$api/invocation/$id/response"
fi
next
