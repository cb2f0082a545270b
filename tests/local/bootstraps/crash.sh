#!/bin/bash
# Takes the event, then dies: with exit status $CRASH_STATUS, or by signal $CRASH_SIGNAL.
. "$(dirname "$0")/lib.sh"
next
echo "crash.sh: going down" >&2
if [ -n "${CRASH_SIGNAL:-}" ]; then
    kill -s "$CRASH_SIGNAL" $$
fi
exit "${CRASH_STATUS:-3}"
