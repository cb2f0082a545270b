# deploy/lib/fleet_role.sh: step fleet_role. Per region a role <stack>-edge-<region> that EC2 may assume,
# with one inline policy: ssm:GetParameter on exactly the two parameters of fleet_params, s3:GetObject on
# exactly the edge tarball of fleet_artifact while its bucket is this account's (s3:ResourceAccount),
# and an instance profile of the same name. Decrypting the parameters is granted by the key policy of
# the stack's KMS key (fleet_params.sh), to this role only.
# Sets FLEET_PROFILE.

fleet_role_trust() {
    printf '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}'
}

fleet_role_policy() {
    jq -cn --arg obj "arn:aws:s3:::$(artifact_bucket "$REGION")/$FLEET_ARTIFACT_KEY" --arg a "$ACCOUNT" \
        --arg p "arn:aws:ssm:$REGION:$ACCOUNT:parameter" --arg c "$(fleet_param cert)" --arg k "$(fleet_param key)" \
        '{Version: "2012-10-17", Statement: [
            {Effect: "Allow", Action: "ssm:GetParameter", Resource: [($p + $c), ($p + $k)]},
            {Effect: "Allow", Action: "s3:GetObject", Resource: $obj, Condition: {StringEquals: {"s3:ResourceAccount": $a}}}]}'
}

step_fleet_role() {
    local name out have
    name=$(fleet_name "$REGION")
    FLEET_PROFILE=$name
    out=$(aws_find NoSuchEntity iam get-role --role-name "$name")
    if [ -z "$out" ]; then
        change create "role $name" iam create-role --role-name "$name" --assume-role-policy-document "$(fleet_role_trust)" \
            --tags "$(tag_list)" >/dev/null
        have=""
    else
        if [ "$(jq -r '.Role.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" != "$STACK" ]; then
            refuse "role $name exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
        fi
        keep "role $name"
        have=$(aws_find NoSuchEntity iam get-role-policy --role-name "$name" --policy-name edge-read |
            jq -S '.PolicyDocument // empty | if type == "string" then fromjson else . end')
    fi
    if [ "$(fleet_role_policy | jq -S .)" != "$have" ]; then
        change "$([ -n "$have" ] && echo update || echo create)" "role $name: read its parameters and $FLEET_ARTIFACT_KEY" \
            iam put-role-policy --role-name "$name" --policy-name edge-read --policy-document "$(fleet_role_policy)" >/dev/null
    fi
    out=$(aws_find NoSuchEntity iam get-instance-profile --instance-profile-name "$name")
    if [ -z "$out" ]; then
        change create "instance profile $name" iam create-instance-profile --instance-profile-name "$name" \
            --tags "$(tag_list)" >/dev/null
    else
        keep "instance profile $name"
    fi
    if [ -z "$out" ] || [ "$(jq -r '[.InstanceProfile.Roles[].RoleName] | join(" ")' <<<"$out")" != "$name" ]; then
        change create "instance profile $name: role $name" iam add-role-to-instance-profile --instance-profile-name "$name" \
            --role-name "$name" >/dev/null
    fi
}

destroy_fleet_role() {
    local name out r p
    name=$(fleet_name "$REGION")
    out=$(aws_find NoSuchEntity iam get-instance-profile --instance-profile-name "$name")
    if [ -n "$out" ]; then
        for r in $(jq -r '.InstanceProfile.Roles[].RoleName' <<<"$out"); do
            change delete "instance profile $name: role $r" iam remove-role-from-instance-profile \
                --instance-profile-name "$name" --role-name "$r" >/dev/null
        done
        change delete "instance profile $name" iam delete-instance-profile --instance-profile-name "$name" >/dev/null
    fi
    out=$(aws_find NoSuchEntity iam get-role --role-name "$name")
    [ -n "$out" ] || return 0
    [ "$(jq -r '.Role.Tags // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"$out")" = "$STACK" ] || return 0
    for p in $(aws_ iam list-role-policies --role-name "$name" | jq -r '.PolicyNames[]'); do
        change delete "role $name: policy $p" iam delete-role-policy --role-name "$name" --policy-name "$p" >/dev/null
    done
    change delete "role $name" iam delete-role --role-name "$name" >/dev/null
}
