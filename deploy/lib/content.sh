# deploy/lib/content.sh: step `content` (each region's private content bucket, which its function's
# NEARJS_STORE points at), and the `publish` and `content-status` verbs over those buckets.
# publish compares each local file's MD5 with the object's ETag (S3's ETag of a single-part upload is
# its MD5), so a re-run puts nothing; objects under CONTENT_PREFIX that SRC no longer has are deleted
# (the buckets are versioned: deploy/README.md says how to get a deleted or overwritten object back).
# Every S3 call names the account as the expected bucket owner, and publish writes only to a bucket in
# the account's own list-buckets: a bucket of the same name in another account gets nothing.

step_content() { bucket_ensure "$(content_bucket "$REGION")" content; }

destroy_content() {
    if [ "${DESTROY_CONTENT:-0}" != 1 ]; then
        log "keeping content bucket $(content_bucket "$REGION") (DESTROY_CONTENT=1 deletes it)"
        return 0
    fi
    bucket_destroy "$(content_bucket "$REGION")" content
}

content_key() { printf '%s%s' "${CONTENT_PREFIX:+$CONTENT_PREFIX/}" "$1"; }

content_type() {
    case "$1" in
    *.js) echo application/javascript ;;
    *.json) echo application/json ;;
    *) echo application/octet-stream ;;
    esac
}

# The local side once for all regions: "md5 key path" per file of SRC, in $RUN_DIR/local. Paths are
# relative to SRC whatever its spelling (SRC=dir/ as tab completion writes it is SRC=dir); hidden files
# and everything under a hidden folder (.git/, .aws/credentials) are left out, never published.
publish_prepare() {
    [ -n "${SRC:-}" ] || die "publish needs SRC=dir (a store folder, e.g. SRC=function/demo)"
    [ -d "$SRC" ] || die "publish: SRC=$(settings_show "$SRC") is not a folder"
    [ -f "$SRC/loader.js" ] && [ -r "$SRC/loader.js" ] ||
        die "publish: SRC=$(settings_show "$SRC") has no loader.js file (not a store folder: see function/README.md)"
    local rel src
    src=$(realpath -- "$SRC") # absolute: a folder named -x is never read as an option
    : >"$RUN_DIR/local"
    while IFS= read -r -d '' rel; do
        [[ $rel =~ ^[A-Za-z0-9_./-]+$ ]] ||
            die "publish: file name $(settings_show "$rel") has characters a store key does not take (letters, digits, _ . - /)"
        printf '%s %s %s\n' "$(md5sum <"$src/$rel" | cut -d' ' -f1)" "$(content_key "$rel")" "$src/$rel" >>"$RUN_DIR/local"
    done < <(find "$src" -mindepth 1 -name '.*' -prune -o -type f -printf '%P\0' | sort -z)
    grep -q " $(content_key loader.js) " "$RUN_DIR/local" ||
        die "publish: SRC=$(settings_show "$SRC") would leave no loader.js in the store: refused"
}

# content_owned BUCKET: 0 when this account owns BUCKET (it is in the account's own list-buckets, which
# never lists another account's bucket, whatever its name or tags); else refuses, naming it.
content_owned() {
    aws_ s3api list-buckets | jq -e --arg b "$1" 'any(.Buckets[]?; .Name == $b)' >/dev/null ||
        refuse "bucket $1 is not this account's ($ACCOUNT): another account owns that name, or it does not exist (run make deploy); nothing published there"
}

# Objects of a content bucket under the prefix as "etag key" lines.
content_list() { # bucket
    local pre=()
    [ -z "$CONTENT_PREFIX" ] || pre=(--prefix "$CONTENT_PREFIX/")
    aws_ s3api list-objects-v2 --bucket "$1" --expected-bucket-owner "$ACCOUNT" "${pre[@]}" |
        jq -r '.Contents // [] | .[] | "\(.ETag | gsub("\""; "")) \(.Key)"'
}

region_publish() {
    local b remote md5 key path gone=() n_have
    b=$(content_bucket "$REGION")
    CUR_STEP="check s3://$b"
    content_owned "$b"
    CUR_STEP="list s3://$b"
    remote=$(content_list "$b")
    declare -A have=() want=()
    while read -r md5 key; do [ -n "$key" ] && have[$key]=$md5; done <<<"$remote"
    while read -r md5 key path; do want[$key]=1; done <"$RUN_DIR/local"
    for key in "${!have[@]}"; do [ -n "${want[$key]:-}" ] || gone+=("$key"); done
    # A publish that would delete more than PUBLISH_DELETE_MAX percent of the region's objects (and more
    # than one) is most likely the wrong SRC: it needs CONFIRM_DELETE=1.
    n_have=${#have[@]}
    if [ "${#gone[@]}" -gt 1 ] && [ $((${#gone[@]} * 100)) -gt $((${PUBLISH_DELETE_MAX:-20} * n_have)) ] &&
        [ "${CONFIRM_DELETE:-0}" != 1 ]; then
        CUR_STEP="delete check"
        refuse "publish would delete ${#gone[@]} of the $n_have objects in s3://$b (more than PUBLISH_DELETE_MAX=${PUBLISH_DELETE_MAX:-20}%): check SRC, or run again with CONFIRM_DELETE=1"
    fi
    while read -r md5 key path; do
        if [ "${have[$key]:-}" = "$md5" ]; then
            note keep "$key"
            continue
        fi
        CUR_STEP="put $key"
        # --key=K: a key starting with - is a value, not an option.
        AWS_QUIET=0 aws_ s3api put-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" "--key=$key" "--body=$path" \
            --content-type "$(content_type "$key")" >/dev/null
        note put "$key"
    done <"$RUN_DIR/local"
    for key in ${gone[@]+"${gone[@]}"}; do
        CUR_STEP="delete $key"
        aws_ s3api delete-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" "--key=$key" >/dev/null
        note delete "$key"
    done
}

# content-status: every region's listing, then each key whose ETag is not the same everywhere.
content_status() {
    local r rc=0
    # One list call per region, one after the other through this shell's CLI server.
    for r in "${REGION_LIST[@]}"; do
        if ! (REGION=$r && content_list "$(content_bucket "$r")" >"$RUN_DIR/list.$r"); then
            echo "$r: cannot list $(content_bucket "$r"): $(cat "$RUN_DIR/error.$r")"
            rc=2
        fi
    done
    [ "$rc" -eq 0 ] || return "$rc"
    for r in "${REGION_LIST[@]}"; do awk -v r="$r" '{ print r " " $0 }' "$RUN_DIR/list.$r"; done | awk -v regions="${REGION_LIST[*]}" '
        { etag[$3, $1] = $2; keys[$3] = 1 }
        END {
            n = split(regions, R, " "); diff = 0; total = 0
            for (k in keys) {
                total++; same = 1; first = ((k, R[1]) in etag) ? etag[k, R[1]] : "(missing)"
                line = k ":"
                for (i = 1; i <= n; i++) {
                    e = ((k, R[i]) in etag) ? etag[k, R[i]] : "(missing)"
                    if (e != first) same = 0
                    line = line " " R[i] "=" e
                }
                if (!same) { print "1 " line; diff++ }
            }
            if (diff) { printf "2 content-status: %d of %d objects differ across %d regions\n", diff, total, n; exit 1 }
            printf "2 content-status: %d objects, the same in all %d regions\n", total, n
        }' | sort | cut -d' ' -f2-
    return "${PIPESTATUS[1]}"
}
