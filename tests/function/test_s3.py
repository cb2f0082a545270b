#!/usr/bin/env python3
"""The S3 store: the real bootstrap under `nearjs-local invoke`, reading from a moto server on loopback.

Objects changing, disappearing, the loader missing, and the server going away mid-run (503 well
inside the function's timeout, with a log line naming the store and the cause).
Exits 77 (skipped) when nearjs-local, the bootstrap, moto or boto3 is missing.
"""
import base64
import gzip
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

BIN = os.environ.get("NEARJS_BIN", "")
TEST_BIN = os.environ.get("NEARJS_TEST_BIN", os.path.join(BIN, "..", "test-bin"))
NEARJS_LOCAL = os.path.join(BIN, "nearjs-local")
BOOTSTRAP = os.path.join(BIN, "bootstrap")
DEMO = os.environ.get("NEARJS_DEMO", os.path.join(os.path.dirname(__file__), "..", "..", "function", "demo"))
BUCKET = "nearjs-test"
PREFIX = "content/v1"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "tok",
         "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def event(path="/acme/main.js", method="GET", headers=None):
    return {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": headers or {},
            "requestContext": {"domainName": "fast.example.com", "http": {"method": method, "path": path}},
            "isBase64Encoded": False}


class S3StoreTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import boto3
        cls.tmp = tempfile.mkdtemp(prefix="nearjs-s3-")
        cls.port = free_port()
        cls.endpoint = "http://127.0.0.1:%d" % cls.port
        cls.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(cls.port)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
                    cls.s3.put_object(Bucket=BUCKET, Key=PREFIX + "/" + rel, Body=f.read())
        cls.env = cls.env_file("s3://%s/%s" % (BUCKET, PREFIX), cls.endpoint)

    @classmethod
    def tearDownClass(cls):
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
            self.skipTest("%s not built" % prog)
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
        print("SKIP: %s or %s not built" % (NEARJS_LOCAL, BOOTSTRAP))
        return 77
    try:
        import boto3  # noqa: F401
        import moto  # noqa: F401
    except ImportError as e:
        print("SKIP: %s" % e)
        return 77
    result = unittest.main(exit=False, verbosity=1).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
