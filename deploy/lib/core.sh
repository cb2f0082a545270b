# deploy/lib/core.sh: logging, the aws CLI wrapper and change accounting that every step uses.
# Sourced by deploy/nearjs-deploy.sh. Invariants:
# - stdout of a helper is data (JSON), never log text; every log line goes to stderr, which the
#   pipeline prefixes with "[region] ".
# - every AWS call goes through aws_ (one place for --endpoint-url, --region, the call log and the plan
#   guard); a call whose operation is not a read (get-/list-/describe-/head-/wait) is a write, and a
#   write in plan mode (DRY_RUN=1) is refused here whatever the step does.
# - change() is how steps write: it logs, records create/update/delete for the summary, and in plan
#   mode only says what it would do.
# Globals: REGION (the region being worked on), RUN_DIR (this run's scratch folder), DRY_RUN,
# AWS_CLI, AWS_ENDPOINT_URL, NEARJS_CALL_LOG (optional: one line per call "read|write region service op"),
# AWS_CALL_REGION (optional: call that region, e.g. us-east-1's alarms, while notes and errors stay REGION's).

log() { printf '%s\n' "$*" >&2; }

die() { # message: for errors outside a region (settings): one line, exit 2
    printf 'deploy: %s\n' "$*" >&2
    exit 2
}

plan() { [ "${DRY_RUN:-0}" = 1 ]; }

aws_is_read() { # service op
    case "$2" in
    get-* | list-* | describe-* | head-* | wait) return 0 ;;
    esac
    return 1
}

# aws_ SERVICE OP ARGS...: runs the CLI for REGION; prints its JSON answer. On failure: the CLI's
# error goes to stderr and to $RUN_DIR/error.$REGION (the summary quotes it), and the CLI's status
# is returned.
aws_() {
    local kind=write rc=0 errf
    aws_is_read "$@" && kind=read
    if [ "$kind" = write ] && plan; then
        log "internal error: write call '$1 $2' in plan mode refused"
        return 70
    fi
    if [ -n "${NEARJS_CALL_LOG:-}" ]; then
        printf '%s %s %s %s %s\n' "$kind" "${AWS_CALL_REGION:-${REGION:-global}}" "$1" "$2" "$EPOCHREALTIME" >>"$NEARJS_CALL_LOG"
    fi
    local ep=()
    [ -n "${AWS_ENDPOINT_URL:-}" ] && ep=(--endpoint-url "$AWS_ENDPOINT_URL")
    errf="$RUN_DIR/aws-err.$BASHPID"
    if [ -n "${AWSD_IN:-}" ]; then
        aws_via_server "$errf" "${ep[@]}" --region "${AWS_CALL_REGION:-${REGION:-us-east-1}}" --output json "$@" || rc=$?
    else
        AWS_PAGER="" "$AWS_CLI" "${ep[@]}" --region "${AWS_CALL_REGION:-${REGION:-us-east-1}}" --output json "$@" 2>"$errf" || rc=$?
    fi
    if [ "$rc" -ne 0 ]; then
        AWS_ERROR=$(grep -v '^[[:space:]]*$' "$errf" | tail -n 3 | tr '\n' ' ')
        printf '%s %s: %s\n' "$1" "$2" "$AWS_ERROR" >"$RUN_DIR/error.${REGION:-global}"
        [ "${AWS_QUIET:-0}" = 1 ] || log "aws $1 $2 failed: $AWS_ERROR"
    fi
    rm -f "$errf"
    return "$rc"
}

