#!/bin/bash
# Fails its init and says so, as a runtime whose handler cannot load does.
. "$(dirname "$0")/lib.sh"
post "init/error" -H 'Lambda-Runtime-Function-Error-Type: Runtime.HandlerNotFound' \
    --data-binary '{"errorMessage":"no handler","errorType":"Runtime.HandlerNotFound"}'
exit 1
