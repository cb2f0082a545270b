#!/usr/bin/env bash
# The edge instances' user data, run for real: deploy's own steps put the edge tarball (made by
# deploy/edge-package.sh from this build) and the certificate and key (SecureString) into moto, deploy
# renders the user data for us-east-1 of REGIONS=us-east-1,eu-west-1, and that very script runs here
# with NEARJS_ROOT (an empty folder instead of /) and no systemctl. Then the edge it installed is started
# with the unit's own ExecStart line and the config the script wrote, and serves a request over TLS to a
# real TLS gateway emulator (nearjs-local start-api --domain us-east-1-fast.example.test, echo-bootstrap):
# SNI and Host rewritten to the gateway's name. Also: the standard tier's 4096-byte limit is refused with
# a clear message before anything is touched; a tampered artifact stops the script.
# Usage: fleet_userdata.sh BUILD_DIR (with bin/nearjs-edge, bin/nearjs-local, bin/echo-bootstrap)
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
. "$HERE/fleet_lib.sh"
edge_test_begin fleet-ud
fleet_moto_begin

make_ca fleet-ud-ca
mkcert edge fast.example.test
mkcert gw us-east-1-fast.example.test
"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-0.0.0-$(uname -m | sed 's/aarch64/arm64/').tar.gz" \
    >package.out 2>&1 || { echo "FAIL edge-package:"; cat package.out; exit 1; }
ARTIFACT=$(tail -n 1 package.out)

