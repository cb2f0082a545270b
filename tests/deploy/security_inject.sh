#!/usr/bin/env bash
# Hostile values, table-driven: every setting and file name that reaches a shell, the user data (run as
# root on every instance), a sed or awk program, JSON or YAML gets each payload below. Each payload would
# create the canary file if any of them were ever run. Every row must end with:
#   - a refused setting: exit 2, one line "deploy: setting NAME=..." naming it, and no AWS call made; or
#   - an accepted file name (a PEM or zip called so, legitimately): the plan succeeds;
#   and in every case: no canary.
# Then the user data on its own: deploy's renderer fed hostile values directly (past the settings
# check) writes each with printf %q, so bash reads back the exact string; and the user data's own
# checks refuse it (exit 2) before anything runs. A publish of a store holding hostile file names and
# a hostile SRC folder name: refused or published verbatim, never run.
# The deploy runs for real (plan, rollback, publish) against a moto server of its own.
# Usage: security_inject.sh BUILD_DIR
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
. "$HERE/fleet_lib.sh"
edge_test_begin sec-inject
fleet_moto_begin

C=$T/canary
PAYLOADS=(
    "\$(touch $C)"
    "\`touch $C\`"
    "';touch $C;'"
    "\";touch $C;\""
    ";touch $C"
    $'\n'"touch $C"
    "/e;e touch $C #"
    "/../.."
    "/;s|.*|touch\${IFS}$C|e;#"
)
make_ca inject-ca
mkcert edge '*.example.test'
arch=$(uname -m | sed 's/aarch64/arm64/')
"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-1.0.0-$arch.tar.gz" >package.out 2>&1 ||
    { echo "FAIL edge-package:"; cat package.out; exit 1; }
printf 'zip' >function.zip
awsj us-east-1 route53 create-hosted-zone --name example.test --caller-reference inject >/dev/null
BASE=(STACK=nearjs DOMAIN=example.test REGIONS=us-east-1 MODE=edge ZIP=$T/function.zip CERT_FILE=$T/edge.pem
    KEY_FILE=$T/edge.key CHAIN_FILE= EDGE_ARTIFACT=$T/nearjs-edge-1.0.0-$arch.tar.gz AWS_CLI=$AWSBIN/aws
    NEARJS_CONF=$ROOT_DIR/deploy/nearjs.conf EDGE_HEALTH_WAIT=0 EDGE_DRAIN_WAIT=0)

# deploy_run VERB NAME=VALUE...: runs the deploy; sets RC, OUT, NCALLS.
deploy_run() {
    local verb=$1
    shift
    rm -f calls
    OUT=$(env "${BASE[@]}" NEARJS_CALL_LOG=$T/calls "$@" "$ROOT_DIR/deploy/nearjs-deploy.sh" "$verb" 2>&1)
    RC=$?
    NCALLS=$(cat calls 2>/dev/null | wc -l)
}

deploy_run plan
check "baseline: plan with good settings succeeds" "$RC" 0
[ "$RC" = 0 ] || echo "$OUT" | tail -5

# The settings, each with a good value the payload is appended to, and the verb that reads it.
ROWS=(
    "plan STACK nearjs" "plan DOMAIN example.test" "plan REGIONS us-east-1" "plan KNOWN_REGIONS_EXTRA ap-east-2"
    "plan HOSTED_ZONE_ID Z123" "plan MODE edge" "plan MEMORY 256" "plan TIMEOUT 3" "plan ARCH x86_64"
    "plan CONTENT_PREFIX content" "plan HEALTH_PATH /healthz" "plan THROTTLE_RATE 100" "plan THROTTLE_BURST 100"
    "plan CERT_WAIT 5" "plan EDGE_COUNT 1" "plan EDGE_INSTANCE_TYPE t3.micro" "plan EDGE_ADMIN_PORT 9100"
    "plan EDGE_ADMIN_CIDR 10.0.0.0/16" "plan EDGE_TTL 60" "plan EDGE_HEALTH_WAIT 0" "plan EDGE_DRAIN_WAIT 0"
    "plan ORIGIN url" "plan RESERVED_CONCURRENCY 10" "plan ORIGIN_WAIT 300"
    "rollback VERSION 2" "publish PUBLISH_DELETE_MAX 20" "publish CONFIRM_DELETE 1"
)
mkdir -p store && echo 'x' >store/loader.js
for row in "${ROWS[@]}"; do
    read -r verb name good <<<"$row"
    for p in "${PAYLOADS[@]}"; do
        rm -f "$C"
        extra=()
        # A region only reaches the sed of old once it is "known": name it in KNOWN_REGIONS_EXTRA too.
        # (MODE=direct: the edge's settings would refuse such a region for another reason first.)
        # (and no CERT_FILE: a certificate check would refuse the region's name first.)
        [ "$name" = REGIONS ] && extra=("KNOWN_REGIONS_EXTRA=$good$p" MODE=direct CERT_FILE= KEY_FILE=)
        [ "$name" = KNOWN_REGIONS_EXTRA ] && extra=("REGIONS=us-east-1,$good$p" MODE=direct CERT_FILE= KEY_FILE=)
        want=$name
        [ "$name" = REGIONS ] && want=KNOWN_REGIONS_EXTRA
        deploy_run "$verb" "${extra[@]}" "$name=$good$p" SRC=$T/store
        label="$name=$good$(printf '%q' "$p" | cut -c1-24)"
        check "$label: refused (exit 2, named, no AWS call, no canary)" \
            "$RC $(grep -c "^deploy: setting $want=" <<<"$OUT") $NCALLS $([ -e "$C" ] && echo RAN || echo clean)" "2 1 0 clean"
    done
