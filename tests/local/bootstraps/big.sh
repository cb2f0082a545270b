#!/bin/bash
# Answers with a payload one byte over Lambda's 6291556-byte cap (or $BIG_SIZE bytes).
. "$(dirname "$0")/lib.sh"
next
file=$(mktemp)
head -c "${BIG_SIZE:-6291557}" /dev/zero | tr '\0' 'a' > "$file"
post "invocation/$id/response" --data-binary "@$file"
rm -f "$file"
next
