# deploy/lib/logs.sh: step `logs`. The function's CloudWatch log group, /aws/lambda/<function>, made by
# deploy before the function (Lambda would otherwise make it on the first invocation, with no retention:
# logs kept, and billed, forever), with LOG_RETENTION_DAYS retention and the stack tag; destroy deletes
# it after the function. A group Lambda made earlier (no tag) is adopted: retention set, tag added.
# CloudWatch Logs API reference: CreateLogGroup, PutRetentionPolicy (retentionInDays from a fixed list),
# DeleteLogGroup; the deploying user needs logs:CreateLogGroup, PutRetentionPolicy, TagResource,
# DescribeLogGroups, ListTagsForResource and DeleteLogGroup on it.

log_group() { printf '/aws/lambda/%s' "$(fn_name)"; }

log_group_find() { # the group's JSON, or nothing
    aws_ logs describe-log-groups --log-group-name-prefix "$(log_group)" |
        jq -c --arg n "$(log_group)" '[.logGroups[] | select(.logGroupName == $n)] | first // empty'
}

log_group_arn() { printf 'arn:aws:logs:%s:%s:log-group:%s' "$REGION" "$ACCOUNT" "$(log_group)"; }

log_group_ours() { # 0 when the group carries this stack's tag
    aws_ logs list-tags-for-resource --resource-arn "$(log_group_arn)" |
        jq -e --arg s "$STACK" '.tags["nearjs:stack"] == $s' >/dev/null
}

step_logs() {
    local g have
    g=$(log_group_find)
    if [ -z "$g" ]; then
        change create "log group $(log_group) ($LOG_RETENTION_DAYS days)" logs create-log-group \
            --log-group-name "$(log_group)" --tags "$(tag_kv)" >/dev/null
        change create "log group $(log_group) retention $LOG_RETENTION_DAYS days" logs put-retention-policy \
            --log-group-name "$(log_group)" --retention-in-days "$LOG_RETENTION_DAYS" >/dev/null
        return 0
    fi
    have=$(jq -r '.retentionInDays // "never"' <<<"$g")
    if [ "$have" = "$LOG_RETENTION_DAYS" ]; then
        keep "log group $(log_group) ($LOG_RETENTION_DAYS days)" # ours: made or adopted with this retention
        return 0
    fi
    if ! log_group_ours; then
        change update "log group $(log_group): stack tag (made by Lambda before)" logs tag-resource \
            --resource-arn "$(log_group_arn)" --tags "$(tag_kv)" >/dev/null
    fi
    change update "log group $(log_group) retention $have -> $LOG_RETENTION_DAYS days" logs put-retention-policy \
        --log-group-name "$(log_group)" --retention-in-days "$LOG_RETENTION_DAYS" >/dev/null
}

destroy_logs() {
    [ -n "$(log_group_find)" ] || return 0
    log_group_ours || { log "leaving log group $(log_group): not tagged nearjs:stack=$STACK"; return 0; }
    change delete "log group $(log_group)" logs delete-log-group --log-group-name "$(log_group)" >/dev/null
}
