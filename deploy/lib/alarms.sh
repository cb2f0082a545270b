# deploy/lib/alarms.sh: step `alarms` (per region, after every other step) and the stack's dashboard
# (once, after all regions), removed by destroy. Issue 19.
# Per region: SNS topic <stack>-alarms (ALARM_EMAIL, when set, subscribed to it: AWS mails a confirmation
# link first) and CloudWatch alarms notifying it:
#   <stack>-<region>-fn-errors, -fn-throttles   AWS/Lambda Errors, Throttles of the function (Sum > 0 a minute)
#   <stack>-<region>-api-5xx                    AWS/ApiGateway 5xx of the HTTP API (Sum > 0 a minute), or with
#                                               ORIGIN=url -url-5xx: AWS/Lambda Url5xxCount of the function URL
#   <stack>-<region>-health-<id>                AWS/Route53 HealthCheckStatus < 1, one per health check of the
#                                               region (direct: <region>-fast; edge: one per instance)
# Route53 publishes health check metrics in us-east-1 only, so the health alarms live there and notify
# us-east-1's <stack>-alarms topic. Alarms are compared field by field (describe-alarms) and only put when
# they differ; our alarms no longer wanted (an edge instance replaced) are deleted.
# The dashboard <stack> (CloudWatch dashboards are global; its API is called in us-east-1): per region,
# requests, p50/p99 latency of the gateway (ORIGIN=url: the function URL) and the function, errors, and
# the health of its checks.

origin_is_url() { [ "$MODE" = edge ] && [ "${ORIGIN:-}" = url ]; }

ALARM_HOME=us-east-1 # where Route53's metrics, the health alarms and the dashboard live

alarms_settings_check() {
    : "${ALARM_EMAIL:=}"
    [[ -z $ALARM_EMAIL || $ALARM_EMAIL =~ ^[^@[:space:],]+@[^@[:space:],]+\.[^@[:space:],]+$ ]] ||
        bad ALARM_EMAIL "$ALARM_EMAIL" "want one e-mail address (or empty: no subscription)"
}

topic_name() { printf '%s-alarms' "$STACK"; }
topic_arn() { printf 'arn:aws:sns:%s:%s:%s' "$1" "$ACCOUNT" "$(topic_name)"; }
dashboard_name() { printf '%s' "$STACK"; }
dashboard_url() {
    printf 'https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards/dashboard/%s\n' \
        "$ALARM_HOME" "$ALARM_HOME" "$(dashboard_name)"
}

# in_region R FN ARGS...: FN with its AWS calls made in region R (us-east-1's alarms from another
# region's step); its notes and errors still count for the calling region.
in_region() {
    local AWS_CALL_REGION=$1
    shift
    "$@"
}

# The health checks of REGION (this stack's): direct mode's on <region>-fast.$DOMAIN (found by its
# configuration, as dns.sh's health_find does), edge mode's one per instance (CallerReference
# <stack>/<region>/<instance>). JSON [{Id, What}].
ops_health_checks() { # [list-health-checks answer]
    local all=${1:-}
    [ -n "$all" ] || all=$(aws_ route53 list-health-checks)
    jq -c --arg f "$(regional_name "$REGION")" --arg p "$HEALTH_PATH" --arg ref "$STACK/$REGION/" --arg mode "$MODE" '[.HealthChecks[]
        | if $mode == "direct" and (.HealthCheckConfig | .Type == "HTTPS" and .FullyQualifiedDomainName == $f and .ResourcePath == $p)
          then {Id, What: ("https://" + $f + $p)}
          elif $mode == "edge" and (.CallerReference | startswith($ref)) then {Id, What: ("edge " + (.CallerReference | ltrimstr($ref)))}
          else empty end] | sort_by(.Id)' <<<"$all"
}

