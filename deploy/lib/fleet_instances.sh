# deploy/lib/fleet_instances.sh: step fleet_instances. EDGE_COUNT instances of the current build per
# region, each wired as the seed's DNS model wants: an Elastic IP, an HTTPS health check on it (SNI
# fast.$DOMAIN, /healthz, port 443) and a weighted A record proxy-<region>-fast.$DOMAIN (SetIdentifier
# <stack>-edge-<instance id>, weight 1) carrying that health check.
#
# Rolling replace: the build is the sha256 of the user data and instance type (fleet_userdata.sh). An
# instance of another build is replaced one at a time: launch the new one, give it its address, wait
# until its /healthz answers 200 through that address (EDGE_HEALTH_WAIT seconds; 0 skips the wait, which
# the moto tests do: moto's addresses are fake 127.x), create its health check and record, then take the
# old one out of DNS (record, health check), wait EDGE_DRAIN_WAIT seconds for resolvers to let go,
# release its address and terminate it. So a region never has fewer than EDGE_COUNT instances in DNS.
# A new instance that never answers is terminated, the old ones stay, and the region fails.
# Nothing changed: only reads. Instances are launched one per run-instances call (moto gives the
# instance profile to the first of a --count only), the AMI from the public SSM parameter.
# NEARJS_FLEET_STEP_HOOK (tests): a command run as HOOK REGION WHAT after every change made here.

fleet_hook() { [ -z "${NEARJS_FLEET_STEP_HOOK:-}" ] || plan || "$NEARJS_FLEET_STEP_HOOK" "$REGION" "$1"; }

# The AMI: the SSM parameter EDGE_AMI_PARAM names (default: AWS's public one for the latest AL2023 of
# the instance type's architecture, which moves to each release).
fleet_ami() {
    aws_ ssm get-parameter --name "${EDGE_AMI_PARAM:-/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-$EDGE_ARCH}" |
        jq -r .Parameter.Value
}

