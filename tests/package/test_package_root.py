#!/usr/bin/env python3
"""build/function.zip runs where only glibc and what the package says it relies on exist.

Each case unzips a package made by deploy/package.sh into /var/task of an otherwise empty root
(make_root.sh: glibc from this machine plus the named libraries, laid out like Amazon Linux 2023), and
serves a request from it through the real `nearjs-local invoke`, then more through `nearjs-local start-api`;
the runtime is a wrapper that runs /var/task/bootstrap chrooted there (in_root.sh, /proc mounted) with
Lambda's LD_LIBRARY_PATH; the Runtime API is on loopback. While
the runtime is warm, its /proc/PID/maps lists every shared object mapped, each of which must lie inside
that root (and the package's own ones inside its /var/task/lib).
- PACKAGE_LIBS=system, folder store (the packaged content/, the default NEARJS_STORE): the root holds
  glibc, libcrypto, libssl, libz; an s3:// store there fails init naming libcurl.so.4 (it is not there).
- PACKAGE_LIBS=system, S3 store on moto: the same root plus libcurl.so.4 and its closure (Debian's,
  standing in for Amazon Linux's libcurl-minimal).
- PACKAGE_LIBS=bundle, S3 store on moto: a root with glibc alone; the same over HTTPS (a TLS relay in
  front of moto) with the CA only where Amazon Linux keeps it (/etc/pki/tls/certs/ca-bundle.crt, not
  where the bundled Debian libcurl looks): the store finds it; with no CA bundle at all, a 503 naming TLS.
Each answer's ETag equals build/bin/bootstrap's for the same content, and /healthz answers 200.
Exits 77 (skipped) without root or an unprivileged user namespace for chroot; the S3 cases skip without moto.
"""
import json
import os
import re
import shutil
import socket
import ssl
import threading
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import zipfile

BIN = os.environ.get("NEARJS_BIN", "")
BUILD = os.path.dirname(BIN.rstrip("/"))
SRC = os.environ.get("NEARJS_SRC", os.path.join(os.path.dirname(__file__), "..", ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
NEARJS_LOCAL = os.path.join(BIN, "nearjs-local")
DEMO = os.path.join(SRC, "function", "demo")
BASE = ["libcrypto.so.3", "libssl.so.3", "libz.so.1"]  # deploy/runtime/provided.al2023.txt, but libcurl
LAMBDA_LD_PATH = "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
CREDS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}
BUCKET = "nearjs-pkg"


def can_chroot():
    """Root, or an unprivileged user namespace with a pid namespace (in_root.sh's two ways)."""
    if os.geteuid() == 0:
        return True
    return subprocess.run(["unshare", "-r", "-m", "-p", "-f", "true"], capture_output=True).returncode == 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsRelay:
    """TLS in (a certificate for 127.0.0.1 from a throwaway CA), plain TCP out to a port: HTTPS for moto."""

    def __init__(self, tmp, target_port):
        def sh(*args):
            subprocess.run(args, check=True, capture_output=True, cwd=tmp)
        sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
           "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=nearjs-pkg-test-ca")
        sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "s3.key",
           "-out", "s3.csr", "-subj", "/CN=127.0.0.1")
        with open(os.path.join(tmp, "s3.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1\n")
        sh("openssl", "x509", "-req", "-in", "s3.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
           "-out", "s3.pem", "-days", "2", "-extfile", "s3.ext")
        self.ca = os.path.join(tmp, "ca.pem")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(os.path.join(tmp, "s3.pem"), os.path.join(tmp, "s3.key"))
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]

        def pump(a, b):
            try:
                while True:
                    data = a.recv(65536)
                    if not data:
                        break
                    b.sendall(data)
            except OSError:
                pass
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        def serve():
            while True:
                try:
                    raw, _ = self.sock.accept()
                except OSError:
                    return
                try:
                    tls = ctx.wrap_socket(raw, server_side=True)
                except (OSError, ssl.SSLError):
                    raw.close()  # a client that does not trust us: its TLS error is what the test checks
                    continue
                up = socket.create_connection(("127.0.0.1", target_port))
                threading.Thread(target=pump, args=(tls, up), daemon=True).start()
                threading.Thread(target=pump, args=(up, tls), daemon=True).start()

        threading.Thread(target=serve, daemon=True).start()

    def close(self):
        self.sock.close()


class PackageRootTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="nearjs-pkgroot-")
        cls.zips = {}
        for libs in ("system", "bundle"):
            out = os.path.join(cls.tmp, "function-%s.zip" % libs)
            p = subprocess.run([os.path.join(SRC, "deploy", "package.sh"), "--build", BUILD, "--libs", libs,
                                "--content", DEMO, "--out", out], capture_output=True, text=True, timeout=120)
            if p.returncode != 0:
                raise RuntimeError("package.sh --libs %s failed:\n%s%s" % (libs, p.stdout, p.stderr))
            cls.zips[libs] = out
        cls.moto = None
        cls.api = None

    @classmethod
    def tearDownClass(cls):
        if cls.moto is not None:
            cls.moto.terminate()
            cls.moto.wait(timeout=10)
        shutil.rmtree(cls.tmp, ignore_errors=True)

    # --- the world -------------------------------------------------------------------------------------------
    def make_root(self, name, libs, zip_name, closure=()):
        root = os.path.join(self.tmp, name)
        args = [os.path.join(HERE, "make_root.sh"), root] + list(libs)
        if closure:
            args += ["--closure"] + list(closure)
        subprocess.run(args, check=True, timeout=60)
        with zipfile.ZipFile(self.zips[zip_name]) as z:
            for info in z.infolist():
                z.extract(info, os.path.join(root, "var", "task"))
                # zipfile drops the mode bits: give them back as unzip (and Lambda) would.
                os.chmod(os.path.join(root, "var", "task", info.filename), (info.external_attr >> 16) & 0o777)
        wrapper = os.path.join(self.tmp, name + "-bootstrap")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\n# the packaged bootstrap, chrooted in %s, with Lambda's environment\n"
                    "export LAMBDA_TASK_ROOT=/var/task LD_LIBRARY_PATH=%s\nexec %s %s /var/task/bootstrap\n"
                    % (root, LAMBDA_LD_PATH, os.path.join(HERE, "in_root.sh"), root))
        os.chmod(wrapper, 0o755)
        return root, wrapper

    def env_file(self, name, params):
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump({"Parameters": params}, f)
        return path

    def start_api(self, wrapper, env):
        log_path = wrapper + ".log"
        log = open(log_path, "w")
        api = subprocess.Popen([NEARJS_LOCAL, "start-api", "--port", "0", "--workers", "1", "--env-vars", env, wrapper],
                               stdout=subprocess.DEVNULL, stderr=log, env=dict(os.environ, **CREDS))
        log.close()
        self.addCleanup(self.stop, api)
        deadline = time.time() + 20
        while True:
            with open(log_path) as f:
                m = re.search(r"listening on (http://\S+)", f.read())
            if m:
                return m.group(1).rstrip("/"), log_path
            if time.time() > deadline or api.poll() is not None:
                self.fail("start-api did not come up: " + open(log_path).read())
            time.sleep(0.05)

    @staticmethod
    def stop(api):
        if api.poll() is None:
            api.terminate()
            api.wait(timeout=10)

    @staticmethod
    def fetch(url):
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def mapped_objects(self, root):
        """Shared objects mapped by the runtime running root's /var/task/bootstrap (host paths)."""
        exe = os.path.join(root, "var", "task", "bootstrap")
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                if os.readlink("/proc/%s/exe" % pid) != exe:
                    continue
                with open("/proc/%s/maps" % pid) as f:
                    paths = {line.split(None, 5)[5].strip() for line in f if len(line.split(None, 5)) == 6}
            except OSError:
                continue
            return sorted(p for p in paths if p.startswith("/") and ".so" in os.path.basename(p))
        self.fail("no process runs %s" % exe)

    def expected_answer(self, path):
        """What build/bin/bootstrap itself answers for the demo store: the packaged one must be the same."""
        env = self.env_file("direct", {"NEARJS_STORE": "file://" + os.path.abspath(DEMO)})
        ev = {"version": "2.0", "rawPath": path, "rawQueryString": "", "headers": {},
              "requestContext": {"http": {"method": "GET", "path": path}}, "isBase64Encoded": False}
        p = subprocess.run([NEARJS_LOCAL, "invoke", "-e", "-", "--env-vars", env, os.path.join(BIN, "bootstrap")],
                           input=json.dumps(ev).encode(), capture_output=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        return json.loads(p.stdout)

    def serve_and_check(self, root, wrapper, env, own_libs, runtime_libs):
        want = self.expected_answer("/acme/main.js")
        # Cold, one event: nearjs-local invoke, as `sam local invoke` would run the package.
        ev = {"version": "2.0", "rawPath": "/acme/main.js", "rawQueryString": "", "headers": {},
              "requestContext": {"http": {"method": "GET", "path": "/acme/main.js"}}, "isBase64Encoded": False}
        p = subprocess.run([NEARJS_LOCAL, "invoke", "-e", "-", "--env-vars", env, wrapper], input=json.dumps(ev).encode(),
                           capture_output=True, timeout=30, env=dict(os.environ, **CREDS))
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(json.loads(p.stdout)["headers"]["ETag"], want["headers"]["ETag"], "invoke: same answer")
        # Warm, through start-api: the runtime stays up, so what it mapped can be read.
        url, log = self.start_api(wrapper, env)
        status, hdrs, body = self.fetch(url + "/acme/main.js")
        self.assertEqual(status, 200, open(log).read())
        self.assertIn(b"nearjs demo loader", body)
        self.assertEqual(hdrs["ETag"], want["headers"]["ETag"], "the packaged bootstrap answers as the built one")
        self.assertEqual(self.fetch(url + "/healthz")[0], 200)
        maps = self.mapped_objects(root)
        outside = [p for p in maps if not p.startswith(root + "/")]
        self.assertEqual(outside, [], "libraries from outside the root")
        names = {os.path.basename(p): p[len(root):] for p in maps}
        for lib in own_libs:
            self.assertEqual(names.get(lib), "/var/task/lib/" + lib, "%s from the package (maps: %s)" % (lib, names))
        for lib in runtime_libs:
            self.assertRegex(names.get(lib, ""), r"^/(usr/)?lib64/" + re.escape(lib), "%s from the runtime" % lib)
        print("\n  %s: %s" % (os.path.basename(root), ", ".join(sorted(names.values()))), file=sys.stderr)

    def s3_env(self, name):
        """A moto server on loopback with the demo store in BUCKET; the env file pointing at it."""
        try:
            import boto3
        except ImportError as e:
            self.skipTest("no boto3/moto in %s (%s): make test installs them: its make setup runs scripts/find-aws-python.sh (pyenv's python with them, or a .venv it pip-installs)" % (sys.executable, e))
        cls = type(self)
        if cls.moto is None:
            cls.port = free_port()
            cls.moto = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(cls.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            endpoint = "http://127.0.0.1:%d" % cls.port
            deadline = time.time() + 20
            while True:
                try:
                    urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                    break
                except Exception:
                    if time.time() > deadline:
                        raise
                    time.sleep(0.1)
            s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing",
                              aws_secret_access_key="testing")
            s3.create_bucket(Bucket=BUCKET)
            for top, _, files in os.walk(DEMO):
                for f in files:
                    full = os.path.join(top, f)
                    s3.upload_file(full, BUCKET, "site/" + os.path.relpath(full, DEMO))
        return self.env_file(name, {"NEARJS_STORE": "s3://%s/site" % BUCKET,
                                    "NEARJS_S3_ENDPOINT": "http://127.0.0.1:%d" % type(self).port})

    # --- the cases -------------------------------------------------------------------------------------------
    def test_system_libs_folder_store(self):
        root, wrapper = self.make_root("root-system", BASE, "system")
        self.serve_and_check(root, wrapper, self.env_file("none", {}), ["libjansson.so.4"], BASE[:1] + BASE[2:])
        # No libcurl in this root: an S3 store cannot start, and says what it misses.
        env = self.env_file("s3-nocurl", {"NEARJS_STORE": "s3://%s/site" % BUCKET,
                                          "NEARJS_S3_ENDPOINT": "http://127.0.0.1:%d" % free_port()})
        p = subprocess.run([NEARJS_LOCAL, "invoke", "-e", "-", "--env-vars", env, wrapper], input=b"{}",
                           capture_output=True, timeout=30, env=dict(os.environ, **CREDS))
        self.assertEqual(p.returncode, 1, p.stderr.decode())
        doc = json.loads(p.stdout)
        self.assertEqual(doc["errorType"], "Runtime.InitError")
        self.assertIn("libcurl.so.4", doc["errorMessage"])

    def test_system_libs_s3_store(self):
        env = self.s3_env("s3-system")
        root, wrapper = self.make_root("root-system-curl", BASE, "system", closure=["libcurl.so.4"])
        self.serve_and_check(root, wrapper, env, ["libjansson.so.4"], ["libcurl.so.4", "libcrypto.so.3", "libz.so.1"])

    def test_bundle_s3_store(self):
        env = self.s3_env("s3-bundle")
        root, wrapper = self.make_root("root-bundle", [], "bundle")
        self.serve_and_check(root, wrapper, env, ["libjansson.so.4", "libcurl.so.4", "libcrypto.so.3", "libssl.so.3",
                                                  "libz.so.1", "libnghttp2.so.14"], [])

    def test_bundle_wins_over_the_runtime(self):
        # A runtime that has libcurl, OpenSSL and zlib too, first on Lambda's LD_LIBRARY_PATH (/lib64): the
        # bundle's copies are used all the same (DT_RPATH is searched before LD_LIBRARY_PATH).
        env = self.s3_env("s3-bundle-over")
        root, wrapper = self.make_root("root-bundle-over", BASE, "bundle", closure=["libcurl.so.4"])
        self.serve_and_check(root, wrapper, env, ["libjansson.so.4", "libcurl.so.4", "libcrypto.so.3", "libssl.so.3",
                                                  "libz.so.1", "libnghttp2.so.14"], [])

    def test_bundle_https_store_finds_the_runtimes_ca(self):
        env = self.s3_env("s3-https")
        relay = TlsRelay(self.tmp, type(self).port)
        self.addCleanup(relay.close)
        params = json.load(open(env))["Parameters"]
        params["NEARJS_S3_ENDPOINT"] = "https://127.0.0.1:%d" % relay.port
        env = self.env_file("s3-https", params)
        # Without any CA bundle in the root: the TLS failure is a 503, and the log says so.
        root, wrapper = self.make_root("root-bundle-noca", [], "bundle")
        p = subprocess.run([NEARJS_LOCAL, "invoke", "-e", "-", "--env-vars", env, wrapper], capture_output=True,
                           input=json.dumps({"version": "2.0", "rawPath": "/healthz", "rawQueryString": "",
                                             "requestContext": {"http": {"method": "GET", "path": "/healthz"}}}).encode(),
                           timeout=30, env=dict(os.environ, **CREDS))
        self.assertEqual(json.loads(p.stdout)["statusCode"], 503, p.stderr.decode())
        self.assertRegex(p.stderr.decode(), r"(?i)ssl|certificate")
        # With the CA where Amazon Linux keeps it, though the bundled libcurl looks elsewhere: served.
        root, wrapper = self.make_root("root-bundle-alca", [], "bundle")
        os.makedirs(os.path.join(root, "etc", "pki", "tls", "certs"))
        shutil.copy(relay.ca, os.path.join(root, "etc", "pki", "tls", "certs", "ca-bundle.crt"))
        self.serve_and_check(root, wrapper, env, ["libcurl.so.4", "libssl.so.3"], [])


def main():
    if not os.access(NEARJS_LOCAL, os.X_OK):
        print("SKIP: %s not built (make test builds it)" % NEARJS_LOCAL)
        return 77
    if not can_chroot():
        print("SKIP: chroot needs root or an unprivileged user namespace (unshare -r), and neither works here; make test"
              " cannot install either: run it as root, or allow user namespaces (sysctl kernel.unprivileged_userns_clone=1)")
        return 77
    result = unittest.main(exit=False, verbosity=2).result
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
