#!/usr/bin/env python3
"""One visitor, one request at a time, for the world's failover case: GETs --path over one keep-alive
HTTPS connection to --connect (SNI and Host --url-host, the CA verified), and writes a line per request to
--out as it goes: "T_MS LATENCY_MS STATUS REGION" (T_MS since the start; REGION from X-Nearjs-Region, "-"
when none; STATUS 0 for a failed connection, which is then made again). Stops once --stop exists (or after
--seconds). Sequential on purpose: the edge's warm standby is one connection per worker, and what it is for
is that the first requests after a failover do not wait on a handshake to the next region."""
import argparse
import http.client
import os
import socket
import ssl
import time

ap = argparse.ArgumentParser()
ap.add_argument("--url-host", required=True)
ap.add_argument("--path", required=True)
ap.add_argument("--connect", required=True)
ap.add_argument("--ca", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--stop", required=True)
ap.add_argument("--seconds", type=float, default=30.0)
ap.add_argument("--pause-ms", type=float, default=5.0, help="between requests")
args = ap.parse_args()

host, port = args.connect.rsplit(":", 1)
ctx = ssl.create_default_context(cafile=args.ca)


def connect():
    c = http.client.HTTPSConnection(args.url_host, int(port), context=ctx, timeout=10)
    c.sock = ctx.wrap_socket(socket.create_connection((host, int(port)), timeout=10), server_hostname=args.url_host)
    return c


start = time.monotonic()
c = None
with open(args.out, "w", buffering=1) as out:
    while not os.path.exists(args.stop) and time.monotonic() - start < args.seconds:
        t0 = time.monotonic()
        try:
            if c is None:
                c = connect()
            c.request("GET", args.path)
            r = c.getresponse()
            r.read()
            status, region = r.status, r.getheader("x-nearjs-region") or "-"
        except (OSError, http.client.HTTPException):
            status, region = 0, "-"
            if c is not None:
                c.close()
            c = None
        t1 = time.monotonic()
        out.write("%.1f %.3f %d %s\n" % ((t0 - start) * 1000, (t1 - t0) * 1000, status, region))
        time.sleep(args.pause_ms / 1000)
