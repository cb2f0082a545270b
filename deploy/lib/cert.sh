# deploy/lib/cert.sh: step `cert`. The region's ACM certificate for its custom domains (cert_names):
# - CERT_FILE set: the files imported (tagged with the stack and the certificate's SHA-256, so an
#   unchanged file is never re-imported; a changed one is re-imported under the same ARN);
# - else requested with DNS validation (tagged with the stack and its names), the validation CNAMEs
#   UPSERTed into the zone, then waited for until ISSUED (CERT_WAIT seconds).
# A no-op costs list-certificates and one list-tags-for-certificate. Sets CERT_ARN.

cert_tag() { # json-tags key: the value
    jq -r --arg k "$2" '.Tags // [] | .[] | select(.Key == $k) | .Value' <<<"$1"
}

# cert_find KIND VALUE: the ARN of this stack's certificate (in REGION) whose nearjs:KIND tag is VALUE.
cert_find() {
    local arn tags
    for arn in $(aws_ acm list-certificates | jq -r '.CertificateSummaryList[] | select(.Status != "FAILED"
            and .Status != "EXPIRED" and .Status != "REVOKED") | .CertificateArn'); do
        tags=$(aws_ acm list-tags-for-certificate --certificate-arn "$arn")
        [ "$(cert_tag "$tags" nearjs:stack)" = "$STACK" ] || continue
        [ "$(cert_tag "$tags" "nearjs:$1")" = "$2" ] || continue
        echo "$arn"
        return 0
    done
}

cert_fingerprint() { openssl x509 -in "$CERT_FILE" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }

step_cert() {
    if [ -n "$CERT_FILE" ]; then cert_import; else cert_request; fi
}

cert_import() {
    local fp arn out chain=()
    fp=$(cert_fingerprint)
    [ -z "$CHAIN_FILE" ] || chain=(--certificate-chain "fileb://$CHAIN_FILE")
    arn=$(cert_find imported "$fp")
    if [ -n "$arn" ]; then
        CERT_ARN=$arn
        keep "certificate $arn (imported, unchanged)"
        return 0
    fi
    arn=$(cert_find imported-from "$CERT_FILE")
    if [ -n "$arn" ]; then
        change update "certificate $arn (re-import $CERT_FILE)" acm import-certificate --certificate-arn "$arn" \
            --certificate "fileb://$CERT_FILE" --private-key "fileb://$KEY_FILE" "${chain[@]}" >/dev/null
        change update "certificate $arn fingerprint tag" acm add-tags-to-certificate --certificate-arn "$arn" \
            --tags "Key=nearjs:imported,Value=$fp" >/dev/null
        CERT_ARN=$arn
        return 0
    fi
    out=$(change create "certificate from $CERT_FILE (import)" acm import-certificate --certificate "fileb://$CERT_FILE" \
        --private-key "fileb://$KEY_FILE" "${chain[@]}" \
        --tags "$(tag_list)" "Key=nearjs:imported,Value=$fp" "Key=nearjs:imported-from,Value=$CERT_FILE")
    CERT_ARN=$PLANNED
    [ -z "$out" ] || CERT_ARN=$(jq -r .CertificateArn <<<"$out")
}

cert_request() {
    local names arn out rec status deadline sans=() fresh=0
    read -r -a names <<<"$(cert_names "$REGION")"
    [ ${#names[@]} -lt 2 ] || sans=(--subject-alternative-names "${names[@]:1}")
    arn=$(cert_find names "${names[*]}")
    if [ -z "$arn" ]; then
        out=$(change create "certificate ${names[*]} (DNS validation)" acm request-certificate \
            --domain-name "${names[0]}" "${sans[@]}" --validation-method DNS \
            --idempotency-token "$(printf '%s' "$STACK ${names[*]}" | sha256sum | cut -c1-32)" \
            --tags "$(tag_list)" "Key=nearjs:names,Value=${names[*]}")
        CERT_ARN=$PLANNED
        [ -n "$out" ] || return 0
        arn=$(jq -r .CertificateArn <<<"$out")
        fresh=1
    fi
    CERT_ARN=$arn
    # The validation records stay for as long as the certificate: ACM's renewals look them up again.
    deadline=$((SECONDS + CERT_WAIT))
    out=$(aws_ acm describe-certificate --certificate-arn "$arn")
    while [ "$(jq '[.Certificate.DomainValidationOptions[] | .ResourceRecord // empty] | length' <<<"$out")" -lt \
        "$(jq '.Certificate.DomainValidationOptions | length' <<<"$out")" ] && [ "$SECONDS" -lt "$deadline" ]; do
        sleep 2 # ACM fills in the records a few seconds after the request
        out=$(aws_ acm describe-certificate --certificate-arn "$arn")
    done
    for rec in $(jq -c '.Certificate.DomainValidationOptions[] | .ResourceRecord // empty' <<<"$out"); do
        zone_upsert "ACM validation record $(jq -r '.Name | rtrimstr(".")' <<<"$rec")" \
            "$(jq -c '{Name, Type, TTL: 300, ResourceRecords: [{Value}]}' <<<"$rec")"
    done
    status=$(jq -r .Certificate.Status <<<"$out")
    case "$status" in
    ISSUED) [ "$fresh" = 1 ] || keep "certificate $arn (ISSUED)" ;;
    PENDING_VALIDATION)
        [ "$fresh" = 1 ] || keep "certificate $arn (PENDING_VALIDATION)"
        log "waiting for certificate $arn to be ISSUED (up to $CERT_WAIT s)"
        while [ "$status" = PENDING_VALIDATION ] && [ "$SECONDS" -lt "$deadline" ]; do
            sleep 5
            status=$(aws_ acm describe-certificate --certificate-arn "$arn" | jq -r .Certificate.Status)
        done
        [ "$status" = ISSUED ] || refuse "certificate $arn is $status after $CERT_WAIT s (validation records in zone $ZONE_ID?)"
        ;;
    *)
        refuse "certificate $arn is $status: delete it and re-run"
        ;;
    esac
}

destroy_cert() {
    local arn tags name out rec
    for arn in $(aws_ acm list-certificates | jq -r '.CertificateSummaryList[].CertificateArn'); do
        tags=$(aws_ acm list-tags-for-certificate --certificate-arn "$arn")
        [ "$(cert_tag "$tags" nearjs:stack)" = "$STACK" ] || continue
        # Only this region's own validation record here: fast.$DOMAIN's is shared by every region's
        # certificate, so dns_destroy_shared removes it once no region uses fast.$DOMAIN any more.
        name=$(regional_name "$REGION")
        out=$(aws_ acm describe-certificate --certificate-arn "$arn")
        for rec in $(jq -c --arg n "$name" '.Certificate.DomainValidationOptions // [] | .[]
            | select(.DomainName == $n) | .ResourceRecord // empty' <<<"$out"); do
            zone_delete "ACM validation record $(jq -r .Name <<<"$rec")" "$(jq -r .Name <<<"$rec")" CNAME
        done
        jq -c --arg n "$name" '.Certificate.DomainValidationOptions // [] | .[] | select(.DomainName != $n)
            | .ResourceRecord // empty' <<<"$out" >>"$RUN_DIR/shared-records"
        change delete "certificate $arn" acm delete-certificate --certificate-arn "$arn" >/dev/null
    done
}
