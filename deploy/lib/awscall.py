"""The aws CLI for deploy's Python helpers (status.py, logs.py): read calls, JSON answers.

When this runs under the CLI's own Python (deploy/lib/status.sh picks it, as core.sh's aws_server_python
does), each call runs the CLI's driver in this process (~0.04 s a call, no ~1 s start-up per call);
otherwise one `aws` process per call. Same arguments and answers either way: it is the same program.
Every call gets --endpoint-url (AWS_ENDPOINT_URL: aws CLI 2.9 ignores the variable), --region and
--output json, and a line "read REGION SERVICE OP TIME" in NEARJS_CALL_LOG when that is set.
fork_map() runs one function per item in forked processes (one per region: their calls overlap).
"""
import contextlib
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time

READ_PREFIXES = ("get-", "list-", "describe-", "head-", "filter-", "wait")


class AwsError(Exception):
    """A failed call: str() is the CLI's error, e.g. 'An error occurred (ResourceNotFoundException) ...'."""


class Aws:
    def __init__(self):
        self.cli = os.environ.get("AWS_CLI", "aws")
        self.endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
        self.call_log = os.environ.get("NEARJS_CALL_LOG", "")
        self.driver = None
        self.in_process = os.environ.get("NEARJS_AWS_IN_PROCESS", "1") == "1"
        if self.in_process:
            try:
                from awscli.clidriver import create_clidriver
                self.driver = create_clidriver()
            except ImportError:
                self.in_process = False
        self.tmp = tempfile.mkdtemp(prefix="nearjs-aws.")

    def __call__(self, region, service, op, *args):
        """The call's JSON answer ({} when it printed nothing); AwsError when it failed."""
        if not op.startswith(READ_PREFIXES):
            raise AwsError("internal error: %s %s is not a read call" % (service, op))
        argv = (["--endpoint-url", self.endpoint] if self.endpoint else []) + [
            "--region", region, "--output", "json", service, op] + list(args)
        if self.call_log:
            with open(self.call_log, "a") as f:
                f.write("read %s %s %s %.6f\n" % (region, service, op, time.time()))
        if self.in_process:
            rc, out, err = self._driver(argv)
        else:
            p = subprocess.run([self.cli] + argv, capture_output=True, text=True, env=dict(os.environ, AWS_PAGER=""))
            rc, out, err = p.returncode, p.stdout, p.stderr
        if rc != 0:
            lines = [line.strip() for line in err.splitlines() if line.strip()]
            raise AwsError(" ".join(lines[-3:]) or "%s %s: exit status %d" % (service, op, rc))
        return json.loads(out) if out.strip() else {}

    def _driver(self, argv):
        out_path = os.path.join(self.tmp, "out.%d" % os.getpid())
        err_path = out_path + ".err"
        with open(out_path, "w") as o, open(err_path, "w") as e, \
                contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                rc = self.driver.main(argv)
            except SystemExit as stop:
                rc = stop.code if isinstance(stop.code, int) else 1
            except Exception as exc:  # a CLI bug: this call fails, the others go on
                print("aws-driver: %s: %s" % (type(exc).__name__, exc), file=e)
                rc = 255
        with open(out_path) as o, open(err_path) as e:
            return rc or 0, o.read(), e.read()

    def find(self, pattern, region, service, op, *args):
        """Like __call__, but None when the error names PATTERN (a thing that is not there)."""
        try:
            return self(region, service, op, *args)
        except AwsError as e:
            if any(p in str(e) for p in pattern.split("|")):
                return None
            raise


_JOB = None


def _run(i):
    fn, items = _JOB
    try:
        return ("ok", fn(items[i]))
    except Exception as e:  # reported by the caller, with the item it belongs to
        return ("error", "%s: %s" % (type(e).__name__, e))


def fork_map(fn, items):
    """[fn(item) for item in items], each in a forked process (they inherit the loaded CLI driver).
    A raised exception comes back as ("error", text) in its place; results as ("ok", value)."""
    global _JOB
    _JOB = (fn, list(items))
    if len(_JOB[1]) <= 1:
        return [_run(i) for i in range(len(_JOB[1]))]
    ctx = multiprocessing.get_context("fork")
    with ctx.Pool(len(_JOB[1])) as pool:
        return pool.map(_run, range(len(_JOB[1])))


def die(msg, rc=2):
    print(msg, file=sys.stderr)
    sys.exit(rc)
