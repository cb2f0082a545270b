#!/usr/bin/env python3
"""A real TLS upstream for the edge tests, behaving like API Gateway's custom domain check:
403 {"message":"Forbidden"} unless the TLS SNI and the Host header both equal --domain.
Otherwise it answers 200 with the request (method, path, headers, sni, body) as JSON.
/healthz answers 200 (or --health-status). /frame/KIND answers with a given HTTP/1.1 framing (chunked with a
trailer, until close, 204, 304, 1xx interim answers first, a HEAD, a length but then a close without warning
like an upstream's keep-alive timeout, trickled a few bytes at a time, an invalid status line, a 70 KB head,
a body shorter than its length, an empty reason phrase). The JSON's "peer" is the client port: one per upstream connection.
/sleep/MS answers late. /conns answers {"accepted": N, "requests": M}: TCP connections accepted and request lines read so far.
With --iam KEY:SECRET[:TOKEN] (repeatable) it is a Lambda function URL with AuthType AWS_IAM: every request
but /conns and /sigv4 must carry a valid SigV4 signature for --region and --service, checked by
common/sigv4's verifier (--sigv4-tool, build/test-bin/sigv4_tool), else 403 {"Message":"Forbidden"}; the JSON
echo says which key signed ("signed_by"); /sigv4 answers {"valid": {KEY: N}, "refused": {VERDICT: N}}.
Prints "ready PORT" once listening."""
import argparse, json, re, ssl, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--domain", required=True)
ap.add_argument("--cert", required=True)
ap.add_argument("--key", required=True)
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--tag", default="")
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--iam", action="append", default=[])
ap.add_argument("--sigv4-tool")
ap.add_argument("--region", default="us-east-1")
ap.add_argument("--service", default="lambda")
args = ap.parse_args()
iam = {}
for spec in args.iam:
    parts = spec.split(":")
    iam[parts[0]] = (parts[1], parts[2] if len(parts) > 2 else "-")
sig_lock = threading.Lock()
sig_valid, sig_refused = {}, {}


def verify(handler, body):
    """The verdict of common/sigv4's verifier on this request (as received), and the key it claims."""
    auth = handler.headers.get("authorization", "")
    m = re.search(r"Credential=([^/]+)/", auth)
    key = m.group(1) if m else next(iter(iam))
    secret, token = iam.get(key, ("-", "-"))
    wire = f"{handler.command} {handler.path}\n" + "".join(f"{k}: {v}\n" for k, v in handler.headers.items())
    r = subprocess.run([args.sigv4_tool, "verify", key, secret, token, args.region, args.service,
                        str(int(time.time()))], input=wire.encode("latin-1") + b"\n" + body, capture_output=True)
    verdict = r.stdout.decode().strip() or ("TOOL FAILED: " + r.stderr.decode().strip())
    with sig_lock:
        if verdict == "VALID":
            sig_valid[key] = sig_valid.get(key, 0) + 1
        else:
            sig_refused[verdict] = sig_refused.get(verdict, 0) + 1
    return verdict, key

sni_by_sock = {}
accepted = [0]  # TCP connections accepted so far (GET /conns answers it: the attack suite counts with it)
requests = [0]  # request lines read so far, well-formed or not (also in /conns)


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def parse_request(self):
        requests[0] += 1
        return super().parse_request()

    def _answer(self):
        n = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(n) if n else b""
        sni = getattr(self.connection, "sni", None)
        host = self.headers.get("host", "")
        signed_by = None
        if iam and self.path not in ("/conns", "/sigv4"):
            verdict, signed_by = verify(self, body)
            if verdict != "VALID":
                out = json.dumps({"Message": "Forbidden"}).encode()
                self.send_response(403)
                self.send_header("content-type", "application/json")
                self.send_header("x-sigv4-verdict", verdict)
                self.send_header("content-length", str(len(out)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(out)
                return
        if self.path == "/sigv4":
            with sig_lock:
                out = json.dumps({"valid": sig_valid, "refused": sig_refused}).encode()
            self.send_response(200)
            self.send_header("content-length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)
            return
        if self.path == "/slow":
            import time
            time.sleep(5)
        if self.path.startswith("/sleep/"):  # /sleep/MS: the ordinary answer, MS milliseconds late
            import time
            time.sleep(int(self.path[len("/sleep/"):]) / 1000)
        if sni != args.domain or host != args.domain:
            out, status = json.dumps({"message": "Forbidden"}).encode(), 403
        elif self.path.startswith("/frame/"):
            return self._frame(self.path[len("/frame/"):])
        elif self.path == "/healthz":
            out, status = b"ok\n", 200
        elif self.path == "/conns":
            out, status = json.dumps({"accepted": accepted[0], "requests": requests[0]}).encode(), 200
        else:
            out = json.dumps({"tag": args.tag, "method": self.command, "path": self.path, "sni": sni,
                              "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": body.decode("latin-1"), "peer": self.client_address[1],
                              "signed_by": signed_by}).encode()
            status = 200
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    def _frame(self, kind):
        w = self.wfile.write
        if kind == "chunked":
            w(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n"
              b"7\r\nhello, \r\nd\r\nchunked world\r\n0\r\nx-trailer: 1\r\n\r\n")
        elif kind == "close":
            w(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\nuntil close")
            self.close_connection = True
        elif kind == "204":
            w(b"HTTP/1.1 204 No Content\r\nx-kind: 204\r\n\r\n")
        elif kind == "304":
            w(b"HTTP/1.1 304 Not Modified\r\netag: \"e1\"\r\n\r\n")
        elif kind == "interim":
            w(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </a.js>\r\n\r\n"
              b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nafter interim")
        elif kind == "trickle":  # the head and a chunked body a few bytes at a time
            import time
            out = (b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                   b"5\r\ntrick\r\n8\r\nled body\r\n0\r\n\r\n")
            for i in range(0, len(out), 3):
                w(out[i:i + 3])
                self.wfile.flush()
                time.sleep(0.005)
        elif kind == "garbage":
            w(b"HTTP/1.1 2x0 OK\r\n\r\n")
            self.close_connection = True
        elif kind == "hugehead":
            w(b"HTTP/1.1 200 OK\r\nx-big: " + b"a" * 70000 + b"\r\ncontent-length: 0\r\n\r\n")
        elif kind == "truncated":
            w(b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\n\r\nonly ten..")
            self.close_connection = True
        elif kind == "noreason":  # a status line with an empty reason phrase, and a Server of its own
            w(b"HTTP/1.1 405 \r\nallow: GET\r\nserver: upstream-gw\r\ncontent-length: 0\r\n\r\n")
        elif kind == "bye":
            w(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nbye")
            self.close_connection = True
        self.wfile.flush()

    do_GET = do_POST = do_HEAD = do_PUT = _answer


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.cert, args.key)


def on_sni(sslsock, name, _ctx):
    sslsock.sni = name


ctx.sni_callback = on_sni


class S(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a burst of connections is counted, not dropped at a backlog of 5
    allow_reuse_address = True

    def get_request(self):
        sock, addr = self.socket.accept()
        accepted[0] += 1
        try:
            tls = ctx.wrap_socket(sock, server_side=True)
        except Exception:
            sock.close()
            raise OSError("handshake failed")
        return tls, addr

    def handle_error(self, request, client_address):
        pass


srv = S(("127.0.0.1", args.port), H)
print("ready", srv.server_address[1], flush=True)
srv.serve_forever()
