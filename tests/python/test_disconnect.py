"""disconnect() is not an outage: no wifi_coro(False), no client.down, no
reconnection, also when the broker closes the connection before
disconnect() returns (mosquitto closes as soon as it has read our
DISCONNECT; the reader then sees end of file while disconnect() still
waits for its write to end). Found by tests/interop (test_clean_disconnect,
1 to 3 runs in 6 on a loaded machine); here the order is forced: the
stream's drain of the DISCONNECT returns only once the reader has seen
the broker close."""

import asyncio

import pytest

from conftest import make_cfg, run
from mqtt_as import MQTTClient
from mqtt_as.links.socket import SocketLink

WAIT = 10  # s: the broker's close of a connection after its DISCONNECT.


class CloseFirstStream:
    """A stream whose drain of a DISCONNECT (packet type 14) returns once
    read() has returned end of file: the broker closed first."""

    def __init__(self, stream, seen):
        self._s = stream
        self._seen = seen
        self._disc = False
        self._eof = asyncio.Event()

    async def read(self, n):
        data = await self._s.read(n)
        if not data:
            self._eof.set()
        return data

    def write(self, data):
        if data[0] >> 4 == 14:
            self._disc = True
        self._s.write(data)

    async def drain(self):
        await self._s.drain()
        if self._disc:
            try:
                await asyncio.wait_for(self._eof.wait(), WAIT)
                self._seen.append("eof before the drain ended")
            except asyncio.TimeoutError:
                self._seen.append("no eof")

    def buffered(self):
        return self._s.buffered()

    def write_eof(self):
        self._s.write_eof()

    def abort(self):
        self._s.abort()

    def close(self):
        self._s.close()


class CloseFirstLink(SocketLink):
    def __init__(self):
        self.seen = []

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        return CloseFirstStream(await SocketLink.open(self, addr, ssl, ssl_params, timeout_ms), self.seen)


async def settle():
    # What disconnect() spawned (a wifi_coro(False), _keep_connected) runs
    # in the next turns of the loop.
    for _ in range(10):
        await asyncio.sleep(0)


@pytest.mark.parametrize("v5", [False, True], ids=["v311", "v5"])
def test_disconnect_is_no_outage_when_the_broker_closes_first(broker, v5):
    link = CloseFirstLink()
    states = []

    async def wifi_han(up):
        states.append(up)

    cfg = make_cfg(broker, link=link, wifi_coro=wifi_han, mqttv5=v5)

    async def main():
        c = MQTTClient(cfg)
        for _ in range(3):
            await c.connect()
            await c.subscribe("d/t", 1)
            await c.disconnect()
            await settle()
            assert not c._keeping, "disconnect() left _keep_connected running"
        return c

    c = run(main())
    assert link.seen == ["eof before the drain ended"] * 3, link.seen
    assert states == [True] * 3, "wifi_coro calls %r: a False is an outage reported after disconnect()" % (states,)
    assert not c.isconnected()


def test_disconnect_sets_no_down_event_when_the_broker_closes_first(broker):
    link = CloseFirstLink()
    cfg = make_cfg(broker, link=link, queue_len=4)

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        await c.publish("d/t", "x", qos=1)
        await c.disconnect()
        await settle()
        return c

    c = run(main())
    assert link.seen == ["eof before the drain ended"], link.seen
    assert not c.down.is_set(), "client.down set by disconnect()"
    assert not c._keeping, "disconnect() left _keep_connected running"


class Recording:
    """A stream that records whether it was closed."""

    def __init__(self, stream):
        self._s = stream
        self.closed = False

    def __getattr__(self, name):
        return getattr(self._s, name)

    def close(self):
        self.closed = True
        self._s.close()


class RecordingLink(SocketLink):
    def __init__(self):
        self.streams = []

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        s = Recording(await SocketLink.open(self, addr, ssl, ssl_params, timeout_ms))
        self.streams.append(s)
        return s


def test_close_closes_the_stream_before_it_returns(broker):
    # Issue 14, point 6: close() is synchronous, and the loop may end right
    # after it; a graceful close left to a task (here of the DISCONNECT a
    # disconnect() under way has queued) may then never run, leaving the
    # connection open.
    link = RecordingLink()

    async def main():
        c = MQTTClient(make_cfg(broker, link=link))
        await c.connect()
        t = asyncio.create_task(c.disconnect())
        await asyncio.sleep(0)  # disconnect() has queued DISCONNECT and waits.
        c.close()
        closed = link.streams[-1].closed
        await t
        return closed

    assert run(main()), "close() returned with the connection's stream still open"
