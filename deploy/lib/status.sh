# deploy/lib/status.sh: the `status` and `logs` verbs (issue 19), and step `deploy_record`, which writes
# what status reads as "the last deploy". status and logs are Python (deploy/lib/status.py, logs.py:
# a table and a time-ordered merge are clearer there); this file hands them the settings and every name
# deploy uses, so there is one source of names (settings.sh), and picks their Python: the aws CLI's
# own when it has one (its driver then runs in-process, deploy/lib/awscall.py), else python3 running
# `aws` once per call.

# Step deploy_record (last of every mode): when this run changed anything in the region, the function
# gets the tags nearjs:deployed-at (UTC) and nearjs:deployed-by (the caller's ARN). A run that changed
# nothing writes nothing.
step_deploy_record() {
    plan && return 0
    grep -qE '^(create|update|delete) ' "$RUN_DIR/notes.$REGION" 2>/dev/null || return 0
    aws_ lambda tag-resource --resource "arn:aws:lambda:$REGION:$ACCOUNT:function:$(fn_name)" \
        --tags "nearjs:deployed-at=$(date -u +%Y-%m-%dT%H:%M:%SZ),nearjs:deployed-by=$PRINCIPAL" >/dev/null
}

ops_python() {
    local py
    if py=$(aws_server_python); then
        printf '%s' "$py"
        return 0
    fi
    command -v python3 >/dev/null || die "python3 not found (apt-get install python3): make status and make logs need it"
    printf 'python3'
    export NEARJS_AWS_IN_PROCESS=0
}

# The JSON status.py and logs.py read: settings and names, per region.
ops_spec() {
    local r format=${FORMAT:-table} color=${OPS_COLOR:-0}
    case "$format" in table | json) ;; *) bad FORMAT "$format" "want table or json" ;; esac
    for r in "${REGION_LIST[@]}"; do
        jq -cn --arg region "$r" --arg fn "$(fn_name)" --arg api "$(api_name)" --arg rn "$(regional_name "$r")" \
            --arg pub "$(public_name)" --arg cb "$(content_bucket "$r")" --arg cs "$(content_store "$r")" \
            --arg alias "arn:aws:lambda:$r:$ACCOUNT:function:$(fn_name):live" --arg domains "$(origin_is_url || cert_names "$r")" \
            --arg proxy "proxy-$r-fast.$DOMAIN" \
            --arg setid "$([ "$MODE" = edge ] && printf '%s-edge-%s' "$STACK" "$r" || printf '%s-fast-%s' "$STACK" "$r")" \
            '{region: $region, fn: $fn, api: $api, regional_name: $rn, public_name: $pub, content_bucket: $cb,
              content_store: $cs, alias_arn: $alias, domains: ($domains | split(" ") | map(select(. != ""))),
              proxy_name: $proxy, latency_setid: $setid}'
    done | jq -cs --arg stack "$STACK" --arg domain "$DOMAIN" --arg zone "${ZONE_ID:-}" --arg account "$ACCOUNT" \
        --arg mode "$MODE" --argjson memory "$MEMORY" --argjson timeout "$TIMEOUT" --arg arch "$ARCH" \
        --arg rate "$THROTTLE_RATE" --arg burst "$THROTTLE_BURST" --argjson edges "${EDGE_COUNT:-0}" \
        --arg prefix "$CONTENT_PREFIX" --arg format "$format" --argjson color "$color" --arg url "$(dashboard_url)" \
        --arg origin "$(origin_is_url && echo url || echo apigw)" \
        '{stack: $stack, domain: $domain, zone_id: $zone, account: $account, mode: $mode, origin: $origin, memory: $memory,
          timeout: $timeout, arch: $arch, throttle_rate: ($rate | tonumber), throttle_burst: ($burst | tonumber),
          edge_count: $edges, content_prefix: $prefix, format: $format, color: ($color == 1),
          dashboard_url: $url, regions: .}'
}

ops_status() {
    local py spec color=0
    # Colours only when stdout is a terminal (asked here: inside $(...) it is a pipe), never with NO_COLOR.
    [ -t 1 ] && [ -z "${NO_COLOR:-}" ] && [ "${TERM:-dumb}" != dumb ] && color=1
    spec=$(OPS_COLOR=$color ops_spec) || return 2
    py=$(ops_python)
    "$py" "$DEPLOY_DIR/lib/status.py" <<<"$spec"
}

ops_logs() {
    local py spec
    spec=$(ops_spec) || return 2
    py=$(ops_python)
    "$py" "$DEPLOY_DIR/lib/logs.py" <<<"$spec"
}
