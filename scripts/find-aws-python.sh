#!/usr/bin/env bash
# Prints the path of a python3 that has what the AWS-side tests need (moto with its server, boto3) and
# an `aws` CLI beside it. Looks, in order, at $NEARJS_AWS_PYTHON, python3 on PATH, every pyenv
# version, and the project's own .venv; where none has them, creates .venv with Debian's python3 and
# pip-installs them there, at pinned versions (a user's machine; needs PyPI). --no-install: look only.
# --pins: print the pinned versions.
# Exit: 0 found (path on stdout), 1 none to be had (why on stderr).
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv="$root/.venv"
install=1
[ "${1:-}" = "--no-install" ] && install=0

AWS_TEST_PINS=('moto[server]==5.2.1' 'boto3==1.43.11' 'botocore==1.43.11' 'awscli==1.45.11' 'cfn-lint==1.51.0'
    'aws-sam-translator==1.110.0')

# --pins: print the pins, one a line (tests/deploy/aws_pins.sh checks them against what the tests run with).
if [ "${1:-}" = "--pins" ]; then
    printf '%s\n' "${AWS_TEST_PINS[@]}"
    exit 0
fi

usable() {
    [ -x "$1" ] && "$1" -c 'import moto, moto.server, boto3' >/dev/null 2>&1 && [ -x "$(dirname "$1")/aws" ]
}

candidates=()
[ -n "${NEARJS_AWS_PYTHON:-}" ] && candidates+=("$NEARJS_AWS_PYTHON")
command -v python3 >/dev/null && candidates+=("$(command -v python3)")
for home in "${PYENV_ROOT:-}" "$HOME/.pyenv" /root/.pyenv; do
    [ -n "$home" ] && [ -d "$home/versions" ] || continue
    while IFS= read -r py; do candidates+=("$py"); done < <(ls -d "$home"/versions/*/bin/python3 2>/dev/null | sort -rV)
done
candidates+=("$venv/bin/python3")

for py in "${candidates[@]}"; do
    # pyenv's shim on PATH is a script: resolve it to the real interpreter so the aws beside it is found.
    real=$("$py" -c 'import sys; print(sys.executable)' 2>/dev/null) || continue
    if usable "$real"; then
        echo "$real"
        exit 0
    fi
done

if [ $install -eq 0 ]; then
    echo "find-aws-python: no python3 with moto, boto3 and the aws CLI (run scripts/find-aws-python.sh to install them into .venv)" >&2
    exit 1
fi
echo "find-aws-python: no python3 with moto, boto3 and the aws CLI: installing them into $venv" >&2
if ! /usr/bin/python3 -m venv "$venv" >&2; then
    echo "find-aws-python: cannot create $venv (apt-get install python3-venv)" >&2
    exit 1
fi
# Pinned: the versions the deploy tests were checked against (moto's behaviour call by call changes
# between releases; deploy/README.md, tests/deploy/README.md), and no surprise release runs here.
if ! "$venv/bin/pip" install -q "${AWS_TEST_PINS[@]}" >&2; then
    echo "find-aws-python: pip install into $venv failed (no access to PyPI?): the AWS-side tests cannot run" >&2
    exit 1
fi
usable "$venv/bin/python3" && { echo "$venv/bin/python3"; exit 0; }
echo "find-aws-python: $venv lacks moto, boto3 or aws after installing" >&2
exit 1
