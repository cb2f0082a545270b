#!/usr/bin/env bash
# A three-region world in network namespaces, and one case run in it. Hosts: a client and three regions
# (us-east-1, eu-west-1, ap-southeast-2), each its own namespace on one bridge (in a hub namespace), with
# addresses from 198.18.0.0/15. Each region host runs its gateway (`nearjs-local start-api --domain
# <region>-fast.example.test`, TLS on :443, the function over one shared store, as one S3 bucket would be)
# and its edge (nearjs-edge on :443 for fast.example.test: its own region's gateway first, then the next
# two as failover). The client reaches an edge by address with SNI and Host fast.example.test, as DNS
# would send a visitor. Namespaces carry this run's unique prefix and are removed on exit, pass or fail.
# Root only: exits 77 (skipped) otherwise, saying why.
# Usage: world.sh CASE NEARJS_EDGE NEARJS_LOCAL BOOTSTRAP DEMO_STORE_DIR
#   CASE: own-region | edit | gateway-failover | edge-killed | sni-host
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
for r in "${REGIONS[@]}"; do mkcert "gw-$r" "$r-$PUBLIC"; done
cp -R "$DEMO" store
printf '{"Parameters": {"NEARJS_STORE": "file://%s/store"}}\n' "$T" >env.json

# start_gateway i: region i's gateway in its namespace, own process group (its runtimes go with it);
# waits until its runtimes are warm (10 s at most). Sets GW_PGID[i].
GW_PGID=()
start_gateway() {
    local i=$1 r=${REGIONS[$1]}
    AWS_REGION=$r ip netns exec "${NS[$i]}" setsid "$LOCAL" start-api --host "${GW_IP[$i]}" --port 443 --workers 2 --quiet \
        --domain "$r-$PUBLIC" --cert "gw-$r.pem" --key "gw-$r.key" --env-vars env.json "$FUNC" \
        >/dev/null 2>"gw-$r.err" &
    GW_PGID[$i]=$!
    GROUPS_STARTED+=("$!")
    disown "$!"
    await_log "${GW_PGID[$i]}" "gw-$r.err" 'warm .* after start' "gateway $r"
}

# start_edge i: region i's edge: its own gateway first, then the next regions in order. Sets EDGE_PID[i].
EDGE_PID=()
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
            echo "  - url: https://${REGIONS[$j]}-$PUBLIC"
            echo "    connect_to: ${GW_IP[$j]}:443"
            echo "    ca: $T/ca.pem"
            echo "    health: {path: /acme/main.js, interval: 200, rise: 2, fall: 1}"
        done
    } >"edge-$r.yaml"
    ip netns exec "${NS[$i]}" "$EDGE" -c "edge-$r.yaml" >/dev/null 2>"edge-$r.err" &
    EDGE_PID[$i]=$!
    PIDS+=("$!")
    disown "$!" # killed in cleanup or by a case; no "Killed" job notice
    await_log "${EDGE_PID[$i]}" "edge-$r.err" 'serving:' "edge $r" 100
}

for i in 0 1 2; do start_gateway "$i"; done
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
        check "$r: the edge's access log names its own gateway" "$(tail -1 "access-$r.log" | jq -r .upstream)" "$r-$PUBLIC"
        # Warm, no request waits on a new TLS handshake to the gateway (/metrics counts those made for
        # requests): 10 more over one client connection add none. (Parallel requests need as many upstream
        # connections as are busy at once, which no test can fix; bench/e2e counts them under load.)
        hs0=$(handshakes "$i")
        args=()
        for n in $(seq 10); do args+=(-o /dev/null "https://$PUBLIC/acme/main.js?n=$n"); done
        client --resolve "$PUBLIC:443:${REGION_IP[$i]}" "${args[@]}"
        hs1=$(handshakes "$i")
        check "$r: warm, 10 sequential requests: no new upstream TLS handshake ($hs0 before)" "$hs1" "$hs0"
    done
}
# handshakes i: region i's edge's new TLS connections to its own gateway so far.
handshakes() {
    client "http://${REGION_IP[$1]}:9100/metrics" |
        awk -v u="${REGIONS[$1]}-$PUBLIC" 'index($0, "nearjs_edge_upstream_handshakes_total{upstream=\"" u "\"}") == 1 {print $2}'
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

case "$CASE" in
own-region) case_own_region ;;
edit) case_edit ;;
gateway-failover) case_gateway_failover ;;
edge-killed) case_edge_killed ;;
sni-host) case_sni_host ;;
*)
    echo "world.sh: unknown case '$CASE' (want own-region, edit, gateway-failover, edge-killed or sni-host)"
    exit 2
    ;;
esac

if [ "$FAILS" -ne 0 ]; then
    for f in gw-*.err edge-*.err load.err; do [ -f "$f" ] && { echo "--- $f"; tail -20 "$f"; }; done
    exit 1
fi
echo "all e2e world ($CASE) tests passed"
