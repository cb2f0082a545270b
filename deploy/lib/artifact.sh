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

# bucket_ensure BUCKET WHAT: find-or-create a private bucket tagged with the stack; refuses one that
# exists without the tag (not ours). 1-2 reads when it exists.
bucket_ensure() {
    local b=$1 what=$2 tags loc=()
    tags=$(aws_find 'NoSuchBucket|NoSuchTagSet|\(404\)' s3api get-bucket-tagging --bucket "$b")
    if [ -z "$tags" ]; then
        if aws_find 'NoSuchBucket|\(404\)|Not Found' s3api head-bucket --bucket "$b" | grep -q .; then
            refuse "$what bucket $b exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
        fi
        [ "$REGION" = us-east-1 ] || loc=(--create-bucket-configuration "LocationConstraint=$REGION")
        change create "$what bucket $b" s3api create-bucket --bucket "$b" "${loc[@]}" >/dev/null
        change create "$what bucket $b public access block" s3api put-public-access-block --bucket "$b" \
            --public-access-block-configuration \
            BlockPublicAcls=true,IgnorePublicAcls=true,BlockPublicPolicy=true,RestrictPublicBuckets=true >/dev/null
        change create "$what bucket $b stack tag" s3api put-bucket-tagging --bucket "$b" --tagging "$(tag_s3)" >/dev/null
        return 0
    fi
    if [ "$(jq -r '.TagSet[] | select(.Key == "nearjs:stack") | .Value' <<<"$tags")" != "$STACK" ]; then
        refuse "$what bucket $b exists but is not tagged nearjs:stack=$STACK: not ours; remove it or change STACK"
    fi
    keep "$what bucket $b"
}

step_artifact() {
    local b
    b=$(artifact_bucket "$REGION")
    if [ -n "$(aws_find '\(404\)|Not Found|NoSuchBucket|NoSuchKey' s3api head-object --bucket "$b" --key "$ZIP_KEY")" ]; then
        keep "artifact s3://$b/$ZIP_KEY"
        return 0
    fi
    bucket_ensure "$b" artifact
    change create "artifact s3://$b/$ZIP_KEY" s3api put-object --bucket "$b" --key "$ZIP_KEY" --body "$ZIP" >/dev/null
}

# bucket_destroy BUCKET WHAT: empties and deletes it when it carries the stack tag.
bucket_destroy() {
    local b=$1 what=$2 tags keys
    tags=$(aws_find 'NoSuchBucket|NoSuchTagSet|\(404\)' s3api get-bucket-tagging --bucket "$b")
    if [ -z "$tags" ] || [ "$(jq -r '.TagSet[] | select(.Key == "nearjs:stack") | .Value' <<<"$tags")" != "$STACK" ]; then
        return 0
    fi
    # Batches of at most 1000 keys (DeleteObjects' limit), and none for an empty bucket: DeleteObjects
    # with no object is MalformedXML (S3 API reference, DeleteObjects: Objects is required).
    keys=$(aws_ s3api list-objects-v2 --bucket "$b" |
        jq -c '[.Contents // [] | .[] | {Key}] | select(length > 0) | _nwise(1000) | {Objects: ., Quiet: true}')
    while IFS= read -r batch; do
        [ -n "$batch" ] || continue
        change delete "objects in $what bucket $b" s3api delete-objects --bucket "$b" --delete "$batch" >/dev/null
    done <<<"$keys"
    change delete "$what bucket $b" s3api delete-bucket --bucket "$b" >/dev/null
}

destroy_artifact() { bucket_destroy "$(artifact_bucket "$REGION")" artifact; }
