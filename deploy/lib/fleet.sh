# deploy/lib/fleet.sh: MODE=edge's fleet (issue 12): names, settings and the steps it plugs into
# deploy/modes/edge.sh through FLEET_STEPS. Per region, in this order:
#   fleet_artifact  the edge tarball (make edge-package) in the region's artifact bucket, under edge/
#   fleet_sg        a security group: 443 and 80 from anywhere, the admin port from EDGE_ADMIN_CIDR only
#   fleet_role      a role + instance profile that may read exactly the two parameters and that tarball
#   fleet_params    a KMS key only that role may decrypt with, and the public name's certificate (+ chain)
#                   and key as SecureString parameters under it
#   fleet_instances EDGE_COUNT instances, each with an Elastic IP, an HTTPS health check and a weighted
#                   record proxy-<region>-fast.$DOMAIN; a new build replaces them one at a time
#   fleet_latency   fast.$DOMAIN, latency alias to proxy-<region>-fast.$DOMAIN (EvaluateTargetHealth),
#                   and no direct-mode record of this region left beside it
# destroy runs the destroy_fleet_* in reverse. Everything is found by name and by the nearjs:stack tag.

# fleet_params after fleet_role: the KMS key policy names the role, and AWS refuses a policy naming
# a principal that does not exist yet.
FLEET_STEPS+=(fleet_artifact fleet_sg fleet_role fleet_params fleet_instances fleet_latency)

# Names, in one place so that find, create and destroy agree.
fleet_name() { printf '%s-edge-%s' "$STACK" "$1"; }                  # SG, role, profile, Name tag
fleet_param() { printf '/%s/edge/%s' "$STACK" "$1"; }                # cert | key
fleet_proxy_name() { printf 'proxy-%s-fast.%s' "$1" "$DOMAIN"; }     # weighted set of a region
fleet_record_id() { printf '%s-edge-%s' "$STACK" "$1"; }            # weighted SetIdentifier: instance id
fleet_latency_id() { printf '%s-edge-%s' "$STACK" "$1"; }           # latency SetIdentifier: region
fleet_hc_ref() { printf '%s/%s/%s' "$STACK" "$1" "$2"; }             # health check CallerReference
fleet_arch() { # instance type -> x86_64 | arm64 (Graviton families have a g after the generation)
    if [[ $1 =~ ^[a-z]+[0-9]+[a-z]*g[a-z]*\. ]]; then echo arm64; else echo x86_64; fi
}

# fleet_settings_check VERB: the edge settings, checked before anything is touched (called by
# settings_check_stack in edge mode). Defaults here so an older nearjs.conf still works.
fleet_settings_check() {
    : "${EDGE_COUNT:=2}" "${EDGE_INSTANCE_TYPE:=t3.micro}" "${EDGE_ADMIN_PORT:=9100}"
    : "${EDGE_HEALTH_WAIT:=600}" "${EDGE_DRAIN_WAIT:=60}" "${EDGE_TTL:=60}" "${EDGE_ARTIFACT:=}" "${EDGE_CPU_CREDITS:=standard}"
    case "$EDGE_CPU_CREDITS" in standard | unlimited) ;; *) bad EDGE_CPU_CREDITS "$EDGE_CPU_CREDITS" "want standard or unlimited" ;; esac
    is_uint "$EDGE_COUNT" && [ "$EDGE_COUNT" -ge 1 ] && [ "$EDGE_COUNT" -le 20 ] || bad EDGE_COUNT "$EDGE_COUNT" "want 1-20 instances per region"
    [[ $EDGE_INSTANCE_TYPE =~ ^[a-z][a-z0-9-]*\.[a-z0-9]+$ ]] || bad EDGE_INSTANCE_TYPE "$EDGE_INSTANCE_TYPE" "want an EC2 instance type such as t3.micro"
    is_uint "$EDGE_ADMIN_PORT" && [ "$EDGE_ADMIN_PORT" -ge 1 ] && [ "$EDGE_ADMIN_PORT" -le 65535 ] &&
        [ "$EDGE_ADMIN_PORT" != 443 ] && [ "$EDGE_ADMIN_PORT" != 80 ] || bad EDGE_ADMIN_PORT "$EDGE_ADMIN_PORT" "want a port other than 80 and 443"
    is_uint "$EDGE_HEALTH_WAIT" || bad EDGE_HEALTH_WAIT "$EDGE_HEALTH_WAIT" "want seconds (0: do not wait for /healthz)"
    is_uint "$EDGE_DRAIN_WAIT" || bad EDGE_DRAIN_WAIT "$EDGE_DRAIN_WAIT" "want seconds"
    is_uint "$EDGE_TTL" && [ "$EDGE_TTL" -ge 1 ] || bad EDGE_TTL "$EDGE_TTL" "want seconds >= 1"
    EDGE_ARCH=$(fleet_arch "$EDGE_INSTANCE_TYPE")
    case "${1:-}" in deploy | plan) ;; *) return 0 ;; esac
    if [ -z "$EDGE_ARTIFACT" ]; then
        EDGE_ARTIFACT=$(ls -t build/nearjs-edge-*-"$EDGE_ARCH".tar.gz 2>/dev/null | head -n 1)
        [ -n "$EDGE_ARTIFACT" ] || bad EDGE_ARTIFACT "" "no build/nearjs-edge-*-$EDGE_ARCH.tar.gz (run make edge-package, or set EDGE_ARTIFACT)"
    fi
    [ -r "$EDGE_ARTIFACT" ] && [ -s "$EDGE_ARTIFACT" ] || bad EDGE_ARTIFACT "$EDGE_ARTIFACT" "not readable (run make edge-package)"
    [[ $(basename "$EDGE_ARTIFACT") == *"-$EDGE_ARCH.tar.gz" ]] ||
        bad EDGE_ARTIFACT "$EDGE_ARTIFACT" "EDGE_INSTANCE_TYPE $EDGE_INSTANCE_TYPE is $EDGE_ARCH: want a nearjs-edge-*-$EDGE_ARCH.tar.gz"
    [ -n "$CERT_FILE" ] && [ -n "$KEY_FILE" ] ||
        bad CERT_FILE "$CERT_FILE" "MODE=edge needs CERT_FILE and KEY_FILE for fast.$DOMAIN (ACM keys cannot be exported to an instance)"
    fleet_pem_check
}

