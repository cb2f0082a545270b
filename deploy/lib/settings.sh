# deploy/lib/settings.sh: loads deploy/nearjs.conf (or $NEARJS_CONF), checks every value, and derives
# the names of everything deploy makes. Nothing here writes to AWS: settings_check only reads
# (sts get-caller-identity, the hosted zone), so a wrong setting is named before anything is touched.
# After settings_load + settings_check: REGION_LIST (array), ACCOUNT, ZONE_ID, ZONE_NAME (no dot).

# Regions AWS offers to every account (opt-in ones included). Another one: KNOWN_REGIONS_EXTRA=a,b.
KNOWN_REGIONS="us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-south-1 ap-south-2
ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7 ap-northeast-1
ap-northeast-2 ap-northeast-3 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-west-1 eu-west-2 eu-west-3
eu-north-1 eu-south-1 eu-south-2 il-central-1 me-south-1 me-central-1 mx-central-1 sa-east-1"

settings_load() {
    local conf=${NEARJS_CONF:-$DEPLOY_DIR/nearjs.conf}
    [ -r "$conf" ] || die "settings file '$conf' not readable (set NEARJS_CONF or restore deploy/nearjs.conf)"
    # shellcheck source=/dev/null
    . "$conf"
    split_list REGION_LIST "$REGIONS"
}

# split_list ARRAY VALUE: VALUE's comma- or space-separated items into ARRAY, as they are: no glob is
# expanded (REGIONS='*' is one item, refused), a newline stays inside its item (refused by the checks).
split_list() {
    local -n _out=$1
    local IFS=', ' _all _i
    set -f
    # shellcheck disable=SC2206
    _all=($2)
    set +f
    _out=()
    for _i in ${_all[@]+"${_all[@]}"}; do [ -z "$_i" ] || _out+=("$_i"); done # "a,,b" and "," leave no empty item
}

bad() { die "setting $1=$(settings_show "$2"): $3"; }

# settings_show VALUE: VALUE for a one-line message: at most 80 characters, quoted as bash would
# (a newline or an escape sequence in a hostile value is shown, never acted on by the terminal).
settings_show() {
    local v=${1:0:80}
    if [[ $v =~ ^[A-Za-z0-9\ _./:@,+=~-]*$ ]]; then printf "'%s'" "$v"; else printf '%q' "$v"; fi
}

# A region name as AWS spells them (us-east-1, ap-southeast-4, us-gov-west-1): nothing else ever
# reaches a name, an ARN, a file name or the user data.
REGION_RE='^[a-z]{2}(-[a-z]+)+-[0-9]$'
# An edge artifact as make edge-package names it: nearjs-edge-<version>-<arch>.tar.gz, the version
# letters and digits joined by single . _ + ~ - (no "..", no slash, nothing a shell or YAML reads).
EDGE_ARTIFACT_RE='^nearjs-edge-[0-9A-Za-z]+([._+~-][0-9A-Za-z]+)*-(x86_64|arm64)\.tar\.gz$'


is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "${#1}" -le 9 ]; }

# settings_check VERB: the checks VERB needs, then the account and the zone (read calls).
settings_check() {
    local verb=$1 r
    [[ $STACK =~ ^[a-z][a-z0-9-]{0,19}$ ]] || bad STACK "$STACK" "want 1-20 of [a-z0-9-], starting with a letter"
    [ ${#REGION_LIST[@]} -gt 0 ] || bad REGIONS "$REGIONS" "name at least one region, e.g. REGIONS=us-east-1,eu-west-1"
    local extra=()
    split_list extra "${KNOWN_REGIONS_EXTRA:-}"
    for r in ${extra[@]+"${extra[@]}"}; do
        [[ $r =~ $REGION_RE ]] || bad KNOWN_REGIONS_EXTRA "$KNOWN_REGIONS_EXTRA" "'$(settings_show "$r")' is not a region name (want e.g. ap-east-2)"
    done
    for r in "${REGION_LIST[@]}"; do
        [[ $r =~ $REGION_RE ]] || bad REGIONS "$REGIONS" "'$(settings_show "$r")' is not a region name (want e.g. us-east-1)"
        case " $(echo $KNOWN_REGIONS ${extra[@]+"${extra[@]}"}) " in
        *" $r "*) ;;
        *) bad REGIONS "$REGIONS" "unknown region '$r' (known: $(echo $KNOWN_REGIONS); add one with KNOWN_REGIONS_EXTRA)" ;;
        esac
    done
    [ "$(printf '%s\n' "${REGION_LIST[@]}" | sort | uniq -d)" = "" ] || bad REGIONS "$REGIONS" "a region is named twice"
    command -v "$AWS_CLI" >/dev/null || bad AWS_CLI "$AWS_CLI" "not found (apt-get install awscli, or set AWS_CLI)"
    command -v jq >/dev/null || die "jq not found (apt-get install jq)"
    settings_retries
    settings_check_prefix
    [ -z "${VERSION:-}" ] || [[ $VERSION =~ ^[1-9][0-9]{0,8}$ ]] ||
        bad VERSION "$VERSION" "want a function version number such as 3 (rollback moves live to it)"
    case "$verb" in
    publish | content-status | rollback | logs) ;;
    *) settings_check_stack "$verb" ;;
    esac
    [ "$verb" != publish ] || settings_check_publish
    aws_server_start
    settings_account
    case "$verb" in
    publish | content-status | rollback | logs) ;;
    *) settings_zone ;;
    esac
    if [ "$MODE" = edge ] && { [ "$verb" = deploy ] || [ "$verb" = plan ]; } && declare -F fleet_quota_check >/dev/null; then
        fleet_quota_check
    fi
}

