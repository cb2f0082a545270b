#!/usr/bin/env bash
# nearjs-deploy: the function, its gateway, its content and its DNS in every region, with the aws CLI.
# Usage: deploy/nearjs-deploy.sh VERB        (the Makefile's deploy, plan, rollback, destroy, publish,
#                                             content-status targets call this; settings: deploy/nearjs.conf)
#   deploy          find-or-create then update every resource of every region in REGIONS, in parallel
#   plan            the same, read calls only: per region what would be created, updated or left alone
#   rollback        move the `live` alias back to the previous version (or VERSION=n) in each region
#   destroy         delete what deploy made (tagged nearjs:stack=$STACK); content buckets only with DESTROY_CONTENT=1
#   publish         SRC=dir: upload what changed to every region's content bucket, delete what is gone
#   content-status  compare the content buckets across regions (ETags); exit 1 when they differ
#   status          what runs where and whether it is healthy, read calls only (FORMAT=json); exit 0
#                   healthy, 1 degraded or drifted, 2 bad settings
#   logs            the function's logs of every region merged in time order (SINCE=15m FOLLOW=1 FILTER=text)
# deploy is staged (ROLLOUT=staged): CANARY_REGION first, verified, then the rest (deploy/lib/rollout.sh).
# Exit: 0 done; 1 some region failed (summary names the step and the error; a re-run converges);
#       2 bad settings or usage (nothing was touched).
set -uo pipefail

DEPLOY_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VERB=${1:-}
FLEET_STEPS=()
# The framework, the steps, and any edge fleet plug-in (lib/fleet*.sh, issue 12); other lib/ files
# (elf.sh: the packagers') are not deploy's.
for f in "$DEPLOY_DIR"/lib/{core,settings,pipeline,artifact,iam,logs,content,function,api,cert,domains,dns,origin,rollout,alarms,status}.sh \
    "$DEPLOY_DIR"/lib/fleet*.sh; do
    [ -e "$f" ] || continue
    # shellcheck source=/dev/null
    . "$f"
done

case "$VERB" in
deploy | plan | rollback | destroy | publish | content-status | status | logs) ;;
-h | --help | help)
    sed -n '2,/^set /p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
*) die "unknown verb '${VERB:0:40}' (want deploy, plan, rollback, destroy, publish, content-status, status or logs; --help)" ;;
esac
[ "$VERB" = plan ] && DRY_RUN=1
export DRY_RUN=${DRY_RUN:-0}

RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/nearjs-deploy.XXXXXX")
trap 'rm -rf "$RUN_DIR"' EXIT

settings_load
# shellcheck source=/dev/null
[ -r "$DEPLOY_DIR/modes/$MODE.sh" ] && . "$DEPLOY_DIR/modes/$MODE.sh"
ops_register # deploy/lib/alarms.sh: the alarms and deploy_record steps, the dashboard
settings_check "$VERB"
rollout_settings_check
alarms_settings_check

# Each verb's each_region is a command of its own, never inside && or ||: bash ignores `set -e` in
# everything called from such a list, subshells included, and the regions' error handling rests on it.
rc=0
case "$VERB" in
deploy | plan)
    prepare_artifact
    if [ "$VERB" = deploy ] && [ "$ROLLOUT" = staged ]; then
        rollout_deploy # deploy/lib/rollout.sh: the canary region, its checks, then the rest
        rc=$?
    else
        each_region region_deploy
        rc=$?
    fi
    if [ "$rc" -eq 0 ]; then for f in "${MODE_AFTER_DEPLOY[@]}"; do "$f" || rc=1; done; fi
    ;;
destroy)
    each_region region_destroy
    rc=$?
    if [ "$rc" -eq 0 ]; then for f in "${MODE_AFTER_DESTROY[@]}"; do "$f" || rc=1; done; fi
    ;;
rollback)
    each_region region_rollback
    rc=$?
    ;;
publish)
    publish_prepare
    each_region region_publish
    rc=$?
    ;;
content-status)
    content_status
    rc=$?
    ;;
status | logs)
    "ops_$VERB" # deploy/lib/status.sh: exit 0 healthy, 1 degraded or drifted, 2 bad settings
    exit $?
    ;;
esac
[ "$rc" -eq 0 ] || exit 1
exit 0
