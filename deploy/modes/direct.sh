# deploy/modes/direct.sh: MODE=direct. fast.$DOMAIN is a latency record per region, aliasing that
# region's API Gateway custom domain fast.$DOMAIN (regional endpoints allow one name in many regions),
# health-checked on <region>-fast.$DOMAIN$HEALTH_PATH.
# fleet_gone (deploy/lib/fleet_latency.sh): an edge fleet left from MODE=edge goes, after latency_dns; then a
# function URL left from MODE=edge ORIGIN=url (furl_gone, deploy/lib/origin.sh). Browsers reach API Gateway
# on the custom domain here, so ORIGIN is apigw only.
# logs (deploy/lib/logs.sh): the function's log group with its retention, made before the function.
: "${ORIGIN:=apigw}"
MODE_STEPS=(artifact role logs content function api cert domains regional_dns latency_dns ${FLEET_STEPS[@]+fleet_gone} furl_gone)
MODE_AFTER_DEPLOY=()
MODE_AFTER_DESTROY=(dns_destroy_shared)
