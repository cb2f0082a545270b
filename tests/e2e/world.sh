#!/usr/bin/env bash
# A three-region world in network namespaces, and one case run in it. Hosts: a client and three regions
# (us-east-1, eu-west-1, ap-southeast-2), each its own namespace on one bridge (in a hub namespace), with
# addresses from 198.18.0.0/15. Each region host runs its gateway (`nearjs-local start-api --domain
# <region>-fast.example.test`, TLS on :443, the function over one shared store, as one S3 bucket would be)
# and its edge (nearjs-edge on :443 for fast.example.test: its own region's gateway first, then the next
# two as failover). The client reaches an edge by address with SNI and Host fast.example.test, as DNS
# would send a visitor. Namespaces carry this run's unique prefix and are removed on exit, pass or fail.
# Root only: exits 77 (skipped) otherwise, saying why.
# WORLD_ORIGIN=url (issue 20): each region's origin is a Lambda function URL instead (`start-api --function-url
# --iam KEY:SECRET:TOKEN` on <url-id>.lambda-url.<region>.on.aws, AuthType AWS_IAM), each region host has its
# own IMDSv2 double (scripts/imds_double.py on its loopback, as an instance has EC2's) with the edge role's
# credentials, and each edge signs (sign: {service: lambda, region: R}). WORLD_ORIGIN=apigw (default): the
# gateways above.
# Usage: world.sh CASE NEARJS_EDGE NEARJS_LOCAL BOOTSTRAP DEMO_STORE_DIR
#   CASE: own-region | edit | gateway-failover | edge-killed | sni-host (apigw)
#         url-security | standby-failover (url)
set -u
CASE=$1
EDGE=$(realpath "$2")
LOCAL=$(realpath "$3")
FUNC=$(realpath "$4")
DEMO=$(realpath "$5")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../edge/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP e2e world ($CASE): needs root to make network namespaces (ip netns), which make test cannot give: run it as root (CI does)"
    exit 77
fi
command -v ip >/dev/null || { echo "SKIP e2e world ($CASE): no 'ip' (iproute2: make test installs it, through scripts/setup.sh)"; exit 77; }

REGIONS=(us-east-1 eu-west-1 ap-southeast-2)
PUBLIC=fast.example.test
ORIGIN=${WORLD_ORIGIN:-apigw}
case "$ORIGIN" in apigw | url) ;; *) echo "world.sh: WORLD_ORIGIN '$ORIGIN': want apigw or url"; exit 2 ;; esac
# Each region's origin name: its API Gateway custom domain, or its function URL's (an id per region).
UP_HOST=()
for r in "${REGIONS[@]}"; do
    if [ "$ORIGIN" = url ]; then
        UP_HOST+=("$(printf 'nearjs-world/%s' "$r" | sha256sum | cut -c1-32).lambda-url.$r.on.aws")
    else
        UP_HOST+=("$r-$PUBLIC")
    fi
done
# The edge role's credentials, which each region's IMDS double hands out and its function URL accepts.
ROLE=nearjs-edge-world
KEY_ID=ASIAWORLDEDGE$(printf '%07d' $$)
SECRET=world-secret-$RANDOM$RANDOM
TOKEN=world-session-token-$RANDOM$RANDOM
IMDS_PORT=8999
NET=198.18.13
CLIENT_IP=$NET.10
REGION_IP=($NET.11 $NET.12 $NET.13) # each region's edge
GW_IP=($NET.21 $NET.22 $NET.23)     # and its gateway, a second address on the region's host (API Gateway's own)
# A unique prefix per run: other tests (and other copies of this one) make namespaces concurrently.
P=nj$$x$RANDOM
HUB=$P-hub
CLIENT=$P-client
NS=("$P-use1" "$P-euw1" "$P-apse2")
NAMESPACES=()

