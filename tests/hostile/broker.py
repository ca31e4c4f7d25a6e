"""The hostile suite's fake broker: asyncio, one `Conn` per client
connection, the client's packets parsed and logged with their times. The
packets themselves (built by hand, so that they can be wrong on purpose)
are tests/lib/mqttwire.py, shared with the threaded fake broker of the
other suites (tests/lib/fakebroker.py).

Python standard library only; everything listens on 127.0.0.1.

A scenario (scenarios.py) drives each connection: `await conn.accept()`
answers CONNECT with CONNACK and SUBSCRIBE with SUBACK like a good broker,
then the scenario sends whatever bytes it wants. Every packet the client
sends is kept with its time (`conn.log`), PINGREQ is answered (unless
`conn.pingresp` is False), and `conn.wait_closed()` tells when the client
closed the connection.

Run alone, it serves one scenario so that a client can be tried by hand:

    python3 tests/hostile/broker.py rl-5-bytes -V 5
    # prints the port; then, in another shell:
    mqttas_client -m sub -t 'hostile/#' -q 2 -n 0 -V 5 -p PORT -v
"""

import asyncio
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))

# The packets, built and parsed by hand: shared with the other fake brokers.
from mqttwire import (  # noqa: E402,F401 (the scenarios use them as B.*)
    CONNECT, PINGREQ, PINGRESP_BYTES, PUBACK, PUBCOMP, PUBREC, PUBREL, SUBACK, SUBSCRIBE,
    UNSUBACK, Packet, ack, connack, disconnect, publish, suback, unsuback,
)


# ---- one client connection ---------------------------------------------

