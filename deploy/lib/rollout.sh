# deploy/lib/rollout.sh: the staged rollout, `make deploy`'s default (ROLLOUT=staged; issue 19).
# CANARY_REGION (default: the first of REGIONS) deploys alone first. When it changed anything, it is then
# verified from outside, as a visitor would see it:
#   - HEALTH_PATH and SMOKE_PATH (default: the first published script) over TLS through the region's
#     gateway name <region>-fast.$DOMAIN and, in edge mode, through one of its edges (fast.$DOMAIN at that
#     instance's Elastic IP): each must answer 200 with X-Nearjs-Region: <region> (but the edge answers
#     /healthz itself, from its own view of its gateways: there only the 200 is wanted). With ORIGIN=url
#     there is no gateway name (the function URL takes only the edges' signed requests): the edge alone;
#   - over BAKE_SECONDS, the Errors metric of the new version (AWS/Lambda, FunctionName, Resource
#     <fn>:live, ExecutedVersion) must stay at 0.
# Only then do the other regions deploy, in parallel. A canary that fails gets its `live` alias back on
# the version it had (nothing else in it is undone: the old version serves through the same API); the
# other regions are not touched; one line names the check and what it saw; exit 1.
# CANARY_WEIGHT=N (1-99): in the canary region the alias first keeps the old version and sends N% to the
# new one (Lambda's alias routing configuration) for the checks and the bake, then all of it.
# ROLLOUT=all-at-once: every region at once, no verification (the behaviour before issue 19).
# Test-only knobs, usable against AWS too: CANARY_PORT (443), CANARY_RESOLVE=name=addr,... (curl's
# --resolve for the gateway names), CANARY_CACERT=file (curl's --cacert).

rollout_settings_check() {
    : "${ROLLOUT:=staged}" "${CANARY_REGION:=}" "${SMOKE_PATH:=}" "${BAKE_SECONDS:=60}" "${CANARY_WEIGHT:=}"
    : "${CANARY_PORT:=443}" "${CANARY_RESOLVE:=}" "${CANARY_CACERT:=}"
    case "$VERB" in deploy | plan) ;; *) return 0 ;; esac
    case "$ROLLOUT" in staged | all-at-once) ;; *) bad ROLLOUT "$ROLLOUT" "want staged or all-at-once" ;; esac
    [ -n "$CANARY_REGION" ] || CANARY_REGION=${REGION_LIST[0]}
    case " ${REGION_LIST[*]} " in
    *" $CANARY_REGION "*) ;;
    *) bad CANARY_REGION "$CANARY_REGION" "not one of REGIONS (${REGION_LIST[*]})" ;;
    esac
    is_uint "$BAKE_SECONDS" || bad BAKE_SECONDS "$BAKE_SECONDS" "want seconds (0: check the metric once)"
    [ -z "$CANARY_WEIGHT" ] || { is_uint "$CANARY_WEIGHT" && [ "$CANARY_WEIGHT" -ge 1 ] && [ "$CANARY_WEIGHT" -le 99 ]; } ||
        bad CANARY_WEIGHT "$CANARY_WEIGHT" "want a percentage 1-99 (or empty: all traffic at once)"
    [[ -z $SMOKE_PATH || $SMOKE_PATH =~ ^/[A-Za-z0-9/_.~%-]*$ ]] || bad SMOKE_PATH "$SMOKE_PATH" "want an absolute path such as /acme/main.js"
    is_uint "$CANARY_PORT" && [ "$CANARY_PORT" -ge 1 ] && [ "$CANARY_PORT" -le 65535 ] || bad CANARY_PORT "$CANARY_PORT" "want a port"
    [ -z "$CANARY_CACERT" ] || [ -r "$CANARY_CACERT" ] || bad CANARY_CACERT "$CANARY_CACERT" "not readable"
    local e
    for e in ${CANARY_RESOLVE//,/ }; do
        [[ $e =~ ^[a-z0-9.-]+=[0-9a-fA-F.:]+$ ]] || bad CANARY_RESOLVE "$CANARY_RESOLVE" "want name=address,... (e.g. us-east-1-fast.example.com=127.0.0.1)"
    done
}