# The deploy's own code, with the settings a deploy of two regions has.
DEPLOY_DIR=$ROOT_DIR/deploy
for f in "$DEPLOY_DIR"/lib/*.sh; do . "$f"; done
STACK=nearjs DOMAIN=example.test ACCOUNT=123456789012 HEALTH_PATH=/healthz AWS_CLI=$AWSBIN/aws DRY_RUN=0
REGION_LIST=(us-east-1 eu-west-1)
CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key CHAIN_FILE=$T/ca.pem EDGE_ARTIFACT=$ARTIFACT
RUN_DIR=$T/run
mkdir -p "$RUN_DIR"
REGION=us-east-1

# --- the fallback order: great-circle distance on deploy/regions.tsv
order() { regions_by_distance "$@" | cut -d' ' -f1 | paste -sd' '; }
check "order from eu-west-1" "$(order eu-west-1 us-east-1 eu-central-1 eu-west-2 eu-west-1)" "eu-west-1 eu-west-2 eu-central-1 us-east-1"
check "order from us-west-2" "$(order us-west-2 ap-northeast-1 us-east-1 eu-west-1 sa-east-1)" "us-west-2 us-east-1 eu-west-1 ap-northeast-1 sa-east-1"
check "order from ap-southeast-2" "$(order ap-southeast-2 ap-southeast-1 ap-southeast-4 us-west-1)" "ap-southeast-2 ap-southeast-4 ap-southeast-1 us-west-1"
check "Dublin-London distance (km)" "$(regions_by_distance eu-west-1 eu-west-2 | tail -n 1)" "eu-west-2 463"
check "unknown region: exit 1, named" "$(regions_by_distance us-east-1 mars-1 2>&1 >/dev/null | grep -c 'no coordinates for region mars-1'; regions_by_distance us-east-1 mars-1 >/dev/null 2>&1; echo $?)" "1
1"
missing=""
for r in $KNOWN_REGIONS; do region_known "$r" || missing+=" $r"; done
check "every region settings.sh knows has coordinates" "$missing" ""

# --- the standard tier's limit: refused before anything is touched, the sizes named
head -c 5000 /dev/zero | tr '\0' A >big.pem
out=$( (CERT_FILE=$T/big.pem CHAIN_FILE='' fleet_pem_check) 2>&1)
check "5000-byte certificate refused (exit 2)" "$( (CERT_FILE=$T/big.pem CHAIN_FILE='' fleet_pem_check) >/dev/null 2>&1; echo $?)" 2
check "message names the setting, the size and the limit" \
    "$(grep -c "setting CERT_FILE='$T/big.pem': 5000 bytes, over the 4096 that an SSM standard-tier parameter holds" <<<"$out")" 1
head -c 4096 /dev/zero | tr '\0' A >edge4096.pem
check "exactly 4096 bytes accepted" "$( (CERT_FILE=$T/edge4096.pem CHAIN_FILE='' fleet_pem_check) >/dev/null 2>&1; echo $?)" 0

# --- bad edge settings: one line naming the setting, exit 2, before any AWS call
touch zip.zip
bad_setting() { # want-substring NAME=value...
    local want=$1 out rc
    shift
    out=$(env STACK=nearjs DOMAIN=example.test REGIONS=us-east-1 MODE=edge ZIP=$T/zip.zip AWS_CLI=$AWSBIN/aws \
        CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key EDGE_ARTIFACT=$ARTIFACT NEARJS_CALL_LOG=$T/calls "$@" \
        "$ROOT_DIR/deploy/nearjs-deploy.sh" plan 2>&1)
    rc=$?
    check "settings $*: exit 2, says '$want'" "$rc $(grep -c -F -- "$want" <<<"$out")" "2 1"
}
bad_setting "MODE=edge needs CERT_FILE and KEY_FILE" CERT_FILE= KEY_FILE=
bad_setting "setting EDGE_COUNT='0': want 1-20 instances per region" EDGE_COUNT=0
bad_setting "EDGE_INSTANCE_TYPE t4g.micro is arm64: want a nearjs-edge-*-arm64.tar.gz" EDGE_INSTANCE_TYPE=t4g.micro
bad_setting "5000 bytes, over the 4096 that an SSM standard-tier parameter holds" CERT_FILE=$T/big.pem
bad_setting "setting EDGE_ADMIN_PORT='443': want a port other than 80 and 443" EDGE_ADMIN_PORT=443
bad_setting "setting ORIGIN='url': MODE=direct serves browsers from API Gateway's custom domain: want apigw" MODE=direct ORIGIN=url
bad_setting "setting ORIGIN='cloudfront': want url (the function URL behind the edges) or apigw" ORIGIN=cloudfront
bad_setting "setting RESERVED_CONCURRENCY='0': want a whole number >= 1" RESERVED_CONCURRENCY=0
check "no AWS call made by a refused setting" "$(cat calls 2>/dev/null | wc -l)" 0

# --- the Elastic IP quota, checked before any write: others' addresses + EDGE_COUNT + 1 (a rolling
# replace) must fit; moto's Service Quotas does not know EC2's, so AWS's default of 5 applies
allocs=$(for _ in 1 2 3 4; do awsj us-east-1 ec2 allocate-address --domain vpc | jq -r .AllocationId; done)
out=$( (REGION_LIST=(us-east-1); EDGE_COUNT=2; fleet_quota_check) 2>&1)
check "quota: 4 addresses of others + EDGE_COUNT 2 + 1 > 5: exit 2, one line naming it" \
    "$?|$(grep -c "setting EDGE_COUNT='2': us-east-1 has 4 Elastic IPs of others and a quota of 5 (AWS's default; Service Quotas did not answer)" <<<"$out")" "2|1"
(REGION_LIST=(us-east-1); EDGE_COUNT=1; fleet_quota_check) >/dev/null 2>&1
check "quota: EDGE_COUNT 1 still refused (4 + 1 + 1 > 5)" "$?" 2
for a in $allocs; do awsj us-east-1 ec2 release-address --allocation-id "$a"; done
allocs=$(awsj us-east-1 ec2 allocate-address --domain vpc | jq -r .AllocationId)
(REGION_LIST=(us-east-1); EDGE_COUNT=2; fleet_quota_check) >/dev/null 2>&1
check "quota: 1 address of others + EDGE_COUNT 2 + 1 fits in 5" "$?" 0
awsj us-east-1 ec2 release-address --allocation-id "$allocs"

# --- deploy's steps put the artifact and the parameters into moto
awsj us-east-1 s3api create-bucket --bucket "$(artifact_bucket us-east-1)" >/dev/null
(set -e; fleet_pem_check; step_fleet_artifact; step_fleet_params) 2>steps.err
check "fleet_artifact and fleet_params ran" "$?" 0
fleet_pem_check
fleet_artifact_prepare
check "parameter cert byte-exact (certificate + chain)" \
    "$(awsj us-east-1 ssm get-parameter --name /nearjs/edge/cert --with-decryption | jq -j .Parameter.Value | sha256sum | cut -c1-64)" \
    "$(cat edge.pem ca.pem | sha256sum | cut -c1-64)"
check "parameter cert is a SecureString" "$(awsj us-east-1 ssm get-parameter --name /nearjs/edge/cert | jq -r .Parameter.Type)" SecureString
fleet_userdata us-east-1 >ud.sh
check "user data under EC2's 16 KB" "$([ "$(wc -c <ud.sh)" -lt 16384 ] && echo yes)" yes
check "user data: upstreams this region, then the other" "$(grep ^UPSTREAM_REGIONS= ud.sh)" 'UPSTREAM_REGIONS=us-east-1\ eu-west-1'
check "user data: the admin port and range (EDGE_ADMIN_PORT, EDGE_ADMIN_CIDR)" "$(grep -E '^ADMIN_(PORT|CIDR)=' ud.sh | paste -sd' ')" "ADMIN_PORT=9100 ADMIN_CIDR=''"

# --- the gateway: start-api --domain, which answers 403 unless SNI and Host are its name
setsid "$BUILD/bin/nearjs-local" start-api --port 0 --workers 1 --quiet --domain us-east-1-fast.example.test \
    --cert gw.pem --key gw.key "$BUILD/bin/echo-bootstrap" 2>gw.err >/dev/null &
GROUPS_STARTED+=($!)
disown $!
GW_PORT=
for _ in $(seq 200); do
    grep -q 'warm .* after start' gw.err 2>/dev/null && { GW_PORT=$(grep -o 'listening on https://[^ ]*:[0-9]*' gw.err | grep -o '[0-9]*$'); break; }
    sleep 0.05
done
[ -n "$GW_PORT" ] || { echo "FAIL gateway did not start:"; cat gw.err; exit 1; }

# --- the user data itself, under a root prefix, without systemctl
L=$(free_port) P=$(free_port) A=$(free_port)
R=$T/root
mkdir -p "$R"
# Every upstream gets a loopback connect_to, eu-west-1 a port nothing listens on (a region that is down):
# without one, its name would be looked up in the machine's DNS, and a test sends nothing off this machine
DEAD_PORT=$(free_port)
run_ud() { # script: runs it as cloud-init would, plus the test-only variables
    env -i PATH="$AWSBIN:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$T" AWS_ENDPOINT_URL="$MOTO_URL" \
        AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_MAX_ATTEMPTS=1 AWS_CONFIG_FILE=/dev/null \
        NEARJS_FETCH_PAUSE="${NEARJS_FETCH_PAUSE:-2}" NEARJS_FETCH_TRIES="${NEARJS_FETCH_TRIES:-8}" \
        NEARJS_ROOT="$R" NEARJS_SYSTEMCTL= NEARJS_EDGE_USER= NEARJS_EDGE_LISTEN="127.0.0.1:$L 127.0.0.1:$P 127.0.0.1:$A" \
        NEARJS_EDGE_CONNECT_TO="${UD_CONNECT:-us-east-1=127.0.0.1:$GW_PORT eu-west-1=127.0.0.1:$DEAD_PORT}" \
        NEARJS_EDGE_CA="$T/ca.pem" bash "$1"
}
run_ud ud.sh >ud.out 2>ud.err
check "user data exits 0" "$?" 0
check "user data says what it installed" "$(grep -c "nearjs-edge user data: us-east-1: nearjs-edge $FLEET_ARTIFACT_SHA256 installed, upstreams us-east-1 eu-west-1" ud.out)" 1
check "certificate installed byte-exact" "$(cat edge.pem ca.pem | cmp -s - "$R/etc/nearjs-edge/fast.example.test.pem" && echo same)" same
check "key installed byte-exact, mode 0640" "$(cmp -s edge.key "$R/etc/nearjs-edge/fast.example.test.key" && echo same) $(stat -c %a "$R/etc/nearjs-edge/fast.example.test.key")" "same 640"
check "config: upstreams in distance order" "$(grep -o 'url: https://[^ ]*' "$R/etc/nearjs-edge/edge.yaml" | tr '\n' ' ')" \
    "url: https://us-east-1-fast.example.test url: https://eu-west-1-fast.example.test "
check "config: valid (nearjs-edge --test-config)" "$("$R/usr/local/bin/nearjs-edge" -c "$R/etc/nearjs-edge/edge.yaml" --test-config >/dev/null 2>&1; echo $?)" 0
UNIT=$R/etc/systemd/system/nearjs-edge.service
check "unit installed, pointing into the root" "$(grep -c "^ExecStart=$R/opt/nearjs-edge/bin/nearjs-edge -c $R/etc/nearjs-edge/edge.yaml$" "$UNIT")" 1
check "no temporary files left" "$(ls -A "$R/var/tmp" | wc -l)" 0

# --- the edge it installed, started as the unit starts it, serves through the gateway
read -r -a CMD <<<"$(sed -n 's/^ExecStart=//p' "$UNIT")"
"${CMD[@]}" >edge.out 2>edge.err &
EDGE_PID=$!
PIDS+=("$EDGE_PID")
for _ in $(seq 100); do grep -q 'serving:' edge.err 2>/dev/null && break; sleep 0.05; done
grep -q 'serving:' edge.err || { echo "FAIL the installed edge did not start (${CMD[*]}):"; cat edge.err ud.err; exit 1; }
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.test:$L:127.0.0.1")
code=$("${C[@]}" -o ev.json -w '%{http_code}' "https://fast.example.test:$L/acme/main.js")
check "request through the installed edge: 200" "$code" 200
check "the gateway saw its own name (SNI and Host rewritten)" "$(jq -r .requestContext.domainName ev.json 2>/dev/null)" us-east-1-fast.example.test
check "the path arrived" "$(jq -r .rawPath ev.json 2>/dev/null)" /acme/main.js
for _ in $(seq 60); do [ "$("${C[@]}" -s -o /dev/null -w '%{http_code}' "https://fast.example.test:$L/healthz")" = 200 ] && break; sleep 0.1; done
check "/healthz on the public listener (what Route53 polls): 200" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://fast.example.test:$L/healthz")" 200
check "plain HTTP redirects to https" "$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -H 'Host: fast.example.test' "http://127.0.0.1:$P/x")" 301
check "access log in the root's log folder" "$(grep -c '"status":200' "$R/var/log/nearjs-edge/access.log" 2>/dev/null | awk '{print ($1 > 0) ? "yes" : "no"}')" yes
# deploy's health wait (fleet_health_wait, the rolling replace's gate) against this very edge
export NEARJS_FLEET_HEALTH_PORT=$L NEARJS_FLEET_HEALTH_CA=$T/ca.pem NEARJS_FLEET_HEALTH_PAUSE=0.2
out=$(EDGE_HEALTH_WAIT=10 fleet_health_wait i-test 127.0.0.1 2>&1)
check "health wait: the installed edge answers /healthz" "$? $out" "0 i-test answers /healthz at 127.0.0.1"
kill -TERM "$EDGE_PID"
wait "$EDGE_PID" 2>/dev/null
check "edge exits 0 on SIGTERM" "$?" 0
out=$(EDGE_HEALTH_WAIT=1 fleet_health_wait i-test 127.0.0.1 2>&1)
check "health wait: gives up on a dead edge, says how to see why" \
    "$? $(grep -c 'i-test did not answer /healthz with 200 at 127.0.0.1 within 1s (last: 000); the new instance goes, the old ones stay; its boot log: aws ec2 get-console-output' <<<"$out")" "1 1"
unset NEARJS_FLEET_HEALTH_PORT NEARJS_FLEET_HEALTH_CA NEARJS_FLEET_HEALTH_PAUSE

# --- ORIGIN=url (issue 20): the user data deploy renders for function URLs, run for real; the edge it
# installs signs with credentials from an IMDS double, and a function URL with AuthType AWS_IAM serves it
HOST_E=0123456789abcdefghijklmnopqrstuv.lambda-url.us-east-1.on.aws
HOST_W=abcdefghijklmnopqrstuv0123456789.lambda-url.eu-west-1.on.aws
ORIGIN=url FLEET_ORIGIN_HOSTS="eu-west-1=$HOST_W us-east-1=$HOST_E" fleet_userdata us-east-1 >ud-url.sh
check "url: the user data names each region's function URL, this region's first" \
    "$(grep '^ORIGIN=\|^UPSTREAM_HOSTS=' ud-url.sh | tr '\n' ' ')" "ORIGIN=url UPSTREAM_HOSTS=us-east-1=$HOST_E\\ eu-west-1=$HOST_W "
mkcert furl "*.lambda-url.us-east-1.on.aws"
IMDS_PORT=$(free_port)
python3 "$ROOT_DIR/scripts/imds_double.py" --port "$IMDS_PORT" --role nearjs-edge-us-east-1 --key ASIAUSERDATATEST0001 \
    --secret ud-secret --token ud-token 2>imds.err &
PIDS+=($!)
AWS_REGION=us-east-1 setsid "$BUILD/bin/nearjs-local" start-api --port 0 --workers 1 --quiet --function-url \
    --url-id "${HOST_E%%.*}" --iam ASIAUSERDATATEST0001:ud-secret:ud-token --cert furl.pem --key furl.key \
    "$BUILD/bin/echo-bootstrap" 2>furl.err >/dev/null &
GROUPS_STARTED+=($!)
disown $!
FURL_PORT=
for _ in $(seq 200); do
    grep -q 'warm .* after start' furl.err 2>/dev/null && { FURL_PORT=$(grep -o 'listening on https://[^ ]*:[0-9]*' furl.err | grep -o '[0-9]*$'); break; }
    sleep 0.05
done
[ -n "$FURL_PORT" ] || { echo "FAIL function URL did not start:"; cat furl.err; exit 1; }
L=$(free_port) P=$(free_port) A=$(free_port)
R=$T/root-url
mkdir -p "$R"
UD_CONNECT="us-east-1=127.0.0.1:$FURL_PORT eu-west-1=127.0.0.1:$DEAD_PORT" run_ud ud-url.sh >ud-url.out 2>ud-url.err
check "url: user data exits 0 (its edge.yaml passed --test-config)" "$?" 0
check "url: config: each upstream its function URL with a sign block for its region" \
    "$(grep -o 'url: https://[^ ]*\|sign: {[^}]*}' "$R/etc/nearjs-edge/edge.yaml" | tr '\n' ' ')" \
    "url: https://$HOST_E sign: {service: lambda, region: us-east-1} url: https://$HOST_W sign: {service: lambda, region: eu-west-1} "
read -r -a CMD <<<"$(sed -n 's/^ExecStart=//p' "$R/etc/systemd/system/nearjs-edge.service")"
NEARJS_EDGE_IMDS=http://127.0.0.1:$IMDS_PORT "${CMD[@]}" >edge-url.out 2>edge-url.err &
EDGE_PID=$!
PIDS+=("$EDGE_PID")
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.test:$L:127.0.0.1")
code=
for _ in $(seq 100); do
    code=$("${C[@]}" -s -o ev-url.json -w '%{http_code}' "https://fast.example.test:$L/acme/main.js" 2>/dev/null)
    [ "$code" = 200 ] && break
    sleep 0.1
done
check "url: request through the installed edge, signed with the role's IMDS credentials: 200" "$code" 200
check "url: the function saw the function URL's event and the signer" \
    "$(jq -r '.requestContext | .domainName + " " + .authorizer.iam.accessKey' ev-url.json 2>/dev/null)" "$HOST_E ASIAUSERDATATEST0001"
check "url: the function URL refused none of the edge's requests" "$(grep -c '403 AccessDeniedException' furl.err)" 0
kill -TERM "$EDGE_PID"
wait "$EDGE_PID" 2>/dev/null
check "url: edge exits 0 on SIGTERM" "$?" 0
R=$T/root

# --- a tampered artifact stops the script before it installs anything
sed "s/^ARTIFACT_SHA256=.*/ARTIFACT_SHA256=$(printf '0%.0s' $(seq 64))/" ud.sh >bad.sh
rm -rf "$R"
mkdir -p "$R"
run_ud bad.sh >bad.out 2>bad.err
check "wrong artifact sha256: exit 1" "$?" 1
check "wrong artifact sha256: one clear line" "$(grep -c "has sha256 $FLEET_ARTIFACT_SHA256, want 0000" bad.err)" 1
check "wrong artifact sha256: nothing installed" "$(ls "$R/opt" 2>/dev/null | wc -l) $(ls "$R/etc/nearjs-edge" | wc -l)" "0 0"

