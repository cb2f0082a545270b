#!/usr/bin/env bash
# The edge's systemd unit, as make edge-package ships it, judged by systemd's own tools:
# - systemd-analyze security --offline=true scores it at most 2.0 (the exposure level: 0 safest, 10 worst);
# - systemd-analyze verify finds nothing wrong (its paths pointed at a real file here);
# - it never gives up restarting (Restart=always, a RestartSec, StartLimitIntervalSec=0), runs as its own
#   user with CAP_NET_BIND_SERVICE only, and the sandbox settings issue 18 names are there.
# Skipped (77) without systemd-analyze. Usage: edge_unit.sh BUILD_DIR
set -u
BUILD=$(realpath "$1")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT_DIR=$(cd "$HERE/../.." && pwd)
. "$ROOT_DIR/tests/edge/lib.sh"
command -v systemd-analyze >/dev/null || { echo "SKIP: no systemd-analyze (apt-get install systemd)"; exit 77; }
edge_test_begin edge-unit
MAX_EXPOSURE=${MAX_EXPOSURE:-2.0}

"$ROOT_DIR/deploy/edge-package.sh" --build "$BUILD" --out "$T/nearjs-edge-0.0.0-x86_64.tar.gz" >package.out 2>&1 ||
    { echo "FAIL edge-package:"; cat package.out; exit 1; }
tar -xzf "$T/nearjs-edge-0.0.0-x86_64.tar.gz" -C "$T"
UNIT=$(ls "$T"/nearjs-edge-*/nearjs-edge.service)
check "the package carries the unit and the log rotation" \
    "$(cd "$(dirname "$UNIT")" && ls nearjs-edge.service nearjs-edge.logrotate nearjs-edge-logrotate.service nearjs-edge-logrotate.timer 2>/dev/null | wc -l)" 4

out=$(systemd-analyze security --offline=true --no-pager "$UNIT" 2>&1)
score=$(sed -n 's/.*Overall exposure level for nearjs-edge.service: \([0-9.]*\).*/\1/p' <<<"$out")
echo "systemd-analyze security --offline=true: $(grep 'Overall exposure' <<<"$out")"
check "systemd-analyze security scored it" "$([ -n "$score" ] && echo yes)" yes
check "exposure $score is at most $MAX_EXPOSURE" "$(awk -v s="${score:-99}" -v m="$MAX_EXPOSURE" 'BEGIN { print (s <= m) ? "yes" : "no" }')" yes

# verify: the unit's binary must exist, so point its paths at a copy of the packaged one.
mkdir -p verify
t=$(<"$UNIT")
t=${t//\/opt\/nearjs-edge\/bin\/nearjs-edge/"$T/verify/nearjs-edge"}
printf '%s\n' "$t" >verify/nearjs-edge.service
cp "$(dirname "$UNIT")/bin/nearjs-edge" verify/nearjs-edge
vout=$(systemd-analyze verify --man=no verify/nearjs-edge.service 2>&1)
check "systemd-analyze verify: no complaint" "$? $vout" "0 "

key() { sed -n "s/^$1=//p" "$UNIT" | paste -sd' '; }
check "Restart=always (a crash or a clean exit alike)" "$(key Restart)" always
check "RestartSec set (attempts spaced)" "$(key RestartSec | grep -cE '^[0-9]+')" 1
check "StartLimitIntervalSec=0 (no start limit can stop it for good)" "$(key StartLimitIntervalSec)" 0
check "its own user" "$(key User)" nearjs-edge
check "capabilities: CAP_NET_BIND_SERVICE only" "$(key CapabilityBoundingSet) / $(key AmbientCapabilities)" "CAP_NET_BIND_SERVICE / CAP_NET_BIND_SERVICE"
check "system calls: @system-service" "$(key SystemCallFilter | grep -c '@system-service')" 1
for k in ProtectSystem ProtectHome ProtectKernelTunables ProtectKernelModules ProtectControlGroups RestrictAddressFamilies \
    MemoryDenyWriteExecute UMask NoNewPrivileges; do
    check "$k set" "$([ -n "$(key "$k")" ] && echo yes)" yes
done

[ "$FAILS" -eq 0 ] || { echo "$out"; exit 1; }
echo "all edge unit tests passed"
