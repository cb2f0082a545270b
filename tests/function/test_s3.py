#!/usr/bin/env python3
"""The S3 store: the real bootstrap under `nearjs-local invoke`, reading from a moto server on loopback.

Objects changing, disappearing, the loader missing, and the server going away mid-run (503 well
inside the function's timeout, with a log line naming the store and the cause).
A warm instance (`nearjs-local start-api --workers 1`) reads moto through a relay that holds every
answer back DELAY seconds, a network's round trip: a warm request makes exactly two conditional GETs
(moto's log), concurrently (its wall time is about one DELAY, not two), and sees a changed loader or
config, a deleted one, and a hung store (503 within one GET timeout) on the very next request.
Exits 77 (skipped) when nearjs-local, the bootstrap, moto or boto3 is missing.
"""
import base64
import gzip
import hashlib
import http.server
import json
import os
import socket
import subprocess
import re
import statistics
import sys
import tempfile
import threading
import time
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from delay_relay import DelayRelay  # noqa: E402

BIN = os.environ.get("NEARJS_BIN", "")
TEST_BIN = os.environ.get("NEARJS_TEST_BIN", os.path.join(BIN, "..", "test-bin"))
NEARJS_LOCAL = os.path.join(BIN, "nearjs-local")
BOOTSTRAP = os.path.join(BIN, "bootstrap")
DEMO = os.environ.get("NEARJS_DEMO", os.path.join(os.path.dirname(__file__), "..", "..", "function", "demo"))
BUCKET = "nearjs-test"
PREFIX = "content/v1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "tok",
         "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}
WARM_PREFIX = "warm"  # the warm instance's own objects: its edits do not disturb the other tests
DELAY = 0.1  # seconds the relay holds each answer back


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(path="/acme/main.js", method="GET", headers=None):
    return {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": headers or {},
            "requestContext": {"domainName": "fast.example.com", "http": {"method": method, "path": path}},
            "isBase64Encoded": False}


