# deploy/lib/iam.sh: step `role`. Per region one role for the function: Lambda may assume it, it has
# AWSLambdaBasicExecutionRole (logs), and an inline policy reading its own region's content bucket only
# (GetObject on its objects; ListBucket so that a missing object is a 404, not a 403).
# Sets ROLE_ARN.

POLICY_BASIC=arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole

role_trust() {
    printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
}

role_policy() { # bucket; only while the bucket is this account's (s3:ResourceAccount): a same-named bucket elsewhere is never read
    jq -cn --arg b "$1" --arg a "$ACCOUNT" '{StringEquals: {"s3:ResourceAccount": $a}} as $c | {Version: "2012-10-17", Statement: [
        {Effect: "Allow", Action: "s3:GetObject", Resource: "arn:aws:s3:::\($b)/*", Condition: $c},
        {Effect: "Allow", Action: "s3:ListBucket", Resource: "arn:aws:s3:::\($b)", Condition: $c}]}'
}

step_role() {
    local name out want have
    name=$(role_name "$REGION")
    out=$(aws_find NoSuchEntity iam get-role --role-name "$name")
    if [ -z "$out" ]; then
        out=$(change create "role $name" iam create-role --role-name "$name" --assume-role-policy-document "$(role_trust)" \
            --tags "$(tag_list)")
        ROLE_ARN=arn:aws:iam::$ACCOUNT:role/$name
        [ -z "$out" ] || ROLE_ARN=$(jq -r .Role.Arn <<<"$out")
        change create "role $name: basic execution" iam attach-role-policy --role-name "$name" --policy-arn "$POLICY_BASIC" >/dev/null
        change create "role $name: read $(content_bucket "$REGION")" iam put-role-policy --role-name "$name" \
            --policy-name content-read --policy-document "$(role_policy "$(content_bucket "$REGION")")" >/dev/null
        return 0
    fi
    ROLE_ARN=$(jq -r .Role.Arn <<<"$out")
    if [ "$(jq -r '.Role.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" != "$STACK" ]; then
        refuse "role $name exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
    fi
    keep "role $name"
    if ! aws_ iam list-attached-role-policies --role-name "$name" | jq -e --arg p "$POLICY_BASIC" \
        'any(.AttachedPolicies[]; .PolicyArn == $p)' >/dev/null; then
        change update "role $name: basic execution" iam attach-role-policy --role-name "$name" --policy-arn "$POLICY_BASIC" >/dev/null
    fi
    want=$(role_policy "$(content_bucket "$REGION")" | jq -S .)
    have=$(aws_find NoSuchEntity iam get-role-policy --role-name "$name" --policy-name content-read |
        jq -S '.PolicyDocument // empty | if type == "string" then fromjson else . end')
    if [ "$want" != "$have" ]; then
        change update "role $name: read $(content_bucket "$REGION")" iam put-role-policy --role-name "$name" \
            --policy-name content-read --policy-document "$(role_policy "$(content_bucket "$REGION")")" >/dev/null
    fi
}

destroy_role() {
    local name out p
    name=$(role_name "$REGION")
    out=$(aws_find NoSuchEntity iam get-role --role-name "$name")
    [ -n "$out" ] || return 0
    [ "$(jq -r '.Role.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" = "$STACK" ] || return 0
    for p in $(aws_ iam list-attached-role-policies --role-name "$name" | jq -r '.AttachedPolicies[].PolicyArn'); do
        change delete "role $name: $p" iam detach-role-policy --role-name "$name" --policy-arn "$p" >/dev/null
    done
    for p in $(aws_ iam list-role-policies --role-name "$name" | jq -r '.PolicyNames[]'); do
        change delete "role $name: inline $p" iam delete-role-policy --role-name "$name" --policy-name "$p" >/dev/null
    done
    change delete "role $name" iam delete-role --role-name "$name" >/dev/null
}
