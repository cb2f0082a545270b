# deploy/lib/fleet_userdata.sh: the user data of a region's edge instances: deploy/edge-userdata.sh with
# this deploy's settings put below its first line. Its sha256 with the AMI id and the instance type is
# the build an instance is tagged with: a new artifact, certificate, key, region list, admin setting or
# AMI (Amazon Linux 2023's latest, a security update) is a new build, and replaces the fleet.
# The user data runs as root: every value is written with printf %q (bash reads back exactly that
# string, whatever it holds), and settings.sh has already checked each against a strict pattern.

# fleet_userdata REGION: prints the user data. Needs FLEET_ARTIFACT_KEY/_SHA256, FLEET_CERT/KEY_SHA256,
# and with ORIGIN=url the function URL hosts (deploy/lib/origin.sh; FLEET_ORIGIN_HOSTS gives them instead).
fleet_userdata() {
    local r=$1 order hosts="" o h
    order=$(regions_by_distance "$r" "${REGION_LIST[@]}" | cut -d' ' -f1 | tr '\n' ' ')
    if [ "${ORIGIN:-apigw}" = url ] && [ -n "${FLEET_ORIGIN_HOSTS:-}" ]; then
        for o in $order; do
            for h in $FLEET_ORIGIN_HOSTS; do [ "${h%%=*}" != "$o" ] || hosts+="$h "; done
        done
    elif [ "${ORIGIN:-apigw}" = url ]; then
        hosts=$(fleet_origin_hosts $order)
    fi
    head -n 1 "$DEPLOY_DIR/edge-userdata.sh"
    fleet_ud_var REGION "$r"
    fleet_ud_var DOMAIN "$DOMAIN"
    fleet_ud_var ACCOUNT "$ACCOUNT"
    fleet_ud_var BUCKET "$(artifact_bucket "$r")"
    fleet_ud_var ARTIFACT_KEY "$FLEET_ARTIFACT_KEY"
    fleet_ud_var ARTIFACT_SHA256 "$FLEET_ARTIFACT_SHA256"
    fleet_ud_var CERT_PARAM "$(fleet_param cert)"
    fleet_ud_var KEY_PARAM "$(fleet_param key)"
    fleet_ud_var CERT_SHA256 "$FLEET_CERT_SHA256"
    fleet_ud_var KEY_SHA256 "$FLEET_KEY_SHA256"
    fleet_ud_var UPSTREAM_REGIONS "${order% }"
    fleet_ud_var GATEWAY_HEALTH_PATH "$HEALTH_PATH"
    fleet_ud_var ADMIN_PORT "${EDGE_ADMIN_PORT:-9100}"
    fleet_ud_var ADMIN_CIDR "${EDGE_ADMIN_CIDR:-}"
    if [ -n "$hosts" ]; then
        fleet_ud_var ORIGIN url
        fleet_ud_var UPSTREAM_HOSTS "${hosts% }"
    fi
    tail -n +2 "$DEPLOY_DIR/edge-userdata.sh"
}

fleet_ud_var() { printf '%s=%q\n' "$1" "$2"; } # NAME VALUE: one line bash reads back as exactly VALUE

# fleet_build USERDATA_FILE [AMI]: the build id (16 hex) of that user data on that AMI and EDGE_INSTANCE_TYPE.
fleet_build() { { cat "$1"; echo "${2:-}"; echo "$EDGE_INSTANCE_TYPE"; } | sha256sum | cut -c1-16; }
