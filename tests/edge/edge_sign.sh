#!/usr/bin/env bash
# The edge signing its requests (SigV4) to an upstream with sign: {service: lambda, region: R}, against a real
# TLS upstream that checks every signature with common/sigv4's verifier as a Lambda function URL with AuthType
# AWS_IAM would (upstream.py --iam), and the warm standby to the first failover upstream.
# 1. credentials_file: GET, POST (x-amz-content-sha256), a target that needs encoding, the health checks: all
#    verified; a client's own Authorization header does not reach the upstream.
# 2. IMDSv2 (scripts/imds_double.py at NEARJS_EDGE_IMDS): none reachable -> the upstream DOWN with one line saying why, 502,
#    and not one request reaches the upstream unsigned; IMDS up -> UP, signed with the role's key; rotated
#    credentials (expiring within the refresh lead) are picked up in the background.
# 3. Warm standby: with the first upstream killed, the first requests after the failover cost no handshake
#    (nearjs_edge_upstream_handshakes_total stays 0); the standby is re-opened when its connection closes.
# 4. SIGTERM while name lookups are in flight (an upstream by name, resolved through h2o's resolver thread, that
#    the standby and the health checks keep reconnecting to), started and stopped again and again: exit 0 each
#    time. A lookup cancelled at exit used to be answered into a worker's (or the health thread's) freed
#    receiver: exit 139, or 134 on libh2o's assertion.
# Usage: edge_sign.sh PATH/TO/nearjs-edge PATH/TO/sigv4_tool
set -u
EDGE=$(realpath "$1")
TOOL=$(realpath "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$(dirname "$0")/lib.sh"
edge_test_begin edge-sign
make_ca edge-sign-ca
mkcert gw1 abc1.lambda-url.eu-west-1.on.aws
mkcert gw2 abc2.lambda-url.eu-central-1.on.aws
mkcert edge fast.example.com

start_upstream() { # domain cert port tag [upstream.py args...]
    local d=$1 c=$2 p=$3 tag=$4
    shift 4
    python3 "$HERE/upstream.py" --domain "$d" --cert "$c.pem" --key "$c.key" --port "$p" --tag "$tag" "$@" >"up-$tag.log" 2>&1 &
    PIDS+=($!)
    for _ in $(seq 50); do grep -q ready "up-$tag.log" && return; sleep 0.1; done
}
metric() { # name upstream
    curl -sS "http://127.0.0.1:$A/metrics" | grep "^$1{upstream=\"$2\"}" | cut -d' ' -f2
}
wait_for() { # what command...: retries the command for up to 10 s
    local what=$1
    shift
    for _ in $(seq 100); do "$@" && return 0; sleep 0.1; done
    echo "     (timed out waiting for $what)"
    return 1
}
stop_edge() { # n: SIGTERM, then a clean exit (0, no sanitizer report: the ASan tree runs this test too)
    kill "$EPID"
    wait "$EPID"
    check "edge $1 exits clean" "$?$(grep -c 'Sanitizer\|runtime error' "edge$1.err")" 00
}
creds() { # key secret token expires-in-seconds: IMDS's credentials document
    printf '{"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"%s","SecretAccessKey":"%s","Token":"%s","Expiration":"%s"}\n' \
        "$1" "$2" "$3" "$(date -u -d "@$(($(date +%s) + $4))" +%Y-%m-%dT%H:%M:%SZ)"
}

U1=$(free_port); U2=$(free_port); L=$(free_port); A=$(free_port); IMDS=$(free_port)
GW1=abc1.lambda-url.eu-west-1.on.aws
IAM=(--sigv4-tool "$TOOL" --region eu-west-1 --iam AKIAFILEEXAMPLE:file/secret+1:file-token
     --iam AKIAROLEONE:role-secret-1:role-token-1 --iam AKIAROLETWO:role-secret-2:role-token-2)
start_upstream "$GW1" gw1 "$U1" one "${IAM[@]}"
UP1=${PIDS[-1]}
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
URL="https://fast.example.com:$L"

write_config() { # extra top-level lines
    cat >edge.yaml <<YAML
threads: 1
timeouts: {connect: 1000, first_byte: 5000}
$1
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://$GW1
    connect_to: 127.0.0.1:$U1
    ca: $T/ca.pem
    sign: {service: lambda, region: eu-west-1}
    health: {path: /healthz, interval: 200, rise: 1, fall: 1}
YAML
}

echo "== 1. credentials from a file (test only)"
creds AKIAFILEEXAMPLE file/secret+1 file-token 7200 >file-creds.json
write_config "credentials_file: $T/file-creds.json"
check "test-config accepts sign:" "$("$EDGE" --test-config -c edge.yaml 2>&1 >/dev/null; echo $?)" 0
"$EDGE" -c edge.yaml >edge1.out 2>edge1.err &
EPID=$!
PIDS+=($EPID)
await_log "$EPID" edge1.err "credentials: key AKIAFILEEXAMPLE from file" "nearjs-edge's credentials"
body=$("${C[@]}" "$URL/acct/app.js?b=2&a=1" -H 'Authorization: Bearer from-the-client')
check "GET signed and verified" "$(jq -r .signed_by <<<"$body")" AKIAFILEEXAMPLE
check "the client's Authorization is not the one sent" "$(jq -r '.headers.authorization | startswith("AWS4-HMAC-SHA256 Credential=AKIAFILEEXAMPLE/")' <<<"$body")" true
check "x-amz-security-token sent" "$(jq -r '.headers["x-amz-security-token"]' <<<"$body")" file-token
check "no x-amz-content-sha256 without a body" "$(jq -r '.headers["x-amz-content-sha256"] // "none"' <<<"$body")" none
body=$("${C[@]}" "$URL/acct/post" --data-binary '{"k":"v é"}' -H 'content-type: application/json')
check "POST signed, body hash checked" "$(jq -r .signed_by <<<"$body")" AKIAFILEEXAMPLE
check "x-amz-content-sha256 is the body's" "$(jq -r '.headers["x-amz-content-sha256"]' <<<"$body")" \
    "$(printf '{"k":"v é"}' | sha256sum | cut -d' ' -f1)"
body=$("${C[@]}" "$URL/acct/a%20b+c/../x%2Fy.js?q=a%20b&q=%2B&z=%E1%88%B4&e")
check "a target that needs encoding, verified" "$(jq -r .signed_by <<<"$body")" AKIAFILEEXAMPLE
sleep 0.5
sig=$(curl -sS --cacert "$T/ca.pem" --resolve "$GW1:$U1:127.0.0.1" "https://$GW1:$U1/sigv4")
check "health checks signed and verified" "$([ "$(jq -r '.valid.AKIAFILEEXAMPLE' <<<"$sig")" -gt 5 ] && echo yes)" yes
check "nothing refused by the upstream" "$(jq -c .refused <<<"$sig")" "{}"
check "unsigned straight at the upstream: 403" "$(curl -sS -o /dev/null -w '%{http_code}' --cacert "$T/ca.pem" --resolve "$GW1:$U1:127.0.0.1" "https://$GW1:$U1/acct/x.js")" 403
stop_edge 1

echo "== 2. credentials from IMDSv2 (NEARJS_EDGE_IMDS)"
write_config ""
before=$(curl -sS --cacert "$T/ca.pem" --resolve "$GW1:$U1:127.0.0.1" "https://$GW1:$U1/conns" -H "Host: $GW1" | jq .requests)
NEARJS_EDGE_IMDS="http://127.0.0.1:$IMDS" "$EDGE" -c edge.yaml >edge2.out 2>edge2.err &
EPID=$!
PIDS+=($EPID)
await_log "$EPID" edge2.err serving "nearjs-edge"
sleep 1.5
check "no IMDS: the upstream is down" "$(metric nearjs_edge_upstream_healthy "$GW1")" 0
check "one line says why" "$(grep -c "is now DOWN: no valid AWS credentials: IMDS http://127.0.0.1:$IMDS: PUT /latest/api/token" edge2.err)" 1
check "no credentials: the request fails" "$("${C[@]}" -o /dev/null -w '%{http_code}' "$URL/acct/x.js")" 502
after=$(curl -sS --cacert "$T/ca.pem" --resolve "$GW1:$U1:127.0.0.1" "https://$GW1:$U1/conns" -H "Host: $GW1" | jq .requests)
check "not one request reached the upstream unsigned" "$((after - before))" 1 # this /conns itself
# expiring within the refresh lead (15 min): the refresher comes back for new ones within seconds
creds AKIAROLEONE role-secret-1 role-token-1 $((15 * 60 + 2)) >imds-creds.json
python3 "$HERE/../../scripts/imds_double.py" --port "$IMDS" --role nearjs-edge --creds-file imds-creds.json >imds.log 2>&1 &
PIDS+=($!)
await_log "${PIDS[-1]}" imds.log "listening on" "the IMDS double"
wait_for "the upstream to come back" bash -c "[ \"\$(curl -sS http://127.0.0.1:$A/metrics | grep 'nearjs_edge_upstream_healthy{' | cut -d' ' -f2)\" = 1 ]"
check "IMDS up: the upstream is up" "$(metric nearjs_edge_upstream_healthy "$GW1")" 1
check "signed with the role's key" "$("${C[@]}" "$URL/acct/x.js" | jq -r .signed_by)" AKIAROLEONE
grep -q "credentials: key AKIAROLEONE from role 'nearjs-edge' (IMDS http://127.0.0.1:$IMDS)" edge2.err
check "the fetch is logged" $? 0
# Rotation: IMDS now hands out the next set; the refresher fetches it in the background.
creds AKIAROLETWO role-secret-2 role-token-2 3600 >imds-creds.json
wait_for "the rotated key" bash -c "${C[*]} $URL/acct/x.js | grep -q '\"signed_by\": \"AKIAROLETWO\"'"
check "rotated credentials in use without a failed request" "$("${C[@]}" "$URL/acct/x.js" | jq -r .signed_by)" AKIAROLETWO
sig=$(curl -sS --cacert "$T/ca.pem" --resolve "$GW1:$U1:127.0.0.1" "https://$GW1:$U1/sigv4")
check "nothing refused by the upstream (but part 1's own unsigned request)" "$(jq -c .refused <<<"$sig")" '{"NO_AUTH":1}'
stop_edge 2

echo "== 3. warm standby"
GW2=abc2.lambda-url.eu-central-1.on.aws
start_upstream "$GW2" gw2 "$U2" two
UP2=${PIDS[-1]}
cat >>edge.yaml <<YAML
  - url: https://$GW2
    connect_to: 127.0.0.1:$U2
    ca: $T/ca.pem
    health: {path: /healthz, interval: 200, rise: 1, fall: 1}
YAML
NEARJS_EDGE_IMDS="http://127.0.0.1:$IMDS" "$EDGE" -c edge.yaml >edge3.out 2>edge3.err &
EPID=$!
PIDS+=($EPID)
await_log "$EPID" edge3.err "credentials: key" "nearjs-edge's credentials"
wait_for "the standby" bash -c "[ \"\$(curl -sS http://127.0.0.1:$A/metrics | grep 'nearjs_edge_upstream_pool_connections{upstream=\"$GW2\"}' | cut -d' ' -f2)\" = 1 ]"
for _ in 1 2 3; do "${C[@]}" -o /dev/null "$URL/acct/x.js"; done
check "requests go to the first upstream" "$("${C[@]}" "$URL/acct/x.js" | jq -r .tag)" one
check "no request handshake to the second yet" "$(metric nearjs_edge_upstream_handshakes_total "$GW2")" 0
check "its standby was made ahead" "$(metric nearjs_edge_upstream_standby_handshakes_total "$GW2")" 1
kill -KILL "$UP1"; wait "$UP1" 2>/dev/null
tags=""
for _ in 1 2 3 4 5; do tags="$tags$("${C[@]}" "$URL/acct/x.js" | jq -r .tag) "; done
check "after the failover every request answered by the second" "$tags" "two two two two two "
check "and not one of them waited for a handshake" "$(metric nearjs_edge_upstream_handshakes_total "$GW2")" 0
stop_edge 3

echo "== 3b. the standby is re-opened when its connection closes"
start_upstream "$GW1" gw1 "$U1" one-again "${IAM[@]}"
NEARJS_EDGE_IMDS="http://127.0.0.1:$IMDS" "$EDGE" -c edge.yaml >edge4.out 2>edge4.err &
EPID=$!
PIDS+=($EPID)
await_log "$EPID" edge4.err "credentials: key" "nearjs-edge's credentials"
wait_for "the standby" bash -c "[ \"\$(curl -sS http://127.0.0.1:$A/metrics | grep 'nearjs_edge_upstream_standby_handshakes_total{upstream=\"$GW2\"}' | cut -d' ' -f2)\" = 1 ]"
kill -KILL "$UP2"; wait "$UP2" 2>/dev/null
start_upstream "$GW2" gw2 "$U2" two-again
wait_for "a second standby" bash -c "[ \"\$(curl -sS http://127.0.0.1:$A/metrics | grep 'nearjs_edge_upstream_standby_handshakes_total{upstream=\"$GW2\"}' | cut -d' ' -f2)\" = 2 ]"
check "a closed standby is re-opened" "$(metric nearjs_edge_upstream_standby_handshakes_total "$GW2")" 2
check "and is idle, ready" "$(metric nearjs_edge_upstream_pool_connections "$GW2")" 1
stop_edge 4

echo "== 4. SIGTERM with name lookups in flight, again and again"
# localhost (from /etc/hosts: no DNS, loopback only) on a port nothing listens on: every connect starts with a
# lookup on h2o's resolver thread and fails at once, so the standby (two workers) and the checks (every 100 ms,
# the upstream staying up for fall: 100) keep looking the name up
DEAD=$(free_port)
write_config ""
sed -i "s|^threads: 1|threads: 2|" edge.yaml
cat >>edge.yaml <<YAML
  - url: https://localhost:$DEAD
    ca: $T/ca.pem
    health: {path: /healthz, interval: 100, rise: 1, fall: 100}
YAML
bad=""
for i in 1 2 3 4 5 6 7 8; do
    NEARJS_EDGE_IMDS="http://127.0.0.1:$IMDS" "$EDGE" -c edge.yaml >edge5.out 2>"edge5-$i.err" &
    EPID=$!
    PIDS+=($EPID)
    await_log "$EPID" "edge5-$i.err" "credentials: key" "nearjs-edge's credentials"
    "${C[@]}" -o /dev/null "$URL/acct/x.js"
    kill "$EPID"
    wait "$EPID"
    rc=$?
    [ "$rc$(grep -c 'Sanitizer\|runtime error\|Assertion' "edge5-$i.err")" = 00 ] || bad="$bad run $i: $rc;"
done
check "8 starts and SIGTERMs with lookups in flight: each exits 0, clean" "${bad:-all clean}" "all clean"

echo "edge_sign: $((FAILS == 0 ? 1 : 0)) passed, $FAILS failed" | sed 's/^edge_sign: 1 passed, 0 failed/edge_sign: all passed/'
[ "$FAILS" -eq 0 ]