class Conn:
    """A client connection at the fake broker."""

    def __init__(self, reader, writer, index, on_packet=None):
        self.reader = reader
        self.writer = writer
        self.index = index
        self.t_open = time.monotonic()
        self.t_closed = None  # The client closed (EOF or reset).
        self.closed_by_broker = False
        self.t_broker_closed = None
        self.log = []  # Every packet from the client, in order.
        self.connect = None  # The CONNECT packet.
        self.v5 = False
        self.pingresp = True  # Answer PINGREQ.
        self.next_pid = 1
        self.served = asyncio.Event()  # The scenario is done with it.
        self._slow = False  # send_slowly() under way.
        self._pingresp_due = False
        self._queue = asyncio.Queue()
        self._closed = asyncio.Event()
        self._on_packet = on_packet
        self._task = asyncio.ensure_future(self._read())

    async def _read(self):
        r = self.reader
        try:
            while True:
                first = (await r.readexactly(1))[0]
                n = shift = 0
                for _ in range(4):
                    c = (await r.readexactly(1))[0]
                    n |= (c & 0x7F) << shift
                    shift += 7
                    if not c & 0x80:
                        break
                body = await r.readexactly(n) if n else b""
                p = Packet(first, body, time.monotonic(), self.v5)
                if p.kind == CONNECT and self.connect is None and not p.error:
                    self.connect = p
                    self.v5 = p.version == 5
                self.log.append(p)
                if p.kind == PINGREQ and self.pingresp:
                    if self._slow:  # Not in the middle of a packet.
                        self._pingresp_due = True
                    else:
                        self.send_now(PINGRESP_BYTES)
                if self._on_packet:
                    self._on_packet(self, p)
                self._queue.put_nowait(p)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            return
        self.t_closed = time.monotonic()
        self._closed.set()
        self._queue.put_nowait(None)

    @property
    def closed(self):
        return self._closed.is_set()

    def send_now(self, data):
        if not self.writer.is_closing():
            self.writer.write(data)

    async def send(self, data):
        """Write and drain; False when the client has gone."""
        try:
            self.send_now(data)
            await self.writer.drain()
            return True
        except (ConnectionError, OSError):
            return False

    async def send_slowly(self, data, chunk, delay):
        """`data` in pieces of `chunk` bytes, `delay` seconds apart. A
        PINGRESP due meanwhile goes after the last piece, not inside a
        packet."""
        self._slow = True
        try:
            for i in range(0, len(data), chunk):
                if self.closed or not await self.send(data[i:i + chunk]):
                    return False
                await asyncio.sleep(delay)
            return True
        finally:
            self._slow = False
            if self._pingresp_due:
                self._pingresp_due = False
                self.send_now(PINGRESP_BYTES)

    async def expect(self, name, timeout=10.0, pred=None):
        """The next packet of this type (others are skipped; they stay in
        the log), or None when the client closed or the time ran out."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                p = await asyncio.wait_for(self._queue.get(), left)
            except asyncio.TimeoutError:
                return None
            if p is None:
                self._queue.put_nowait(None)  # Closed: stays closed.
                return None
            if p.name == name and (pred is None or pred(p)):
                return p

    async def accept(self, connack_bytes=None, suback_codes=None, subscribe=True, timeout=15.0):
        """Be a good broker: CONNECT -> CONNACK (accepted), then SUBSCRIBE
        -> SUBACK granting what was asked. False when the client did not
        get that far."""
        c = await self.expect("CONNECT", timeout)
        if c is None:
            return False
        if not await self.send(connack_bytes or connack(self.v5)):
            return False
        if not subscribe:
            return True
        s = await self.expect("SUBSCRIBE", timeout)
        if s is None:
            return False
        codes = suback_codes if suback_codes is not None else [min(o & 3, 2) for _, o in s.filters]
        return await self.send(suback(self.v5, s.pid, codes))

    def pid(self):
        p = self.next_pid
        self.next_pid += 1
        return p

    async def wait_closed(self, timeout):
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    @property
    def t_end(self):
        """When the connection ended, whichever side closed it first."""
        ends = [t for t in (self.t_closed, self.t_broker_closed) if t is not None]
        return min(ends) if ends else None

    def close(self):
        """The broker closes the connection."""
        self.closed_by_broker = True
        self.t_broker_closed = self.t_broker_closed or time.monotonic()
        try:
            self.writer.close()
        except (ConnectionError, OSError):
            pass

    def abort(self):
        """Stop reading and close (end of a run)."""
        self._task.cancel()
        if not self.closed:
            self.t_closed = self.t_closed or time.monotonic()
        try:
            self.writer.transport.abort()
        except (ConnectionError, OSError, AttributeError):
            pass

    def packets(self, name=None, after=None):
        return [p for p in self.log
                if (name is None or p.name == name) and (after is None or p.t >= after)]


class Server:
    """A listener on 127.0.0.1, a free port: each accepted connection
    becomes a Conn handed to `handler(conn)`."""

    def __init__(self, handler, on_packet=None):
        self.handler = handler
        self.on_packet = on_packet
        self.conns = []
        self.port = None
        self._server = None
        self._new = asyncio.Event()

    async def start(self):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader, writer):
        conn = Conn(reader, writer, len(self.conns), self.on_packet)
        self.conns.append(conn)
        self._new.set()
        try:
            await self.handler(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.served.set()

    async def stop(self):
        if self._server:
            self._server.close()
        for c in self.conns:
            c.abort()


def _main():
    import argparse

    import scenarios

    ap = argparse.ArgumentParser(description="Serve one hostile scenario on 127.0.0.1.")
    ap.add_argument("scenario", help="a name from tests/hostile/scenarios.py (--list for all)")
    ap.add_argument("-V", "--version", type=int, default=4, choices=(4, 5))
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for s in scenarios.SCENARIOS:
            print("%-32s %s" % (s.name, s.doc))
        return
    scn = scenarios.by_name(a.scenario)

    async def serve():
        ctx = scenarios.Standalone(a.version)

        async def handler(conn):
            await scn.serve(ctx, conn)
            await conn.wait_closed(3600)

        srv = await Server(handler, ctx.on_packet).start()
        print(srv.port, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _main()
