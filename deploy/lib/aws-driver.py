"""Runs aws CLI commands one after another in one process (deploy/lib/core.sh's AWS_CLI_SERVER).

The aws CLI (v1 and Debian's v2 alike) is a Python program whose start-up (imports, plugin and model
loading) costs ~1 s of CPU per call; a deploy makes ~50 calls per region. This runs the CLI's own
driver (awscli.clidriver) for each request read from stdin: NUL-ended fields, the first the number
of fields that follow (stdout_file, stderr_file, arg...). It writes the command's output and errors to those files and
answers its exit status on a line of its own. Same argument parsing, output and errors as the `aws`
program (it is the same code). One driver serves every command (~0.04 s a call; a fresh driver per
command, AWS_DRIVER_FRESH=1, costs ~0.15 s): the callers pass --region, --output and --endpoint-url on
every command, so no setting carries over from one command to the next.
"""
import contextlib
import os
import sys

from awscli.clidriver import create_clidriver


def fields(stream):
    """Yields each request's fields as a list of str; ends at end of input."""
    buf = b""
    while True:
        parts = buf.split(b"\0")
        if len(parts) > 1 and parts[0].isdigit() and len(parts) - 1 > int(parts[0]):
            n = int(parts[0])
            yield [p.decode("utf-8", "surrogateescape") for p in parts[1:n + 1]]
            buf = b"\0".join(parts[n + 1:])
            continue
        chunk = stream.read1(65536)
        if not chunk:
            return
        buf += chunk


def main():
    answer = sys.stdout
    fresh = os.environ.get("AWS_DRIVER_FRESH") == "1"
    driver = None
    for request in fields(sys.stdin.buffer):
        out, err, *args = request
        with open(out, "w") as o, open(err, "w") as e, contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                if driver is None or fresh:
                    driver = create_clidriver()
                rc = driver.main(args)
            except SystemExit as stop:
                rc = stop.code if isinstance(stop.code, int) else 1
            except Exception as exc:  # a bug in the CLI must not take the other commands down
                print("aws-driver: %s: %s" % (type(exc).__name__, exc), file=e)
                rc = 255
                driver = None
        answer.write("%d\n" % (rc or 0))
        answer.flush()


if __name__ == "__main__":
    main()
