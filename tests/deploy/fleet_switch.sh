#!/usr/bin/env bash
# Switching a region between MODE=edge and MODE=direct, both ways, against moto (us-east-1,
# EDGE_COUNT=1): edge -> direct leaves no instance, address, health check, weighted or edge latency
# record, parameter, group, role or profile of the fleet, and fast.$DOMAIN is direct mode's record;
# direct -> edge leaves no direct latency record nor its health check; a new build whose instance never
# answers /healthz leaves the old one serving and fails the region; destroy then leaves nothing.
# And the edges' origin (issue 20), edge mode's ORIGIN=url -> apigw -> (direct) -> url: with url a function
# URL on live with AuthType AWS_IAM, the edge role the only principal of the function's policy (both
# InvokeFunctionUrl and InvokeFunction), the reserved concurrency, the URL and a sign block in the user
# data, and no HTTP API, custom domain, certificate or regional record; plan shows the switch; apigw has
# the gateway and none of the URL's things.
# Usage: fleet_switch.sh BUILD_DIR
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
. "$HERE/fleet_lib.sh"
edge_test_begin fleet-switch
fleet_moto_begin

make_ca fleet-switch-ca
mkcert edge '*.example.test'
arch=$(uname -m | sed 's/aarch64/arm64/')
"$ROOT_DIR/deploy/package.sh" --build "$BUILD" --out function.zip >package.out 2>&1 ||
    { echo "FAIL package:"; cat package.out; exit 1; }
"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-1.0.0-$arch.tar.gz" >edge-package.out 2>&1 ||
    { echo "FAIL edge-package:"; cat edge-package.out; exit 1; }
