# deploy/lib/fleet_sg.sh: step fleet_sg. In the region's default VPC, the security group
# <stack>-edge-<region>: inbound tcp 443 and 80 from anywhere, EDGE_ADMIN_PORT (/metrics, /healthz) from
# EDGE_ADMIN_CIDR only (no rule when it is empty), and nothing else (a rule added by hand is revoked).
# Outbound stays AWS's default
# (all): the edge reaches the gateways, S3 and SSM. Sets FLEET_SG_ID and FLEET_VPC_CIDR.

# The wanted inbound rules, one "proto from to cidr" per line, sorted.
# The admin port (/metrics, /healthz) only when EDGE_ADMIN_CIDR names a range (the edge then listens on
# it on every address); otherwise the edge binds it to 127.0.0.1 and no rule opens it.
fleet_sg_want() {
    {
        printf 'tcp 443 443 0.0.0.0/0\ntcp 80 80 0.0.0.0/0\n'
        [ -z "${EDGE_ADMIN_CIDR:-}" ] || printf 'tcp %s %s %s\n' "$EDGE_ADMIN_PORT" "$EDGE_ADMIN_PORT" "$EDGE_ADMIN_CIDR"
    } | sort
}

fleet_sg_perm() { # proto from to cidr -> --ip-permissions value
    printf 'IpProtocol=%s,FromPort=%s,ToPort=%s,IpRanges=[{CidrIp=%s}]' "$1" "$2" "$3" "$4"
}

fleet_vpc() {
    local out
    out=$(aws_ ec2 describe-vpcs --filters Name=is-default,Values=true)
    read -r FLEET_VPC_ID FLEET_VPC_CIDR < <(jq -r '.Vpcs[0] // empty | "\(.VpcId) \(.CidrBlock)"' <<<"$out")
    if [ -z "${FLEET_VPC_ID:-}" ]; then
        refuse "no default VPC in $REGION: the edge fleet goes into it (aws ec2 create-default-vpc --region $REGION)"
    fi
}

fleet_sg_find() { # prints the group's JSON, nothing when absent
    aws_ ec2 describe-security-groups --filters "Name=vpc-id,Values=$FLEET_VPC_ID" \
        "Name=group-name,Values=$(fleet_name "$REGION")" | jq -c '.SecurityGroups[0] // empty'
}

step_fleet_sg() {
    local name out have line
    name=$(fleet_name "$REGION")
    fleet_vpc
    out=$(fleet_sg_find)
    if [ -z "$out" ]; then
        out=$(change create "security group $name" ec2 create-security-group --group-name "$name" --vpc-id "$FLEET_VPC_ID" \
            --description "nearjs edge proxies of stack $STACK" \
            --tag-specifications "ResourceType=security-group,Tags=[{Key=nearjs:stack,Value=$STACK},{Key=Name,Value=$name}]")
        FLEET_SG_ID=$(jq -r '.GroupId // empty' <<<"${out:-{\}}")
        FLEET_SG_ID=${FLEET_SG_ID:-$PLANNED}
        have=""
    else
        FLEET_SG_ID=$(jq -r .GroupId <<<"$out")
        if [ "$(jq -r '.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" != "$STACK" ]; then
            refuse "security group $name ($FLEET_SG_ID) exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
        fi
        keep "security group $name"
        have=$(jq -r '.IpPermissions[] | . as $p | (.IpRanges // [])[] |
            "\($p.IpProtocol) \($p.FromPort // -1) \($p.ToPort // -1) \(.CidrIp)"' <<<"$out" | sort)
        # Other sources (IPv6 ranges, other groups, prefix lists) are never ours: revoke them whole.
        if [ "$(jq '[.IpPermissions[] | ((.Ipv6Ranges // []) + (.UserIdGroupPairs // []) + (.PrefixListIds // [])) | length] | add // 0' <<<"$out")" != 0 ]; then
            change delete "security group $name: inbound rules from other sources" ec2 revoke-security-group-ingress \
                --group-id "$FLEET_SG_ID" --ip-permissions "$(jq -c '[.IpPermissions[] | {IpProtocol, FromPort, ToPort,
                    Ipv6Ranges, UserIdGroupPairs, PrefixListIds} | with_entries(select(.value != null and .value != []))
                    | select(has("Ipv6Ranges") or has("UserIdGroupPairs") or has("PrefixListIds"))]' <<<"$out")" >/dev/null
        fi
    fi
    while read -r line; do
        [ -n "$line" ] || continue
        # shellcheck disable=SC2086
        change create "security group $name: inbound $line" ec2 authorize-security-group-ingress --group-id "$FLEET_SG_ID" \
            --ip-permissions "$(fleet_sg_perm $line)" >/dev/null
    done < <(comm -13 <(printf '%s\n' "$have") <(fleet_sg_want))
    while read -r line; do
        [ -n "$line" ] || continue
        # shellcheck disable=SC2086
        change delete "security group $name: inbound $line (not ours)" ec2 revoke-security-group-ingress --group-id "$FLEET_SG_ID" \
            --ip-permissions "$(fleet_sg_perm $line)" >/dev/null
    done < <(comm -23 <(printf '%s\n' "$have") <(fleet_sg_want))
}

destroy_fleet_sg() {
    local out
    fleet_vpc || return 0
    out=$(fleet_sg_find)
    [ -n "$out" ] || return 0
    [ "$(jq -r '.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" = "$STACK" ] || return 0
    change delete "security group $(fleet_name "$REGION")" ec2 delete-security-group --group-id "$(jq -r .GroupId <<<"$out")" >/dev/null
}