done

# --- file names: a PEM, a key, a chain, a zip and an edge artifact named with each payload
for p in "${PAYLOADS[@]}"; do
    [[ $p == *$'\n'* || $p == */* ]] && n=${p//\//_} && n=${n//$'\n'/_} || n=$p
    d="$T/f $n"
    mkdir -p "$d"
    cp edge.pem "$d/c$n.pem"
    cp edge.key "$d/k$n.key"
    cp ca.pem "$d/ch$n.pem"
    cp function.zip "$d/z$n.zip"
    rm -f "$C"
    deploy_run plan "CERT_FILE=$d/c$n.pem" "KEY_FILE=$d/k$n.key" "CHAIN_FILE=$d/ch$n.pem" "ZIP=$d/z$n.zip"
    check "files named $(printf '%q' "$n" | cut -c1-24): plan succeeds, nothing run" "$RC $([ -e "$C" ] && echo RAN || echo clean)" "0 clean"
    [ "$RC" = 0 ] || echo "$OUT" | tail -3
    cp "nearjs-edge-1.0.0-$arch.tar.gz" "$d/nearjs-edge-1.0$n-$arch.tar.gz"
    rm -f "$C"
    deploy_run plan "EDGE_ARTIFACT=$d/nearjs-edge-1.0$n-$arch.tar.gz"
    check "EDGE_ARTIFACT named nearjs-edge-1.0$(printf '%q' "$n" | cut -c1-20)-$arch.tar.gz: refused, no canary" \
        "$RC $(grep -c '^deploy: setting EDGE_ARTIFACT=' <<<"$OUT") $NCALLS $([ -e "$C" ] && echo RAN || echo clean)" "2 1 0 clean"
done

# --- the user data on its own: hostile values straight into deploy's renderer
(
    DEPLOY_DIR=$ROOT_DIR/deploy
    for f in "$DEPLOY_DIR"/lib/*.sh; do . "$f"; done
    STACK=nearjs DOMAIN=example.test ACCOUNT=123456789012 HEALTH_PATH=/healthz EDGE_INSTANCE_TYPE=t3.micro
    REGION_LIST=(us-east-1) FLEET_CERT_SHA256=$(printf 'a%.0s' $(seq 64)) FLEET_KEY_SHA256=$FLEET_CERT_SHA256
    FLEET_ARTIFACT_SHA256=$FLEET_CERT_SHA256
    i=0
    for p in "${PAYLOADS[@]}"; do
        i=$((i + 1))
        for var in DOMAIN HEALTH_PATH EDGE_ADMIN_CIDR EDGE_ADMIN_PORT FLEET_ARTIFACT_KEY; do
            (
                case $var in
                DOMAIN) DOMAIN="example.test$p" ;;
                HEALTH_PATH) HEALTH_PATH="/healthz$p" ;;
                EDGE_ADMIN_CIDR) EDGE_ADMIN_CIDR="10.0.0.0/16$p" ;;
                EDGE_ADMIN_PORT) EDGE_ADMIN_PORT="9100$p" ;;
                FLEET_ARTIFACT_KEY) FLEET_ARTIFACT_KEY="edge/nearjs-edge-1$p-x86_64.tar.gz" ;;
                esac
                : "${FLEET_ARTIFACT_KEY:=edge/nearjs-edge-1.0.0-x86_64.tar.gz}"
                fleet_userdata us-east-1 >"ud.$i.$var" 2>/dev/null
                # The settings part: bash reads back exactly what deploy had.
                want=$(printf '%s' "${!var}")
                got=$(head -n 30 "ud.$i.$var" | awk '/^set -euo pipefail/ { exit } { print }' >hdr.sh
                    bash -c '. ./hdr.sh; declare -n v=$1; printf %s "$v"' _ "$(sed -n "s/^\(DOMAIN\|GATEWAY_HEALTH_PATH\|ADMIN_CIDR\|ADMIN_PORT\|ARTIFACT_KEY\)=.*/\1/p" hdr.sh |
                        grep -x "$(case $var in DOMAIN) echo DOMAIN ;; HEALTH_PATH) echo GATEWAY_HEALTH_PATH ;; EDGE_ADMIN_CIDR) echo ADMIN_CIDR ;;
                        EDGE_ADMIN_PORT) echo ADMIN_PORT ;; FLEET_ARTIFACT_KEY) echo ARTIFACT_KEY ;; esac)")" 2>/dev/null)
                rm -f "$C"
                mkdir -p "ud-root.$i"
                env -i PATH=/usr/bin:/bin NEARJS_ROOT="$T/ud-root.$i" NEARJS_SYSTEMCTL= NEARJS_EDGE_USER= bash "ud.$i.$var" >ud.out 2>ud.err
                rc=$?
                check "user data $var=...$(printf '%q' "$p" | cut -c1-24): read back exactly, refused by the user data (exit 2), no canary" \
                    "$([ "$got" = "$want" ] && echo exact || echo "changed") $rc $(grep -c 'is missing or malformed' ud.err) $([ -e "$C" ] && echo RAN || echo clean)" \
                    "exact 2 1 clean"
                [ "$FAILS" = 0 ] || exit 1
            ) || exit 1
        done
    done
)
[ $? = 0 ] || FAILS=$((FAILS + 1))

