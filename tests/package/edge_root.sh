#!/usr/bin/env bash
# The edge tarball (deploy/edge-package.sh) runs in an otherwise empty root holding only glibc and the
# libraries its RELIES_ON names (make_root.sh): unpacked to /opt/nearjs-edge as the fleet installs it,
# config and certificates generated into /etc/nearjs-edge, started chrooted there, it proxies a request
# over TLS to upstream.py (a local TLS gateway that checks SNI and Host like API Gateway), answers /healthz,
# and every shared object it maps lies inside the root (its own from /opt/nearjs-edge/lib).
# Usage: edge_root.sh BUILD_DIR SOURCE_DIR   (exit 77: skipped, no root/user namespace for chroot)
set -u
BUILD=$(realpath "$1")
SRC=$(realpath "$2")
. "$SRC/tests/edge/lib.sh"
edge_test_begin edge-root
IN_ROOT=$SRC/tests/package/in_root.sh
if [ "$(id -u)" -ne 0 ] && ! unshare -r -m -p -f true 2>/dev/null; then
    echo "SKIP: chroot needs root or an unprivileged user namespace (unshare -r); make test cannot install either: run it as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)"
    exit 77
fi

"$SRC/deploy/edge-package.sh" --build "$BUILD" --out "$T/edge.tar.gz" >pkg.out || { cat pkg.out; exit 1; }
mkdir x && tar -xzf edge.tar.gz -C x
name=$(ls x)
mapfile -t relies < <(awk '$1 ~ /\.so/ {print $1}' "x/$name/RELIES_ON")
check "RELIES_ON names glibc" "$(grep -c '^glibc 2.34$' "x/$name/RELIES_ON")" 1
"$SRC/tests/package/make_root.sh" "$T/root" "${relies[@]}" || exit 1
R=$T/root
mkdir -p "$R/opt" "$R/etc/nearjs-edge" "$R/usr/local/bin" "$R/var/log/nearjs-edge"
mv "x/$name" "$R/opt/nearjs-edge"
ln -s /opt/nearjs-edge/bin/nearjs-edge "$R/usr/local/bin/nearjs-edge"

make_ca edge-root-ca
mkcert gw us-east-1-fast.example.com
mkcert edge fast.example.com
cp ca.pem edge.pem edge.key "$R/etc/nearjs-edge/"
U=$(free_port); L=$(free_port); A=$(free_port)
python3 "$SRC/tests/edge/upstream.py" --domain us-east-1-fast.example.com --cert gw.pem --key gw.key --port "$U" >up.log 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do grep -q ready up.log && break; sleep 0.1; done
cat >"$R/etc/nearjs-edge/edge.yaml" <<YAML
threads: 1
access_log:
  path: /var/log/nearjs-edge/access.log
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - cert: /etc/nearjs-edge/edge.pem
        key: /etc/nearjs-edge/edge.key
  - listen: 127.0.0.1:$A
    admin: true
upstreams:
  - url: https://us-east-1-fast.example.com
    connect_to: 127.0.0.1:$U
    ca: /etc/nearjs-edge/ca.pem
    health: {path: /healthz, interval: 200, rise: 1, fall: 1}
YAML
check "test-config in the root" "$("$IN_ROOT" "$R" /opt/nearjs-edge/bin/nearjs-edge --test-config -c /etc/nearjs-edge/edge.yaml >tc.out 2>&1; echo $?)" 0
check "through the /usr/local/bin symlink" "$("$IN_ROOT" "$R" /usr/local/bin/nearjs-edge --test-config -c /etc/nearjs-edge/edge.yaml >/dev/null 2>&1; echo $?)" 0
cat tc.out
"$IN_ROOT" "$R" /opt/nearjs-edge/bin/nearjs-edge -c /etc/nearjs-edge/edge.yaml >edge.out 2>edge.err &
EPID=$!
PIDS+=($EPID)
C=(curl -sS --max-time 10 --cacert "$T/ca.pem" --resolve "fast.example.com:$L:127.0.0.1")
for _ in $(seq 50); do "${C[@]}" -o /dev/null "https://fast.example.com:$L/healthz" 2>/dev/null && break; sleep 0.1; done
sleep 0.5 # a health round: the upstream is marked up
body=$("${C[@]}" "https://fast.example.com:$L/acme/main.js")
check "proxied, SNI rewritten" "$(jq -r .sni <<<"$body" 2>/dev/null)" us-east-1-fast.example.com
check "Host rewritten" "$(jq -r .headers.host <<<"$body" 2>/dev/null)" us-east-1-fast.example.com
check "healthz" "$("${C[@]}" -o /dev/null -w '%{http_code}' "https://fast.example.com:$L/healthz")" 200
check "access log written in the root" "$(grep -c 'acme/main.js' "$R/var/log/nearjs-edge/access.log" 2>/dev/null)" 1

# Every shared object the running edge maps must be inside the root (found by its executable: as another
# user than root, in_root.sh runs it as a child in a pid namespace).
pid=""
for p in /proc/[0-9]*; do
    [ "$(readlink "$p/exe" 2>/dev/null)" = "$R/opt/nearjs-edge/bin/nearjs-edge" ] && pid=${p#/proc/} && break
done
maps=$(awk '$6 ~ /\.so/ {print $6}' "/proc/$pid/maps" 2>/dev/null | sort -u)
check "maps read" "$([ -n "$maps" ] && echo yes)" yes
check "nothing from outside the root" "$(grep -v "^$R/" <<<"$maps" | tr '\n' ' ')" ""
check "libh2o from the tarball" "$(grep -c "^$R/opt/nearjs-edge/lib/libh2o-evloop.so" <<<"$maps")" 1
check "libssl from the root's system" "$(grep -c "^$R/usr/lib64/libssl.so.3" <<<"$maps")" 1
sed "s|^$R||" <<<"$maps" | paste -sd' ' | sed 's/^/  mapped: /'

kill -TERM "$EPID" 2>/dev/null
wait "$EPID" 2>/dev/null
check "SIGTERM: clean exit" "$?" 0
[ "$FAILS" -eq 0 ] || { echo "--- edge.err"; cat edge.err; }
[ "$FAILS" -eq 0 ] && echo "edge_root: all passed" || echo "edge_root: $FAILS failed"
exit $((FAILS > 0))