# The alarms this region wants, as put-metric-alarm input (--cli-input-json), each with its region.
alarms_want() {
    local hcs=$1
    jq -cn --arg s "$STACK" --arg r "$REGION" --arg fn "$(fn_name)" --arg api "${API_ID:-}" --arg home "$ALARM_HOME" \
        --argjson url "$(origin_is_url && echo true || echo false)" \
        --arg topic "$(topic_arn "$REGION")" --arg htopic "$(topic_arn "$ALARM_HOME")" --argjson hcs "$hcs" '
        def alarm($name; $ns; $metric; $dims; $stat; $op; $thr; $topic):
            {AlarmName: ($s + "-" + $r + "-" + $name), Namespace: $ns, MetricName: $metric,
             Dimensions: ($dims | to_entries | map({Name: .key, Value: .value})), Statistic: $stat, Period: 60,
             EvaluationPeriods: 1, Threshold: $thr, ComparisonOperator: $op, TreatMissingData: "notBreaching",
             AlarmActions: [$topic], OKActions: [$topic], Tags: [{Key: "nearjs:stack", Value: $s}]};
        [ (alarm("fn-errors"; "AWS/Lambda"; "Errors"; {FunctionName: $fn}; "Sum"; "GreaterThanThreshold"; 0; $topic) + {region: $r}),
          (alarm("fn-throttles"; "AWS/Lambda"; "Throttles"; {FunctionName: $fn}; "Sum"; "GreaterThanThreshold"; 0; $topic) + {region: $r}),
          (if $url then alarm("url-5xx"; "AWS/Lambda"; "Url5xxCount"; {FunctionName: $fn, Resource: ($fn + ":live")};
                              "Sum"; "GreaterThanThreshold"; 0; $topic)
           else alarm("api-5xx"; "AWS/ApiGateway"; "5xx"; {ApiId: $api}; "Sum"; "GreaterThanThreshold"; 0; $topic) end
           + {region: $r}),
          ($hcs[] | alarm("health-" + .Id; "AWS/Route53"; "HealthCheckStatus"; {HealthCheckId: .Id}; "Minimum";
                          "LessThanThreshold"; 1; $htopic) + {region: $home, AlarmDescription: .What}) ]'
}

