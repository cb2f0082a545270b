# deploy/lib/fleet_params.sh: step fleet_params. The edge's certificate (CERT_FILE, then CHAIN_FILE: the
# edge staples OCSP from the chain in its file) and key (KEY_FILE) as SecureString parameters in each
# region, under the stack's own KMS key alias/<stack>-edge (about $1 a month per region). Standard tier: a value holds at most 4096 characters, which AWS
# enforces but moto does not, so the size is checked here, before anything is touched.
# Sets FLEET_CERT_SHA256 and FLEET_KEY_SHA256 (of the values; the user data checks what it fetched).

SSM_STANDARD_MAX=4096

fleet_cert_value() { # the certificate parameter's value: the certificate, then the chain
    cat "$CERT_FILE"
    [ -z "${CHAIN_FILE:-}" ] || cat "$CHAIN_FILE"
}

# fleet_pem_check: exits 2 (die) when a value would not fit the standard tier.
fleet_pem_check() {
    local n
    n=$(fleet_cert_value | wc -c)
    [ "$n" -le $SSM_STANDARD_MAX ] || die "setting CERT_FILE='${CERT_FILE:0:80}'${CHAIN_FILE:+ with CHAIN_FILE='${CHAIN_FILE:0:80}'}: $n bytes, over the $SSM_STANDARD_MAX that an SSM standard-tier parameter holds (use an ECDSA certificate, or leave out the root from the chain)"
    n=$(wc -c <"$KEY_FILE")
    [ "$n" -le $SSM_STANDARD_MAX ] || die "setting KEY_FILE='${KEY_FILE:0:80}': $n bytes, over the $SSM_STANDARD_MAX that an SSM standard-tier parameter holds (use an ECDSA or RSA-2048 key)"
    FLEET_CERT_SHA256=$(fleet_cert_value | sha256sum | cut -d' ' -f1)
    FLEET_KEY_SHA256=$(sha256sum <"$KEY_FILE" | cut -d' ' -f1)
}

# The stack's KMS key in this region (alias/<stack>-edge), customer managed: its key policy lets the
# account administer it and encrypt through SSM, and lets only the edge role decrypt, only through SSM
# and only for these two parameters (their ARNs are the encryption context SSM passes). The AWS-managed
# aws/ssm key would let any principal of the account that may read a parameter decrypt it.
fleet_kms_alias() { printf 'alias/%s-edge' "$STACK"; }
fleet_param_arn() { printf 'arn:aws:ssm:%s:%s:parameter%s' "$REGION" "$ACCOUNT" "$(fleet_param "$1")"; }

fleet_kms_policy() {
    jq -cn --arg root "arn:aws:iam::$ACCOUNT:root" --arg role "arn:aws:iam::$ACCOUNT:role/$(fleet_name "$REGION")" \
        --arg via "ssm.$REGION.amazonaws.com" --arg c "$(fleet_param_arn cert)" --arg k "$(fleet_param_arn key)" '
        {Version: "2012-10-17", Id: "nearjs-edge", Statement: [
          {Sid: "AccountAdministersButNeverDecrypts", Effect: "Allow", Principal: {AWS: $root}, Resource: "*",
           Action: ["kms:Describe*", "kms:Get*", "kms:List*", "kms:PutKeyPolicy", "kms:UpdateKeyDescription",
                    "kms:EnableKey", "kms:DisableKey", "kms:EnableKeyRotation", "kms:DisableKeyRotation",
                    "kms:TagResource", "kms:UntagResource", "kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias",
                    "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:RevokeGrant", "kms:RetireGrant"]},
          {Sid: "AccountEncryptsThroughSSM", Effect: "Allow", Principal: {AWS: $root}, Resource: "*",
           Action: "kms:Encrypt", Condition: {StringEquals: {"kms:ViaService": $via}}},
          {Sid: "EdgeRoleDecryptsItsParametersThroughSSM", Effect: "Allow", Principal: {AWS: $role}, Resource: "*",
           Action: "kms:Decrypt",
           Condition: {StringEquals: {"kms:ViaService": $via, "kms:EncryptionContext:PARAMETER_ARN": [$c, $k]}}}]}'
}

