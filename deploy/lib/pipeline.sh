# deploy/lib/pipeline.sh: runs one function per region, all regions at once, and sums up.
# Each region runs in its own subshell with `set -eEuo pipefail`: the first failing command ends that
# region (and only that one), the ERR trap records the step it was in and the CLI's error. Every line
# it prints is prefixed with "[region] ". When all are done, one summary line per region; the exit
# status is 1 when any region failed.
#
# Steps: a mode (deploy/modes/<mode>.sh) lists its steps in MODE_STEPS; step NAME is the function
# step_NAME (deploy and plan: find-or-create then update, writes only through change()), and may have
# destroy_NAME (run in reverse order by destroy). A step sets globals for the steps after it
# (e.g. FN_ALIAS_ARN, API_ID); they live in the region's subshell only.

region_failed() { # rc
    local f="$RUN_DIR/status.$REGION" err=""
    [ -e "$f" ] && exit "$1"
    [ -r "$RUN_DIR/error.$REGION" ] && err=$(cat "$RUN_DIR/error.$REGION")
    printf 'failed at step %s: %s\n' "${CUR_STEP:-?}" "${err:-exit status $1 (see the lines above)}" >"$f"
    exit "$1"
}

# region_main REGION FUNCTION: FUNCTION runs with REGION set, in this (sub)shell.
region_main() {
    REGION=$1
    CUR_STEP=start
    set -eEuo pipefail
    trap 'region_failed $?' ERR
    : >"$RUN_DIR/notes.$REGION"
    aws_server_start
    "$2"
    trap - ERR
    echo "done" >"$RUN_DIR/status.$REGION"
}

# run_steps STEP...: each step_NAME in order, CUR_STEP naming it for the summary.
run_steps() {
    local s
    for s in "$@"; do
        CUR_STEP=$s
        "step_$s"
    done
}

# run_destroy STEP...: each destroy_NAME that exists, in reverse order.
run_destroy() {
    local i s
    for ((i = $# ; i >= 1; i--)); do
        s=${!i}
        declare -F "destroy_$s" >/dev/null || continue
        CUR_STEP=destroy_$s
        "destroy_$s"
    done
}

# each_region FUNCTION: FUNCTION in every region of REGION_LIST at once (or only those in ONLY_REGIONS, a
# space-separated subset: a staged rollout's canary, then the rest; REGION_LIST stays whole, as steps
# such as the edge's fallback list read it); then the summary.
each_region() {
    local fn=$1 r pids=()
    for r in ${ONLY_REGIONS:-${REGION_LIST[*]}}; do
        rm -f "$RUN_DIR/status.$r" "$RUN_DIR/error.$r"
        # The prefix is awk data (-v), never part of a sed or awk program.
        (region_main "$r" "$fn") 2>&1 | awk -v p="[$r] " '{ print p $0; fflush() }' &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    summary
}

# One line per region: done with counts, or failed at which step with the CLI's error.
summary() {
    local r st failed=() counts
    for r in ${ONLY_REGIONS:-${REGION_LIST[*]}}; do
        st=$(cat "$RUN_DIR/status.$r" 2>/dev/null || echo "failed: no status (killed?)")
        counts=$(awk '{n[$1]++} END {printf "%d created, %d updated, %d deleted, %d unchanged",
                 n["create"], n["update"], n["delete"], n["keep"]}' "$RUN_DIR/notes.$r" 2>/dev/null)
        if [ "$st" = "done" ]; then
            if [ "$VERB" = publish ]; then
                awk '{n[$1]++} END {printf "put %d, unchanged %d, deleted %d\n", n["put"], n["keep"], n["delete"]}' \
                    "$RUN_DIR/notes.$r" | awk -v p="$r: published: " '{ print p $0 }'
            elif plan; then
                printf '%s: plan: %s\n' "$r" "${counts//created/to create}" | sed 's/updated/to update/; s/deleted/to delete/'
            else
                printf '%s: done: %s\n' "$r" "$counts"
            fi
        else
            printf '%s: %s\n' "$r" "$st"
            failed+=("$r")
        fi
    done
    if [ ${#failed[@]} -gt 0 ]; then
        printf 'deploy: %s failed in %s; fix and re-run (a re-run converges)\n' "$VERB" "${failed[*]}" >&2
        return 1
    fi
    return 0
}

region_deploy() { run_steps "${MODE_STEPS[@]}"; }
region_destroy() { run_destroy "${MODE_STEPS[@]}"; }