# The CLI's retry mode and attempts, exported before the first call (the CLI servers inherit them); the
# variables win over ~/.aws/config. AWS CLI user guide, "AWS CLI retries": standard mode retries
# throttling errors (Throttling, ThrottlingException, TooManyRequestsException, RequestLimitExceeded,
# SlowDown, ...) and HTTP 500/502/503/504 with exponential backoff (base 2, at most 20 s).
settings_retries() {
    case "${CLI_RETRY_MODE:=standard}" in standard | adaptive) ;;
    *) bad CLI_RETRY_MODE "$CLI_RETRY_MODE" "want standard or adaptive" ;;
    esac
    is_uint "${CLI_MAX_ATTEMPTS:=10}" && [ "$CLI_MAX_ATTEMPTS" -ge 1 ] && [ "$CLI_MAX_ATTEMPTS" -le 20 ] ||
        bad CLI_MAX_ATTEMPTS "$CLI_MAX_ATTEMPTS" "want 1-20 (attempts, the first included)"
    export AWS_RETRY_MODE=$CLI_RETRY_MODE AWS_MAX_ATTEMPTS=$CLI_MAX_ATTEMPTS
}

settings_check_stack() {
    local verb=$1
    case "$MODE" in direct | edge) ;; *) bad MODE "$MODE" "want direct or edge" ;; esac
    case "$MODE/${ORIGIN:-}" in
    edge/url | edge/apigw | direct/apigw) ;;
    direct/url) bad ORIGIN "$ORIGIN" "MODE=direct serves browsers from API Gateway's custom domain: want apigw (or MODE=edge)" ;;
    *) bad ORIGIN "${ORIGIN:-}" "want url (the function URL behind the edges) or apigw (API Gateway)" ;;
    esac
    if [ "$ORIGIN" = url ]; then
        is_uint "${RESERVED_CONCURRENCY:-}" && [ "$RESERVED_CONCURRENCY" -ge 1 ] ||
            bad RESERVED_CONCURRENCY "${RESERVED_CONCURRENCY:-}" "want a whole number >= 1 (concurrent executions per region)"
        is_uint "${ORIGIN_WAIT:-}" || bad ORIGIN_WAIT "${ORIGIN_WAIT:-}" "want seconds"
        # Function URLs made since October 2025 need lambda:InvokeFunction granted with InvokedViaFunctionUrl
        # (origin.sh). A CLI whose model predates it (Debian 12's aws-cli 2.9) refuses the flag after the URL
        # is made, so say it here, before any write.
        case "$verb" in
        deploy | plan)
            "$AWS_CLI" lambda add-permission help 2>/dev/null | grep -q -- '--invoked-via-function-url' ||
                bad AWS_CLI "$AWS_CLI" "its lambda add-permission has no --invoked-via-function-url, which ORIGIN=url needs (AWS asks for it on function URLs since October 2025): use a newer aws CLI (pip install -U awscli, or the .venv that scripts/find-aws-python.sh makes), or ORIGIN=apigw"
            ;;
        esac
    fi
    if [ "$MODE" = edge ]; then
        [ ${#FLEET_STEPS[@]} -gt 0 ] || bad MODE "$MODE" "no edge fleet steps here (deploy/lib/fleet*.sh, issue 12)"
        ! declare -F fleet_settings_check >/dev/null || fleet_settings_check "$verb"
        settings_check_edge_security "$verb"
    fi
    [[ $DOMAIN =~ ^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$ ]] ||
        bad DOMAIN "$DOMAIN" "want a lower-case DNS name such as example.com (fast.\$DOMAIN is served)"
    is_uint "$MEMORY" && [ "$MEMORY" -ge 128 ] && [ "$MEMORY" -le 10240 ] || bad MEMORY "$MEMORY" "want 128-10240 (MB)"
    is_uint "$TIMEOUT" && [ "$TIMEOUT" -ge 1 ] && [ "$TIMEOUT" -le 900 ] || bad TIMEOUT "$TIMEOUT" "want 1-900 (seconds)"
    case "$ARCH" in x86_64 | arm64) ;; *) bad ARCH "$ARCH" "want x86_64 or arm64" ;; esac
    is_uint "$THROTTLE_RATE" && [ "$THROTTLE_RATE" -ge 1 ] || bad THROTTLE_RATE "$THROTTLE_RATE" "want a whole number >= 1 (requests/s)"
    is_uint "$THROTTLE_BURST" && [ "$THROTTLE_BURST" -ge 1 ] || bad THROTTLE_BURST "$THROTTLE_BURST" "want a whole number >= 1"
    is_uint "$CERT_WAIT" || bad CERT_WAIT "$CERT_WAIT" "want seconds"
    is_uint "${PROPAGATION_WAIT:=120}" || bad PROPAGATION_WAIT "$PROPAGATION_WAIT" "want seconds (e.g. 120)"
    is_uint "${RELEASE_WAIT:=300}" || bad RELEASE_WAIT "$RELEASE_WAIT" "want seconds (e.g. 300)"
    case " 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653 " in
    *" ${LOG_RETENTION_DAYS:=30} "*) ;;
    *) bad LOG_RETENTION_DAYS "$LOG_RETENTION_DAYS" "want one of 1 3 5 7 14 30 60 90 120 150 180 365 400 545 731 1096 1827 2192 2557 2922 3288 3653 (days)" ;;
    esac
    case "${HEALTH_INTERVAL:=30}" in 10 | 30) ;; *) bad HEALTH_INTERVAL "$HEALTH_INTERVAL" "want 30 (standard) or 10 (fast) seconds" ;; esac
    [[ $HEALTH_PATH =~ ^/[A-Za-z0-9/_.-]*$ ]] && [[ ! /$HEALTH_PATH/ =~ /\.\.?/ ]] ||
        bad HEALTH_PATH "$HEALTH_PATH" "want an absolute path such as /healthz (no . or .. segment)"
    [ -z "$HOSTED_ZONE_ID" ] || [[ $HOSTED_ZONE_ID =~ ^(/hostedzone/)?Z[A-Z0-9]{1,32}$ ]] ||
        bad HOSTED_ZONE_ID "$HOSTED_ZONE_ID" "want a Route53 zone id such as Z0123456789ABCDEFGHIJ (or nothing: found from DOMAIN)"
    if [ "$verb" = deploy ] || [ "$verb" = plan ]; then
        [ -r "$ZIP" ] && [ -s "$ZIP" ] || bad ZIP "$ZIP" "not readable (run make package first)"
        settings_check_cert
    fi
}

