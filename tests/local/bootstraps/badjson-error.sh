#!/bin/bash
# Reports a handler error whose body is not JSON.
. "$(dirname "$0")/lib.sh"
next
post "invocation/$id/error" -H 'Lambda-Runtime-Function-Error-Type: Weird' --data-binary 'not json at all'
next
