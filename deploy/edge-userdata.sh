#!/bin/bash
# deploy/edge-userdata.sh: EC2 user data of an edge instance (Amazon Linux 2023, run once by cloud-init
# as root). deploy/lib/fleet_userdata.sh puts the settings below the first line (NAME=value, one per
# line, each quoted with printf %q) and this file after them; that whole text is the instance's user
# data, and its sha256 (with the AMI and instance type) is the instance's build (a new one replaces it).
#
# Steps: fetch the edge artifact from the region's artifact bucket (sha256 checked), the certificate and
# key of the public name from SSM Parameter Store (SecureString under the stack's KMS key, sha256
# checked), unpack the artifact into /opt/nearjs-edge, write /etc/nearjs-edge/edge.yaml (this region's
# gateway first, then the other deployed regions nearest first: UPSTREAM_REGIONS is already in that
# order), check it with `nearjs-edge --test-config`, install the systemd unit, the access log's rotation
# and start it. Any failure stops here with one line naming the step; nothing is started half-configured.
# The S3 and SSM fetches are retried with bounded backoff (about 2 minutes in all): a new instance's
# credentials, and a policy or key policy written seconds ago, take a while to become usable.
#
# Every setting is checked against a strict pattern before use (deploy checks them too): whatever a
# setting holds, it never becomes shell, YAML or a sed program here.
#
# Settings (from deploy): REGION DOMAIN BUCKET ARTIFACT_KEY ARTIFACT_SHA256 CERT_PARAM KEY_PARAM
# CERT_SHA256 KEY_SHA256 UPSTREAM_REGIONS GATEWAY_HEALTH_PATH ADMIN_PORT ACCOUNT, and ADMIN_CIDR (may be
# empty: the admin listener /metrics, /healthz then binds 127.0.0.1 only); with ORIGIN=url also
# UPSTREAM_HOSTS (region=host ..., each a Lambda function URL host of that region).
# For tests only (deploy never sets them; cloud-init gives an empty environment):
#   NEARJS_ROOT=DIR          install under DIR instead of / (every path in the config is under DIR too)
#   NEARJS_SYSTEMCTL=        no systemctl: install the unit file, do not enable or start it
#   NEARJS_EDGE_USER=USER    the user the edge runs as (default nearjs-edge, created when missing;
#                            empty: no privilege drop)
#   NEARJS_EDGE_LISTEN='HTTPS HTTP ADMIN'   default '0.0.0.0:443 0.0.0.0:80 127.0.0.1:ADMIN_PORT'
#   NEARJS_EDGE_CONNECT_TO='REGION=HOST:PORT ...'   connect_to per upstream (SNI/Host stay the name)
#   NEARJS_EDGE_CA=FILE      CA file for the gateways (default: the system store)
#   NEARJS_FETCH_TRIES=N NEARJS_FETCH_PAUSE=S   retries of a fetch (default 8) and the first pause (2 s)
#   AWS_ENDPOINT_URL         honoured by the aws CLI itself (v1, and v2 >= 2.13)
set -euo pipefail

