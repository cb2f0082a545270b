#!/usr/bin/env bash
# tests/aws/acceptance.sh against moto through the realism layer (tests/deploy/realism.py, the default
# behaviours): refused without NEARJS_REAL_AWS=1, with the default STACK, and on a STACK that exists;
# then a whole run in edge mode (ORIGIN=apigw, the richest: gateways, domains, certificates), two regions: deploy, certificates, health checks (moto reports every
# check healthy), publish, fetches, rotation, destroy, and the table. moto has no data plane, so the
# fetches go (curl --connect-to) to a local TLS server with a *.example.test certificate that answers
# every name; the edges' addresses are moto's fake 127.x ones.
# Usage: test_acceptance.sh BUILD_DIR
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
. "$ROOT_DIR/tests/deploy/fleet_lib.sh"
edge_test_begin acceptance
fleet_moto_begin

ACC=("$ROOT_DIR/tests/aws/acceptance.sh")
make_ca acceptance-ca
mkcert edge '*.example.test'
mkcert edge2 '*.example.test'
arch=$(uname -m | sed 's/aarch64/arm64/')
"$ROOT_DIR/deploy/package.sh" --build "$BUILD" --out function.zip >package.out 2>&1 ||
    { echo "FAIL package:"; cat package.out; exit 1; }
"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-1.0.0-$arch.tar.gz" >edge-package.out 2>&1 ||
    { echo "FAIL edge-package:"; cat edge-package.out; exit 1; }
awsj us-east-1 route53 create-hosted-zone --name example.test --caller-reference acceptance >/dev/null

# --- refusals: one line, exit 2, nothing called
out=$(env -u NEARJS_REAL_AWS STACK=acc1 DOMAIN=example.test "${ACC[@]}" 2>&1)
check "without NEARJS_REAL_AWS=1: exit 2, says so" "$? $(grep -c 'set NEARJS_REAL_AWS=1 and a throw-away STACK' <<<"$out")" "2 1"
out=$(NEARJS_ACCEPTANCE_TEST=1 STACK=nearjs DOMAIN=example.test "${ACC[@]}" 2>&1)
check "default STACK refused" "$? $(grep -c "not the default 'nearjs'" <<<"$out")" "2 1"
check "no call made by a refusal" "$(wc -l <"$CALL_LOG")" 0
awsj eu-west-1 iam create-role --role-name taken-role --assume-role-policy-document '{}' >/dev/null
awsj eu-west-1 lambda create-function --function-name taken --runtime provided.al2023 --handler bootstrap \
    --role arn:aws:iam::123456789012:role/taken-role --zip-file fileb://function.zip >/dev/null
out=$(NEARJS_ACCEPTANCE_TEST=1 STACK=taken DOMAIN=example.test MODE=direct "${ACC[@]}" 2>&1)
check "a STACK that exists is refused, the region named" "$? $(grep -c 'a function of that name exists in eu-west-1' <<<"$out")" "2 1"

# --- the local TLS server the fetches go to (moto has no gateway or edge to answer them)
cat edge.pem ca.pem >server.pem
"$PY" - "$T/server.pem" "$T/edge.key" >server.port 2>server.err <<'EOF' &
import http.server, ssl, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("served %s %s\n" % (self.headers.get("Host"), self.path)).encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[1], sys.argv[2])
s.socket = ctx.wrap_socket(s.socket, server_side=True)
print(s.server_address[1], flush=True)
s.serve_forever()
EOF
PIDS+=($!)
for _ in $(seq 50); do [ -s server.port ] && break; sleep 0.1; done
PORT=$(cat server.port)

# --- a whole run, edge mode with API Gateway as the origin (gateways, custom domains, certificates), two regions
: >"$CALL_LOG"
NEARJS_ACCEPTANCE_TEST=1 STACK=acc1 DOMAIN=example.test REGIONS=us-east-1,eu-west-1 MODE=edge ORIGIN=apigw AWS_CLI=$AWSBIN/aws \
    ZIP=$T/function.zip EDGE_ARTIFACT=$T/nearjs-edge-1.0.0-$arch.tar.gz EDGE_COUNT=1 EDGE_HEALTH_WAIT=0 EDGE_DRAIN_WAIT=0 \
    CERT_FILE=$T/edge.pem KEY_FILE=$T/edge.key CHAIN_FILE=$T/ca.pem ROTATE_CERT_FILE=$T/edge2.pem \
    ROTATE_KEY_FILE=$T/edge2.key ROTATE_CHAIN_FILE=$T/ca.pem HEALTH_WAIT=30 \
    ACCEPTANCE_CONNECT_TO="::127.0.0.1:$PORT" ACCEPTANCE_CACERT=$T/ca.pem \
    "${ACC[@]}" >run.out 2>&1
check "the run exits 0" "$?" 0
for s in "deploy (edge, us-east-1 eu-west-1)" "certificates ISSUED" "health checks healthy" "publish" \
    "fetch through gateways and edges" "rotate the certificate" "fetch after rotation" "destroy"; do
    check "table: $s ok" "$(grep -c -- "^$s.* ok$" run.out)" 1
done
check "4 fetches before and after the rotation (2 gateways, 2 edges)" \
    "$(grep -c 'rotation: 4 fetches of /acme/main.js answered' run.out)" 2
check "the cost line" "$(grep -c '^estimated cost of this run: \$[0-9.]* (2 regions x 1 instances' run.out)" 1
check "the rotation updated the domains in place (no DeleteDomainName before destroy)" \
    "$(jq -r 'select(.operation == "DeleteDomainName") | .t' "$CALL_LOG" | wc -l)" 2
check "nothing of the stack left" "$(awsj us-east-1 lambda list-functions | jq '[.Functions[] | select(.FunctionName == "acc1")] | length')" 0

if [ "$FAILS" -ne 0 ]; then
    echo "--- run.out"
    tail -80 run.out
    exit 1
fi
echo "all acceptance tests passed"
