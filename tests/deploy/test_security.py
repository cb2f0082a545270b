#!/usr/bin/env python3
"""Issue 18 against moto, MODE=direct, two regions, the real deploy script and aws CLI:
- every bucket of ours: Block Public Access, SSE-S3 set explicitly, versioning, a policy refusing requests
  without TLS and writes from other accounts; the function role reads its bucket only while it is this
  account's (s3:ResourceAccount); the HTTP API has no default execute-api endpoint; a re-run writes nothing;
- a second account in moto (its requests carry moto's x-moto-account-id header: moto 5.2.1 takes the
  account from that header or from access keys it issued itself, not from a 12-digit key id) owns the
  predictable bucket names of another stack: publish and deploy refuse them in one line naming the
  bucket, and write nothing there;
- publish: SRC=dir/ is SRC=dir; hidden files and folders are never published; a file named -x is
  published like any other; a SRC whose loader.js is not a file is refused; a publish deleting more
  than PUBLISH_DELETE_MAX percent asks for CONFIRM_DELETE=1; an overwritten object comes back with the
  restore command deploy/README.md gives;
- bad CONTENT_PREFIX and VERSION values are refused at the settings check.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import ACCOUNT, REGIONS, ROOT, DeployTest  # noqa: E402

DEMO = os.path.join(ROOT, "function", "demo")
OTHER = "999999999999"


def bucket(kind, region, stack="nearjs"):
    return "%s-%s-%s-%s" % (stack, kind, ACCOUNT, region)


class Security(DeployTest):
    def other_s3(self, region="us-east-1"):
        """An S3 client of another account (moto server mode: the x-moto-account-id header)."""
        c = self.moto.client("s3", region)
        c.meta.events.register("before-send.s3.*", lambda request, **kw: request.headers.__setitem__("x-moto-account-id", OTHER))
        return c

    def test_0_deploy_buckets_roles_api(self):
        out, _ = self.run_deploy("deploy")
        s3, iam = self.moto.client("s3"), self.moto.client("iam")
        for r in REGIONS:
            for kind in ("artifacts", "content"):
                b = bucket(kind, r)
                self.assertEqual(s3.get_bucket_versioning(Bucket=b).get("Status"), "Enabled", b)
                enc = s3.get_bucket_encryption(Bucket=b)["ServerSideEncryptionConfiguration"]["Rules"][0]
                self.assertEqual(enc["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "AES256", b)
                bpa = s3.get_public_access_block(Bucket=b)["PublicAccessBlockConfiguration"]
                self.assertEqual(set(bpa.values()), {True}, b)
                pol = json.loads(s3.get_bucket_policy(Bucket=b)["Policy"])
                st = {x["Sid"]: x for x in pol["Statement"]}
                self.assertEqual(st["DenyWithoutTLS"]["Effect"], "Deny")
                self.assertEqual(st["DenyWithoutTLS"]["Condition"], {"Bool": {"aws:SecureTransport": "false"}})
                self.assertEqual(st["DenyWithoutTLS"]["Resource"], ["arn:aws:s3:::" + b, "arn:aws:s3:::%s/*" % b])
                self.assertIn("s3:PutObject", st["DenyWritesFromOtherAccounts"]["Action"])
                self.assertEqual(st["DenyWritesFromOtherAccounts"]["Condition"],
                                 {"StringNotEquals": {"aws:PrincipalAccount": ACCOUNT}})
            doc = iam.get_role_policy(RoleName="nearjs-fn-" + r, PolicyName="content-read")["PolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            self.assertEqual([x.get("Condition") for x in doc["Statement"]],
                             [{"StringEquals": {"s3:ResourceAccount": ACCOUNT}}] * 2)
            gw = self.moto.client("apigatewayv2", r)
            apis = gw.get_apis()["Items"]
            self.assertEqual([a.get("DisableExecuteApiEndpoint") for a in apis], [True], r)
            # access logs: the stage writes JSON lines to a log group with retention
            stage = gw.get_stages(ApiId=apis[0]["ApiId"])["Items"][0]
            group = "/aws/vendedlogs/nearjs/nearjs/api-access"
            self.assertEqual(stage["AccessLogSettings"]["DestinationArn"], "arn:aws:logs:%s:%s:log-group:%s" % (r, ACCOUNT, group))
            fmt = json.loads(stage["AccessLogSettings"]["Format"])
            self.assertEqual({k: fmt[k] for k in ("requestId", "ip", "status", "latency", "integrationError")},
                             {"requestId": "$context.requestId", "ip": "$context.identity.sourceIp", "status": "$context.status",
                              "latency": "$context.responseLatency", "integrationError": "$context.integration.error"})
            groups = self.moto.client("logs", r).describe_log_groups(logGroupNamePrefix=group)["logGroups"]
            self.assertEqual([(g["logGroupName"], g.get("retentionInDays")) for g in groups], [(group, 30)])
        out, calls = self.run_deploy("deploy")
        self.assertEqual(self.writes(calls), [], out)

    def test_1_second_account_owns_the_names(self):
        # Our bucket policy: another account's write is refused (moto enforces it through the launcher's
        # condition evaluation), ours is not.
        evil = self.other_s3()
        with self.assertRaises(Exception) as e:
            evil.put_object(Bucket=bucket("content", "us-east-1"), Key="loader.js", Body=b"evil()")
        self.assertIn("403", str(e.exception))
        self.moto.client("s3").put_object(Bucket=bucket("content", "us-east-1"), Key="probe.txt", Body=b"ours")
        self.moto.client("s3").delete_object(Bucket=bucket("content", "us-east-1"), Key="probe.txt")
        # Another account takes stack "victim"'s predictable names in us-east-1, tags them as victim's,
        # and even plants an artifact under the key a deploy of our zip would use.
        evil = self.other_s3()
        for kind in ("artifacts", "content"):
            b = bucket(kind, "us-east-1", "victim")
            evil.create_bucket(Bucket=b)
            evil.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "nearjs:stack", "Value": "victim"}]})
        import hashlib
        evil.put_object(Bucket=bucket("artifacts", "us-east-1", "victim"),
                        Key="fn/%s.zip" % hashlib.sha256(open(self.zip, "rb").read()).hexdigest(), Body=b"evil")
        src = os.path.join(self.tmp, "victim-store")
        shutil.copytree(DEMO, src)
        out, calls = self.run_deploy("publish", 1, STACK="victim", REGIONS="us-east-1", SRC=src)
        self.assertIn("bucket %s is not this account's (%s): another account owns that name" % (
            bucket("content", "us-east-1", "victim"), ACCOUNT), out)
        self.assertEqual(self.writes(calls), [], out)
        got = evil.list_objects_v2(Bucket=bucket("content", "us-east-1", "victim")).get("Contents", [])
        self.assertEqual(got, [], "our content went into the other account's bucket")
        out, calls = self.run_deploy("deploy", 1, STACK="victim", REGIONS="us-east-1")
        self.assertIn("artifact bucket %s exists but belongs to another account" % bucket("artifacts", "us-east-1", "victim"), out)
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual([f["FunctionName"] for f in self.moto.client("lambda").list_functions()["Functions"]
                          if f["FunctionName"] == "victim"], [])

    def test_2_publish_what_and_how(self):
        src = os.path.join(self.tmp, "store")
        shutil.copytree(DEMO, src)
        os.makedirs(os.path.join(src, ".git"))
        os.makedirs(os.path.join(src, ".aws"))
        for hidden in (".git/config", ".aws/credentials", ".env", "accounts/.secret.json"):
            with open(os.path.join(src, hidden), "w") as f:
                f.write("[default]\naws_secret_access_key = x\n")
        with open(os.path.join(src, "-dash.js"), "w") as f:
            f.write("// a name starting with -\n")
        want = sorted(os.path.relpath(os.path.join(d, f), src) for d, ds, fs in os.walk(src)
                      for f in fs if not any(p.startswith(".") for p in os.path.relpath(os.path.join(d, f), src).split("/")))
        out, _ = self.run_deploy("publish", SRC=src + "/")
        s3 = self.moto.client("s3")
        for r in REGIONS:
            keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket("content", r)).get("Contents", []))
            self.assertEqual(keys, want, out)
            self.assertIn("loader.js", keys)
            self.assertIn("-dash.js", keys)
        out, calls = self.run_deploy("publish", SRC=src + "//")
        self.assertEqual(self.writes(calls), [], out)

        # loader.js that is not a file: refused before any write
        bad = os.path.join(self.tmp, "bad-store")
        os.makedirs(os.path.join(bad, "loader.js"))
        with open(os.path.join(bad, "loader.js", "x.js"), "w") as f:
            f.write("x")
        out, calls = self.run_deploy("publish", 2, SRC=bad)
        self.assertIn("has no loader.js file", out)
        self.assertEqual(self.writes(calls), [], out)

        # a store that would delete most of what is there
        small = os.path.join(self.tmp, "small-store")
        os.makedirs(small)
        shutil.copy(os.path.join(src, "loader.js"), small)
        out, calls = self.run_deploy("publish", 1, SRC=small)
        self.assertRegex(out, r"publish would delete \d+ of the \d+ objects in s3://%s \(more than PUBLISH_DELETE_MAX=20%%\): "
                              r"check SRC, or run again with CONFIRM_DELETE=1" % bucket("content", "us-east-1"))
        self.assertEqual(self.writes(calls), [], out)
        out, calls = self.run_deploy("publish", SRC=small, CONFIRM_DELETE=1)
        self.assertEqual(sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket("content", "us-east-1"))["Contents"]),
                         ["loader.js"])

        # a bad publish undone: the README's restore of a deleted object, with the aws CLI
        b = bucket("content", "us-east-1")
        vers = s3.list_object_versions(Bucket=b, Prefix="-dash.js")
        prev = [v["VersionId"] for v in vers.get("Versions", []) if v["Key"] == "-dash.js"][0]
        env = self.env(AWS_MAX_ATTEMPTS=5, AWS_RETRY_MODE="standard")  # as the deploy does: throttling is retried
        p = subprocess.run([self.cli, "--endpoint-url", self.moto.url, "--region", "us-east-1", "s3api", "copy-object",
                            "--bucket", b, "--key=-dash.js", "--copy-source", "%s/-dash.js?versionId=%s" % (b, prev),
                            "--expected-bucket-owner", ACCOUNT], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        body = s3.get_object(Bucket=b, Key="-dash.js")["Body"].read()
        self.assertEqual(body, b"// a name starting with -\n")

    def test_4_destroy_removes_the_access_logs(self):
        self.run_deploy("destroy")
        for r in REGIONS:
            groups = self.moto.client("logs", r).describe_log_groups(logGroupNamePrefix="/aws/vendedlogs/nearjs/")["logGroups"]
            self.assertEqual(groups, [], r)

    def test_3_bad_prefix_and_version_refused(self):
        for extra, want in [({"CONTENT_PREFIX": "content/../x"}, "setting CONTENT_PREFIX='content/../x': a '..' segment"),
                            ({"CONTENT_PREFIX": "a//b"}, "setting CONTENT_PREFIX='a//b': want a key prefix"),
                            ({"CONTENT_PREFIX": "./a"}, "setting CONTENT_PREFIX='./a': a '.' segment")]:
            out, calls = self.run_deploy("deploy", 2, **extra)
            self.assertIn(want, out)
            self.assertEqual(calls, [], out)
        for v in ("0", "-1", "2x", "1.5"):
            out, calls = self.run_deploy("rollback", 2, VERSION=v)
            self.assertIn("setting VERSION='%s': want a function version number" % v, out)
            self.assertEqual(calls, [], out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