# --- the admin listener follows EDGE_ADMIN_PORT, on 127.0.0.1 unless EDGE_ADMIN_CIDR names a range
# (the default listeners: the user data only writes and checks the config, it binds nothing)
run_ud_default() { # script root
    env -i PATH="$AWSBIN:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$T" AWS_ENDPOINT_URL="$MOTO_URL" \
        AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_MAX_ATTEMPTS=1 AWS_CONFIG_FILE=/dev/null \
        NEARJS_ROOT="$2" NEARJS_SYSTEMCTL= NEARJS_EDGE_USER= bash "$1"
}
for cidr in "" 10.20.0.0/16; do
    (EDGE_ADMIN_PORT=9555 EDGE_ADMIN_CIDR=$cidr fleet_userdata us-east-1) >ud-admin.sh
    rm -rf "$T/root-admin"
    mkdir -p "$T/root-admin"
    run_ud_default ud-admin.sh "$T/root-admin" >/dev/null 2>ud-admin.err
    want=127.0.0.1:9555
    [ -z "$cidr" ] || want=0.0.0.0:9555
    check "EDGE_ADMIN_PORT=9555 EDGE_ADMIN_CIDR='$cidr': admin listener $want" \
        "$(grep -B0 -A1 "listen: $want" "$T/root-admin/etc/nearjs-edge/edge.yaml" | grep -c 'admin: true')" 1
