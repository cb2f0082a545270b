#!/usr/bin/env python3
"""make deploy into an empty account succeeds on its first run, through the realism layer with IAM
propagation at its default time (10 s) and every operation's first call throttled (MODE=direct; the
edge mode's first deploy is fleet_deploy's, through the same layer). Then a no-op re-run writes nothing,
a changed throttle is one UpdateStage per region (never a delete and a create), the function's log group
has its 30-day retention (and destroy removes it),
and, after a destroy, a deploy whose PROPAGATION_WAIT is shorter than the propagation fails with one
line naming the role (and a destroy with DESTROY_CONTENT=1 of the empty content buckets works). Prints the wall times and the call counts from the layer's call log.
Usage: test_first_deploy.py   (exit 77: skipped without moto)
"""
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import DeployTest  # noqa: E402


class FirstDeploy(DeployTest):
    # "default", then iam-propagation with its own default time (10 s) instead of the profile's short one.
    realism = ["default", "iam-propagation", "throttle-first"]

    def counts(self, since):
        calls = self.moto.calls(since)
        return len(calls), len([c for c in calls if c["write"]]), calls

    def test_1_first_deploy_then_noop(self):
        t0 = time.time()
        out, _ = self.run_deploy("deploy")
        t1 = time.time()
        n, w, calls = self.counts(t0)
        by = {b: len([c for c in calls if c.get("by") == b]) for b in ("iam-propagation", "throttle-first")}
        self.assertGreater(by["iam-propagation"], 0, "the layer never refused the new role:\n" + out)
        self.assertGreater(by["throttle-first"], 0)
        self.assertRegex(out, r"role arn:aws:iam::\d+:role/nearjs-fn-us-east-1 not usable by lambda yet")
        for r in ("us-east-1", "eu-west-1"):
            self.assertIn("%s: done: " % r, out)
            # The function's log group, made by deploy with LOG_RETENTION_DAYS (30), not left to Lambda
            # (which makes it on the first invocation with no retention: logs kept forever).
            groups = self.moto.client("logs", r).describe_log_groups(logGroupNamePrefix="/aws/lambda/nearjs")["logGroups"]
            self.assertEqual([(g["logGroupName"], g.get("retentionInDays")) for g in groups], [("/aws/lambda/nearjs", 30)])
        t2 = time.time()
        out2, _ = self.run_deploy("deploy")
        t3 = time.time()
        n2, w2, _ = self.counts(t2)
        self.assertEqual(w2, 0, "the no-op re-run wrote:\n" + out2)
        # A changed stage setting is an UpdateStage, never a delete and a create (the API would answer 404
        # in between); moto lacks UpdateStage, moto_launcher.py gives it.
        t4 = time.time()
        self.run_deploy("deploy", THROTTLE_RATE=500)
        ops = [c["operation"] for c in self.moto.calls(t4) if c["write"] and c["status"] < 300]  # not the throttled tries
        # plus, per region, the deploy record (issue 19's step deploy_record tags the function after a run
        # that changed something): nothing else, and no DeleteStage or CreateStage
        self.assertEqual(sorted(ops), ["TagResource", "TagResource", "UpdateStage", "UpdateStage"], ops)
        for r in ("us-east-1", "eu-west-1"):
            api = self.moto.client("apigatewayv2", r)
            aid = api.get_apis()["Items"][0]["ApiId"]
            self.assertEqual(api.get_stage(ApiId=aid, StageName="$default")["DefaultRouteSettings"]["ThrottlingRateLimit"], 500)
        ok = len([c for c in calls if c["write"] and c["status"] < 300])
        print("\nfirst deploy (direct, 2 regions, IAM 10 s, first calls throttled): %.1f s, %d calls, %d writes "
              "(%d accepted), %d refused by iam-propagation, %d by throttle-first" %
              (t1 - t0, n, w, ok, by["iam-propagation"], by["throttle-first"]))
        print("no-op re-run: %.1f s, %d calls, %d writes" % (t3 - t2, n2, w2))

    def test_2_bound_names_the_role(self):
        # The content buckets are empty (nothing published): DeleteObjects with no object is MalformedXML.
        out, _ = self.run_deploy("destroy", DESTROY_CONTENT=1)
        left = [b["Name"] for b in self.moto.client("s3").list_buckets()["Buckets"] if b["Name"].startswith("nearjs-")]
        self.assertEqual(left, [], out)
        for r in ("us-east-1", "eu-west-1"):
            self.assertEqual(self.moto.client("logs", r).describe_log_groups()["logGroups"], [], "destroy left the log group")
        out, _ = self.run_deploy("deploy", 1, PROPAGATION_WAIT=3)
        lines = [x for x in out.splitlines() if "is still not usable by lambda after" in x]
        roles = sorted(set(re.findall(r"role (arn:aws:iam::\d+:role/[\w-]+) is still not usable", "\n".join(lines))))
        self.assertEqual(roles, ["arn:aws:iam::123456789012:role/nearjs-fn-eu-west-1",
                                 "arn:aws:iam::123456789012:role/nearjs-fn-us-east-1"], out)
        for r in ("us-east-1", "eu-west-1"):
            self.assertRegex(out, r"(?m)^%s: failed at step function: role arn:\S+ is still not usable" % r)
        self.run_deploy("destroy")


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]], verbosity=2)
