#!/usr/bin/env python3
"""make deploy's whole life against moto, two regions in MODE=direct, with the aws CLI named by
NEARJS_TEST_AWS_CLI (v2: Debian's /usr/bin/aws; v1: pyenv's). Two classes, each its own ctest test:
Lifecycle: deploy (the exact state: every resource counted, since moto accepts duplicates AWS rejects),
deploy again (no write call, state identical), plan of a code and memory change (no write call counted
at the boundary, by the realism layer, nor in the scripts' own log; state byte-identical), the code change (new version, live moved), a memory change (new version), nothing (no
version, no write).
RollbackDestroy: rollback (previous, not past the first, VERSION=n; a deploy then moves live back
without a new version), destroy (nothing of ours left; a function and a record deploy did not make are
untouched; content buckets only with DESTROY_CONTENT=1), then destroy again among resources that carry the
stack's own names without its tag, one of every kind destroy finds by name or configuration (function,
role, HTTP API, domain names, certificate, buckets, health check): it writes nothing, the account is as it was.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import ACCOUNT, DOMAIN, REGIONS, DeployTest, make_zip  # noqa: E402

APIGW_ZONE = {"us-east-1": "Z1UJRXOUMOOFQ8", "eu-west-1": "ZLY8HYME6SFDD"}
BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"


class Checks(DeployTest):
    settings = {}

    def deploy(self, verb="deploy", want_rc=0, **extra):
        return self.run_deploy(verb, want_rc, **dict(self.settings, **extra))

    def check_state(self, snap, versions, live, memory=256, zip_sha=None, content_objects=0):
        """Everything deploy makes, exactly, and nothing more."""
        ours = [t for t in [{"Key": "nearjs:stack", "Value": "nearjs"}]]
        certs = {}
        for r in REGIONS:
            reg = snap["regions"][r]
            self.assertEqual(sorted(reg["functions"]), ["nearjs"], r)
            fn = reg["functions"]["nearjs"]
            self.assertEqual(fn["Runtime"], "provided.al2023")
            self.assertEqual(fn["Handler"], "bootstrap")
            self.assertEqual(fn["Role"], "arn:aws:iam::%s:role/nearjs-fn-%s" % (ACCOUNT, r))
            self.assertEqual(fn["Architectures"], ["x86_64"])
            self.assertEqual(fn["Timeout"], 3)
            self.assertEqual(fn["MemorySize"], memory)
            self.assertEqual(fn["Environment"], {"NEARJS_STORE": "s3://nearjs-content-%s-%s" % (ACCOUNT, r)})
            # the stack, and the last deploy that changed this region (deploy_record: what make status shows)
            self.assertEqual(sorted(fn["Tags"]), ["nearjs:deployed-at", "nearjs:deployed-by", "nearjs:stack"])
            self.assertEqual(fn["Tags"]["nearjs:stack"], "nearjs")
            self.assertRegex(fn["Tags"]["nearjs:deployed-at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
            self.assertEqual(fn["Tags"]["nearjs:deployed-by"], "arn:aws:sts::%s:user/moto" % ACCOUNT)
            if zip_sha:
                self.assertEqual(fn["CodeSha256"], zip_sha)
            self.assertEqual([v[0] for v in fn["Versions"]], ["$LATEST"] + [str(v) for v in versions], r)
            self.assertEqual(fn["Aliases"], {"live": str(live)}, r)
            self.assertEqual(len(reg["apis"]), 1, r)
            api = reg["apis"][0]
            self.assertEqual(api["Name"], "nearjs")
            self.assertEqual(api["Tags"], {"nearjs:stack": "nearjs"})
            alias_arn = "arn:aws:lambda:%s:%s:function:nearjs:live" % (r, ACCOUNT)
            self.assertEqual(len(api["Integrations"]), 1, r)
            integ = api["Integrations"][0]
            self.assertEqual((integ["IntegrationType"], integ["IntegrationUri"], integ["PayloadFormatVersion"]),
                             ("AWS_PROXY", alias_arn, "2.0"))
            self.assertEqual(api["Routes"], [["$default", "integrations/" + integ["IntegrationId"]]])
            self.assertEqual(api["Stages"], [{"StageName": "$default", "AutoDeploy": True, "DefaultRouteSettings": {
                "ThrottlingBurstLimit": 2000, "ThrottlingRateLimit": 1000.0}}])
            source = "arn:aws:execute-api:%s:%s:%s/*/*" % (r, ACCOUNT, api["Id"])
            self.assertEqual(len(fn["Policy"]), 1, fn["Policy"])
            sid, principal, action, _, cond = fn["Policy"][0]
            self.assertEqual((sid, action), ("nearjs-apigateway", "lambda:InvokeFunction"))
            self.assertIn("apigateway.amazonaws.com", str(principal))
            self.assertEqual(cond["ArnLike"]["AWS:SourceArn"], source)
            self.assertEqual(len(reg["certificates"]), 1, r)
            cert = reg["certificates"][0]
            certs[r] = cert
            self.assertEqual(cert["Status"], "ISSUED")
            self.assertEqual(sorted(cert["Names"]), sorted(["%s-fast.%s" % (r, DOMAIN), "fast." + DOMAIN]))
            self.assertIn(["nearjs:stack", "nearjs"], cert["Tags"])
            self.assertEqual([d["Name"] for d in reg["domains"]], ["eu-west-1-fast.example.com", "fast.example.com"]
                             if r == "eu-west-1" else ["fast.example.com", "us-east-1-fast.example.com"])
            for d in reg["domains"]:
                self.assertEqual(d["Tags"], {"nearjs:stack": "nearjs"})
                self.assertEqual(len(d["Config"]), 1)
                self.assertEqual(d["Config"][0]["CertificateArn"], cert["Arn"])
                self.assertEqual(d["Config"][0]["EndpointType"], "REGIONAL")
                self.assertEqual(d["Config"][0]["HostedZoneId"], APIGW_ZONE[r])
                self.assertEqual(d["Mappings"], [[api["Id"], "$default", ""]])
        buckets = snap["buckets"]
        want_buckets = {}
        for r in REGIONS:
            want_buckets["nearjs-artifacts-%s-%s" % (ACCOUNT, r)] = r
            want_buckets["nearjs-content-%s-%s" % (ACCOUNT, r)] = r
        self.assertEqual(sorted(buckets), sorted(want_buckets))
        for b, r in want_buckets.items():
            self.assertEqual(buckets[b]["Region"], r)
            self.assertEqual(buckets[b]["Tags"], ours)
        for r in REGIONS:
            art = buckets["nearjs-artifacts-%s-%s" % (ACCOUNT, r)]["Objects"]
            self.assertTrue(art and all(k.startswith("fn/") and k.endswith(".zip") for k, _ in art), art)
            self.assertEqual(len(buckets["nearjs-content-%s-%s" % (ACCOUNT, r)]["Objects"]), content_objects)
        self.assertEqual(sorted(snap["roles"]), ["nearjs-fn-%s" % r for r in sorted(REGIONS)])
        for r in REGIONS:
            role = snap["roles"]["nearjs-fn-%s" % r]
            self.assertEqual(role["Tags"], ours)
            self.assertEqual(role["Attached"], [BASIC])
            self.assertEqual(list(role["Inline"]), ["content-read"])
            resources = sorted(s["Resource"] for s in role["Inline"]["content-read"]["Statement"])
            bucket = "arn:aws:s3:::nearjs-content-%s-%s" % (ACCOUNT, r)
            self.assertEqual(resources, [bucket, bucket + "/*"])
        checks = {h["Config"]["FullyQualifiedDomainName"]: h for h in snap["health_checks"]}
        self.assertEqual(sorted(checks), sorted("%s-fast.%s" % (r, DOMAIN) for r in REGIONS))
        for h in checks.values():
            c = h["Config"]
            self.assertEqual((c["Type"], c["Port"], c["ResourcePath"], c["EnableSNI"]), ("HTTPS", 443, "/healthz", True))
            self.assertEqual(h["Tags"], ours)
        self.check_records(snap, checks)

    def check_records(self, snap, checks):
        recs = snap["records"]
        kinds = sorted((r["Name"], r["Type"], r.get("SetIdentifier", "")) for r in recs)
        valid = "_d930b28be6c5927595552b219965053e."
        self.assertEqual(kinds, sorted([
            ("example.com.", "NS", ""), ("example.com.", "SOA", ""),
            (valid + "eu-west-1-fast.example.com.", "CNAME", ""), (valid + "fast.example.com.", "CNAME", ""),
            (valid + "us-east-1-fast.example.com.", "CNAME", ""),
            ("eu-west-1-fast.example.com.", "A", ""), ("us-east-1-fast.example.com.", "A", ""),
            ("fast.example.com.", "A", "nearjs-fast-eu-west-1"), ("fast.example.com.", "A", "nearjs-fast-us-east-1")]))
        domains = {r: {d["Name"]: d["Config"][0]["ApiGatewayDomainName"] for d in snap["regions"][r]["domains"]}
                   for r in REGIONS}
        for rec in recs:
            if rec["Type"] != "A":
                continue
            if rec["Name"] == "fast.example.com.":
                r = rec["Region"]
                self.assertEqual(rec["SetIdentifier"], "nearjs-fast-" + r)
                self.assertEqual(rec["HealthCheckId"], checks["%s-fast.%s" % (r, DOMAIN)]["Id"])
                self.assertEqual(rec["AliasTarget"]["DNSName"].rstrip("."), domains[r]["fast.example.com"])
                self.assertEqual(rec["AliasTarget"]["HostedZoneId"], APIGW_ZONE[r])
                self.assertIs(rec["AliasTarget"]["EvaluateTargetHealth"], True)
            else:
                r = rec["Name"].split("-fast.")[0]
                self.assertNotIn("SetIdentifier", rec)
                self.assertEqual(rec["AliasTarget"]["DNSName"].rstrip("."), domains[r][rec["Name"].rstrip(".")])
                self.assertEqual(rec["AliasTarget"]["HostedZoneId"], APIGW_ZONE[r])



class Lifecycle(Checks):
    settings = {}

    def test_1_deploy_twice(self):
        out, calls = self.deploy()
        self.assertGreater(len(self.writes(calls)), 40)
        for r in REGIONS:
            self.assertIn("%s: done: " % r, out)
            self.assertIn("[%s] create function nearjs" % r, out)
        first = self.snapshot()
        self.check_state(first, versions=[1], live=1)
        t0 = time.time()
        out, calls = self.deploy()
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual(self.boundary_writes(t0), [], out)
        for r in REGIONS:
            self.assertRegex(out, r"%s: done: 0 created, 0 updated, 0 deleted, \d+ unchanged" % r)
        self.assertEqual(self.snapshot(), first)

    def test_2_plan_changes_nothing(self):
        before = self.snapshot()
        new_zip = make_zip(os.path.join(self.tmp, "two.zip"), b"#!/bin/sh\necho two\n")
        t0 = time.time()
        out, calls = self.deploy("plan", ZIP=new_zip, MEMORY=512)
        # Counted at the boundary: core.sh refuses a write in plan mode before its own log sees it, so its
        # log can never show one; the realism layer sees every call the CLI makes.
        self.assertEqual(self.boundary_writes(t0), [], out)
        self.assertGreater(len(self.moto.calls(t0)), 10, "the layer saw no plan reads: is it in the path?")
        self.assertEqual(self.writes(calls), [], out)
        self.assertTrue(calls)
        for r in REGIONS:
            self.assertIn("[%s] would update function nearjs code" % r, out)
            self.assertIn("[%s] would update function nearjs configuration (MemorySize)" % r, out)
            self.assertIn("[%s] would create function nearjs version" % r, out)
            self.assertIn("[%s] would create artifact" % r, out)
            self.assertRegex(out, r"%s: plan: 2 to create, 3 to update, 0 to delete, \d+ unchanged" % r)
        self.assertEqual(repr(self.snapshot()), repr(before))

    def test_3_code_change(self):
        Lifecycle.new_zip = make_zip(os.path.join(self.tmp, "two.zip"), b"#!/bin/sh\necho two\n")
        Lifecycle.settings = {"ZIP": self.new_zip}
        out, _ = self.deploy()
        snap = self.snapshot()
        self.check_state(snap, versions=[1, 2], live=2)
        for r in REGIONS:
            v = snap["regions"][r]["functions"]["nearjs"]["Versions"]
            self.assertNotEqual(v[1][1], v[2][1])  # version 2 has the new code
            self.assertEqual(v[0][1], v[2][1])
            self.assertEqual(len(snap["buckets"]["nearjs-artifacts-%s-%s" % (ACCOUNT, r)]["Objects"]), 2)

    def test_4_memory_change(self):
        Lifecycle.settings = {"ZIP": self.new_zip, "MEMORY": 512}
        self.deploy()
        snap = self.snapshot()
        self.check_state(snap, versions=[1, 2, 3], live=3, memory=512)
        for r in REGIONS:
            v = snap["regions"][r]["functions"]["nearjs"]["Versions"]
            self.assertEqual([x[2] for x in v], [512, 256, 256, 512])

    def test_5_nothing_changed_no_version(self):
        before = self.snapshot()
        t0 = time.time()
        out, calls = self.deploy()
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual(self.boundary_writes(t0), [], out)
        self.assertEqual(self.snapshot(), before)



class RollbackDestroy(Checks):
    """Two versions, rollback to the previous one (and no further), VERSION=n, a deploy that moves live
    back without publishing, then destroy."""

    maxDiff = None  # a destroy that deleted a foreign resource: show every kind it deleted

    def test_1_two_versions(self):
        self.deploy()
        RollbackDestroy.new_zip = make_zip(os.path.join(self.tmp, "two.zip"), b"#!/bin/sh\necho two\n")
        RollbackDestroy.settings = {"ZIP": self.new_zip}
        self.deploy()
        self.check_state(self.snapshot(), versions=[1, 2], live=2)

    def test_2_rollback(self):
        out, calls = self.deploy("rollback")
        self.assertEqual(sorted(" ".join(c.split()[1:4]) for c in self.writes(calls)),
                         sorted("%s lambda update-alias" % r for r in REGIONS))
        self.check_state(self.snapshot(), versions=[1, 2], live=1)
        out, calls = self.deploy("rollback", want_rc=1)
        self.assertEqual(self.writes(calls), [])
        for r in REGIONS:
            self.assertIn("%s: failed at step rollback: live is version 1, the first one: nothing to roll back to" % r, out)
        self.deploy("rollback", VERSION=2)
        self.check_state(self.snapshot(), versions=[1, 2], live=2)
        self.deploy("rollback", VERSION=1)
        # deploy: live goes to the version that matches the settings, and no version is published
        out, calls = self.deploy()
        self.assertEqual(sorted(" ".join(c.split()[2:4]) for c in self.writes(calls)), ["lambda publish-version"] * 2 +
                         ["lambda tag-resource"] * 2 + ["lambda update-alias"] * 2)
        self.check_state(self.snapshot(), versions=[1, 2], live=2)

    def test_3_destroy(self):
        iam = self.moto.client("iam")
        role = iam.create_role(RoleName="other-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = self.moto.client("lambda", "us-east-1")
        lam.create_function(FunctionName="other", Runtime="provided.al2023", Handler="bootstrap", Role=role,
                            Code={"ZipFile": open(self.zip, "rb").read()})
        r53 = self.moto.client("route53")
        r53.change_resource_record_sets(HostedZoneId=self.zone, ChangeBatch={"Changes": [{"Action": "UPSERT", "ResourceRecordSet": {
            "Name": "www.example.com", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}}]})
        out, _ = self.deploy("destroy")
        snap = self.snapshot()
        for r in REGIONS:
            reg = snap["regions"][r]
            self.assertEqual(sorted(reg["functions"]), ["other"] if r == "us-east-1" else [], r)
            self.assertEqual((reg["apis"], reg["domains"], reg["certificates"]), ([], [], []), r)
        self.assertEqual(sorted(snap["buckets"]), ["nearjs-content-%s-%s" % (ACCOUNT, r) for r in sorted(REGIONS)])
        self.assertEqual(sorted(snap["roles"]), ["other-role"])
        self.assertEqual(snap["health_checks"], [])
        self.assertEqual(sorted((r["Name"], r["Type"]) for r in snap["records"]),
                         [("example.com.", "NS"), ("example.com.", "SOA"), ("www.example.com.", "A")])
        self.deploy("destroy", DESTROY_CONTENT=1)
        snap = self.snapshot()
        self.assertEqual(snap["buckets"], {})
        self.assertEqual(sorted(snap["regions"]["us-east-1"]["functions"]), ["other"])

        # Someone else's resources under the stack's own names, without the nearjs:stack tag: the tag, not
        # the name, makes a resource the stack's.
        self.make_foreign()
        before = self.snapshot()
        self.assertEqual(self.kinds(before), self.kinds_foreign(), "the foreign resources, as made")
        self.assertEqual(self.stack_tagged(before), [], "a foreign resource carries the stack's tag")
        t0 = time.time()
        out, calls = self.deploy("destroy", DESTROY_CONTENT=1)
        self.assertEqual(self.kinds(self.snapshot()), self.kinds_foreign(), "destroy deleted a resource it did not make:\n" + out)
        self.assertEqual(self.snapshot(), before)
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual(self.boundary_writes(t0), [], out)

    def make_foreign(self):
        iam, r53 = self.moto.client("iam"), self.moto.client("route53")
        code = {"ZipFile": open(self.zip, "rb").read()}
        for r in REGIONS:
            role = iam.create_role(RoleName="nearjs-fn-%s" % r, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
            self.moto.client("lambda", r).create_function(FunctionName="nearjs", Runtime="provided.al2023",
                                                          Handler="bootstrap", Role=role, Code=code)
            api = self.moto.client("apigatewayv2", r)
            api.create_api(Name="nearjs", ProtocolType="HTTP")
            names = ["%s-fast.%s" % (r, DOMAIN), "fast." + DOMAIN]
            arn = self.moto.client("acm", r).request_certificate(DomainName=names[0], SubjectAlternativeNames=names[1:],
                                                                 ValidationMethod="DNS")["CertificateArn"]
            for d in names:
                api.create_domain_name(DomainName=d, DomainNameConfigurations=[{"CertificateArn": arn,
                                                                                "EndpointType": "REGIONAL"}])
            s3 = self.moto.client("s3", r)
            where = {} if r == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": r}}
            for b in ("nearjs-artifacts-%s-%s", "nearjs-content-%s-%s"):
                s3.create_bucket(Bucket=b % (ACCOUNT, r), **where)
                # moto 5.2 hands a new bucket the tags of the deleted bucket of the same name (AWS does not)
                s3.delete_bucket_tagging(Bucket=b % (ACCOUNT, r))
            r53.create_health_check(CallerReference="foreign-" + r, HealthCheckConfig={
                "Type": "HTTPS", "FullyQualifiedDomainName": names[0], "Port": 443, "ResourcePath": "/healthz",
                "EnableSNI": True, "RequestInterval": 10, "FailureThreshold": 3})

    @staticmethod
    def stack_tagged(snap):
        """Every resource of the snapshot that carries nearjs:stack, as (kind, name)."""
        def tagged(tags):
            if isinstance(tags, dict):
                return "nearjs:stack" in tags
            return any((t.get("Key") if isinstance(t, dict) else t[0]) == "nearjs:stack" for t in tags or [])
        out = []
        for r in REGIONS:
            reg = snap["regions"][r]
            out += [("function", r, n) for n, f in reg["functions"].items() if tagged(f["Tags"])]
            out += [("api", r, a["Name"]) for a in reg["apis"] if tagged(a["Tags"])]
            out += [("domain", r, d["Name"]) for d in reg["domains"] if tagged(d["Tags"])]
            out += [("certificate", r, c["Arn"]) for c in reg["certificates"] if tagged(c["Tags"])]
        out += [("bucket", b) for b, x in snap["buckets"].items() if tagged(x["Tags"])]
        out += [("role", n) for n, x in snap["roles"].items() if tagged(x["Tags"])]
        out += [("health check", h["Id"]) for h in snap["health_checks"] if tagged(h["Tags"])]
        return out

    @staticmethod
    def kinds(snap):
        """What the account holds, by kind and name (the foreign resources' own view of the snapshot)."""
        out = {}
        for r in REGIONS:
            reg = snap["regions"][r]
            out[r] = {"functions": sorted(reg["functions"]), "apis": sorted(a["Name"] for a in reg["apis"]),
                      "domains": [d["Name"] for d in reg["domains"]],
                      "certificates": [sorted(c["Names"]) for c in reg["certificates"]]}
        out["buckets"] = sorted(snap["buckets"])
        out["roles"] = sorted(snap["roles"])
        out["health_checks"] = sorted(h["Config"]["FullyQualifiedDomainName"] for h in snap["health_checks"])
        return out

    @staticmethod
    def kinds_foreign():
        out = {}
        for r in REGIONS:
            names = ["%s-fast.%s" % (r, DOMAIN), "fast." + DOMAIN]
            out[r] = {"functions": ["nearjs"] + (["other"] if r == "us-east-1" else []), "apis": ["nearjs"],
                      "domains": sorted(names), "certificates": [sorted(names)]}
        out["buckets"] = sorted(b % (ACCOUNT, r) for r in REGIONS for b in ("nearjs-artifacts-%s-%s", "nearjs-content-%s-%s"))
        out["roles"] = sorted(["other-role"] + ["nearjs-fn-%s" % r for r in REGIONS])
        out["health_checks"] = sorted("%s-fast.%s" % (r, DOMAIN) for r in REGIONS)
        return out


if __name__ == "__main__":
    unittest.main(verbosity=2)
