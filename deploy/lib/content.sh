# deploy/lib/content.sh: step `content` (each region's private content bucket, which its function's
# NEARJS_STORE points at), and the `publish` and `content-status` verbs over those buckets.
# publish compares each local file's MD5 with the object's ETag (S3's ETag of a single-part upload is
# its MD5), so a re-run puts nothing; objects under CONTENT_PREFIX that SRC no longer has are deleted.

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

# The local side once for all regions: "md5 key path" per file of SRC, in $RUN_DIR/local.
publish_prepare() {
    [ -n "${SRC:-}" ] || die "publish needs SRC=dir (a store folder, e.g. SRC=function/demo)"
    [ -d "$SRC" ] || die "publish: SRC='${SRC:0:80}' is not a folder"
    [ -r "$SRC/loader.js" ] || die "publish: SRC='${SRC:0:80}' has no loader.js (not a store folder: see function/README.md)"
    local f rel
    : >"$RUN_DIR/local"
    while IFS= read -r -d '' f; do
        rel=${f#"$SRC"/}
        [[ $rel =~ ^[A-Za-z0-9_./-]+$ ]] || die "publish: file name '${rel:0:80}' has characters a store key does not take"
        printf '%s %s %s\n' "$(md5sum <"$f" | cut -d' ' -f1)" "$(content_key "$rel")" "$f" >>"$RUN_DIR/local"
    done < <(find "$SRC" -type f ! -name '.*' -print0 | sort -z)
}

# Objects of a content bucket under the prefix as "etag key" lines.
content_list() { # bucket
    local pre=()
    [ -z "$CONTENT_PREFIX" ] || pre=(--prefix "$CONTENT_PREFIX/")
    aws_ s3api list-objects-v2 --bucket "$1" "${pre[@]}" | jq -r '.Contents // [] | .[] | "\(.ETag | gsub("\""; "")) \(.Key)"'
}

region_publish() {
    local b remote md5 key path
    b=$(content_bucket "$REGION")
    CUR_STEP="list s3://$b"
    remote=$(content_list "$b")
    declare -A have=() want=()
    while read -r md5 key; do [ -n "$key" ] && have[$key]=$md5; done <<<"$remote"
    while read -r md5 key path; do
        want[$key]=1
        if [ "${have[$key]:-}" = "$md5" ]; then
            note keep "$key"
            continue
        fi
        CUR_STEP="put $key"
        AWS_QUIET=0 aws_ s3api put-object --bucket "$b" --key "$key" --body "$path" --content-type "$(content_type "$key")" >/dev/null
        note put "$key"
    done <"$RUN_DIR/local"
    for key in "${!have[@]}"; do
        [ -z "${want[$key]:-}" ] || continue
        CUR_STEP="delete $key"
        aws_ s3api delete-object --bucket "$b" --key "$key" >/dev/null
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
    for r in "${REGION_LIST[@]}"; do sed "s/^/$r /" "$RUN_DIR/list.$r"; done | awk -v regions="${REGION_LIST[*]}" '
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
