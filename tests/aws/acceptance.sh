#!/usr/bin/env bash
# The acceptance run for a real AWS account (make acceptance): run it before trusting a new version of
# nearjs in your account. It costs money (a few cents: the table at the end says how much) and makes
# and removes real resources, so it only runs with NEARJS_REAL_AWS=1 and a throw-away STACK:
#
#   NEARJS_REAL_AWS=1 STACK=acc1 DOMAIN=example.com REGIONS=us-east-1,eu-west-1 \
#     CERT_FILE=fullchain.pem KEY_FILE=key.pem ROTATE_CERT_FILE=new.pem ROTATE_KEY_FILE=new.key make acceptance
#
# Steps, each timed: deploy two (or more) regions (MODE, default edge; ORIGIN, edge mode's default url);
# wait until each region's certificate is ISSUED and every health check of the stack is healthy to all
# Route53 checkers (HEALTH_WAIT, 600 s); publish SRC (function/demo) and fetch FETCH_PATH (/acme/main.js)
# through each region's gateway name <region>-fast.DOMAIN (MODE=direct or ORIGIN=apigw) and, in edge
# mode, through each edge's Elastic IP with the public name fast.DOMAIN (SNI and Host); rotate the certificate (ROTATE_CERT_FILE/ROTATE_KEY_FILE: a
# re-import, the custom domains keep their targets) and fetch again; destroy (DESTROY_CONTENT=1). Then a
# table of each step's time and the estimated cost of the run. Exit 0 all passed; 1 a step failed (the
# destroy still runs); 2 refused (settings).
#
# A STACK that already has a function in any of REGIONS is refused: this run destroys what it made.
# Tests (tests/aws/test_acceptance.sh) run it against moto through tests/deploy/realism.py with
# NEARJS_ACCEPTANCE_TEST=1; ACCEPTANCE_CONNECT_TO (curl --connect-to) and ACCEPTANCE_CACERT send the
# fetches to a local TLS server there, since moto has no data plane.
set -uo pipefail
ROOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DEPLOY=("$ROOT_DIR/deploy/nearjs-deploy.sh")

die() { printf 'acceptance: %s\n' "$*" >&2; exit 2; }

if [ "${NEARJS_REAL_AWS:-0}" != 1 ] && [ "${NEARJS_ACCEPTANCE_TEST:-0}" != 1 ]; then
    die "this deploys to and destroys in a real AWS account: set NEARJS_REAL_AWS=1 and a throw-away STACK to run it"
fi
[ -n "${STACK:-}" ] && [ "$STACK" != nearjs ] ||
    die "STACK: name a throw-away stack (e.g. STACK=acc-$(date +%m%d)); not the default 'nearjs', which may be yours"
: "${DOMAIN:?acceptance: DOMAIN=example.com (a Route53 public zone of this account holds it)}"
REGIONS=${REGIONS:-us-east-1,eu-west-1}
MODE=${MODE:-edge}
ORIGIN=${ORIGIN:-$([ "$MODE" = edge ] && echo url || echo apigw)}
SRC=${SRC:-$ROOT_DIR/function/demo}
FETCH_PATH=${FETCH_PATH:-/acme/main.js}
HEALTH_WAIT=${HEALTH_WAIT:-600}
[ "${REGIONS//[^,]/}" != "" ] || die "REGIONS=$REGIONS: name at least two regions (the run checks the fail-over set)"
if [ "$MODE" = edge ] || [ -n "${ROTATE_CERT_FILE:-}" ]; then
    [ -n "${CERT_FILE:-}" ] && [ -n "${KEY_FILE:-}" ] || die "CERT_FILE and KEY_FILE: the certificate for *.${DOMAIN} and its key"
    [ -r "${ROTATE_CERT_FILE:-}" ] && [ -r "${ROTATE_KEY_FILE:-}" ] ||
        die "ROTATE_CERT_FILE and ROTATE_KEY_FILE: a second certificate (same key type) for the rotation step"
