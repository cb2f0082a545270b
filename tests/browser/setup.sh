#!/usr/bin/env bash
# Installs what tests/browser needs and nothing that is there: Debian's chromium, Node.js and npm
# (scripts/ensure-packages.sh), then puppeteer-core from package-lock.json into tests/browser/node_modules
# (npm ci; skipped when the lock's version is already installed). `make test` runs it.
# Exit: 0 ready, 1 could not install (the browser test then skips, saying so).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
"$here/../../scripts/ensure-packages.sh" tests/browser chromium nodejs npm || exit 1
want=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/puppeteer-core"].version)' \
    "$here/package-lock.json" 2>/dev/null)
have=$(node -e 'console.log(require(process.argv[1]).version)' "$here/node_modules/puppeteer-core/package.json" 2>/dev/null)
if [ -n "$want" ] && [ "$want" = "$have" ]; then
    echo "tests/browser: puppeteer-core $have present"
    exit 0
fi
echo "tests/browser: npm ci (puppeteer-core $want)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) || { echo "tests/browser: npm ci failed" >&2; exit 1; }
