#!/usr/bin/env python3
"""realism: an HTTP layer between the aws CLI and moto that makes moto answer more like AWS.

Every request is forwarded to moto unchanged, except where a switched-on *behaviour* reproduces
something AWS does and moto does not (an IAM role Lambda cannot assume yet, a certificate still in
use, throttling, ...). tests/deploy/README.md lists the behaviours with their sources.

    realism.py --moto http://127.0.0.1:MOTO_PORT --port PORT [--log calls.jsonl] [--on NAME[:k=v,...]]...

--on all switches on every behaviour with its defaults; --on NAME:k=v sets one parameter (seconds,
counts). A test may change them while the layer runs: POST /_realism/config with
{"on": {"NAME": {"k": v}}, "off": ["NAME"]} (a behaviour already on keeps its state and takes the new
parameters; off then on starts it afresh); GET /_realism/config answers what is on.
Ready when GET /_realism/config answers.

The call log (--log): one JSON object a line per call, written when the answer is known:
  {"t": unix time, "service": "lambda", "operation": "CreateFunction", "region": "us-east-1",
   "write": true, "status": 201, "by": "iam-propagation" (only when a behaviour answered)}
"write" is false only for operations named Get*, List*, Describe*, Head*, Lookup*, Search*, BatchGet*.
Unknown operations count as writes.

Adding a behaviour: tests/deploy/README.md, "Adding a behaviour". In short: a module
tests/deploy/realism_<topic>.py (loaded at start) with a class decorated @realism.behaviour("name",
param=default, ...) that overrides before(call) (return call.error(...) to answer instead of moto)
and/or after(call, resp) (see or change moto's answer).
"""
import argparse
import base64
import glob
import http.client
import http.server
import importlib.util
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
BEHAVIOURS = {}  # name -> class (the registry)
# Named sets of --on specs (--on default). "default": what every deploy and fleet test runs with, the
# propagation times short (those tests only need to see the retry; test_realism.py and the first-deploy
# test show the default times). A plugin adds its behaviour here when every test should face it.
PROFILES = {"default": []}
READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet")
# Signing name (from the Authorization header's credential scope) -> botocore service name.
SIGNING = {"servicequotas": "service-quotas", "monitoring": "cloudwatch", "email": "ses"}


def behaviour(name, **defaults):
    """Registers a Behaviour subclass under NAME with its parameters' defaults."""
    def register(cls):
        cls.name = name
        cls.defaults = dict(defaults)
        BEHAVIOURS[name] = cls
        return cls
    return register


class Behaviour:
    """One AWS behaviour. self.p: its parameters; self.layer: the Layer (layer.moto(service, region)
    is a boto3 client straight to moto, for looking things up). Both hooks run on the request's thread;
    keep shared state under self.lock."""
    name = "?"
    defaults = {}

    def __init__(self, layer, params):
        self.layer = layer
        self.p = dict(self.defaults, **params)
        self.lock = threading.Lock()

    def before(self, call):  # noqa: ARG002 (a hook)
        """Return call.error(...) (or a Response) to answer instead of moto; None to forward."""
        return None

    def after(self, call, resp):  # noqa: ARG002
        """Sees moto's answer; may return another Response. Default: unchanged."""
        return resp


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (name, value)
        self.body = body
        self.by = None

    @property
    def ok(self):
        return 200 <= self.status < 300

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return None

    def with_json(self, obj):
        self.body = json.dumps(obj).encode()
        return self

    def xml(self):
        try:
            return ET.fromstring(self.body)
        except ET.ParseError:
            return None


def strip_ns(tag):
    return tag.rsplit("}", 1)[-1]


def xml_find(root, name):
    """First element named NAME (any namespace) under ROOT, or None."""
    if root is None:
        return None
    for el in root.iter():
        if strip_ns(el.tag) == name:
            return el
    return None


