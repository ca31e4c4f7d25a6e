"""Writes that stall: a fake broker that stops reading after CONNACK
(a small receive buffer, so that a large publication fills the path and
the client's writer waits in drain()). Issue 12, defects 9, 10 and 11:
the core's timers go on while a write waits, and a write that makes no
progress for response_time ends the connection; the reader waits for the
writer when the core's transmit buffer is full, rather than dropping the
link as stuck; nothing is written after a write cut short."""

import asyncio
import threading
import time

from conftest import client_id, run
from fakebroker import FakeBroker, accept_connect, read_packet
from mqttwire import publish
from mqtt_as import MQTTClient, config
from mqtt_as.links.socket import SocketLink

BIG = 3 << 20  # More than the kernel's buffers of a connection that is not read.


def cfg_for(broker, **kw):
    c = dict(config, server="127.0.0.1", port=broker.port, client_id=client_id("stall"), response_time=2,
             hold_down=30)
    c.update(kw)
    return c


def logging(client):
    # The client's debug lines, kept.
    lines = []
    client.dprint = lambda msg, *args: lines.append(msg % args)
    return lines


def test_a_stalled_write_ends_the_connection_within_response_time():
    def silent(sock, index):
        if accept_connect(sock):
            b.stopping.wait()

    b = FakeBroker(silent, rcvbuf=4096)
    lost = []

    async def wifi_han(up):
        if not up:
            lost.append(time.monotonic())

    client = MQTTClient(cfg_for(b, tx_size=BIG + 64, wifi_coro=wifi_han))
    lines = logging(client)

    async def main():
        await client.connect()
        t0 = time.monotonic()
        await client.publish("big", bytes(BIG), qos=0)
        while not lost and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.05)
        client.close()
        return t0

    try:
        t0 = run(main(), 40)
    finally:
        b.stop()
    assert lost, "the connection was not given up in 20 s: %s" % (lines,)
    # response_time is 2 s: lost after 2 s without progress, plus a margin
    # for a loaded machine.
    assert lost[0] - t0 < 2 + 3, (lost[0] - t0, lines)
    assert any("no progress" in l for l in lines), lines


def test_a_full_transmit_buffer_waits_for_the_writer():
    # The client's writer waits in drain() (a large publication the broker
    # does not read yet) while QoS 1 messages come in: their PUBACKs fill
    # the 64-byte transmit buffer, so the core takes no more received
    # bytes until the writer has sent. Then the broker reads again.
    n = 60
    stalled = threading.Event()
    seen = {"pubacks": 0, "big": 0}

    def slow_reader(sock, index):
        if not accept_connect(sock):
            return
        stalled.wait(10)
        for i in range(n):
            sock.sendall(publish(False, "in/t", b"m%03d" % i, qos=1, pid=i + 1))
        time.sleep(1.0)
        while seen["pubacks"] < n or not seen["big"]:
            p = read_packet(sock)
            if p is None:
                return
            kind = p[0] >> 4
            if kind == 4:
                seen["pubacks"] += 1
            elif kind == 3 and p[0] & 6:  # The client's QoS 1 publication.
                t = int.from_bytes(p[1][:2], "big")
                sock.sendall(b"\x40\x02" + p[1][2 + t:4 + t])
                seen["big"] += 1
        b.stopping.wait()

    b = FakeBroker(slow_reader, rcvbuf=4096)
    got = []
    client = MQTTClient(cfg_for(b, response_time=5, rx_size=64, tx_size=64, store_size=BIG + 1024,
                                subs_cb=lambda t, m, r: got.append(m)))
    lines = logging(client)

    async def main():
        await client.connect()
        big = asyncio.create_task(client.publish("big", bytes(BIG), qos=1))
        await asyncio.sleep(0.3)  # The writer is in drain() by now.
        stalled.set()
        t0 = time.monotonic()
        while (len(got) < n or not big.done()) and time.monotonic() - t0 < 20:
            await asyncio.sleep(0.05)
        big.cancel()
        await client.disconnect()

    try:
        run(main(), 60)
    finally:
        b.stop()
    assert not [l for l in lines if "lost" in l], lines
    assert b.connections == 1, (b.connections, lines)
    assert got == [b"m%03d" % i for i in range(n)], (len(got), lines)
    assert seen == {"pubacks": n, "big": 1}, seen


