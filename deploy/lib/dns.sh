# deploy/lib/dns.sh: the Route53 helpers every step that touches the zone uses, and steps
# `regional_dns` (<region>-fast.$DOMAIN: a plain alias to the region's API Gateway domain target, what
# health checks and the edge resolve) and `latency_dns` (direct mode: fast.$DOMAIN as a latency alias
# per region to that region's fast.$DOMAIN target, with an HTTPS health check on
# <region>-fast.$DOMAIN$HEALTH_PATH, SNI on, and EvaluateTargetHealth).
# Records are compared normalised (name and alias target without the trailing dot, lower case; no TTL
# on alias records: moto answers TTL 0), so an unchanged record is never re-sent. SetIdentifiers are
# "<stack>-fast-<region>": unique in the zone (moto's DELETE drops every record sharing one).

# The zone's records, read once per region and again after each change.
zone_records() {
    local f="$RUN_DIR/zone.$REGION"
    if [ ! -s "$f" ]; then
        aws_ route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" >"$f.raw"
        jq -c "$ZONE_NORM .ResourceRecordSets | map(zone_norm)" "$f.raw" >"$f"
    fi
    cat "$f"
}

# jq definition: a record as compared.
ZONE_NORM='def zone_norm: (.Name |= (rtrimstr(".") | ascii_downcase))
    | if .AliasTarget then del(.TTL) | .AliasTarget.DNSName |= (rtrimstr(".") | ascii_downcase) else . end
    | with_entries(select(.value != null));'

# zone_find NAME TYPE [SETID]: the record (normalised) or nothing.
zone_find() {
    zone_records | jq -c --arg n "${1%.}" --arg t "$2" --arg s "${3:-}" \
        '[.[] | select(.Name == $n and .Type == $t and (.SetIdentifier // "") == $s)] | first // empty'
}

