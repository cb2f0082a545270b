"""A scriptable Runtime API server for testing the runtime client's wire behaviour and fault handling.

Real nearjs tests run the bootstrap against nearjs-local; this server exists for what a well-behaved
server never does: answer 500, drop connections, vanish and come back. It speaks HTTP/1.1 on raw
sockets so that it can record the exact bytes the client sends (including chunked bodies and
trailers) and misbehave at exact points.
"""
import json
import queue
import random
import socket
import threading
import time

API = "/2018-06-01/runtime"


class Request:
    def __init__(self, method, path, headers, body, raw_head, trailers, chunked):
        self.method, self.path, self.headers, self.body = method, path, headers, body
        self.raw_head, self.trailers, self.chunked = raw_head, trailers, chunked

    def header(self, name):
        return self.headers.get(name.lower())


class FakeRuntimeAPI:
    """Serves queued events on GET /next and records every request.

    faults: a list consumed one per /next request, each None (serve normally), 500 (answer
    500), or "drop" (close the connection without answering).
    """

    def __init__(self, port=0, faults=None):
        self.events = queue.Queue()
        self.requests = []
        self.faults = list(faults or [])
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port or self._private_port()))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = []
        self.next_count = 0
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    @staticmethod
    def _private_port():
        """A free port below the kernel's ephemeral range. A port from bind(0) may be one that another
        test's server (ctest runs tests side by side) just gave up while its bootstrap still retries
        there: that bootstrap would then take this server's events (seen once in CI: a plain POST where
        a streamed one was due). Servers on ephemeral ports never own these, so no stray comes here."""
        try:
            with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
                low = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            low = 32768
        for _ in range(200):
            port = random.randrange(max(1024, low - 12000), low)
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            try:
                probe.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
            finally:
                probe.close()
        return 0

    @property
    def endpoint(self):
        return "127.0.0.1:%d" % self.port

    def push(self, body, request_id, headers=None):
        h = {
            "Lambda-Runtime-Aws-Request-Id": request_id,
            "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 30000),
            "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:us-east-1:123456789012:function:echo",
            "Content-Type": "application/json",
        }
        h.update(headers or {})
        self.events.put((body if isinstance(body, bytes) else body.encode(), h))

    def wait_for(self, predicate, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            with self.lock:
                found = [r for r in self.requests if predicate(r)]
            if found:
                return found[0]
            time.sleep(0.01)
        raise AssertionError("no matching request within %ss; got %s" % (timeout, [(r.method, r.path) for r in self.requests]))

    def close(self):
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for c in list(self.connections):
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()
        self.events.put(None)  # wakes a blocked /next

    def _accept(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn):
        f = conn.makefile("rb")
        try:
            while True:
                req = self._read_request(f)
                if req is None:
                    return
                with self.lock:
                    self.requests.append(req)
                if not self._answer(conn, req):
                    return
        except (OSError, ValueError):
            return
        finally:
            f.close()
            conn.close()

    def _read_request(self, f):
        raw = b""
        while True:
            line = f.readline(65536)
            if not line:
                return None
            raw += line
            if line in (b"\r\n", b"\n"):
                break
        lines = raw.decode("latin-1").split("\r\n")
        method, path, _ = lines[0].split(" ", 2)
        headers = {}
        for l in lines[1:]:
            if ":" in l:
                k, v = l.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        body, trailers, chunked = b"", {}, False
        if headers.get("transfer-encoding", "").lower() == "chunked":
            chunked = True
            while True:
                size = int(f.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    break
                body += f.read(size)
                f.readline()
            while True:
                line = f.readline()
                if line in (b"\r\n", b"\n", b""):
                    break
                k, v = line.decode("latin-1").split(":", 1)
                trailers[k.strip().lower()] = v.strip()
        elif "content-length" in headers:
            body = f.read(int(headers["content-length"]))
        return Request(method, path, headers, body, raw, trailers, chunked)

    @staticmethod
    def _send(conn, status, body=b"", headers=None):
        reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error"}
        head = "HTTP/1.1 %d %s\r\n" % (status, reason.get(status, "X"))
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        head += "Content-Length: %d\r\n\r\n" % len(body)
        conn.sendall(head.encode("latin-1") + body)

    def _answer(self, conn, req):
        if req.method == "GET" and req.path == API + "/invocation/next":
            with self.lock:
                fault = self.faults.pop(0) if self.faults else None
                self.next_count += 1
            if fault == "drop":
                return False
            if fault == 500:
                self._send(conn, 500, b'{"errorMessage":"injected","errorType":"Test.Injected"}')
                return True
            item = self.events.get()
            if item is None:
                return False
            body, headers = item
            self._send(conn, 200, body, headers)
            return True
        if req.method == "POST" and req.path.startswith(API + "/"):
            self._send(conn, 202, b'{"status":"OK"}', {"Content-Type": "application/json"})
            return True
        self._send(conn, 404, b'{"errorMessage":"not found"}')
        return True


def error_json(req):
    return json.loads(req.body.decode())