done

# --- boot-time fetches retry with bounded backoff: the key parameter appears 2 s after the instance
# starts (a policy or credentials not usable yet look the same from the instance)
cp ud.sh ud-retry.sh
rm -rf "$R"
mkdir -p "$R"
"$AWSBIN/aws" --region us-east-1 ssm delete-parameter --name /nearjs/edge/key
: >retry.err
( # the parameter comes back once the user data has said it failed to get it
    for _ in $(seq 600); do grep -q 'get-parameter /nearjs/edge/key failed (try 1 ' retry.err && break; sleep 0.05; done
    "$AWSBIN/aws" --region us-east-1 ssm put-parameter --name /nearjs/edge/key --type SecureString --value "file://$KEY_FILE" >/dev/null
) &
PIDS+=($!)
NEARJS_FETCH_PAUSE=0.5 NEARJS_FETCH_TRIES=12 run_ud ud-retry.sh >retry.out 2>retry.err
check "a parameter that appears late: the user data waits for it and succeeds" "$?" 0
check "a parameter that appears late: one line per failed try" \
    "$(grep -c 'nearjs-edge user data: ssm get-parameter /nearjs/edge/key failed (try [0-9]* of 12: .*ParameterNotFound.*); again in' retry.err | awk '{print ($1 >= 1) ? "yes" : "no"}')" yes
