#!/bin/bash
# Answers the same invocation twice.
. "$(dirname "$0")/lib.sh"
next
post "invocation/$id/response" --data-binary '"first"'
post "invocation/$id/response" --data-binary '"second"'
next