edge_test_begin "e2e-$CASE"
world_cleanup() {
    edge_test_cleanup_procs
    for n in "${NAMESPACES[@]}"; do ip netns del "$n" 2>/dev/null; done
    rm -rf "$T"
}
# lib.sh's cleanup removes $T; the namespaces must go too, after their processes.
edge_test_cleanup_procs() {
    for g in "${GROUPS_STARTED[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap world_cleanup EXIT

# --- the network: one bridge in the hub, one veth per host
ip netns add "$HUB" || { echo "FAIL could not make namespace $HUB"; exit 1; }
NAMESPACES+=("$HUB")
ip -n "$HUB" link add br0 type bridge
ip -n "$HUB" link set br0 up
ip -n "$HUB" link set lo up
host_add() { # ns ip tag
    ip netns add "$1" || { echo "FAIL could not make namespace $1"; exit 1; }
    NAMESPACES+=("$1")
    ip -n "$HUB" link add "v-$3" type veth peer name eth0 netns "$1"
    ip -n "$HUB" link set "v-$3" master br0 up
    ip -n "$1" link set lo up
    ip -n "$1" addr add "$2/24" dev eth0
    ip -n "$1" link set eth0 up
}
host_add "$CLIENT" "$CLIENT_IP" c
for i in 0 1 2; do
    host_add "${NS[$i]}" "${REGION_IP[$i]}" "r$i"
    ip -n "${NS[$i]}" addr add "${GW_IP[$i]}/24" dev eth0
done

# --- certificates and the shared store
make_ca nearjs-e2e-ca
mkcert edge "$PUBLIC"
# a function URL's certificate is Lambda's wildcard for the region (a 65-character name cannot be a CN)
for i in 0 1 2; do
    if [ "$ORIGIN" = url ]; then mkcert "gw-${REGIONS[$i]}" "*.lambda-url.${REGIONS[$i]}.on.aws"; else mkcert "gw-${REGIONS[$i]}" "${UP_HOST[$i]}"; fi
done
cp -R "$DEMO" store
printf '{"Parameters": {"NEARJS_STORE": "file://%s/store"}}\n' "$T" >env.json

# start_gateway i: region i's gateway in its namespace, own process group (its runtimes go with it);
# waits until its runtimes are warm (10 s at most). Sets GW_PGID[i].
GW_PGID=()
start_gateway() {
    local i=$1 r=${REGIONS[$1]} mode
    mode=(--domain "$r-$PUBLIC")
    [ "$ORIGIN" = apigw ] || mode=(--function-url --url-id "${UP_HOST[$i]%%.*}" --iam "$KEY_ID:$SECRET:$TOKEN"
        --principal "arn:aws:sts::123456789012:assumed-role/$ROLE/world")
    AWS_REGION=$r ip netns exec "${NS[$i]}" setsid "$LOCAL" start-api --host "${GW_IP[$i]}" --port 443 --workers 2 --quiet \
        "${mode[@]}" --cert "gw-$r.pem" --key "gw-$r.key" --env-vars env.json "$FUNC" \
        >/dev/null 2>"gw-$r.err" &
    GW_PGID[$i]=$!
    GROUPS_STARTED+=("$!")
    disown "$!"
    await_log "${GW_PGID[$i]}" "gw-$r.err" 'warm .* after start' "gateway $r"
}

# start_imds i: region i's IMDSv2 double on its host's loopback (url only).
start_imds() {
    local i=$1
    ip netns exec "${NS[$i]}" python3 "$HERE/../../scripts/imds_double.py" --host 127.0.0.1 --port "$IMDS_PORT" \
        --role "$ROLE" --key "$KEY_ID" --secret "$SECRET" --token "$TOKEN" >/dev/null 2>"imds-${REGIONS[$i]}.err" &
    PIDS+=("$!")
    disown "$!"
    await_log "$!" "imds-${REGIONS[$i]}.err" 'imds: listening' "IMDS double ${REGIONS[$i]}"
}

# start_edge i: region i's edge: its own gateway first, then the next regions in order. Sets EDGE_PID[i].
# EDGE_CONNECT[i,j] (when set): where edge i connects for region j (a delay relay), else j's own address.
EDGE_PID=()
declare -A EDGE_CONNECT=()
start_edge() {
    local i=$1 r=${REGIONS[$1]} k j
    {
        echo "threads: 1"
        echo "timeouts: {connect: 1000, first_byte: 5000, drain: 1000}"
        echo "access_log: {path: $T/access-$r.log, format: json}"
        echo "listeners:"
        echo "  - listen: ${REGION_IP[$i]}:443"
        echo "    tls: [{cert: $T/edge.pem, key: $T/edge.key}]"
        echo "  - listen: ${REGION_IP[$i]}:9100"
        echo "    admin: true"
        echo "upstreams:"
        for k in 0 1 2; do
            j=$(((i + k) % 3))
            echo "  - url: https://${UP_HOST[$j]}"
            echo "    connect_to: ${EDGE_CONNECT[$i,$j]:-${GW_IP[$j]}:443}"
            echo "    ca: $T/ca.pem"
            [ "$ORIGIN" = apigw ] || echo "    sign: {service: lambda, region: ${REGIONS[$j]}}"
            echo "    health: {path: /acme/main.js, interval: 200, rise: 2, fall: 1}"
        done
    } >"edge-$r.yaml"
    ip netns exec "${NS[$i]}" env NEARJS_EDGE_IMDS="http://127.0.0.1:$IMDS_PORT" "$EDGE" -c "edge-$r.yaml" \
        >/dev/null 2>"edge-$r.err" &
    EDGE_PID[$i]=$!
    PIDS+=("$!")
    disown "$!" # killed in cleanup or by a case; no "Killed" job notice
    await_log "${EDGE_PID[$i]}" "edge-$r.err" 'serving:' "edge $r" 100
}

for i in 0 1 2; do start_gateway "$i"; done
[ "$ORIGIN" = apigw ] || for i in 0 1 2; do start_imds "$i"; done
# standby-failover: region 0's edge reaches the other regions through a relay that holds each answer back
# WORLD_LINK_MS (20), as an inter-region link's round trip would (tests/function/delay_relay.py).
LINK_MS=${WORLD_LINK_MS:-20}
if [ "$CASE" = standby-failover ]; then
    for j in 1 2; do
        ip netns exec "${NS[0]}" python3 "$HERE/../function/delay_relay.py" "${GW_IP[$j]}:443" "$LINK_MS" $((9400 + j)) \
            >"relay-$j.port" 2>"relay-$j.err" &
        PIDS+=("$!")
        disown "$!"
        EDGE_CONNECT[0,$j]=127.0.0.1:$((9400 + j))
    done
    for j in 1 2; do for _ in $(seq 100); do [ -s "relay-$j.port" ] && break; sleep 0.05; done; done
fi
for i in 0 1 2; do start_edge "$i"; done

# client CURL-ARGS...: curl on the client host, the test CA trusted.
client() { ip netns exec "$CLIENT" curl -sS --max-time 5 --cacert "$T/ca.pem" "$@"; }
# via_edge i PATH CURL-ARGS...: GET https://fast.example.test/PATH at region i's edge.
via_edge() {
    local i=$1 path=$2
    shift 2
    client --resolve "$PUBLIC:443:${REGION_IP[$i]}" "$@" "https://$PUBLIC$path"
}
# region_of i: which region rendered /acme/main.js fetched through region i's edge ("" on failure).
region_of() { via_edge "$1" /acme/main.js -o /dev/null -D - 2>/dev/null | grep -i '^x-nearjs-region:' | cut -d' ' -f2 | tr -d '\r'; }
hdr() { grep -i "^$2:" "$1" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# Every edge must see its own gateway healthy before a case starts (rise 2 x 200 ms).
for i in 0 1 2; do
    for _ in $(seq 100); do [ "$(region_of "$i")" = "${REGIONS[$i]}" ] && break; sleep 0.05; done
done

case_own_region() {
    for i in 0 1 2; do
        r=${REGIONS[$i]}
        code=$(via_edge "$i" /acme/main.js -o body -D head -w '%{http_code} %{http_version}' --http2)
        check "$r: the client through its edge (HTTP/2): 200" "$code" "200 2"
        check "$r: rendered by its own region (X-Nearjs-Region)" "$(hdr head x-nearjs-region)" "$r"
        check "$r: the acme script" "$(grep -c 'Acme: free shipping this week' body)" 1
        check "$r: the edge's access log names its own origin" "$(tail -1 "access-$r.log" | jq -r .upstream)" "${UP_HOST[$i]}"
        # Warm, no request waits on a new TLS handshake to the gateway (/metrics counts those made for
        # requests): 10 more over one client connection add none. (Parallel requests need as many upstream
        # connections as are busy at once, which no test can fix; bench/e2e counts them under load.)
        # The metric must be there and count the connection the request above made: a missing line must
        # not compare equal to another missing line.
        hs0=$(handshakes "$i")
        check "$r: /metrics counts upstream handshakes (at least the one above)" \
            "$([[ "$hs0" =~ ^[0-9]+$ ]] && [ "$hs0" -ge 1 ] && echo counted || echo "'$hs0'")" counted
        args=()
        for n in $(seq 10); do args+=(-o /dev/null -w '%{http_code}\n' "https://$PUBLIC/acme/main.js?n=$n"); done
        check "$r: warm, 10 sequential requests over one connection: each 200" \
            "$(client --resolve "$PUBLIC:443:${REGION_IP[$i]}" "${args[@]}" | paste -sd' ')" "$(printf '200 %.0s' $(seq 10) | sed 's/ $//')"
        hs1=$(handshakes "$i")
        check "$r: warm, 10 sequential requests: no new upstream TLS handshake ($hs0 before)" \
            "$([[ "$hs1" =~ ^[0-9]+$ ]] && echo $((hs1 - hs0)) || echo "'$hs1'")" 0
    done
}
# handshakes i [j [METRIC]]: region i's edge's new TLS connections to region j's origin (default its own)
# that requests waited for (METRIC: nearjs_edge_upstream_standby_handshakes_total for the standby's).
handshakes() {
    client "http://${REGION_IP[$1]}:9100/metrics" |
        awk -v u="${UP_HOST[${2:-$1}]}" -v m="${3:-nearjs_edge_upstream_handshakes_total}" \
            'index($0, m "{upstream=\"" u "\"}") == 1 {print $2}'
}

case_edit() {
    local f=store/accounts/acme/main.json stamp
    for round in 1 2 3; do
        stamp="edit $round at $(date +%s%N)"
        jq --arg s "$stamp" '.banner.text = $s' "$f" >"$f.tmp" && mv "$f.tmp" "$f"
        for i in 0 1 2; do
            via_edge "$i" /acme/main.js -o "after.$i" -D "after.$i.h"
            check "edit $round: visible on the next request in ${REGIONS[$i]} (rendered there)" \
                "$(grep -c "$stamp" "after.$i") $(hdr "after.$i.h" x-nearjs-region)" "1 ${REGIONS[$i]}"
        done
    done
}

case_gateway_failover() {
    via_edge 0 /acme/main.js -o ref
    local sha
    sha=$(sha256sum ref | cut -d' ' -f1)
    rm -f stop
    ip netns exec "$CLIENT" python3 "$HERE/../edge/load.py" --url-host "$PUBLIC" --path /acme/main.js \
        --connect "${REGION_IP[0]}:443" --ca ca.pem --threads 4 --stop "$T/stop" --seconds 30 --sha256 "$sha" \
        >load.out 2>load.err &
    local load=$!
    PIDS+=("$load")
    sleep 1
    kill -KILL -- "-${GW_PGID[0]}"
    local seen=
    for _ in $(seq 100); do
        seen=$(region_of 0)
        [ "$seen" = "${REGIONS[1]}" ] && break
        sleep 0.05
    done
    check "us-east-1 gateway killed under load: its edge serves from the next region" "$seen" "${REGIONS[1]}"
    sleep 1
    start_gateway 0
    for _ in $(seq 100); do
        seen=$(region_of 0)
        [ "$seen" = "${REGIONS[0]}" ] && break
        sleep 0.05
    done
    check "us-east-1 gateway back: its edge serves from its own region again" "$seen" "${REGIONS[0]}"
    sleep 1
    touch stop
    wait "$load"
    read -r _ n _ bad <load.out
    check "zero failed requests through kill, failover and return ($n requests)" "${bad:-missing}" 0
    check "enough requests to mean something" "$([ "${n:-0}" -ge 100 ] && echo yes || echo "only ${n:-0}")" yes
    # DOWN then UP (a slow health check on a loaded machine may add a pair: the order is what matters)
    check "the edge logged its own region DOWN, then UP" \
        "$(grep -o "us-east-1-$PUBLIC.* is now \(DOWN\|UP\)" edge-us-east-1.err | grep -o '[A-Z]*$' | tr '\n' ' ' |
            sed 's/^\(DOWN UP \)\{1,\}$/DOWN UP/')" "DOWN UP"
}

case_edge_killed() {
    check "before: us-east-1 edge /healthz 200" "$(via_edge 0 /healthz -o /dev/null -w '%{http_code}')" 200
    check "before: /healthz on its admin port 200" \
        "$(client -o /dev/null -w '%{http_code}' "http://${REGION_IP[0]}:9100/healthz")" 200
    kill -KILL "${EDGE_PID[0]}"
    for _ in $(seq 100); do kill -0 "${EDGE_PID[0]}" 2>/dev/null || break; sleep 0.02; done
    check "us-east-1 edge killed: /healthz no longer answers" \
        "$(via_edge 0 /healthz -o /dev/null -w '%{http_code}' 2>/dev/null)" 000
    check "us-east-1 edge killed: its admin /healthz no longer answers" \
        "$(client -o /dev/null -w '%{http_code}' "http://${REGION_IP[0]}:9100/healthz" 2>/dev/null)" 000
    for i in 1 2; do
        check "${REGIONS[$i]} edge: /healthz 200" "$(via_edge "$i" /healthz -o /dev/null -w '%{http_code}')" 200
        check "${REGIONS[$i]} edge: still serves from its own region" "$(region_of "$i")" "${REGIONS[$i]}"
    done
    check "us-east-1's gateway still up (only the edge died): direct with its name 200" \
        "$(client --resolve "us-east-1-$PUBLIC:443:${GW_IP[0]}" -o /dev/null -w '%{http_code}' \
            "https://us-east-1-$PUBLIC/acme/main.js")" 200
}

case_sni_host() {
    for i in 0 1 2; do
        r=${REGIONS[$i]}
        gw=$r-$PUBLIC
        check "$r: public name as SNI and Host straight to the gateway -> 403" \
            "$(client -k --resolve "$PUBLIC:443:${GW_IP[$i]}" -o d.b -D d.h -w '%{http_code}' "https://$PUBLIC/acme/main.js")" 403
        check "$r: ... x-amzn-ErrorType ForbiddenException" "$(hdr d.h x-amzn-errortype)" ForbiddenException
        check "$r: ... {\"message\":\"Forbidden\"}" "$(jq -r .message d.b)" Forbidden
        check "$r: gateway's SNI but public Host -> 403" \
            "$(client --resolve "$gw:443:${GW_IP[$i]}" -H "Host: $PUBLIC" -o /dev/null -w '%{http_code}' "https://$gw/acme/main.js")" 403
        check "$r: public SNI, gateway's Host -> 403" \
            "$(client -k --resolve "$PUBLIC:443:${GW_IP[$i]}" -H "Host: $gw" -o /dev/null -w '%{http_code}' "https://$PUBLIC/acme/main.js")" 403
        check "$r: the gateway's name on both -> 200" \
            "$(client --resolve "$gw:443:${GW_IP[$i]}" -o /dev/null -w '%{http_code}' "https://$gw/acme/main.js")" 200
        check "$r: the edge's certificate is the public name's (verified)" \
            "$(via_edge "$i" /acme/main.js -o /dev/null -w '%{http_code} %{ssl_verify_result}')" "200 0"
        check "$r: the edge rewrites both, so its gateway answers 200 (HTTP/2 client)" \
            "$(via_edge "$i" /acme/main.js --http2 -o /dev/null -w '%{http_code} %{http_version}')" "200 2"
    done
    # A failover hop must use the other region's name, not its own: kill eu-west-1's gateway and the
    # eu-west-1 edge's next upstream is ap-southeast-2, whose gateway accepts only its own name.
    kill -KILL -- "-${GW_PGID[1]}"
    local seen=
    for _ in $(seq 100); do
        seen=$(via_edge 1 /acme/main.js -o /dev/null -D - -w '%{http_code}' | tr -d '\r' |
            awk 'tolower($1)=="x-nearjs-region:"{r=$2} END{print r}')
        [ "$seen" = "${REGIONS[2]}" ] && break
        sleep 0.05
    done
    check "failover hop (eu-west-1 edge -> ap-southeast-2 gateway) rewrites to that gateway's name: 200 from it" \
        "$seen" "${REGIONS[2]}"
}


# --- WORLD_ORIGIN=url cases

# furl i ARGS...: one request straight at region i's function URL from the client host (not through an edge),
# signed by botocore's SigV4Auth as tests/local/furl_client.py's ARGS say (unsigned without --key); the
# status in $code, the headers in f.h, the body in f.b.
PYAWS=${NEARJS_AWS_PYTHON:-}
[ -n "$PYAWS" ] || PYAWS=$("$HERE/../../scripts/find-aws-python.sh" --no-install 2>/dev/null)
furl() {
    local i=$1
    shift
    ip netns exec "$CLIENT" "$PYAWS" "$HERE/../local/furl_client.py" --https --ca "$T/ca.pem" --connect "${GW_IP[$i]}:443" \
        --host "${UP_HOST[$i]}" --path /acme/main.js "$@" >f.out 2>f.err
    code=$(head -1 f.out)
    sed -n '2,/^$/p' f.out >f.h
    sed '1,/^$/d' f.out >f.b
}
# imds_creds i: the credentials document region i's instances get from their IMDS (IMDSv2, as the edge asks).
imds_creds() {
    local ns=${NS[$1]} tok
    tok=$(ip netns exec "$ns" curl -sS -X PUT -H 'X-aws-ec2-metadata-token-ttl-seconds: 60' "http://127.0.0.1:$IMDS_PORT/latest/api/token")
    ip netns exec "$ns" curl -sS -H "X-aws-ec2-metadata-token: $tok" \
        "http://127.0.0.1:$IMDS_PORT/latest/meta-data/iam/security-credentials/$ROLE"
}

# The edge role is the only principal: the edges' signed requests are served, an unsigned request, one signed
# with other credentials, for another region, or 5 minutes ago (what a replay after 5 minutes carries) is
# refused with Lambda's 403, and each refusal is logged with its reason.
case_url_security() {
    [ -n "$PYAWS" ] && "$PYAWS" -c 'import botocore' 2>/dev/null ||
        { echo "SKIP e2e world ($CASE): no Python with botocore (make test installs one: its make setup runs scripts/find-aws-python.sh)"; exit 77; }
    local i r doc k sec tok other
    for i in 0 1 2; do
        r=${REGIONS[$i]}
        other=${REGIONS[$(((i + 1) % 3))]}
        check "$r: through its edge, signed with the role's credentials from IMDS: 200 from $r" \
            "$(via_edge "$i" /acme/main.js -o /dev/null -D - -w '%{http_code}' | tr -d '\r' |
                awk 'tolower($1)=="x-nearjs-region:"{r=$2} /^[0-9]+$/{c=$1} END{print c, r}')" "200 $r"
        doc=$(imds_creds "$i")
        k=$(jq -r .AccessKeyId <<<"$doc") sec=$(jq -r .SecretAccessKey <<<"$doc") tok=$(jq -r .Token <<<"$doc")
        furl "$i"
        check "$r: unsigned, straight at the function URL: 403 AccessDeniedException, Lambda's body" \
            "$code $(grep -i '^x-amzn-errortype:' f.h | cut -d' ' -f2 | tr -d '\r') $(jq -r .Message f.b | cut -d. -f1)" \
            "403 AccessDeniedException Forbidden"
        furl "$i" --key ASIAOTHERPRINCIPAL01 --secret "other-secret" --token "other-token" --region "$r"
        check "$r: signed with another principal's credentials: 403" "$code" 403
        furl "$i" --key "$k" --secret "$sec" --token "$tok" --region "$other"
        check "$r: the role's credentials, signed for $other: 403" "$code" 403
        furl "$i" --key "$k" --secret "$sec" --token "$tok" --region "$r" --skew -301
        check "$r: the role's credentials, signed 5 min 1 s ago (a replay after 5 minutes): 403" "$code" 403
        furl "$i" --key "$k" --secret "$sec" --token "$tok" --region "$r"
        check "$r: the role's credentials, signed now, straight: 200 (the role is the principal, not the edge's address)" "$code" 200
        check "$r: each refusal logged with its reason" \
            "$(grep -o '403 AccessDeniedException: .*([A-Z_]*)' "gw-$r.err" | grep -o '([A-Z_]*)$' | tr '\n' ' ')" \
            "(NO_AUTH) (UNKNOWN_KEY) (SCOPE) (SKEW) "
    done
}

