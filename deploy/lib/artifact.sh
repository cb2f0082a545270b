# deploy/lib/artifact.sh: step `artifact`. Per region a private artifact bucket holding the function's
# zip under its content hash (fn/<sha256>.zip): an unchanged zip costs one head-object, a changed one
# a new key (old keys stay: rollback's versions point at them; destroy removes the bucket).
# Sets ZIP_KEY, ZIP_SHA_B64 (Lambda's CodeSha256: base64 of the zip's SHA-256) before the regions run.

prepare_artifact() {
    local hex
    hex=$(sha256sum "$ZIP" | cut -d' ' -f1)
    ZIP_KEY="fn/$hex.zip"
    ZIP_SHA_B64=$(openssl dgst -sha256 -binary "$ZIP" | base64 -w0)
}

# bucket_ensure BUCKET WHAT: find-or-create a private bucket of this account, tagged with the stack.
# A bucket is ours only when it is in this account's own list-buckets: names are predictable
# (<stack>-content-<account>-<region>) and a tag is something anyone can set on their own bucket, so a
# same-named bucket of another account is refused, named, and never written to. Then its settings are
# made what bucket_settings says (each read, and written only when it differs).
bucket_ensure() {
    local b=$1 what=$2 tags loc=() out
    if ! bucket_is_ours "$b"; then
        out=$(aws_find 'NoSuchBucket|\(404\)|Not Found' s3api head-bucket --bucket "$b" --expected-bucket-owner "$ACCOUNT") || out=other
        if [ -n "$out" ]; then
            refuse "$what bucket $b exists but belongs to another account (not in this account's list-buckets): not ours; nothing is written to it; change STACK"
        fi
        [ "$REGION" = us-east-1 ] || loc=(--create-bucket-configuration "LocationConstraint=$REGION")
        change create "$what bucket $b" s3api create-bucket --bucket "$b" "${loc[@]}" >/dev/null
        change create "$what bucket $b stack tag" s3api put-bucket-tagging --bucket "$b" --expected-bucket-owner "$ACCOUNT" \
            --tagging "$(tag_s3)" >/dev/null
        bucket_settings "$b" "$what" new
        return 0
    fi
    tags=$(aws_find 'NoSuchTagSet' s3api get-bucket-tagging --bucket "$b" --expected-bucket-owner "$ACCOUNT")
    if [ "$(jq -r '.TagSet // [] | .[] | select(.Key == "nearjs:stack") | .Value' <<<"${tags:-{\}}")" != "$STACK" ]; then
        refuse "$what bucket $b exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
    fi
    keep "$what bucket $b"
    bucket_settings "$b" "$what"
}

# bucket_is_ours BUCKET: 0 when BUCKET is in this account's list-buckets (one read per region and run).
bucket_is_ours() {
    [ -n "${BUCKETS_OURS+set}" ] || BUCKETS_OURS=$(aws_ s3api list-buckets | jq -c '[.Buckets[]?.Name]')
    jq -e --arg b "$1" 'index($b) != null' <<<"$BUCKETS_OURS" >/dev/null
}

# What every bucket of ours has: Block Public Access (all four), default encryption SSE-S3 (AES256, set
# explicitly), versioning (a bad publish or a lost artifact can be undone: deploy/README.md), noncurrent
# versions kept 30 days, and a policy that refuses any request without TLS and any write from
# principals outside this account.
BUCKET_BPA='{"BlockPublicAcls":true,"IgnorePublicAcls":true,"BlockPublicPolicy":true,"RestrictPublicBuckets":true}'
BUCKET_SSE='{"Rules":[{"ApplyServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"},"BucketKeyEnabled":false}]}'
BUCKET_LIFECYCLE='{"Rules":[{"ID":"nearjs-noncurrent-30d","Status":"Enabled","Filter":{"Prefix":""},"NoncurrentVersionExpiration":{"NoncurrentDays":30},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}'
bucket_policy() { # bucket
    jq -cn --arg b "arn:aws:s3:::$1" --arg a "$ACCOUNT" '{Version: "2012-10-17", Statement: [
        {Sid: "DenyWithoutTLS", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [$b, ($b + "/*")],
         Condition: {Bool: {"aws:SecureTransport": "false"}}},
        {Sid: "DenyWritesFromOtherAccounts", Effect: "Deny", Principal: "*",
         Action: ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:RestoreObject"],
         Resource: ($b + "/*"), Condition: {StringNotEquals: {"aws:PrincipalAccount": $a}}}]}'
}