# fn_move_live ALIAS_JSON OLD NEW (function.sh): points `live` at NEW. In the canary region of a staged
# rollout with CANARY_WEIGHT, only that share goes to NEW for now (rollout_promote finishes the move).
# Records "OLD NEW" in $RUN_DIR/live.$REGION for the canary's rollback.
fn_move_live() {
    local alias=$1 old=$2 new=$3
    if [ -z "$alias" ]; then
        change create "alias live -> $new" lambda create-alias --function-name "$FN" --name live --function-version "$new" >/dev/null
    elif rollout_weighted; then
        change update "alias live $old (+ $CANARY_WEIGHT% to $new)" lambda update-alias --function-name "$FN" --name live \
            --function-version "$old" --routing-config "$(jq -cn --arg v "$new" --argjson w "$CANARY_WEIGHT" \
            '{AdditionalVersionWeights: {($v): ($w / 100)}}')" >/dev/null
    else
        change update "alias live $old -> $new" lambda update-alias --function-name "$FN" --name live --function-version "$new" \
            --routing-config '{"AdditionalVersionWeights":{}}' >/dev/null
    fi
    printf '%s %s\n' "${old:--}" "$new" >"$RUN_DIR/live.$REGION"
}

rollout_weighted() {
    [ "${ROLLOUT_PHASE:-}" = canary ] && [ -n "${CANARY_WEIGHT:-}" ] && [ "$REGION" = "$CANARY_REGION" ]
}