"$AWSBIN/aws" --region us-east-1 ssm delete-parameter --name /nearjs/edge/key
rm -rf "$R"
mkdir -p "$R"
NEARJS_FETCH_PAUSE=0.1 NEARJS_FETCH_TRIES=3 run_ud ud-retry.sh >retry.out 2>retry.err
check "a parameter that never appears: gives up after the bound, exit 1" "$?" 1
check "a parameter that never appears: one line naming it and the count" \
    "$(grep -c 'nearjs-edge user data: ssm get-parameter /nearjs/edge/key failed 3 times; giving up' retry.err)" 1
"$AWSBIN/aws" --region us-east-1 ssm put-parameter --name /nearjs/edge/key --type SecureString --value "file://$KEY_FILE" >/dev/null

# --- the edge as the service runs it: started as root, it drops to its user (daemon here: a system user
# every Debian has, with its own group), answers, is reloaded (SIGHUP) and still logs; then its log is
# rotated by the real logrotate with the installed config, and it logs into the new file.
R2=$T/root-drop
rm -rf "$R2"
mkdir -p "$R2"
chmod 0755 "$T" # the dropped user must reach the files under the test's folder, as it does under /
env -i PATH="$AWSBIN:/usr/sbin:/usr/bin:/sbin:/bin" HOME="$T" AWS_ENDPOINT_URL="$MOTO_URL" \
    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_MAX_ATTEMPTS=1 AWS_CONFIG_FILE=/dev/null \
    NEARJS_ROOT="$R2" NEARJS_SYSTEMCTL= NEARJS_EDGE_USER=daemon NEARJS_EDGE_LISTEN="127.0.0.1:$L 127.0.0.1:$P 127.0.0.1:$A" \
    NEARJS_EDGE_CONNECT_TO="us-east-1=127.0.0.1:$GW_PORT" NEARJS_EDGE_CA="$T/ca.pem" bash ud.sh >drop.out 2>drop.err
