#!/usr/bin/env python3
"""What the edge fleet tests read back from moto (boto3 against AWS_ENDPOINT_URL), two verbs:

  fleet_state.py snapshot STACK DOMAIN ZONE_ID REGION...   everything of the stack's fleet, normalised
        JSON on stdout (ids kept): instances, addresses, security group rules, parameters, roles and
        profiles, health checks, every record of the zone but SOA/NS. Two equal snapshots = nothing changed.
  fleet_state.py check SNAPSHOT COUNT TYPE UD_DIR CERT_FILE KEY_FILE   the exact fleet, one "ok"/"FAIL"
        line per fact (house test style); exit 1 when any fails. UD_DIR/ud.REGION holds the user data
        deploy should have given that region's instances, byte for byte.
"""
import base64
import hashlib
import json
import os
import sys

import boto3

# moto itself (fleet_lib.sh: MOTO_DIRECT_URL), not the realism layer the deploy goes through.
EP = os.environ.get("MOTO_DIRECT_URL") or os.environ.get("AWS_ENDPOINT_URL")


def client(svc, region="us-east-1"):
    return boto3.client(svc, region_name=region, endpoint_url=EP)


def tags(lst):
    return {t["Key"]: t["Value"] for t in (lst or [])}


def snapshot(stack, domain, zone, regions):
    out = {"regions": {}}
    for r in regions:
        ec2, ssm, iam = client("ec2", r), client("ssm", r), client("iam")
        insts = []
        res = ec2.describe_instances(Filters=[{"Name": "tag:nearjs:stack", "Values": [stack]},
                                              {"Name": "instance-state-name", "Values": ["pending", "running"]}])
        for rv in res["Reservations"]:
            for i in rv["Instances"]:
                ud = ec2.describe_instance_attribute(InstanceId=i["InstanceId"], Attribute="userData")
                ud = base64.b64decode(ud.get("UserData", {}).get("Value", ""))
                vols = [m["Ebs"]["VolumeId"] for m in i.get("BlockDeviceMappings", []) if "Ebs" in m]
                enc = [v["Encrypted"] for v in ec2.describe_volumes(VolumeIds=vols)["Volumes"]] if vols else []
                md = i.get("MetadataOptions", {})
                insts.append({"id": i["InstanceId"], "ami": i["ImageId"], "type": i["InstanceType"],
                              "imds": [md.get("HttpTokens"), md.get("HttpPutResponseHopLimit"), md.get("HttpEndpoint")],
                              "volumes_encrypted": enc,
                              "profile": i.get("IamInstanceProfile", {}).get("Arn", ""),
                              "sgs": sorted(g["GroupId"] for g in i.get("SecurityGroups", [])),
                              "ip": i.get("PublicIpAddress", ""), "tags": tags(i.get("Tags")),
                              "userdata_sha256": hashlib.sha256(ud).hexdigest()})
        addrs = [{"ip": a["PublicIp"], "alloc": a["AllocationId"], "instance": a.get("InstanceId") or "",
                  "tags": tags(a.get("Tags"))}
                 for a in ec2.describe_addresses(Filters=[{"Name": "tag:nearjs:stack", "Values": [stack]}])["Addresses"]]
        sgs = []
        for g in ec2.describe_security_groups()["SecurityGroups"]:
            if tags(g.get("Tags")).get("nearjs:stack") != stack:
                continue
            rules = sorted("%s %s %s %s" % (p["IpProtocol"], p.get("FromPort"), p.get("ToPort"), x.get("CidrIp") or x.get("CidrIpv6"))
                           for p in g["IpPermissions"] for x in p.get("IpRanges", []) + p.get("Ipv6Ranges", []))
            sgs.append({"id": g["GroupId"], "name": g["GroupName"], "vpc": g["VpcId"], "ingress": rules})
        vpc = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]
        params = {}
        for p in ssm.describe_parameters(ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": ["/" + stack]}])["Parameters"]:
            v = ssm.get_parameter(Name=p["Name"], WithDecryption=True)["Parameter"]
            params[p["Name"]] = {"type": v["Type"], "sha256": hashlib.sha256(v["Value"].encode()).hexdigest(),
                                 "key": p.get("KeyId")}
        kms = client("kms", r)
        try:
            kid = kms.describe_key(KeyId="alias/%s-edge" % stack)["KeyMetadata"]
            key = {"state": kid["KeyState"], "policy": json.loads(kms.get_key_policy(KeyId=kid["KeyId"], PolicyName="default")["Policy"])}
        except kms.exceptions.NotFoundException:
            key = None
        ami = ssm.get_parameter(Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")["Parameter"]["Value"]
        role = "%s-edge-%s" % (stack, r)
        try:
            pol = iam.get_role_policy(RoleName=role, PolicyName="edge-read")["PolicyDocument"]
            pol = json.loads(pol) if isinstance(pol, str) else pol
            prof = [x["RoleName"] for x in iam.get_instance_profile(InstanceProfileName=role)["InstanceProfile"]["Roles"]]
        except iam.exceptions.NoSuchEntityException:
            pol, prof = None, None
        out["regions"][r] = {"instances": sorted(insts, key=lambda x: x["id"]), "addresses": sorted(addrs, key=lambda x: x["ip"]),
                             "security_groups": sgs, "vpc_cidr": vpc["CidrBlock"], "params": params, "ssm_ami": ami,
                             "role_policy": pol, "profile_roles": prof, "kms_key": key}
    r53 = client("route53")
    out["health_checks"] = sorted(({"id": h["Id"], "ref": h["CallerReference"], "config": h["HealthCheckConfig"]}
                                   for h in r53.list_health_checks()["HealthChecks"]), key=lambda x: x["ref"])
    recs = []
    for rr in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]:
        if rr["Type"] in ("SOA", "NS"):
            continue
        if "AliasTarget" in rr:
            rr.pop("TTL", None)
            rr["AliasTarget"]["DNSName"] = rr["AliasTarget"]["DNSName"].rstrip(".")
        recs.append(rr)
    out["records"] = sorted(recs, key=lambda x: (x["Name"], x["Type"], x.get("SetIdentifier", "")))
    iam = client("iam")
    out["roles"] = sorted(x["RoleName"] for x in iam.list_roles()["Roles"] if x["RoleName"].startswith(stack + "-edge-"))
    out["profiles"] = sorted(x["InstanceProfileName"] for x in iam.list_instance_profiles()["InstanceProfiles"]
                             if x["InstanceProfileName"].startswith(stack + "-edge-"))
    return out


FAILS = 0


def check(name, got, want):
    global FAILS
    if got == want:
        print("ok   " + name)
    else:
        print("FAIL %s: got %r, want %r" % (name, got, want))
        FAILS += 1


def check_fleet(snap, count, itype, ud_dir, cert_file, key_file):
    recs = snap["records"]
    hcs = {h["id"]: h for h in snap["health_checks"]}
    cert_sha = hashlib.sha256(open(cert_file, "rb").read()).hexdigest()
    key_sha = hashlib.sha256(open(key_file, "rb").read()).hexdigest()
    zone = None
    for r, s in sorted(snap["regions"].items()):
        insts = s["instances"]
        check("%s: %d instances" % (r, count), len(insts), count)
        ud = open(os.path.join(ud_dir, "ud." + r), "rb").read()
        sg = s["security_groups"]
        check("%s: one security group of ours" % r, len(sg), 1)
        sgid = sg[0]["id"] if sg else None
        stack = insts[0]["tags"].get("nearjs:stack") if insts else "?"
        if sg:
            admin = os.environ.get("EDGE_ADMIN_CIDR", "")
            check("%s: security group rules exactly 443, 80 from anywhere, admin from EDGE_ADMIN_CIDR only ('%s')" % (r, admin),
                  sg[0]["ingress"], sorted(["tcp 443 443 0.0.0.0/0", "tcp 80 80 0.0.0.0/0"] +
                                           (["tcp 9100 9100 %s" % admin] if admin else [])))
            check("%s: security group name" % r, sg[0]["name"], "%s-edge-%s" % (stack, r))
        builds = set()
        for i in insts:
            n = "%s: %s" % (r, i["id"])
            check(n + ": AMI from the SSM parameter", i["ami"], s["ssm_ami"])
            check(n + ": type", i["type"], itype)
            check(n + ": IMDSv2 required, hop limit 1", i["imds"], ["required", 1, "enabled"])
            check(n + ": root volume encrypted", i["volumes_encrypted"], [True])
            check(n + ": instance profile", i["profile"].rsplit("/", 1)[-1], "%s-edge-%s" % (stack, r))
            check(n + ": security group", i["sgs"], [sgid])
            check(n + ": tags", {k: v for k, v in i["tags"].items() if k != "nearjs:build"},
                  {"nearjs:stack": stack, "nearjs:region": r, "nearjs:role": "edge", "Name": "%s-edge-%s" % (stack, r)})
            builds.add(i["tags"].get("nearjs:build"))
            check(n + ": user data byte-exact", i["userdata_sha256"], hashlib.sha256(ud).hexdigest())
            addr = [a for a in s["addresses"] if a["instance"] == i["id"]]
            check(n + ": one Elastic IP, associated", len(addr), 1)
            if addr:
                check(n + ": public address is its Elastic IP", i["ip"], addr[0]["ip"])
                check(n + ": Elastic IP tags", addr[0]["tags"], {"nearjs:stack": stack, "nearjs:region": r,
                                                                   "nearjs:instance": i["id"], "Name": "%s-edge-%s" % (stack, r)})
            hc = [h for h in snap["health_checks"] if h["ref"] == "%s/%s/%s" % (stack, r, i["id"])]
            check(n + ": one health check", len(hc), 1)
            rec = [x for x in recs if x.get("SetIdentifier") == stack + "-edge-" + i["id"]]
            check(n + ": one weighted record", len(rec), 1)
            if hc and rec and addr:
                c = hc[0]["config"]
                check(n + ": health check HTTPS, SNI, /healthz, its IP, port 443",
                      (c["Type"], c.get("EnableSNI"), c.get("ResourcePath"), c.get("IPAddress"), c.get("Port")),
                      ("HTTPS", True, "/healthz", addr[0]["ip"], 443))
                domain = c.get("FullyQualifiedDomainName", "")[len("fast."):]
                zone = zone or domain
                check(n + ": health check name", c.get("FullyQualifiedDomainName"), "fast." + domain)
                check(n + ": weighted record", rec[0], {"Name": "proxy-%s-fast.%s." % (r, domain), "Type": "A",
                                                        "SetIdentifier": stack + "-edge-" + i["id"], "Weight": 1, "TTL": 60,
                                                        "ResourceRecords": [{"Value": addr[0]["ip"]}], "HealthCheckId": hc[0]["id"]})
        check("%s: one build" % r, len(builds), 1)
        check("%s: addresses: only the instances'" % r, len(s["addresses"]), count)
        check("%s: parameters byte-exact SecureStrings under the stack's key" % r, s["params"],
              {"/%s/edge/cert" % stack: {"type": "SecureString", "sha256": cert_sha, "key": "alias/%s-edge" % stack},
               "/%s/edge/key" % stack: {"type": "SecureString", "sha256": key_sha, "key": "alias/%s-edge" % stack}})
        key = s["kms_key"] or {"policy": {}}
        st = key["policy"].get("Statement", [])
        acct = "123456789012"
        decrypt = [(x["Principal"], x["Condition"]) for x in st if "kms:Decrypt" in json.dumps(x.get("Action")) or x.get("Action") == "kms:*"]
        check("%s: KMS key enabled" % r, key.get("state"), "Enabled")
        check("%s: KMS key: only the edge role decrypts, only through SSM, only its two parameters" % r, decrypt,
              [({"AWS": "arn:aws:iam::%s:role/%s-edge-%s" % (acct, stack, r)},
                {"StringEquals": {"kms:ViaService": "ssm.%s.amazonaws.com" % r, "kms:EncryptionContext:PARAMETER_ARN": [
                    "arn:aws:ssm:%s:%s:parameter/%s/edge/cert" % (r, acct, stack),
                    "arn:aws:ssm:%s:%s:parameter/%s/edge/key" % (r, acct, stack)]}})])
        check("%s: KMS key: the account administers it, wildcards never include Decrypt or CreateGrant" % r,
              [a for x in st for a in ([x["Action"]] if isinstance(x["Action"], str) else x["Action"])
               if a in ("kms:*", "kms:Create*", "kms:CreateGrant", "kms:Decrypt*") or (a == "kms:Decrypt" and "role/" not in json.dumps(x["Principal"]))], [])
        check("%s: instance profile holds its role" % r, s["profile_roles"], ["%s-edge-%s" % (stack, r)])
        pol = s["role_policy"] or {}
        got = sorted((st["Action"], json.dumps(st["Resource"])) for st in pol.get("Statement", []))
        check("%s: the tarball only from this account's bucket (s3:ResourceAccount)" % r,
              [st.get("Condition") for st in pol.get("Statement", []) if st["Action"] == "s3:GetObject"],
              [{"StringEquals": {"s3:ResourceAccount": "123456789012"}}])
        acct = "123456789012"
        want = sorted([("ssm:GetParameter", json.dumps(["arn:aws:ssm:%s:%s:parameter/%s/edge/cert" % (r, acct, stack),
                                                         "arn:aws:ssm:%s:%s:parameter/%s/edge/key" % (r, acct, stack)])),
                       ("s3:GetObject", json.dumps("arn:aws:s3:::%s-artifacts-%s-%s/%s" % (stack, acct, r, os.environ["FLEET_ARTIFACT_KEY"])))])
        check("%s: role may read exactly its parameters and the tarball" % r, got, want)
        lat = [x for x in recs if x["Name"] == "fast.%s." % zone and x.get("Region") == r]
        check("%s: one latency record of fast" % r, len(lat), 1)
        if lat:
            check("%s: latency alias to its weighted set, EvaluateTargetHealth" % r, lat[0],
                  {"Name": "fast.%s." % zone, "Type": "A", "SetIdentifier": stack + "-edge-" + r, "Region": r,
                   "AliasTarget": {"HostedZoneId": os.environ["FLEET_ZONE_ID"], "DNSName": "proxy-%s-fast.%s" % (r, zone),
                                   "EvaluateTargetHealth": True}})
    n = len(snap["regions"])
    check("health checks: only the instances'", len(snap["health_checks"]), n * count)
    check("weighted records: only the instances'", len([x for x in recs if x["Name"].startswith("proxy-")]), n * count)
    return FAILS


if __name__ == "__main__":
    if sys.argv[1] == "snapshot":
        json.dump(snapshot(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]), sys.stdout, indent=1, sort_keys=True)
        print()
    elif sys.argv[1] == "check":
        snap = json.load(open(sys.argv[2]))
        sys.exit(1 if check_fleet(snap, int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], sys.argv[7]) else 0)
    else:
        sys.exit("usage: fleet_state.py snapshot|check ...")
