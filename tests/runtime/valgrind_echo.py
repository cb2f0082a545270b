"""echo-bootstrap under valgrind through success, handler error, an oversized answer and SIGTERM:
no invalid access, nothing left allocated at exit."""
import os
import shutil
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_rapi import FakeRuntimeAPI  # noqa: E402

echo = os.path.join(os.environ["NEARJS_BIN"], "echo-bootstrap")
if not shutil.which("valgrind"):
    print("valgrind not installed (scripts/setup.sh test installs it)")
    sys.exit(1)
api = FakeRuntimeAPI()
api.push('{"k":"v"}', "req-1")
api.push('["fail"]', "req-2")
api.push('{"big":"' + "x" * 7000000 + '"}', "req-3")
p = subprocess.Popen(["valgrind", "--leak-check=full", "--errors-for-leak-kinds=all", "--error-exitcode=9", echo],
                     env={"AWS_LAMBDA_RUNTIME_API": api.endpoint}, stderr=subprocess.PIPE)
api.wait_for(lambda r: r.path.endswith("req-3/error"), timeout=60)
time.sleep(0.2)
p.send_signal(signal.SIGTERM)
err = p.communicate(timeout=60)[1].decode()
api.close()
ok = p.returncode == 0 and "All heap blocks were freed" in err and "ERROR SUMMARY: 0 errors" in err
print("\n".join(err.splitlines()[-8:]))
print("1 passed, 0 failed" if ok else "0 passed, 1 failed")
sys.exit(0 if ok else 1)
