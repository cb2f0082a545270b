"""Shared by the tests/deploy tests: a moto server of their own, the deploy script run for real, and an
exact snapshot of everything in the account, read with boto3 (the tests' eyes; the scripts use the aws CLI).

moto runs through moto_launcher.py (API Gateway's regional target and zone id added) on a free loopback
port, with the start-up variables moto 5 reads only from its environment (managed IAM policies loaded,
ACM certificates issued at once, AMI and instance-type validation on). Exits 77 (skipped) without moto or boto3.

The deploy never talks to moto directly: it talks to the realism layer (realism.py) in front of it, which
forwards every call and reproduces what AWS does and moto does not (tests/deploy/README.md). A test class
picks the layer's behaviours with `realism` (default REALISM below); Moto.url is the layer (for the deploy),
Moto.client() goes straight to moto (the test's eyes, never throttled, never logged), Moto.calls() reads
the layer's JSON-lines call log.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy", "nearjs-deploy.sh")
BIN = os.environ.get("NEARJS_BIN", os.path.join(ROOT, "build", "bin"))
REGIONS = ["us-east-1", "eu-west-1"]
ACCOUNT = "123456789012"
DOMAIN = "example.com"

AWS_PYTHON_HOW = ("make test installs them: its make setup runs scripts/find-aws-python.sh (pyenv's python with them, or a .venv it pip-installs)")
try:
    import boto3
    import moto  # noqa: F401
except ImportError:
    print("SKIP: no boto3/moto in %s: %s" % (sys.executable, AWS_PYTHON_HOW))
    sys.exit(77)


def aws_clis():
    """The aws CLIs on this machine by major version: Debian's v2 (/usr/bin/aws), and the one beside
    this python (pyenv's is v1)."""
    found = {}
    for path in ("/usr/bin/aws", os.path.join(os.path.dirname(sys.executable), "aws")):
        if not os.access(path, os.X_OK):
            continue
        p = subprocess.run([path, "--version"], capture_output=True, text=True)
        version = (p.stdout + p.stderr).strip()
        for major in ("1", "2"):
            if version.startswith("aws-cli/%s." % major):
                found.setdefault("v" + major, path)
    return found


def cli_for(want):
    """The CLI named (v1 or v2): the test says which CLI it runs, so it runs that one or none. Exits 77
    (skipped; under CI=true tests/run_test.sh fails it) when this machine lacks it."""
    clis = aws_clis()
    if want not in clis:
        how = {"v1": "pyenv's v1 beside the python with moto: %s" % AWS_PYTHON_HOW,
               "v2": "Debian's awscli at /usr/bin/aws: make test installs it, through scripts/setup.sh"}
        print("SKIP: no aws CLI %s on this machine, and this test runs that one (%s)" % (want, how.get(want, want)))
        sys.exit(77)
    return want, clis[want]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_zip(path, payload):
    """A function zip: `bootstrap` holding PAYLOAD (deploy only hashes and uploads it; moto never runs it)."""
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        z.writestr(info, payload)
    return path


# The realism layer's behaviours every deploy test runs with unless its class says otherwise: realism.py
# --on specs; "default" is realism.PROFILES["default"] (tests/deploy/README.md).
REALISM = ["default"]


def wait_http(url, proc, log, what):
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except Exception:
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("%s did not start: %s" % (what, open(log).read()[-2000:]))
            time.sleep(0.1)


class Moto:
    """A moto server on a free loopback port (log TMP/moto.log) behind the realism layer (log
    TMP/realism.log, call log TMP/calls.jsonl) with the behaviours REALISM; stop() ends both."""

    def __init__(self, tmp, plain=False, realism=None):
        self.port = free_port()
        self.direct_url = "http://127.0.0.1:%d" % self.port
        env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true", MOTO_ACM_VALIDATION_WAIT="0",
                   MOTO_ENABLE_AMI_VALIDATION="true", MOTO_EC2_ENABLE_INSTANCE_TYPE_VALIDATION="true")
        self.log = open(os.path.join(tmp, "moto.log"), "w")
        args = [sys.executable, os.path.join(HERE, "moto_launcher.py"), "-H", "127.0.0.1", "-p", str(self.port)]
        self.proc = subprocess.Popen(args + (["--plain"] if plain else []), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env)
        self.layer_proc = None
        wait_http(self.direct_url + "/moto-api/", self.proc, self.log.name, "moto")
        self.calls_path = os.path.join(tmp, "calls.jsonl")
        self.layer_port = free_port()
        self.url = "http://127.0.0.1:%d" % self.layer_port
        self.layer_log = open(os.path.join(tmp, "realism.log"), "w")
        on = REALISM if realism is None else realism
        self.layer_proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "realism.py"), "--moto", self.direct_url, "--port",
             str(self.layer_port), "--log", self.calls_path] + ["--on=" + b for b in on],
            stdout=self.layer_log, stderr=subprocess.STDOUT)
        wait_http(self.url + "/_realism/config", self.layer_proc, self.layer_log.name, "the realism layer")

    def client(self, service, region="us-east-1"):
        """boto3 straight to moto: the test's eyes, not through the layer."""
        return boto3.client(service, endpoint_url=self.direct_url, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def realism(self, on=None, off=None):
        """Switches behaviours while the layer runs: on={name: {param: value}}, off=[name]."""
        req = urllib.request.Request(self.url + "/_realism/config", method="POST",
                                     data=json.dumps({"on": on or {}, "off": off or []}).encode())
        return json.load(urllib.request.urlopen(req, timeout=10))

    def calls(self, since=0.0):
        """The layer's call log: a dict per call (service, operation, region, write, status, by), from SINCE."""
        if not os.path.exists(self.calls_path):
            return []
        with open(self.calls_path) as f:
            return [c for c in (json.loads(line) for line in f if line.strip()) if c["t"] >= since]

    def stop(self):
        for p in (self.layer_proc, self.proc):
            if p is not None and p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    p.kill()
        self.log.close()
        self.layer_log.close()


class DeployTest(unittest.TestCase):
    """setUpClass: a scratch folder, moto, the hosted zone for DOMAIN, a function zip; run() runs the script."""

    plain_moto = False
    realism = None  # the layer's behaviours: None is REALISM

    @classmethod
    def setUpClass(cls):
        cls.cli_name, cls.cli = cli_for(os.environ.get("NEARJS_TEST_AWS_CLI", "v2"))
        cls.tmp = tempfile.mkdtemp(prefix="nearjs-deploy-")
        cls.moto = Moto(cls.tmp, plain=cls.plain_moto, realism=cls.realism)
        r53 = cls.moto.client("route53")
        cls.zone = r53.create_hosted_zone(Name=DOMAIN, CallerReference="t")["HostedZone"]["Id"].split("/")[-1]
        cls.zip = make_zip(os.path.join(cls.tmp, "function.zip"), b"#!/bin/sh\necho one\n")

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ENDPOINT_URL=self.moto.url, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_MAX_ATTEMPTS="1", AWS_PAGER="", AWS_CLI=self.cli, DOMAIN=DOMAIN, ZIP=self.zip, MODE="direct",
                   REGIONS=",".join(REGIONS), NEARJS_CONF=os.path.join(ROOT, "deploy", "nearjs.conf"),
                   AWS_CONFIG_FILE=os.path.join(self.tmp, "no-config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.tmp, "no-credentials"),
                   # every region at once: moto runs no function to answer a canary's checks (test_ops.py
                   # runs one under nearjs-local and tests the staged rollout)
                   ROLLOUT="all-at-once")
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def run_deploy(self, verb, want_rc=0, **extra):
        """Runs `deploy/nearjs-deploy.sh VERB`; returns (output, calls) where calls are the
        "read|write region service op" lines of its call log. Asserts the exit status."""
        calls = os.path.join(self.tmp, "calls")
        if os.path.exists(calls):
            os.unlink(calls)
        # 600 s: a deploy through plain CLI processes on a loaded 2-core machine takes minutes.
        p = subprocess.run([DEPLOY, verb], capture_output=True, text=True, timeout=600,
                           env=self.env(NEARJS_CALL_LOG=calls, **extra), cwd=ROOT)
        out = p.stdout + p.stderr
        self.assertEqual(p.returncode, want_rc, "deploy %s: exit %d\n%s" % (verb, p.returncode, out))
        lines = open(calls).read().splitlines() if os.path.exists(calls) else []
        return out, lines

    def writes(self, calls):
        """The writes the deploy's own call log names (what the scripts think they called)."""
        return [c for c in calls if c.startswith("write ")]

    def boundary_writes(self, since):
        """The writes that reached the AWS side since SINCE (time.time()), as the realism layer saw them:
        "service Operation status" each. Independent of the scripts' own log, which a write that
        bypassed or fooled core.sh's classification would never reach."""
        return ["%s %s %s" % (c["service"], c["operation"], c["status"]) for c in self.moto.calls(since) if c["write"]]

    # ---- the account as it is, every resource, in a stable order --------------------------------
    def snapshot(self):
        m = self.moto
        snap = {"regions": {}}
        for r in REGIONS:
            lam, api, acm = m.client("lambda", r), m.client("apigatewayv2", r), m.client("acm", r)
            reg = snap["regions"][r] = {"functions": {}, "apis": [], "domains": [], "certificates": []}
            for f in lam.list_functions()["Functions"]:
                name = f["FunctionName"]
                fn = lam.get_function(FunctionName=name)
                c = fn["Configuration"]
                entry = {k: c.get(k) for k in ("Runtime", "Handler", "Role", "MemorySize", "Timeout", "CodeSha256",
                                               "Architectures")}
                entry["Environment"] = (c.get("Environment") or {}).get("Variables")
                entry["Tags"] = fn.get("Tags")
                entry["Versions"] = [(v["Version"], v["CodeSha256"], v["MemorySize"])
                                     for v in lam.list_versions_by_function(FunctionName=name)["Versions"]]
                entry["Aliases"] = {a["Name"]: a["FunctionVersion"] for a in lam.list_aliases(FunctionName=name)["Aliases"]}
                try:
                    pol = json.loads(lam.get_policy(FunctionName=name)["Policy"])
                    entry["Policy"] = [(s.get("Sid"), s.get("Principal"), s.get("Action"), s.get("Resource"),
                                        s.get("Condition")) for s in pol["Statement"]]
                except lam.exceptions.ResourceNotFoundException:
                    entry["Policy"] = None
                reg["functions"][name] = entry
            for a in sorted(api.get_apis()["Items"], key=lambda a: a["ApiId"]):
                aid = a["ApiId"]
                reg["apis"].append({
                    "Id": aid, "Name": a["Name"], "Tags": a.get("Tags"),
                    "Integrations": [{k: i.get(k) for k in ("IntegrationId", "IntegrationType", "IntegrationUri",
                                                            "PayloadFormatVersion")}
                                     for i in api.get_integrations(ApiId=aid)["Items"]],
                    "Routes": [(x["RouteKey"], x.get("Target")) for x in api.get_routes(ApiId=aid)["Items"]],
                    "Stages": [{k: s.get(k) for k in ("StageName", "AutoDeploy", "DefaultRouteSettings")}
                               for s in api.get_stages(ApiId=aid)["Items"]],
                })
            for d in sorted(api.get_domain_names()["Items"], key=lambda d: d["DomainName"]):
                reg["domains"].append({
                    "Name": d["DomainName"], "Tags": d.get("Tags"),
                    "Config": [{k: c.get(k) for k in ("CertificateArn", "EndpointType", "ApiGatewayDomainName",
                                                       "HostedZoneId")} for c in d["DomainNameConfigurations"]],
                    "Mappings": [(x["ApiId"], x["Stage"], x.get("ApiMappingKey", ""))
                                 for x in api.get_api_mappings(DomainName=d["DomainName"])["Items"]],
                })
            for c in sorted(acm.list_certificates()["CertificateSummaryList"], key=lambda c: c["CertificateArn"]):
                d = acm.describe_certificate(CertificateArn=c["CertificateArn"])["Certificate"]
                reg["certificates"].append({
                    "Arn": d["CertificateArn"], "Status": d["Status"], "Type": d["Type"],
                    "Names": d.get("SubjectAlternativeNames"),
                    "Tags": sorted((t["Key"], t.get("Value")) for t in
                                   acm.list_tags_for_certificate(CertificateArn=d["CertificateArn"])["Tags"]),
                })
        s3, iam, r53 = m.client("s3"), m.client("iam"), m.client("route53")
        snap["buckets"] = {}
        for b in sorted(x["Name"] for x in s3.list_buckets()["Buckets"]):
            try:
                tags = s3.get_bucket_tagging(Bucket=b)["TagSet"]
            except Exception:
                tags = None
            objs = s3.list_objects_v2(Bucket=b).get("Contents", [])
            snap["buckets"][b] = {"Region": s3.get_bucket_location(Bucket=b).get("LocationConstraint") or "us-east-1",
                                  "Tags": tags, "Objects": sorted((o["Key"], o["ETag"]) for o in objs)}
        snap["roles"] = {}
        for role in iam.list_roles()["Roles"]:
            n = role["RoleName"]
            snap["roles"][n] = {
                "Tags": iam.get_role(RoleName=n)["Role"].get("Tags"),
                "Attached": sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=n)["AttachedPolicies"]),
                "Inline": {p: iam.get_role_policy(RoleName=n, PolicyName=p)["PolicyDocument"]
                           for p in iam.list_role_policies(RoleName=n)["PolicyNames"]},
            }
        snap["health_checks"] = sorted(
            [{"Id": h["Id"], "Config": h["HealthCheckConfig"],
              "Tags": r53.list_tags_for_resource(ResourceType="healthcheck", ResourceId=h["Id"])["ResourceTagSet"]["Tags"]}
             for h in r53.list_health_checks()["HealthChecks"]], key=lambda h: h["Id"])
        snap["records"] = sorted(
            [r for r in r53.list_resource_record_sets(HostedZoneId=self.zone)["ResourceRecordSets"]],
            key=lambda r: (r["Name"], r["Type"], r.get("SetIdentifier", "")))
        return json.loads(json.dumps(snap, sort_keys=True, default=str))