STEP=settings
trap 'echo "nearjs-edge user data: failed at step $STEP (line $LINENO); see the lines above" >&2' ERR
: "${ADMIN_CIDR:=}"
setting_bad() {
    echo "nearjs-edge user data: setting $1 is missing or malformed ($2; deploy renders it: deploy/lib/fleet_userdata.sh)" >&2
    exit 2
}
want() { # NAME REGEX WHAT
    [[ ${!1:-} =~ $2 ]] || setting_bad "$1" "want $3"
}
REGION_RE='[a-z]{2}(-[a-z]+)+-[0-9]'
want REGION "^$REGION_RE\$" "a region name"
want DOMAIN '^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$' "a lower-case DNS name"
want ACCOUNT '^[0-9]{12}$' "12 digits"
want BUCKET '^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$' "an S3 bucket name"
want ARTIFACT_KEY '^edge/nearjs-edge-[0-9A-Za-z][0-9A-Za-z._+~-]{0,63}-(x86_64|arm64)\.tar\.gz$' "edge/nearjs-edge-<version>-<arch>.tar.gz"
want ARTIFACT_SHA256 '^[0-9a-f]{64}$' "a sha256"
want CERT_SHA256 '^[0-9a-f]{64}$' "a sha256"
want KEY_SHA256 '^[0-9a-f]{64}$' "a sha256"
want CERT_PARAM '^/[a-z][a-z0-9-]{0,19}/edge/cert$' "/<stack>/edge/cert"
want KEY_PARAM '^/[a-z][a-z0-9-]{0,19}/edge/key$' "/<stack>/edge/key"
want UPSTREAM_REGIONS "^$REGION_RE( $REGION_RE)*\$" "region names separated by spaces"
want GATEWAY_HEALTH_PATH '^/[A-Za-z0-9/_.-]*$' "an absolute path"
want ADMIN_PORT '^[0-9]{1,5}$' "a port"
[ -z "$ADMIN_CIDR" ] || want ADMIN_CIDR '^[0-9]{1,3}(\.[0-9]{1,3}){3}/[0-9]{1,2}$' "an IPv4 CIDR or nothing"
case "/$GATEWAY_HEALTH_PATH/" in */../*) setting_bad GATEWAY_HEALTH_PATH "no .. segment" ;; esac
: "${ORIGIN:=apigw}" "${UPSTREAM_HOSTS:=}"
want ORIGIN '^(apigw|url)$' "apigw or url"
HOST_RE="$REGION_RE=[a-z0-9]{1,63}\.lambda-url\.$REGION_RE\.on\.aws"
[ -z "$UPSTREAM_HOSTS" ] || want UPSTREAM_HOSTS "^$HOST_RE( $HOST_RE)*\$" "region=<id>.lambda-url.<region>.on.aws separated by spaces"

ROOT=${NEARJS_ROOT:-}
ROOT=${ROOT%/}
SYSTEMCTL=${NEARJS_SYSTEMCTL-systemctl}
EDGE_USER=${NEARJS_EDGE_USER-nearjs-edge}
ADMIN_ADDR=127.0.0.1
[ -z "$ADMIN_CIDR" ] || ADMIN_ADDR=0.0.0.0 # the security group lets in ADMIN_CIDR only
read -r LISTEN_HTTPS LISTEN_HTTP LISTEN_ADMIN <<<"${NEARJS_EDGE_LISTEN:-0.0.0.0:443 0.0.0.0:80 $ADMIN_ADDR:$ADMIN_PORT}"
PUBLIC_NAME=fast.$DOMAIN
ETC=$ROOT/etc/nearjs-edge
OPT=$ROOT/opt/nearjs-edge
LOGDIR=$ROOT/var/log/nearjs-edge
export AWS_PAGER=""
umask 022
mkdir -p "$ETC" "$LOGDIR" "$ROOT/opt" "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system" "$ROOT/etc/logrotate.d" "$ROOT/var/tmp"
WORK=$(mktemp -d "$ROOT/var/tmp/nearjs-edge-userdata.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# retry WHAT COMMAND...: COMMAND until it succeeds, NEARJS_FETCH_TRIES times at most (default 8), the
# pause doubling from NEARJS_FETCH_PAUSE (2 s) up to 30 s: about 2 minutes in all. A line per failure.
retry() {
    local what=$1 n=1 tries=${NEARJS_FETCH_TRIES:-8} pause=${NEARJS_FETCH_PAUSE:-2}
    shift
    until "$@" 2>"$WORK/retry.err"; do
        if [ "$n" -ge "$tries" ]; then
            cat "$WORK/retry.err" >&2
            echo "nearjs-edge user data: $what failed $n times; giving up (the instance role, its policy and the key policy must allow it)" >&2
            return 1
        fi
        echo "nearjs-edge user data: $what failed (try $n of $tries: $(tr '\n' ' ' <"$WORK/retry.err" | cut -c1-200)); again in ${pause}s" >&2
        sleep "$pause"
        n=$((n + 1))
        pause=$(awk -v p="$pause" 'BEGIN { p *= 2; print (p > 30) ? 30 : p }')
    done
}

# ssm_value NAME FILE: the parameter's decrypted value, byte-exact (text output would add a newline).
ssm_value() {
    retry "ssm get-parameter $1" aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption \
        --output json >"$WORK/param.json"
    python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["Parameter"]["Value"])' \
        <"$WORK/param.json" >"$2"
    rm -f "$WORK/param.json"
}

STEP="fetch s3://$BUCKET/$ARTIFACT_KEY"
retry "s3 get-object s3://$BUCKET/$ARTIFACT_KEY" aws s3api get-object --region "$REGION" --bucket "$BUCKET" \
    --key "$ARTIFACT_KEY" --expected-bucket-owner "$ACCOUNT" "$WORK/edge.tar.gz" >/dev/null
got=$(sha256 "$WORK/edge.tar.gz")
if [ "$got" != "$ARTIFACT_SHA256" ]; then
    echo "nearjs-edge user data: s3://$BUCKET/$ARTIFACT_KEY has sha256 $got, want $ARTIFACT_SHA256 (re-run make deploy)" >&2
    exit 1
fi

STEP="fetch certificate and key from SSM $CERT_PARAM, $KEY_PARAM"
umask 077
ssm_value "$CERT_PARAM" "$WORK/cert.pem"
ssm_value "$KEY_PARAM" "$WORK/key.pem"
umask 022
for f in cert:CERT_SHA256 key:KEY_SHA256; do
    got=$(sha256 "$WORK/${f%%:*}.pem")
    var=${f#*:}
    want=${!var}
    if [ "$got" != "$want" ]; then
        echo "nearjs-edge user data: SSM ${f%%:*} has sha256 $got, want $want (changed since deploy: re-run make deploy)" >&2
        exit 1
    fi
done

STEP="unpack the artifact into $OPT"
# make edge-package's layout: one top folder nearjs-edge-<version>-<arch>/ with bin/, lib/ and the unit,
# whose ExecStart is /opt/nearjs-edge/bin/nearjs-edge. It becomes $OPT, replacing an older one.
mkdir -p "$WORK/unpack"
tar -xzf "$WORK/edge.tar.gz" -C "$WORK/unpack" --no-same-owner
TOP=$(find "$WORK/unpack" -mindepth 1 -maxdepth 1 -type d -name 'nearjs-edge-*' | head -n 1)
if [ -z "$TOP" ] || [ ! -x "$TOP/bin/nearjs-edge" ] || [ ! -f "$TOP/nearjs-edge.service" ]; then
    echo "nearjs-edge user data: $ARTIFACT_KEY is not a make edge-package tarball (no nearjs-edge-*/bin/nearjs-edge and nearjs-edge.service)" >&2
    exit 1
