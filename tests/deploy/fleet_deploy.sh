#!/usr/bin/env bash
# make deploy MODE=edge against moto, two regions (us-east-1, eu-west-1), EDGE_COUNT=2:
#  1. first deploy: the exact fleet (fleet_state.py check: instances with the AMI of the SSM parameter,
#     type, profile, tags and byte-exact user data; Elastic IPs and associations; security group rules;
#     parameters byte-exact; role policy; health checks; every weighted and latency record);
#  2. the same deploy again: the summary says 0 created/updated/deleted and the snapshot is identical;
#  3. make plan with EDGE_COUNT=3: says what it would launch, changes nothing;
#  3b. plan, every aws argument logged: nothing decrypts the site's key;
#  4. a new edge build, with EDGE_DRAIN_WAIT=4: each region's instances replaced one at a time; the probe
#     (fleet_probe.py, the deploy's NEARJS_FLEET_STEP_HOOK) reads moto after every change: never fewer
#     than EDGE_COUNT running and in DNS, never two launches before a termination, each old instance's
#     record gone while it still runs, then the drain wait, then its termination; the exact fleet again,
#     all new;
#  4c. a new AMI (EDGE_AMI_PARAM) replaces every instance; the same AMI again replaces nothing;
#  5. destroy: nothing of ours left (instances, addresses, health checks, records, parameters, groups,
#     roles, profiles); each region's KMS key pending deletion, its alias gone.
# Through the realism layer (tests/deploy/README.md) with the default behaviours, every operation's first
# call throttled, and the writes' parameters logged: the first deploy is edge mode's first deploy into an
# empty account (IAM propagation, throttling). Also (4b): an instance AWS stopped is left as it is by
# the next deploy, and destroy takes it; one AWS terminated (its address disassociated, as AWS does) is
# replaced and its address released only after its record and health check are gone (address-in-dns: no
# violation); burstable instances are launched with CpuCredits=standard.
# moto gives fake 127.x addresses, so EDGE_HEALTH_WAIT=0 (no /healthz wait); EDGE_DRAIN_WAIT=0 but in 4.
# Usage: fleet_deploy.sh BUILD_DIR
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
. "$HERE/fleet_lib.sh"
edge_test_begin fleet-deploy
REALISM_ON="default throttle-first log-params" fleet_moto_begin

make_ca fleet-deploy-ca
mkcert edge '*.example.test'
cat edge.pem ca.pem >certchain.pem
arch=$(uname -m | sed 's/aarch64/arm64/')
"$ROOT_DIR/deploy/package.sh" --build "$BUILD" --out function.zip >package.out 2>&1 ||
    { echo "FAIL package:"; cat package.out; exit 1; }
"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-1.0.0-$arch.tar.gz" >edge-package.out 2>&1 ||
    { echo "FAIL edge-package:"; cat edge-package.out; exit 1; }
ZONE_ID=$(awsj us-east-1 route53 create-hosted-zone --name example.test --caller-reference fleet-test | jq -r '.HostedZone.Id | ltrimstr("/hostedzone/")')

export STACK=nearjs DOMAIN=example.test REGIONS=us-east-1,eu-west-1 MODE=edge AWS_CLI=$AWSBIN/aws
export ZIP=$T/function.zip CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key CHAIN_FILE=$T/ca.pem CERT_WAIT=5
export EDGE_ARTIFACT=$T/nearjs-edge-1.0.0-$arch.tar.gz EDGE_COUNT=2 EDGE_HEALTH_WAIT=0 EDGE_DRAIN_WAIT=0
export FLEET_PROBE_LOG=$T/probe.log FLEET_STACK=nearjs FLEET_DOMAIN=example.test FLEET_ZONE_ID=$ZONE_ID
printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$PY" "$HERE/fleet_probe.py" >probe.sh
chmod +x probe.sh
export NEARJS_FLEET_STEP_HOOK=$T/probe.sh
DEPLOY=("$ROOT_DIR/deploy/nearjs-deploy.sh")