fi
export STACK DOMAIN REGIONS MODE ORIGIN
IFS=, read -r -a REGION_LIST <<<"$REGIONS"
AWSX=("${AWS_CLI:-aws}")
[ -z "${AWS_ENDPOINT_URL:-}" ] || AWSX+=(--endpoint-url "$AWS_ENDPOINT_URL")
CURL=(curl -fsS --max-time 20 --retry 5 --retry-delay 3 --retry-all-errors)
[ -z "${ACCEPTANCE_CONNECT_TO:-}" ] || CURL+=(--connect-to "$ACCEPTANCE_CONNECT_TO")
[ -z "${ACCEPTANCE_CACERT:-}" ] || CURL+=(--cacert "$ACCEPTANCE_CACERT")
awsr() { local r=$1; shift; "${AWSX[@]}" --region "$r" --output json "$@"; }

# A stack of this name must not exist: the run ends by destroying it.
for r in "${REGION_LIST[@]}"; do
    if awsr "$r" lambda get-function --function-name "$STACK" >/dev/null 2>&1; then
        die "STACK=$STACK: a function of that name exists in $r; this run would destroy it: pick another STACK"
    fi
done

STEPS=() TIMES=() RESULTS=()
FAILED=0
START=$SECONDS
step() { # name command...: runs it, timed; a failure is recorded and ends the run (destroy still runs)
    local name=$1 t0=$SECONDS rc=0
    shift
    printf '== %s\n' "$name"
    "$@" || rc=$?
    STEPS+=("$name") TIMES+=($((SECONDS - t0)))
    if [ "$rc" -eq 0 ]; then RESULTS+=(ok); else RESULTS+=("FAILED ($rc)"); FAILED=1; fi
    return "$rc"
}

certs_issued() {
    local r arn st deadline=$((SECONDS + HEALTH_WAIT))
    for r in "${REGION_LIST[@]}"; do
        for arn in $(awsr "$r" acm list-certificates --includes keyTypes=RSA_1024,RSA_2048,RSA_3072,RSA_4096,EC_prime256v1,EC_secp384r1 |
            jq -r '.CertificateSummaryList[].CertificateArn'); do
            awsr "$r" acm list-tags-for-certificate --certificate-arn "$arn" |
                jq -e --arg s "$STACK" 'any(.Tags[]; .Key == "nearjs:stack" and .Value == $s)' >/dev/null || continue
            while st=$(awsr "$r" acm describe-certificate --certificate-arn "$arn" | jq -r .Certificate.Status) &&
                [ "$st" != ISSUED ] && [ "$SECONDS" -lt "$deadline" ]; do sleep 10; done
            printf '%s: certificate %s %s\n' "$r" "$arn" "$st"
            [ "$st" = ISSUED ] || return 1
        done
    done
}

# Every health check tagged with the stack, healthy to every Route53 checker.
health_ok() {
    local ids id bad deadline=$((SECONDS + HEALTH_WAIT))
    ids=$(for id in $(awsr us-east-1 route53 list-health-checks | jq -r '.HealthChecks[].Id'); do
        awsr us-east-1 route53 list-tags-for-resource --resource-type healthcheck --resource-id "$id" |
            jq -e --arg s "$STACK" 'any(.ResourceTagSet.Tags[]; .Key == "nearjs:stack" and .Value == $s)' >/dev/null &&
            echo "$id"
    done)
    [ -n "$ids" ] || { echo "no health check tagged nearjs:stack=$STACK"; return 1; }
    while :; do
        bad=""
        for id in $ids; do
            awsr us-east-1 route53 get-health-check-status --health-check-id "$id" |
                jq -e '[.HealthCheckObservations[].StatusReport.Status] | length > 0 and all(startswith("Success"))' \
                    >/dev/null || bad+=" $id"
        done
        [ -n "$bad" ] || { echo "$(wc -w <<<"$ids") health checks healthy"; return 0; }
        [ "$SECONDS" -lt "$deadline" ] || { echo "not healthy after $HEALTH_WAIT s:$bad"; return 1; }
        sleep 15
    done
}