fi
rm -rf "$OPT.old"
[ ! -e "$OPT" ] || mv "$OPT" "$OPT.old"
mv "$TOP" "$OPT"
rm -rf "$OPT.old"
BIN=$OPT/bin/nearjs-edge
UNIT=$OPT/nearjs-edge.service
ln -sfn "$OPT/bin/nearjs-edge" "$ROOT/usr/local/bin/nearjs-edge"

STEP="user $EDGE_USER"
EDGE_GROUP=""
if [ -n "$EDGE_USER" ]; then
    if ! getent passwd "$EDGE_USER" >/dev/null; then
        if [ -n "$ROOT" ]; then
            echo "nearjs-edge user data: user $EDGE_USER does not exist (with NEARJS_ROOT, create it or set NEARJS_EDGE_USER=)" >&2
            exit 1
        fi
        useradd --system --user-group --no-create-home --shell /sbin/nologin "$EDGE_USER"
    fi
    EDGE_GROUP=$(id -gn "$EDGE_USER") # its own group: the only one that may read the key
fi

STEP="write $ETC/edge.yaml"
install -m 0644 "$WORK/cert.pem" "$ETC/$PUBLIC_NAME.pem"
install -m 0640 "$WORK/key.pem" "$ETC/$PUBLIC_NAME.key"
# The access log belongs to the edge's user (a reload after dropping privileges opens it again); the
# folder to root, so logrotate rotates it without su, and makes the next file (create) for that user.
touch "$LOGDIR/access.log"
chmod 0640 "$LOGDIR/access.log"
if [ -n "$EDGE_USER" ]; then
    chgrp "$EDGE_GROUP" "$ETC/$PUBLIC_NAME.key" # the edge re-reads it on SIGHUP, after dropping privileges
    chown "$EDGE_USER:$EDGE_GROUP" "$LOGDIR/access.log"
    chgrp "$EDGE_GROUP" "$LOGDIR"
    chmod 0750 "$LOGDIR"