ZONE_ID=$(awsj us-east-1 route53 create-hosted-zone --name example.test --caller-reference fleet-switch | jq -r '.HostedZone.Id | ltrimstr("/hostedzone/")')
export STACK=nearjs DOMAIN=example.test REGIONS=us-east-1 AWS_CLI=$AWSBIN/aws
export ZIP=$T/function.zip CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key CHAIN_FILE=$T/ca.pem CERT_WAIT=5
export EDGE_ARTIFACT=$T/nearjs-edge-1.0.0-$arch.tar.gz EDGE_COUNT=1 EDGE_HEALTH_WAIT=0 EDGE_DRAIN_WAIT=0
DEPLOY=("$ROOT_DIR/deploy/nearjs-deploy.sh")
snapshot() { "$PY" "$HERE/fleet_state.py" snapshot nearjs example.test "$ZONE_ID" us-east-1 >snap.json; }
fleet_counts() { # instances addresses groups parameters roles profiles
    jq -c '[.regions[] | (.instances, .addresses, .security_groups, (.params | to_entries)) | length] + [(.roles | length), (.profiles | length)]' snap.json
}
fast_ids() { jq -c '[.records[] | select(.Name == "fast.example.test.") | .SetIdentifier]' snap.json; }
# origin_state: the function URL's AuthType, the policy's statements (sid action principal), the reserved
# concurrency, and how many HTTP APIs, custom domains, certificates and regional records there are.
origin_state() {
    local url pol conc
    url=$(awsj us-east-1 lambda get-function-url-config --function-name nearjs --qualifier live 2>/dev/null | jq -r .AuthType)
    pol=$(awsj us-east-1 lambda get-policy --function-name nearjs --qualifier live 2>/dev/null | jq -c '.Policy | fromjson
        | [.Statement[] | "\(.Sid) \(.Action) \(.Principal | if type == "object" then (.AWS // .Service) else . end)"] | sort')
    conc=$(awsj us-east-1 lambda get-function-concurrency --function-name nearjs 2>/dev/null | jq -r '.ReservedConcurrentExecutions // "-"')
    jq -cn --arg u "${url:--}" --argjson p "${pol:-[]}" --arg c "${conc:--}" \
        --argjson a "$(awsj us-east-1 apigatewayv2 get-apis | jq '.Items | length')" \
        --argjson d "$(awsj us-east-1 apigatewayv2 get-domain-names | jq '.Items | length')" \
        --argjson k "$(awsj us-east-1 acm list-certificates | jq '.CertificateSummaryList | length')" \
        --argjson r "$(jq '[.records[] | select(.Name == "us-east-1-fast.example.test.")] | length' snap.json)" \
        '{url: $u, policy: $p, concurrency: $c, apis: $a, domains: $d, certs: $k, regional_records: $r}'
}
userdata() { # the user data of the region's instance
    local id
    id=$(jq -r '.regions["us-east-1"].instances[0].id' snap.json)
    awsj us-east-1 ec2 describe-instance-attribute --instance-id "$id" --attribute userData | jq -r .UserData.Value | base64 -d
}
EDGE_ROLE=arn:aws:iam::123456789012:role/nearjs-edge-us-east-1
URL_STATE='{"url":"AWS_IAM","policy":["nearjs-edge-invoke lambda:InvokeFunction '$EDGE_ROLE'","nearjs-edge-url lambda:InvokeFunctionUrl '$EDGE_ROLE'"],"concurrency":"7","apis":0,"domains":0,"certs":0,"regional_records":0}'
export RESERVED_CONCURRENCY=7

MODE=edge "${DEPLOY[@]}" deploy >edge1.out 2>&1
check "edge deploy exits 0" "$?" 0
snapshot
check "edge: one instance, address, group, 2 parameters, role, profile" "$(fleet_counts)" "[1,1,1,2,1,1]"
check "edge: fast is the edge latency record only" "$(fast_ids)" '["nearjs-edge-us-east-1"]'
check "edge (ORIGIN=url by default): a function URL with AWS_IAM, the edge role alone in its policy, concurrency 7, no gateway" \
    "$(origin_state)" "$URL_STATE"
url_host=$(awsj us-east-1 lambda get-function-url-config --function-name nearjs --qualifier live | jq -r '.FunctionUrl | ltrimstr("https://") | rtrimstr("/")')
userdata >ud-url
check "edge (url): the user data names the function URL and the sign block" \
    "$(grep -c "^UPSTREAM_HOSTS=us-east-1=$url_host\$" ud-url) $(grep -c '^ORIGIN=url$' ud-url)" "1 1"

ORIGIN=apigw MODE=edge "${DEPLOY[@]}" plan >plan-apigw.out 2>&1
check "plan ORIGIN=apigw exits 0" "$?" 0
grep '^\[us-east-1\] would ' plan-apigw.out
check "plan ORIGIN=apigw: shows the switch (API, domain, certificate, record made; URL, statements, concurrency gone)" \
    "$(grep -c -E '^\[us-east-1\] would (create HTTP API|create custom domain us-east-1-fast|create certificate|create record us-east-1-fast|delete function URL|delete permission nearjs-edge-url|delete permission nearjs-edge-invoke|delete reserved concurrency)' plan-apigw.out)" 8
snapshot
check "plan ORIGIN=apigw: changed nothing" "$(origin_state)" "$URL_STATE"

ORIGIN=apigw MODE=edge "${DEPLOY[@]}" deploy >apigw.out 2>&1
check "edge ORIGIN=apigw deploy exits 0" "$?" 0
snapshot
check "edge ORIGIN=apigw: the gateway (API, domain, certificate, regional record), no URL, only its statement, no concurrency" \
    "$(origin_state)" '{"url":"-","policy":["nearjs-apigateway lambda:InvokeFunction apigateway.amazonaws.com"],"concurrency":"-","apis":1,"domains":1,"certs":1,"regional_records":1}'
userdata >ud-apigw
check "edge ORIGIN=apigw: the user data has no function URL" "$(grep -c '^UPSTREAM_HOSTS=\|^ORIGIN=' ud-apigw)" 0

MODE=direct "${DEPLOY[@]}" deploy >direct.out 2>&1
check "direct deploy exits 0" "$?" 0
snapshot
check "direct: nothing of the fleet left" "$(fleet_counts)" "[0,0,0,0,0,0]"
check "direct: fast is the direct latency record only" "$(fast_ids)" '["nearjs-fast-us-east-1"]'
check "direct: no weighted proxy records" "$(jq '[.records[] | select(.Name | startswith("proxy-"))] | length' snap.json)" 0
check "direct: no function URL, URL statement or reserved concurrency; the gateway" \
    "$(origin_state | jq -c '{url, policy, concurrency, apis}')" '{"url":"-","policy":["nearjs-apigateway lambda:InvokeFunction apigateway.amazonaws.com"],"concurrency":"-","apis":1}'
check "direct: only direct mode's health check" \
    "$(jq -c '[.health_checks[].config.FullyQualifiedDomainName]' snap.json)" '["us-east-1-fast.example.test"]'
check "direct: no edge tarball in the artifact bucket" \
    "$(awsj us-east-1 s3api list-objects-v2 --bucket nearjs-artifacts-123456789012-us-east-1 --prefix edge/ | jq '.Contents // [] | length')" 0

MODE=edge "${DEPLOY[@]}" deploy >edge2.out 2>&1
check "edge again exits 0" "$?" 0
snapshot
check "edge again: the fleet is back" "$(fleet_counts)" "[1,1,1,2,1,1]"
check "edge again: fast is the edge latency record only" "$(fast_ids)" '["nearjs-edge-us-east-1"]'
check "edge again (url): the URL back, nothing of the gateway or of direct mode left" "$(origin_state)" "$URL_STATE"
check "edge again: only the instance's health check" \
    "$(jq -c '[.health_checks[] | .config.FullyQualifiedDomainName + " " + .config.IPAddress]' snap.json)" \
    "$(jq -c '[.regions[].instances[] | "fast.example.test " + .ip]' snap.json)"

# A new build whose instance never answers /healthz (moto's address is a fake 127.x): the new one is
# terminated, the old one keeps serving untouched, the region fails naming the step.
serving() { jq -c '{i: [.regions[].instances[].id], a: [.regions[].addresses[]], h: .health_checks, r: .records}' snap.json; }
before=$(serving)
terminated() { awsj us-east-1 ec2 describe-instances --filters Name=tag:nearjs:stack,Values=nearjs \
    Name=instance-state-name,Values=terminated,shutting-down | jq '[.Reservations[].Instances[]] | length'; }
gone_before=$(terminated)
mkdir -p repack
tar -xzf "$EDGE_ARTIFACT" -C repack
echo "build 2" >"$(echo repack/nearjs-edge-*)/BUILD-NOTE"
tar -C repack -czf "$T/nearjs-edge-1.0.1-$arch.tar.gz" .
EDGE_ARTIFACT=$T/nearjs-edge-1.0.1-$arch.tar.gz EDGE_HEALTH_WAIT=1 NEARJS_FLEET_HEALTH_PAUSE=0.2 MODE=edge \
    "${DEPLOY[@]}" deploy >unhealthy.out 2>&1
check "unhealthy new build: deploy exits 1" "$?" 1
check "unhealthy new build: the summary names the step and the instance" \
    "$(grep -c '^us-east-1: failed at step fleet_instances: i-[0-9a-f]* did not answer /healthz' unhealthy.out)" 1
check "unhealthy new build: says which instance did not answer" "$(grep -c '^\[us-east-1\] i-[0-9a-f]* did not answer /healthz with 200 at 127\.' unhealthy.out)" 1
snapshot
check "unhealthy new build: the old instance, its address, health check and records untouched" "$(serving)" "$before"
check "unhealthy new build: the new instance terminated" "$(($(terminated) - gone_before))" 1

MODE=edge "${DEPLOY[@]}" destroy >destroy.out 2>&1
check "destroy exits 0" "$?" 0
check "destroy: no health check or record deleted twice" "$(grep -c '(no instance)' destroy.out)" 0
snapshot
check "destroy: nothing of the fleet" "$(fleet_counts)" "[0,0,0,0,0,0]"
check "destroy: no health checks" "$(jq '.health_checks | length' snap.json)" 0
check "destroy: no records but SOA and NS" "$(jq -c '[.records[] | .Name + " " + .Type]' snap.json)" "[]"

if [ "$FAILS" -ne 0 ]; then
    for f in edge1.out plan-apigw.out apigw.out direct.out edge2.out unhealthy.out destroy.out; do echo "--- $f"; tail -30 "$f"; done
    exit 1
fi
echo "all fleet switch tests passed"
