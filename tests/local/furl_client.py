#!/usr/bin/env python3
"""One request to a function URL, signed (or not) by botocore's SigV4Auth: the reference signer AWS's own
SDK uses, so nearjs-local's checks are tested against someone else's signatures, not our own.

  furl_client.py --connect HOST:PORT --host NAME [--https --ca FILE] [--method M] [--path P] [--body B]
                 [--key ID --secret S [--token T]] [--region R] [--service lambda] [--skew SECONDS]
                 [--tamper path|query|header|body] [--twice]

Without --key the request goes unsigned. --skew signs as if the clock were SECONDS ahead (negative: behind),
i.e. a request signed that long ago and sent now. --tamper changes the request after signing. --twice sends
the same signed request again (a replay). Prints, per answer: the status, then "header: value" lines
(lower case), an empty line and the body.
"""
import argparse
import datetime
import http.client
import ssl
import sys

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--connect", required=True)
    p.add_argument("--host", required=True)
    p.add_argument("--https", action="store_true")
    p.add_argument("--ca")
    p.add_argument("--method", default="GET")
    p.add_argument("--path", default="/")
    p.add_argument("--body")
    p.add_argument("--key")
    p.add_argument("--secret")
    p.add_argument("--token")
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--service", default="lambda")
    p.add_argument("--skew", type=int, default=0)
    p.add_argument("--tamper", choices=["path", "query", "header", "body"])
    p.add_argument("--twice", action="store_true")
    a = p.parse_args()

    url = "%s://%s%s" % ("https" if a.https else "http", a.host, a.path)
    body = a.body.encode() if a.body is not None else None
    req = AWSRequest(method=a.method, url=url, data=body, headers={"x-nearjs-test": "1"})
    if a.key:
        at = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) + datetime.timedelta(seconds=a.skew)
        botocore.auth.get_current_datetime = lambda *_, **__: at
        botocore.auth.SigV4Auth(Credentials(a.key, a.secret, a.token), a.service, a.region).add_auth(req)
    headers = {k: v for k, v in req.headers.items()}
    path = a.path
    if a.tamper == "path":
        path = path + "x"
    elif a.tamper == "query":
        path = path + ("&" if "?" in path else "?") + "extra=1"
    elif a.tamper == "header":
        headers["x-nearjs-test"] = "2"
    elif a.tamper == "body":
        body = (body or b"") + b"!"
    host, port = a.connect.rsplit(":", 1)
    for _ in range(2 if a.twice else 1):
        if a.https:
            ctx = ssl.create_default_context(cafile=a.ca)
            conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=10)
            # SNI and certificate check for the function URL's name, the TCP connection to host:port
            conn._tunnel_host = None
            conn.sock = ctx.wrap_socket(__import__("socket").create_connection((host, int(port)), 10),
                                        server_hostname=a.host)
        else:
            conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.putrequest(a.method, path, skip_host=True, skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if "host" not in {k.lower() for k in headers}:
            conn.putheader("Host", a.host)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        data = r.read()
        print(r.status)
        for k, v in r.getheaders():
            print("%s: %s" % (k.lower(), v))
        print()
        sys.stdout.write(data.decode(errors="replace") + "\n")
        conn.close()


if __name__ == "__main__":
    main()
