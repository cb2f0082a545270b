#!/usr/bin/env bash
# scripts/store-edit.sh, the safe way `make run` tells users to change a store: the file is replaced by
# rename (a new inode; never truncated in place), invalid configs leave it alone, no temporary file is
# left behind, wrong use exits 2. Usage: store_edit.sh (paths from its own location).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
EDIT="$HERE/../../scripts/store-edit.sh"
T=$(mktemp -d /tmp/store-edit.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
check() { # name, got, want
    if [ "$2" = "$3" ]; then echo "ok   $1"; else echo "FAIL $1: got '$2', want '$3'"; FAILS=$((FAILS + 1)); fi
}
F="$T/acct/w.json"
mkdir "$T/acct"
printf '{"a":1}' >"$F"
ino=$(stat -c %i "$F")

# wrong use first
check "no argument: exit 2" "$("$EDIT" 2>/dev/null; echo $?)" 2
check "bad second argument: exit 2" "$("$EDIT" "$F" x 2>/dev/null; echo $?)" 2
check "missing folder: exit 2" "$(echo '{}' | "$EDIT" "$T/nope/x.json" - 2>/dev/null; echo $?)" 2
ln -s "$F" "$T/acct/link.json"
check "a link: exit 2" "$(echo '{}' | "$EDIT" "$T/acct/link.json" - 2>/dev/null; echo $?)" 2

# invalid content: refused, the file untouched
for bad in '{"a":' '[1,2]' '{"a":1,"a":2}' '{"a":NaN}'; do
    check "refused: $bad" "$(printf '%s' "$bad" | "$EDIT" "$F" - 2>/dev/null; echo $?) $(cat "$F") $(stat -c %i "$F")" \
        "1 {\"a\":1} $ino"
done
check "refusal names the cause" "$(printf '{"a":1,"a":2}' | "$EDIT" "$F" - 2>&1 >/dev/null | grep -c 'duplicate key')" 1

# stdin: replaced by rename
chmod 0640 "$F"
check "stdin: exit 0" "$(printf '{"price":417.73}' | "$EDIT" "$F" - 2>/dev/null; echo $?)" 0
check "stdin: new content" "$(cat "$F")" '{"price":417.73}'
check "stdin: a new inode (renamed, not rewritten)" "$([ "$(stat -c %i "$F")" != "$ino" ] && echo renamed)" renamed
check "mode kept" "$(stat -c %a "$F")" 640

# the editor: works on a copy, which is renamed in
cat >"$T/ed.sh" <<'ED'
#!/bin/sh
sed -i 's/417.73/9.5/' "$1"
ED
chmod +x "$T/ed.sh"
ino=$(stat -c %i "$F")
check "editor: exit 0" "$(EDITOR="$T/ed.sh" VISUAL= "$EDIT" "$F" 2>/dev/null; echo $?)" 0
check "editor: edited content, new inode" "$(cat "$F") $([ "$(stat -c %i "$F")" != "$ino" ] && echo renamed)" \
    '{"price":9.5} renamed'
check "editor without a change: exit 1" "$(EDITOR=true VISUAL= "$EDIT" "$F" 2>/dev/null; echo $?)" 1
check "editor failing: exit 1" "$(EDITOR=false VISUAL= "$EDIT" "$F" 2>/dev/null; echo $?)" 1
check "a new file" "$(printf 'x' | "$EDIT" "$T/acct/loader.js" - 2>/dev/null; echo $?) $(cat "$T/acct/loader.js")" "0 x"
check "no temporary file left" "$(find "$T/acct" -name '.*' | wc -l)" 0

[ "$FAILS" -eq 0 ] || exit 1
echo "all store-edit tests passed"
