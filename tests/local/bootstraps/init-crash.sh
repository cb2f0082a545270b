#!/bin/bash
# Dies before ever asking for an event.
echo "init-crash.sh: cannot start" >&2
exit 7
