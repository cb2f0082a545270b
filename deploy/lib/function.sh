# deploy/lib/function.sh: step `function`. The Lambda function (same name in every region), its code
# from the region's artifact bucket, its configuration from the settings, and the `live` alias.
# $LATEST is updated only where it differs (code: CodeSha256 and architecture; configuration: runtime,
# handler, role, memory, timeout, environment), waiting for function-updated after each change. A
# version is published only when $LATEST differs from the version `live` points at, so a no-op re-run
# publishes nothing and a re-run after a failure between update and publish still publishes.
# Sets FN, FN_ALIAS_ARN, FN_LIVE_VERSION, FN_NEW (1: created by this run, or by this plan).

fn_want() {
    jq -cn --arg role "$ROLE_ARN" --arg store "$(content_store "$REGION")" --argjson mem "$MEMORY" \
        --argjson to "$TIMEOUT" --arg arch "$ARCH" --arg sha "$ZIP_SHA_B64" \
        '{Runtime: "provided.al2023", Handler: "bootstrap", Role: $role, MemorySize: $mem, Timeout: $to,
          Env: {NEARJS_STORE: $store}, Arch: $arch, CodeSha256: $sha}'
}

# The same fields from a function configuration (get-function's .Configuration, get-function-configuration).
fn_have() {
    jq -c '{Runtime, Handler, Role, MemorySize, Timeout, Env: (.Environment.Variables // {}),
            Arch: ((.Architectures // ["x86_64"])[0]), CodeSha256}'
}

fn_diff() { # have want: the names of the fields that differ, space-separated (one jq for all)
    jq -rn --argjson h "$1" --argjson w "$2" '[$w | keys[] | select($h[.] != $w[.])] | join(" ")'
}

has_any() { # "list" name...: 0 when the space-separated list holds any of the names
    local n
    for n in "${@:2}"; do
        case " $1 " in *" $n "*) return 0 ;; esac
    done
    return 1
}

# Lambda's answer while it cannot assume a role made or changed moments ago (retried: change_settling).
FN_ROLE_NOT_READY='cannot be assumed by Lambda'

fn_wait_updated() { plan || aws_ lambda wait function-updated --function-name "$FN"; }

step_function() {
    local out want have alias live_ver="" live="" ver env diff
    FN=$(fn_name)
    FN_ALIAS_ARN="arn:aws:lambda:$REGION:$ACCOUNT:function:$FN:live"
    want=$(fn_want)
    env=$(jq -c '{Variables: .Env}' <<<"$want")
    out=$(aws_find ResourceNotFoundException lambda get-function --function-name "$FN")
    FN_NEW=0
    if [ -z "$out" ]; then
        FN_NEW=1
        change_settling "role $ROLE_ARN" "$FN_ROLE_NOT_READY" \
            create "function $FN ($ARCH, ${MEMORY} MB, ${TIMEOUT} s)" lambda create-function --function-name "$FN" \
            --runtime provided.al2023 --handler bootstrap --role "$ROLE_ARN" --architectures "$ARCH" \
            --code "S3Bucket=$(artifact_bucket "$REGION"),S3Key=$ZIP_KEY" --memory-size "$MEMORY" --timeout "$TIMEOUT" \
            --environment "$env" --tags "$(tag_kv)" >/dev/null
        plan || aws_ lambda wait function-active --function-name "$FN"
    else
        if [ "$(jq -r '.Tags["nearjs:stack"] // empty' <<<"$out")" != "$STACK" ]; then
            refuse "function $FN exists in $REGION but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
        fi
        have=$(jq .Configuration <<<"$out" | fn_have)
        diff=$(fn_diff "$have" "$want")
        if has_any "$diff" CodeSha256 Arch; then
            change update "function $FN code ($ZIP_KEY)" lambda update-function-code --function-name "$FN" \
                --s3-bucket "$(artifact_bucket "$REGION")" --s3-key "$ZIP_KEY" --architectures "$ARCH" >/dev/null
            fn_wait_updated
        fi
        if has_any "$diff" Runtime Handler Role MemorySize Timeout Env; then
            change_settling "role $ROLE_ARN" "$FN_ROLE_NOT_READY" \
                update "function $FN configuration ($(for f in $diff; do has_any "Runtime Handler Role MemorySize Timeout Env" "$f" && printf '%s ' "$f"; done | sed 's/ $//; s/ /, /g'))" \
                lambda update-function-configuration --function-name "$FN" --runtime provided.al2023 --handler bootstrap \
                --role "$ROLE_ARN" --memory-size "$MEMORY" --timeout "$TIMEOUT" --environment "$env" >/dev/null
            fn_wait_updated
        fi
        [ -n "$diff" ] || keep "function $FN"
    fi
    alias=$(aws_find ResourceNotFoundException lambda get-alias --function-name "$FN" --name live)
    if [ -n "$alias" ]; then
        live_ver=$(jq -r .FunctionVersion <<<"$alias")
        live=$(aws_ lambda get-function-configuration --function-name "$FN" --qualifier "$live_ver" | fn_have)
    fi
    FN_LIVE_VERSION=$live_ver
    if [ -n "$live" ] && [ -z "$(fn_diff "$live" "$want")" ]; then
        keep "function $FN version $live_ver (live)"
        return 0
    fi
    out=$(change create "function $FN version" lambda publish-version --function-name "$FN" --code-sha256 "$ZIP_SHA_B64")
    ver=$PLANNED
    [ -z "$out" ] || ver=$(jq -r .Version <<<"$out")
    fn_move_live "$alias" "$live_ver" "$ver" # deploy/lib/rollout.sh: a canary may move only a share first
    FN_LIVE_VERSION=$ver
}

destroy_function() {
    local out
    FN=$(fn_name)
    out=$(aws_find ResourceNotFoundException lambda get-function --function-name "$FN")
    [ -n "$out" ] || return 0
    if [ "$(jq -r '.Tags["nearjs:stack"] // empty' <<<"$out")" != "$STACK" ]; then
        log "leaving function $FN: not tagged nearjs:stack=$STACK"
        return 0
    fi
    change delete "function $FN (all versions and aliases)" lambda delete-function --function-name "$FN" >/dev/null
}

# rollback: `live` back to the version before the one it points at, or to VERSION.
region_rollback() {
    local alias cur target
    FN=$(fn_name)
    CUR_STEP=rollback
    alias=$(aws_ lambda get-alias --function-name "$FN" --name live)
    cur=$(jq -r .FunctionVersion <<<"$alias")
    if [ -n "${VERSION:-}" ]; then
        target=$VERSION
    else
        target=$(aws_ lambda list-versions-by-function --function-name "$FN" |
            jq -r --argjson cur "$cur" '[.Versions[].Version | select(. != "$LATEST") | tonumber | select(. < $cur)] | max // empty')
        if [ -z "$target" ]; then
            refuse "live is version $cur, the first one: nothing to roll back to"
        fi
    fi
    if [ "$target" = "$cur" ]; then
        keep "alias live -> $cur"
        return 0
    fi
    change update "alias live $cur -> $target" lambda update-alias --function-name "$FN" --name live --function-version "$target" >/dev/null
}
