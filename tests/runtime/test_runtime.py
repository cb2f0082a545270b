"""The runtime client (build/bin/echo-bootstrap, a real process) against a scriptable Runtime API.

Covers what nearjs-local, a well-behaved server, cannot provoke: the exact bytes on the wire, 500s,
dropped connections, a server that dies and comes back, a server that never comes back, SIGTERM.
"""
import base64
import json
import os
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from fake_rapi import API, FakeRuntimeAPI, error_json  # noqa: E402

BIN = os.environ.get("NEARJS_BIN", os.path.join(os.path.dirname(__file__), "../../build/bin"))
ECHO = os.path.join(BIN, "echo-bootstrap")


def start(endpoint, **env):
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "AWS_LAMBDA_RUNTIME_API": endpoint}
    e.update({k: str(v) for k, v in env.items()})
    return subprocess.Popen([ECHO], env=e, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def stop(proc, sig=signal.SIGTERM, timeout=5):
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError("bootstrap did not exit within %ss of signal %s" % (timeout, sig))
    return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")


def free_port():
    # outside the ephemeral range, for the reason FakeRuntimeAPI._private_port gives
    return FakeRuntimeAPI._private_port()


class Wire(unittest.TestCase):
    def setUp(self):
        self.api = FakeRuntimeAPI()

    def tearDown(self):
        self.api.close()

    def test_exact_request_bytes(self):
        self.api.push('{"k":"v"}', "req-1", {"Lambda-Runtime-Trace-Id": "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1"})
        p = start(self.api.endpoint)
        resp = self.api.wait_for(lambda r: r.method == "POST")
        nxt = self.api.requests[0]
        self.assertEqual(
            nxt.raw_head.decode(),
            "GET %s/invocation/next HTTP/1.1\r\nHost: %s\r\nUser-Agent: nearjs-runtime/0.1.0\r\n"
            "\r\n" % (API, self.api.endpoint))
        self.assertEqual(
            resp.raw_head.decode(),
            "POST %s/invocation/req-1/response HTTP/1.1\r\nHost: %s\r\nUser-Agent: nearjs-runtime/0.1.0\r\n"
            "Content-Type: application/json\r\nContent-Length: 9\r\n\r\n" % (API, self.api.endpoint))
        self.assertEqual(resp.body, b'{"k":"v"}')
        code, _, err = stop(p)
        self.assertEqual(code, 0, err)

    def test_keep_alive_one_connection(self):
        for i in range(20):
            self.api.push('{"n":%d}' % i, "req-%d" % i)
        p = start(self.api.endpoint)
        self.api.wait_for(lambda r: r.path.endswith("req-19/response"))
        self.assertEqual(len(self.api.connections), 1, "every call reuses one connection")
        stop(p)

    def test_error_posted_with_header_and_json(self):
        self.api.push('{"x":"fail"}', "req-e")
        p = start(self.api.endpoint)
        r = self.api.wait_for(lambda r: r.method == "POST")
        self.assertEqual(r.path, API + "/invocation/req-e/error")
        self.assertEqual(r.header("Lambda-Runtime-Function-Error-Type"), "Echo.Failed")
        self.assertEqual(error_json(r), {"errorMessage": "the event asked to fail (request req-e)",
                                         "errorType": "Echo.Failed", "stackTrace": []})
        stop(p)

    def test_init_error(self):
        p = start(self.api.endpoint, ECHO_FAIL_INIT=1)
        r = self.api.wait_for(lambda r: r.method == "POST")
        self.assertEqual(r.path, API + "/init/error")
        self.assertEqual(r.header("Lambda-Runtime-Function-Error-Type"), "Runtime.InitError")
        self.assertEqual(error_json(r)["errorMessage"], "echo: ECHO_FAIL_INIT is set")
        code, _, err = stop(p)
        self.assertEqual(code, 1)
        self.assertIn("init failed: Runtime.InitError", err)
        self.assertFalse(any(q.path.endswith("/next") for q in self.api.requests), "no /next after a failed init")

    def test_trace_id_set_per_invocation_and_json_logs(self):
        trace = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
        self.api.push("{}", "req-t1", {"Lambda-Runtime-Trace-Id": trace})
        self.api.push("{}", "req-t2")
        p = start(self.api.endpoint, AWS_LAMBDA_LOG_FORMAT="JSON", AWS_LAMBDA_LOG_LEVEL="DEBUG")
        self.api.wait_for(lambda r: r.path.endswith("req-t2/response"))
        code, _, err = stop(p)
        self.assertEqual(code, 0, err)
        logs = [json.loads(l) for l in err.splitlines()]
        self.assertEqual([(l["requestId"], l["level"], l["message"]) for l in logs], [
            ("req-t1", "DEBUG", "echo: 2 bytes, _X_AMZN_TRACE_ID=" + trace),
            ("req-t2", "DEBUG", "echo: 2 bytes, _X_AMZN_TRACE_ID=(unset)"),
        ])
        self.assertRegex(logs[0]["timestamp"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

    def test_plain_logs_and_level_filter(self):
        self.api.push("{}", "req-p")
        p = start(self.api.endpoint, AWS_LAMBDA_LOG_LEVEL="debug")
        self.api.wait_for(lambda r: r.method == "POST")
        _, _, err = stop(p)
        fields = err.strip().split("\t")
        self.assertEqual(fields[1:], ["req-p", "DEBUG", "echo: 2 bytes, _X_AMZN_TRACE_ID=(unset)"], err)
        api = FakeRuntimeAPI()  # a fresh server: the old one's blocked /next would take the event
        try:
            api.push("{}", "req-q")
            p = start(api.endpoint)  # the default level, INFO, drops DEBUG
            api.wait_for(lambda r: r.path.endswith("req-q/response"))
            _, _, err = stop(p)
            self.assertEqual(err, "")
        finally:
            api.close()

    def test_too_large_response_becomes_an_error(self):
        big = '{"pad":"' + "a" * 6291556 + '"}'
        self.api.push(big, "req-big")
        p = start(self.api.endpoint)
        r = self.api.wait_for(lambda r: r.method == "POST", timeout=20)
        self.assertEqual(r.path, API + "/invocation/req-big/error")
        self.assertEqual(r.header("Lambda-Runtime-Function-Error-Type"), "Function.ResponseSizeTooLarge")
        self.assertEqual(error_json(r)["errorMessage"],
                         "Response payload size (%d bytes) exceeded maximum allowed payload size "
                         "(6291556 bytes)." % len(big))
        stop(p)

    def test_streaming_chunked(self):
        self.api.push('{"data":"' + "s" * 10000 + '"}', "req-s")
        p = start(self.api.endpoint, ECHO_STREAM=1, ECHO_CHUNK=1000)
        r = self.api.wait_for(lambda r: r.method == "POST")
        self.assertEqual(r.path, API + "/invocation/req-s/response")
        self.assertEqual(r.header("Lambda-Runtime-Function-Response-Mode"), "streaming")
        self.assertTrue(r.chunked)
        self.assertEqual(r.body, ('{"data":"' + "s" * 10000 + '"}').encode())
        self.assertEqual(r.trailers, {})
        stop(p)

    def test_streaming_error_as_trailers(self):
        self.api.push('["fail-midstream"]', "req-sf")
        p = start(self.api.endpoint, ECHO_STREAM=1, ECHO_CHUNK=5)
        r = self.api.wait_for(lambda r: r.method == "POST")
        self.assertEqual(r.body, b'["fail-midstream"]')
        self.assertEqual(r.trailers["lambda-runtime-function-error-type"], "Echo.FailedMidStream")
        body = json.loads(base64.b64decode(r.trailers["lambda-runtime-function-error-body"]))
        self.assertEqual(body, {"errorMessage": "failed after 18 bytes", "errorType": "Echo.FailedMidStream",
                                "stackTrace": []})
        stop(p)


class Faults(unittest.TestCase):
    def test_500s_are_retried(self):
        api = FakeRuntimeAPI(faults=[500, 500, 500])
        try:
            api.push('{"ok":1}', "req-r")
            p = start(api.endpoint)
            r = api.wait_for(lambda r: r.method == "POST")
            self.assertEqual(r.body, b'{"ok":1}')
            before = api.requests[:api.requests.index(r)]
            self.assertEqual([q.path.rsplit("/", 1)[1] for q in before], ["next"] * 4)
            stop(p)
        finally:
            api.close()

    def test_dropped_connections_are_retried(self):
        api = FakeRuntimeAPI(faults=["drop", "drop"])
        try:
            api.push('{"ok":2}', "req-d")
            p = start(api.endpoint)
            r = api.wait_for(lambda r: r.method == "POST")
            self.assertEqual(r.body, b'{"ok":2}')
            stop(p)
        finally:
            api.close()

    def test_persistent_500_exits_nonzero_naming_the_endpoint(self):
        api = FakeRuntimeAPI(faults=[500] * 100)
        try:
            p = start(api.endpoint)
            t0 = time.time()
            code = p.wait(timeout=10)
            err = p.stderr.read().decode()
            self.assertEqual(code, 1)
            self.assertLess(time.time() - t0, 10)
            self.assertIn("GET http://%s%s/invocation/next: HTTP 500" % (api.endpoint, API), err)
            self.assertIn("(after 6 attempts)", err)
            self.assertEqual(api.next_count, 6)
        finally:
            api.close()

    def test_unreachable_endpoint_exits_nonzero(self):
        port = free_port()
        p = start("127.0.0.1:%d" % port)
        code = p.wait(timeout=10)
        err = p.stderr.read().decode()
        self.assertEqual(code, 1)
        self.assertIn("GET http://127.0.0.1:%d%s/invocation/next" % (port, API), err)
        self.assertIn("after 6 attempts", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)

    def test_server_killed_and_restarted(self):
        api = FakeRuntimeAPI()
        port = api.port
        api.push("{}", "req-1")
        p = start(api.endpoint)
        api.wait_for(lambda r: r.path.endswith("req-1/response"))
        api.wait_for(lambda r: api.next_count >= 2)
        api.close()  # the client is blocked in /next: its connection drops
        time.sleep(0.1)
        api2 = FakeRuntimeAPI(port=port)
        try:
            api2.push('{"again":true}', "req-2")
            r = api2.wait_for(lambda r: r.method == "POST")
            self.assertEqual(r.body, b'{"again":true}')
            self.assertIsNone(p.poll())
            stop(p)
        finally:
            api2.close()

    def test_missing_environment(self):
        p = subprocess.run([ECHO], env={"PATH": "/usr/bin:/bin"}, capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"AWS_LAMBDA_RUNTIME_API is not set", p.stderr)

    def test_bad_endpoint(self):
        p = subprocess.run([ECHO], env={"AWS_LAMBDA_RUNTIME_API": "http://x/y"}, capture_output=True, timeout=10)
        self.assertEqual(p.returncode, 2)
        self.assertIn(b"'http://x/y': not HOST:PORT", p.stderr)


class Signals(unittest.TestCase):
    def test_sigterm_while_idle_exits_zero_at_once(self):
        api = FakeRuntimeAPI()
        try:
            p = start(api.endpoint)
            api.wait_for(lambda r: r.path.endswith("/next"))
            t0 = time.time()
            code, _, err = stop(p, timeout=3)
            self.assertEqual(code, 0, err)
            self.assertLess(time.time() - t0, 3)
        finally:
            api.close()

    def test_sigterm_during_invocation_finishes_it_first(self):
        api = FakeRuntimeAPI()
        try:
            api.push('{"slow":1}', "req-slow")
            api.push('{"never":1}', "req-never")
            p = start(api.endpoint, ECHO_DELAY_MS=500)
            api.wait_for(lambda r: r.path.endswith("/next"))
            time.sleep(0.1)
            p.send_signal(signal.SIGTERM)
            code, _, err = stop(p, timeout=5)
            self.assertEqual(code, 0, err)
            posts = [r for r in api.requests if r.method == "POST"]
            self.assertEqual([(r.path, r.body) for r in posts],
                             [(API + "/invocation/req-slow/response", b'{"slow":1}')])
            self.assertEqual(api.next_count, 1, "no new invocation after SIGTERM")
        finally:
            api.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