# An alarm as compared: the fields we set, as describe-alarms gives them back.
ALARM_NORM='def alarm_norm: {AlarmName, Namespace, MetricName, Dimensions: (.Dimensions | sort_by(.Name)), Statistic,
    Period, EvaluationPeriods, Threshold: (.Threshold | tonumber), ComparisonOperator, TreatMissingData,
    AlarmActions, OKActions, AlarmDescription: (.AlarmDescription // "")};'

alarms_have() { # region: our alarms there, normalised, as {name: alarm}
    aws_ cloudwatch describe-alarms --alarm-name-prefix "$STACK-$1-" |
        jq -c "$ALARM_NORM"' [.MetricAlarms[] | alarm_norm] | map({(.AlarmName): .}) | add // {}'
}

alarms_topic() { # ensures the topic of the region called (and, with ALARM_EMAIL, the subscription)
    local arn subs r=${AWS_CALL_REGION:-$REGION}
    arn=$(topic_arn "$r")
    if aws_ sns list-topics | jq -e --arg a "$arn" 'any(.Topics[]; .TopicArn == $a)' >/dev/null; then
        keep "topic $(topic_name) ($r)"
    else
        change create "topic $(topic_name) ($r)" sns create-topic --name "$(topic_name)" \
            --tags "Key=nearjs:stack,Value=$STACK" >/dev/null
    fi
    [ -n "$ALARM_EMAIL" ] || return 0
    subs='{"Subscriptions":[]}'
    plan && [ "$(grep -c "^create topic $(topic_name) ($r)" "$RUN_DIR/notes.$REGION")" != 0 ] ||
        subs=$(aws_ sns list-subscriptions-by-topic --topic-arn "$arn")
    if jq -e --arg e "$ALARM_EMAIL" 'any(.Subscriptions[]; .Protocol == "email" and .Endpoint == $e)' <<<"$subs" >/dev/null; then
        keep "subscription $ALARM_EMAIL ($r)"
    else
        change create "subscription $ALARM_EMAIL to $(topic_name) ($r; AWS mails a confirmation link)" sns subscribe \
            --topic-arn "$arn" --protocol email --notification-endpoint "$ALARM_EMAIL" >/dev/null
    fi
}

alarms_put() { # region want-json (an array of this region's wanted alarms there)
    local r=$1 want=$2 have one name
    have=$(alarms_have "$r")
    while IFS= read -r one; do
        [ -n "$one" ] || continue
        name=$(jq -r .AlarmName <<<"$one")
        if jq -e --argjson h "$have" --arg n "$name" "$ALARM_NORM"' (alarm_norm) == ($h[$n] // null)' <<<"$one" >/dev/null; then
            keep "alarm $name"
        else
            change "$(jq -r --arg n "$name" 'if has($n) then "update" else "create" end' <<<"$have")" "alarm $name" \
                cloudwatch put-metric-alarm --cli-input-json "$(jq -c 'del(.region)' <<<"$one")" >/dev/null
        fi
    done < <(jq -c '.[]' <<<"$want")
    # ours no longer wanted (e.g. the health check of a replaced edge instance)
    for name in $(jq -r --argjson w "$want" 'keys[] | select(. as $n | $w | all(.AlarmName != $n))' <<<"$have"); do
        change delete "alarm $name (no longer wanted)" cloudwatch delete-alarms --alarm-names "$name" >/dev/null
    done
}

step_alarms() {
    local hcs want
    hcs=$(ops_health_checks)
    want=$(alarms_want "$hcs")
    alarms_topic
    [ "$REGION" = "$ALARM_HOME" ] || in_region "$ALARM_HOME" alarms_topic
    alarms_put "$REGION" "$(jq -c --arg r "$REGION" 'map(select(.region == $r))' <<<"$want")"
    [ "$REGION" = "$ALARM_HOME" ] ||
        in_region "$ALARM_HOME" alarms_put "$REGION" "$(jq -c --arg r "$ALARM_HOME" 'map(select(.region == $r))' <<<"$want")"
}

alarms_delete_all() { # region: our alarms named for REGION, in the current REGION
    local names
    names=$(aws_ cloudwatch describe-alarms --alarm-name-prefix "$STACK-$1-" | jq -r '[.MetricAlarms[].AlarmName] | join(" ")')
    [ -z "$names" ] || change delete "alarms $names" cloudwatch delete-alarms --alarm-names $names >/dev/null
}

destroy_alarms() {
    alarms_delete_all "$REGION"
    [ "$REGION" = "$ALARM_HOME" ] || in_region "$ALARM_HOME" alarms_delete_all "$REGION"
    # us-east-1's topic serves every region's health alarms: it goes in alarms_destroy_shared.
    [ "$REGION" = "$ALARM_HOME" ] || topic_delete
}

topic_delete() {
    local arn sub
    arn=$(topic_arn "${AWS_CALL_REGION:-$REGION}")
    aws_ sns list-topics | jq -e --arg a "$arn" 'any(.Topics[]; .TopicArn == $a)' >/dev/null || return 0
    for sub in $(aws_ sns list-subscriptions-by-topic --topic-arn "$arn" | jq -r '.Subscriptions[].SubscriptionArn | select(startswith("arn:"))'); do
        change delete "subscription $sub" sns unsubscribe --subscription-arn "$sub" >/dev/null
    done
    change delete "topic $(topic_name) ($REGION)" sns delete-topic --topic-arn "$arn" >/dev/null
}

# After destroy (once): us-east-1's topic when no alarm of the stack is left there, and the dashboard.
alarms_destroy_shared() {
    REGION=$ALARM_HOME
    : >>"$RUN_DIR/notes.$REGION"
    if [ "$(aws_ cloudwatch describe-alarms --alarm-name-prefix "$STACK-" | jq '.MetricAlarms | length')" = 0 ]; then
        topic_delete 2>&1 | sed -u "s/^/[$REGION] /"
    fi
    if aws_find 'ResourceNotFound|DashboardNotFound|does not exist' cloudwatch get-dashboard --dashboard-name "$(dashboard_name)" |
        grep -q .; then
        change delete "dashboard $(dashboard_name)" cloudwatch delete-dashboards --dashboard-names "$(dashboard_name)" 2>&1 >/dev/null |
            sed -u "s/^/[$REGION] /"
    fi
}

# The dashboard's body for REGION_LIST: one row of four widgets per region.
dashboard_body() {
    local r y=0 api hcs all rows=()
    all=$(aws_ route53 list-health-checks)
    for r in "${REGION_LIST[@]}"; do
        api=""
        origin_is_url || api=$(REGION=$r aws_ apigatewayv2 get-apis | jq -r --arg n "$(api_name)" --arg s "$STACK" \
            '[.Items[] | select(.Name == $n and .Tags["nearjs:stack"] == $s) | .ApiId] | first // ""')
        hcs=$(REGION=$r ops_health_checks "$all")
        rows+=("$(jq -cn --arg r "$r" --arg fn "$(fn_name)" --arg api "$api" --argjson y "$y" --argjson hcs "$hcs" \
            --arg home "$ALARM_HOME" --argjson url "$(origin_is_url && echo true || echo false)" '
            def w($x; $title; $region; $stat; $metrics): {type: "metric", x: $x, y: $y, width: 6, height: 6,
                properties: {title: ($r + ": " + $title), region: $region, stat: $stat, period: 60, view: "timeSeries",
                             metrics: $metrics}};
            # the origin the edges (or browsers) reach: the HTTP API, or with ORIGIN=url the function URL
            (if $url then ["AWS/Lambda", "UrlRequestCount", "FunctionName", $fn, "Resource", ($fn + ":live")]
             else ["AWS/ApiGateway", "Count", "ApiId", $api] end) as $count
            | (if $url then ["AWS/Lambda", "UrlRequestLatency", "FunctionName", $fn, "Resource", ($fn + ":live")]
               else ["AWS/ApiGateway", "Latency", "ApiId", $api] end) as $lat
            | (if $url then ["AWS/Lambda", "Url5xxCount", "FunctionName", $fn, "Resource", ($fn + ":live")]
               else ["AWS/ApiGateway", "5xx", "ApiId", $api] end) as $e5xx
            | [ w(0; "requests"; $r; "Sum"; [$count + [{label: "gateway requests"}],
                                            ["AWS/Lambda", "Invocations", "FunctionName", $fn, {label: "function invocations"}]]),
              w(6; "latency p50 / p99 (ms)"; $r; "p50";
                [$lat + [{stat: "p50", label: "gateway p50"}],
                 $lat + [{stat: "p99", label: "gateway p99"}],
                 ["AWS/Lambda", "Duration", "FunctionName", $fn, {stat: "p50", label: "function p50"}],
                 ["AWS/Lambda", "Duration", "FunctionName", $fn, {stat: "p99", label: "function p99"}]]),
              w(12; "errors"; $r; "Sum"; [["AWS/Lambda", "Errors", "FunctionName", $fn, {label: "function errors"}],
                                          ["AWS/Lambda", "Throttles", "FunctionName", $fn, {label: "throttles"}],
                                          $e5xx + [{label: "gateway 5xx"}]]),
              w(18; "health checks (1 healthy)"; $home; "Minimum";
                [$hcs[] | ["AWS/Route53", "HealthCheckStatus", "HealthCheckId", .Id, {label: .What}]]) ]')")
        y=$((y + 6))
    done
    printf '%s\n' "${rows[@]}" | jq -cs '{widgets: add}'
}

# After deploy (once): the dashboard, put only when its body differs.
dashboard_deploy() {
    local body have
    REGION=$ALARM_HOME
    : >>"$RUN_DIR/notes.$REGION"
    body=$(dashboard_body)
    have=$(aws_find 'ResourceNotFound|DashboardNotFound|does not exist' cloudwatch get-dashboard \
        --dashboard-name "$(dashboard_name)" | jq -c '.DashboardBody // empty | fromjson')
    if [ -n "$have" ] && [ "$(jq -S . <<<"$have")" = "$(jq -S . <<<"$body")" ]; then
        log "[$REGION] dashboard $(dashboard_name) unchanged: $(dashboard_url)"
        return 0
    fi
    change "$([ -n "$have" ] && echo update || echo create)" "dashboard $(dashboard_name): $(dashboard_url)" \
        cloudwatch put-dashboard --dashboard-name "$(dashboard_name)" --dashboard-body "$body" 2>&1 >/dev/null |
        sed -u "s/^/[$REGION] /"
    return "${PIPESTATUS[0]}"
}

# Called once the mode is loaded: the steps and after-hooks this file (and status.sh's record) add.
ops_register() {
    MODE_STEPS+=(alarms deploy_record)
    MODE_AFTER_DEPLOY+=(dashboard_deploy)
    MODE_AFTER_DESTROY+=(alarms_destroy_shared)
}
