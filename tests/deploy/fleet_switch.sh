#!/usr/bin/env bash
# Switching a region between MODE=edge and MODE=direct, both ways, against moto (us-east-1,
# EDGE_COUNT=1): edge -> direct leaves no instance, address, health check, weighted or edge latency
# record, parameter, group, role or profile of the fleet, and fast.$DOMAIN is direct mode's record;
# direct -> edge leaves no direct latency record nor its health check; a new build whose instance never
# answers /healthz leaves the old one serving and fails the region; destroy then leaves nothing.
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
export ZIP=$T/function.zip CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key CERT_WAIT=5
export EDGE_ARTIFACT=$T/nearjs-edge-1.0.0-$arch.tar.gz EDGE_COUNT=1 EDGE_HEALTH_WAIT=0 EDGE_DRAIN_WAIT=0
DEPLOY=("$ROOT_DIR/deploy/nearjs-deploy.sh")
snapshot() { "$PY" "$HERE/fleet_state.py" snapshot nearjs example.test "$ZONE_ID" us-east-1 >snap.json; }
fleet_counts() { # instances addresses groups parameters roles profiles
    jq -c '[.regions[] | (.instances, .addresses, .security_groups, (.params | to_entries)) | length] + [(.roles | length), (.profiles | length)]' snap.json
}
fast_ids() { jq -c '[.records[] | select(.Name == "fast.example.test.") | .SetIdentifier]' snap.json; }

MODE=edge "${DEPLOY[@]}" deploy >edge1.out 2>&1
check "edge deploy exits 0" "$?" 0
snapshot
check "edge: one instance, address, group, 2 parameters, role, profile" "$(fleet_counts)" "[1,1,1,2,1,1]"
check "edge: fast is the edge latency record only" "$(fast_ids)" '["nearjs-edge-us-east-1"]'

MODE=direct "${DEPLOY[@]}" deploy >direct.out 2>&1
check "direct deploy exits 0" "$?" 0
snapshot
check "direct: nothing of the fleet left" "$(fleet_counts)" "[0,0,0,0,0,0]"
check "direct: fast is the direct latency record only" "$(fast_ids)" '["nearjs-fast-us-east-1"]'
check "direct: no weighted proxy records" "$(jq '[.records[] | select(.Name | startswith("proxy-"))] | length' snap.json)" 0
check "direct: only direct mode's health check" \
    "$(jq -c '[.health_checks[].config.FullyQualifiedDomainName]' snap.json)" '["us-east-1-fast.example.test"]'
check "direct: no edge tarball in the artifact bucket" \
    "$(awsj us-east-1 s3api list-objects-v2 --bucket nearjs-artifacts-123456789012-us-east-1 --prefix edge/ | jq '.Contents // [] | length')" 0

MODE=edge "${DEPLOY[@]}" deploy >edge2.out 2>&1
check "edge again exits 0" "$?" 0
snapshot
check "edge again: the fleet is back" "$(fleet_counts)" "[1,1,1,2,1,1]"
check "edge again: fast is the edge latency record only" "$(fast_ids)" '["nearjs-edge-us-east-1"]'
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
    for f in edge1.out direct.out edge2.out unhealthy.out destroy.out; do echo "--- $f"; tail -30 "$f"; done
    exit 1
fi
echo "all fleet switch tests passed"
