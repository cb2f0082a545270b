#!/usr/bin/env python3
"""template.yaml, the SAM template at the repository's root.

- cfn-lint finds nothing in it, run offline (in a network namespace of its own: unshare -rn).
- SAM's own translator (samtranslator, cfn-lint's dependency) turns it into: a provided.al2023 function
  with handler bootstrap, a version and the alias `live`, an HTTP API whose $default route is an AWS_PROXY
  payload 2.0 integration on that alias, its $default stage, and one permission for API Gateway on the alias.
- `nearjs-local start-api -t template.yaml` serves from it: a copy of the file next to a package made by
  deploy/package.sh (CodeUri build/function-package) answers the demo's script and /healthz, with the
  template's Timeout and MemorySize, and says that NEARJS_STORE (a !Ref) is left out.
cfn-lint checks skip, saying so, where this python has no cfn-lint; start-api's runs everywhere.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request

BIN = os.environ.get("NEARJS_BIN", "")
BUILD = os.path.dirname(BIN.rstrip("/"))
SRC = os.path.abspath(os.environ.get("NEARJS_SRC", os.path.join(os.path.dirname(__file__), "..", "..")))
TEMPLATE = os.path.join(SRC, "template.yaml")
CFN_LINT = os.path.join(os.path.dirname(sys.executable), "cfn-lint")


def offline(cmd, **kw):
    """Runs cmd without network where a network namespace can be had (unshare -rn), else as is."""
    if subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0:
        cmd = ["unshare", "-rn"] + cmd
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)


class SamTemplateTest(unittest.TestCase):
    def need_cfn_lint(self):
        if not os.access(CFN_LINT, os.X_OK):
            self.skipTest("no cfn-lint beside %s: make test's scripts/find-aws-python.sh pip-installs it only into a .venv"
                          " it creates; pip install cfn-lint beside that python" % sys.executable)

    def test_cfn_lint_clean(self):
        self.need_cfn_lint()
        p = offline([CFN_LINT, TEMPLATE])
        self.assertEqual(p.returncode, 0, "cfn-lint:\n" + p.stdout + p.stderr)
        self.assertEqual(p.stdout.strip(), "")

    def test_cfn_lint_sees_mistakes(self):
        # The same run on a broken copy fails: the lint is really applied (the transform included).
        self.need_cfn_lint()
        tmp = tempfile.mkdtemp(prefix="nearjs-sam-")
        self.addCleanup(shutil.rmtree, tmp, True)
        bad = os.path.join(tmp, "template.yaml")
        with open(TEMPLATE) as f, open(bad, "w") as g:
            g.write(f.read().replace("provided.al2023", "provided.al9").replace("NearjsFunctionAliaslive", "NoSuchAlias"))
        p = offline([CFN_LINT, bad])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("provided.al9", p.stdout)
        self.assertIn("NoSuchAlias", p.stdout)

    def test_translates_to_function_alias_and_default_route(self):
        self.need_cfn_lint()
        script = r'''
import json, sys
from cfnlint.decode import decode
from samtranslator.translator.transform import transform
tpl, errors = decode(sys.argv[1])
assert not errors, errors
# A local CodeUri is what `sam deploy` uploads; the translator wants the S3 location it would become.
tpl["Resources"]["NearjsFunction"]["Properties"]["CodeUri"] = "s3://bucket/function.zip"
class NoManagedPolicies:
    def load(self):
        return {}
print(json.dumps(transform(tpl, {}, NoManagedPolicies()), default=str))
'''
        p = offline([sys.executable, "-c", script, TEMPLATE], env=dict(os.environ, AWS_DEFAULT_REGION="us-east-1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        res = json.loads(p.stdout)["Resources"]
        by_type = {}
        for rid, r in res.items():
            by_type.setdefault(r["Type"], []).append(rid)
        fn = res["NearjsFunction"]["Properties"]
        self.assertEqual((fn["Runtime"], fn["Handler"], fn["Architectures"], fn["Timeout"], fn["MemorySize"]),
                         ("provided.al2023", "bootstrap", [{"Ref": "Architecture"}], 3, 128))
        self.assertEqual(json.loads(p.stdout)["Parameters"]["Architecture"]["AllowedValues"], ["x86_64", "arm64"])
        # What make deploy's role has: GetObject on the objects, ListBucket on the bucket (a missing script
        # is a 404, not a 403 that the function would report as a store error).
        role = res["NearjsFunctionRole"]["Properties"]
        stmts = [st for pol in role.get("Policies", []) for st in pol["PolicyDocument"]["Statement"]]
        self.assertEqual(sorted((st["Action"], json.dumps(st["Resource"])) for st in stmts),
                         [("s3:GetObject", json.dumps({"Fn::Sub": "${StoreBucketArn}/*"})),
                          ("s3:ListBucket", json.dumps({"Ref": "StoreBucketArn"}))])
        logs = res["NearjsLogGroup"]["Properties"]
        self.assertEqual((logs["LogGroupName"], logs["RetentionInDays"]),
                         ({"Fn::Sub": "/aws/lambda/${NearjsFunction}"}, {"Ref": "LogRetentionDays"}))
        alias = res["NearjsFunctionAliaslive"]["Properties"]
        self.assertEqual((alias["Name"], alias["FunctionName"]), ("live", {"Ref": "NearjsFunction"}))
        self.assertEqual(len(by_type["AWS::Lambda::Version"]), 1)
        paths = res["NearjsApi"]["Properties"]["Body"]["paths"]
        self.assertEqual(list(paths), ["$default"])
        integ = paths["$default"]["x-amazon-apigateway-any-method"]["x-amazon-apigateway-integration"]
        self.assertEqual((integ["type"], integ["payloadFormatVersion"]), ("aws_proxy", "2.0"))
        self.assertIn("${NearjsFunctionAliaslive}/invocations", integ["uri"]["Fn::Sub"])
        perms = [res[r]["Properties"] for r in by_type["AWS::Lambda::Permission"]]
        self.assertEqual([(q["FunctionName"], q["Principal"]) for q in perms],
                         [({"Ref": "NearjsFunctionAliaslive"}, "apigateway.amazonaws.com")])
        stage = res[by_type["AWS::ApiGatewayV2::Stage"][0]]["Properties"]
        self.assertEqual((stage["StageName"], stage["AutoDeploy"]), ("$default", True))

    def test_start_api_serves_from_it(self):
        tmp = tempfile.mkdtemp(prefix="nearjs-sam-")
        self.addCleanup(shutil.rmtree, tmp, True)
        # The template as it is, beside a package with the demo store in content/ (the default NEARJS_STORE).
        shutil.copy(TEMPLATE, tmp)
        p = subprocess.run([os.path.join(SRC, "deploy", "package.sh"), "--build", BUILD, "--content",
                            os.path.join(SRC, "function", "demo"), "--out", os.path.join(tmp, "build", "function.zip")],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        log_path = os.path.join(tmp, "start-api.log")
        with open(log_path, "w") as log:
            api = subprocess.Popen([os.path.join(BIN, "nearjs-local"), "start-api", "--port", "0", "-t",
                                    os.path.join(tmp, "template.yaml")], stdout=subprocess.DEVNULL, stderr=log)
        self.addCleanup(lambda: (api.terminate(), api.wait(timeout=10)))
        deadline = time.time() + 20
        while True:
            with open(log_path) as f:
                text = f.read()
            m = re.search(r"listening on (http://\S+)", text)
            if m:
                url = m.group(1).rstrip("/")
                break
            self.assertTrue(time.time() < deadline and api.poll() is None, "start-api did not come up:\n" + text)
            time.sleep(0.05)
        self.assertIn("function 'NearjsFunction'", text)
        self.assertIn("timeout 3.00 s", text)
        self.assertRegex(text, r"1 Environment variable\(s\) use intrinsic functions")
        with urllib.request.urlopen(url + "/acme/main.js", timeout=10) as r:
            self.assertEqual(r.status, 200)
            self.assertEqual(r.headers["Content-Type"], "application/javascript; charset=utf-8")
            self.assertIn(b"nearjs demo loader", r.read())
        with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
            self.assertEqual((r.status, r.read()), (200, b"ok\n"))


def main():
    if not os.access(os.path.join(BIN, "nearjs-local"), os.X_OK):
        print("SKIP: nearjs-local not built (make test builds it)")
        return 77
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
