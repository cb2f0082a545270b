#!/usr/bin/env python3
"""make deploy when things are wrong, against moto:
- bad settings (unknown region, no hosted zone for DOMAIN, unreadable or non-matching certificate,
  missing zip) are named in one line, exit 2, and nothing is written;
- a failure in the second region (a function of the same name that deploy did not make) lets the first
  finish, prints the per-region summary with the step and the CLI's error, exits 1; once the cause is
  gone a re-run converges (and a third run writes nothing);
- plain moto (no API Gateway regional target in get-domain-name): deploy stops at the domains step,
  saying which fields are missing.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import ACCOUNT, REGIONS, DeployTest  # noqa: E402


class Failures(DeployTest):
    def test_1_bad_settings_touch_nothing(self):
        before = self.snapshot()
        bad_cert = os.path.join(self.tmp, "bad.pem")
        with open(bad_cert, "w") as f:
            f.write("not a certificate\n")
        key = os.path.join(self.tmp, "k.pem")
        cert = os.path.join(self.tmp, "c.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=other.test",
                        "-addext", "subjectAltName=DNS:other.test"], check=True, capture_output=True)
        cases = [
            ({"REGIONS": "us-east-1,eu-west-9"}, "setting REGIONS='us-east-1,eu-west-9': unknown region 'eu-west-9'"),
            ({"REGIONS": ","}, "setting REGIONS=',': name at least one region"),
            ({"DOMAIN": "nozone.test"}, "setting DOMAIN='nozone.test': no public Route53 hosted zone holds it"),
            ({"HOSTED_ZONE_ID": "ZNOSUCH"}, "setting HOSTED_ZONE_ID='ZNOSUCH': no such hosted zone"),
            ({"CERT_FILE": "/nonexistent/c.pem", "KEY_FILE": key}, "setting CERT_FILE='/nonexistent/c.pem': not readable"),
            ({"CERT_FILE": bad_cert, "KEY_FILE": key}, "not a PEM certificate"),
            ({"CERT_FILE": cert, "KEY_FILE": key}, "does not cover us-east-1-fast.example.com"),
            ({"CERT_FILE": cert}, "give CERT_FILE and KEY_FILE together"),
            ({"ZIP": "/nonexistent.zip"}, "setting ZIP='/nonexistent.zip': not readable (run make package first)"),
            ({"MEMORY": "64"}, "setting MEMORY='64': want 128-10240"),
            ({"MODE": "proxy"}, "setting MODE='proxy': want direct or edge"),
            ({"STACK": "Bad_Name"}, "setting STACK='Bad_Name'"),
        ]
        for extra, want in cases:
            out, calls = self.run_deploy("deploy", 2, **extra)
            self.assertIn(want, out, extra)
            self.assertEqual(len(out.strip().splitlines()), 1, out)
            self.assertEqual(self.writes(calls), [], extra)
        # ORIGIN=url (edge mode's default) with a CLI that cannot grant InvokedViaFunctionUrl: Debian 12's v2.9
        if os.path.exists("/usr/bin/aws"):
            out, calls = self.run_deploy("plan", 2, MODE="edge", ORIGIN="url", AWS_CLI="/usr/bin/aws")
            self.assertIn("setting AWS_CLI='/usr/bin/aws': its lambda add-permission has no --invoked-via-function-url",
                          out)
            self.assertEqual(len(out.strip().splitlines()), 1, out)
            self.assertEqual(self.writes(calls), [])
        out, calls = self.run_deploy("frobnicate", 2)
        self.assertIn("unknown verb 'frobnicate'", out)
        self.assertEqual(self.snapshot(), before)

    def test_2_failure_in_second_region_then_converges(self):
        iam = self.moto.client("iam")
        role = iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        lam = self.moto.client("lambda", "eu-west-1")
        lam.create_function(FunctionName="nearjs", Runtime="provided.al2023", Handler="bootstrap", Role=role,
                            Code={"ZipFile": open(self.zip, "rb").read()})
        out, calls = self.run_deploy("deploy", 1)
        self.assertIn("us-east-1: done: ", out)
        self.assertIn("eu-west-1: failed at step function: function nearjs exists in eu-west-1 but is not tagged", out)
        self.assertIn("[eu-west-1] function nearjs exists in eu-west-1 but is not tagged nearjs:stack=nearjs", out)
        self.assertIn("deploy: deploy failed in eu-west-1; fix and re-run", out)
        snap = self.snapshot()
        self.assertEqual(snap["regions"]["us-east-1"]["functions"]["nearjs"]["Aliases"], {"live": "1"})
        self.assertEqual(len(snap["regions"]["us-east-1"]["domains"]), 2)
        self.assertEqual(snap["regions"]["eu-west-1"]["apis"], [])
        lam.delete_function(FunctionName="nearjs")
        out, _ = self.run_deploy("deploy")
        for r in REGIONS:
            self.assertIn("%s: done: " % r, out)
        self.assertRegex(out, r"us-east-1: done: 0 created, 0 updated, 0 deleted, \d+ unchanged")
        snap = self.snapshot()
        for r in REGIONS:
            fn = snap["regions"][r]["functions"]["nearjs"]
            self.assertEqual(fn["Aliases"], {"live": "1"})
            self.assertEqual(len(fn["Policy"]), 1)
            self.assertEqual(len(snap["regions"][r]["apis"]), 1)
            self.assertEqual(len(snap["regions"][r]["domains"]), 2)
        self.assertEqual(len(snap["health_checks"]), 2)
        self.assertEqual(len([x for x in snap["records"] if x["Type"] == "A"]), 4)
        out, calls = self.run_deploy("deploy")
        self.assertEqual(self.writes(calls), [], out)
        self.assertEqual(self.snapshot(), snap)


class PlainMoto(DeployTest):
    plain_moto = True

    def test_missing_regional_target_is_named(self):
        out, _ = self.run_deploy("deploy", 1, REGIONS="us-east-1")
        self.assertIn("us-east-1: failed at step domains: apigatewayv2 get-domain-name", out)
        self.assertIn("no ApiGatewayDomainName/HostedZoneId in the answer", out)
        self.assertIn("moto without tests/deploy/moto_launcher.py?", out)


if __name__ == "__main__":
    unittest.main(verbosity=2)