# bucket_settings BUCKET WHAT [new]: each setting read and made right (a new bucket: written at once).
bucket_settings() {
    local b=$1 what=$2 new=${3:-} o=(--bucket "$1" --expected-bucket-owner "$ACCOUNT") have
    have=""
    [ -n "$new" ] || have=$(aws_find 'NoSuchPublicAccessBlockConfiguration' s3api get-public-access-block "${o[@]}" |
        jq -c '.PublicAccessBlockConfiguration // empty | {BlockPublicAcls, IgnorePublicAcls, BlockPublicPolicy, RestrictPublicBuckets}')
    [ "$have" = "$BUCKET_BPA" ] || change "$([ -n "$new" ] && echo create || echo update)" "$what bucket $b public access block" \
        s3api put-public-access-block "${o[@]}" --public-access-block-configuration "$BUCKET_BPA" >/dev/null
    have=""
    [ -n "$new" ] || have=$(aws_find 'ServerSideEncryptionConfigurationNotFoundError' s3api get-bucket-encryption "${o[@]}" |
        jq -r '.ServerSideEncryptionConfiguration.Rules[0].ApplyServerSideEncryptionByDefault.SSEAlgorithm // empty')
    [ "$have" = AES256 ] || change "$([ -n "$new" ] && echo create || echo update)" "$what bucket $b encryption SSE-S3" \
        s3api put-bucket-encryption "${o[@]}" --server-side-encryption-configuration "$BUCKET_SSE" >/dev/null
    have=""
    [ -n "$new" ] || have=$(aws_ s3api get-bucket-versioning "${o[@]}" | jq -r '.Status // empty')
    [ "$have" = Enabled ] || change "$([ -n "$new" ] && echo create || echo update)" "$what bucket $b versioning" \
        s3api put-bucket-versioning "${o[@]}" --versioning-configuration Status=Enabled >/dev/null
    have=""
    [ -n "$new" ] || have=$(aws_find 'NoSuchLifecycleConfiguration' s3api get-bucket-lifecycle-configuration "${o[@]}" |
        jq -r '[.Rules[]? | select(.ID == "nearjs-noncurrent-30d" and .Status == "Enabled") | .NoncurrentVersionExpiration.NoncurrentDays] | first // empty')
    [ "$have" = 30 ] || change "$([ -n "$new" ] && echo create || echo update)" "$what bucket $b lifecycle (noncurrent versions 30 days)" \
        s3api put-bucket-lifecycle-configuration "${o[@]}" --lifecycle-configuration "$BUCKET_LIFECYCLE" >/dev/null
    have=""
    [ -n "$new" ] || have=$(aws_find 'NoSuchBucketPolicy' s3api get-bucket-policy "${o[@]}" | jq -S '.Policy // empty | fromjson')
    [ "$have" = "$(bucket_policy "$b" | jq -S .)" ] || change "$([ -n "$new" ] && echo create || echo update)" \
        "$what bucket $b policy (TLS only, writes from $ACCOUNT only)" s3api put-bucket-policy "${o[@]}" --policy "$(bucket_policy "$b")" >/dev/null
}

step_artifact() {
    local b
    b=$(artifact_bucket "$REGION")
    bucket_ensure "$b" artifact
    if ! bucket_is_ours "$b" && plan; then # a planned bucket: nothing in it yet
        change create "artifact s3://$b/$ZIP_KEY" s3api put-object >/dev/null
        return 0
    fi
    if [ -n "$(aws_find '\(404\)|Not Found|NoSuchBucket|NoSuchKey' s3api head-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" --key "$ZIP_KEY")" ]; then
        keep "artifact s3://$b/$ZIP_KEY"
        return 0
    fi
    change create "artifact s3://$b/$ZIP_KEY" s3api put-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" --key "$ZIP_KEY" --body "$ZIP" >/dev/null
}

# bucket_destroy BUCKET WHAT: empties (every version and delete marker: the buckets are versioned) and
# deletes it when it is this account's and carries the stack tag. An empty bucket gets no delete-objects
# (S3 answers MalformedXML to an empty list).
bucket_destroy() {
    local b=$1 what=$2 tags keys
    bucket_is_ours "$b" || return 0
    tags=$(aws_find 'NoSuchBucket|NoSuchTagSet|\(404\)' s3api get-bucket-tagging --bucket "$b" --expected-bucket-owner "$ACCOUNT")
    if [ -z "$tags" ] || [ "$(jq -r '.TagSet[] | select(.Key == "nearjs:stack") | .Value' <<<"$tags")" != "$STACK" ]; then
        return 0
    fi
    # Every version and delete marker (the buckets are versioned), in batches of at most 1000 keys
    # (DeleteObjects' limit), and none for an empty bucket: DeleteObjects with no object is MalformedXML
    # (S3 API reference, DeleteObjects: Objects is required).
    keys=$(aws_ s3api list-object-versions --bucket "$b" --expected-bucket-owner "$ACCOUNT" |
        jq -c '[(.Versions // []) + (.DeleteMarkers // []) | .[] | {Key, VersionId}] | select(length > 0) | _nwise(1000) | {Objects: ., Quiet: true}')
    while IFS= read -r batch; do
        [ -n "$batch" ] || continue
        change delete "objects in $what bucket $b" s3api delete-objects --bucket "$b" --expected-bucket-owner "$ACCOUNT" \
            --delete "$batch" >/dev/null
    done <<<"$keys"
    change delete "$what bucket $b" s3api delete-bucket --bucket "$b" --expected-bucket-owner "$ACCOUNT" >/dev/null
}

destroy_artifact() { bucket_destroy "$(artifact_bucket "$REGION")" artifact; }
