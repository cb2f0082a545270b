#!/usr/bin/env bash
# `make run`: the main job on embedded defaults. The function (build/bin/bootstrap) serves the demo
# store (function/demo) through the local API Gateway emulator, warm, on http://127.0.0.1:${PORT:-3000}/,
# exactly as it runs in AWS behind an HTTP API. One request is made and shown first, so a glance says it
# works; then it serves until Ctrl-C. PORT and WORKERS change the defaults.
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
port=${PORT:-3000}
tmp=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$tmp"' EXIT INT TERM

printf '{"Parameters": {"NEARJS_STORE": "file://%s/function/demo"}}\n' "$root" >"$tmp/env.json"
"$build/bin/nearjs-local" start-api --port "$port" --workers "${WORKERS:-2}" --quiet \
    --env-vars "$tmp/env.json" "$build/bin/bootstrap" 2>"$tmp/server.log" &
server=$!

url="http://127.0.0.1:$port/acme/widget.js"
for _ in $(seq 100); do
    grep -q 'listening on' "$tmp/server.log" 2>/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$tmp/server.log" >&2; exit 1; }
    sleep 0.05
done
echo "nearjs: serving the demo store (function/demo) at http://127.0.0.1:$port/<account>/<file>.js"
echo "nearjs: curl -i $url"
curl -sS -i "$url"
echo
echo "nearjs: try also: curl -i --compressed http://127.0.0.1:$port/globex/main.js"
echo "nearjs:           scripts/store-edit.sh function/demo/accounts/acme/widget.json and fetch again: the change"
echo "nearjs:           shows at once (it edits a copy and renames it in: a file saved in place can be read half-written)"
echo "nearjs: serving until Ctrl-C (server log follows)"
tail -n +1 -f "$tmp/server.log" &
wait "$server"