class KeepAliveS3:
    """A stub of S3's GetObject that keeps connections open (HTTP/1.1 keep-alive; moto's server closes
    each one): objects from a dict, ETag the MD5 as S3's, If-None-Match -> 304, else 200 or 404.
    Counts connections and requests."""

    def __init__(self, objects):
        self.objects, self.connections, self.requests, self.socks = objects, 0, [], []
        stub = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                stub.connections += 1
                stub.socks.append(self.request)
                super().setup()

            def do_GET(self):
                key = self.path.split("/", 3)[-1]
                body = stub.objects.get(key)
                etag = '"%s"' % hashlib.md5(body).hexdigest() if body is not None else None
                status = 404 if body is None else 304 if self.headers.get("If-None-Match") == etag else 200
                stub.requests.append((key, status))
                self.send_response(status)
                if etag:
                    self.send_header("ETag", etag)
                payload = body if status == 200 else b""
                self.send_header("Content-Length", str(len(payload)) if status != 304 else "0")
                self.end_headers()
                if status != 304:
                    self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        """Stops serving and closes the kept connections (their clients see them end)."""
        self.server.shutdown()
        self.server.server_close()
        for sock in self.socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class S3StoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3
        cls.tmp = tempfile.mkdtemp(prefix="nearjs-s3-")
        cls.port = free_port()
        cls.endpoint = "http://127.0.0.1:%d" % cls.port
        # moto logs one line per request ("GET /bucket/key HTTP/1.1" 304): how requests are counted.
        cls.moto_log = os.path.join(cls.tmp, "moto.log")
        with open(cls.moto_log, "w") as log:
            cls.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(cls.port)],
                                        stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while True:
            try:
                urllib.request.urlopen(cls.endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)
        cls.s3 = boto3.client("s3", endpoint_url=cls.endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        cls.s3.create_bucket(Bucket=BUCKET)
        for root, _, files in os.walk(DEMO):
            for name in files:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, DEMO)
                with open(full, "rb") as f:
                    data = f.read()
                cls.s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + rel, Body=data)
                cls.s3.put_object(Bucket=BUCKET, Key=WARM_PREFIX + "/" + rel, Body=data)
        cls.env = cls.env_file("s3://%s/%s" % (BUCKET, PREFIX), cls.endpoint)
        cls.relay = None
        cls.api = None

    @classmethod
    def tearDownClass(cls):
        if cls.api is not None and cls.api.poll() is None:
            cls.api.terminate()
            cls.api.wait(timeout=10)
        if cls.relay is not None:
            cls.relay.close()
        if cls.moto.poll() is None:
            cls.moto.terminate()
            cls.moto.wait(timeout=10)

    @classmethod
    def env_file(cls, store, endpoint, **extra):
        path = os.path.join(cls.tmp, "env-%d.json" % abs(hash((store, endpoint, tuple(sorted(extra.items()))))))
        with open(path, "w") as f:
            json.dump({"Parameters": dict({"NEARJS_STORE": store, "NEARJS_S3_ENDPOINT": endpoint}, **extra)}, f)
        return path

    def invoke(self, ev, env=None, want_rc=0):
        p = subprocess.run([NEARJS_LOCAL, "invoke", "-e", "-", "--env-vars", env or self.env, BOOTSTRAP],
                           input=json.dumps(ev).encode(), capture_output=True, timeout=30,
                           env=dict(os.environ, **CREDS))
        err = p.stderr.decode(errors="replace")
        self.assertNotIn("Sanitizer", err)
        self.assertEqual(p.returncode, want_rc, "%s\n%s" % (p.stdout, err))
        return json.loads(p.stdout), err

    def put(self, rel, text):
        self.s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + rel, Body=text.encode())

    @classmethod
    def warm_instance(cls):
        """One warm runtime (start-api --workers 1) on s3://BUCKET/WARM_PREFIX through the delaying relay."""
        if cls.api is not None:
            return
        cls.relay = DelayRelay(cls.port, 0.0)
        env = cls.env_file("s3://%s/%s" % (BUCKET, WARM_PREFIX), "http://127.0.0.1:%d" % cls.relay.port)
        cls.api_log = os.path.join(cls.tmp, "start-api.log")
        with open(cls.api_log, "w") as log:
            cls.api = subprocess.Popen([NEARJS_LOCAL, "start-api", "--port", "0", "--workers", "1", "--env-vars", env,
                                        BOOTSTRAP], stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ, **CREDS))
        deadline = time.time() + 20
        while True:
            with open(cls.api_log) as f:
                m = re.search(r"listening on (http://\S+)", f.read())
            if m:
                cls.api_url = m.group(1).rstrip("/")
                break
            if time.time() > deadline or cls.api.poll() is not None:
                raise RuntimeError("start-api did not come up: " + open(cls.api_log).read())
            time.sleep(0.05)

    def fetch(self, path="/acme/main.js", headers=None):
        """One request to the warm instance: (status, headers, body bytes, wall seconds)."""
        req = urllib.request.Request(self.api_url + path, headers=headers or {})
        t0 = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, hdrs, body = r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            status, hdrs, body = e.code, e.headers, e.read()
        wall = time.monotonic() - t0
        with open(self.api_log, errors="replace") as f:
            self.assertNotIn("Sanitizer", f.read())
        return status, hdrs, body, wall

    def warm_gets(self):
        """The GETs moto logged so far for the warm prefix: [(key, status)]."""
        with open(self.moto_log, errors="replace") as f:
            return re.findall(r'"GET /%s/%s/(\S+) HTTP/1\.1" (\d+)' % (BUCKET, WARM_PREFIX), f.read())

    def warm_gets_after(self, before, want):
        """The GETs logged after the first `before`; waits for `want` of them (moto logs after answering)."""
        deadline = time.time() + 5
        while len(self.warm_gets()) - before < want and time.time() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)  # and none more
        return self.warm_gets()[before:]

    def test_warm_two_concurrent_conditional_gets(self):
        self.warm_instance()
        # An account no other warm test edits.
        path = "/acme/widget.js"
        self.relay.delay = 0.0
        self.assertEqual(self.fetch(path)[0], 200)  # the instance reads and renders
        self.relay.delay = DELAY
        self.fetch(path)
        walls = []
        for _ in range(5):
            before = len(self.warm_gets())
            status, hdrs, body, wall = self.fetch(path, headers={"Accept-Encoding": "gzip"})
            self.assertEqual(status, 200)
            self.assertIn(b"nearjs demo loader", gzip.decompress(body))
            gets = self.warm_gets_after(before, 2)
            self.assertEqual(sorted(gets), [("accounts/acme/widget.json", "304"), ("loader.js", "304")],
                             "a warm request: exactly one conditional GET per source object, both 304")
            walls.append(wall)
        self.relay.delay = 0.0
        # Two sequential round trips would take 2 x DELAY; concurrent ones one DELAY (plus the emulator's ms).
        warm = statistics.median(walls)
        print("\nwarm request through a %.0f ms relay: median %.1f ms (%s)" %
              (DELAY * 1000, warm * 1000, ", ".join("%.1f" % (w * 1000) for w in walls)), file=sys.stderr)
        self.assertGreaterEqual(warm, DELAY, "the relay is in the path")
        self.assertLess(warm, 1.6 * DELAY, "the two conditional GETs must overlap: one round trip, not two")

    def test_warm_keeps_connections_alive(self):
        # Through the relay, now to a keep-alive server: warm requests open no connection, the two
        # conditional GETs reuse the two kept open since the first request.
        self.warm_instance()
        with open(os.path.join(DEMO, "loader.js"), "rb") as f:
            stub = KeepAliveS3({"loader.js": f.read(), "accounts/acme/widget.json": b'{"account":"acme"}'})
        self.relay.delay, self.relay.target = 0.0, stub.port
        try:
            self.assertEqual(self.fetch("/acme/widget.js")[0], 200)
            self.assertEqual(self.fetch("/acme/widget.js")[0], 200)
            relay_conns, stub_conns, n = self.relay.connections, stub.connections, len(stub.requests)
            for _ in range(5):
                self.assertEqual(self.fetch("/acme/widget.js")[0], 200)
            self.assertEqual(sorted(stub.requests[n:]),
                             [("accounts/acme/widget.json", 304)] * 5 + [("loader.js", 304)] * 5)
            self.assertEqual((self.relay.connections - relay_conns, stub.connections - stub_conns), (0, 0),
                             "warm requests reuse the store's connections")
            self.assertLessEqual(stub.connections, 2, "one connection per concurrent GET, kept")
        finally:
            self.relay.target = self.port
            stub.close()
            time.sleep(0.2)  # the relay passes the ends on; the instance's next GETs connect to moto

    def test_warm_sees_every_change_next_request(self):
        self.warm_instance()
        self.relay.delay = 0.0
        with open(os.path.join(DEMO, "loader.js")) as f:
            loader = f.read()

        def put(rel, text):
            self.s3.put_object(Bucket=BUCKET, Key=WARM_PREFIX + "/" + rel, Body=text.encode())

        cfg = "accounts/acme/main.json"
        put(cfg, json.dumps({"account": "acme", "v": "c1"}))
        self.assertIn(b'"c1"', self.fetch()[2])
        self.assertIn(b'"c1"', self.fetch()[2])  # warm
        cases = [  # (what, loader or None, config or None, wanted in the body)
            ("config", None, "c2", [b'"c2"', b"nearjs demo loader"]),
            ("loader", "/* L2 */" + loader, None, [b"/* L2 */", b'"c2"']),
            ("both", "/* L3 */" + loader, "c3", [b"/* L3 */", b'"c3"']),
            ("loader back", loader, None, [b'"c3"']),
        ]
        for what, new_loader, new_config, want in cases:
            with self.subTest(what=what):
                if new_loader is not None:
                    put("loader.js", new_loader)
                if new_config is not None:
                    put(cfg, json.dumps({"account": "acme", "v": new_config}))
                for enc in ({}, {"Accept-Encoding": "gzip"}):
                    status, hdrs, body, _ = self.fetch(headers=enc)
                    self.assertEqual(status, 200)
                    if enc:
                        body = gzip.decompress(body)
                    for w in want:
                        self.assertIn(w, body)
                    # Tag for tag what a cold instance answers for the same objects.
                    cold, _ = self.invoke(event(headers={k.lower(): v for k, v in enc.items()}),
                                          env=self.env_file("s3://%s/%s" % (BUCKET, WARM_PREFIX), self.endpoint))
                    self.assertEqual(cold["headers"]["ETag"], hdrs["ETag"])
        self.s3.delete_object(Bucket=BUCKET, Key=WARM_PREFIX + "/" + cfg)
        self.assertEqual(self.fetch()[0], 404, "deleted config: 404 on the next request")
        put(cfg, json.dumps({"account": "acme", "v": "c4"}))
        self.assertIn(b'"c4"', self.fetch()[2])
        self.s3.delete_object(Bucket=BUCKET, Key=WARM_PREFIX + "/loader.js")
        status, hdrs, _, _ = self.fetch()
        self.assertEqual((status, hdrs["Retry-After"]), (503, "1"), "deleted loader: 503 on the next request")
        put("loader.js", loader)
        self.assertEqual(self.fetch()[0], 200)

    def test_warm_hung_store_is_503_within_one_timeout(self):
        self.warm_instance()
        self.relay.delay = 0.0
        self.assertEqual(self.fetch()[0], 200)
        self.relay.hang = True
        try:
            status, hdrs, _, wall = self.fetch()
        finally:
            self.relay.hang = False
        self.assertEqual((status, hdrs["Retry-After"]), (503, "1"))
        # Both GETs run, and time out, together (NEARJS_S3_TIMEOUT_MS, 1 s): one timeout, not one per GET.
        self.assertLess(wall, 1.6, "a hung store: 503 within one GET timeout (%.2f s)" % wall)
        with open(self.api_log) as f:
            self.assertRegex(f.read(), r"store s3://%s/%s: GET (loader\.js|accounts/acme/main\.json): Timeout" %
                             (BUCKET, WARM_PREFIX))
        self.assertEqual(self.fetch()[0], 200, "the store back: served again")

    def test_warm_healthz_is_one_conditional_get(self):
        # A health check every 10 s from 15 checkers must cost almost nothing: one 304 on loader.js each.
        self.warm_instance()
        self.relay.delay = 0.0
        self.assertEqual(self.fetch("/healthz")[0], 200)
        for _ in range(3):
            before = len(self.warm_gets())
            status, hdrs, body, _ = self.fetch("/healthz")
            self.assertEqual((status, body, hdrs["Cache-Control"]), (200, b"ok\n", "no-store"))
            self.assertEqual(self.warm_gets_after(before, 1), [("loader.js", "304")])
        self.relay.hang = True
        try:
            status, hdrs, _, wall = self.fetch("/healthz")
        finally:
            self.relay.hang = False
        self.assertEqual((status, hdrs["Retry-After"]), (503, "1"), "a hung store: unhealthy")
        self.assertLess(wall, 1.6, "within one GET timeout (%.2f s)" % wall)
        self.assertEqual(self.fetch("/healthz")[0], 200, "the store back: healthy again")

    def test_healthz_cold(self):
        self.assertEqual(self.invoke(event("/healthz"))[0]["statusCode"], 200)
        a, err = self.invoke(event("/healthz"), env=self.env_file("s3://%s/empty-prefix" % BUCKET, self.endpoint))
        self.assertEqual(a["statusCode"], 503, "no loader.js under the prefix")
        self.assertIn("loader.js", err)
        dead = self.env_file("s3://%s/%s" % (BUCKET, PREFIX), "http://127.0.0.1:%d" % free_port())
        a, err = self.invoke(event("/healthz"), env=dead)
        self.assertEqual(a["statusCode"], 503, "store unreachable")
        self.assertRegex(err, r"ERROR.*store s3://%s/%s: GET loader\.js: " % (BUCKET, PREFIX))

    def test_get_gzip_304(self):
        a, _ = self.invoke(event())
        self.assertEqual(a["statusCode"], 200)
        self.assertIn("Acme: free shipping", a["body"])
        with open(os.path.join(DEMO, "loader.js")) as f:
            self.assertTrue(a["body"].startswith(f.read()[:40]))
        g, _ = self.invoke(event(headers={"accept-encoding": "gzip"}))
        self.assertEqual(gzip.decompress(base64.b64decode(g["body"])).decode(), a["body"])
        n, _ = self.invoke(event(headers={"if-none-match": a["headers"]["ETag"]}))
        self.assertEqual(n["statusCode"], 304)

    def test_unknown_is_404(self):
        for path in ("/nobody/main.js", "/acme/nothing.js"):
            with self.subTest(path=path):
                self.assertEqual(self.invoke(event(path))[0]["statusCode"], 404)

    def test_object_changes_and_disappears(self):
        for i in range(2):
            self.put("accounts/globex/extra.json", json.dumps({"n": "edit-%d" % i}))
            a, _ = self.invoke(event("/globex/extra.js"))
            self.assertEqual(a["statusCode"], 200)
            self.assertIn('"edit-%d"' % i, a["body"])
        self.s3.delete_object(Bucket=BUCKET, Key=PREFIX + "/accounts/globex/extra.json")
        self.assertEqual(self.invoke(event("/globex/extra.js"))[0]["statusCode"], 404)

    def test_loader_missing_is_503(self):
        env = self.env_file("s3://%s/empty-prefix" % BUCKET, self.endpoint)
        a, err = self.invoke(event(), env=env)
        self.assertEqual(a["statusCode"], 503)
        self.assertIn("loader.js", err)

    def test_bad_s3_url_fails_init(self):
        env = self.env_file("s3://Not_A_Bucket/x", self.endpoint)
        a, _ = self.invoke(event(), env=env, want_rc=1)
        self.assertEqual(a["errorType"], "Runtime.InitError")

    def test_no_libcurl_fails_init(self):
        # libcurl is loaded only for an s3:// store; one that cannot be loaded is an init error saying so.
        libdir = os.path.join(self.tmp, "badlib")
        os.makedirs(libdir, exist_ok=True)
        with open(os.path.join(libdir, "libcurl.so.4"), "w") as f:
            f.write("not a shared object\n")
        env = self.env_file("s3://%s/%s" % (BUCKET, PREFIX), self.endpoint, LD_LIBRARY_PATH=libdir)
        a, _ = self.invoke(event(), env=env, want_rc=1)
        self.assertEqual(a["errorType"], "Runtime.InitError")
        self.assertIn("libcurl.so.4", a["errorMessage"])

    def test_hung_server_is_503_within_timeout(self):
        # A listener that never accepts: the connection is made (backlog), the answer never comes.
        with socket.socket() as hung:
            hung.bind(("127.0.0.1", 0))
            hung.listen(16)
            env = self.env_file("s3://%s/%s" % (BUCKET, PREFIX), "http://127.0.0.1:%d" % hung.getsockname()[1])
            t0 = time.time()
            a, err = self.invoke(event(), env=env)
            took = time.time() - t0
        self.assertEqual(a["statusCode"], 503)
        self.assertIn("Timeout was reached", err)
        self.assertLess(took, 2.9, "a hung store must answer inside a 3 s function timeout")

    def test_warm_instance_in_process(self):
        # function/test/fn_store_s3.c: one handler, many requests: 304 revalidation, no re-render.
        prog = os.path.join(TEST_BIN, "fn_store_s3")
        if not os.access(prog, os.X_OK):
            self.skipTest("%s not built (make test builds it)" % prog)
        p = subprocess.run([prog], capture_output=True, timeout=60,
                           env=dict(os.environ, NEARJS_TEST_S3_ENDPOINT=self.endpoint, **CREDS))
        self.assertEqual(p.returncode, 0, p.stdout.decode() + p.stderr.decode())

    def test_zz_server_gone_is_503_fast(self):
        # Runs last (zz): the server goes away for good.
        dead = self.env_file("s3://%s/%s" % (BUCKET, PREFIX), "http://127.0.0.1:%d" % free_port())
        t0 = time.time()
        a, err = self.invoke(event(), env=dead)
        self.assertEqual(a["statusCode"], 503)
        self.assertEqual(a["headers"]["Retry-After"], "1")
        self.assertRegex(err, r"ERROR.*store s3://%s/%s: GET loader\.js: " % (BUCKET, PREFIX))
        self.moto.terminate()
        self.moto.wait(timeout=10)
        a, err = self.invoke(event())
        self.assertEqual(a["statusCode"], 503)
        self.assertLess(time.time() - t0, 10)


def main():
    if not os.access(NEARJS_LOCAL, os.X_OK) or not os.access(BOOTSTRAP, os.X_OK):
        print("SKIP: %s or %s not built (make test builds them)" % (NEARJS_LOCAL, BOOTSTRAP))
        return 77
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        print("SKIP: %s in %s: make test installs moto and boto3: its make setup runs scripts/find-aws-python.sh (pyenv's python with them, or a .venv it pip-installs)" % (e, sys.executable))
        return 77
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
