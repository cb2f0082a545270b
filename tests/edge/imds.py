#!/usr/bin/env python3
"""A small IMDSv2 for the edge's signing tests (plain HTTP on loopback, as EC2's is on 169.254.169.254):
PUT /latest/api/token (needs x-aws-ec2-metadata-token-ttl-seconds) gives a session token; the GETs need it
in x-aws-ec2-metadata-token (else 401): /latest/meta-data/iam/security-credentials/ names the role (--role),
.../<role> answers the credentials document, read from --creds FILE at each request (a test rotates the
credentials by rewriting it). /count answers how many credential documents were served.
Prints "ready PORT" once listening."""
import argparse, secrets, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, default=0)
ap.add_argument("--role", default="nearjs-edge")
ap.add_argument("--creds", required=True)
args = ap.parse_args()
tokens, served, lock = set(), [0], threading.Lock()
BASE = "/latest/meta-data/iam/security-credentials/"


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, status, body):
        self.send_response(status)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_PUT(self):
        if self.path != "/latest/api/token" or not self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
            return self.send(400, b"bad token request\n")
        t = secrets.token_hex(16)
        with lock:
            tokens.add(t)
        self.send(200, t.encode())

    def do_GET(self):
        if self.path == "/count":
            return self.send(200, str(served[0]).encode())
        with lock:
            ok = self.headers.get("x-aws-ec2-metadata-token") in tokens
        if not ok:
            return self.send(401, b"")
        if self.path == BASE:
            return self.send(200, args.role.encode())
        if self.path == BASE + args.role:
            with open(args.creds, "rb") as f:
                doc = f.read()
            served[0] += 1
            return self.send(200, doc)
        self.send(404, b"")


srv = ThreadingHTTPServer(("127.0.0.1", args.port), H)
print("ready", srv.server_address[1], flush=True)
srv.serve_forever()