# fleet_kms_ensure: find-or-create the key and its alias, and make its policy the one above. Sets FLEET_KMS_KEY.
fleet_kms_ensure() {
    local out have
    out=$(aws_find NotFoundException kms describe-key --key-id "$(fleet_kms_alias)")
    if [ -n "$out" ] && [ "$(jq -r .KeyMetadata.KeyState <<<"$out")" = PendingDeletion ]; then
        # Left by a destroy (7 days' wait): a new key, the alias moved to it.
        change delete "KMS alias $(fleet_kms_alias) (its key is pending deletion)" kms delete-alias --alias-name "$(fleet_kms_alias)" >/dev/null
        out=""
    fi
    if [ -z "$out" ]; then
        out=$(change create "KMS key $(fleet_kms_alias) (decrypt: role $(fleet_name "$REGION") through SSM only)" kms create-key \
            --description "nearjs $STACK: the edge's TLS key in SSM; only role $(fleet_name "$REGION") decrypts" \
            --policy "$(fleet_kms_policy)" --tags "TagKey=nearjs:stack,TagValue=$STACK")
        FLEET_KMS_KEY=$PLANNED
        [ -z "$out" ] || FLEET_KMS_KEY=$(jq -r .KeyMetadata.KeyId <<<"$out")
        change create "KMS alias $(fleet_kms_alias)" kms create-alias --alias-name "$(fleet_kms_alias)" --target-key-id "$FLEET_KMS_KEY" >/dev/null
        return 0
    fi
    FLEET_KMS_KEY=$(jq -r .KeyMetadata.KeyId <<<"$out")
    if [ "$(aws_ kms list-resource-tags --key-id "$FLEET_KMS_KEY" | jq -r '.Tags[]? | select(.TagKey == "nearjs:stack") | .TagValue')" != "$STACK" ]; then
        refuse "KMS key $(fleet_kms_alias) ($FLEET_KMS_KEY) exists but is not tagged nearjs:stack=$STACK: not ours; remove the alias or change STACK"
    fi
    keep "KMS key $(fleet_kms_alias) ($FLEET_KMS_KEY)"
    have=$(aws_ kms get-key-policy --key-id "$FLEET_KMS_KEY" --policy-name default | jq -S '.Policy | fromjson')
    [ "$have" = "$(fleet_kms_policy | jq -S .)" ] ||
        change update "KMS key $(fleet_kms_alias) policy" kms put-key-policy --key-id "$FLEET_KMS_KEY" --policy-name default \
            --policy "$(fleet_kms_policy)" >/dev/null
}

# fleet_param_ensure NAME FILE: find-or-create NAME with FILE's bytes under the stack's key; overwrite when
# they differ. Never decrypts: the value's sha256 is the parameter's tag nearjs:sha256, and the key id
# and type come from describe-parameters. So neither deploy nor plan needs kms:Decrypt.
fleet_param_ensure() {
    local name=$1 file=$2 meta sha tag verb=update
    sha=$(sha256sum <"$file" | cut -d' ' -f1)
    meta=$(aws_ ssm describe-parameters --parameter-filters "Key=Name,Option=Equals,Values=$name" | jq -c '.Parameters[0] // empty')
    if [ -n "$meta" ]; then
        tag=$(aws_ ssm list-tags-for-resource --resource-type Parameter --resource-id "$name" |
            jq -r '.TagList[]? | select(.Key == "nearjs:sha256") | .Value')
        if [ "$tag" = "$sha" ] && [ "$(jq -r .Type <<<"$meta")" = SecureString ] &&
            jq -e --arg a "$(fleet_kms_alias)" --arg k "$FLEET_KMS_KEY" '(.KeyId // "") as $i |
                $i == $a or $i == $k or ($i | endswith("/" + $k)) or ($i | endswith(":" + $a))' <<<"$meta" >/dev/null; then
            keep "parameter $name"
            return 0
        fi
    else
        verb=create
    fi
    change "$verb" "parameter $name (SecureString, $(fleet_kms_alias))" ssm put-parameter --name "$name" --type SecureString \
        --tier Standard --key-id "$(fleet_kms_alias)" --value "file://$file" --overwrite >/dev/null
    change "$verb" "parameter $name tags" ssm add-tags-to-resource --resource-type Parameter --resource-id "$name" \
        --tags "Key=nearjs:stack,Value=$STACK" "Key=nearjs:sha256,Value=$sha" >/dev/null
}

step_fleet_params() {
    fleet_pem_check
    fleet_kms_ensure
    fleet_cert_value >"$RUN_DIR/edge-cert.$REGION"
    fleet_param_ensure "$(fleet_param cert)" "$RUN_DIR/edge-cert.$REGION"
    fleet_param_ensure "$(fleet_param key)" "$KEY_FILE"
}

# destroy: the parameters, then the key: its alias goes and its deletion is scheduled (7 days, the
# shortest AWS allows; cancel-key-deletion undoes it until then).
destroy_fleet_params() {
    local p out id
    for p in "$(fleet_param cert)" "$(fleet_param key)"; do
        [ -n "$(aws_find ParameterNotFound ssm get-parameter --name "$p")" ] || continue
        change delete "parameter $p" ssm delete-parameter --name "$p" >/dev/null
    done
    out=$(aws_find NotFoundException kms describe-key --key-id "$(fleet_kms_alias)")
    [ -n "$out" ] || return 0
    id=$(jq -r .KeyMetadata.KeyId <<<"$out")
    [ "$(aws_ kms list-resource-tags --key-id "$id" | jq -r '.Tags[]? | select(.TagKey == "nearjs:stack") | .TagValue')" = "$STACK" ] || return 0
    change delete "KMS alias $(fleet_kms_alias)" kms delete-alias --alias-name "$(fleet_kms_alias)" >/dev/null
    [ "$(jq -r .KeyMetadata.KeyState <<<"$out")" = PendingDeletion ] ||
        change delete "KMS key $id (deletion scheduled in 7 days)" kms schedule-key-deletion --key-id "$id" --pending-window-in-days 7 >/dev/null
}