# expect_userdata: what deploy must have given each region's instances (deploy's own renderer).
expect_userdata() {
    (
        DEPLOY_DIR=$ROOT_DIR/deploy
        for f in "$DEPLOY_DIR"/lib/*.sh; do . "$f"; done
        ACCOUNT=123456789012 HEALTH_PATH=/healthz REGION_LIST=(us-east-1 eu-west-1)
        # ORIGIN=url, edge mode's default: each region's function URL, as moto made it
        ORIGIN=url FLEET_ORIGIN_HOSTS=$(for r in "${REGION_LIST[@]}"; do
            printf '%s=%s ' "$r" "$(awsj "$r" lambda get-function-url-config --function-name nearjs --qualifier live |
                jq -r '.FunctionUrl | ltrimstr("https://") | rtrimstr("/")')"
        done)
        fleet_pem_check
        fleet_artifact_prepare
        for r in "${REGION_LIST[@]}"; do fleet_userdata "$r" >"$T/ud.$r"; done
        echo "$FLEET_ARTIFACT_KEY"
    )
}
# snapshot FILE: the state, or the test ends here (two failed snapshots must not compare "identical").
snapshot() {
    if ! "$PY" "$HERE/fleet_state.py" snapshot nearjs example.test "$ZONE_ID" us-east-1 eu-west-1 >"$1" 2>snapshot.err ||
        [ "$(jq -r '.regions | keys | join(",")' "$1" 2>/dev/null)" != "eu-west-1,us-east-1" ]; then
        echo "FAIL snapshot into $1: fleet_state.py snapshot failed or gave no state of both regions:"
        cat snapshot.err "$1"
        exit 1
    fi
}
# The facts fleet_state.py check states about two regions of EDGE_COUNT=2: per region 15 (count, security
# group: 3, build, addresses, parameters, KMS key: 3, profile, role policy: 2, latency record: 2) and 16
# per instance (AMI, type, IMDSv2, encrypted volume, profile, group, tags, user data, address: 3, health
# check: 3, record: 2), and 2 overall.
FLEET_FACTS=$((2 + 2 * (15 + 2 * 16)))
fleet_check() { # label
    local out rc
    out=$("$PY" "$HERE/fleet_state.py" check snap.json 2 t3.micro "$T" certchain.pem edge.key 2>&1)
    rc=$?
    check "$1: the exact fleet: fleet_state.py check exits 0" "$rc" 0
    check "$1: the exact fleet: no fact fails" "$(grep '^FAIL' <<<"$out")" ""
    check "$1: the exact fleet: all $FLEET_FACTS facts checked" "$(grep -c '^ok' <<<"$out")" "$FLEET_FACTS"
    [ "$rc" -eq 0 ] || tail -20 <<<"$out"
}

# --- 1. first deploy
"${DEPLOY[@]}" deploy >deploy1.out 2>&1
check "first deploy exits 0" "$?" 0
check "first deploy: the layer throttled first calls" "$(jq -s '[.[] | select(.by == "throttle-first")] | length > 10' "$CALL_LOG")" true
check "first deploy: every instance launched with CpuCredits=standard" \
    "$(jq -s -c '[.[] | select(.operation == "RunInstances" and .status == 200) | .params["CreditSpecification.CpuCredits"]] | unique' "$CALL_LOG")" '["standard"]'
FLEET_ARTIFACT_KEY=$(expect_userdata)
export FLEET_ARTIFACT_KEY
snapshot snap.json
fleet_check "first deploy"
cp snap.json snap1.json

# --- 2. again: nothing created, updated or deleted; the same state
: >"$FLEET_PROBE_LOG"
"${DEPLOY[@]}" deploy >deploy2.out 2>&1
check "second deploy exits 0" "$?" 0
for r in us-east-1 eu-west-1; do
    check "second deploy, $r: nothing to do" "$(grep -c "^$r: done: 0 created, 0 updated, 0 deleted" deploy2.out)" 1
done
snapshot snap.json
check "second deploy: state identical" "$(cmp -s snap1.json snap.json && echo same)" same
check "second deploy: no fleet step ran" "$(wc -l <"$FLEET_PROBE_LOG")" 0

# --- 3. plan with one more instance per region: said, not done
EDGE_COUNT=3 "${DEPLOY[@]}" plan >plan.out 2>&1
check "plan exits 0" "$?" 0
for r in us-east-1 eu-west-1; do
    check "plan, $r: would launch one instance" "$(grep -c "^\[$r\] would create edge instance" plan.out)" 1
done
snapshot snap.json
check "plan: state identical" "$(cmp -s snap1.json snap.json && echo same)" same

# --- 3b. deploy and plan never decrypt the site's key: every argument of every aws call, through a
# wrapper that logs them (one aws process per call)
printf '#!/bin/sh\nprintf "%%s\\n" "$*" >>"%s"\nexec "%s" "$@"\n' "$T/aws-args.log" "$AWSBIN/aws" >aws-logged.sh
chmod +x aws-logged.sh
: >aws-args.log
AWS_CLI=$T/aws-logged.sh AWS_CLI_SERVER=0 "${DEPLOY[@]}" plan >plan2.out 2>&1
check "plan through the argument log exits 0" "$?" 0
check "plan made calls ($(wc -l <aws-args.log)), the parameters' tags among them" \
    "$([ "$(wc -l <aws-args.log)" -gt 20 ] && echo yes) $(grep -c '^.*ssm list-tags-for-resource --resource-type Parameter' aws-args.log)" "yes 4"
check "plan: no call decrypts (no --with-decryption, no kms decrypt; a no-op deploy runs the same reads)" \
    "$(grep -c -e '--with-decryption' -e '^kms decrypt' aws-args.log)" 0

# --- 4. a new build: replaced one at a time
mkdir -p repack
tar -xzf "$EDGE_ARTIFACT" -C repack
echo "build 2" >"$(echo repack/nearjs-edge-*)/BUILD-NOTE"
tar -C repack -czf "$T/nearjs-edge-1.0.1-$arch.tar.gz" .
export EDGE_ARTIFACT=$T/nearjs-edge-1.0.1-$arch.tar.gz
: >"$FLEET_PROBE_LOG"
DRAIN=4
EDGE_DRAIN_WAIT=$DRAIN "${DEPLOY[@]}" deploy >deploy3.out 2>&1
check "new-build deploy exits 0" "$?" 0
FLEET_ARTIFACT_KEY=$(expect_userdata)
snapshot snap.json
fleet_check "after the new build"
old=$(jq -r '.regions[].instances[].id' snap1.json | sort)
new=$(jq -r '.regions[].instances[].id' snap.json | sort)
check "every old instance gone" "$(comm -12 <(echo "$old") <(echo "$new") | wc -l)" 0
for r in us-east-1 eu-west-1; do
    check "$r: probe saw every step (5 per replaced instance)" "$(grep -c "^$r " "$FLEET_PROBE_LOG")" 10
    check "$r: never fewer than EDGE_COUNT running, at any step" \
        "$(awk -v r="$r" '$1 == r { sub("running=", "", $2); if (m == "" || $2 + 0 < m) m = $2 + 0 } END { print m }' "$FLEET_PROBE_LOG")" 2
    check "$r: never fewer than EDGE_COUNT serving (running and in DNS), at any step" \
        "$(awk -v r="$r" '$1 == r { sub("serving=", "", $3); if (m == "" || $3 + 0 < m) m = $3 + 0 } END { print m }' "$FLEET_PROBE_LOG")" 2
    check "$r: one at a time (launch, address, in DNS, out of DNS, terminate; twice)" \
        "$(awk -v r="$r" '$1 == r { print $9 }' "$FLEET_PROBE_LOG" | paste -sd' ')" \
        "launched address in out terminated launched address in out terminated"
    # The drain, for each old instance X: at "out of DNS X" X still runs and has no record; deploy says
    # record, wait, terminate in that order; and moto's own termination time of X (whole seconds, rounded
    # down) is more than DRAIN-1 s after the "out of DNS" probe finished reading (without the wait: < 1 s).
    for x in $(awk -v r="$r" '$1 == r && $9 == "out" { print $NF }' "$FLEET_PROBE_LOG"); do
        check "$r: $x out of DNS while still running" \
            "$(awk -v r="$r" -v x="$x" '$1 == r && $9 == "out" && $NF == x {
                print (index("," substr($6, 4) ",", "," x ",") ? "running" : "gone") " " (index("," substr($7, 5) ",", "," x ",") ? "in-dns" : "no-record") }' "$FLEET_PROBE_LOG")" \
            "running no-record"
        check "$r: $x: record deleted, drain wait, then terminated (deploy's lines)" \
            "$(grep -F "$x" deploy3.out | sed -n -e 's/.*delete record .*/record/p' -e 's/.*waiting .*resolvers.*/wait/p' \
                -e 's/.*delete edge instance .*/terminate/p' | paste -sd' ')" "record wait terminate"
        check "$r: $x terminated more than $((DRAIN - 1))s after it left DNS (moto's clock)" \
            "$(awk -v r="$r" -v x="$x" -v w="$DRAIN" '$1 != r { next } $9 == "out" && $NF == x { sub("end=", "", $5); out = $5 }
                $9 == "terminated" && $NF == x { sub("term=", "", $8); print (out != "" && $8 - out > w - 1) ? "yes" : "no: " $8 - out "s" }' "$FLEET_PROBE_LOG")" yes
    done
done
check "probe errors" "$(grep -c probe-error "$FLEET_PROBE_LOG")" 0

# --- 4b. at once, an instance AWS stopped in us-east-1 (scheduled retirement) and one AWS terminated in
# eu-west-1 (its Elastic IP disassociated, as AWS does). us-east-1: nothing to do (the stopped one keeps
# its address, check and record). eu-west-1: replaced; the gone one's record and health check go before
# its address is released. Then destroy (5.) takes the stopped one too.
stopped=$(jq -r '.regions["us-east-1"].instances[0].id' snap.json)
awsj us-east-1 ec2 stop-instances --instance-ids "$stopped" >/dev/null
gone=$(jq -r '.regions["eu-west-1"].instances[0].id' snap.json)
assoc=$(awsj eu-west-1 ec2 describe-addresses --filters "Name=instance-id,Values=$gone" | jq -r '.Addresses[0].AssociationId')
awsj eu-west-1 ec2 disassociate-address --association-id "$assoc" >/dev/null
awsj eu-west-1 ec2 terminate-instances --instance-ids "$gone" >/dev/null
: >"$FLEET_PROBE_LOG"
mark=$(date +%s.%N)
"${DEPLOY[@]}" deploy >deploy4b.out 2>&1
check "deploy after a stop and a termination exits 0" "$?" 0
check "us-east-1, a stopped instance: nothing to do" "$(grep -c "^us-east-1: done: 0 created, 0 updated, 0 deleted" deploy4b.out)" 1
# Route53 is global, and the stack's health-check alarms and dashboard live in us-east-1 (issue 19): they
# follow eu-west-1's new instance. Nothing else may be written there; and CloudWatch only those.
check "us-east-1: no write at all (Route53, health-check alarms and dashboard aside)" \
    "$(jq -s --argjson t "$mark" '[.[] | select(.t >= $t and .write and .region == "us-east-1" and .service != "route53" and .service != "cloudwatch")] | length' "$CALL_LOG")" 0
check "us-east-1: CloudWatch writes only alarms and the dashboard" \
    "$(jq -s --argjson t "$mark" '[.[] | select(.t >= $t and .write and .region == "us-east-1" and .service == "cloudwatch") | .operation | select(. != "PutMetricAlarm" and . != "DeleteAlarms" and . != "PutDashboard")] | length' "$CALL_LOG")" 0
check "us-east-1: the stopped instance keeps its address" \
    "$(awsj us-east-1 ec2 describe-addresses --filters "Name=instance-id,Values=$stopped" | jq '.Addresses | length')" 1
check "eu-west-1: one instance launched in its place" "$(grep -c '^\[eu-west-1\] create edge instance' deploy4b.out)" 1
check "eu-west-1: the terminated one's address released" \
    "$(jq -s --argjson t "$mark" '[.[] | select(.t >= $t and .operation == "ReleaseAddress" and .status == 200)] | length' "$CALL_LOG")" 1
check "no address released while DNS named it (address-in-dns)" \
    "$(jq -s -c '[.[] | select(.violation) | .violation]' "$CALL_LOG")" "[]"

# --- 4c. a new AMI (EDGE_AMI_PARAM: a parameter of the test's own, as AWS's public one cannot be
# written) replaces every instance at the next deploy, one at a time
for r in us-east-1 eu-west-1; do
    amis=($(awsj "$r" ec2 describe-images --owners amazon --filters 'Name=name,Values=al2023-ami-2023*' \
        "Name=architecture,Values=$arch" | jq -r '.Images[].ImageId' | sort))
    cur=$(jq -r --arg r "$r" '.regions[$r].instances[0].ami' snap.json)
    for a in "${amis[@]}"; do [ "$a" = "$cur" ] || { awsj "$r" ssm put-parameter --name /test/edge-ami --type String --value "$a" --overwrite >/dev/null; echo "$a" >"ami.$r"; break; }; done
done
cp snap.json snap3.json
EDGE_AMI_PARAM=/test/edge-ami "${DEPLOY[@]}" deploy >deploy4.out 2>&1
check "new-AMI deploy exits 0" "$?" 0
snapshot snap.json
for r in us-east-1 eu-west-1; do
    check "$r: every instance replaced, now on the new AMI $(cat "ami.$r")" \
        "$(jq -r --arg r "$r" '[.regions[$r].instances[].ami] | unique | join(" ")' snap.json) $(comm -12 <(jq -r --arg r "$r" '.regions[$r].instances[].id' snap3.json | sort) <(jq -r --arg r "$r" '.regions[$r].instances[].id' snap.json | sort) | wc -l)" \
        "$(cat "ami.$r") 0"
    check "$r: still EDGE_COUNT instances" "$(jq --arg r "$r" '.regions[$r].instances | length' snap.json)" 2
done
EDGE_AMI_PARAM=/test/edge-ami "${DEPLOY[@]}" deploy >deploy5.out 2>&1
check "the same AMI again: nothing replaced" "$(grep -c 'done: 0 created, 0 updated, 0 deleted' deploy5.out)" 2

# --- 5. destroy: nothing of ours left
"${DEPLOY[@]}" destroy >destroy.out 2>&1
check "destroy exits 0" "$?" 0
check "destroy: no health check or record deleted twice" "$(grep -c '(no instance)' destroy.out)" 0
snapshot snap.json
check "destroy: the KMS key's deletion scheduled, its alias gone" \
    "$(for r in us-east-1 eu-west-1; do awsj "$r" kms list-keys | jq -r '.Keys[].KeyId' | while read -r k; do
        [ "$(awsj "$r" kms list-resource-tags --key-id "$k" | jq -r '.Tags[]? | select(.TagKey == "nearjs:stack") | .TagValue')" = nearjs ] &&
            awsj "$r" kms describe-key --key-id "$k" | jq -r '.KeyMetadata.KeyState'; done; done | sort | uniq -c | awk '{print $2 "=" $1}' | paste -sd' ') $(for r in us-east-1 eu-west-1; do awsj "$r" kms list-aliases | jq '[.Aliases[] | select(.AliasName == "alias/nearjs-edge")] | length'; done | paste -sd' ')" \
    "PendingDeletion=2 0 0"
check "destroy: no instances, addresses, groups, parameters, roles" \
    "$(jq -c '[.regions[] | (.instances, .addresses, .security_groups, (.params | to_entries)) | length] + [(.roles | length), (.profiles | length)]' snap.json)" \
    "[0,0,0,0,0,0,0,0,0,0]"
check "destroy: no health checks" "$(jq '.health_checks | length' snap.json)" 0
check "destroy: no records but SOA and NS" "$(jq -c '[.records[] | .Name + " " + .Type]' snap.json)" "[]"

if [ "$FAILS" -ne 0 ]; then
    for f in deploy1.out deploy2.out plan.out plan2.out deploy3.out deploy4b.out deploy4.out deploy5.out destroy.out; do
        [ -f "$f" ] && { echo "--- $f"; tail -40 "$f"; }
    done
    echo "--- probe.log"
    cat "$FLEET_PROBE_LOG"
    exit 1
fi
echo "all fleet deploy tests passed"