# zone_upsert WHAT RECORD_JSON: UPSERT unless the zone already has it exactly (one jq decides).
zone_upsert() {
    local what=$1 verdict
    zone_records >/dev/null
    verdict=$(jq -rn --argjson want "$2" --slurpfile zone "$RUN_DIR/zone.$REGION" "$ZONE_NORM"'
        ($want | zone_norm) as $w
        | [$zone[0][] | select(.Name == $w.Name and .Type == $w.Type and (.SetIdentifier // "") == ($w.SetIdentifier // ""))]
        | if length > 0 and (.[0] == $w) then "keep"
          else (if length > 0 then "update" else "create" end) + " "
               + ({Changes: [{Action: "UPSERT", ResourceRecordSet: $w}]} | tojson) end')
    if [ "$verdict" = keep ]; then
        keep "$what"
        return 0
    fi
    change "${verdict%% *}" "$what" route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" \
        --change-batch "${verdict#* }" >/dev/null
    rm -f "$RUN_DIR/zone.$REGION"
}

# zone_delete WHAT NAME TYPE [SETID]: deletes the record exactly as the zone has it, if it does.
zone_delete() {
    local have
    have=$(zone_find "$2" "$3" "${4:-}")
    [ -n "$have" ] || return 0
    change delete "$1" route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" --change-batch \
        "$(jq -c '{Changes: [{Action: "DELETE", ResourceRecordSet: .}]}' <<<"$have")" >/dev/null
    rm -f "$RUN_DIR/zone.$REGION"
}

alias_record() { # name target-dns target-zone evaluate [extra-json]
    local x=${5:-}
    [ -n "$x" ] || x='{}'
    jq -cn --arg n "$1" --arg d "$2" --arg z "$3" --argjson e "$4" --argjson x "$x" \
        '{Name: $n, Type: "A", AliasTarget: {HostedZoneId: $z, DNSName: $d, EvaluateTargetHealth: $e}} + $x'
}

step_regional_dns() {
    local name
    name=$(regional_name "$REGION")
    zone_upsert "record $name A -> ${DOMAIN_TARGET[$name]}" \
        "$(alias_record "$name" "${DOMAIN_TARGET[$name]}" "${DOMAIN_ZONE[$name]}" false)"
}

destroy_regional_dns() { zone_delete "record $(regional_name "$REGION") A" "$(regional_name "$REGION")" A; }

latency_setid() { printf '%s-fast-%s' "$STACK" "$REGION"; }

# The health checks of this region (tagged with the stack at creation; found by their configuration:
# moto's CallerReference is not idempotent), as "ID INTERVAL" lines. RequestInterval cannot be changed
# on an existing check (Route53 API reference, UpdateHealthCheck has no RequestInterval), so a new
# HEALTH_INTERVAL is a new check, the record moved to it, then the old one deleted.
health_checks() {
    aws_ route53 list-health-checks | jq -r --arg f "$(regional_name "$REGION")" --arg p "$HEALTH_PATH" \
        '.HealthChecks[] | select(.HealthCheckConfig | .Type == "HTTPS" and .FullyQualifiedDomainName == $f
          and .ResourcePath == $p and .Port == 443 and .EnableSNI == true)
        | "\(.Id) \(.HealthCheckConfig.RequestInterval // 30)"'
}

health_find() { health_checks | awk -v i="$HEALTH_INTERVAL" '$2 == i { print $1; exit }'; }

health_stack_tagged() { # id: 0 when the check carries this stack's tag
    aws_ route53 list-tags-for-resource --resource-type healthcheck --resource-id "$1" |
        jq -e --arg s "$STACK" 'any(.ResourceTagSet.Tags // [] | .[]; .Key == "nearjs:stack" and .Value == $s)' >/dev/null
}

step_latency_dns() {
    local hc name pub cfg out old
    name=$(regional_name "$REGION")
    pub=$(public_name)
    hc=$(health_find)
    if [ -z "$hc" ]; then
        cfg=$(jq -cn --arg f "$name" --arg p "$HEALTH_PATH" \
            --argjson i "$HEALTH_INTERVAL" '{Type: "HTTPS", FullyQualifiedDomainName: $f, Port: 443,
              ResourcePath: $p, EnableSNI: true, RequestInterval: $i, FailureThreshold: 3}')
        out=$(change create "health check https://$name$HEALTH_PATH" route53 create-health-check \
            --caller-reference "$STACK-$REGION-$(date +%s%N)" --health-check-config "$cfg")
        hc=$PLANNED
        if [ -n "$out" ]; then
            hc=$(jq -r .HealthCheck.Id <<<"$out")
            change create "health check $hc stack tag" route53 change-tags-for-resource --resource-type healthcheck \
                --resource-id "$hc" --add-tags "$(tag_list)" >/dev/null
        fi
    else
        keep "health check $hc"
    fi
    zone_upsert "record $pub A latency $REGION -> ${DOMAIN_TARGET[$pub]}" "$(alias_record "$pub" "${DOMAIN_TARGET[$pub]}" \
        "${DOMAIN_ZONE[$pub]}" true "$(jq -cn --arg s "$(latency_setid)" --arg r "$REGION" --arg h "$hc" \
        '{SetIdentifier: $s, Region: $r, HealthCheckId: $h}')")"
    # Checks of another interval (HEALTH_INTERVAL changed): the record no longer names them.
    for old in $(health_checks | awk -v i="$HEALTH_INTERVAL" '$2 != i { print $1 }'); do
        health_stack_tagged "$old" || continue
        change delete "health check $old (interval changed to $HEALTH_INTERVAL s)" route53 delete-health-check \
            --health-check-id "$old" >/dev/null
    done
}

destroy_latency_dns() {
    local hc
    zone_delete "record $(public_name) A latency $REGION" "$(public_name)" A "$(latency_setid)"
    for hc in $(health_checks | awk '{ print $1 }'); do
        health_stack_tagged "$hc" || continue
        change delete "health check $hc" route53 delete-health-check --health-check-id "$hc" >/dev/null
    done
}

# After destroy: the validation records that several regions' certificates share (fast.$DOMAIN's),
# once no latency record of this stack uses fast.$DOMAIN any more.
dns_destroy_shared() {
    local rec name
    [ -s "$RUN_DIR/shared-records" ] || return 0
    REGION=${REGION_LIST[0]}
    rm -f "$RUN_DIR/zone.$REGION"
    if zone_records | jq -e --arg n "$(public_name)" --arg p "$STACK-fast-" \
        'any(.[]; .Name == $n and ((.SetIdentifier // "") | startswith($p)))' >/dev/null; then
        return 0
    fi
    for rec in $(sort -u "$RUN_DIR/shared-records"); do
        name=$(jq -r '.Name | rtrimstr(".")' <<<"$rec")
        zone_delete "ACM validation record $name" "$name" CNAME 2>&1 | sed -u 's/^/[shared] /'
    done
}
