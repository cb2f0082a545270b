# deploy/lib/domains.sh: step `domains`. The region's API Gateway custom domains (cert_names:
# <region>-fast.$DOMAIN, and fast.$DOMAIN in direct mode), REGIONAL, TLS 1.2, on CERT_ARN, each with one
# API mapping (empty key) to the API's $default stage. A domain on another certificate is updated in
# place (UpdateDomainName), and a mapping to another API too (UpdateApiMapping): never deleted and made
# again, since a re-made custom domain gets a new regional target name, and until DNS follows (the
# alias, then resolvers' caches) the name points at nothing.
# Sets DOMAIN_TARGET[name] and DOMAIN_ZONE[name]: the regional target name (d-....execute-api....) and
# its hosted zone id, which the DNS aliases point at. An answer without them is an error: real API
# Gateway always gives them (moto only through tests/deploy/moto_launcher.py).

step_domains() {
    local all name d out fresh tag cert target zone
    declare -gA DOMAIN_TARGET=() DOMAIN_ZONE=()
    all=$(aws_ apigatewayv2 get-domain-names)
    for name in $(cert_names "$REGION"); do
        d=$(jq -c --arg n "$name" '[.Items[] | select(.DomainName == $n)] | first // empty' <<<"$all")
        tag="" cert="" target="" zone=""
        [ -z "$d" ] || IFS=$'\t' read -r tag cert target zone < <(jq -r '[.Tags["nearjs:stack"] // "-",
            (.DomainNameConfigurations[0] | .CertificateArn // "-", .ApiGatewayDomainName // "-", .HostedZoneId // "-")]
            | @tsv' <<<"$d")
        if [ -n "$d" ] && [ "$tag" != "$STACK" ]; then
            refuse "custom domain $name exists in $REGION but is not tagged nearjs:stack=$STACK: not ours; remove it or change DOMAIN"
        fi
        fresh=0
        if [ -n "$d" ] && [ "$cert" != "$CERT_ARN" ]; then
            out=$(change update "custom domain $name: certificate $CERT_ARN" apigatewayv2 update-domain-name \
                --domain-name "$name" \
                --domain-name-configurations "CertificateArn=$CERT_ARN,EndpointType=REGIONAL,SecurityPolicy=TLS_1_2")
            [ -z "$out" ] || IFS=$'\t' read -r target zone < <(jq -r '.DomainNameConfigurations[0]
                | [.ApiGatewayDomainName // "-", .HostedZoneId // "-"] | @tsv' <<<"$out")
        elif [ -z "$d" ]; then
            fresh=1
            d=$(change create "custom domain $name" apigatewayv2 create-domain-name --domain-name "$name" \
                --domain-name-configurations "CertificateArn=$CERT_ARN,EndpointType=REGIONAL,SecurityPolicy=TLS_1_2" \
                --tags "$(tag_kv)")
            target=$PLANNED zone=$PLANNED
            [ -z "$d" ] || IFS=$'\t' read -r target zone < <(jq -r '.DomainNameConfigurations[0]
                | [.ApiGatewayDomainName // "-", .HostedZoneId // "-"] | @tsv' <<<"$d")
        else
            keep "custom domain $name"
        fi
        if [ "$target" = - ] || [ "$zone" = - ]; then
            refuse "apigatewayv2 get-domain-name $name: no ApiGatewayDomainName/HostedZoneId in the answer, so DNS cannot point at it (moto without tests/deploy/moto_launcher.py?)"
        fi
        DOMAIN_TARGET[$name]=$target
        DOMAIN_ZONE[$name]=$zone
        domain_mapping "$name" "$fresh"
    done
}

domain_mapping() { # name fresh (1: just made, so no mappings yet)
    local name=$1 maps="" bad one
    [ "$2" = 1 ] || [ "$API_ID" = "$PLANNED" ] || maps=$(aws_ apigatewayv2 get-api-mappings --domain-name "$name")
    [ -n "$maps" ] || maps='{"Items":[]}'
    if jq -e --arg a "$API_ID" 'any(.Items[]; .ApiId == $a and .Stage == "$default" and ((.ApiMappingKey // "") == ""))' \
        <<<"$maps" >/dev/null; then
        keep "mapping $name -> $API_ID"
        return 0
    fi
    # One mapping with the empty key points elsewhere (another API, another stage): moved in place.
    # More than one (moto accepts duplicates): the others go.
    read -r -a bad < <(jq -r '[.Items[] | select((.ApiMappingKey // "") == "") | .ApiMappingId] | join(" ")' <<<"$maps")
    if [ ${#bad[@]} -gt 0 ]; then
        change update "mapping $name (${bad[0]}) -> $API_ID \$default" apigatewayv2 update-api-mapping \
            --domain-name "$name" --api-mapping-id "${bad[0]}" --api-id "$API_ID" --stage '$default' >/dev/null
        for one in "${bad[@]:1}"; do
            change delete "mapping $name ($one, duplicate)" apigatewayv2 delete-api-mapping --domain-name "$name" \
                --api-mapping-id "$one" >/dev/null
        done
        return 0
    fi
    change create "mapping $name -> $API_ID \$default" apigatewayv2 create-api-mapping --domain-name "$name" \
        --api-id "$API_ID" --stage '$default' >/dev/null
}

domain_delete() { # name why
    local id
    for id in $(aws_ apigatewayv2 get-api-mappings --domain-name "$1" | jq -r '.Items[].ApiMappingId'); do
        change delete "mapping $1 ($id)" apigatewayv2 delete-api-mapping --domain-name "$1" --api-mapping-id "$id" >/dev/null
    done
    change delete "custom domain $1 ($2)" apigatewayv2 delete-domain-name --domain-name "$1" >/dev/null
}

destroy_domains() {
    local all name
    all=$(aws_ apigatewayv2 get-domain-names)
    for name in $(cert_names "$REGION"); do
        jq -e --arg n "$name" --arg s "$STACK" 'any(.Items[]; .DomainName == $n and .Tags["nearjs:stack"] == $s)' \
            <<<"$all" >/dev/null || continue
        domain_delete "$name" "destroy"
    done
}

# Edge mode: fast.$DOMAIN belongs to the edges (their own certificate), so an API Gateway custom domain of
# that name left from direct mode goes, with its mapping: as the last step of MODE=edge (after
# fleet_latency has replaced direct mode's latency record, so DNS never points at a deleted domain), and
# on destroy in edge mode (direct mode's destroy_domains takes it with the others). Otherwise its mapping
# keeps the API from being deleted (DeleteApi: BadRequestException while a mapping points at it).
step_public_domain_gone() {
    local name out
    name=$(public_name)
    out=$(aws_find 'NotFoundException|\(404\)' apigatewayv2 get-domain-name --domain-name "$name")
    [ -n "$out" ] || return 0
    [ "$(jq -r '.Tags["nearjs:stack"] // empty' <<<"$out")" = "$STACK" ] || return 0
    domain_delete "$name" "not edge mode's: fast.$DOMAIN is served by the edges"
}
destroy_public_domain_gone() { step_public_domain_gone; }