# CONTENT_PREFIX: the function refuses a store prefix with an empty, "." or ".." segment at every
# cold start, so such a prefix is refused here, before anything is deployed.
settings_check_prefix() {
    local seg
    [ -n "$CONTENT_PREFIX" ] || return 0
    [[ $CONTENT_PREFIX =~ ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$ ]] ||
        bad CONTENT_PREFIX "$CONTENT_PREFIX" "want a key prefix such as content/v1 (letters, digits, _ . -; no empty segment, no leading or trailing /)"
    for seg in ${CONTENT_PREFIX//\// }; do
        case "$seg" in . | ..) bad CONTENT_PREFIX "$CONTENT_PREFIX" "a '$seg' segment: the function refuses it (want e.g. content/v1)" ;; esac
    done
}

# publish: SRC is a store folder; CONFIRM_DELETE and PUBLISH_DELETE_MAX say how much it may delete.
settings_check_publish() {
    : "${PUBLISH_DELETE_MAX:=20}"
    is_uint "$PUBLISH_DELETE_MAX" && [ "$PUBLISH_DELETE_MAX" -le 100 ] ||
        bad PUBLISH_DELETE_MAX "$PUBLISH_DELETE_MAX" "want a percentage 0-100 (a publish deleting more of a region's objects needs CONFIRM_DELETE=1)"
    case "${CONFIRM_DELETE:-0}" in 0 | 1) ;; *) bad CONFIRM_DELETE "$CONFIRM_DELETE" "want 0 or 1" ;; esac
}