check "user data with NEARJS_EDGE_USER=daemon: exit 0" "$?" 0
LOG=$R2/var/log/nearjs-edge/access.log
check "key file: root:daemon 0640 (the edge's group only)" "$(stat -c '%U:%G %a' "$R2/etc/nearjs-edge/fast.example.test.key" 2>/dev/null)" "root:daemon 640"
check "access log: daemon:daemon 0640 before the edge starts" "$(stat -c '%U:%G %a' "$LOG" 2>/dev/null)" "daemon:daemon 640"
check "unit runs as the edge's user" "$(grep -E '^(User|Group)=' "$R2/etc/systemd/system/nearjs-edge.service" | paste -sd' ')" "User=daemon Group=daemon"
read -r -a CMD <<<"$(sed -n 's/^ExecStart=//p' "$R2/etc/systemd/system/nearjs-edge.service")"
"${CMD[@]}" >edge2.out 2>edge2.err &
EDGE_PID=$!
PIDS+=("$EDGE_PID")
await_log "$EDGE_PID" edge2.err 'serving:' "the installed edge (as daemon)"
check "the installed edge dropped to daemon" "$(ps -o user= -p "$EDGE_PID" | tr -d ' ')" daemon
hits() { grep -c "\"path\":\"$1\"" "$2" 2>/dev/null || true; }
"${C[@]}" -o /dev/null "https://fast.example.test:$L/acme/before-reload.js"
kill -HUP "$EDGE_PID"
for _ in $(seq 100); do grep -qE 'reloaded|reload refused' edge2.err && break; sleep 0.05; done
check "reload after the privilege drop: accepted (the log and key reopened as daemon)" \
    "$(grep -c 'reloaded:' edge2.err) $(grep -c 'reload refused' edge2.err)" "1 0"