class Call:
    """One request: service (botocore name), op, region, write, protocol, method, path, query, headers, body."""

    def __init__(self, method, raw_path, headers, body):
        self.method = method
        self.headers = headers
        self.body = body
        url = urllib.parse.urlsplit(raw_path)
        self.path = url.path
        self.query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        self.path_params = {}
        self.log_extra = {}  # fields a behaviour adds to this call's line of the call log
        auth = headers.get("Authorization", "")
        m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", auth)
        self.region, signing = m.groups() if m else ("us-east-1", "")
        if signing == "apigateway":
            self.service = "apigatewayv2" if self.path.startswith("/v2/") else "apigateway"
        else:
            self.service = SIGNING.get(signing, signing) or "unknown"
        self.protocol = MODELS.protocol(self.service)
        self.op = self._operation()
        self.write = not self.op.startswith(READ_PREFIXES)

    def _operation(self):
        target = self.headers.get("X-Amz-Target")
        if target:
            return target.rsplit(".", 1)[-1]
        if self.protocol in ("query", "ec2"):
            return (self.form().get("Action") or self.query.get("Action", ["?"])[0])
        # A service whose newest model speaks another protocol (CloudWatch: smithy-rpc-v2-cbor) is still
        # called in the query protocol by older CLIs (Debian's v2): the form's Action names the operation,
        # where matching the path "/" against the new model's templates would name an unrelated one.
        if "x-www-form-urlencoded" in self.headers.get("Content-Type", "") and self.form().get("Action"):
            return self.form()["Action"]
        m = re.match(r"^/service/[^/]+/operation/([A-Za-z0-9]+)$", self.path)
        if m:  # smithy-rpc-v2-cbor: the operation is in the path
            return m.group(1)
        found = MODELS.match(self.service, self.method, self.path, self.query, self.headers)
        if found:
            self.path_params = found[1]
            return found[0]
        return "%s %s" % (self.method, self.path)

    def json(self):
        try:
            return json.loads(self.body or b"{}")
        except ValueError:
            return {}

    def form(self):
        if not hasattr(self, "_form"):
            self._form = {k: v[0] for k, v in urllib.parse.parse_qs(self.body.decode("utf-8", "replace"),
                                                                      keep_blank_values=True).items()}
        return self._form

    def xml(self):
        try:
            return ET.fromstring(self.body) if self.body else None
        except ET.ParseError:
            return None

    def error(self, status, code, message):
        """An error answer in this service's own wire format (what botocore parses as CODE)."""
        rid = str(uuid.uuid4())
        sent = self.headers.get("Content-Type", "")
        if self.protocol == "json" or sent.startswith("application/x-amz-json-"):
            # By what was sent, not only the model: CloudWatch's newest models speak JSON 1.0 (the v1 CLI here),
            # and being awsQueryCompatible, botocore reads the code from x-amzn-query-error when present
            ctype = sent if sent.startswith("application/x-amz-json-") else "application/x-amz-json-1.1"
            return Response(status, [("Content-Type", ctype), ("x-amzn-query-error", "%s;Sender" % code),
                                     ("x-amzn-RequestId", rid)],
                            json.dumps({"__type": code, "message": message}).encode())
        if self.protocol == "rest-json":
            body = {"message": message}
            if self.service == "lambda":
                body["Type"] = "User"
            return Response(status, [("Content-Type", "application/json"), ("x-amzn-ErrorType", code),
                                     ("x-amzn-RequestId", rid)], json.dumps(body).encode())
        if re.match(r"^/service/[^/]+/operation/[A-Za-z0-9]+$", self.path):
            # smithy-rpc-v2-cbor (CloudWatch in current CLIs): a CBOR map {__type, message}; CloudWatch is
            # awsQueryCompatible, so botocore takes the code from x-amzn-query-error when it is there
            return Response(status, [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
                                     ("x-amzn-query-error", "%s;Sender" % code), ("x-amzn-RequestId", rid)],
                            _cbor_text_map({"__type": code, "message": message}))
        esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")  # noqa: E731
        if self.protocol == "ec2":
            body = ("<Response><Errors><Error><Code>%s</Code><Message>%s</Message></Error></Errors>"
                    "<RequestID>%s</RequestID></Response>" % (code, esc(message), rid))
        elif self.service == "s3":
            body = "<Error><Code>%s</Code><Message>%s</Message><RequestId>%s</RequestId></Error>" % (
                code, esc(message), rid)
        else:  # query and rest-xml (iam, route53)
            ns = ' xmlns="https://route53.amazonaws.com/doc/2013-04-01/"' if self.service == "route53" else ""
            body = ("<ErrorResponse%s><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>"
                    "<RequestId>%s</RequestId></ErrorResponse>" % (ns, code, esc(message), rid))
        return Response(status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", rid)],
                        ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode())


def _cbor_text_map(d):
    """CBOR (RFC 8949) for a map of text strings: all an error answer needs, so no CBOR library."""
    def head(major, n):
        if n < 24:
            return bytes([major << 5 | n])
        if n < 256:
            return bytes([major << 5 | 24, n])
        return bytes([major << 5 | 25]) + n.to_bytes(2, "big")

    def text(t):
        b = t.encode()
        return head(3, len(b)) + b
    return head(5, len(d)) + b"".join(text(k) + text(v) for k, v in d.items())


