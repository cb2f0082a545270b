#!/usr/bin/env bash
# OCSP stapling: a throwaway CA whose leaf certificates name a responder in authorityInfoAccess,
# `openssl ocsp` as that responder on loopback, and nearjs-edge serving three certificates by SNI:
# one with a live responder (the handshake carries a successful, good response), one without AIA
# (no staple, no error) and one whose responder is dead (one log line, the handshake still works).
# A reload re-reads the certificates and staples again. Every wait is bounded; a trap cleans up.
# Usage: edge_ocsp.sh PATH/TO/nearjs-edge
set -u
EDGE=$(realpath "$1")
. "$(dirname "$0")/lib.sh"
edge_test_begin edge-ocsp
O=$(free_port)    # the responder
DEAD=$(free_port) # nothing listens there
L=$(free_port)    # the edge
U=$(free_port)    # an upstream that is not there (the handshake is what is tested)

make_ca edge-ocsp-ca
mkcert_ocsp() { # file name responder-url-or-empty
    mkcert "$1" "$2" "${3:+authorityInfoAccess=OCSP;URI:$3}"
    mv "$1.pem" "$1.leaf"
    cat "$1.leaf" ca.pem >"$1.pem" # the chain: the issuer is what the response is verified against
    local serial end
    serial=$(openssl x509 -in "$1.leaf" -noout -serial | cut -d= -f2)
    end=$(date -u -d "$(openssl x509 -in "$1.leaf" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
    printf 'V\t%s\t\t%s\tunknown\t/CN=%s\n' "$end" "$serial" "$2" >>index.txt
}
: >index.txt
mkcert_ocsp live ocsp.example.com "http://127.0.0.1:$O"
mkcert_ocsp noaia plain.example.com ""
mkcert_ocsp dead dead.example.com "http://127.0.0.1:$DEAD"

openssl ocsp -index index.txt -port "$O" -rsigner ca.pem -rkey ca.key -CA ca.pem -ndays 1 >ocsp.log 2>&1 &
PIDS+=($!)
# the responder answers before the edge starts, so that the edge's first fetch succeeds
for _ in $(seq 50); do
    openssl ocsp -issuer ca.pem -cert live.leaf -url "http://127.0.0.1:$O" -CAfile ca.pem >/dev/null 2>&1 && break
    sleep 0.1
done

cat >edge.yaml <<YAML
threads: 1
listeners:
  - listen: 127.0.0.1:$L
    tls:
      - cert: $T/live.pem
        key: $T/live.key
      - cert: $T/noaia.pem
        key: $T/noaia.key
      - cert: $T/dead.pem
        key: $T/dead.key
upstreams:
  - url: https://up.example.com
    connect_to: 127.0.0.1:$U
    insecure: true
YAML
"$EDGE" -c edge.yaml >edge.out 2>edge.err &
EPID=$!
PIDS+=($EPID)

status() { # sni: s_client's view of the stapled response
    echo | timeout 10 openssl s_client -status -servername "$1" -connect "127.0.0.1:$L" -CAfile ca.pem 2>&1
}
wait_staple() { # sni: the first s_client output that carries a response, within 5 s
    local out
    for _ in $(seq 50); do
        out=$(status "$1")
        grep -q 'OCSP Response Status' <<<"$out" && break
        sleep 0.1
    done
    printf '%s\n' "$out"
}
out=$(wait_staple ocsp.example.com)
check "responder: response stapled" "$(grep -o 'OCSP Response Status: successful' <<<"$out" | head -1)" \
    "OCSP Response Status: successful"
check "responder: cert status good" "$(grep -o 'Cert Status: good' <<<"$out" | head -1)" "Cert Status: good"
check "responder: certificate chosen by SNI" "$(grep -q 'CN = ocsp.example.com' <<<"$out" && echo yes)" yes

out=$(status plain.example.com)
check "no AIA: no staple" "$(grep -o 'OCSP response: no response sent' <<<"$out")" "OCSP response: no response sent"
check "no AIA: handshake ok" "$(grep -q 'Verify return code: 0 (ok)' <<<"$out" && echo yes)" yes
check "no AIA: nothing logged" "$(grep -c 'noaia.pem' edge.err)" 0

out=$(status dead.example.com)
check "dead responder: no staple" "$(grep -o 'OCSP response: no response sent' <<<"$out")" "OCSP response: no response sent"
check "dead responder: handshake ok" "$(grep -q 'Verify return code: 0 (ok)' <<<"$out" && echo yes)" yes
# OpenSSL retries a refused connect until its timeout (5 s): wait a little longer than that
for _ in $(seq 150); do grep -q "dead.pem" edge.err && break; sleep 0.1; done
check "dead responder: one log line naming certificate and responder" \
    "$(grep -c "OCSP for certificate '$T/dead.pem' from responder 'http://127.0.0.1:$DEAD' failed: " edge.err)" 1

# a reload builds new contexts: they staple again
kill -HUP "$EPID"
for _ in $(seq 50); do grep -q reloaded edge.err && break; sleep 0.1; done
out=$(wait_staple ocsp.example.com)
check "after reload: stapled" "$(grep -o 'Cert Status: good' <<<"$out" | head -1)" "Cert Status: good"

kill -TERM "$EPID"
for _ in $(seq 150); do kill -0 "$EPID" 2>/dev/null || break; sleep 0.1; done
wait "$EPID"
check "exit status" "$?" 0
if [ "$FAILS" -ne 0 ]; then
    echo "--- edge.err"; cat edge.err
    echo "--- ocsp.log"; cat ocsp.log
fi
echo "$FAILS failure(s)"
[ "$FAILS" -eq 0 ]
