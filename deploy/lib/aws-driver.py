"""Runs aws CLI commands one after another in one process (deploy/lib/core.sh's AWS_CLI_SERVER).

The aws CLI (v1 and Debian's v2 alike) is a Python program whose start-up (imports, plugin and model
loading) costs ~1 s of CPU per call; a deploy makes ~50 calls per region. This runs the CLI's own
driver (awscli.clidriver, a fresh one per command, so no state is shared between commands) for each
request read from stdin: one JSON array per line, [stdout_file, stderr_file, arg...]. It writes the
command's output and errors to those files and answers its exit status on a line of its own.
Same argument parsing, output and errors as the `aws` program (it is the same code), ~0.15 s a call.
"""
import contextlib
import json
import sys

from awscli.clidriver import create_clidriver


def main():
    answer = sys.stdout
    for line in sys.stdin:
        out, err, *args = json.loads(line)
        with open(out, "w") as o, open(err, "w") as e, contextlib.redirect_stdout(o), contextlib.redirect_stderr(e):
            try:
                rc = create_clidriver().main(args)
            except SystemExit as stop:
                rc = stop.code if isinstance(stop.code, int) else 1
            except Exception as exc:  # a bug in the CLI must not take the other commands down
                print("aws-driver: %s: %s" % (type(exc).__name__, exc), file=e)
                rc = 255
        answer.write("%d\n" % (rc or 0))
        answer.flush()


if __name__ == "__main__":
    main()
