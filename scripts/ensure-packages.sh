#!/usr/bin/env bash
# Installs the Debian packages named that are not installed yet, and nothing else; says which, and why.
# Usage: scripts/ensure-packages.sh WHO PKG...   (WHO prefixes the messages, e.g. "setup" or "bench/edge")
# Needs root or sudo only when something is missing. Exit: 0 all present now, 1 could not install.
set -uo pipefail
who=$1
shift
missing=()
for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' && continue
    # Node.js may come from elsewhere than Debian (NodeSource, nvm): a working one counts.
    [ "$p" = nodejs ] && command -v node >/dev/null && continue
    [ "$p" = npm ] && command -v npm >/dev/null && continue
    missing+=("$p")
done
mapfile -t missing < <(printf '%s\n' "${missing[@]+"${missing[@]}"}" | awk 'NF && !seen[$0]++')
if [ ${#missing[@]} -eq 0 ]; then
    echo "$who: all needed packages present"
    exit 0
fi
echo "$who: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "$who: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
    sudo=sudo
fi
export DEBIAN_FRONTEND=noninteractive
# Another apt (a second make, unattended-upgrades) may hold the lock: wait for it rather than fail.
# An old or empty package list makes apt-get install fail to find packages: refresh it once.
$sudo apt-get -o DPkg::Lock::Timeout=600 update -qq || echo "$who: apt-get update failed; trying with the package lists already here" >&2
if ! $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
    echo "$who: apt-get install ${missing[*]} failed" >&2
    exit 1
fi
