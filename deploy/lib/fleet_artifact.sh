# deploy/lib/fleet_artifact.sh: step fleet_artifact. The edge tarball (EDGE_ARTIFACT, from make
# edge-package) in the region's artifact bucket (made by step `artifact`) under edge/<file name>, with
# its sha256 as object metadata: the same name with other bytes (a rebuild) is uploaded again.
# Sets FLEET_ARTIFACT_KEY and FLEET_ARTIFACT_SHA256.

fleet_artifact_prepare() {
    FLEET_ARTIFACT_KEY=edge/$(basename "$EDGE_ARTIFACT")
    FLEET_ARTIFACT_SHA256=$(sha256sum "$EDGE_ARTIFACT" | cut -d' ' -f1)
}

step_fleet_artifact() {
    local b out
    fleet_artifact_prepare
    b=$(artifact_bucket "$REGION")
    out=$(aws_find '\(404\)|Not Found|NoSuchBucket|NoSuchKey' s3api head-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" --key "$FLEET_ARTIFACT_KEY")
    if [ -n "$out" ] && [ "$(jq -r '.Metadata.sha256 // empty' <<<"$out")" = "$FLEET_ARTIFACT_SHA256" ]; then
        keep "edge artifact s3://$b/$FLEET_ARTIFACT_KEY"
        return 0
    fi
    change "$([ -n "$out" ] && echo update || echo create)" "edge artifact s3://$b/$FLEET_ARTIFACT_KEY" \
        s3api put-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" --key "$FLEET_ARTIFACT_KEY" --body "$EDGE_ARTIFACT" \
        --metadata "sha256=$FLEET_ARTIFACT_SHA256" >/dev/null
}

# The bucket goes with destroy_artifact; the edge/ keys are deleted here so that a fleet removed on its
# own (a switch to MODE=direct) leaves none behind.
destroy_fleet_artifact() {
    local b keys
    b=$(artifact_bucket "$REGION")
    bucket_is_ours "$b" || return 0
    keys=$(aws_find 'NoSuchBucket|\(404\)' s3api list-objects-v2 --bucket "$b" --expected-bucket-owner "$ACCOUNT" --prefix edge/ |
        jq -r '.Contents // [] | .[].Key')
    for k in $keys; do
        change delete "edge artifact s3://$b/$k" s3api delete-object --bucket "$b" --expected-bucket-owner "$ACCOUNT" "--key=$k" >/dev/null
    done
}
