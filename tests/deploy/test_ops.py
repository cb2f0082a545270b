#!/usr/bin/env python3
"""Operating nearjs (issue 19): the staged rollout, make status, make logs, alarms and the dashboard.

Canary (MODE=direct, us-east-1 the canary, eu-west-1 the rest): the canary's gateway is played by
`nearjs-local start-api --domain us-east-1-fast.example.com` over TLS with a throwaway CA, running the
bootstrap and content of the very zip being deployed (unzipped), so a version whose content lacks the
smoke path answers it 404. The rollout reaches it through its documented knobs CANARY_PORT,
CANARY_RESOLVE (curl --resolve) and CANARY_CACERT (curl --cacert).
  1. a good first deploy: canary then the rest (the call log), status healthy (table and JSON), the
     alarms, topics, subscription and dashboard, a re-run writes nothing;
  2. a new version that fails the smoke path: rolled back in us-east-1, eu-west-1 not touched, exit 1, the
     line names the check and what it saw;
  3. CANARY_WEIGHT: the alias first keeps the old version with a share to the new one, then all of it;
     and a version whose Errors metric is not 0 in the bake: rolled back;
  4. logs of two regions merged in time order, [region] prefixes, FILTER, the REPORT summary;
  5. destroy: no alarm, topic or dashboard left.
Status (MODE=edge, all at once): healthy; then an edge instance stopped, a health check forced to fail
(the realism layer), memory edited by hand and one region's content changed: each named, exit 1.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import unittest
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import ACCOUNT, DOMAIN, REGIONS, ROOT, DeployTest, free_port  # noqa: E402

BIN = os.environ.get("NEARJS_BIN", os.path.join(ROOT, "build", "bin"))
DEMO = os.path.join(ROOT, "function", "demo")
CANARY, REST = REGIONS
SMOKE = "/acme/main.js"


def openssl(*args, cwd):
    subprocess.run(["openssl"] + list(args), cwd=cwd, check=True, capture_output=True)


def make_ca(tmp, names):
    """ca.pem, and FILE.pem/FILE.key for each name (FILE: the name, '*' spelt 'wildcard'), signed by it."""
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key",
            "-out", "ca.pem", "-days", "2", "-subj", "/CN=nearjs-ops-test-ca", cwd=tmp)
    for n in names:
        f = n.replace("*", "wildcard")
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", f + ".key",
                "-out", f + ".csr", "-subj", "/CN=" + n, cwd=tmp)
        with open(os.path.join(tmp, f + ".ext"), "w") as out:
            out.write("subjectAltName=DNS:%s\n" % n)
        openssl("x509", "-req", "-in", f + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out",
                f + ".pem", "-days", "2", "-extfile", f + ".ext", cwd=tmp)


def function_zip(path, skip=()):
    """A deployable zip: the real bootstrap and the demo store as content/ (minus the folders in SKIP)."""
    with zipfile.ZipFile(path, "w") as z:
        info = zipfile.ZipInfo("bootstrap", date_time=(2024, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        z.writestr(info, open(os.path.join(BIN, "bootstrap"), "rb").read())
        for top, _, files in os.walk(DEMO):
            for f in sorted(files):
                rel = os.path.relpath(os.path.join(top, f), DEMO)
                if not any(rel.startswith(s) for s in skip):
                    z.write(os.path.join(top, f), "content/" + rel)
    return path


class Gateway:
    """The canary region's API Gateway custom domain: nearjs-local start-api --domain NAME over TLS,
    serving the unzipped zip (its bootstrap, its content/ as the store), AWS_REGION=REGION."""

    def __init__(self, tmp, zip_path, region, name):
        self.dir = os.path.join(tmp, "gw-" + os.path.basename(zip_path))
        shutil.rmtree(self.dir, ignore_errors=True)
        with zipfile.ZipFile(zip_path) as z:
            z.extractall(self.dir)
        os.chmod(os.path.join(self.dir, "bootstrap"), 0o755)
        env_vars = os.path.join(self.dir, "env.json")
        with open(env_vars, "w") as f:
            json.dump({"Parameters": {"NEARJS_STORE": "file://" + os.path.join(self.dir, "content")}}, f)
        self.port = free_port()
        self.err = open(os.path.join(self.dir, "gw.err"), "w")
        self.proc = subprocess.Popen(
            [os.path.join(BIN, "nearjs-local"), "start-api", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", "1", "--quiet", "--domain", name, "--cert", os.path.join(tmp, name + ".pem"),
             "--key", os.path.join(tmp, name + ".key"), "--env-vars", env_vars, os.path.join(self.dir, "bootstrap")],
            stdout=subprocess.DEVNULL, stderr=self.err, env=dict(os.environ, AWS_REGION=region),
            start_new_session=True)
        deadline = time.time() + 30
        while "listening on" not in open(self.err.name).read():
            if time.time() > deadline or self.proc.poll() is not None:
                raise RuntimeError("gateway did not start: " + open(self.err.name).read()[-2000:])
            time.sleep(0.05)

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            self.proc.wait(timeout=10)
        self.err.close()


class OpsTest(DeployTest):
    def status(self, want_rc, **extra):
        t0 = time.time()
        p = subprocess.run([os.path.join(ROOT, "deploy", "nearjs-deploy.sh"), "status"], capture_output=True,
                           text=True, timeout=120, env=self.env(NEARJS_CALL_LOG=os.path.join(self.tmp, "status-calls"),
                                                                **extra), cwd=ROOT)
        took = time.time() - t0
        print("status (%s) took %.1f s%s" % (extra.get("FORMAT", "table"), took,
                                            ":\n" + p.stdout + p.stderr if "FORMAT" not in extra else ""))
        self.assertEqual(p.returncode, want_rc, p.stdout + p.stderr)
        log = os.path.join(self.tmp, "status-calls")
        calls = open(log).read().splitlines() if os.path.exists(log) else []
        if calls:
            os.unlink(log)
        self.assertEqual([c for c in calls if not c.startswith("read ")], [], "status made a write call")
        # the realism layer's own log agrees: nothing but reads reached the account
        self.assertEqual([c for c in self.moto.calls(t0) if c["write"]], [])
        self.assertNotIn("\033[", p.stdout, "colours on a pipe")
        return p.stdout


class Canary(OpsTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        if not os.access(os.path.join(BIN, "nearjs-local"), os.X_OK):
            raise unittest.SkipTest("no %s/nearjs-local (make build)" % BIN)
        cls.gw_name = "%s-fast.%s" % (CANARY, DOMAIN)
        make_ca(cls.tmp, [cls.gw_name])
        cls.good = function_zip(os.path.join(cls.tmp, "good.zip"))
        cls.bad = function_zip(os.path.join(cls.tmp, "bad.zip"), skip=("accounts/acme",))
        cls.gw = None

    @classmethod
    def tearDownClass(cls):
        if cls.gw:
            cls.gw.stop()
        super().tearDownClass()

    def serve(self, zip_path):
        if Canary.gw:
            Canary.gw.stop()
        Canary.gw = Gateway(self.tmp, zip_path, CANARY, self.gw_name)

    def staged(self, zip_path, want_rc=0, **extra):
        return self.run_deploy("deploy", want_rc, ROLLOUT="staged", ZIP=zip_path, SMOKE_PATH=SMOKE, BAKE_SECONDS=0,
                               CANARY_PORT=self.gw.port, CANARY_RESOLVE="%s=127.0.0.1" % self.gw_name,
                               CANARY_CACERT=os.path.join(self.tmp, "ca.pem"), ALARM_EMAIL="oncall@example.com",
                               **extra)

    def live(self, region):
        return self.moto.client("lambda", region).get_alias(FunctionName="nearjs", Name="live")

    def versions(self, region):
        return [v["Version"] for v in
                self.moto.client("lambda", region).list_versions_by_function(FunctionName="nearjs")["Versions"]]

    def test_1_good_canary_then_the_rest(self):
        self.serve(self.good)
        t0 = time.time()
        out, calls = self.staged(self.good)
        # the realism layer's call log (what reached the account): the canary's alias before any call in eu-west-1
        layer = self.moto.calls(t0)
        first = min(i for i, c in enumerate(layer) if c["region"] == REST)
        self.assertEqual([c["operation"] for c in layer[:first] if c["region"] == CANARY and c["service"] == "lambda"
                          and c["write"] and "Alias" in c["operation"]], ["CreateAlias"])
        self.assertNotIn("CreateAlias", [c["operation"] for c in layer[first:] if c["region"] == CANARY])
        self.assertIn("[%s] canary: /healthz and %s answer 200 from %s through %s" % (CANARY, SMOKE, CANARY, self.gw_name), out)
        # canary then rest: every call of eu-west-1 comes after the canary's alias was made and checked
        first_rest = min(i for i, c in enumerate(calls) if c.split()[1] == REST)
        alias = [i for i, c in enumerate(calls) if c.split()[1:4] == [CANARY, "lambda", "create-alias"]]
        metric = [i for i, c in enumerate(calls) if c.split()[1:4] == [CANARY, "cloudwatch", "get-metric-data"]]
        self.assertEqual(len(alias), 1, out)
        self.assertTrue(alias[0] < metric[0] < first_rest, (alias, metric, first_rest))
        for r in REGIONS:
            self.assertEqual(self.live(r)["FunctionVersion"], "1")
            self.assertIn("%s: done: " % r, out)
        out = self.status(0)
        self.assertEqual(out.splitlines()[-1], "healthy")
        self.assertRegex(out, r"%s +function nearjs +ok +live version 1, code \S+, 256 MB" % CANARY)
        self.assertRegex(out, r"%s +record fast\.example\.com A latency +ok +health check \S+ healthy" % REST)
        self.assertRegex(out, r"%s +last deploy +- +20\d\d-\S+Z by arn:aws:sts::%s:user/moto" % (REST, ACCOUNT))
        self.assertIn("dashboard: https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
                      "#dashboards/dashboard/nearjs", out)
        js = json.loads(self.status(0, FORMAT="json"))
        self.assertEqual((js["verdict"], js["degraded"], js["drifted"]), ("healthy", [], []))
        # on a terminal (script(1) gives it one): colours, the last line green
        p = subprocess.run(["script", "-qec", os.path.join(ROOT, "deploy", "nearjs-deploy.sh") + " status", "/dev/null"],
                           capture_output=True, text=True, timeout=120, env=self.env(TERM="xterm"), cwd=ROOT)
        self.assertIn("\033[32;1mhealthy\033[0m", p.stdout)
        self.check_alarms()
        out, calls = self.staged(self.good)
        self.assertEqual(self.writes(calls), [], out)
        self.assertIn("rollout: nothing changed in %s, nothing to verify" % CANARY, out)

    def check_alarms(self):
        hcs = {}
        r53 = self.moto.client("route53")
        for h in r53.list_health_checks()["HealthChecks"]:
            hcs[h["HealthCheckConfig"]["FullyQualifiedDomainName"].split("-fast.")[0]] = h["Id"]
        home = self.moto.client("cloudwatch", "us-east-1")
        for r in REGIONS:
            cw, sns = self.moto.client("cloudwatch", r), self.moto.client("sns", r)
            topic = "arn:aws:sns:%s:%s:nearjs-alarms" % (r, ACCOUNT)
            alarms = {a["AlarmName"]: a for a in cw.describe_alarms(AlarmNamePrefix="nearjs-%s-" % r)["MetricAlarms"]}
            if r != "us-east-1":
                alarms.update({a["AlarmName"]: a for a in home.describe_alarms(AlarmNamePrefix="nearjs-%s-" % r)["MetricAlarms"]})
            want = ["nearjs-%s-%s" % (r, n) for n in ("api-5xx", "fn-errors", "fn-throttles", "health-" + hcs[r])]
            self.assertEqual(sorted(alarms), sorted(want), r)
            self.assertEqual(alarms["nearjs-%s-fn-errors" % r]["AlarmActions"], [topic])
            self.assertEqual(alarms["nearjs-%s-fn-errors" % r]["Dimensions"], [{"Name": "FunctionName", "Value": "nearjs"}])
            h = alarms["nearjs-%s-health-%s" % (r, hcs[r])]
            self.assertEqual((h["Namespace"], h["MetricName"], h["Dimensions"], h["AlarmActions"]),
                             ("AWS/Route53", "HealthCheckStatus", [{"Name": "HealthCheckId", "Value": hcs[r]}],
                              ["arn:aws:sns:us-east-1:%s:nearjs-alarms" % ACCOUNT]))
            self.assertIn(topic, [t["TopicArn"] for t in sns.list_topics()["Topics"]])
            subs = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
            self.assertEqual([(s["Protocol"], s["Endpoint"]) for s in subs], [("email", "oncall@example.com")], r)
        body = json.loads(home.get_dashboard(DashboardName="nearjs")["DashboardBody"])
        titles = [w["properties"]["title"] for w in body["widgets"]]
        for r in REGIONS:
            for t in ("requests", "latency p50 / p99 (ms)", "errors", "health checks (1 healthy)"):
                self.assertIn("%s: %s" % (r, t), titles)
        health = [w for w in body["widgets"] if w["properties"]["title"] == "%s: health checks (1 healthy)" % REST][0]
        self.assertEqual(health["properties"]["region"], "us-east-1")
        self.assertEqual([m[3] for m in health["properties"]["metrics"]], [hcs[REST]])

    def test_2_bad_canary_rolled_back(self):
        self.serve(self.bad)
        out, calls = self.staged(self.bad, want_rc=1)
        line = [x for x in out.splitlines() if x.startswith("deploy: canary ")]
        self.assertEqual(line, ["deploy: canary %s failed: smoke path %s through the gateway %s: HTTP 404, "
                                "X-Nearjs-Region %s (want 200 from %s); live rolled back 2 -> 1; not touched: %s"
                                % (CANARY, SMOKE, self.gw_name, CANARY, CANARY, REST)], out)
        self.assertEqual(self.live(CANARY)["FunctionVersion"], "1")
        self.assertEqual(self.versions(CANARY), ["$LATEST", "1", "2"])
        self.assertEqual(self.versions(REST), ["$LATEST", "1"])
        self.assertEqual([c for c in self.writes(calls) if c.split()[1] == REST], [])
        self.assertNotIn("%s: done" % REST, out)

    def test_3_weighted_canary(self):
        two = function_zip(os.path.join(self.tmp, "three.zip"), skip=("accounts/globex",))
        self.serve(two)
        out, calls = self.staged(two, CANARY_WEIGHT=10)
        moves = [c.split()[3] for c in self.writes(calls) if c.split()[1:3] == [CANARY, "lambda"] and "alias" in c]
        self.assertEqual(moves, ["update-alias", "update-alias"], out)
        self.assertIn("[%s] update alias live 1 (+ 10%% to 3)" % CANARY, out)
        self.assertIn("[%s] update alias live 1 -> 3 (the canary passed with 10%%)" % CANARY, out)
        for r in REGIONS:
            a = self.live(r)
            self.assertEqual((a["FunctionVersion"], (a.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}),
                             ("3" if r == CANARY else "2", {}), r)

    def test_3b_bake_sees_errors(self):
        four = function_zip(os.path.join(self.tmp, "four.zip"), skip=("accounts/acme/widget",))
        self.serve(four)
        # the version this deploy publishes (4) already fails in CloudWatch's eyes
        self.moto.client("cloudwatch", CANARY).put_metric_data(Namespace="AWS/Lambda", MetricData=[{
            "MetricName": "Errors", "Value": 2.0, "Dimensions": [
                {"Name": "FunctionName", "Value": "nearjs"}, {"Name": "Resource", "Value": "nearjs:live"},
                {"Name": "ExecutedVersion", "Value": "4"}]}])
        out, calls = self.staged(four, want_rc=1)
        self.assertRegex(out, r"deploy: canary %s failed: bake: the Errors metric of nearjs:live version 4 in %s is "
                              r"2(\.0)? \(want 0\); live rolled back 4 -> 3; not touched: %s" % (CANARY, CANARY, REST))
        self.assertEqual(self.live(CANARY)["FunctionVersion"], "3")
        self.assertEqual([c for c in self.writes(calls) if c.split()[1] == REST], [])

    def test_4_logs(self):
        now = int(time.time() * 1000)
        lines = {CANARY: [(now - 9000, "START RequestId: a1"), (now - 7000, "REPORT RequestId: a1 Duration: 2.00 ms"),
                          (now - 3000, "REPORT RequestId: a2 Duration: 10.00 ms")],
                 REST: [(now - 8000, "START RequestId: b1"), (now - 5000, "REPORT RequestId: b1 Duration: 4.00 ms Status: error"),
                        (now - 10 * 3600 * 1000, "START RequestId: old")]}
        for r, evs in lines.items():
            logs = self.moto.client("logs", r)
            # deploy makes the function's log group itself (with its retention, issue 17): Lambda only writes.
            self.assertEqual(len(logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/nearjs")["logGroups"]), 1)
            logs.create_log_stream(logGroupName="/aws/lambda/nearjs", logStreamName="2026/12/06/[live]x")
            logs.put_log_events(logGroupName="/aws/lambda/nearjs", logStreamName="2026/12/06/[live]x",
                                logEvents=[{"timestamp": t, "message": m} for t, m in sorted(evs)])
        out, _ = self.run_deploy("logs", SINCE="1h")
        body = [x.split(" ", 2) for x in out.splitlines() if not x.split(" ")[1].startswith("summary")]
        self.assertEqual([(r, m) for r, _, m in body], [
            ("[us-east-1]", "START RequestId: a1"), ("[eu-west-1]", "START RequestId: b1"),
            ("[us-east-1]", "REPORT RequestId: a1 Duration: 2.00 ms"),
            ("[eu-west-1]", "REPORT RequestId: b1 Duration: 4.00 ms Status: error"),
            ("[us-east-1]", "REPORT RequestId: a2 Duration: 10.00 ms")], out)
        self.assertEqual([x for x in out.splitlines() if " summary " in x], [
            "[us-east-1] summary (last 1h): 2 invocations, p50 2.0 ms, p99 10.0 ms, 0 errors",
            "[eu-west-1] summary (last 1h): 1 invocations, p50 4.0 ms, p99 4.0 ms, 1 errors"])
        out, _ = self.run_deploy("logs", SINCE="1h", FILTER="REPORT RequestId: a")
        self.assertEqual([x.split(" ", 2)[2] for x in out.splitlines() if " summary " not in x],
                         ["REPORT RequestId: a1 Duration: 2.00 ms", "REPORT RequestId: a2 Duration: 10.00 ms"], out)
        out, _ = self.run_deploy("logs", SINCE="11h", FILTER="old")
        self.assertIn("[eu-west-1] ", out.splitlines()[0])
        self.assertTrue(out.splitlines()[0].endswith(" START RequestId: old"), out)
        self.run_deploy("logs", want_rc=2, SINCE="yesterday")
        # FOLLOW=1: polls; an event put while it runs comes out, once, and a summary every LOGS_SUMMARY_SECONDS
        out_path = os.path.join(self.tmp, "follow.out")
        with open(out_path, "w") as out_f:
            p = subprocess.Popen([os.path.join(ROOT, "deploy", "nearjs-deploy.sh"), "logs"], stdout=out_f,
                                 stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
                                 env=self.env(SINCE="1h", FOLLOW=1, LOGS_POLL="0.5", LOGS_SUMMARY_SECONDS=2,
                                              FILTER="RequestId: c"))
            try:
                time.sleep(3)
                self.moto.client("logs", REST).put_log_events(
                    logGroupName="/aws/lambda/nearjs", logStreamName="2026/12/06/[live]x",
                    logEvents=[{"timestamp": int(time.time() * 1000), "message": "REPORT RequestId: c1 Duration: 5.00 ms"}])
                deadline = time.time() + 60
                while "summary (last minute): 1 invocations" not in open(out_path).read() and time.time() < deadline:
                    time.sleep(0.5)
            finally:
                os.killpg(p.pid, 15)
                p.wait(timeout=10)
        got = open(out_path).read()
        self.assertEqual(got.count("REPORT RequestId: c1 Duration: 5.00 ms"), 1, got)
        self.assertIn("[eu-west-1] summary (last minute): 1 invocations, p50 5.0 ms, p99 5.0 ms, 0 errors", got)

    def test_5_destroy(self):
        self.run_deploy("destroy")
        for r in REGIONS:
            self.assertEqual(self.moto.client("cloudwatch", r).describe_alarms()["MetricAlarms"], [], r)
            self.assertEqual(self.moto.client("sns", r).list_topics()["Topics"], [], r)
        self.assertEqual(self.moto.client("cloudwatch").list_dashboards()["DashboardEntries"], [])
        out, calls = self.run_deploy("destroy")
        self.assertEqual(self.writes(calls), [], out)


class Edge(OpsTest):
    """MODE=edge, one instance a region (EDGE_COUNT=1), the demo content published: status healthy; a
    staged deploy verified through the canary's gateway and its edge (nearjs-edge on the instance's Elastic
    IP, which moto makes a 127.x address), then one whose edge does not answer; then status degraded."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        for b in ("nearjs-local", "nearjs-edge"):
            if not os.access(os.path.join(BIN, b), os.X_OK):
                raise unittest.SkipTest("no %s/%s (make build)" % (BIN, b))
        cls.gw_name = "%s-fast.%s" % (CANARY, DOMAIN)
        make_ca(cls.tmp, [cls.gw_name, "*." + DOMAIN])
        cls.artifact = os.path.join(cls.tmp, "nearjs-edge-1.0.0-x86_64.tar.gz")
        with open(cls.artifact, "wb") as f:
            f.write(b"an edge build (moto runs no instance)")
        cls.good = function_zip(os.path.join(cls.tmp, "good.zip"))
        cls.gw = cls.edge = None

    @classmethod
    def tearDownClass(cls):
        for p in (cls.gw, cls.edge):
            if p:
                p.stop()
        super().tearDownClass()

    def env(self, **extra):
        base = dict(MODE="edge", ORIGIN="apigw", CERT_FILE=os.path.join(self.tmp, "wildcard.%s.pem" % DOMAIN),
                    KEY_FILE=os.path.join(self.tmp, "wildcard.%s.key" % DOMAIN),
                    CHAIN_FILE=os.path.join(self.tmp, "ca.pem"),  # a leaf from a test CA: deploy wants its chain
                    EDGE_ARTIFACT=self.artifact, EDGE_COUNT=1,
                    EDGE_HEALTH_WAIT=0, EDGE_DRAIN_WAIT=0, CERT_WAIT=5, ZIP=self.good)
        base.update(extra)
        return super().env(**base)

    def instance(self, region):
        res = self.moto.client("ec2", region).describe_instances(Filters=[
            {"Name": "tag:nearjs:role", "Values": ["edge"]}, {"Name": "instance-state-name", "Values": ["running"]}])
        return [i for r in res["Reservations"] for i in r["Instances"]][0]

    def test_1_healthy(self):
        self.run_deploy("deploy")
        self.run_deploy("publish", SRC=DEMO)
        out = self.status(0)
        self.assertEqual(out.splitlines()[-1], "healthy")
        for r in REGIONS:
            i = self.instance(r)
            self.assertRegex(out, r"%s +edge %s +ok +running, build [0-9a-f]{16}, up \d+[smh], %s, health check \S+ healthy"
                             % (r, i["InstanceId"], i["PublicIpAddress"].replace(".", r"\.")))
            self.assertRegex(out, r"%s +record fast\.example\.com A latency +ok +-> proxy-%s-fast\.example\.com" % (r, r))
            self.assertRegex(out, r"%s +content +ok +4 objects, ETags the same in every region" % r)

    def start_edge(self, ip, port):
        """nearjs-edge on IP:PORT for fast.DOMAIN, its upstream the canary's gateway (SNI and Host rewritten)."""
        conf = os.path.join(self.tmp, "edge.yaml")
        with open(conf, "w") as f:
            f.write("threads: 1\nlisteners:\n  - listen: %s:%d\n    tls:\n      - cert: %s\n        key: %s\n"
                    "upstreams:\n  - url: https://%s\n    connect_to: 127.0.0.1:%d\n    ca: %s\n"
                    "    health: {path: /healthz, status: 200, interval: 200, rise: 1, fall: 3}\n" % (
                        ip, port, os.path.join(self.tmp, "wildcard.%s.pem" % DOMAIN), os.path.join(self.tmp, "wildcard.%s.key" % DOMAIN),
                        self.gw_name, port, os.path.join(self.tmp, "ca.pem")))
        err = open(os.path.join(self.tmp, "edge.err"), "w")
        proc = subprocess.Popen([os.path.join(BIN, "nearjs-edge"), "-c", conf], stdout=subprocess.DEVNULL, stderr=err)
        deadline = time.time() + 20
        while "serving" not in open(err.name).read():
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("edge did not start: " + open(err.name).read()[-2000:])
            time.sleep(0.05)
        Edge.edge = type("Proc", (), {"stop": lambda self: (proc.terminate(), proc.wait(10), err.close())})()

    def staged(self, zip_path, want_rc=0):
        return self.run_deploy("deploy", want_rc, ROLLOUT="staged", ZIP=zip_path, BAKE_SECONDS=0,
                               CANARY_PORT=self.gw.port, CANARY_RESOLVE="%s=127.0.0.1" % self.gw_name,
                               CANARY_CACERT=os.path.join(self.tmp, "ca.pem"))

    def test_2_canary_through_the_edge(self):
        two = function_zip(os.path.join(self.tmp, "two.zip"), skip=("accounts/globex",))
        Edge.gw = Gateway(self.tmp, two, CANARY, self.gw_name)
        ip = self.instance(CANARY)["PublicIpAddress"]
        self.start_edge(ip, self.gw.port)
        out, _ = self.staged(two)
        self.assertIn("[%s] canary: /healthz and /acme/main.js answer 200 from %s through %s and the edge %s"
                      % (CANARY, CANARY, self.gw_name, ip), out)
        for r in REGIONS:
            self.assertEqual(self.moto.client("lambda", r).get_alias(FunctionName="nearjs", Name="live")["FunctionVersion"], "2")
        # the edge gone: the canary fails there, though its gateway answers
        self.edge.stop()
        Edge.edge = None
        three = function_zip(os.path.join(self.tmp, "three.zip"), skip=("accounts/acme/widget",))
        out, calls = self.staged(three, want_rc=1)
        self.assertRegex(out, r"deploy: canary %s failed: health path /healthz through the edge %s: HTTP 000, "
                              r"X-Nearjs-Region none \(want 200\); curl: \(7\) .*; live rolled back 3 -> 2; not touched: %s"
                         % (CANARY, ip.replace(".", r"\."), REST))
        self.assertEqual([c for c in self.writes(calls) if c.split()[1] == REST], [])
        # back to what the settings say everywhere (the next tests' baseline)
        self.run_deploy("deploy", ZIP=two)

    def test_3_degraded_and_drifted(self):
        stopped = self.instance(CANARY)["InstanceId"]
        failing = self.instance(REST)
        hc = [h["Id"] for h in self.moto.client("route53").list_health_checks()["HealthChecks"]
              if h["HealthCheckConfig"].get("IPAddress") == failing["PublicIpAddress"]]
        self.assertEqual(len(hc), 1)
        self.moto.realism(on={"health-check-failing": {"ids": hc[0]}})
        self.moto.client("ec2", CANARY).stop_instances(InstanceIds=[stopped])
        self.moto.client("lambda", CANARY).update_function_configuration(FunctionName="nearjs", MemorySize=512)
        self.moto.client("s3", REST).put_object(Bucket="nearjs-content-%s-%s" % (ACCOUNT, REST),
                                                 Key="accounts/acme/main.json", Body=b'{"edited": "by hand"}')
        out = self.status(1)
        last = out.splitlines()[-1]
        self.assertTrue(last.startswith("degraded: "), last)
        self.assertIn("%s edge %s: stopped, build " % (CANARY, stopped), last)
        self.assertIn("%s edge fleet: 0 of 1 instances running" % CANARY, last)
        self.assertRegex(last, r"%s edge %s: running, .*health check %s failing: Failure: HTTP Status Code 503"
                         % (REST, failing["InstanceId"], hc[0]))
        for r in REGIONS:
            self.assertIn("%s content: 4 objects; 1 differ from the other regions (accounts/acme/main.json)" % r, last)
        self.assertTrue(last.endswith("; drifted: %s function nearjs $LATEST MemorySize=512 (settings 256)" % CANARY), last)
        js = json.loads(self.status(1, FORMAT="json"))
        self.assertEqual(js["verdict"], "degraded")
        self.assertEqual(js["drifted"], ["%s function nearjs $LATEST MemorySize=512 (settings 256)" % CANARY])
        # bad settings: exit 2, one line naming the setting
        self.status(2, FORMAT="yaml")


if __name__ == "__main__":
    unittest.main(verbosity=2)
