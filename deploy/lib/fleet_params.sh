# deploy/lib/fleet_params.sh: step fleet_params. The edge's certificate (CERT_FILE, then CHAIN_FILE: the
# edge staples OCSP from the chain in its file) and key (KEY_FILE) as SecureString parameters in each
# region (the AWS-managed key aws/ssm). Standard tier: a value holds at most 4096 characters, which AWS
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

# fleet_param_ensure NAME FILE: find-or-create NAME with FILE's bytes; overwrite when they differ.
fleet_param_ensure() {
    local name=$1 file=$2 out have
    out=$(aws_find ParameterNotFound ssm get-parameter --name "$name" --with-decryption)
    if [ -z "$out" ]; then
        change create "parameter $name" ssm put-parameter --name "$name" --type SecureString --tier Standard \
            --value "file://$file" --tags "Key=nearjs:stack,Value=$STACK" >/dev/null
        return 0
    fi
    have=$(jq -j .Parameter.Value <<<"$out" | sha256sum | cut -d' ' -f1)
    if [ "$have" = "$(sha256sum <"$file" | cut -d' ' -f1)" ] && [ "$(jq -r .Parameter.Type <<<"$out")" = SecureString ]; then
        keep "parameter $name"
        return 0
    fi
    change update "parameter $name" ssm put-parameter --name "$name" --type SecureString --tier Standard \
        --value "file://$file" --overwrite >/dev/null
}

step_fleet_params() {
    fleet_pem_check
    fleet_cert_value >"$RUN_DIR/edge-cert.$REGION"
    fleet_param_ensure "$(fleet_param cert)" "$RUN_DIR/edge-cert.$REGION"
    fleet_param_ensure "$(fleet_param key)" "$KEY_FILE"
}

destroy_fleet_params() {
    local p
    for p in "$(fleet_param cert)" "$(fleet_param key)"; do
        [ -n "$(aws_find ParameterNotFound ssm get-parameter --name "$p")" ] || continue
        change delete "parameter $p" ssm delete-parameter --name "$p" >/dev/null
    done
}