fi
{
    echo "# written by the user data of nearjs-edge in $REGION; upstreams: this region, then nearest first"
    echo "threads: 0"
    [ -n "$EDGE_USER" ] && echo "user: $EDGE_USER"
    echo "access_log: {path: $LOGDIR/access.log, format: json}"
    echo "listeners:"
    echo "  - listen: $LISTEN_HTTPS"
    echo "    tls:"
    echo "      - {cert: $ETC/$PUBLIC_NAME.pem, key: $ETC/$PUBLIC_NAME.key}"
    echo "    http2: true"
    echo "  - listen: $LISTEN_HTTP"
    echo "    plain: redirect"
    echo "  - listen: $LISTEN_ADMIN"
    echo "    admin: true"
    echo "upstreams:"
    # Every check is a request through API Gateway to Lambda (billed): 5 s, with passive marking of failed
    # requests in between, instead of edge.yaml.template's 2 s.
    # ORIGIN=url (issue 20): each region's Lambda function URL (UPSTREAM_HOSTS: region=host ...), signed
    # with the instance role's credentials; else each region's API Gateway name.
    for r in $UPSTREAM_REGIONS; do
        host=$r-$PUBLIC_NAME
        for h in ${UPSTREAM_HOSTS:-}; do
            [ "${h%%=*}" = "$r" ] && host=${h#*=}
        done
        echo "  - url: https://$host"
        [ "${ORIGIN:-apigw}" = url ] && echo "    sign: {service: lambda, region: $r}"
        for c in ${NEARJS_EDGE_CONNECT_TO:-}; do
            [ "${c%%=*}" = "$r" ] && echo "    connect_to: ${c#*=}"
        done
        [ -n "${NEARJS_EDGE_CA:-}" ] && echo "    ca: $NEARJS_EDGE_CA"
        echo "    health: {path: $GATEWAY_HEALTH_PATH, status: 200, interval: 5000, rise: 2, fall: 3}"
    done
} >"$WORK/edge.yaml"
"$BIN" -c "$WORK/edge.yaml" --test-config
install -m 0644 "$WORK/edge.yaml" "$ETC/edge.yaml"

STEP="install the systemd unit and the log rotation"
# The packaged files name /opt/nearjs-edge, /etc/nearjs-edge, /var/log/nearjs-edge and the user
# nearjs-edge; under NEARJS_ROOT or another user those change (bash replacements: no sed program).
localize() { # FILE: its text with this install's paths and user
    local t
    t=$(<"$1")
    # Replacements quoted: bash 5.2 would otherwise put the matched text in place of an & in them.
    t=${t//\/opt\/nearjs-edge\//"$OPT/"}
    t=${t//\/etc\/nearjs-edge\//"$ETC/"}
    t=${t//\/var\/log\/nearjs-edge/"$LOGDIR"}
    if [ -n "$EDGE_USER" ]; then
        t=${t//User=nearjs-edge/"User=$EDGE_USER"}
        t=${t//Group=nearjs-edge/"Group=$EDGE_GROUP"}
        t=${t//create 0640 nearjs-edge nearjs-edge/"create 0640 $EDGE_USER $EDGE_GROUP"}
    fi
    printf '%s\n' "$t"
}
localize "$UNIT" >"$ROOT/etc/systemd/system/nearjs-edge.service"
if [ -f "$OPT/nearjs-edge.logrotate" ]; then
    localize "$OPT/nearjs-edge.logrotate" >"$ROOT/etc/logrotate.d/nearjs-edge"
    for f in nearjs-edge-logrotate.service nearjs-edge-logrotate.timer; do
        [ ! -f "$OPT/$f" ] || localize "$OPT/$f" >"$ROOT/etc/systemd/system/$f"
    done
fi
if [ -n "$SYSTEMCTL" ]; then
    STEP="start nearjs-edge.service"
    "$SYSTEMCTL" daemon-reload
    "$SYSTEMCTL" enable nearjs-edge.service
    "$SYSTEMCTL" restart nearjs-edge.service
    [ ! -f "$ROOT/etc/systemd/system/nearjs-edge-logrotate.timer" ] || "$SYSTEMCTL" enable --now nearjs-edge-logrotate.timer
fi
echo "nearjs-edge user data: $REGION: nearjs-edge $ARTIFACT_SHA256 installed, upstreams $UPSTREAM_REGIONS"
