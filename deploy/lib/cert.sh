# deploy/lib/cert.sh: step `cert`. The region's ACM certificate for its custom domains (cert_names):
# - CERT_FILE set: the files imported. CERT_FILE may be a full chain (the leaf, then intermediates, as
#   certbot's fullchain.pem): the leaf goes in as Certificate, the rest (then CHAIN_FILE) as
#   CertificateChain; ACM refuses more than one certificate in Certificate ("The certificate field
#   contains more than one certificate"). Tagged with the stack and the leaf's SHA-256 fingerprint, so an
#   unchanged file is never imported again; a changed one of the same key type is re-imported under the
#   same ARN (ACM keeps the ARN, its tags and the domains on it; a re-import takes no tags: "Reimport a
#   certificate", ACM user guide), and one of another key type is a new import (ACM refuses to change
#   the key type or size on re-import), which the domains then move to (step `domains`).
# - else requested with DNS validation (tagged with the stack and its names), the validation CNAMEs
#   UPSERTed into the zone, then waited for until ISSUED (CERT_WAIT seconds).
# Tag values hold no file path: AWS allows only [\p{L}\p{Z}\p{N}_.:/=+\-@] in them.
# A no-op costs list-certificates and one list-tags-for-certificate per certificate. Sets CERT_ARN.

# Every key type ACM imports: ListCertificates answers only RSA_1024 and RSA_2048 certificates unless
# Includes.keyTypes names others (ACM API reference, Filters.keyTypes), so an ECDSA or RSA 3072/4096
# certificate would never be found again, and would be imported anew on every run.
CERT_KEY_TYPES=RSA_1024,RSA_2048,RSA_3072,RSA_4096,EC_prime256v1,EC_secp384r1,EC_secp521r1

cert_tag() { # json-tags key: the value
    jq -r --arg k "$2" '.Tags // [] | .[] | select(.Key == $k) | .Value' <<<"$1"
}

# cert_list: this region's certificates of every key type that are not failed, expired or revoked,
# one "ARN" a line.
cert_list() {
    aws_ acm list-certificates --includes "keyTypes=$CERT_KEY_TYPES" | jq -r '.CertificateSummaryList[]
        | select(.Status != "FAILED" and .Status != "EXPIRED" and .Status != "REVOKED") | .CertificateArn'
}

# cert_find KIND [VALUE]: "ARN TAG-VALUE" lines, one per certificate of this stack (in REGION) that has a
# nearjs:KIND tag (whose value is VALUE, when given).
cert_find() {
    local arn tags v
    for arn in $(cert_list); do
        tags=$(aws_ acm list-tags-for-certificate --certificate-arn "$arn")
        [ "$(cert_tag "$tags" nearjs:stack)" = "$STACK" ] || continue
        v=$(cert_tag "$tags" "nearjs:$1")
        [ -n "$v" ] || continue
        [ $# -lt 2 ] || [ "$v" = "$2" ] || continue
        printf '%s %s\n' "$arn" "$v"
    done
}

# The leaf (the first certificate of CERT_FILE) and the chain (the others, then CHAIN_FILE), as files
# in RUN_DIR; cert_split makes them (settings_check_cert calls it).
CERT_LEAF="" CERT_CHAIN=""
cert_split() {
    CERT_LEAF=$RUN_DIR/cert-leaf.pem CERT_CHAIN=$RUN_DIR/cert-chain.pem
    awk -v leaf="$CERT_LEAF" -v chain="$CERT_CHAIN" '
        /-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
        on { print > (n == 1 ? leaf : chain) }
        /-----END CERTIFICATE-----/ { on = 0 }' "$CERT_FILE"
    [ -z "$CHAIN_FILE" ] || cat "$CHAIN_FILE" >>"$CERT_CHAIN"
    [ -s "$CERT_CHAIN" ] || { rm -f "$CERT_CHAIN"; CERT_CHAIN=""; }
    return 0
}

# cert_key_type FILE: ACM's name for the key of the (first) certificate in FILE: RSA_2048, EC_prime256v1...
cert_key_type() {
    local text
    text=$(openssl x509 -in "$1" -noout -text 2>/dev/null)
    case "$text" in
    *"Public Key Algorithm: rsaEncryption"*)
        printf 'RSA_%s' "$(sed -n 's/.*Public-Key: (\([0-9]*\) bit).*/\1/p' <<<"$text" | head -n 1)" ;;
    *"Public Key Algorithm: id-ecPublicKey"*)
        case "$(sed -n 's/.*ASN1 OID: \([a-z0-9]*\).*/\1/p' <<<"$text" | head -n 1)" in
        prime256v1) printf EC_prime256v1 ;;
        secp384r1) printf EC_secp384r1 ;;
        secp521r1) printf EC_secp521r1 ;;
        *) printf EC_other ;;
        esac ;;
    *) printf other ;;
    esac
}

