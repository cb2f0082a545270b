#!/usr/bin/env bash
# Changes one file of a folder store safely while it is served: the new content is written to a
# temporary file in the same folder (a dot name no request can reach), checked, and renamed over the
# old one, so a request sees the old file or the new one, never half of it (an editor that saves in
# place, like `cat >file`, truncates then writes, and a request between the two is answered from a torn
# or empty file: the function refuses such reads, with a 503, rather than serve them).
#   scripts/store-edit.sh FILE        edit a copy with $VISUAL / $EDITOR (vi), then put it in place
#   scripts/store-edit.sh FILE -      take the new content from stdin
# A .json file must be a JSON object without duplicate keys (the function's rule), else nothing changes.
# Exit codes: 0 replaced, 1 refused (invalid JSON, editor failed, nothing changed), 2 usage.
set -euo pipefail
if [ $# -lt 1 ] || [ $# -gt 2 ] || { [ $# -eq 2 ] && [ "$2" != - ]; }; then
    echo "usage: store-edit.sh FILE [-]   (edit FILE with \$EDITOR, or '-' to read the new content from stdin)" >&2
    exit 2
fi
file=$1
dir=$(dirname "$file")
[ -d "$dir" ] || { echo "store-edit: folder '$dir' does not exist: create it first" >&2; exit 2; }
[ -L "$file" ] && { echo "store-edit: '$file' is a symbolic link: a store serves plain files only" >&2; exit 2; }
tmp=$(mktemp "$dir/.$(basename "$file").XXXXXX")
trap 'rm -f "$tmp"' EXIT
if [ "${2:-}" = - ]; then
    cat >"$tmp"
else
    [ -f "$file" ] && cp "$file" "$tmp"
    ${VISUAL:-${EDITOR:-vi}} "$tmp" || { echo "store-edit: the editor failed: '$file' unchanged" >&2; exit 1; }
    if [ -f "$file" ] && cmp -s "$file" "$tmp"; then
        echo "store-edit: no change: '$file' unchanged" >&2
        exit 1
    fi
fi
case $file in
*.json)
    if ! why=$(python3 -c '
import json, sys
def pairs(kv):
    keys = [k for k, _ in kv]
    dup = {k for k in keys if keys.count(k) > 1}
    if dup:
        raise ValueError("duplicate key %r" % sorted(dup)[0])
    return dict(kv)
def constant(c):
    raise ValueError("%s is not JSON" % c)
doc = json.load(open(sys.argv[1], encoding="utf-8"), object_pairs_hook=pairs, parse_constant=constant)
if not isinstance(doc, dict):
    raise ValueError("not a JSON object")
' "$tmp" 2>&1); then
        echo "store-edit: '$file' unchanged: the new content is not a valid config: ${why##*$'\n'}" >&2
        exit 1
    fi
    ;;
esac
[ -f "$file" ] && chmod --reference="$file" "$tmp" || chmod 0644 "$tmp"
mv -f "$tmp" "$file"
trap - EXIT
echo "store-edit: '$file' replaced (by rename: requests see the old or the new file, never a mix)" >&2
