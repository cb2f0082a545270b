#!/usr/bin/env python3
"""A small stand-in for EC2's instance metadata service (IMDSv2), for `make run` and the tests' worlds:
what an edge needs to sign with its instance role, and nothing else.

  PUT /latest/api/token   with X-aws-ec2-metadata-token-ttl-seconds: 1..21600   -> a session token
  GET /latest/meta-data/iam/security-credentials/          -> the role's name
  GET /latest/meta-data/iam/security-credentials/ROLE      -> {"Code": "Success", "Type": "AWS-HMAC",
        "AccessKeyId", "SecretAccessKey", "Token", "Expiration", "LastUpdated"}
Every GET needs a live token in X-aws-ec2-metadata-token (else 401, as IMDSv2 answers); a PUT without the
TTL header is a 400; a request carrying X-Forwarded-For is refused (403), as IMDS does to stop proxies.
The credentials are fixed (the function URL's --iam names them); their Expiration is --lifetime seconds
after they were last renewed, and they are renewed when less than a fifth of that is left, as EC2 renews
them well before they run out. Each request is one line on stderr, so a test can count the fetches.
With --creds-file FILE instead of --key/--secret/--token, the role's document is FILE's content, read at each
request: a test rotates the credentials (another key, a close expiry) by rewriting it (tests/edge/edge_sign.sh).

Usage: imds_double.py --port P [--host 127.0.0.1] --role NAME (--key ID --secret S --token T [--lifetime S] |
                      --creds-file FILE)
Prints "imds: listening on http://HOST:PORT" once ready.
"""
import argparse
import datetime
import json
import secrets
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CREDS = "/latest/meta-data/iam/security-credentials/"


def iso(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tokens = {}  # token -> expiry (monotonic)
        self.renewed = 0.0
        self.expires = 0.0

    def credentials(self):
        with self.lock:
            now = time.time()
            if self.expires - now < self.args.lifetime / 5:
                self.renewed, self.expires = now, now + self.args.lifetime
            return {"Code": "Success", "LastUpdated": iso(self.renewed), "Type": "AWS-HMAC",
                    "AccessKeyId": self.args.key, "SecretAccessKey": self.args.secret, "Token": self.args.token,
                    "Expiration": iso(self.expires)}


class Handler(BaseHTTPRequestHandler):
    server_version = "EC2ws"
    sys_version = ""

    def log_message(self, fmt, *a):
        sys.stderr.write("imds: %s\n" % (fmt % a))

    def reply(self, status, body, ctype="text/plain"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self):
        st = self.server.state
        if self.headers.get("X-Forwarded-For"):
            return self.reply(403, "Forbidden")
        if self.path != "/latest/api/token":
            return self.reply(404, "Not Found")
        ttl = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not ttl.isdigit() or not 1 <= int(ttl) <= 21600:
            return self.reply(400, "Bad Request")
        tok = secrets.token_urlsafe(40)
        with st.lock:
            st.tokens[tok] = time.monotonic() + int(ttl)
        self.reply(200, tok)

    def do_GET(self):
        st = self.server.state
        if self.headers.get("X-Forwarded-For"):
            return self.reply(403, "Forbidden")
        tok = self.headers.get("X-aws-ec2-metadata-token", "")
        with st.lock:
            live = st.tokens.get(tok, 0) > time.monotonic()
        if not live:
            return self.reply(401, "Unauthorized")
        if self.path == CREDS:
            return self.reply(200, st.args.role)
        if self.path == CREDS + st.args.role:
            if st.args.creds_file:
                with open(st.args.creds_file) as f:
                    return self.reply(200, f.read(), "text/plain")
            return self.reply(200, json.dumps(st.credentials(), indent=2), "text/plain")
        self.reply(404, "Not Found")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--role", required=True)
    p.add_argument("--key")
    p.add_argument("--secret")
    p.add_argument("--token")
    p.add_argument("--lifetime", type=int, default=6 * 3600, help="seconds credentials live (default 6 h)")
    p.add_argument("--creds-file", help="answer this file's content as the role's document, read per request")
    args = p.parse_args()
    if not args.creds_file and not (args.key and args.secret and args.token):
        p.error("give --key, --secret and --token, or --creds-file")
    srv = ThreadingHTTPServer((args.host, args.port), Handler)
    srv.daemon_threads = True
    srv.state = State(args)
    print("imds: listening on http://%s:%d" % (args.host, srv.server_address[1]), file=sys.stderr, flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
