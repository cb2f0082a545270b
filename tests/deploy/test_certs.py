#!/usr/bin/env python3
"""Certificates as users have them, through the realism layer (MODE=direct, one region):
- CERT_FILE a full chain (leaf, then intermediate): imported as one Certificate and a CertificateChain
  (the layer refuses more than one certificate in Certificate), found again on the next run (a no-op);
- a leaf with no chain from a root nobody trusts, and a chain that lacks the issuer: refused at the
  settings check, one line, exit 2, no write;
- ECDSA P-384, RSA 4096 and RSA 3072 certificates: each imported once, found again (the layer answers
  ListCertificates without Includes.keyTypes with RSA_1024/2048 only), never imported a second time;
- a changed key type is a new import, and the custom domains move to it with UpdateDomainName; the same
  key type is a re-import under the same ARN that keeps its tags: across all the rotations, no
  DeleteDomainName and no DeleteApiMapping, and the regional target name stays;
- no tag value holds a file path, and every tag value keeps to AWS's characters.
Usage: test_certs.py   (exit 77: skipped without moto)
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from certs import TestCA  # noqa: E402
from deploylib import DeployTest  # noqa: E402

REGION = "us-east-1"
NAMES = ["*.example.com", "example.com"]
TAG_VALUE = re.compile(r"^[\w\s.:/=+\-@]*$")  # AWS: [\p{L}\p{Z}\p{N}_.:/=+\-@]*


class Certs(DeployTest):
    realism = ["default", "acm-key-types", "acm-one-certificate", "reimport-keeps-tags", "reimport-key-type"]

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ca = TestCA(cls.tmp)
        cls.settings = {"REGIONS": REGION, "MODE": "direct"}

    def deploy(self, base, want=0, chain=None, full=True):
        extra = dict(self.settings, CERT_FILE=base + (".full" if full else ".crt"), KEY_FILE=base + ".key",
                     CHAIN_FILE=chain or "")
        return self.run_deploy("deploy", want, **extra)

    def acm(self):
        return self.moto.client("acm", REGION)

    def stack_certs(self):
        acm = self.acm()
        out = {}
        for c in acm.list_certificates(Includes={"keyTypes": ["RSA_2048", "RSA_3072", "RSA_4096", "EC_prime256v1",
                                                              "EC_secp384r1"]})["CertificateSummaryList"]:
            tags = {t["Key"]: t.get("Value", "") for t in acm.list_tags_for_certificate(
                CertificateArn=c["CertificateArn"])["Tags"]}
            if tags.get("nearjs:stack") == "nearjs":
                out[c["CertificateArn"]] = tags
        return out

    def domains(self):
        api = self.moto.client("apigatewayv2", REGION)
        return {d["DomainName"]: (d["DomainNameConfigurations"][0]["CertificateArn"],
                                  d["DomainNameConfigurations"][0]["ApiGatewayDomainName"])
                for d in api.get_domain_names()["Items"]}

    def ops(self, since, op):
        return [c for c in self.moto.calls(since) if c["operation"] == op]

    def test_1_refused_at_settings(self):
        lone = self.ca.leaf("EC_prime256v1", NAMES)
        out, calls = self.deploy(lone, 2, full=False)
        self.assertIn("which is not a trusted root, and no chain was given: API Gateway would serve this "
                      "certificate alone", out)
        self.assertIn("give CERT_FILE=fullchain.pem", out)
        self.assertEqual(self.writes(calls), [])
        other = TestCA(self.tmp, "someone else").leaf("EC_prime256v1", NAMES)
        out, calls = self.deploy(lone, 2, chain=other + ".inter", full=False)
        self.assertIn("the chain does not hold the certificate's issuer 'CN=nearjs test intermediate'", out)
        self.assertEqual(self.writes(calls), [])

    def test_2_full_chain_and_key_types(self):
        t0 = time.time()
        arns = {}
        targets = None
        for kind in ("EC_prime256v1", "EC_secp384r1", "RSA_4096", "RSA_4096", "RSA_3072"):
            base = self.ca.leaf(kind, NAMES)
            t = time.time()
            self.deploy(base)
            imports = self.ops(t, "ImportCertificate")
            self.assertEqual(len(imports), 1, "%s: one import" % kind)
            self.assertEqual([c["status"] for c in imports], [200], "%s: refused: %s" % (kind, imports))
            now = self.stack_certs()
            mine = [a for a, tags in now.items() if self.acm().describe_certificate(
                CertificateArn=a)["Certificate"]["KeyAlgorithm"] == kind]
            self.assertEqual(len(mine), 1, "%s: one certificate of that type" % kind)
            if kind in arns:
                self.assertEqual(mine[0], arns[kind], "same key type: re-imported under the same ARN")
                self.assertIn("nearjs:stack", now[mine[0]], "the re-import kept the tags")
            arns[kind] = mine[0]
            doms = self.domains()
            self.assertEqual({d: c for d, (c, _) in doms.items()},
                             {"us-east-1-fast.example.com": mine[0], "fast.example.com": mine[0]},
                             "%s: the domains are on the new certificate" % kind)
            if targets is not None:
                self.assertEqual({d: g for d, (_, g) in doms.items()}, targets, "the regional targets stay")
            targets = {d: g for d, (_, g) in doms.items()}
            got = self.acm().get_certificate(CertificateArn=mine[0])
            leaf, inter = open(base + ".crt").read().strip(), open(base + ".inter").read().strip()
            self.assertEqual(got["Certificate"].strip(), leaf, "the leaf alone went in as Certificate")
            self.assertIn(inter, got.get("CertificateChain", ""), "the intermediate went in as the chain")
            self.assertNotIn(leaf, got.get("CertificateChain", ""))
            t = time.time()
            out, calls = self.deploy(base)
            self.assertEqual(self.writes(calls), [], "%s: the next run writes nothing:\n%s" % (kind, out))
            self.assertEqual([c for c in self.moto.calls(t) if c["write"]], [])
        self.assertEqual(self.ops(t0, "DeleteDomainName"), [])
        self.assertEqual(self.ops(t0, "DeleteApiMapping"), [])
        self.assertEqual(len(self.ops(t0, "UpdateDomainName")), 2 * 3, "P-384, RSA 4096, RSA 3072: 2 domains each")
        for arn, tags in self.stack_certs().items():
            for k, v in tags.items():
                self.assertRegex(v, TAG_VALUE, "%s: tag %s" % (arn, k))
                self.assertNotIn(self.tmp, v, "%s: tag %s holds a file path" % (arn, k))


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
