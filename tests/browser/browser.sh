#!/usr/bin/env bash
# A real browser through the chain: chromium (headless) -> nearjs-edge (TLS, HTTP/2) -> `nearjs-local
# start-api --domain` (the gateway) -> the function -> a copy of the demo store, all on loopback; the page
# comes from another origin (a plain HTTP server for page.example.test). browser.mjs does the checks.
# Skipped (77), saying why, when chromium or tests/browser/node_modules is missing: tests/browser/setup.sh
# (run by `make test`) installs both.
# Usage: browser.sh NEARJS_EDGE NEARJS_LOCAL BOOTSTRAP DEMO_STORE_DIR
set -u
EDGE=$(realpath "$1")
LOCAL=$(realpath "$2")
FUNC=$(realpath "$3")
DEMO=$(realpath "$4")
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../edge/lib.sh"

CHROMIUM=$(command -v chromium || true)
[ -n "$CHROMIUM" ] || { echo "SKIP browser: no chromium (make test installs it, through tests/browser/setup.sh)"; exit 77; }
[ -d "$HERE/node_modules/puppeteer-core" ] ||
    { echo "SKIP browser: no puppeteer-core in tests/browser/node_modules (make test installs it, through tests/browser/setup.sh)"; exit 77; }
command -v node >/dev/null || { echo "SKIP browser: no node (make test installs it, through tests/browser/setup.sh)"; exit 77; }

edge_test_begin browser
PUBLIC=fast.example.test
GW=us-east-1-$PUBLIC
make_ca nearjs-browser-ca
mkcert edge $PUBLIC
mkcert gw $GW
cp -R "$DEMO" store
printf '{"Parameters": {"NEARJS_STORE": "file://%s/store"}}\n' "$T" >env.json

AWS_REGION=us-east-1 setsid "$LOCAL" start-api --port 0 --workers 2 --quiet --domain $GW --cert gw.pem --key gw.key \
    --env-vars env.json "$FUNC" >/dev/null 2>gw.err &
GW_PGID=$!
GROUPS_STARTED+=("$GW_PGID")
disown "$GW_PGID"
GW_PORT=
for _ in $(seq 200); do
    grep -q 'warm .* after start' gw.err 2>/dev/null && GW_PORT=$(grep -o 'listening on https://[^ ]*:[0-9]*' gw.err | grep -o '[0-9]*$') && break
    kill -0 "$GW_PGID" 2>/dev/null || break
    sleep 0.05
done
[ -n "$GW_PORT" ] || { echo "FAIL gateway did not start:"; cat gw.err; exit 1; }

L=$(free_port)
cat >edge.yaml <<YAML
threads: 1
access_log: {path: $T/access.log, format: json}
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - {cert: $T/edge.pem, key: $T/edge.key}
upstreams:
  - url: https://$GW
    connect_to: 127.0.0.1:$GW_PORT
    ca: $T/ca.pem
YAML
"$EDGE" -c edge.yaml >/dev/null 2>edge.err &
PIDS+=($!)
disown $!
for _ in $(seq 100); do grep -q 'serving:' edge.err 2>/dev/null && break; sleep 0.05; done
grep -q 'serving:' edge.err || { echo "FAIL edge did not start:"; cat edge.err; exit 1; }

# The customer's page, on another origin.
PAGE_PORT=$(free_port)
mkdir page
cat >page/index.html <<HTML
<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>a customer's site</title>
<script src="https://$PUBLIC:$L/acme/main.js"></script>
<script src="https://$PUBLIC:$L/acme/widget.js" crossorigin="anonymous"></script>
<script src="https://$PUBLIC:$L/globex/main.js"></script>
</head><body><p>a customer's page</p><script>window.pageDone = true;</script></body></html>
HTML
python3 -m http.server --bind 127.0.0.1 --directory page "$PAGE_PORT" >page.log 2>&1 &
PIDS+=($!)
disown $!
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PAGE_PORT") 2>/dev/null && break; sleep 0.05; done

SPKI=$(openssl x509 -in edge.pem -noout -pubkey | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
CHROMIUM=$CHROMIUM PAGE_URL="http://page.example.test:$PAGE_PORT/" EDGE_ORIGIN="https://$PUBLIC:$L" \
    HOST_RULES="MAP $PUBLIC 127.0.0.1, MAP page.example.test 127.0.0.1" SPKI=$SPKI PROFILE="$T/profile" \
    STORE="$T/store" ACCESS_LOG="$T/access.log" timeout 60 node "$HERE/browser.mjs"
rc=$?
if [ "$rc" -ne 0 ]; then
    for f in gw.err edge.err access.log; do echo "--- $f"; tail -20 "$f"; done
    exit 1
fi
