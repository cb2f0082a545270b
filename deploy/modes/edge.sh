# deploy/modes/edge.sh: MODE=edge. The function, then what the edges forward to (ORIGIN, deploy/lib/origin.sh):
# - ORIGIN=url (default): the function URL, placed after the fleet's role (its statements name that role) and
#   before the instances (their user data names every region's URL); then whatever ORIGIN=apigw left goes.
# - ORIGIN=apigw: the same API and <region>-fast.$DOMAIN custom domain as direct mode (no fast.$DOMAIN on API
#   Gateway: the edges terminate it and rewrite SNI and Host to <region>-fast.$DOMAIN); then whatever ORIGIN=url
#   left goes, and (public_domain_gone, deploy/lib/domains.sh) direct mode's fast.$DOMAIN custom domain and
#   mapping, once the fleet's latency record has replaced direct mode's.
# The edge fleet's steps are deploy/lib/fleet*.sh's FLEET_STEPS (issue 12), with MODE_AFTER_* additions of its own.
# logs (deploy/lib/logs.sh): the function's log group with its retention, made before the function.
: "${ORIGIN:=url}"
if [ "$ORIGIN" = url ]; then
    MODE_STEPS=(artifact role logs content function)
    for _step in "${FLEET_STEPS[@]}"; do
        MODE_STEPS+=("$_step")
        [ "$_step" != fleet_role ] || MODE_STEPS+=(furl)
    done
    MODE_STEPS+=(apigw_gone)
else
    MODE_STEPS=(artifact role logs content function api cert domains regional_dns "${FLEET_STEPS[@]}" furl_gone public_domain_gone)
fi
MODE_AFTER_DEPLOY=(${FLEET_AFTER_DEPLOY[@]+"${FLEET_AFTER_DEPLOY[@]}"})
MODE_AFTER_DESTROY=(dns_destroy_shared ${FLEET_AFTER_DESTROY[@]+"${FLEET_AFTER_DESTROY[@]}"})