# fleet_credit_args: run-instances' --credit-specification for a burstable type (T2, T3, T3a, T4g), none
# for others. standard by default: a t3's default is unlimited, which bills every vCPU-hour above the
# baseline (EC2 user guide, "Burstable performance instances": unlimited mode; $0.05 per vCPU-hour on
# Linux), so a busy edge would cost more than the table in deploy/README.md says without anyone asking.
fleet_credit_args() {
    [[ $EDGE_INSTANCE_TYPE =~ ^t[234][ag]?\. ]] || return 0
    printf '%s\n' --credit-specification "CpuCredits=$EDGE_CPU_CREDITS"
}

# fleet_quota_check: before any write (deploy and plan, edge mode), per region: the Elastic IPs that are
# not this stack's, plus EDGE_COUNT + 1 (a rolling replace launches one more before retiring one), must
# fit the region's quota: Service Quotas' "EC2-VPC Elastic IPs" (L-0263D0A3) where the account may read
# it, else AWS's default of 5 per region (EC2 user guide, "Elastic IP address quota").
fleet_quota_check() {
    local r quota from all ours need
    for r in "${REGION_LIST[@]}"; do
        from="Service Quotas L-0263D0A3"
        quota=$(REGION=$r AWS_QUIET=1 aws_ service-quotas get-service-quota --service-code ec2 --quota-code L-0263D0A3 \
            2>/dev/null | jq -r '.Quota.Value // empty | floor' 2>/dev/null) || quota=""
        [ -n "$quota" ] || { quota=5 from="AWS's default; Service Quotas did not answer"; }
        all=$(REGION=$r aws_ ec2 describe-addresses | jq '.Addresses | length') ||
            die "cannot list the Elastic IPs of $r (ec2 describe-addresses failed; see above)"
        ours=$(REGION=$r aws_ ec2 describe-addresses --filters "Name=tag:nearjs:stack,Values=$STACK" \
            "Name=tag:nearjs:region,Values=$r" | jq '.Addresses | length') || die "cannot list the Elastic IPs of $r"
        need=$((all - ours + EDGE_COUNT + 1))
        [ "$need" -le "$quota" ] || bad EDGE_COUNT "$EDGE_COUNT" "$r has $((all - ours)) Elastic IPs of others and a quota of $quota ($from): EDGE_COUNT + 1 for a rolling replace needs $need; release some, lower EDGE_COUNT, or ask for more (Service Quotas, EC2-VPC Elastic IPs)"
    done
}
