#!/usr/bin/env bash
# `make run`: the whole chain on one machine, as a visitor meets it. Two local regions, each the function
# (build/bin/bootstrap) over a copy of the demo store, and a nearjs-edge in front of each: it answers for
# fast.example.test and forwards to its own region first, the other region's on failure.
# ORIGIN=url (the default, as deploy's edge mode): each region is a Lambda function URL,
# `nearjs-local start-api --function-url --iam ...` on <url-id>.lambda-url.<region>.on.aws (TLS, AuthType
# AWS_IAM: only SigV4-signed requests of the edge role's key are served, anything else gets Lambda's 403),
# and each edge signs its requests (sign: {service: lambda, region: R}) with credentials it gets from a small
# IMDSv2 double (scripts/imds_double.py, as an instance gets its role's from EC2's), never on a request's path.
# ORIGIN=apigw: each region is `nearjs-local start-api --domain <region>-fast.example.test` (TLS; 403 unless
# SNI and Host are that name, as API Gateway's custom domain), the edges rewrite SNI and Host to it.
# A local CA and the certificates are made once under BUILD/demo-tls (openssl); the store is a fresh copy of
# function/demo in BUILD/demo-store at each start.
# When all four answer, it prints ready-to-paste curl lines and how to edit the content, then serves
# until Ctrl-C (SIGINT/SIGTERM), which stops everything it started.
# Usage: scripts/run-demo.sh [BUILD_DIR]
# Environment: PORT (default 8443): edges on PORT and PORT+1, the regions (function URLs or gateways) on
# PORT+10 and PORT+11, the edges' /metrics and /healthz on PORT+20 and PORT+21, the IMDS double on PORT+30,
# all on 127.0.0.1. ORIGIN: url (default) or apigw. DEMO_STORE: where the store's copy goes (default
# BUILD/demo-store; replaced at each start). NEARJS_RUN_EXIT=1: stop right after printing. Exit: 0 after
# Ctrl-C, 1 when something did not start (a taken port is named).
set -uo pipefail
build=$(cd "${1:-build}" && pwd) || exit 1
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
base=${PORT:-8443}
regions=(us-east-1 eu-west-1)
public=fast.example.test
tls=$build/demo-tls
origin=${ORIGIN:-url}
store=${DEMO_STORE:-$build/demo-store}
run=$(mktemp -d "${TMPDIR:-/tmp}/nearjs-run.XXXXXX")
pgroups=() # gateways run in process groups of their own: a gateway and its runtimes stop together
pids=()

say() { echo "nearjs: $*"; }
die() {
    echo "nearjs: $*" >&2
    exit 1
}

stop_all() {
    trap - EXIT INT TERM
    local g p
    for g in "${pgroups[@]}"; do kill -TERM -- "-$g" 2>/dev/null; done
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
    # Each has 5 s to finish (the edges drain); then whatever is left is killed.
    for _ in $(seq 50); do
        local alive=0
        for g in "${pgroups[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 0.1
    done
    for g in "${pgroups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
    wait 2>/dev/null
    rm -rf "$run"
}
trap stop_all EXIT
trap 'say "stopping"; exit 0' INT TERM

case "$origin" in
url | apigw) ;;
*) die "ORIGIN '$origin': want url (function URLs, signed by the edges) or apigw (API Gateway's custom domains)" ;;
esac
# --- ports: a taken one fails now, by number, rather than as one server's log line later
edge_port=("$base" "$((base + 1))")
gw_port=("$((base + 10))" "$((base + 11))")
admin_port=("$((base + 20))" "$((base + 21))")
imds_port=$((base + 30))
[[ "$base" =~ ^[0-9]+$ ]] && [ "$base" -ge 1024 ] && [ "$base" -le 65500 ] ||
    die "PORT '$base': want a number from 1024 to 65500 (the first of the ports make run uses)"
ports=("${edge_port[@]}" "${gw_port[@]}" "${admin_port[@]}")
[ "$origin" = apigw ] || ports+=("$imds_port")
for p in "${ports[@]}"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        die "port $p on 127.0.0.1 is taken (something listens there): stop it, or run with PORT=<another first port> (uses PORT..PORT+30)"
    fi
done
# Each region's origin name: its function URL's (a fixed id per region, so the certificates made once fit),
# or its API Gateway custom domain.
origin_host=()
for r in "${regions[@]}"; do
    if [ "$origin" = url ]; then
        origin_host+=("$(printf 'nearjs-demo/%s' "$r" | sha256sum | cut -c1-32).lambda-url.$r.on.aws")
    else
        origin_host+=("$r-$public")
    fi
done

