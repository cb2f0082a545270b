#!/bin/bash
# Reports a handler error for the first event.
. "$(dirname "$0")/lib.sh"
next
post "invocation/$id/error" -H 'Lambda-Runtime-Function-Error-Type: HandlerFailed' \
    --data-binary '{"errorMessage":"it broke","errorType":"HandlerFailed","stackTrace":[]}'
next