# rollout_deploy: the canary, its checks, then the rest. Returns 1 when anything failed.
rollout_deploy() {
    local rest=() r rc why missing=()
    for r in "${REGION_LIST[@]}"; do [ "$r" = "$CANARY_REGION" ] || rest+=("$r"); done
    # ORIGIN=url: every region's edges name every region's function URL, so the canary cannot go first
    # while another region has none yet (its first deploy): then all at once, as nothing serves there.
    if origin_is_url; then
        for r in "${rest[@]}"; do
            [ -n "$(REGION=$r RUN_DIR=$RUN_DIR/xr.rollout origin_read_url)" ] || missing+=("$r")
        done
        if [ ${#missing[@]} -gt 0 ]; then
            log "rollout: ${missing[*]} has no function URL yet (a first deploy there), which the canary's edges need: all regions at once"
            each_region region_deploy
            return $?
        fi
    fi
    log "rollout: $CANARY_REGION first (the canary), then ${rest[*]:-no other region}"
    ROLLOUT_PHASE=canary
    ROLLOUT_T0=$(date +%s) # the bake reads Errors from the minute before the canary began
    ONLY_REGIONS=$CANARY_REGION each_region region_deploy
    rc=$?
    ROLLOUT_PHASE=rest
    if [ "$rc" -ne 0 ]; then
        log "rollout: the canary $CANARY_REGION did not deploy; ${rest[*]:-no other region} not touched"
        return 1
    fi
    if ! grep -qE '^(create|update|delete) ' "$RUN_DIR/notes.$CANARY_REGION" 2>/dev/null; then
        log "rollout: nothing changed in $CANARY_REGION, nothing to verify"
    elif ! why=$(REGION=$CANARY_REGION canary_verify); then
        REGION=$CANARY_REGION rollout_rollback "$why"
        return 1
    else
        REGION=$CANARY_REGION rollout_promote || return 1
    fi
    [ ${#rest[@]} -gt 0 ] || return 0
    ONLY_REGIONS="${rest[*]}" each_region region_deploy
    return $?
}

# rollout_rollback WHY: the canary's live alias back where it was; one line on stderr saying why.
rollout_rollback() {
    local old new undo="no new version went live, so live is as it was"
    read -r old new 2>/dev/null <"$RUN_DIR/live.$REGION" || true
    if [ -n "${new:-}" ] && [ "$old" = - ]; then
        undo="live was made by this run (no earlier version to go back to): left on $new"
    elif [ -n "${new:-}" ]; then
        if aws_ lambda update-alias --function-name "$(fn_name)" --name live --function-version "$old" \
            --routing-config '{"AdditionalVersionWeights":{}}' >/dev/null; then
            undo="live rolled back $new -> $old"
        else
            undo="rolling live back to $old FAILED ($AWS_ERROR): run make rollback REGIONS=$REGION VERSION=$old"
        fi
    fi
    local others
    others=$(printf '%s\n' "${REGION_LIST[@]}" | grep -vx "$REGION" | tr '\n' ' ')
    printf 'deploy: canary %s failed: %s; %s; %s\n' "$REGION" "$1" "$undo" \
        "${others:+not touched: ${others% }}" >&2
}

# rollout_promote: with CANARY_WEIGHT, the rest of the canary's traffic to the new version.
rollout_promote() {
    local old new
    [ -n "${CANARY_WEIGHT:-}" ] || return 0
    read -r old new 2>/dev/null <"$RUN_DIR/live.$REGION" || return 0
    [ "$old" != - ] || return 0
    log "[$REGION] update alias live $old -> $new (the canary passed with $CANARY_WEIGHT%)"
    aws_ lambda update-alias --function-name "$(fn_name)" --name live --function-version "$new" \
        --routing-config '{"AdditionalVersionWeights":{}}' >/dev/null ||
        { echo "deploy: canary $REGION passed but moving live to $new failed: $AWS_ERROR" >&2; return 1; }
}

# canary_verify: prints nothing and returns 0, or prints the failed check and what it saw, returns 1.
canary_verify() {
    local gw smoke edge_ip="" path what
    gw=$(regional_name "$REGION")
    # ORIGIN=url: the function URL takes requests signed by the edges' role only: checked through an edge.
    ! origin_is_url || gw=""
    smoke=$(canary_smoke_path) || return 1
    if [ "$MODE" = edge ]; then
        edge_ip=$(aws_ ec2 describe-addresses --filters "Name=tag:nearjs:stack,Values=$STACK" \
            "Name=tag:nearjs:region,Values=$REGION" | jq -r '[.Addresses[] | select((.InstanceId // "") != "") | .PublicIp] | sort | first // empty')
        [ -n "$edge_ip" ] || { echo "edge: no edge instance with an address in $REGION to fetch through"; return 1; }
    fi
    for path in "$HEALTH_PATH" $smoke; do
        what="$([ "$path" = "$HEALTH_PATH" ] && echo health || echo smoke) path $path"
        [ -z "$gw" ] || canary_fetch "$what through the gateway $gw" "$gw" "$(canary_resolve "$gw")" "$path" "$REGION" || return 1
        [ -z "$edge_ip" ] || canary_fetch "$what through the edge $edge_ip" "$(public_name)" "$edge_ip" "$path" \
            "$([ "$path" = /healthz ] || echo "$REGION")" || return 1
    done
    local via=$gw
    [ -z "$edge_ip" ] || via="${via:+$via and }the edge $edge_ip"
    log "[$REGION] canary: ${HEALTH_PATH}${smoke:+ and $smoke} answer 200 from $REGION through $via"
    canary_bake
}

canary_resolve() { # name: its address from CANARY_RESOLVE, or nothing (DNS)
    local e
    for e in ${CANARY_RESOLVE//,/ }; do
        [ "${e%%=*}" = "$1" ] && printf '%s' "${e#*=}"
    done
    return 0
}

# SMOKE_PATH, or the first published script of the canary's content bucket: the store key
# accounts/<account>/<file>.json is served as /<account>/<file>.js (function/README.md), first in key
# order; nothing when nothing is published.
canary_smoke_path() {
    local p=${CONTENT_PREFIX:+$CONTENT_PREFIX/} path
    if [ -n "$SMOKE_PATH" ]; then
        printf '%s' "$SMOKE_PATH"
        return 0
    fi
    path=$(aws_ s3api list-objects-v2 --bucket "$(content_bucket "$REGION")" --prefix "${p}accounts/" |
        jq -r --arg p "${p}accounts/" '[.Contents // [] | .[].Key | ltrimstr($p)
            | select(test("^[A-Za-z0-9_-]+/[A-Za-z0-9_-]+\\.json$"))] | sort | first // empty | "/" + rtrimstr(".json") + ".js"') ||
        { echo "smoke path: cannot list $(content_bucket "$REGION"): $AWS_ERROR"; return 1; }
    if [ -z "$path" ]; then
        log "[$REGION] canary: nothing published in $(content_bucket "$REGION") and no SMOKE_PATH: checking $HEALTH_PATH only"
        return 0
    fi
    printf '%s' "$path"
}

# canary_fetch WHAT HOST ADDR PATH [REGION]: GET https://HOST:CANARY_PORT/PATH (at ADDR when given), the
# certificate checked; 200 wanted, and X-Nearjs-Region: REGION when REGION is given.
canary_fetch() {
    local what=$1 host=$2 addr=$3 path=$4 want_region=${5:-} args=() code region err
    [ -z "$addr" ] || args+=(--resolve "$host:$CANARY_PORT:$addr")
    [ -z "$CANARY_CACERT" ] || args+=(--cacert "$CANARY_CACERT")
    code=$(curl -sS "${args[@]}" --max-time 10 -o /dev/null -D "$RUN_DIR/canary.h" -w '%{http_code}' \
        "https://$host:$CANARY_PORT$path" 2>"$RUN_DIR/canary.err") || true
    region=$(tr -d '\r' <"$RUN_DIR/canary.h" 2>/dev/null | awk 'tolower($1) == "x-nearjs-region:" {r = $2} END {print r}')
    if [ "$code" != 200 ] || { [ -n "$want_region" ] && [ "$region" != "$want_region" ]; }; then
        err=$(head -c 200 "$RUN_DIR/canary.err" | tr '\n' ' ' | sed 's/^curl: //')
        printf '%s: HTTP %s, X-Nearjs-Region %s (want 200%s)%s\n' "$what" "${code:-none}" "${region:-none}" \
            "${want_region:+ from $want_region}" "${err:+; curl: ${err% }}"
        return 1
    fi
}

# The new version's Errors over BAKE_SECONDS (checked every 10 s, and once at the end).
canary_bake() {
    local old new start end now sum q
    read -r old new 2>/dev/null <"$RUN_DIR/live.$REGION" || return 0
    start=$((${ROLLOUT_T0:-$(date +%s)} - 60))
    end=$((SECONDS + BAKE_SECONDS))
    [ "$BAKE_SECONDS" = 0 ] || log "[$REGION] canary: baking ${BAKE_SECONDS}s (Errors of $(fn_name):live version $new must stay 0)"
    q=$(jq -cn --arg f "$(fn_name)" --arg v "$new" '[{Id: "errors", ReturnData: true, MetricStat: {Stat: "Sum", Period: 60,
        Metric: {Namespace: "AWS/Lambda", MetricName: "Errors", Dimensions: [{Name: "FunctionName", Value: $f},
        {Name: "Resource", Value: ($f + ":live")}, {Name: "ExecutedVersion", Value: $v}]}}}]')
    while :; do
        now=$(date +%s)
        sum=$(aws_ cloudwatch get-metric-data --start-time "$start" --end-time "$((now + 60))" --metric-data-queries "$q" |
            jq '[.MetricDataResults[].Values[]] | add // 0') || { echo "bake: cannot read the Errors metric: $AWS_ERROR"; return 1; }
        if [ "$(jq -n --argjson s "$sum" '$s > 0')" = true ]; then
            echo "bake: the Errors metric of $(fn_name):live version $new in $REGION is $sum (want 0)"
            return 1
        fi
        [ $SECONDS -lt $end ] || break
        sleep $((end - SECONDS < 10 ? end - SECONDS : 10))
    done
    log "[$REGION] canary: Errors 0 over ${BAKE_SECONDS}s"
}