# The edge's settings that reach the user data (run as root) or a security group rule.
settings_check_edge_security() {
    local verb=$1
    : "${EDGE_ADMIN_CIDR:=}" "${EDGE_AMI_PARAM:=}"
    [ -z "$EDGE_AMI_PARAM" ] || [[ $EDGE_AMI_PARAM =~ ^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$ ]] ||
        bad EDGE_AMI_PARAM "$EDGE_AMI_PARAM" "want an SSM parameter name such as /aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
    if [ -n "$EDGE_ADMIN_CIDR" ]; then
        [[ $EDGE_ADMIN_CIDR =~ ^([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})\.([0-9]{1,3})/([0-9]{1,2})$ ]] &&
            [ "${BASH_REMATCH[1]}" -le 255 ] && [ "${BASH_REMATCH[2]}" -le 255 ] && [ "${BASH_REMATCH[3]}" -le 255 ] &&
            [ "${BASH_REMATCH[4]}" -le 255 ] && [ "${BASH_REMATCH[5]}" -le 32 ] ||
            bad EDGE_ADMIN_CIDR "$EDGE_ADMIN_CIDR" "want an IPv4 range such as 10.0.0.0/16 (or nothing: the admin port listens on 127.0.0.1 only)"
        [ "$EDGE_ADMIN_CIDR" != 0.0.0.0/0 ] ||
            bad EDGE_ADMIN_CIDR "$EDGE_ADMIN_CIDR" "would open /metrics to the whole internet; name your monitoring range"
    fi
    case "$verb" in deploy | plan) ;; *) return 0 ;; esac
    [[ $(basename -- "${EDGE_ARTIFACT:-}") =~ $EDGE_ARTIFACT_RE ]] ||
        bad EDGE_ARTIFACT "$EDGE_ARTIFACT" "want a file named nearjs-edge-<version>-<x86_64|arm64>.tar.gz, as make edge-package names it"
}

settings_check_cert() {
    [ -z "$CERT_FILE$KEY_FILE$CHAIN_FILE" ] && return 0
    [ -n "$CERT_FILE" ] && [ -n "$KEY_FILE" ] || bad CERT_FILE "$CERT_FILE" "give CERT_FILE and KEY_FILE together (or neither: ACM requests one)"
    local f name r
    for f in CERT_FILE KEY_FILE CHAIN_FILE; do
        [ -z "${!f}" ] || [ -r "${!f}" ] || bad "$f" "${!f}" "not readable"
    done
    openssl x509 -in "$CERT_FILE" -noout 2>/dev/null || bad CERT_FILE "$CERT_FILE" "not a PEM certificate"
    openssl pkey -in "$KEY_FILE" -noout 2>/dev/null || bad KEY_FILE "$KEY_FILE" "not a PEM private key (unencrypted)"
    [ "$(openssl x509 -in "$CERT_FILE" -noout -pubkey | openssl sha256)" = "$(openssl pkey -in "$KEY_FILE" -pubout | openssl sha256)" ] ||
        bad KEY_FILE "$KEY_FILE" "does not match CERT_FILE '$CERT_FILE'"
    for r in "${REGION_LIST[@]}"; do
        for name in $(cert_names "$r"); do
            openssl x509 -in "$CERT_FILE" -noout -checkhost "$name" 2>/dev/null | grep -q 'does match' ||
                bad CERT_FILE "$CERT_FILE" "does not cover $name (a certificate for *.$DOMAIN does)"
        done
    done
    cert_split
    settings_check_chain
}