# --- publish: a SRC folder and store files named with each payload
for p in "${PAYLOADS[@]}"; do
    [[ $p == *$'\n'* || $p == */* ]] && n=${p//\//_} && n=${n//$'\n'/_} || n=$p
    s="$T/store $n"
    mkdir -p "$s/sub"
    echo 'loader' >"$s/loader.js"
    echo '{}' >"$s/sub/f$n.json"
    rm -f "$C"
    deploy_run publish "SRC=$s"
    if [[ f$n.json =~ ^[A-Za-z0-9_./-]+$ ]]; then # a name a key takes (f_.._...json): not refused for it
        check "publish SRC='store $n' holding file f$n.json: nothing run" "$([ -e "$C" ] && echo RAN || echo clean)" clean
        continue
    fi
    check "publish SRC='store $(printf '%q' "$n" | cut -c1-20)' holding file f$(printf '%q' "$n" | cut -c1-20).json: refused in one line, nothing run" \
        "$RC $(grep -c "^deploy: publish: file name .* has characters a store key does not take" <<<"$OUT") $([ -e "$C" ] && echo RAN || echo clean)" "2 1 clean"
done

# --- make run's DEMO_STORE inside the sources: refused, the demo untouched (in a copy of the repository's
# layout, so the real function/demo is never at risk)
mkdir -p repo/scripts repo/function repo/build
cp "$ROOT_DIR/scripts/run-demo.sh" repo/scripts/
cp -R "$ROOT_DIR/function/demo" repo/function/demo
for store in "$T/repo/function/demo" "$T/repo/function" "$T/repo"; do
    out=$(PORT=$((20000 + RANDOM % 9000)) DEMO_STORE=$store NEARJS_RUN_EXIT=1 repo/scripts/run-demo.sh "$T/repo/build" 2>&1)
    rc=$?
    check "make run DEMO_STORE=$store: refused in one line, the demo untouched" \
        "$rc $(grep -c "DEMO_STORE .* is inside the sources\|DEMO_STORE .* holds the repository" <<<"$out") $(find repo/function/demo -type f | wc -l)" \
        "1 1 $(find "$ROOT_DIR/function/demo" -type f | wc -l)"
done

[ "$FAILS" -eq 0 ] || exit 1
echo "all injection tests passed"