# The CLI as a server (AWS_CLI_SERVER=auto|1|0; auto: when AWS_CLI is a Python script whose interpreter
# has awscli.clidriver, i.e. the aws CLI v1 and Debian's v2): deploy/lib/aws-driver.py runs each
# command with the CLI's own driver in one long-lived process, saving ~1 s of start-up per call.
# aws_server_start starts one for the calling shell (each region's subshell has its own: its calls
# are sequential); its fds 7 (requests) and 8 (answers) are inherited by command substitutions.
aws_server_python() {
    local path py
    path=$(command -v "$AWS_CLI") || return 1
    read -r py <"$path" || return 1
    case "$py" in '#!'*python*) py=${py#\#!} ;; *) return 1 ;; esac
    py=${py%% *}
    "$py" -c 'import awscli.clidriver' 2>/dev/null || return 1
    printf '%s' "$py"
}

aws_server_start() {
    local py
    case "${AWS_CLI_SERVER:-auto}" in
    0 | no | off) return 0 ;;
    esac
    if ! py=$(aws_server_python); then
        case "${AWS_CLI_SERVER:-auto}" in
        auto) return 0 ;;
        *) die "AWS_CLI_SERVER=1 but $AWS_CLI is not a Python aws CLI with awscli.clidriver" ;;
        esac
    fi
    AWSD_IN="$RUN_DIR/awsd.$BASHPID.in"
    mkfifo "$AWSD_IN" "$AWSD_IN.out"
    AWS_PAGER="" "$py" "$DEPLOY_DIR/lib/aws-driver.py" <"$AWSD_IN" >"$AWSD_IN.out" &
    exec 7>"$AWSD_IN" 8<"$AWSD_IN.out"
}

aws_via_server() { # errfile args...
    local errf=$1 outf rc
    shift
    outf="$errf.out"
    # The request: its field count, then the fields, each ended by a NUL (no field holds one).
    printf '%s\0' "$(($# + 2))" "$outf" "$errf" "$@" >&7
    if ! read -r rc <&8 || ! [[ $rc =~ ^[0-9]+$ ]]; then
        echo "aws-driver: the CLI server process ended" >"$errf"
        return 255
    fi
    cat "$outf" 2>/dev/null
    rm -f "$outf"
    return "$rc"
}

# aws_find PATTERN SERVICE OP ARGS...: a read that may find nothing. Prints the JSON answer when found,
# nothing when the call failed with an error matching PATTERN (an extended regex, e.g.
# 'ResourceNotFoundException|\(404\)'); any other failure returns non-zero.
aws_find() {
    local pattern=$1 out rc=0
    shift
    out=$(AWS_QUIET=1 aws_ "$@") || rc=$?
    if [ "$rc" -eq 0 ]; then
        [ -n "$out" ] || out='{}' # found, even when the answer is empty (head-bucket)
        printf '%s\n' "$out"
        return 0
    fi
    if grep -Eq -- "$pattern" "$RUN_DIR/error.${REGION:-global}"; then
        rm -f "$RUN_DIR/error.${REGION:-global}"
        return 0
    fi
    log "aws $1 $2 failed: $(cat "$RUN_DIR/error.${REGION:-global}")"
    return "$rc"
}

# note VERB WHAT: records one outcome for the region's summary. VERB: create, update, delete, keep.
note() { printf '%s %s\n' "$1" "$2" >>"$RUN_DIR/notes.${REGION:-global}"; }

# change VERB WHAT SERVICE OP ARGS...: a write. Logs "VERB WHAT" (plan: "would VERB WHAT") and
# notes it; prints the call's JSON answer (plan: nothing).
change() {
    local verb=$1 what=$2
    shift 2
    note "$verb" "$what"
    if plan; then
        log "would $verb $what"
        return 0
    fi
    log "$verb $what"
    aws_ "$@"
}

keep() { note keep "$1"; }

