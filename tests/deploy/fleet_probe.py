#!/usr/bin/env python3
"""NEARJS_FLEET_STEP_HOOK of the fleet tests: called by deploy after every change of the rolling
replace (REGION WHAT), it reads moto's state as it is at that moment and appends one line to
$FLEET_PROBE_LOG: "REGION running=N serving=M start=S end=E up=IDS dns=IDS term=T WHAT", where running counts the
region's edge instances (pending/running, tagged with the stack) and serving those of them that are in
DNS: a weighted record proxy-REGION-fast.DOMAIN whose SetIdentifier is <stack>-edge-<instance id> and whose
address is the instance's. start and end: when the probe began (right after deploy's change) and finished
reading, in epoch seconds, so that a wait of deploy's between two changes shows as end..start of the next.
up: the running instances, dns: the instances with a weighted record (comma-separated, '-' for none).
term: after "terminated ID", when moto says ID was terminated (its StateTransitionReason, "User initiated
(YYYY-MM-DD HH:MM:SS UTC)" as in AWS: whole seconds, rounded down), in epoch seconds; '-' otherwise.
Always exits 0 (a probe must not change what it watches); a failure is logged as 'probe-error'."""
import time

START = time.time()
import calendar  # noqa: E402 - after the clock, which must start before anything slow
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

import boto3  # noqa: E402

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
    dns = []
    for r in recs:
        iid = r.get("SetIdentifier", "")[len(os.environ["FLEET_STACK"] + "-edge-"):]
        dns.append(iid)
        if iid in ips and [v["Value"] for v in r.get("ResourceRecords", [])] == [ips[iid]]:
            serving += 1
    term = "-"
    if what.startswith("terminated "):
        gone = ec2.describe_instances(InstanceIds=[what.split()[-1]])["Reservations"][0]["Instances"][0]
        m = re.search(r"\((\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+) UTC\)", gone.get("StateTransitionReason", ""))
        term = "%d" % calendar.timegm(tuple(int(x) for x in m.groups())) if m else "?"
    line = "%s running=%d serving=%d start=%.3f end=%.3f up=%s dns=%s term=%s %s\n" % (
        region, len(ips), serving, START, time.time(), ",".join(sorted(ips)) or "-", ",".join(sorted(dns)) or "-",
        term, what)
except Exception as e:  # noqa: BLE001 - reported in the log the test reads
    line = "%s probe-error %s: %s\n" % (region, what, e)
with open(log, "a") as f:
    f.write(line)
