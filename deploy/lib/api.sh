# deploy/lib/api.sh: step `api`. The HTTP API (found by name and stack tag: API names are not unique),
# one AWS_PROXY integration (payload 2.0) on the function's `live` alias, the `$default` route to it,
# the auto-deployed `$default` stage with the throttling from the settings, and the one permission
# that lets this API invoke the alias. moto accepts duplicate routes, stages and permission Sids, so
# everything is looked up before it is made. A stage whose settings differ is updated in place
# (UpdateStage: only the members given change), never deleted and made again, which would leave the API
# without a stage, so answering 404, in between.
# Needs FN, FN_ALIAS_ARN. Sets API_ID, API_ENDPOINT.

step_api() {
    local out integ="" route stage want_stage sid src pol
    API_ID=$PLANNED
    out=$(aws_ apigatewayv2 get-apis | jq -c --arg n "$(api_name)" --arg s "$STACK" \
        '[.Items[] | select(.Name == $n and .Tags["nearjs:stack"] == $s)] | first // empty')
    if [ -z "$out" ]; then
        # No default execute-api URL: it would bypass the edge's request checks and limits.
        out=$(change create "HTTP API $(api_name)" apigatewayv2 create-api --name "$(api_name)" --protocol-type HTTP \
            --disable-execute-api-endpoint --tags "$(tag_kv)")
        [ -z "$out" ] || API_ID=$(jq -r .ApiId <<<"$out")
    else
        API_ID=$(jq -r .ApiId <<<"$out")
        keep "HTTP API $(api_name) ($API_ID)"
        [ "$(jq -r '.DisableExecuteApiEndpoint // false' <<<"$out")" = true ] ||
            change update "HTTP API $(api_name): default execute-api endpoint off" apigatewayv2 update-api --api-id "$API_ID" \
                --disable-execute-api-endpoint >/dev/null
    fi
    if [ "$API_ID" != "$PLANNED" ]; then
        integ=$(aws_ apigatewayv2 get-integrations --api-id "$API_ID" | jq -r --arg u "$FN_ALIAS_ARN" \
            '[.Items[] | select(.IntegrationType == "AWS_PROXY" and .IntegrationUri == $u and .PayloadFormatVersion == "2.0")
              | .IntegrationId] | first // empty')
    fi
    if [ -z "$integ" ]; then
        out=$(change create "integration AWS_PROXY 2.0 -> $FN:live" apigatewayv2 create-integration --api-id "$API_ID" \
            --integration-type AWS_PROXY --integration-uri "$FN_ALIAS_ARN" --payload-format-version 2.0)
        integ=$PLANNED
        [ -z "$out" ] || integ=$(jq -r .IntegrationId <<<"$out")
    else
        keep "integration $integ"
    fi
    api_route "$integ"
    api_stage
    api_permission
}

api_route() { # integration id
    local routes route
    routes='{"Items":[]}'
    [ "$API_ID" = "$PLANNED" ] || routes=$(aws_ apigatewayv2 get-routes --api-id "$API_ID")
    route=$(jq -c '[.Items[] | select(.RouteKey == "$default")] | first // empty' <<<"$routes")
    if [ -z "$route" ]; then
        change create "route \$default -> integrations/$1" apigatewayv2 create-route --api-id "$API_ID" \
            --route-key '$default' --target "integrations/$1" >/dev/null
    elif [ "$(jq -r .Target <<<"$route")" != "integrations/$1" ]; then
        change update "route \$default -> integrations/$1" apigatewayv2 update-route --api-id "$API_ID" \
            --route-id "$(jq -r .RouteId <<<"$route")" --target "integrations/$1" >/dev/null
    else
        keep "route \$default"
    fi
}

api_stage() {
    local stage='' settings="ThrottlingBurstLimit=$THROTTLE_BURST,ThrottlingRateLimit=$THROTTLE_RATE"
    [ "$API_ID" = "$PLANNED" ] || stage=$(aws_ apigatewayv2 get-stages --api-id "$API_ID" |
        jq -c '[.Items[] | select(.StageName == "$default")] | first // empty')
    api_access_log_group
    if [ -n "$stage" ]; then
        if jq -e --argjson b "$THROTTLE_BURST" --argjson r "$THROTTLE_RATE" --argjson l "$(api_access_log_settings)" \
            '.AutoDeploy == true and .DefaultRouteSettings.ThrottlingBurstLimit == $b
             and (.DefaultRouteSettings.ThrottlingRateLimit | tonumber) == $r and .AccessLogSettings == $l' <<<"$stage" >/dev/null; then
            keep "stage \$default"
            return 0
        fi
        change update "stage \$default (auto-deploy, $THROTTLE_RATE/s, burst $THROTTLE_BURST)" apigatewayv2 update-stage \
            --api-id "$API_ID" --stage-name '$default' --auto-deploy --default-route-settings "$settings" >/dev/null
        return 0
    fi
    change create "stage \$default (auto-deploy, $THROTTLE_RATE/s, burst $THROTTLE_BURST)" apigatewayv2 create-stage \
        --api-id "$API_ID" --stage-name '$default' --auto-deploy --default-route-settings "$settings" \
        --access-log-settings "$(api_access_log_settings)" --tags "$(tag_kv)" >/dev/null
}