# change_settling WHAT PATTERN VERB DESC SERVICE OP ARGS...: change VERB DESC SERVICE OP ARGS, retried
# while it fails with an error matching PATTERN (an extended regex): an IAM role or instance profile made
# or changed moments ago that the service cannot use yet. IAM is eventually consistent, and Lambda and
# EC2 see a new role, policy or profile seconds to minutes later (aws/aws-cli#7700: `iam wait
# role-exists` does not mean Lambda can assume it; IAM user guide, "Changes that I make are not always
# immediately visible"). Up to PROPAGATION_WAIT seconds (default 120), then one line naming WHAT.
change_settling() {
    change_retrying "${PROPAGATION_WAIT:-120}" "$1" "$2" "not usable by $5 yet (IAM changes take a while to propagate)" \
        "is still not usable by $5 after %s s (IAM propagation; PROPAGATION_WAIT=${PROPAGATION_WAIT:-120}): re-run later, or check it in the IAM console" \
        "${@:3}"
}

# change_released WHAT PATTERN VERB DESC SERVICE OP ARGS...: the same for a delete that AWS refuses while
# something still uses the resource, and for a while after its last user is gone (ACM's
# ResourceInUseException after the custom domains on a certificate are deleted: aws/aws-cdk#36265). Up to
# RELEASE_WAIT seconds (default 300), then one line naming WHAT.
change_released() {
    change_retrying "${RELEASE_WAIT:-300}" "$1" "$2" "still in use (AWS lets go of it a while after its last user is deleted)" \
        "is still in use after %s s (RELEASE_WAIT=${RELEASE_WAIT:-300}): re-run destroy later; the AWS console lists what uses it" \
        "${@:3}"
}

# change_retrying LIMIT WHAT PATTERN WAITING GIVEUP VERB DESC SERVICE OP ARGS...: change VERB DESC ...,
# retried with backoff (2, 4, 8, 15, 15... s) while its error matches PATTERN, a progress line "WHAT
# WAITING: retrying in N s" each time; after LIMIT seconds, refuse "WHAT GIVEUP" (%s: the seconds
# waited) and fail. Any other error fails at once. Noted (counted) once.
change_retrying() {
    local limit=$1 what=$2 pattern=$3 waiting=$4 giveup=$5 verb=$6 desc=$7 out rc waited=0 pause=2
    shift 7
    note "$verb" "$desc"
    if plan; then
        log "would $verb $desc"
        return 0
    fi
    log "$verb $desc"
    while :; do
        rc=0
        out=$(AWS_QUIET=1 aws_ "$@") || rc=$?
        if [ "$rc" -eq 0 ]; then
            rm -f "$RUN_DIR/error.${REGION:-global}"
            printf '%s\n' "$out"
            return 0
        fi
        if ! grep -Eq -- "$pattern" "$RUN_DIR/error.${REGION:-global}" 2>/dev/null; then
            log "aws $1 $2 failed: $(cat "$RUN_DIR/error.${REGION:-global}" 2>/dev/null)"
            return "$rc"
        fi
        if [ "$waited" -ge "$limit" ]; then
            # shellcheck disable=SC2059
            refuse "$what $(printf "$giveup" "$waited")"
            return 1
        fi
        [ $((waited + pause)) -le "$limit" ] || pause=$((limit - waited))
        [ "$pause" -ge 1 ] || pause=1
        log "$what $waiting: retrying in $pause s ($waited of $limit s so far)"
        sleep "$pause"
        waited=$((waited + pause))
        pause=$((pause * 2))
        [ "$pause" -le 15 ] || pause=15
    done
}

# refuse MESSAGE: a step's own error (e.g. a resource of our name that is not ours): logged, quoted by
# the summary; returns 1, which ends the region.
refuse() {
    log "$*"
    printf '%s\n' "$*" >"$RUN_DIR/error.${REGION:-global}"
    return 1
}

# The stack tag, in the three spellings the services want.
tag_kv() { printf 'nearjs:stack=%s' "$STACK"; }                      # lambda, apigatewayv2
tag_list() { printf 'Key=nearjs:stack,Value=%s' "$STACK"; }          # iam, acm, route53
tag_s3() { printf 'TagSet=[{Key=nearjs:stack,Value=%s}]' "$STACK"; } # s3api put-bucket-tagging

# A placeholder for an id that a plan would create: steps that see it know the thing does not exist yet.
PLANNED="(planned)"