class Models:
    """botocore's service models: each service's protocol, and for REST services the operation a
    method and path are (the model's requestUri templates, the most specific match winning)."""

    def __init__(self):
        self.session = None
        self.rest = {}
        self.protocols = {}
        self.lock = threading.Lock()

    def _model(self, service):
        import botocore.session
        if self.session is None:
            self.session = botocore.session.get_session()
        try:
            return self.session.get_service_model(service)
        except Exception:
            return None

    def protocol(self, service):
        with self.lock:
            if service not in self.protocols:
                m = self._model(service)
                self.protocols[service] = m.metadata.get("protocol") if m else None
            return self.protocols[service]

    def _routes(self, service):
        if service in self.rest:
            return self.rest[service]
        routes = []
        m = self._model(service)
        for name in (m.operation_names if m else []):
            opm = m.operation_model(name)
            http_ = opm.http
            path, _, q = http_.get("requestUri", "/").partition("?")
            # URI labels are the members' locationNames (apiId); path_params uses member names (ApiId).
            # Required header members tell apart operations on one path (PutObject, CopyObject).
            members = opm.input_shape.members if opm.input_shape else {}
            label = {s.serialization.get("name", k): k for k, s in members.items()
                     if s.serialization.get("location") == "uri"}
            headers = [members[k].serialization.get("name", k).lower() for k in
                       (opm.input_shape.required_members if opm.input_shape else [])
                       if members[k].serialization.get("location") == "header"]
            rx, literal, names = "", 0, []
            for part in re.split(r"(\{[^}]+\})", path):
                if part.startswith("{"):
                    key = part[1:-1]
                    greedy = key.endswith("+")
                    key = key.rstrip("+")
                    group = "p%d" % len(names)
                    names.append(label.get(key, key))
                    rx += "(?P<%s>%s)" % (group, ".+" if greedy else "[^/]+")
                else:
                    rx += re.escape(part)
                    literal += len(part)
            rx = "^" + rx.rstrip("/") + "/?$"
            need = [kv.split("=", 1) for kv in q.split("&") if kv]
            need = [(kv[0], kv[1] if len(kv) > 1 and "{" not in kv[1] else None) for kv in need]
            routes.append((len(need) + len(headers), literal, name, http_.get("method", "GET"), re.compile(rx),
                           names, need, headers))
        routes.sort(key=lambda r: (-r[0], -r[1]))
        self.rest[service] = routes
        return routes

    def match(self, service, method, path, query, headers):
        with self.lock:
            routes = self._routes(service)
        have = {k.lower() for k in headers}
        for _, _, name, meth, rx, names, need, need_headers in routes:
            if meth != method or any(h not in have for h in need_headers):
                continue
            m = rx.match(path)
            if not m:
                continue
            if any(k not in query or (v is not None and query[k][0] != v) for k, v in need):
                continue
            return name, {n: urllib.parse.unquote(m.group("p%d" % i)) for i, n in enumerate(names)}
        return None


MODELS = Models()


