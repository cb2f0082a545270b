#!/bin/bash
# Answers an invocation that does not exist, then asks a path that does not exist, then answers properly.
. "$(dirname "$0")/lib.sh"
next
post "invocation/00000000-0000-4000-8000-000000000000/response" --data-binary '"wrong"'
out=$(curl -sS -w ' %{http_code}' "$api/no/such/path")
echo "badid.sh: answer to no/such/path: $out" >&2
post "invocation/$id/response" --data-binary '"right"'
next