class CutLink(SocketLink):
    """The host socket link, its streams recording whether anything is
    written after a drain was cut short (cancelled)."""

    def __init__(self):
        self.writes_after_cut = []

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        return CutStream(await SocketLink.open(self, addr, ssl, ssl_params, timeout_ms), self)


class CutStream:
    def __init__(self, inner, link):
        self._inner = inner
        self._link = link
        self.cut = False

    async def read(self, n):
        return await self._inner.read(n)

    def write(self, data):
        if self.cut:
            self._link.writes_after_cut.append(bytes(data[:8]))
        self._inner.write(data)

    async def drain(self):
        try:
            await self._inner.drain()
        except asyncio.CancelledError:
            self.cut = True
            raise

    def close(self):
        self._inner.close()


def test_nothing_is_written_after_a_write_cut_short():
    # While the client's writer waits in drain(), the broker sends a
    # malformed packet: the core ends the connection and queues a
    # DISCONNECT (0x81). The packet half sent cannot be followed by
    # anything: the stream is closed at once, the DISCONNECT not sent.
    stalled = threading.Event()

    def malformed(sock, index):
        if accept_connect(sock, v5=True) and stalled.wait(10):
            sock.sendall(b"\x00\x00")  # Packet type 0: reserved.
        b.stopping.wait()

    b = FakeBroker(malformed, rcvbuf=4096)
    link = CutLink()
    lost = []

    async def wifi_han(up):
        if not up:
            lost.append(1)

    client = MQTTClient(cfg_for(b, mqttv5=True, link=link, response_time=10, tx_size=BIG + 64, wifi_coro=wifi_han))
    lines = logging(client)

    async def main():
        await client.connect()
        await client.publish("big", bytes(BIG), qos=0)
        await asyncio.sleep(0.3)
        stalled.set()
        t0 = time.monotonic()
        while not lost and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # A graceful close would write now.
        client.close()

    try:
        run(main(), 40)
    finally:
        b.stop()
    assert lost, lines
    assert any("0x81" in l or "malformed" in l or "protocol" in l for l in lines), lines
    assert link.writes_after_cut == [], link.writes_after_cut


def test_a_graceful_close_whose_drain_stalls_ends_within_its_bound():
    # Issue 14, point 6: when the core ends a connection itself (here a
    # second CONNACK, a protocol error: DISCONNECT 0x82 queued), its last
    # word is sent by a graceful close, which must end even when the stream
    # never takes it: its drain was once awaited without a bound, a task
    # left hanging for good.
    from fakebroker import RawBroker
    from mqttwire import connack

    def script(conn):
        conn.handshake()
        conn.expect(8)  # SUBSCRIBE: connected for sure.
        conn.send(connack(True))  # A second CONNACK.
        while True:
            conn.read()

    b = RawBroker(script).start()
    cut = []

    class Stalling:
        def __init__(self, s):
            self._s = s
            self._disc = False

        def __getattr__(self, name):
            return getattr(self._s, name)

        def write(self, data):
            self._disc = self._disc or data[0] >> 4 == 14
            self._s.write(data)

        async def drain(self):
            if self._disc:  # The DISCONNECT never leaves.
                try:
                    await asyncio.sleep(3600)
                except asyncio.CancelledError:
                    cut.append(time.monotonic())
                    raise
            await self._s.drain()

    class Link(SocketLink):
        async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
            return Stalling(await SocketLink.open(self, addr, ssl, ssl_params, timeout_ms))

    client = MQTTClient(cfg_for(b, mqttv5=True, link=Link()))

    async def main():
        await client.connect()
        asyncio.create_task(client.subscribe("a", 1))
        t0 = time.monotonic()
        while not cut and time.monotonic() - t0 < 10:
            await asyncio.sleep(0.02)
        was_cut = bool(cut)  # (Before the loop's end cancels what is left.)
        client.close()
        return was_cut

    try:
        was_cut = run(main())
    finally:
        b.stop()
    assert was_cut, "the graceful close's drain of the DISCONNECT was never cut short"
