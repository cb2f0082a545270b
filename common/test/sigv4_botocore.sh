#!/usr/bin/env bash
# common/sigv4 against botocore's SigV4Auth (see sigv4_botocore.py). Skips (77) where no python3 with
# botocore is to be had (scripts/find-aws-python.sh). Usage: sigv4_botocore.sh path/to/sigv4_tool
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
PY=$("$here/../../scripts/find-aws-python.sh" --no-install) || {
    echo "SKIP: no python3 with botocore (make test installs one through scripts/find-aws-python.sh)"
    exit 77
}
exec "$PY" "$here/sigv4_botocore.py" "$1"