class Layer:
    def __init__(self, moto_url, log_path):
        self.moto_url = moto_url
        u = urllib.parse.urlsplit(moto_url)
        self.moto_host, self.moto_port = u.hostname, u.port
        self.log = open(log_path, "a", buffering=1) if log_path else None
        self.log_lock = threading.Lock()
        self.on = {}  # name -> Behaviour instance, in the order switched on
        self.local = threading.local()
        self._clients = {}

    def switch_on(self, name, params):
        if name not in BEHAVIOURS:
            raise KeyError("no behaviour %r (have: %s)" % (name, ", ".join(sorted(BEHAVIOURS))))
        self.on[name] = BEHAVIOURS[name](self, params)

    def moto(self, service, region="us-east-1"):
        """A boto3 client straight to moto (not through the layer, not logged)."""
        key = (service, region)
        if key not in self._clients:
            import boto3
            self._clients[key] = boto3.client(service, endpoint_url=self.moto_url, region_name=region,
                                              aws_access_key_id="x", aws_secret_access_key="x")
        return self._clients[key]

    def forward(self, call):
        conn = getattr(self.local, "conn", None)
        if conn is None:
            conn = self.local.conn = http.client.HTTPConnection(self.moto_host, self.moto_port, timeout=120)
        headers = {k: v for k, v in call.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length",
                                        "proxy-connection", "expect")}
        headers["Content-Length"] = str(len(call.body))
        for attempt in (1, 2):
            try:
                conn.request(call.method, call.raw_path, body=call.body, headers=headers)
                r = conn.getresponse()
                body = r.read()
                return Response(r.status, r.getheaders(), body)
            except (http.client.HTTPException, OSError):
                conn.close()
                if attempt == 2:
                    raise
                conn = self.local.conn = http.client.HTTPConnection(self.moto_host, self.moto_port, timeout=120)

    def forward_get(self, call, path):
        """GET PATH from moto with CALL's headers (its signature names the service)."""
        class Get:
            method, raw_path, body = "GET", path, b""
        g = Get()
        g.headers = {k: v for k, v in call.headers.items() if k.lower() not in ("content-type", "content-md5")}
        return self.forward(g)

    def handle(self, call):
        resp = None
        for b in list(self.on.values()):
            resp = b.before(call)
            if resp is not None:
                resp.by = b.name
                break
        if resp is None:
            resp = self.forward(call)
            for b in list(self.on.values()):
                out = b.after(call, resp)
                if out is not None and out is not resp:
                    out.by = b.name
                    resp = out
        if self.log:
            entry = {"t": round(time.time(), 3), "service": call.service, "operation": call.op,
                     "region": call.region, "write": call.write, "status": resp.status}
            if resp.by:
                entry["by"] = resp.by
            entry.update(call.log_extra)  # what a behaviour adds: "params", "violation"
            with self.log_lock:
                self.log.write(json.dumps(entry) + "\n")
        return resp


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    layer = None

    def log_message(self, *args):
        pass

    def _body(self):
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            out = b""
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline().strip():
                        pass
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _reply(self, resp, head=False):
        self.send_response(resp.status)
        length = None
        for k, v in resp.headers:
            lk = k.lower()
            if lk in ("connection", "keep-alive", "transfer-encoding", "server", "date"):
                continue
            if lk == "content-length":
                length = v
                continue
            self.send_header(k, v)
        self.send_header("Content-Length", length if head and length is not None else str(len(resp.body)))
        self.end_headers()
        if not head:
            self.wfile.write(resp.body)

    def _control(self, body):
        if self.command == "POST":
            req = json.loads(body or b"{}")
            for name in req.get("off", []):
                self.layer.on.pop(name, None)
            for name, params in (req.get("on") or {}).items():
                try:
                    if name in self.layer.on:  # already on: new parameters, its state kept
                        self.layer.on[name].p.update(params or {})
                    else:
                        self.layer.switch_on(name, params or {})
                except KeyError as e:
                    return self._reply(Response(400, [("Content-Type", "text/plain")], str(e).encode()))
        state = {n: b.p for n, b in self.layer.on.items()}
        self._reply(Response(200, [("Content-Type", "application/json")],
                             json.dumps({"on": state, "known": sorted(BEHAVIOURS)}).encode()))

    def _any(self):
        body = self._body()
        if self.path.startswith("/_realism/"):
            return self._control(body)
        headers = {k: v for k, v in self.headers.items()}
        try:
            call = Call(self.command, self.path, headers, body)
            call.raw_path = self.path
            resp = self.layer.handle(call)
        except Exception as e:  # the layer's own bug: say so loudly, as a 599 the test will see
            import traceback
            traceback.print_exc()
            resp = Response(599, [("Content-Type", "text/plain")], ("realism: %r" % e).encode())
        self._reply(resp, head=self.command == "HEAD")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any


def load_plugins():
    """Every tests/deploy/realism_*.py: each registers its behaviours with @behaviour."""
    for path in sorted(glob.glob(os.path.join(HERE, "realism_*.py"))):
        name = os.path.splitext(os.path.basename(path))[0]
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)


def parse_on(spec):
    """NAME[:k=v,k=v] -> (name, {k: number or str})."""
    name, _, rest = spec.partition(":")
    params = {}
    for kv in filter(None, rest.split(",")):
        k, _, v = kv.partition("=")
        try:
            params[k] = float(v) if "." in v else int(v)
        except ValueError:
            params[k] = v
    return name, params


def main():
    sys.modules.setdefault("realism", sys.modules[__name__])
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--moto", required=True)
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--log")
    ap.add_argument("--on", action="append", default=[])
    args = ap.parse_args()
    load_plugins()
    layer = Layer(args.moto, args.log)
    for spec in args.on:
        for one in spec.split(" "):
            if not one:
                continue
            name, params = parse_on(one)
            if name in PROFILES:
                specs = [parse_on(x) for x in PROFILES[name]]
            elif name == "all":
                specs = [(n, {}) for n in sorted(BEHAVIOURS)]
            else:
                specs = [(name, params)]
            for n, p in specs:
                try:
                    layer.switch_on(n, p)
                except KeyError as e:
                    sys.exit("realism: %s" % e.args[0])
    Handler.layer = layer
    server = http.server.ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