# The leaf must reach a root clients trust. API Gateway serves exactly the Certificate and
# CertificateChain it was given, and the edges serve CERT_FILE then CHAIN_FILE: a leaf from an
# intermediate CA with no chain would be served alone, so browsers (and the edges' own check of the
# gateway's certificate) would fail. No chain: the leaf must verify against this machine's trust roots.
# A chain: it must hold the leaf's issuer (ACM's own rule for ImportCertificate).
settings_check_chain() {
    local issuer subject f
    issuer=$(openssl x509 -in "$CERT_LEAF" -noout -issuer -nameopt RFC2253 | sed 's/^issuer=//')
    if [ -z "$CERT_CHAIN" ]; then
        openssl verify "$CERT_LEAF" >/dev/null 2>&1 ||
            bad CERT_FILE "$CERT_FILE" "issued by '$issuer', which is not a trusted root, and no chain was given: API Gateway would serve this certificate alone, so browsers and the edges' check of the gateway would fail; give CERT_FILE=fullchain.pem (the certificate, then its intermediates, as certbot writes it) or CHAIN_FILE=chain.pem"
        return 0
    fi
    for f in $(awk -v d="$RUN_DIR" '/-----BEGIN CERTIFICATE-----/ { n++ } n { print > (d "/chain-" n ".pem") }
            END { for (i = 1; i <= n; i++) print d "/chain-" i ".pem" }' "$CERT_CHAIN"); do
        subject=$(openssl x509 -in "$f" -noout -subject -nameopt RFC2253 2>/dev/null | sed 's/^subject=//')
        [ "$subject" != "$issuer" ] || return 0
    done
    bad CHAIN_FILE "${CHAIN_FILE:-$CERT_FILE}" "the chain does not hold the certificate's issuer '$issuer' (ACM refuses it): give the intermediates that issued it"
}

settings_account() {
    local out
    out=$(aws_ sts get-caller-identity) || die "cannot reach AWS with these credentials (sts get-caller-identity failed; see above)"
    ACCOUNT=$(jq -r .Account <<<"$out")
    PRINCIPAL=$(jq -r .Arn <<<"$out") # who deploys: the nearjs:deployed-by tag (deploy/lib/status.sh)
}

# The hosted zone: HOSTED_ZONE_ID, or the public zone whose name is the longest suffix of DOMAIN.
settings_zone() {
    local out
    if [ -n "$HOSTED_ZONE_ID" ]; then
        out=$(AWS_QUIET=1 aws_ route53 get-hosted-zone --id "$HOSTED_ZONE_ID") ||
            bad HOSTED_ZONE_ID "$HOSTED_ZONE_ID" "no such hosted zone ($(cat "$RUN_DIR/error.global"))"
        ZONE_NAME=$(jq -r '.HostedZone.Name | rtrimstr(".")' <<<"$out")
        case "$DOMAIN" in "$ZONE_NAME" | *".$ZONE_NAME") ;; *) bad HOSTED_ZONE_ID "$HOSTED_ZONE_ID" "zone $ZONE_NAME does not hold $DOMAIN" ;; esac
        ZONE_ID=${HOSTED_ZONE_ID#/hostedzone/}
        return 0
    fi
    out=$(aws_ route53 list-hosted-zones) || die "cannot list hosted zones (see above)"
    read -r ZONE_ID ZONE_NAME < <(jq -r --arg d "$DOMAIN" '
        [.HostedZones[] | select(.Config.PrivateZone | not) | {id: (.Id | ltrimstr("/hostedzone/")), name: (.Name | rtrimstr("."))}
         | select(.name as $z | $d == $z or ($d | endswith("." + $z)))] | sort_by(.name | length) | last // empty
        | "\(.id) \(.name)"' <<<"$out")
    [ -n "${ZONE_ID:-}" ] || bad DOMAIN "$DOMAIN" "no public Route53 hosted zone holds it (create one, or set HOSTED_ZONE_ID)"
}

# Names of everything per region; one place, so find, create and destroy agree.
fn_name() { printf '%s' "$STACK"; }
role_name() { printf '%s-fn-%s' "$STACK" "$1"; }
artifact_bucket() { printf '%s-artifacts-%s-%s' "$STACK" "$ACCOUNT" "$1"; }
content_bucket() { printf '%s-content-%s-%s' "$STACK" "$ACCOUNT" "$1"; }
content_store() { printf 's3://%s%s' "$(content_bucket "$1")" "${CONTENT_PREFIX:+/$CONTENT_PREFIX}"; }
api_name() { printf '%s' "$STACK"; }
regional_name() { printf '%s-fast.%s' "$1" "$DOMAIN"; }
public_name() { printf 'fast.%s' "$DOMAIN"; }
# The custom domains (and certificate names) of a region: its own name, and fast.$DOMAIN in direct mode.
cert_names() {
    regional_name "$1"
    if [ "$MODE" = direct ]; then printf ' %s' "$(public_name)"; fi
    echo
}
