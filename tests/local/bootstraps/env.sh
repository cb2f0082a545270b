#!/bin/bash
# Answers with the environment it was given, as a JSON object of strings (jq-free: python3).
. "$(dirname "$0")/lib.sh"
next
python3 -c 'import json, os; print(json.dumps(dict(os.environ)), end="")' |
    curl -sS -o /dev/null -X POST --data-binary @- "$api/invocation/$id/response"
next