# One statement, Sid "<stack>-apigateway", letting this API (any stage, any route) invoke the alias.
api_permission() {
    local sid="$STACK-apigateway" src pol have one
    src="arn:aws:execute-api:$REGION:$ACCOUNT:$API_ID/*/*"
    pol=""
    # One policy serves the function and all its versions and aliases: a planned new version still has it.
    [ "$FN_NEW" = 1 ] && plan || pol=$(aws_find ResourceNotFoundException lambda get-policy --function-name "$FN" --qualifier live)
    [ -n "$pol" ] || pol='{}'
    have=$(jq -r --arg sid "$sid" '.Policy // "{}" | fromjson | [.Statement // [] | .[] | select(.Sid == $sid)
        | .Condition.ArnLike["AWS:SourceArn"]] | map(tostring) | join(" ")' <<<"$pol")
    if [ "$have" = "$src" ]; then
        keep "permission $sid"
        return 0
    fi
    if [ -n "$have" ]; then
        # Stale (another API id) or duplicated (moto accepts duplicate Sids): remove each copy.
        for one in $have; do
            change delete "permission $sid ($one)" lambda remove-permission --function-name "$FN" --qualifier live \
                --statement-id "$sid" >/dev/null
        done
    fi
    change create "permission $sid: API $API_ID may invoke $FN:live" lambda add-permission --function-name "$FN" \
        --qualifier live --statement-id "$sid" --action lambda:InvokeFunction --principal apigateway.amazonaws.com \
        --source-arn "$src" >/dev/null
}

destroy_api() {
    local id
    for id in $(aws_ apigatewayv2 get-apis | jq -r --arg n "$(api_name)" --arg s "$STACK" \
        '.Items[] | select(.Name == $n and .Tags["nearjs:stack"] == $s) | .ApiId'); do
        change delete "HTTP API $(api_name) ($id)" apigatewayv2 delete-api --api-id "$id" >/dev/null
    done
    destroy_api_access_logs
}

# Access logs of the $default stage (issue 18): one JSON line per request (request id, source IP, time,
# method, route, status, latencies, the integration's status and error) into a log group of its own,
# kept LOG_RETENTION_DAYS (30) days; destroy removes it. The /aws/vendedlogs/ prefix keeps CloudWatch
# Logs' resource policy for API Gateway's log delivery small.
api_access_log_name() { printf '/aws/vendedlogs/nearjs/%s/api-access' "$STACK"; }
api_access_log_settings() {
    jq -cn --arg d "arn:aws:logs:$REGION:$ACCOUNT:log-group:$(api_access_log_name)" '{DestinationArn: $d,
        Format: ({requestId: "$context.requestId", ip: "$context.identity.sourceIp", time: "$context.requestTime",
                  method: "$context.httpMethod", path: "$context.path", route: "$context.routeKey", status: "$context.status",
                  protocol: "$context.protocol", bytes: "$context.responseLength", latency: "$context.responseLatency",
                  domain: "$context.domainName", integrationStatus: "$context.integration.status",
                  integrationLatency: "$context.integration.latency", integrationError: "$context.integration.error",
                  error: "$context.error.message"} | tojson)}'
}

api_access_log_group() {
    local name out days=${LOG_RETENTION_DAYS:-30}
    name=$(api_access_log_name)
    out=$(aws_ logs describe-log-groups --log-group-name-prefix "$name" | jq -c --arg n "$name" '[.logGroups[] | select(.logGroupName == $n)] | first // empty')
    if [ -z "$out" ]; then
        change create "log group $name (API access logs)" logs create-log-group --log-group-name "$name" \
            --tags "nearjs:stack=$STACK" >/dev/null
    fi
    [ "$(jq -r '.retentionInDays // empty' <<<"${out:-{\}}")" = "$days" ] ||
        change "$([ -n "$out" ] && echo update || echo create)" "log group $name retention $days days" logs put-retention-policy \
            --log-group-name "$name" --retention-in-days "$days" >/dev/null
}

destroy_api_access_logs() {
    local name
    name=$(api_access_log_name)
    [ -n "$(aws_ logs describe-log-groups --log-group-name-prefix "$name" | jq -r --arg n "$name" '.logGroups[] | select(.logGroupName == $n) | .logGroupName')" ] || return 0
    change delete "log group $name" logs delete-log-group --log-group-name "$name" >/dev/null
}
