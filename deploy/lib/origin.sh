# deploy/lib/origin.sh: what the edges forward to in MODE=edge (issue 20), ORIGIN=url or apigw.
#   url (edge mode's default): per region a Lambda function URL on the `live` alias with AuthType AWS_IAM,
#       which the edges sign for (SigV4, service lambda) with their instance role's credentials; the
#       function's resource policy lets exactly that role in; RESERVED_CONCURRENCY caps the function (the
#       ceiling API Gateway's throttling gave). No HTTP API, custom domain, regional certificate or regional
#       record: step apigw_gone removes any left from ORIGIN=apigw, after the fleet has moved.
#   apigw: API Gateway as before (deploy/lib/api.sh, cert.sh, domains.sh, dns.sh); step furl_gone removes a
#       function URL, its two statements and the reserved concurrency left from ORIGIN=url, after the fleet
#       has moved.
# Since October 2025 a new function URL needs both lambda:InvokeFunctionUrl and lambda:InvokeFunction in the
# caller's permissions ("Control access to Lambda function URLs", Lambda developer guide:
# https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html, the note at its top), so the edge role gets
# two statements: InvokeFunctionUrl with lambda:FunctionUrlAuthType AWS_IAM, and InvokeFunction with
# lambda:InvokedViaFunctionUrl true (the CLI's --invoked-via-function-url), which grants nothing beyond the URL.
# Needs FN (step function); sets FURL_HOST (<url-id>.lambda-url.<region>.on.aws, or $PLANNED).

furl_sids() { printf '%s-edge-url %s-edge-invoke' "$STACK" "$STACK"; }
edge_role_arn() { printf 'arn:aws:iam::%s:role/%s' "$ACCOUNT" "$(fleet_name "$REGION")"; }

