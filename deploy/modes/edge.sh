# deploy/modes/edge.sh: MODE=edge. The same function, API and <region>-fast.$DOMAIN custom domain as
# direct mode (no fast.$DOMAIN on API Gateway: the edge proxies terminate it and rewrite SNI and Host
# to <region>-fast.$DOMAIN), then the edge fleet's steps, which deploy/lib/fleet*.sh (issue 12) puts in
# FLEET_STEPS (with MODE_AFTER_* additions of its own).
MODE_STEPS=(artifact role content function api cert domains regional_dns "${FLEET_STEPS[@]}")
MODE_AFTER_DEPLOY=(${FLEET_AFTER_DEPLOY[@]+"${FLEET_AFTER_DEPLOY[@]}"})
MODE_AFTER_DESTROY=(dns_destroy_shared ${FLEET_AFTER_DESTROY[@]+"${FLEET_AFTER_DESTROY[@]}"})
