#!/usr/bin/env python3
"""The deploy scripts with the aws CLI as plain processes (AWS_CLI_SERVER=0: one `aws` process per call,
as a user without the CLI server gets), for each CLI on this machine: Debian's v2 (/usr/bin/aws, which
ignores AWS_ENDPOINT_URL, so the scripts' --endpoint-url is what reaches moto) and pyenv's v1.
One region is deployed first (through the CLI server, to keep the test short); then each CLI, as
separate processes, re-deploys: nothing to do, no write call, the state identical.
A CLI not found is skipped with a line saying so.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import DeployTest, aws_clis  # noqa: E402


class PlainCli(DeployTest):
    def test_each_cli_as_plain_processes(self):
        self.run_deploy("deploy", REGIONS="us-east-1")
        before = self.snapshot()
        clis = aws_clis()
        self.assertIn("v2", clis, "Debian's awscli (v2) is installed by scripts/setup.sh")
        for name, path in sorted(clis.items()):
            with self.subTest(cli=name):
                out, calls = self.run_deploy("deploy", REGIONS="us-east-1", AWS_CLI=path, AWS_CLI_SERVER=0)
                self.assertEqual(self.writes(calls), [], out)
                self.assertGreater(len(calls), 15)
                self.assertRegex(out, r"us-east-1: done: 0 created, 0 updated, 0 deleted, \d+ unchanged")
                self.assertEqual(self.snapshot(), before)
        for name in ("v1", "v2"):
            if name not in clis:
                print("skipped: no aws CLI %s on this machine" % name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
