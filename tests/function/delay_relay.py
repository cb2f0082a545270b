#!/usr/bin/env python3
"""A TCP relay that adds latency: requests pass at once, answers are held back DELAY_MS (a network's
round trip, not a bandwidth: bytes keep their order and spacing). Used by test_s3.py (a warm request's
two conditional GETs must overlap) and bench/function/run.sh (round trips per warm request).

As a program: delay_relay.py [HOST:]TARGET_PORT DELAY_MS [LISTEN_PORT] prints the port it listens on
(127.0.0.1; LISTEN_PORT, else a free one), then relays to HOST (default 127.0.0.1):TARGET_PORT until killed.
The world's failover case (tests/e2e/world.sh) puts one on an edge's link to another region.
"""
import asyncio
import sys
import threading


class DelayRelay:
    """Relays 127.0.0.1:port to 127.0.0.1:target, answers held back `delay` seconds after they arrived.
    `hang = True` holds answers back until it is False again; `target` may change (new connections);
    `connections` counts accepted ones. Runs its own event loop in a daemon thread."""

    def __init__(self, target, delay, host="127.0.0.1", listen_port=0):
        self.target, self.delay, self.hang = target, delay, False
        self.host, self.listen_port = host, listen_port
        self.connections = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._run, args=(ready,), daemon=True)
        self.thread.start()
        if not ready.wait(10):
            raise RuntimeError("delay relay did not start")

    def _run(self, ready):
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", self.listen_port))
        self.port = server.sockets[0].getsockname()[1]
        ready.set()
        self.loop.run_forever()

    async def _serve(self, creader, cwriter):
        self.connections += 1
        try:
            ureader, uwriter = await asyncio.open_connection(self.host, self.target)
        except OSError:
            cwriter.close()
            return
        held = asyncio.Queue()

        async def requests():
            while data := await creader.read(65536):
                uwriter.write(data)
                await uwriter.drain()
            uwriter.close()

        async def answers_in():
            while True:
                data = await ureader.read(65536)
                await held.put((self.loop.time() + self.delay, data))
                if not data:
                    return

        async def answers_out():
            while True:
                due, data = await held.get()
                await asyncio.sleep(max(0.0, due - self.loop.time()))
                while self.hang:
                    await asyncio.sleep(0.02)
                if not data:
                    cwriter.close()
                    return
                cwriter.write(data)
                await cwriter.drain()

        await asyncio.gather(requests(), answers_in(), answers_out(), return_exceptions=True)
        cwriter.close()
        uwriter.close()

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def main(argv):
    if len(argv) not in (3, 4):
        print("usage: delay_relay.py [HOST:]TARGET_PORT DELAY_MS [LISTEN_PORT]", file=sys.stderr)
        return 2
    host, _, port = argv[1].rpartition(":")
    relay = DelayRelay(int(port), int(argv[2]) / 1000.0, host or "127.0.0.1", int(argv[3]) if len(argv) == 4 else 0)
    print(relay.port, flush=True)
    relay.thread.join()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
