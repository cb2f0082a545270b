# deploy/lib/fleet_latency.sh: step fleet_latency. The region's member of the latency set fast.$DOMAIN:
# an alias to its weighted set proxy-<region>-fast.$DOMAIN (same zone) with EvaluateTargetHealth, so a
# region whose instances all fail their health checks leaves the set. Then, once the edge record is in
# place, the direct-mode record of this region (and its health check) goes: destroy_latency_dns of
# deploy/lib (MODE=direct's step), and any other latency record of fast.$DOMAIN for this region.
# step_fleet_gone is the other way round: MODE=direct lists it after its latency_dns step, so a region
# switched from edge to direct loses its fleet only once the direct record is there.

fleet_latency_record() {
    jq -cn --arg n "$(public_name)." --arg s "$(fleet_latency_id "$REGION")" --arg r "$REGION" --arg z "$ZONE_ID" \
        --arg t "$(fleet_proxy_name "$REGION")" '{Name: $n, Type: "A", SetIdentifier: $s, Region: $r,
        AliasTarget: {HostedZoneId: $z, DNSName: $t, EvaluateTargetHealth: true}}'
}

# What list-resource-record-sets gives back, in the form we send (moto adds TTL 0 to aliases; AWS
# adds a trailing dot to the alias target).
fleet_norm() {
    jq -c 'if .AliasTarget then .AliasTarget.DNSName |= rtrimstr(".") else . end | {Name, Type, SetIdentifier, Region, AliasTarget}'
}

fleet_latency_set() { # this region's members of the latency set fast.$DOMAIN, as listed
    aws_ route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" |
        jq -c --arg n "$(public_name)." --arg r "$REGION" '[.ResourceRecordSets[] | select(.Name == $n and .Type == "A" and .Region == $r)]'
}

step_fleet_latency() {
    local recs have want other
    recs=$(fleet_latency_set)
    want=$(fleet_latency_record)
    have=$(jq -c --arg s "$(fleet_latency_id "$REGION")" '.[] | select(.SetIdentifier == $s)' <<<"$recs" | fleet_norm)
    if [ "$have" = "$want" ]; then
        keep "latency record $(public_name) $REGION -> $(fleet_proxy_name "$REGION")"
    else
        change "$([ -n "$have" ] && echo update || echo create)" "latency record $(public_name) $REGION -> $(fleet_proxy_name "$REGION")" \
            route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" \
            --change-batch "$(fleet_rrset_change UPSERT "$want")" >/dev/null
    fi
    if declare -F destroy_latency_dns >/dev/null; then
        rm -f "$RUN_DIR/zone.$REGION" # dns.sh's cache of the zone predates the records made here
        destroy_latency_dns
        plan || recs=$(fleet_latency_set)
    fi
    while read -r other; do
        [ -n "$other" ] || continue
        change delete "latency record $(public_name) $REGION $(jq -r .SetIdentifier <<<"$other") (not edge mode)" \
            route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" \
            --change-batch "$(fleet_rrset_change DELETE "$other")" >/dev/null
    done < <(jq -c --arg s "$(fleet_latency_id "$REGION")" '.[] | select(.SetIdentifier != $s) | if .AliasTarget then del(.TTL) else . end' <<<"$recs")
}

destroy_fleet_latency() {
    local rec
    rec=$(aws_ route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" | jq -c --arg n "$(public_name)." \
        --arg s "$(fleet_latency_id "$REGION")" '.ResourceRecordSets[] | select(.Name == $n and .SetIdentifier == $s) | del(.TTL)')
    [ -n "$rec" ] || return 0
    change delete "latency record $(public_name) $REGION -> $(fleet_proxy_name "$REGION")" route53 change-resource-record-sets \
        --hosted-zone-id "$ZONE_ID" --change-batch "$(fleet_rrset_change DELETE "$rec")" >/dev/null
}

# MODE=direct: a fleet left from MODE=edge goes, everything destroy_fleet_* removes.
# destroy in MODE=direct removes such a fleet too.
step_fleet_gone() { run_destroy "${FLEET_STEPS[@]}"; }
destroy_fleet_gone() { step_fleet_gone; }