# fleet_state: FLEET_INST (JSON array of {id, build, launch} of pending/running/stopping/stopped ones,
# oldest first: AWS stops instances for scheduled retirement, and a stopped one keeps its Elastic IP,
# health check and record, so it is counted, replaced and destroyed like a running one, never orphaned),
# FLEET_ADDRS (our Elastic IPs), FLEET_HCS (our health checks), FLEET_RECS (the region's weighted set).
fleet_state() {
    FLEET_INST=$(aws_ ec2 describe-instances --filters "Name=tag:nearjs:stack,Values=$STACK" \
        "Name=tag:nearjs:region,Values=$REGION" Name=tag:nearjs:role,Values=edge \
        Name=instance-state-name,Values=pending,running,stopping,stopped | jq -c '[.Reservations[].Instances[] |
            {id: .InstanceId, launch: .LaunchTime,
             build: ((.Tags // []) | map(select(.Key == "nearjs:build") | .Value) | first // "")}] | sort_by(.launch, .id)')
    FLEET_ADDRS=$(aws_ ec2 describe-addresses --filters "Name=tag:nearjs:stack,Values=$STACK" \
        "Name=tag:nearjs:region,Values=$REGION" | jq -c '[.Addresses[] | {alloc: .AllocationId, ip: .PublicIp,
            assoc: (.AssociationId // ""), instance: (.InstanceId // ""),
            owner: ((.Tags // []) | map(select(.Key == "nearjs:instance") | .Value) | first // "")}]')
    FLEET_HCS=$(aws_ route53 list-health-checks | jq -c --arg p "$(fleet_hc_ref "$REGION" "")" \
        '[.HealthChecks[] | select(.CallerReference | startswith($p))]')
    FLEET_RECS=$(aws_ route53 list-resource-record-sets --hosted-zone-id "$ZONE_ID" | jq -c --arg n "$(fleet_proxy_name "$REGION")." \
        '[.ResourceRecordSets[] | select(.Name == $n and .Type == "A")]')
}

fleet_tags() { # resource-type extra-tags...: a --tag-specifications value
    local rt=$1 t="{Key=nearjs:stack,Value=$STACK},{Key=nearjs:region,Value=$REGION},{Key=Name,Value=$(fleet_name "$REGION")}" x
    shift
    for x in "$@"; do t+=",{Key=${x%%=*},Value=${x#*=}}"; done
    printf 'ResourceType=%s,Tags=[%s]' "$rt" "$t"
}

# The AMI's root device, encrypted (the account's default EBS key; an unencrypted AMI snapshot is
# encrypted at launch) and gp3, of the AMI's own snapshot and size (8 GiB for AL2023).
fleet_root_volume() {
    aws_ ec2 describe-images --image-ids "$FLEET_AMI" | jq -c '.Images[0] as $i | ($i.RootDeviceName // "/dev/xvda") as $d
        | ([$i.BlockDeviceMappings[]? | select(.DeviceName == $d) | .Ebs] | first // {}) as $e
        | [{DeviceName: $d, Ebs: ({Encrypted: true, VolumeType: "gp3", DeleteOnTermination: true, VolumeSize: ($e.VolumeSize // 8)}
            + (if $e.SnapshotId then {SnapshotId: $e.SnapshotId} else {} end))}]'
}

# fleet_launch: one new instance of BUILD; prints its id ($PLANNED in a plan). IAM is eventually
# consistent: a profile made seconds ago is refused for a while ("Invalid IAM Instance Profile name"),
# so that error is retried (change_settling, lib/core.sh).
fleet_launch() {
    local out i
    out=$(change_settling "instance profile $FLEET_PROFILE" 'Invalid IAM Instance Profile' \
        create "edge instance ($EDGE_INSTANCE_TYPE, $FLEET_AMI, build $FLEET_BUILD)" \
        ec2 run-instances --count 1 --image-id "$FLEET_AMI" --instance-type "$EDGE_INSTANCE_TYPE" \
        --security-group-ids "$FLEET_SG_ID" --iam-instance-profile "Name=$FLEET_PROFILE" \
        --user-data "file://$FLEET_UD" --metadata-options HttpTokens=required,HttpEndpoint=enabled,HttpPutResponseHopLimit=1 \
        --block-device-mappings "$(fleet_root_volume)" $(fleet_credit_args) \
        --tag-specifications "$(fleet_tags instance nearjs:role=edge "nearjs:build=$FLEET_BUILD")")
    if plan; then
        echo "$PLANNED"
        return 0
    fi
    i=$(jq -r '.Instances[0].InstanceId' <<<"$out")
    aws_ ec2 wait instance-running --instance-ids "$i"
    fleet_hook "launched $i"
    echo "$i"
}

# fleet_address ID: prints the Elastic IP of instance ID, allocating and associating one if needed.
fleet_address() {
    local id=$1 a
    a=$(jq -r --arg i "$id" '[.[] | select(.instance == $i)] | first // empty | .ip' <<<"$FLEET_ADDRS")
    if [ -n "$a" ]; then
        keep "Elastic IP $a of $id"
        echo "$a"
        return 0
    fi
    # One left from a run that stopped between allocate and associate is reused.
    a=$(jq -c --arg i "$id" '[.[] | select(.instance == "" and (.owner == $i or .owner == ""))] | first // empty' <<<"$FLEET_ADDRS")
    if [ -z "$a" ]; then
        a=$(change create "Elastic IP for $id" ec2 allocate-address --domain vpc \
            --tag-specifications "$(fleet_tags elastic-ip "nearjs:instance=$id")")
        plan && { echo "$PLANNED"; return 0; }
        a=$(jq -c '{alloc: .AllocationId, ip: .PublicIp}' <<<"$a")
    fi
    change create "Elastic IP $(jq -r .ip <<<"$a") -> $id" ec2 associate-address --instance-id "$id" \
        --allocation-id "$(jq -r .alloc <<<"$a")" --no-allow-reassociation >/dev/null
    fleet_hook "address $(jq -r .ip <<<"$a") -> $id"
    jq -r .ip <<<"$a"
}

# fleet_health_wait ID IP: until https://fast.$DOMAIN/healthz answers 200 at IP (the certificate checked).
fleet_health_wait() {
    local id=$1 ip=$2 end code
    if [ "$EDGE_HEALTH_WAIT" = 0 ]; then
        log "not waiting for /healthz of $id at $ip (EDGE_HEALTH_WAIT=0)"
        return 0
    fi
    # NEARJS_FLEET_HEALTH_PORT and _CA: tests only (an edge on a loopback port with a throwaway CA).
    local port=${NEARJS_FLEET_HEALTH_PORT:-443} ca=()
    [ -z "${NEARJS_FLEET_HEALTH_CA:-}" ] || ca=(--cacert "$NEARJS_FLEET_HEALTH_CA")
    end=$((SECONDS + EDGE_HEALTH_WAIT))
    while [ $SECONDS -lt $end ]; do
        code=$(curl -s "${ca[@]}" -o /dev/null -w '%{http_code}' --max-time 5 --resolve "$(public_name):$port:$ip" \
            "https://$(public_name):$port/healthz" || true)
        if [ "$code" = 200 ]; then
            log "$id answers /healthz at $ip"
            return 0
        fi
        sleep "${NEARJS_FLEET_HEALTH_PAUSE:-5}"
    done
    refuse "$id did not answer /healthz with 200 at $ip within ${EDGE_HEALTH_WAIT}s (last: ${code:-none}); the new instance goes, the old ones stay; its boot log: aws ec2 get-console-output --region $REGION --instance-id $id"
}

fleet_hc_config() { # ip
    jq -cn --arg ip "$1" --arg fqdn "$(public_name)" '{Type: "HTTPS", IPAddress: $ip, Port: 443,
        ResourcePath: "/healthz", FullyQualifiedDomainName: $fqdn, EnableSNI: true, RequestInterval: 30, FailureThreshold: 3}'
}

# fleet_health_check ID IP: prints the id of ID's health check, made or updated to point at IP.
fleet_health_check() {
    local id=$1 ip=$2 ref hc out
    ref=$(fleet_hc_ref "$REGION" "$id")
    hc=$(jq -c --arg r "$ref" '[.[] | select(.CallerReference == $r)] | first // empty' <<<"$FLEET_HCS")
    if [ -z "$hc" ]; then
        out=$(change create "health check https://$ip/healthz ($id)" route53 create-health-check --caller-reference "$ref" \
            --health-check-config "$(fleet_hc_config "$ip")")
        plan && { echo "$PLANNED"; return 0; }
        hc=$(jq -r .HealthCheck.Id <<<"$out")
        change create "health check $hc tags" route53 change-tags-for-resource --resource-type healthcheck --resource-id "$hc" \
            --add-tags "Key=nearjs:stack,Value=$STACK" "Key=Name,Value=$(fleet_proxy_name "$REGION") $id" >/dev/null
        echo "$hc"
        return 0
    fi
    if [ "$(jq -r .HealthCheckConfig.IPAddress <<<"$hc")" != "$ip" ]; then
        change update "health check $(jq -r .Id <<<"$hc") -> $ip" route53 update-health-check \
            --health-check-id "$(jq -r .Id <<<"$hc")" --ip-address "$ip" >/dev/null
    else
        keep "health check $(jq -r .Id <<<"$hc") ($id)"
    fi
    jq -r .Id <<<"$hc"
}

fleet_record() { # id ip hc: the weighted record of instance ID
    jq -cn --arg n "$(fleet_proxy_name "$REGION")" --arg s "$(fleet_record_id "$1")" --arg ip "$2" --arg hc "$3" \
        --argjson ttl "$EDGE_TTL" '{Name: ($n + "."), Type: "A", SetIdentifier: $s, Weight: 1, TTL: $ttl,
        ResourceRecords: [{Value: $ip}], HealthCheckId: $hc}'
}

fleet_rrset_change() { # ACTION RECORD-JSON: a --change-batch value
    jq -cn --arg a "$1" --argjson r "$2" '{Changes: [{Action: $a, ResourceRecordSet: $r}]}'
}

# fleet_wire ID NEW: address, (for a new one) the health wait, health check and weighted record.
fleet_wire() {
    local id=$1 new=$2 ip hc want have
    if [ "$id" = "$PLANNED" ]; then
        note create "Elastic IP, health check and record $(fleet_proxy_name "$REGION") of the new instance"
        log "would create Elastic IP, health check and record $(fleet_proxy_name "$REGION") of the new instance"
        return 0
    fi
    ip=$(fleet_address "$id")
    if [ "$new" = 1 ] && ! plan && ! fleet_health_wait "$id" "$ip"; then
        fleet_state
        fleet_retire "$id"
        return 1
    fi
    hc=$(fleet_health_check "$id" "$ip")
    want=$(fleet_record "$id" "$ip" "$hc")
    have=$(jq -c --arg s "$(fleet_record_id "$id")" '[.[] | select(.SetIdentifier == $s)] | first // empty
        | {Name, Type, SetIdentifier, Weight, TTL, ResourceRecords, HealthCheckId}' <<<"$FLEET_RECS")
    if [ "$have" = "$want" ]; then
        keep "record $(fleet_proxy_name "$REGION") $ip ($id)"
        return 0
    fi
    change "$([ -n "$have" ] && echo update || echo create)" "record $(fleet_proxy_name "$REGION") $ip ($id)" \
        route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" --change-batch "$(fleet_rrset_change UPSERT "$want")" >/dev/null
    fleet_hook "in DNS $id $ip"
}

# fleet_retire ID: out of DNS first, then the health check, the drain wait, the address, the instance.
fleet_retire() {
    local id=$1 rec hc h a
    rec=$(jq -c --arg s "$(fleet_record_id "$id")" '[.[] | select(.SetIdentifier == $s)] | first // empty' <<<"$FLEET_RECS")
    if [ -n "$rec" ]; then
        change delete "record $(fleet_proxy_name "$REGION") ($id)" route53 change-resource-record-sets \
            --hosted-zone-id "$ZONE_ID" --change-batch "$(fleet_rrset_change DELETE "$rec")" >/dev/null
        fleet_hook "out of DNS $id"
    fi
    hc=$(jq -r --arg r "$(fleet_hc_ref "$REGION" "$id")" '.[] | select(.CallerReference == $r) | .Id' <<<"$FLEET_HCS")
    for h in $hc; do
        change delete "health check $h ($id)" route53 delete-health-check --health-check-id "$h" >/dev/null
    done
    if [ -n "$rec" ] && [ "$EDGE_DRAIN_WAIT" -gt 0 ] && ! plan; then
        log "waiting ${EDGE_DRAIN_WAIT}s for resolvers to drop $id (EDGE_DRAIN_WAIT)"
        sleep "$EDGE_DRAIN_WAIT"
    fi
    while read -r a; do
        [ -n "$a" ] || continue
        [ "$(jq -r .assoc <<<"$a")" = "" ] ||
            change delete "Elastic IP $(jq -r .ip <<<"$a") association ($id)" ec2 disassociate-address \
                --association-id "$(jq -r .assoc <<<"$a")" >/dev/null
        change delete "Elastic IP $(jq -r .ip <<<"$a") ($id)" ec2 release-address --allocation-id "$(jq -r .alloc <<<"$a")" >/dev/null
    done < <(jq -c --arg i "$id" '.[] | select(.instance == $i or .owner == $i)' <<<"$FLEET_ADDRS")
    change delete "edge instance $id" ec2 terminate-instances --instance-ids "$id" >/dev/null
    fleet_hook "terminated $id"
}

step_fleet_instances() {
    local good old id n new
    FLEET_UD=$RUN_DIR/edge-userdata.$REGION
    fleet_userdata "$REGION" >"$FLEET_UD"
    FLEET_AMI=$(fleet_ami)
    FLEET_BUILD=$(fleet_build "$FLEET_UD" "$FLEET_AMI") # a new AMI (a security update) is a new build
    fleet_state
    good=$(jq -r --arg b "$FLEET_BUILD" '.[] | select(.build == $b) | .id' <<<"$FLEET_INST")
    old=$(jq -r --arg b "$FLEET_BUILD" '.[] | select(.build != $b) | .id' <<<"$FLEET_INST")
    n=0
    for id in $good; do
        n=$((n + 1))
        if [ "$n" -gt "$EDGE_COUNT" ]; then # EDGE_COUNT went down: the newest go
            fleet_retire "$id"
            continue
        fi
        keep "edge instance $id (build $FLEET_BUILD)"
        fleet_wire "$id" 0
    done
    for id in $old; do
        if [ "$n" -lt "$EDGE_COUNT" ]; then
            new=$(fleet_launch)
            fleet_wire "$new" 1
            n=$((n + 1))
        fi
        fleet_retire "$id"
    done
    while [ "$n" -lt "$EDGE_COUNT" ]; do
        new=$(fleet_launch)
        fleet_wire "$new" 1
        n=$((n + 1))
    done
    # Leftovers of an interrupted run: addresses of no running instance, health checks and records of
    # instances that are gone.
    fleet_state
    fleet_sweep
}

# fleet_sweep: deletes our weighted records, health checks and addresses whose instance is gone, in that
# order: an Elastic IP is released only once no record or health check names it, since a released
# address can be allocated by another account at once, and DNS must never send our name to it.
fleet_sweep() {
    local ids a h r
    ids=$(jq -c '[.[].id]' <<<"$FLEET_INST")
    while read -r r; do
        [ -n "$r" ] || continue
        change delete "record $(fleet_proxy_name "$REGION") $(jq -r .SetIdentifier <<<"$r") (no instance)" \
            route53 change-resource-record-sets --hosted-zone-id "$ZONE_ID" --change-batch "$(fleet_rrset_change DELETE "$r")" >/dev/null
    done < <(jq -c --argjson ids "$ids" --arg p "$(fleet_record_id "")" '.[] | select((.SetIdentifier | ltrimstr($p)) as $i | $ids | any(.[]; . == $i) | not)' <<<"$FLEET_RECS")
    for h in $(jq -r --argjson ids "$ids" --arg p "$(fleet_hc_ref "$REGION" "")" \
        '.[] | select((.CallerReference | ltrimstr($p)) as $i | $ids | any(.[]; . == $i) | not) | .Id' <<<"$FLEET_HCS"); do
        change delete "health check $h (no instance)" route53 delete-health-check --health-check-id "$h" >/dev/null
    done
    while read -r a; do
        [ -n "$a" ] || continue
        [ "$(jq -r .assoc <<<"$a")" = "" ] || continue
        change delete "Elastic IP $(jq -r .ip <<<"$a") (no instance)" ec2 release-address --allocation-id "$(jq -r .alloc <<<"$a")" >/dev/null
    done < <(jq -c --argjson ids "$ids" '.[] | select(.instance as $i | $ids | any(.[]; . == $i) | not)' <<<"$FLEET_ADDRS")
}

destroy_fleet_instances() {
    local id ids
    fleet_state
    ids=$(jq -r '.[].id' <<<"$FLEET_INST")
    EDGE_DRAIN_WAIT=0 # the whole region goes: nothing to drain to
    for id in $ids; do fleet_retire "$id"; done
    [ -z "$ids" ] || plan || aws_ ec2 wait instance-terminated --instance-ids $ids
    fleet_state # what the retirements left (AWS refuses to delete a health check or record twice)
    fleet_sweep
}
