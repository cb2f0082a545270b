#!/usr/bin/env python3
"""make publish and make content-status against moto, two regions, after a real deploy made the buckets
(that deploy imports a *.example.com certificate from files, CERT_FILE/KEY_FILE: one IMPORTED
certificate per region on both custom domains, and a re-run imports nothing):
- publish of function/demo: one line per region (put, unchanged, deleted); a re-run puts nothing;
- an edit, a new file and a removed one: exactly those are put and deleted;
- the function (build/bin/bootstrap under build/bin/nearjs-local invoke, NEARJS_STORE=s3://<that region's
  bucket>, NEARJS_S3_ENDPOINT=moto) serves the new bytes at once in each region;
- content-status: the same everywhere (exit 0); an object changed behind publish's back in one region
  is listed (exit 1);
- a region whose bucket is gone: publish names it (not this account's, or gone), exits 1, and the other
  region is still published.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from certs import TestCA  # noqa: E402
from deploylib import ACCOUNT, BIN, REGIONS, ROOT, DeployTest  # noqa: E402

DEMO = os.path.join(ROOT, "function", "demo")


def bucket(region):
    return "nearjs-content-%s-%s" % (ACCOUNT, region)


class Publish(DeployTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.src = os.path.join(cls.tmp, "store")
        shutil.copytree(DEMO, cls.src)

    def invoke(self, region, path="/acme/main.js"):
        """The real bootstrap reading REGION's content bucket: (status, body)."""
        local, boot = os.path.join(BIN, "nearjs-local"), os.path.join(BIN, "bootstrap")
        if not (os.access(local, os.X_OK) and os.access(boot, os.X_OK)):
            self.skipTest("no %s or %s (make test builds them)" % (local, boot))
        env_file = os.path.join(self.tmp, "env-%s.json" % region)
        with open(env_file, "w") as f:
            json.dump({"Parameters": {"NEARJS_STORE": "s3://" + bucket(region), "NEARJS_S3_ENDPOINT": self.moto.direct_url}}, f)
        event = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {},
                 "requestContext": {"domainName": "fast.example.com", "http": {"method": "GET", "path": path}},
                 "isBase64Encoded": False}
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_REGION=region)
        p = subprocess.run([local, "invoke", "-e", "-", "--env-vars", env_file, boot], input=json.dumps(event),
                           capture_output=True, text=True, timeout=30, env=env)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        answer = json.loads(p.stdout)
        return answer["statusCode"], answer.get("body", "")

    def test_0_deploy_with_imported_certificate(self):
        # An ECDSA P-256 leaf from a test intermediate, as a full chain (ACM's list only finds it again
        # with Includes.keyTypes; the realism layer's acm-key-types and acm-one-certificate hold that).
        base = TestCA(self.tmp).leaf("EC_prime256v1", ["*.example.com"])
        key, cert = base + ".key", base + ".full"
        out, _ = self.run_deploy("deploy", CERT_FILE=cert, KEY_FILE=key)
        snap = self.snapshot()
        for r in REGIONS:
            certs = snap["regions"][r]["certificates"]
            self.assertEqual([(c["Type"], c["Status"]) for c in certs], [("IMPORTED", "ISSUED")], r)
            self.assertIn(["nearjs:stack", "nearjs"], certs[0]["Tags"])
            self.assertEqual([d["Config"][0]["CertificateArn"] for d in snap["regions"][r]["domains"]], [certs[0]["Arn"]] * 2)
        self.assertFalse([x for x in snap["records"] if x["Type"] == "CNAME"])  # no DNS validation for an import
        out, calls = self.run_deploy("deploy", CERT_FILE=cert, KEY_FILE=key)
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual(self.snapshot(), snap)

    def test_1_publish(self):
        out, calls = self.run_deploy("publish", SRC=self.src)
        files = sum(len(f) for _, _, f in os.walk(self.src))
        for r in REGIONS:
            self.assertIn("%s: published: put %d, unchanged 0, deleted 0" % (r, files), out)
        out, calls = self.run_deploy("publish", SRC=self.src)
        self.assertEqual(self.writes(calls), [], out)
        for r in REGIONS:
            self.assertIn("%s: published: put 0, unchanged %d, deleted 0" % (r, files), out)
            status, body = self.invoke(r)
            self.assertEqual(status, 200, body)
        out, _ = self.run_deploy("content-status")
        self.assertIn("content-status: %d objects, the same in all 2 regions" % files, out)

    def test_2_edit_shows_at_once(self):
        cfg = os.path.join(self.src, "accounts", "acme", "main.json")
        with open(cfg) as f:
            data = json.load(f)
        data["nearjsTestMarker"] = "edited-%d" % os.getpid()
        with open(cfg, "w") as f:
            json.dump(data, f)
        os.makedirs(os.path.join(self.src, "accounts", "initech"))
        with open(os.path.join(self.src, "accounts", "initech", "app.json"), "w") as f:
            f.write('{"a": 1}')
        os.unlink(os.path.join(self.src, "accounts", "acme", "widget.json"))
        out, _ = self.run_deploy("publish", SRC=self.src)
        for r in REGIONS:
            self.assertRegex(out, r"%s: published: put 2, unchanged \d+, deleted 1" % r)
            status, body = self.invoke(r)
            self.assertEqual(status, 200)
            self.assertIn(data["nearjsTestMarker"], body)
            self.assertEqual(self.invoke(r, "/initech/app.js")[0], 200)
            self.assertEqual(self.invoke(r, "/acme/widget.js")[0], 404)

    def test_3_content_status_lists_differences(self):
        s3 = self.moto.client("s3", "eu-west-1")
        s3.put_object(Bucket=bucket("eu-west-1"), Key="accounts/acme/main.json", Body=b'{"x": 2}')
        s3.put_object(Bucket=bucket("eu-west-1"), Key="stray.txt", Body=b"x")
        out, _ = self.run_deploy("content-status", 1)
        lines = out.strip().splitlines()
        self.assertEqual(lines[-1], "content-status: 2 of %d objects differ across 2 regions"
                         % (sum(len(f) for _, _, f in os.walk(self.src)) + 1), out)
        self.assertTrue(any(x.startswith("accounts/acme/main.json: us-east-1=") and " eu-west-1=" in x for x in lines), out)
        self.assertIn("stray.txt: us-east-1=(missing) eu-west-1=9dd4e461268c8034f5c8564e155c67a6", lines)
        out, _ = self.run_deploy("publish", SRC=self.src)  # converges
        self.assertIn("eu-west-1: published: put 1, unchanged", out)
        self.assertIn("deleted 1", out)
        self.run_deploy("content-status")

    def test_4_region_not_updated_is_named(self):
        s3 = self.moto.client("s3", "eu-west-1")
        vers = s3.list_object_versions(Bucket=bucket("eu-west-1"))  # the bucket is versioned: every version goes
        for o in vers.get("Versions", []) + vers.get("DeleteMarkers", []):
            s3.delete_object(Bucket=bucket("eu-west-1"), Key=o["Key"], VersionId=o["VersionId"])
        s3.delete_bucket(Bucket=bucket("eu-west-1"))
        with open(os.path.join(self.src, "loader.js"), "a") as f:
            f.write("\n// edited\n")
        out, _ = self.run_deploy("publish", 1, SRC=self.src)
        self.assertIn("us-east-1: published: put 1,", out)
        self.assertIn("eu-west-1: failed at step check s3://%s: bucket %s is not this account's (%s): another account "
                      "owns that name, or it does not exist (run make deploy)" % (bucket("eu-west-1"), bucket("eu-west-1"), ACCOUNT), out)
        self.assertIn("deploy: publish failed in eu-west-1", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
