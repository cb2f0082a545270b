#!/usr/bin/env bash
# scripts/find-aws-python.sh installs the AWS-side test tools at pinned versions: every pin is name==version,
# and each equals what the Python the tests run with has (the versions moto's behaviour was checked
# against, tests/deploy/README.md). Skipped (77) without such a Python.
set -u
ROOT_DIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
edge_test_begin aws-pins
PY=$("$ROOT_DIR/scripts/find-aws-python.sh" --no-install) || { echo "SKIP: no python3 with moto"; exit 77; }
pins=$("$ROOT_DIR/scripts/find-aws-python.sh" --pins 2>&1)
check "find-aws-python.sh --pins lists pins" "$(grep -c . <<<"$pins")" 6
check "every pin is name==version" "$(grep -cvE '^[A-Za-z0-9_.-]+(\[[a-z]+\])?==[0-9]+(\.[0-9]+)+$' <<<"$pins")" 0
for p in moto boto3 botocore awscli cfn-lint aws-sam-translator; do
    want=$(grep -E "^$p(\[[a-z]+\])?==" <<<"$pins" | sed 's/.*==//')
    have=$("$PY" -c 'import sys, importlib.metadata as m; print(m.version(sys.argv[1]))' "$p" 2>/dev/null)
    check "$p pinned at what the tests run with ($have)" "$want" "$have"
done
[ "$FAILS" -eq 0 ] || exit 1
echo "aws pins: all passed"