# --- the local CA and certificates, once
mkcert() { # name: name.pem/.key for DNS:name, signed by the demo CA
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/$1.key" -out "$tls/$1.csr" \
        -subj "/CN=$1" 2>/dev/null &&
        printf 'subjectAltName=DNS:%s\n' "$1" >"$tls/$1.ext" &&
        openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
            -out "$tls/$1.pem" -days 825 -extfile "$tls/$1.ext" 2>/dev/null
}
if [ ! -s "$tls/ca.pem" ] || ! openssl x509 -checkend 86400 -noout -in "$tls/ca.pem" >/dev/null 2>&1; then
    say "making a local CA in $tls (once)"
    rm -rf "$tls"
    mkdir -p "$tls"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$tls/ca.key" -out "$tls/ca.pem" \
        -days 825 -subj "/CN=nearjs make run local CA" 2>/dev/null || die "openssl could not make the CA in $tls"
fi
for name in "$public" "${origin_host[@]}"; do
    [ -s "$tls/$name.pem" ] && continue
    mkcert "$name" || die "openssl could not make the certificate for $name in $tls"
done

# Replaced only if it is a store (a copy from before): DEMO_STORE must never point rm at anything else,
# and never inside the repository's sources (DEMO_STORE=function/demo would delete the demo itself).
store_abs=$(realpath -m -- "$store")
case "$store_abs/" in
"$build"/*) ;;
"$root"/*) die "DEMO_STORE $(printf '%q' "$store") is inside the sources ($root): make run replaces that folder at every start; name one under $build or outside the repository" ;;
esac
case "$root/" in
"$store_abs"/*) die "DEMO_STORE $(printf '%q' "$store") holds the repository ($root): name a new folder" ;;
esac
[ ! -e "$store" ] || [ -f "$store/loader.js" ] ||
    die "DEMO_STORE $(printf '%q' "$store") exists and is not a demo store copy (no loader.js): refusing to replace it; name a new folder"
rm -rf "$store"
cp -R "$root/function/demo" "$store" || die "could not copy the demo store to $store"
printf '{"Parameters": {"NEARJS_STORE": "file://%s"}}\n' "$store" >"$run/env.json"

# --- the edges' credentials: one role's key, from the IMDS double (url only); new secret and token each run
if [ "$origin" = url ]; then
    key_id=ASIANEARJSDEMO$(openssl rand -hex 4 | tr a-f A-F)
    secret=$(openssl rand -base64 30 | tr -d '/+=')
    token=$(openssl rand -base64 60 | tr -d '/+=\n')
    role=nearjs-edge-demo
    python3 "$root/scripts/imds_double.py" --port "$imds_port" --role "$role" --key "$key_id" --secret "$secret" \
        --token "$token" --lifetime 3600 >/dev/null 2>"$run/imds.log" &
    imds_pid=$!
fi

# --- two regions (function URLs or gateways), then an edge in front of each
for i in 0 1; do
    r=${regions[$i]}
    h=${origin_host[$i]}
    if [ "$origin" = url ]; then
        mode=(--function-url --url-id "${h%%.*}" --iam "$key_id:$secret:$token"
            --principal "arn:aws:sts::123456789012:assumed-role/$role/local")
    else
        mode=(--domain "$h")
    fi
    AWS_REGION=$r setsid "$build/bin/nearjs-local" start-api --host 127.0.0.1 --port "${gw_port[$i]}" --workers 2 \
        --quiet "${mode[@]}" --cert "$tls/$h.pem" --key "$tls/$h.key" \
        --env-vars "$run/env.json" "$build/bin/bootstrap" >/dev/null 2>"$run/gateway-$r.log" &
    pgroups+=($!)
done
upstream() { # j: the edge.yaml lines of region j as an upstream
    local j=$1
    echo "  - url: https://${origin_host[$j]}"
    echo "    connect_to: 127.0.0.1:${gw_port[$j]}"
    echo "    ca: $tls/ca.pem"
    [ "$origin" = apigw ] || echo "    sign: {service: lambda, region: ${regions[$j]}}"
    echo "    health: {path: /acme/main.js, interval: 1000, rise: 2, fall: 2}"
}
for i in 0 1; do
    r=${regions[$i]}
    cat >"$run/edge-$r.yaml" <<YAML
threads: 1
timeouts: {connect: 1000, first_byte: 5000, drain: 2000}
listeners:
  - listen: 127.0.0.1:${edge_port[$i]}
    tls:
      - {cert: $tls/$public.pem, key: $tls/$public.key}
  - listen: 127.0.0.1:${admin_port[$i]}
    admin: true
upstreams:
$(upstream "$i")
$(upstream $((1 - i)))
YAML
    NEARJS_EDGE_IMDS=http://127.0.0.1:$imds_port \
    "$build/bin/nearjs-edge" -c "$run/edge-$r.yaml" >/dev/null 2>"$run/edge-$r.log" &
    pids+=($!)
done

# the IMDS double after the edges: pids[0] and pids[1] are the edges
[ -z "${imds_pid:-}" ] || pids+=("$imds_pid")

# --- wait until every edge answers with its own region's script (10 s at most)
curl_line() { # i: the command that fetches the demo script through edge i
    printf 'curl -i --resolve %s:%s:127.0.0.1 --cacert %s https://%s:%s/acme/widget.js' \
        "$public" "${edge_port[$1]}" "$tls/ca.pem" "$public" "${edge_port[$1]}"
}
for i in 0 1; do
    r=${regions[$i]}
    ok=
    for _ in $(seq 200); do
        got=$(curl -sS --max-time 2 -o /dev/null -D - --resolve "$public:${edge_port[$i]}:127.0.0.1" \
            --cacert "$tls/ca.pem" "https://$public:${edge_port[$i]}/acme/widget.js" 2>/dev/null | tr -d '\r')
        if grep -q '^HTTP/[0-9.]* 200' <<<"$got" && grep -qi "^x-nearjs-region: $r$" <<<"$got"; then
            ok=1
            break
        fi
        for g in "${pgroups[@]}"; do kill -0 -- "-$g" 2>/dev/null || break 2; done
        for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null || break 2; done
        sleep 0.05
    done
    if [ -z "$ok" ]; then
        for f in "$run"/*.log; do
            echo "--- $(basename "$f")" >&2
            tail -5 "$f" >&2
        done
        die "region $r did not answer through its edge on port ${edge_port[$i]} (logs above)"
    fi
done

f=$store/accounts/acme/widget.json
if [ "$origin" = url ]; then
    what="function URL"
    refusal="a region's function URL serves only requests the edges signed: an unsigned one gets Lambda's 403 AccessDeniedException"
else
    what="gateway"
    refusal="a gateway answers only its own name as SNI and Host, as API Gateway does (403 for the public one)"
fi
direct_line() { # an unsigned request straight at region 0 (url), or the public Host at its gateway (apigw)
    local h=${origin_host[0]}
    if [ "$origin" = url ]; then
        printf 'curl -i --resolve %s:%s:127.0.0.1 --cacert %s https://%s:%s/acme/widget.js' "$h" "${gw_port[0]}" \
            "$tls/ca.pem" "$h" "${gw_port[0]}"
    else
        printf "curl -i --resolve %s:%s:127.0.0.1 --cacert %s -H 'Host: %s' https://%s:%s/acme/widget.js" "$h" \
            "${gw_port[0]}" "$tls/ca.pem" "$public" "$h" "${gw_port[0]}"
    fi
}
cat <<EOF
nearjs: two regions serve the demo store ($store), each behind its own edge:
nearjs:   edge for ${regions[0]} https://$public:${edge_port[0]} -> $what https://${origin_host[0]}:${gw_port[0]} (failover: ${regions[1]})
nearjs:   edge for ${regions[1]} https://$public:${edge_port[1]} -> $what https://${origin_host[1]}:${gw_port[1]} (failover: ${regions[0]})
nearjs: fetch a demo account's script through each edge (X-Nearjs-Region says which region rendered it):
$(curl_line 0)
$(curl_line 1)
nearjs: $refusal:
$(direct_line)
nearjs: edit the content and fetch again: the change shows on the next request. Write a new file and
nearjs: rename it over the old one (a write in place can be read half-written), e.g.:
jq ".widget.title = \"Edited at \$(date +%T)\"" $f >$f.tmp && mv $f.tmp $f
nearjs: metrics and health of each edge: curl http://127.0.0.1:${admin_port[0]}/metrics (and :${admin_port[1]}, /healthz)
nearjs: logs in $run; Ctrl-C stops everything
EOF
[ "${NEARJS_RUN_EXIT:-0}" = 1 ] && exit 0
# Serve until a signal or until one of them dies (then say which, and stop the rest).
while :; do
    for i in 0 1; do
        kill -0 -- "-${pgroups[$i]}" 2>/dev/null || die "the ${regions[$i]} $what stopped: $(tail -1 "$run/gateway-${regions[$i]}.log")"
        kill -0 "${pids[$i]}" 2>/dev/null || die "the ${regions[$i]} edge stopped: $(tail -1 "$run/edge-${regions[$i]}.log")"
    done
    [ -z "${imds_pid:-}" ] || kill -0 "$imds_pid" 2>/dev/null || die "the IMDS double stopped: $(tail -1 "$run/imds.log")"
    sleep 0.5 &
    wait $! 2>/dev/null
done
