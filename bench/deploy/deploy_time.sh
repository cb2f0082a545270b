#!/usr/bin/env bash
# bench/deploy/deploy_time.sh: `make deploy` for two regions (us-east-1, eu-west-1, MODE=direct) against a
# moto server on loopback (tests/deploy/moto_launcher.py): the first run's and a no-op re-run's wall time,
# and the no-op re-run's write calls (its call log; goal 0). With the aws CLI as one server per region (the
# default) and, for the no-op re-run, as one process per call (AWS_CLI_SERVER=0), Debian's v2 both times.
# Prints a markdown table on stdout. Usage: bench/deploy/deploy_time.sh ZIP   (~1-2 min)
set -euo pipefail
ZIP=${1:?usage: bench/deploy/deploy_time.sh ZIP}
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
PY=$("$SRC/scripts/find-aws-python.sh" --no-install) || { echo "bench/deploy: no python with moto (scripts/find-aws-python.sh)" >&2; exit 2; }
[ -x /usr/bin/aws ] || { echo "bench/deploy: no /usr/bin/aws (apt-get install awscli)" >&2; exit 2; }
T=$(mktemp -d /tmp/bench-deploy-time.XXXXXX)
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=0 "$PY" "$SRC/tests/deploy/moto_launcher.py" \
    -H 127.0.0.1 -p "$port" >"$T/moto.log" 2>&1 &
moto=$!
trap 'kill "$moto" 2>/dev/null; wait "$moto" 2>/dev/null; rm -rf "$T"' EXIT
export AWS_ENDPOINT_URL=http://127.0.0.1:$port AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_MAX_ATTEMPTS=1 \
    AWS_PAGER="" AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
for _ in $(seq 100); do curl -sf "$AWS_ENDPOINT_URL/moto-api/" >/dev/null && break; sleep 0.1; done
"$PY" -c "
import boto3; boto3.client('route53', endpoint_url='$AWS_ENDPOINT_URL', region_name='us-east-1').create_hosted_zone(
    Name='example.com', CallerReference='bench')"
export DOMAIN=example.com REGIONS=us-east-1,eu-west-1 MODE=direct ZIP AWS_CLI=/usr/bin/aws NEARJS_CONF=$SRC/deploy/nearjs.conf
export ROLLOUT=all-at-once # no gateway answers the canary checks here (moto runs no function)
run() { # label, env...: one deploy, timed; prints "label | seconds | writes | calls"
    local label=$1 t0 t1
    shift
    rm -f "$T/calls"
    t0=$EPOCHREALTIME
    env "$@" NEARJS_CALL_LOG="$T/calls" "$SRC/deploy/nearjs-deploy.sh" deploy >"$T/out" 2>&1 || { cat "$T/out" >&2; exit 1; }
    t1=$EPOCHREALTIME
    printf '| %s | %.1f s | %d | %d |\n' "$label" "$(echo "$t1 - $t0" | awk '{print $1 - $3}')" \
        "$(grep -c '^write ' "$T/calls" || true)" "$(wc -l <"$T/calls")"
}
echo "| make deploy, 2 regions, moto (aws CLI 2.9) | wall time | write calls | all calls |"
echo "|---|---|---|---|"
run "first run (CLI server)"
run "no-op re-run (CLI server)"
run "no-op re-run (one aws process per call)" AWS_CLI_SERVER=0
