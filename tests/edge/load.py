#!/usr/bin/env python3
"""Continuous GET load for the edge tests: THREADS keep-alive HTTPS connections (HTTP/1.1, the CA
verified, SNI = the URL's name, connecting to --connect), each GETting URL until the file STOP exists
(or --seconds pass). A request counts as failed unless it answers 200 with a body whose SHA-256 is
--sha256 (when given); any error on a connection is a failure too (the edge must never drop a
visitor's connection, whatever happens upstream). Prints one line:
"requests N failed M" and the first few failures on stderr. Exit 0 always (the caller judges)."""
import argparse, hashlib, http.client, os, socket, ssl, sys, threading, time

ap = argparse.ArgumentParser()
ap.add_argument("--url-host", required=True)
ap.add_argument("--path", required=True)
ap.add_argument("--connect", required=True, help="HOST:PORT to connect to")
ap.add_argument("--ca", required=True)
ap.add_argument("--threads", type=int, default=2)
ap.add_argument("--stop", required=True, help="stop once this file exists")
ap.add_argument("--seconds", type=float, default=30.0, help="hard bound")
ap.add_argument("--sha256", default="")
args = ap.parse_args()

host, port = args.connect.rsplit(":", 1)
ctx = ssl.create_default_context(cafile=args.ca)
lock = threading.Lock()
total = [0, 0]
errors = []


def conn():
    c = http.client.HTTPSConnection(args.url_host, int(port), context=ctx, timeout=10)
    # connect to the given address while SNI and Host keep the URL's name
    c.sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=args.url_host)
    return c


def worker():
    deadline = time.monotonic() + args.seconds
    c = None
    n = bad = 0
    while not os.path.exists(args.stop) and time.monotonic() < deadline:
        if c is None:
            try:
                c = conn()
            except Exception as e:  # the edge itself must always accept
                bad += 1
                n += 1
                with lock:
                    errors.append("connect: %r" % e)
                time.sleep(0.05)
                continue
        try:
            c.request("GET", args.path)
            r = c.getresponse()
            body = r.read()
            ok = r.status == 200 and (not args.sha256 or hashlib.sha256(body).hexdigest() == args.sha256)
            if not ok:
                with lock:
                    errors.append("status %d, %d bytes" % (r.status, len(body)))
            n += 1
            bad += 0 if ok else 1
            if r.getheader("connection", "").lower() == "close":
                c.close()
                c = None
        except Exception as e:
            n += 1
            bad += 1
            with lock:
                errors.append(repr(e))
            c = None
    with lock:
        total[0] += n
        total[1] += bad


ts = [threading.Thread(target=worker) for _ in range(args.threads)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("requests %d failed %d" % (total[0], total[1]), flush=True)
for e in errors[:5]:
    print("load: " + e, file=sys.stderr)
