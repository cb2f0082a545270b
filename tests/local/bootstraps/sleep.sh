#!/bin/bash
# Takes the event and never answers (a child process sleeps too, to check the whole group is killed).
. "$(dirname "$0")/lib.sh"
next
sleep 60 &
echo "$!" > "${SLEEP_PIDFILE:-/dev/null}"
wait