"${C[@]}" -o /dev/null "https://fast.example.test:$L/acme/after-reload.js"
for _ in $(seq 40); do [ "$(hits /acme/after-reload.js "$LOG")" = 1 ] && break; sleep 0.05; done
check "it still logs after the reload" "$(hits /acme/before-reload.js "$LOG") $(hits /acme/after-reload.js "$LOG")" "1 1"
if command -v logrotate >/dev/null; then
    # The installed config, its reload pointed at this edge (no systemd here), run by logrotate itself.
    conf=$(<"$R2/etc/logrotate.d/nearjs-edge")
    printf '%s\n' "${conf//systemctl reload nearjs-edge.service/kill -HUP $EDGE_PID}" >logrotate.conf
    chmod 0644 logrotate.conf
    logrotate -f -s "$T/logrotate.state" logrotate.conf 2>logrotate.err
    check "logrotate with the installed config: exit 0" "$? $(cat logrotate.err)" "0 "
    for _ in $(seq 100); do [ "$(grep -c 'reloaded:' edge2.err)" = 2 ] && break; sleep 0.05; done
    check "rotated: the old file kept, a new one for daemon (0640)" \
        "$(hits /acme/after-reload.js "$LOG.1") $(stat -c '%U:%G %a' "$LOG" 2>/dev/null)" "1 daemon:daemon 640"
    # Each worker moves to the new configuration (and file) at its next tick: until then a line may
    # still land in the rotated file, never nowhere.
    for _ in $(seq 50); do
        "${C[@]}" -o /dev/null "https://fast.example.test:$L/acme/after-rotate.js"
        [ "$(hits /acme/after-rotate.js "$LOG")" -ge 1 ] && break
        sleep 0.1
    done
    check "after the rotation the edge logs into the new file" "$(grep -c 'reloaded:' edge2.err) $(hits /acme/after-rotate.js "$LOG" | awk '{print ($1 >= 1)}')" "2 1"
else
    echo "note: no logrotate here (apt-get install logrotate): the rotation itself not exercised"
fi
kill -TERM "$EDGE_PID"
wait "$EDGE_PID" 2>/dev/null

if [ "$FAILS" -ne 0 ]; then
    for f in steps.err ud.err ud.out edge.err gw.err ud-url.err edge-url.err furl.err imds.err drop.err edge2.err retry.err ud-admin.err; do
        [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }
    done
    exit 1
fi
echo "all fleet user-data tests passed"
