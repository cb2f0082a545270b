#!/bin/bash
# deploy/edge-userdata.sh: EC2 user data of an edge instance (Amazon Linux 2023, run once by cloud-init
# as root). deploy/lib/fleet_userdata.sh puts the settings below the first line (NAME='value', one per
# line) and this file after them; that whole text is the instance's user data, and its sha256 is the
# instance's build (a new one replaces the instance).
#
# Steps: fetch the edge artifact from the region's artifact bucket (sha256 checked), the certificate and
# key of the public name from SSM Parameter Store (SecureString, sha256 checked), unpack the artifact into
# /opt/nearjs-edge, write /etc/nearjs-edge/edge.yaml (this region's gateway first, then the other
# deployed regions nearest first: UPSTREAM_REGIONS is already in that order), check it with
# `nearjs-edge --test-config`, install the systemd unit and start it. Any failure stops here with one line
# naming the step; nothing is started half-configured.
#
# Settings (from deploy): REGION DOMAIN BUCKET ARTIFACT_KEY ARTIFACT_SHA256 CERT_PARAM KEY_PARAM
# CERT_SHA256 KEY_SHA256 UPSTREAM_REGIONS GATEWAY_HEALTH_PATH; with ORIGIN=url also UPSTREAM_HOSTS.
# For tests only (deploy never sets them; cloud-init gives an empty environment):
#   NEARJS_ROOT=DIR          install under DIR instead of / (every path in the config is under DIR too)
#   NEARJS_SYSTEMCTL=        no systemctl: install the unit file, do not enable or start it
#   NEARJS_EDGE_USER=        no privilege drop (default nearjs-edge, created when missing)
#   NEARJS_EDGE_LISTEN='HTTPS HTTP ADMIN'   default '0.0.0.0:443 0.0.0.0:80 0.0.0.0:9100'
#   NEARJS_EDGE_CONNECT_TO='REGION=HOST:PORT ...'   connect_to per upstream (SNI/Host stay the name)
#   NEARJS_EDGE_CA=FILE      CA file for the gateways (default: the system store)
#   AWS_ENDPOINT_URL         honoured by the aws CLI itself (v1, and v2 >= 2.13)
set -euo pipefail

STEP=settings
trap 'echo "nearjs-edge user data: failed at step $STEP (line $LINENO); see the lines above" >&2' ERR
for v in REGION DOMAIN BUCKET ARTIFACT_KEY ARTIFACT_SHA256 CERT_PARAM KEY_PARAM CERT_SHA256 KEY_SHA256 \
    UPSTREAM_REGIONS GATEWAY_HEALTH_PATH; do
    if [ -z "${!v:-}" ]; then
        echo "nearjs-edge user data: setting $v is missing (deploy renders it; see deploy/lib/fleet_userdata.sh)" >&2
        exit 2
    fi
done
ROOT=${NEARJS_ROOT:-}
ROOT=${ROOT%/}
SYSTEMCTL=${NEARJS_SYSTEMCTL-systemctl}
EDGE_USER=${NEARJS_EDGE_USER-nearjs-edge}
read -r LISTEN_HTTPS LISTEN_HTTP LISTEN_ADMIN <<<"${NEARJS_EDGE_LISTEN:-0.0.0.0:443 0.0.0.0:80 0.0.0.0:9100}"
PUBLIC_NAME=fast.$DOMAIN
ETC=$ROOT/etc/nearjs-edge
OPT=$ROOT/opt/nearjs-edge
LOGDIR=$ROOT/var/log/nearjs-edge
export AWS_PAGER=""
umask 022
mkdir -p "$ETC" "$LOGDIR" "$ROOT/opt" "$ROOT/usr/local/bin" "$ROOT/etc/systemd/system" "$ROOT/var/tmp"
WORK=$(mktemp -d "$ROOT/var/tmp/nearjs-edge-userdata.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

sha256() { sha256sum "$1" | cut -d' ' -f1; }

# ssm_value NAME FILE: the parameter's decrypted value, byte-exact (text output would add a newline).
ssm_value() {
    aws ssm get-parameter --region "$REGION" --name "$1" --with-decryption --output json >"$WORK/param.json"
    python3 -c 'import json, sys; sys.stdout.write(json.load(sys.stdin)["Parameter"]["Value"])' \
        <"$WORK/param.json" >"$2"
    rm -f "$WORK/param.json"
}

STEP="fetch s3://$BUCKET/$ARTIFACT_KEY"
aws s3api get-object --region "$REGION" --bucket "$BUCKET" --key "$ARTIFACT_KEY" "$WORK/edge.tar.gz" >/dev/null
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
if [ -n "$EDGE_USER" ] && ! getent passwd "$EDGE_USER" >/dev/null; then
    if [ -n "$ROOT" ]; then
        echo "nearjs-edge user data: user $EDGE_USER does not exist (with NEARJS_ROOT, create it or set NEARJS_EDGE_USER=)" >&2
        exit 1
    fi
    useradd --system --no-create-home --shell /sbin/nologin "$EDGE_USER"
fi

STEP="write $ETC/edge.yaml"
install -m 0644 "$WORK/cert.pem" "$ETC/$PUBLIC_NAME.pem"
install -m 0640 "$WORK/key.pem" "$ETC/$PUBLIC_NAME.key"
if [ -n "$EDGE_USER" ]; then
    chgrp "$EDGE_USER" "$ETC/$PUBLIC_NAME.key" # the edge re-reads it on SIGHUP, after dropping privileges
    chown "$EDGE_USER" "$LOGDIR"
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

STEP="install the systemd unit"
sed -e "s#/opt/nearjs-edge/#$OPT/#g" \
    -e "s#/etc/nearjs-edge/#$ETC/#g" -e "s#/var/log/nearjs-edge#$LOGDIR#g" \
    "$UNIT" >"$ROOT/etc/systemd/system/nearjs-edge.service"
if [ -n "$SYSTEMCTL" ]; then
    STEP="start nearjs-edge.service"
    "$SYSTEMCTL" daemon-reload
    "$SYSTEMCTL" enable nearjs-edge.service
    "$SYSTEMCTL" restart nearjs-edge.service
fi
echo "nearjs-edge user data: $REGION: nearjs-edge $ARTIFACT_SHA256 installed, upstreams $UPSTREAM_REGIONS"
