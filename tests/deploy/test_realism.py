#!/usr/bin/env python3
"""The realism layer (realism.py) itself: for each behaviour, through the real aws CLI, one call that
triggers it and one that does not; and the call log a test reads (service, operation, region, write).

One moto and one layer for the file; each test switches on only its own behaviour (POST /_realism/config),
with the default times unless a test says otherwise. Setup goes straight to moto with boto3.
Usage: test_realism.py [TestClass...]   (exit 77: skipped without moto)
"""
import json
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import deploylib  # noqa: E402
from deploylib import REGIONS  # noqa: E402

from certs import make_cert, new_key, pem  # noqa: E402


class Layer(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.cli_name, cls.cli = deploylib.cli_for(os.environ.get("NEARJS_TEST_AWS_CLI", "v2"))
        import tempfile
        cls.tmp = tempfile.mkdtemp(prefix="nearjs-realism-")
        cls.moto = deploylib.Moto(cls.tmp, realism=[])
        ca_key = new_key("RSA_2048")
        cls.ca = make_cert("test CA", ca_key, ca=True)
        cls.ca_key = ca_key
        cls.files = {}

    @classmethod
    def tearDownClass(cls):
        cls.moto.stop()
        import shutil
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.moto.realism(off=list(self.moto.realism()["on"]))
        self.t0 = time.time()

    def leaf(self, name, kind="RSA_2048"):
        """Files (cert, key, chain) for NAME with a KIND key, issued by the test CA."""
        key = new_key(kind)
        cert = make_cert(name, key, self.ca.subject, self.ca_key)
        base = os.path.join(self.tmp, "%s-%s" % (name, kind))
        for suffix, data in (("crt", pem(cert)), ("key", pem(key)), ("ca", pem(self.ca)),
                             ("full", pem(cert) + pem(self.ca))):
            with open("%s.%s" % (base, suffix), "wb") as f:
                f.write(data)
        return base

    def aws(self, *args, region="us-east-1", want=0, attempts="1"):
        """The real aws CLI through the layer; returns (rc, stdout, stderr), asserting rc == WANT (when not None)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_PAGER="", AWS_MAX_ATTEMPTS=attempts,
                   AWS_RETRY_MODE="standard", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        p = subprocess.run([self.cli, "--endpoint-url", self.moto.url, "--region", region, "--output", "json"]
                           + list(args), capture_output=True, text=True, env=env, timeout=120)
        if want is not None:
            if want == 0:
                self.assertEqual(p.returncode, 0, "aws %s: %s" % (" ".join(args[:2]), p.stderr))
            else:
                self.assertNotEqual(p.returncode, 0, "aws %s succeeded: %s" % (" ".join(args[:2]), p.stdout))
        return p.returncode, p.stdout, p.stderr

    def refused(self, code, *args, **kw):
        _, _, err = self.aws(*args, want=1, **kw)
        self.assertIn("(%s)" % code, err)
        return err

    def by(self, behaviour):
        return [c for c in self.moto.calls(self.t0) if c.get("by") == behaviour]

    # ---- a. IAM propagation ---------------------------------------------------------------------
    def test_iam_propagation_role(self):
        # 60 s, so that however slow this machine's CLI is, the refusals come within it; then the delay is
        # cut to 1 s (the behaviour keeps what it saw) to show the role settling. test_first_deploy.py runs
        # the deploy against the default 10 s.
        self.moto.realism(on={"iam-propagation": {"delay": 60}})
        trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                    "Principal": {"Service": "lambda.amazonaws.com"}}]})
        _, out, _ = self.aws("iam", "create-role", "--role-name", "fresh", "--assume-role-policy-document", trust)
        arn = json.loads(out)["Role"]["Arn"]
        z = deploylib.make_zip(os.path.join(self.tmp, "f.zip"), b"x")
        create = ("lambda", "create-function", "--function-name", "f1", "--runtime", "provided.al2023",
                  "--handler", "bootstrap", "--role", arn, "--zip-file", "fileb://" + z)
        err = self.refused("InvalidParameterValueException", *create)
        self.assertIn("cannot be assumed by Lambda", err)
        self.aws("iam", "attach-role-policy", "--role-name", "fresh", "--policy-arn",
                 "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
        self.refused("InvalidParameterValueException", *create)  # a new policy starts the wait again
        self.moto.realism(on={"iam-propagation": {"delay": 1}})
        time.sleep(1.2)
        self.aws(*create)  # the role has settled
        self.assertEqual(len(self.by("iam-propagation")), 2)

    def test_iam_propagation_instance_profile(self):
        self.moto.realism(on={"iam-propagation": {"delay": 60}})  # room for a slow machine's CLI
        iam = self.moto.client("iam")
        iam.create_role(RoleName="edge-role", AssumeRolePolicyDocument="{}")
        iam.create_instance_profile(InstanceProfileName="old-profile")  # straight to moto: long settled
        iam.add_role_to_instance_profile(InstanceProfileName="old-profile", RoleName="edge-role")
        ami = self.moto.client("ssm").get_parameter(
            Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")["Parameter"]["Value"]
        self.aws("iam", "create-instance-profile", "--instance-profile-name", "new-profile")
        run = ("ec2", "run-instances", "--image-id", ami, "--instance-type", "t3.micro", "--iam-instance-profile")
        err = self.refused("InvalidParameterValue", *run, "Name=new-profile")
        self.assertIn("Invalid IAM Instance Profile name", err)
        self.aws(*run, "Name=old-profile")

    # ---- b. one certificate in Certificate ------------------------------------------------------
    def test_acm_one_certificate(self):
        self.moto.realism(on={"acm-one-certificate": {}})
        f = self.leaf("one.example.com")
        err = self.refused("ValidationException", "acm", "import-certificate", "--certificate", "fileb://%s.full" % f,
                           "--private-key", "fileb://%s.key" % f)
        self.assertIn("more than one certificate", err)
        self.aws("acm", "import-certificate", "--certificate", "fileb://%s.crt" % f, "--private-key",
                 "fileb://%s.key" % f, "--certificate-chain", "fileb://%s.ca" % f)

    # ---- c. list filter ---------------------------------------------------------------------------
    def test_acm_key_types(self):
        acm = self.moto.client("acm", "eu-west-1")
        arns = {}
        for kind in ("RSA_2048", "EC_prime256v1", "RSA_4096"):
            f = self.leaf("kt.example.com", kind)
            arns[kind] = acm.import_certificate(Certificate=open(f + ".crt", "rb").read(),
                                                PrivateKey=open(f + ".key", "rb").read())["CertificateArn"]
        self.moto.realism(on={"acm-key-types": {}})
        _, out, _ = self.aws("acm", "list-certificates", region="eu-west-1")
        self.assertEqual({c["CertificateArn"] for c in json.loads(out)["CertificateSummaryList"]}, {arns["RSA_2048"]})
        _, out, _ = self.aws("acm", "list-certificates", "--includes", "keyTypes=EC_prime256v1,RSA_4096,RSA_2048",
                             region="eu-west-1")
        self.assertEqual({c["CertificateArn"] for c in json.loads(out)["CertificateSummaryList"]}, set(arns.values()))

    # ---- d. certificate in use --------------------------------------------------------------------
    def test_cert_in_use(self):
        region = "eu-west-1"
        acm, api = self.moto.client("acm", region), self.moto.client("apigatewayv2", region)
        f = self.leaf("use.example.com")
        used, unused = (acm.import_certificate(Certificate=open(f + ".crt", "rb").read(),
                                               PrivateKey=open(f + ".key", "rb").read())["CertificateArn"]
                        for _ in range(2))
        api.create_domain_name(DomainName="use.example.com", DomainNameConfigurations=[
            {"CertificateArn": used, "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"}])
        self.moto.realism(on={"cert-in-use": {"linger": 60}})  # room for a slow machine's CLI
        self.refused("ResourceInUseException", "acm", "delete-certificate", "--certificate-arn", used, region=region)
        self.aws("acm", "delete-certificate", "--certificate-arn", unused, region=region)
        self.aws("apigatewayv2", "delete-domain-name", "--domain-name", "use.example.com", region=region)
        self.refused("ResourceInUseException", "acm", "delete-certificate", "--certificate-arn", used, region=region)
        self.moto.realism(on={"cert-in-use": {"linger": 1}})  # keeps when the domain let go
        time.sleep(1.2)
        self.aws("acm", "delete-certificate", "--certificate-arn", used, region=region)

    # ---- e. mapped API ------------------------------------------------------------------------------
    def test_mapped_api(self):
        region = "us-east-1"
        api = self.moto.client("apigatewayv2", region)
        mapped = api.create_api(Name="mapped", ProtocolType="HTTP")["ApiId"]
        free = api.create_api(Name="free", ProtocolType="HTTP")["ApiId"]
        api.create_stage(ApiId=mapped, StageName="$default")
        api.create_domain_name(DomainName="map.example.com", DomainNameConfigurations=[
            {"CertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/x", "EndpointType": "REGIONAL"}])
        mid = api.create_api_mapping(DomainName="map.example.com", ApiId=mapped, Stage="$default")["ApiMappingId"]
        self.moto.realism(on={"mapped-api": {}})
        err = self.refused("BadRequestException", "apigatewayv2", "delete-api", "--api-id", mapped)
        self.assertIn("remove all API mappings", err)
        self.aws("apigatewayv2", "delete-api", "--api-id", free)
        api.delete_api_mapping(DomainName="map.example.com", ApiMappingId=mid)
        self.aws("apigatewayv2", "delete-api", "--api-id", mapped)

    # ---- f. throttling ------------------------------------------------------------------------------
    def test_throttle_first(self):
        self.moto.realism(on={"throttle-first": {}})
        self.refused("TooManyRequestsException", "lambda", "list-functions")
        self.aws("lambda", "list-functions")
        self.refused("TooManyRequestsException", "lambda", "list-functions", region="eu-west-1")  # per region
        self.refused("RequestLimitExceeded", "ec2", "describe-vpcs")  # EC2's own spelling
        self.refused("Throttling", "route53", "list-hosted-zones")
        self.refused("ThrottlingException", "acm", "list-certificates")
        # The CLI's own retries absorb it (what deploy sets: standard mode, several attempts).
        self.aws("ssm", "describe-parameters", attempts="3")
        ops = [(c["operation"], c["status"]) for c in self.moto.calls(self.t0) if c["service"] == "ssm"]
        self.assertEqual(ops[:2], [("DescribeParameters", 400), ("DescribeParameters", 200)])
        # CloudWatch in smithy-rpc-v2-cbor (the CLI here): the throttle must parse as Throttling there too,
        # or the CLI does not retry it (an XML answer to a CBOR call failed deploy's alarms step)
        self.refused("Throttling", "cloudwatch", "describe-alarms")
        self.aws("cloudwatch", "describe-alarms", region="eu-west-1", attempts="3")

    # ---- g. health check CallerReference -----------------------------------------------------------
    def test_health_check_reference(self):
        self.moto.realism(on={"health-check-reference": {}})
        conf = "Type=HTTPS,FullyQualifiedDomainName=a.example.com,Port=443,ResourcePath=/healthz"
        other = conf.replace("/healthz", "/other")
        _, out, _ = self.aws("route53", "create-health-check", "--caller-reference", "ref-1", "--health-check-config", conf)
        first = json.loads(out)["HealthCheck"]["Id"]
        _, out, _ = self.aws("route53", "create-health-check", "--caller-reference", "ref-1", "--health-check-config", conf)
        self.assertEqual(json.loads(out)["HealthCheck"]["Id"], first)  # the same check, not a second one
        self.refused("HealthCheckAlreadyExists", "route53", "create-health-check", "--caller-reference", "ref-1",
                     "--health-check-config", other)
        self.aws("route53", "delete-health-check", "--health-check-id", first)
        self.refused("HealthCheckAlreadyExists", "route53", "create-health-check", "--caller-reference", "ref-1",
                     "--health-check-config", conf)
        self.aws("route53", "create-health-check", "--caller-reference", "ref-2", "--health-check-config", conf)
        ids = [h["Id"] for h in self.moto.client("route53").list_health_checks()["HealthChecks"]
               if h["CallerReference"] in ("ref-1", "ref-2")]
        self.assertEqual(len(ids), 1)

    # ---- health checks that fail on demand (issue 19, realism_health.py) -----------------------------
    def test_health_check_failing(self):
        conf = "Type=HTTPS,FullyQualifiedDomainName=%s.example.com,Port=443,ResourcePath=/healthz"
        ids = [json.loads(self.aws("route53", "create-health-check", "--caller-reference", "hcf-" + n,
                                   "--health-check-config", conf % n)[1])["HealthCheck"]["Id"] for n in ("a", "b")]

        def statuses(hc):
            out = json.loads(self.aws("route53", "get-health-check-status", "--health-check-id", hc)[1])
            return {o["StatusReport"]["Status"].split(":")[0] for o in out["HealthCheckObservations"]}

        self.assertEqual(statuses(ids[0]), {"Success"})  # moto's answer, always
        self.moto.realism(on={"health-check-failing": {"ids": ids[0]}})
        self.assertEqual(statuses(ids[0]), {"Failure"})
        self.assertEqual(statuses(ids[1]), {"Success"})
        self.assertEqual(len(self.by("health-check-failing")), 1)
        self.moto.realism(on={"health-check-failing": {"ids": "all"}})
        self.assertEqual(statuses(ids[1]), {"Failure"})
        self.moto.realism(off=["health-check-failing"])
        self.assertEqual(statuses(ids[0]), {"Success"})

    # ---- h. re-import keeps tags --------------------------------------------------------------------
    def test_reimport_keeps_tags(self):
        acm = self.moto.client("acm")
        f, g = self.leaf("tags.example.com"), self.leaf("tags2.example.com")
        arn = acm.import_certificate(Certificate=open(f + ".crt", "rb").read(), PrivateKey=open(f + ".key", "rb").read(),
                                     Tags=[{"Key": "nearjs:stack", "Value": "s"}])["CertificateArn"]
        self.moto.realism(on={"reimport-keeps-tags": {}})
        reimport = ("acm", "import-certificate", "--certificate-arn", arn, "--certificate", "fileb://%s.crt" % g,
                    "--private-key", "fileb://%s.key" % g)
        err = self.refused("ValidationException", *reimport, "--tags", "Key=a,Value=b")
        self.assertIn("not permitted on re-import", err)
        self.aws(*reimport)
        self.assertEqual(acm.list_tags_for_certificate(CertificateArn=arn)["Tags"], [{"Key": "nearjs:stack", "Value": "s"}])

    # ---- i. re-import keeps the key type ------------------------------------------------------------
    def test_reimport_key_type(self):
        acm = self.moto.client("acm")
        f, same, ec_ = self.leaf("kt2.example.com"), self.leaf("kt3.example.com"), self.leaf("kt4.example.com", "EC_prime256v1")
        arn = acm.import_certificate(Certificate=open(f + ".crt", "rb").read(),
                                     PrivateKey=open(f + ".key", "rb").read())["CertificateArn"]
        self.moto.realism(on={"reimport-key-type": {}})
        reimport = ("acm", "import-certificate", "--certificate-arn", arn)
        err = self.refused("ValidationException", *reimport, "--certificate", "fileb://%s.crt" % ec_,
                           "--private-key", "fileb://%s.key" % ec_)
        self.assertIn("EC_prime256v1", err)
        self.aws(*reimport, "--certificate", "fileb://%s.crt" % same, "--private-key", "fileb://%s.key" % same)

    # ---- checks that add to the call log ------------------------------------------------------------
    def test_log_params(self):
        self.moto.realism(on={"log-params": {}})
        ami = self.moto.client("ssm").get_parameter(
            Name="/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")["Parameter"]["Value"]
        self.aws("ec2", "run-instances", "--image-id", ami, "--instance-type", "t3.micro",
                 "--credit-specification", "CpuCredits=standard")
        self.aws("ec2", "describe-instances")
        got = [(c["operation"], c.get("params", {}).get("CreditSpecification.CpuCredits")) for c in self.moto.calls(self.t0)]
        self.assertEqual(got, [("RunInstances", "standard"), ("DescribeInstances", None)])

    def test_address_in_dns(self):
        ec2, r53 = self.moto.client("ec2"), self.moto.client("route53")
        named, free = (ec2.allocate_address(Domain="vpc") for _ in range(2))
        zone = r53.create_hosted_zone(Name="addr.example", CallerReference="addr")["HostedZone"]["Id"]
        r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "UPSERT",
            "ResourceRecordSet": {"Name": "a.addr.example", "Type": "A", "TTL": 60,
                                  "ResourceRecords": [{"Value": named["PublicIp"]}]}}]})
        self.moto.realism(on={"address-in-dns": {}})
        self.aws("ec2", "release-address", "--allocation-id", free["AllocationId"])
        self.aws("ec2", "release-address", "--allocation-id", named["AllocationId"])  # AWS allows it: flagged only
        got = [c.get("violation", "") for c in self.moto.calls(self.t0)]
        self.assertEqual(got[0], "")
        self.assertIn("released %s while named by record a.addr.example." % named["PublicIp"], got[1])

    # ---- the call log --------------------------------------------------------------------------------
    def test_call_log(self):
        body = os.path.join(self.tmp, "obj")
        with open(body, "wb") as f:
            f.write(bytes(range(256)) * 64)
        self.aws("s3api", "create-bucket", "--bucket", "realism-log", "--create-bucket-configuration",
                 "LocationConstraint=eu-west-1", region="eu-west-1")
        self.aws("s3api", "put-object", "--bucket", "realism-log", "--key", "a/b c", "--body", body, region="eu-west-1")
        out = os.path.join(self.tmp, "back")
        self.aws("s3api", "get-object", "--bucket", "realism-log", "--key", "a/b c", out, region="eu-west-1")
        self.assertEqual(open(out, "rb").read(), open(body, "rb").read())  # forwarded unchanged, both ways
        self.aws("apigatewayv2", "get-apis", region="eu-west-1")
        self.aws("lambda", "list-functions", region="eu-west-1")
        self.aws("route53", "list-health-checks")
        self.aws("ssm", "put-parameter", "--name", "/realism/p", "--value", "v", "--type", "String")
        self.aws("iam", "list-roles")
        self.aws("ec2", "describe-instances")
        # CloudWatch's newest model speaks smithy-rpc-v2-cbor; the CLI still sends the query protocol's form
        self.aws("cloudwatch", "describe-alarms")
        got = [(c["service"], c["operation"], c["region"], c["write"], c["status"]) for c in self.moto.calls(self.t0)]
        self.assertEqual(got, [
            ("s3", "CreateBucket", "eu-west-1", True, 200),
            ("s3", "PutObject", "eu-west-1", True, 200),
            ("s3", "GetObject", "eu-west-1", False, 200),
            ("apigatewayv2", "GetApis", "eu-west-1", False, 200),
            ("lambda", "ListFunctions", "eu-west-1", False, 200),
            ("route53", "ListHealthChecks", "us-east-1", False, 200),
            ("ssm", "PutParameter", "us-east-1", True, 200),
            ("iam", "ListRoles", "us-east-1", False, 200),
            ("ec2", "DescribeInstances", "us-east-1", False, 200),
            ("cloudwatch", "DescribeAlarms", "us-east-1", False, 200),
        ])
        self.assertIn("eu-west-1", REGIONS)

    def test_unknown_behaviour_is_named(self):
        import urllib.error
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.moto.realism(on={"no-such-behaviour": {}})
        self.assertIn("no-such-behaviour", e.exception.read().decode())


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[1:], verbosity=2)