# The function's policy statements, normalised to {Sid, Action, Principal, AuthType, ViaUrl}: AWS writes
# {"Principal": {"AWS": arn}, "Condition": {...}}, moto keeps the flat fields it was given.
furl_statements() {
    local pol=""
    [ "${FN_NEW:-0}" = 1 ] && plan || pol=$(aws_find ResourceNotFoundException lambda get-policy --function-name "$FN" --qualifier live)
    [ -n "$pol" ] || pol='{}'
    jq -c '.Policy // "{}" | fromjson | [.Statement // [] | .[] | {Sid, Action,
        Principal: (.Principal | if type == "object" then (.AWS // .Service) else . end),
        AuthType: (.Condition.StringEquals["lambda:FunctionUrlAuthType"] // .FunctionUrlAuthType // null),
        ViaUrl: ((.Condition.Bool["lambda:InvokedViaFunctionUrl"] // .InvokedViaFunctionUrl // false) | tostring)}]' <<<"$pol"
}

step_furl() {
    local out="" auth
    FN=$(fn_name)
    [ "${FN_NEW:-0}" = 1 ] && plan || out=$(aws_find ResourceNotFoundException lambda get-function-url-config --function-name "$FN" --qualifier live)
    if [ -z "$out" ]; then
        out=$(change create "function URL $FN:live (AuthType AWS_IAM)" lambda create-function-url-config --function-name "$FN" \
            --qualifier live --auth-type AWS_IAM)
    else
        auth=$(jq -r .AuthType <<<"$out")
        if [ "$auth" != AWS_IAM ]; then
            out=$(change update "function URL $FN:live AuthType $auth -> AWS_IAM" lambda update-function-url-config \
                --function-name "$FN" --qualifier live --auth-type AWS_IAM)
        else
            keep "function URL $FN:live ($(jq -r .FunctionUrl <<<"$out"))"
        fi
    fi
    FURL_HOST=$PLANNED
    [ -z "$out" ] || FURL_HOST=$(jq -r '.FunctionUrl | ltrimstr("https://") | rtrimstr("/")' <<<"$out")
    furl_permissions
    furl_concurrency
}

# The edge role's two statements, and no other grant of the URL: a statement of someone else that lets
# anyone invoke through the URL (a NONE-auth grant, another principal) is removed, so that the policy
# names the edge role alone. API Gateway's own statement goes with apigw_gone.
furl_permissions() {
    local stmts role sid want one url_sid invoke_sid
    stmts=$(furl_statements)
    role=$(edge_role_arn)
    read -r url_sid invoke_sid <<<"$(furl_sids)"
    for sid in "$url_sid" "$invoke_sid"; do
        if [ "$sid" = "$url_sid" ]; then
            want=$(jq -cn --arg s "$sid" --arg p "$role" '{Sid: $s, Action: "lambda:InvokeFunctionUrl", Principal: $p, AuthType: "AWS_IAM", ViaUrl: "false"}')
        else
            want=$(jq -cn --arg s "$sid" --arg p "$role" '{Sid: $s, Action: "lambda:InvokeFunction", Principal: $p, AuthType: null, ViaUrl: "true"}')
        fi
        if jq -e --argjson w "$want" '[.[] | select(.Sid == $w.Sid)] == [$w]' <<<"$stmts" >/dev/null; then
            keep "permission $sid"
            continue
        fi
        # stale (another role) or duplicated (moto accepts duplicate Sids): remove each copy first
        for one in $(jq -r --arg s "$sid" '.[] | select(.Sid == $s) | .Sid' <<<"$stmts"); do
            change delete "permission $one (stale)" lambda remove-permission --function-name "$FN" --qualifier live \
                --statement-id "$one" >/dev/null
        done
        if [ "$sid" = "$url_sid" ]; then
            change create "permission $sid: only $role may call the function URL" lambda add-permission --function-name "$FN" \
                --qualifier live --statement-id "$sid" --action lambda:InvokeFunctionUrl --principal "$role" \
                --function-url-auth-type AWS_IAM >/dev/null
        else
            change create "permission $sid: $role may invoke through the function URL" lambda add-permission \
                --function-name "$FN" --qualifier live --statement-id "$sid" --action lambda:InvokeFunction --principal "$role" \
                --invoked-via-function-url >/dev/null
        fi
    done
    for one in $(jq -r --arg a "$url_sid" --arg b "$invoke_sid" '.[] | select(.Sid != $a and .Sid != $b)
            | select(.Action == "lambda:InvokeFunctionUrl" or .ViaUrl == "true" or .Principal == "*") | .Sid' <<<"$stmts"); do
        change delete "permission $one (grants the function URL to another principal)" lambda remove-permission \
            --function-name "$FN" --qualifier live --statement-id "$one" >/dev/null
    done
}

furl_concurrency() {
    local have=""
    [ "${FN_NEW:-0}" = 1 ] && plan || have=$(aws_ lambda get-function-concurrency --function-name "$FN" | jq -r '.ReservedConcurrentExecutions // empty')
    if [ "$have" = "$RESERVED_CONCURRENCY" ]; then
        keep "reserved concurrency $have"
        return 0
    fi
    change "$([ -n "$have" ] && echo update || echo create)" "reserved concurrency ${have:+$have -> }$RESERVED_CONCURRENCY" \
        lambda put-function-concurrency --function-name "$FN" --reserved-concurrent-executions "$RESERVED_CONCURRENCY" >/dev/null
}

# ORIGIN=apigw (or MODE=direct), and destroy: the function URL, the edge role's statements and the reserved
# concurrency go; the function stays.
destroy_furl() {
    local out stmts one
    FN=$(fn_name)
    out=$(aws_find ResourceNotFoundException lambda get-function --function-name "$FN")
    [ -n "$out" ] || return 0
    [ "$(jq -r '.Tags["nearjs:stack"] // empty' <<<"$out")" = "$STACK" ] || return 0
    out=$(aws_find ResourceNotFoundException lambda get-function-url-config --function-name "$FN" --qualifier live)
    if [ -n "$out" ]; then
        change delete "function URL $FN:live ($(jq -r .FunctionUrl <<<"$out"))" lambda delete-function-url-config \
            --function-name "$FN" --qualifier live >/dev/null
    fi
    stmts=$(FN_NEW=0 furl_statements)
    for one in $(furl_sids); do
        jq -e --arg s "$one" 'any(.[]; .Sid == $s)' <<<"$stmts" >/dev/null || continue
        change delete "permission $one" lambda remove-permission --function-name "$FN" --qualifier live --statement-id "$one" >/dev/null
    done
    if [ -n "$(aws_ lambda get-function-concurrency --function-name "$FN" | jq -r '.ReservedConcurrentExecutions // empty')" ]; then
        change delete "reserved concurrency" lambda delete-function-concurrency --function-name "$FN" >/dev/null
    fi
}
step_furl_gone() { destroy_furl; }
destroy_furl_gone() { destroy_furl; }

# ORIGIN=url: what ORIGIN=apigw made in this region goes (the regional record, every custom domain of the
# stack with its mappings, fast.$DOMAIN's too if MODE=direct left it, then the certificates, which a domain
# no longer holds, the HTTP API and its permission on the function), once the fleet has moved.
apigw_gone() {
    local name
    destroy_regional_dns
    for name in $(aws_ apigatewayv2 get-domain-names | jq -r --arg s "$STACK" '.Items[] | select(.Tags["nearjs:stack"] == $s) | .DomainName'); do
        domain_delete "$name" "no custom domain with ORIGIN=url"
    done
    destroy_cert
    destroy_api
}
step_apigw_gone() {
    local stmts
    apigw_gone
    FN=$(fn_name)
    stmts=$(furl_statements)
    if jq -e --arg s "$STACK-apigateway" 'any(.[]; .Sid == $s)' <<<"$stmts" >/dev/null; then
        change delete "permission $STACK-apigateway (no HTTP API with ORIGIN=url)" lambda remove-permission \
            --function-name "$FN" --qualifier live --statement-id "$STACK-apigateway" >/dev/null
    fi
}
destroy_apigw_gone() { apigw_gone; }

# fleet_origin_hosts ORDER...: "region=host ..." of the function URLs of these regions, for the user data.
# This region's comes from step_furl; another's is read in that region, waiting (ORIGIN_WAIT seconds) for
# its own deploy, running at the same time, to make it. A plan gives $PLANNED for a URL not made yet.
fleet_origin_hosts() {
    local r host out waited
    for r in "$@"; do
        if [ "$r" = "$REGION" ]; then
            host=$FURL_HOST
        else
            waited=0
            while :; do
                out=$(REGION=$r RUN_DIR=$RUN_DIR/xr.$REGION origin_read_url)
                [ -z "$out" ] || break
                if plan; then out=$PLANNED; break; fi
                [ "$waited" -lt "$ORIGIN_WAIT" ] || refuse "region $r has no function URL $(fn_name):live after ${ORIGIN_WAIT} s (did its deploy fail? its summary line says)"
                sleep 2
                waited=$((waited + 2))
            done
            host=$out
        fi
        printf '%s=%s ' "$r" "$host"
    done
}

# The host of REGION's function URL, or nothing (run in a subshell with its own RUN_DIR: the error files
# of another region's read must not touch this region's).
origin_read_url() {
    mkdir -p "$RUN_DIR"
    aws_find ResourceNotFoundException lambda get-function-url-config --function-name "$(fn_name)" --qualifier live |
        jq -r '.FunctionUrl // empty | ltrimstr("https://") | rtrimstr("/")'
}