# Failover with the warm standby (issue 20), over a WORLD_LINK_MS (20) link from region 0's edge to the others
# (a delay relay): one visitor's sequential requests (tests/e2e/probe.py) through region 0's edge; region 0's
# origin killed. The first requests after the failover wait on no TLS handshake to eu-west-1
# (nearjs_edge_upstream_handshakes_total of that upstream does not move: they take the standby connection),
# and their latency is the failed-over steady state's, not that plus a handshake's round trips. Prints the
# numbers. WORLD_EXPECT_STANDBY=0 only reports them (an edge without a standby, for the comparison).
case_standby_failover() {
    local up=1 hs0 hs1 sb probe n
    rm -f stop
    ip netns exec "$CLIENT" python3 "$HERE/probe.py" --url-host "$PUBLIC" --path /acme/main.js \
        --connect "${REGION_IP[0]}:443" --ca ca.pem --out probe.log --stop "$T/stop" --seconds 40 2>probe.err &
    probe=$!
    PIDS+=("$probe")
    sb=0
    for _ in $(seq 100); do
        sb=$(handshakes 0 "$up" nearjs_edge_upstream_standby_handshakes_total)
        [ "${sb:-0}" -ge 1 ] 2>/dev/null && break
        sleep 0.05
    done
    sleep 2 # steady state through region 0
    hs0=$(handshakes 0 "$up")
    kill -KILL -- "-${GW_PGID[0]}"
    for _ in $(seq 200); do
        n=$(grep -c " 200 ${REGIONS[$up]}\$" probe.log)
        [ "$n" -ge 30 ] && break
        sleep 0.05
    done
    hs1=$(handshakes 0 "$up")
    touch stop
    wait "$probe"
    # steady own: the last 50 from us-east-1 before the kill; the failed-over steady state: eu-west-1's 11th
    # answer on; the first: eu-west-1's first three answers
    read -r own first3 steady fails < <(awk -v up="${REGIONS[$up]}" -v own="${REGIONS[0]}" '
        function median(a, n,   i, j, t) { for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
            return n ? a[int((n + 1) / 2)] : -1 }
        $3 != 200 { bad++ }
        $4 == own && !seen { o[++no] = $2 }
        $4 == up { seen = 1; k++; if (k <= 3) f = f (f == "" ? "" : "/") sprintf("%.1f", $2); else if (k > 10) s[++ns] = $2 }
        END { for (i = no > 50 ? no - 49 : 1; i <= no; i++) oo[++m] = o[i]; printf "%.1f %s %.1f %d\n", median(oo, m), f, median(s, ns), bad }' probe.log)
    echo "     region 0 steady ${own} ms; after the failover to ${REGIONS[$up]} over the ${LINK_MS} ms link: first three ${first3} ms, steady ${steady} ms;"
    echo "     handshakes requests waited for to ${REGIONS[$up]}: ${hs0} before, ${hs1} after; standby handshakes ${sb}; failed requests ${fails}"
    check "zero failed requests through the failover" "$fails" 0
    [ "${WORLD_EXPECT_STANDBY:-1}" = 1 ] || return 0
    check "region 0's edge held a standby connection to ${REGIONS[$up]} before the failover" "$([ "${sb:-0}" -ge 1 ] && echo yes)" yes
    check "the first 30 requests after the failover waited on no new handshake to ${REGIONS[$up]}" "$hs1" "$hs0"
    # A new connection over the link costs the server's TLS flight and then the answer, each held LINK_MS:
    # without the standby the first request took steady + 25..40 ms (bench/e2e/README.md). The bound is
    # steady + LINK_MS. It is judged only on a quiet machine (region 0's steady state under 3 ms, its idle
    # value ~1 ms): under a loaded CI the scheduler alone adds tens of ms here and there, and the handshake
    # counter above is the deterministic witness.
    if awk -v o="$own" 'BEGIN { exit !(o < 3) }'; then
        check "the first request after the failover took the failed-over steady state, not a handshake more (< steady + ${LINK_MS} ms)" \
            "$(awk -v f="${first3%%/*}" -v s="$steady" -v l="$LINK_MS" 'BEGIN { print (f < s + l) ? "yes" : "no: " f " ms" }')" yes
    else
        echo "     latency not judged: the machine is loaded (region 0's steady state ${own} ms, ~1 ms idle)"
    fi
}

case "$CASE" in
own-region) case_own_region ;;
edit) case_edit ;;
gateway-failover) case_gateway_failover ;;
edge-killed) case_edge_killed ;;
sni-host) case_sni_host ;;
url-security) case_url_security ;;
standby-failover) case_standby_failover ;;
*)
    echo "world.sh: unknown case '$CASE' (want own-region, edit, gateway-failover, edge-killed, sni-host, url-security or standby-failover)"
    exit 2
    ;;
esac

if [ "$FAILS" -ne 0 ]; then
    for f in gw-*.err edge-*.err load.err imds-*.err probe.err relay-*.err; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    exit 1
fi
echo "all e2e world ($CASE) tests passed"