cert_fingerprint() { openssl x509 -in "$CERT_FILE" -noout -fingerprint -sha256 | cut -d= -f2 | tr -d : | tr A-F a-f; }

step_cert() {
    if [ -n "$CERT_FILE" ]; then cert_import; else cert_request; fi
}

cert_import() {
    local fp arn found want have chain=() same=""
    fp=$(cert_fingerprint)
    [ -n "$CERT_LEAF" ] || cert_split
    [ -z "$CERT_CHAIN" ] || chain=(--certificate-chain "fileb://$CERT_CHAIN")
    want=$(cert_key_type "$CERT_LEAF")
    found=$(cert_find imported)
    arn=$(awk -v fp="$fp" '$2 == fp { print $1; exit }' <<<"$found")
    if [ -n "$arn" ]; then
        CERT_ARN=$arn
        keep "certificate $arn (imported, unchanged)"
        return 0
    fi
    for arn in $(awk '{ print $1 }' <<<"$found"); do
        have=$(aws_ acm describe-certificate --certificate-arn "$arn" | jq -r .Certificate.KeyAlgorithm)
        [ "$have" != "$want" ] || same=$arn
    done
    if [ -n "$same" ]; then
        change update "certificate $same (re-import: a new $want certificate)" acm import-certificate \
            --certificate-arn "$same" --certificate "fileb://$CERT_LEAF" --private-key "fileb://$KEY_FILE" \
            "${chain[@]}" >/dev/null
        change update "certificate $same fingerprint tag" acm add-tags-to-certificate --certificate-arn "$same" \
            --tags "Key=nearjs:imported,Value=$fp" >/dev/null
        CERT_ARN=$same
        return 0
    fi
    out=$(change create "certificate $want from CERT_FILE (import)" acm import-certificate \
        --certificate "fileb://$CERT_LEAF" --private-key "fileb://$KEY_FILE" "${chain[@]}" \
        --tags "$(tag_list)" "Key=nearjs:imported,Value=$fp")
    CERT_ARN=$PLANNED
    [ -z "$out" ] || CERT_ARN=$(jq -r .CertificateArn <<<"$out")
}

cert_request() {
    local names arn out rec status deadline sans=() fresh=0
    read -r -a names <<<"$(cert_names "$REGION")"
    [ ${#names[@]} -lt 2 ] || sans=(--subject-alternative-names "${names[@]:1}")
    arn=$(cert_find names "${names[*]}" | head -n 1 | cut -d' ' -f1)
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
    for arn in $(aws_ acm list-certificates --includes "keyTypes=$CERT_KEY_TYPES" | jq -r '.CertificateSummaryList[].CertificateArn'); do
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
        # After its custom domains (destroy_domains runs first), and AWS still holds it for a while.
        change_released "certificate $arn" ResourceInUseException delete "certificate $arn" \
            acm delete-certificate --certificate-arn "$arn" >/dev/null
    done
}