# Through each region's gateway name (MODE=direct, or edge with ORIGIN=apigw; with ORIGIN=url the origin
# is a function URL that only the edges' signed requests may call), and through each edge's address.
fetch_all() { # label
    local r ip n=0 body
    for r in "${REGION_LIST[@]}"; do
        if [ "$MODE" = direct ] || [ "$ORIGIN" = apigw ]; then
            body=$("${CURL[@]}" "https://$r-fast.$DOMAIN$FETCH_PATH") || { echo "$1: $r-fast.$DOMAIN$FETCH_PATH failed"; return 1; }
            [ -n "$body" ] || { echo "$1: $r-fast.$DOMAIN$FETCH_PATH: empty answer"; return 1; }
            n=$((n + 1))
        fi
        [ "$MODE" = edge ] || continue
        for ip in $(awsr "$r" ec2 describe-addresses --filters "Name=tag:nearjs:stack,Values=$STACK" | jq -r '.Addresses[].PublicIp'); do
            body=$("${CURL[@]}" --resolve "fast.$DOMAIN:443:$ip" "https://fast.$DOMAIN$FETCH_PATH") ||
                { echo "$1: fast.$DOMAIN$FETCH_PATH through the edge at $ip ($r) failed"; return 1; }
            n=$((n + 1))
        done
    done
    echo "$1: $n fetches of $FETCH_PATH answered"
}

run() {
    step "deploy ($MODE, ${REGION_LIST[*]})" "${DEPLOY[@]}" deploy || return 1
    step "certificates ISSUED" certs_issued || return 1
    step "health checks healthy" health_ok || return 1
    step "publish $SRC" env SRC="$SRC" "${DEPLOY[@]}" publish || return 1
    step "fetch through gateways and edges" fetch_all "before rotation" || return 1
    if [ -n "${ROTATE_CERT_FILE:-}" ]; then
        step "rotate the certificate" env CERT_FILE="$ROTATE_CERT_FILE" KEY_FILE="$ROTATE_KEY_FILE" \
            CHAIN_FILE="${ROTATE_CHAIN_FILE:-}" "${DEPLOY[@]}" deploy || return 1
        step "fetch after rotation" fetch_all "after rotation" || return 1
    fi
}
run
step "destroy" env DESTROY_CONTENT=1 "${DEPLOY[@]}" destroy

# Cost: what the resources cost for as long as they existed (us-east-1 on-demand prices of the README's
# table; other regions cost up to ~10% more). Per region: EDGE_COUNT t3.micro ($0.0104/h) with a public
# IPv4 ($0.005/h) each in edge mode; health checks ($1.50/month each with HTTPS, billed per month:
# counted here in full, the upper bound); requests are a few hundred (under $0.01).
hours=$(awk -v s=$((SECONDS - START)) 'BEGIN { printf "%.3f", s / 3600 }')
n=${#REGION_LIST[@]} count=${EDGE_COUNT:-2}
if [ "$MODE" = edge ]; then
    cost=$(awk -v h="$hours" -v n="$n" -v c="$count" 'BEGIN { printf "%.2f", n * c * (h * (0.0104 + 0.005) + 1.50) }')
    what="$n regions x $count instances and addresses for $hours h, $((n * count)) health checks (a month each, upper bound)"
else
    cost=$(awk -v h="$hours" -v n="$n" 'BEGIN { printf "%.2f", n * 1.50 }')
    what="$n health checks (a month each, upper bound); the API and Lambda requests are under \$0.01"
fi
printf '\n%-45s %8s  %s\n' step seconds result
for i in "${!STEPS[@]}"; do printf '%-45s %8s  %s\n' "${STEPS[$i]}" "${TIMES[$i]}" "${RESULTS[$i]}"; done
printf '%-45s %8s\n' total $((SECONDS - START))
printf 'estimated cost of this run: $%s (%s)\n' "$cost" "$what"
[ "$FAILED" -eq 0 ] || { echo "acceptance: FAILED (see the steps above)"; exit 1; }
echo "acceptance: passed"
