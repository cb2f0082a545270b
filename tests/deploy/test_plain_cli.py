#!/usr/bin/env python3
"""The deploy scripts with the aws CLI as plain processes (AWS_CLI_SERVER=0: one `aws` process per call,
as a user without the CLI server gets), for each CLI on this machine: Debian's v2 (/usr/bin/aws, which
ignores AWS_ENDPOINT_URL, so the scripts' --endpoint-url is what reaches moto) and pyenv's v1.
One region is deployed first (through the CLI server, to keep the test short); then each CLI, as
separate processes, re-deploys: nothing to do, no write call, the state identical, and one `aws` process
started per call: the CLI is reached through a wrapper `aws` on PATH that logs each start and execs the real
one. The wrapper keeps the CLI's own interpreter line, so a deploy that ignored AWS_CLI_SERVER=0 could still
run it as a server, and would be seen starting fewer processes than it made calls.
A CLI not found is a skipped case (SKIP-CASE; under CI=true a failure: tests/run_test.sh).
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from deploylib import DeployTest, aws_clis  # noqa: E402


def wrap(real, folder, log):
    """folder/aws: logs one line to LOG per start, then becomes REAL; with REAL's own #! line."""
    with open(real, "rb") as f:
        shebang = f.readline().decode().strip()
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "aws")
    with open(path, "w") as f:
        f.write(shebang + "\n" + "import os, sys\n"
                "with open(%r, 'a') as f:\n"
                "    f.write(' '.join(sys.argv[1:]) + '\\n')\n"
                "os.execv(%r, [%r] + sys.argv[1:])\n" % (log, real, real))
    os.chmod(path, 0o755)
    return folder


class PlainCli(DeployTest):
    def test_each_cli_as_plain_processes(self):
        self.run_deploy("deploy", REGIONS="us-east-1")
        before = self.snapshot()
        clis = aws_clis()
        self.assertIn("v2", clis, "Debian's awscli (v2) is installed by scripts/setup.sh")
        for name, path in sorted(clis.items()):
            with self.subTest(cli=name):
                starts = os.path.join(self.tmp, "starts-" + name)
                folder = wrap(path, os.path.join(self.tmp, "wrap-" + name), starts)
                out, calls = self.run_deploy("deploy", REGIONS="us-east-1", AWS_CLI="aws", AWS_CLI_SERVER=0,
                                             PATH=folder + os.pathsep + os.environ["PATH"])
                self.assertEqual(self.writes(calls), [], out)
                self.assertGreater(len(calls), 15)
                started = open(starts).read().splitlines() if os.path.exists(starts) else []
                self.assertEqual(len(started), len(calls), "%s: %d aws processes for %d calls:\n%s"
                                 % (name, len(started), len(calls), "\n".join(started[:5])))
                self.assertRegex(out, r"us-east-1: done: 0 created, 0 updated, 0 deleted, \d+ unchanged")
                self.assertEqual(self.snapshot(), before)
        for name in ("v1", "v2"):
            if name not in clis:
                print("SKIP-CASE aws CLI %s: not on this machine (v2: make test installs Debian's awscli, through "
                      "scripts/setup.sh; v1: pyenv's beside the python with moto)" % name)


if __name__ == "__main__":
    unittest.main(verbosity=2)
