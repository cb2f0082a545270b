"""common/sigv4 against botocore's SigV4Auth, for the same requests at the same time, both ways:
botocore signs and sigv4_tool's signature must be the same string; sigv4_tool verifies botocore's
signature (VALID), and refuses it once the request is changed. The requests carry what needs encoding:
spaces, '+', '/', '%', non-ASCII, dot segments, repeated names, runs of spaces in header values.
Usage: sigv4_botocore.py path/to/sigv4_tool"""
import datetime
import subprocess
import sys
from unittest import mock
from urllib.parse import quote, urlsplit

import botocore.auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

TOOL = sys.argv[1]
KEY, SECRET, TOKEN = "AKIAEDGEEXAMPLE", "edge/secret+example", "IQoJb3JpZ2luX2VjEXAMPLE//token=="
REGION, SERVICE = "eu-west-1", "lambda"
WHEN = datetime.datetime(2026, 12, 6, 3, 30, 0, tzinfo=datetime.timezone.utc)
NOW = int(WHEN.timestamp())
HOST = "abcdefghijklmnop.lambda-url.eu-west-1.on.aws"

# name, method, path (as on the wire), params (botocore canonicalises them; we send them %-encoded) or a
# query already on the wire, extra headers, body, token
CASES = [
    ("plain get", "GET", "/acct/f.js", None, {}, b"", TOKEN),
    ("no token", "GET", "/acct/f.js", None, {}, b"", None),
    ("encoded path", "GET", "/acct/a%20b%2Bc%25.js", None, {}, b"", TOKEN),
    ("dot segments and slashes", "GET", "//acct/./x/../f.js", None, {}, b"", TOKEN),
    ("non-ASCII path", "GET", "/acct/\u00e9t\u00e9/\u1234.js", None, {}, b"", TOKEN),
    ("params to encode", "GET", "/acct/f.js", [("q", "a b/c+d"), ("Z", "1"), ("a", "\u00e9"), ("e", ""),
                                                  ("s", "!*'();:@&=$,?#[]")], {}, b"", TOKEN),
    ("repeated names", "GET", "/", [("a", "2"), ("a", "1"), ("a-b", "0"), ("A", "x")], {}, b"", TOKEN),
    ("query already on the wire", "GET", "/acct/f.js", "b=2&a=1&c=x%20y", {}, b"", TOKEN),
    ("post with body", "POST", "/acct/f.js", None, {"Content-Type": "application/json"}, b'{"k":"v \xc3\xa9"}',
     TOKEN),
    ("header values trimmed", "PUT", "/acct/f.js", None,
     {"X-Custom": "  a   b \t c  ", "x-Other": "Mixed Case"}, b"body", TOKEN),
]


def wire_query(params):
    if params is None:
        return ""
    if isinstance(params, str):
        return params
    return "&".join(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~") for k, v in params)


def run(args, stdin):
    r = subprocess.run([TOOL] + args, input=stdin, capture_output=True, check=False)
    if r.returncode != 0:
        sys.exit(f"sigv4_tool {args[0]} failed ({r.returncode}): {r.stderr.decode()}")
    return r.stdout.decode()


def request_bytes(method, path, query, headers, body):
    target = path + ("?" + query if query else "")
    lines = [f"{method} {target}"] + [f"{k}: {v}" for k, v in headers]
    return ("\n".join(lines) + "\n\n").encode() + body


failures = 0
for name, method, path, params, extra, body, token in CASES:
    query = wire_query(params)
    url = "https://" + HOST + path
    if isinstance(params, str):
        url += "?" + params
    req = AWSRequest(method=method, url=url, data=body, headers=dict(extra),
                     params=params if isinstance(params, list) else None)
    with mock.patch("botocore.auth.get_current_datetime", return_value=WHEN.replace(tzinfo=None)):
        botocore.auth.SigV4Auth(Credentials(KEY, SECRET, token), SERVICE, REGION).add_auth(req)
    want = req.headers["Authorization"]
    signed = want.split("SignedHeaders=")[1].split(",")[0].split(";")
    sent = [("Host", HOST)] + [(k, v) for k, v in req.headers.items() if k.lower() != "authorization"]
    to_sign = [(k, v) for k, v in sent if k.lower() in signed]
    # The raw path goes on the wire; urlsplit's is what botocore saw (for non-ASCII: the UTF-8 bytes).
    wire_path = urlsplit(url).path
    out = run(["sign", KEY, SECRET, REGION, SERVICE], request_bytes(method, wire_path, query, to_sign, body))
    got = out.split("----\n")[1].strip()
    if got != want:
        failures += 1
        print(f"FAIL {name}: sign\n  botocore {want}\n  sigv4    {got}\n  canonical request:\n{out}")
    checks = [
        ("botocore's signature", [], body, "VALID"),
        ("body changed", [], body + b"x", "MISMATCH"),
        ("a signed header changed", [("x-amz-date", "20261206T033001Z")], body, "MISMATCH"),
        ("six minutes later", "late", body, "SKEW"),
    ]
    for what, change, b, verdict in checks:
        headers = sent + [("Authorization", want)]
        now = NOW + 1
        if change == "late":
            now = NOW + 360
        else:
            for k, v in change:
                headers = [(hk, v if hk.lower() == k else hv) for hk, hv in headers]
        out = run(["verify", KEY, SECRET, token or "-", REGION, SERVICE, str(now)],
                  request_bytes(method, wire_path, query, headers, b)).strip()
        if out != verdict:
            failures += 1
            print(f"FAIL {name}: verify {what}: got {out}, want {verdict}")
print(f"sigv4_botocore: {len(CASES)} requests, botocore {__import__('botocore').__version__}: "
      + ("all passed" if failures == 0 else f"{failures} failure(s)"))
sys.exit(1 if failures else 0)
