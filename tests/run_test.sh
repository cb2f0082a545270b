#!/usr/bin/env bash
# Every ctest test runs under this script (CMake's nearjs_test registers it so): the skip policy in one
# place (docs/ARCHITECTURE.md, "Registering a test, and skips"). It runs the test, passes its output
# through, and reads what the test skipped:
#   - the whole test: exit 77; the test's last line saying SKIP or skipped tells why;
#   - single cases: Python unittest's "... skipped 'why'" lines (and the "skipped=N" of its summary, for a
#     run without verbosity=2), bats's "ok N name # skip why", and a script's own "SKIP-CASE case: why" lines.
# Each skip is written to RECORD_DIR/NAME; `make test` names them all at its end (tests/skip_report.sh).
# Under CI=true a skip that tests/skips-allowed does not list fails the test (exit 1), with one line saying
# what was skipped and why: in CI, a test that did not run is not a pass.
# Usage: run_test.sh RECORD_DIR NAME COMMAND [ARG...]
# NEARJS_SKIPS_ALLOWED overrides the allow-list's path (the policy's own test uses it).
set -uo pipefail
[ $# -ge 3 ] || { echo "usage: run_test.sh RECORD_DIR NAME COMMAND [ARG...]" >&2; exit 2; }
record_dir=$1 name=$2
shift 2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
allowed=${NEARJS_SKIPS_ALLOWED:-$here/skips-allowed}
mkdir -p "$record_dir"
record="$record_dir/$name"
rm -f "$record"
log=$(mktemp "${TMPDIR:-/tmp}/nearjs-test.XXXXXX")
trap 'rm -f "$log"' EXIT

"$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}

# Skipped cases, one "case<TAB>reason" a line, from the captured output.
read -r -d '' parse <<'AWK'
# unittest, verbosity=2: "test_x (mod.Class.test_x) ... skipped 'why'" (or "why" in double quotes: Python's
# repr, when the reason holds a single quote), or the name on a line of its own when the case printed
# something before its verdict; a subTest's verdict comes indented, its parameters after the name.
/^ *test[^ ]* \([^)]*\).* \.\.\. / { last = $1 }
/(^| \.\.\. )skipped [\047\042].*[\047\042]$/ {
    line = $0; sub(/^.*skipped [\047\042]/, "", line); sub(/[\047\042]$/, "", line)
    if ($0 ~ /^ *test[^ ]* \(/) last = $1
    print (last == "" ? "(unnamed case)" : last) "\t" line; named++; last = ""; next
}
# unittest summary: "OK (skipped=2)" or "FAILED (failures=1, skipped=2)".
/^(OK|FAILED) \(.*skipped=[0-9]+/ {
    n = $0; sub(/^.*skipped=/, "", n); sub(/[^0-9].*$/, "", n); summary += n
}
# bats (TAP): "ok 3 the case # skip why"
/^ok [0-9]+ .* # skip/ {
    c = $0; sub(/^ok [0-9]+ /, "", c); why = c; sub(/ # skip.*$/, "", c); sub(/^.* # skip ?/, "", why)
    print c "\t" (why == "" ? "(no reason given)" : why); next
}
# a script of ours: "SKIP-CASE case: why"
/^SKIP-CASE [^:]+: / { c = $0; sub(/^SKIP-CASE /, "", c); why = c; sub(/: .*$/, "", c); sub(/^[^:]+: /, "", why); print c "\t" why }
END { if (summary > named) print "(" summary - named " unittest cases; run with verbosity=2 to name them)\tskipped" }
AWK
cases=$(awk "$parse" "$log" | awk '!seen[$0]++')

is_allowed() { # is_allowed KEY: KEY (NAME or NAME:CASE) is listed, with a reason, in the allow-list
    [ -f "$allowed" ] && awk -v k="$1" '!/^[ \t]*(#|$)/ && $1 == k && NF >= 2 { found = 1 } END { exit !found }' "$allowed"
}

strict=0
case "${CI:-}" in true | 1 | yes) strict=1 ;; esac
failed_policy=0

if [ "$rc" -eq 77 ]; then
    why=$(grep -iE 'skip' "$log" | tail -n 1)
    [ -n "$why" ] || why=$(tail -n 1 "$log")
    printf 'test\t%s\n' "${why:-(no reason printed)}" >>"$record"
    if [ $strict -eq 1 ] && ! is_allowed "$name"; then
        echo "FAIL $name: skipped under CI=true, and tests/skips-allowed does not allow it: ${why:-(no reason printed)}"
        failed_policy=1
    fi
fi
if [ -n "$cases" ]; then
    while IFS=$'\t' read -r c why; do
        printf 'case\t%s\t%s\n' "$c" "$why" >>"$record"
        if [ $strict -eq 1 ] && ! is_allowed "$name:$c"; then
            echo "FAIL $name: case $c skipped under CI=true, and tests/skips-allowed does not allow it: $why"
            failed_policy=1
        fi
    done <<<"$cases"
fi
[ $failed_policy -eq 1 ] && exit 1
exit "$rc"
