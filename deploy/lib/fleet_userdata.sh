# deploy/lib/fleet_userdata.sh: the user data of a region's edge instances: deploy/edge-userdata.sh with
# this deploy's settings put below its first line. Its sha256 (with the instance type) is the build
# an instance is tagged with: a new artifact, certificate, key or region list is a new build.

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
    printf "REGION='%s'\nDOMAIN='%s'\nBUCKET='%s'\n" "$r" "$DOMAIN" "$(artifact_bucket "$r")"
    printf "ARTIFACT_KEY='%s'\nARTIFACT_SHA256='%s'\n" "$FLEET_ARTIFACT_KEY" "$FLEET_ARTIFACT_SHA256"
    printf "CERT_PARAM='%s'\nKEY_PARAM='%s'\n" "$(fleet_param cert)" "$(fleet_param key)"
    printf "CERT_SHA256='%s'\nKEY_SHA256='%s'\n" "$FLEET_CERT_SHA256" "$FLEET_KEY_SHA256"
    printf "UPSTREAM_REGIONS='%s'\nGATEWAY_HEALTH_PATH='%s'\n" "${order% }" "$HEALTH_PATH"
    [ -z "$hosts" ] || printf "ORIGIN='url'\nUPSTREAM_HOSTS='%s'\n" "${hosts% }"
    tail -n +2 "$DEPLOY_DIR/edge-userdata.sh"
}

# fleet_build USERDATA_FILE: the build id (16 hex) of that user data on EDGE_INSTANCE_TYPE.
fleet_build() { { cat "$1"; echo "$EDGE_INSTANCE_TYPE"; } | sha256sum | cut -c1-16; }
