#!/usr/bin/env python3
"""NEARJS_FLEET_STEP_HOOK of the fleet tests: called by deploy after every change of the rolling
replace (REGION WHAT), it reads moto's state as it is at that moment and appends one line to
$FLEET_PROBE_LOG: "REGION running=N serving=M WHAT", where running counts the region's edge instances
(pending/running, tagged with the stack) and serving those of them that are in DNS: a weighted record
proxy-REGION-fast.DOMAIN whose SetIdentifier is <stack>-edge-<instance id> and whose address is the instance's.
Always exits 0 (a probe must not change what it watches); a failure is logged as 'probe-error'."""
import os
import sys

import boto3

region, what = sys.argv[1], " ".join(sys.argv[2:])
log = os.environ["FLEET_PROBE_LOG"]
try:
    ep = os.environ.get("MOTO_DIRECT_URL") or os.environ["AWS_ENDPOINT_URL"]  # moto, not the layer
    ec2 = boto3.client("ec2", region_name=region, endpoint_url=ep)
    r53 = boto3.client("route53", region_name="us-east-1", endpoint_url=ep)
    res = ec2.describe_instances(Filters=[
        {"Name": "tag:nearjs:stack", "Values": [os.environ["FLEET_STACK"]]},
        {"Name": "tag:nearjs:region", "Values": [region]},
        {"Name": "instance-state-name", "Values": ["pending", "running"]}])
    ips = {i["InstanceId"]: i.get("PublicIpAddress") for r in res["Reservations"] for i in r["Instances"]}
    name = "proxy-%s-fast.%s." % (region, os.environ["FLEET_DOMAIN"])
    recs = [r for r in r53.list_resource_record_sets(HostedZoneId=os.environ["FLEET_ZONE_ID"])["ResourceRecordSets"]
            if r["Name"] == name]
    serving = 0
    for r in recs:
        iid = r.get("SetIdentifier", "")[len(os.environ["FLEET_STACK"] + "-edge-"):]
        if iid in ips and [v["Value"] for v in r.get("ResourceRecords", [])] == [ips[iid]]:
            serving += 1
    line = "%s running=%d serving=%d %s\n" % (region, len(ips), serving, what)
except Exception as e:  # noqa: BLE001 - reported in the log the test reads
    line = "%s probe-error %s: %s\n" % (region, what, e)
with open(log, "a") as f:
    f.write(line)
