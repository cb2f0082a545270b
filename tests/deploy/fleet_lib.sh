# Sourced by the tests/deploy fleet_* scripts (on top of tests/edge/lib.sh): a moto server of the test's
# own on a free loopback port, the aws CLI beside the Python that has moto, and the client environment
# MOTO.md asks for. moto is the true outer boundary here (AWS's control plane); everything on this side
# of it is the real deploy code and the real aws CLI.

# fleet_moto_begin: sets PY, AWSBIN, MOTO_URL (the realism layer in front of moto: what the deploy and
# the instances' user data talk to), MOTO_DIRECT_URL (moto itself: what the test reads back with) and
# CALL_LOG (the layer's JSON-lines call log, tests/deploy/README.md); exports the client variables.
# REALISM_ON: the layer's behaviours (realism.py --on specs, space-separated; default: "default").
# Exit 77 (ctest: skipped) when no Python with moto and the aws CLI is on this machine.
fleet_moto_begin() {
    PY=$("$ROOT_DIR/scripts/find-aws-python.sh" --no-install) || {
        echo "SKIP: no python3 with moto and the aws CLI: make test installs them: its make setup runs scripts/find-aws-python.sh (pyenv's python with them, or a .venv it pip-installs)"
        exit 77
    }
    AWSBIN=$(dirname "$PY")
    local port lport on=()
    port=$(free_port)
    # deploy's launcher adds what moto's API Gateway domain names lack; plain moto otherwise.
    local launch=(-m moto.server)
    [ -r "$ROOT_DIR/tests/deploy/moto_launcher.py" ] && launch=("$ROOT_DIR/tests/deploy/moto_launcher.py")
    MOTO_IAM_LOAD_MANAGED_POLICIES=true MOTO_ACM_VALIDATION_WAIT=0 MOTO_ENABLE_AMI_VALIDATION=true \
        MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION=true "$PY" "${launch[@]}" \
        -H 127.0.0.1 -p "$port" >moto.log 2>&1 &
    PIDS+=($!)
    MOTO_DIRECT_URL=http://127.0.0.1:$port
    export MOTO_DIRECT_URL AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x AWS_PAGER='' AWS_MAX_ATTEMPTS=1
    export AWS_DEFAULT_REGION=us-east-1 AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
    # Every region at once: nothing answers a staged rollout's canary checks here (tests/deploy/test_ops.py tests those).
    export ROLLOUT=all-at-once
    fleet_wait_url "$MOTO_DIRECT_URL/moto-api/" moto.log moto
    lport=$(free_port)
    CALL_LOG=$T/calls.jsonl
    for b in ${REALISM_ON:-default}; do on+=("--on=$b"); done
    "$PY" "$ROOT_DIR/tests/deploy/realism.py" --moto "$MOTO_DIRECT_URL" --port "$lport" --log "$CALL_LOG" \
        "${on[@]}" >realism.log 2>&1 &
    PIDS+=($!)
    MOTO_URL=http://127.0.0.1:$lport
    export AWS_ENDPOINT_URL=$MOTO_URL
    fleet_wait_url "$MOTO_URL/_realism/config" realism.log "the realism layer"
}

fleet_wait_url() { # url log what
    for _ in $(seq 100); do
        curl -s -o /dev/null "$1" && return 0
        sleep 0.1
    done
    echo "FAIL $3 did not start:"
    cat "$2"
    exit 1
}

# awsj REGION ARGS...: the aws CLI against moto itself (the test's eyes, not through the layer), JSON out.
awsj() {
    local r=$1
    shift
    "$AWSBIN/aws" --endpoint-url "$MOTO_DIRECT_URL" --region "$r" --output json "$@"
}
