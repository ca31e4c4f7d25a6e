"""mqtt_as follows the core's outage policy (_mqttas.Reconnect): after an
outage the link is held down for hold_down, reconnection tries TCP first
with backoff, and after tcp_attempts failures in a row the link itself is
bounced (down, hold_down, up). A real mosquitto stops and starts; the link
is the host socket link with its down()/up() calls recorded."""

import asyncio
import time

import pytest

from conftest import client_id, make_cfg, run
from fakebroker import FakeBroker, accept_connect, read_packet
from mqtt_as import MQTTClient, config
from mqtt_as.links.socket import SocketLink


class RecordingLink(SocketLink):
    def __init__(self):
        self.calls = []
        self.t0 = time.monotonic()

    async def up(self, quick=False):
        self.calls.append(("up", time.monotonic() - self.t0))

    async def down(self):
        self.calls.append(("down", time.monotonic() - self.t0))


def test_hold_down_then_backoff_then_link_bounce(broker):
    link = RecordingLink()
    cfg = make_cfg(broker, link=link, hold_down=0.3, tcp_attempts=2, backoff_base=0.1,
                   backoff_cap=0.2, jitter=0, response_time=1, keepalive=2)

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        assert c.isconnected()
        del link.calls[:]
        broker.stop()
        t_stop = time.monotonic() - link.t0
        # Outage, hold-down 0.3 s, attempt 1 fails, backoff 0.2 s (the cap:
        # the connection, shorter than the 2 s keepalive, was a failure
        # too), attempt 2 fails, bounce (down, hold 0.3 s, up), attempt 3
        # fails, backoff 0.2 s, attempt 4 fails, bounce again...
        for _ in range(300):
            if [k for k, _ in link.calls].count("down") >= 3:
                break
            await asyncio.sleep(0.01)
        assert not c.isconnected()
        broker.start()
        for _ in range(500):
            if c.isconnected():
                break
            await asyncio.sleep(0.01)
        assert c.isconnected(), "reconnected after the broker came back"
        outages, attempts, failures, bounces, planned = c._core.policy.stats()[:5]
        await c.disconnect()
        return t_stop, outages, attempts, failures, bounces, planned

    t_stop, outages, attempts, failures, bounces, planned = run(main())
    kinds = [k for k, _ in link.calls]
    # The first down is the hold-down, the others bounces; each bounce's
    # down is followed by an up before the next attempt.
    assert kinds[:3] == ["down", "up", "down"], link.calls
    assert kinds.count("down") >= 3 and kinds.count("up") >= 2
    first_down, first_up = link.calls[0][1], link.calls[1][1]
    assert first_up - first_down >= 0.29, link.calls  # held down
    # Up after the hold-down, attempt 1, backoff 0.2 s, attempt 2, bounce.
    second_down = link.calls[2][1]
    assert second_down - first_up >= 0.09, link.calls
    assert outages == 1 and planned == 0
    assert bounces == kinds.count("down") - 1 >= 2
    assert failures >= 2 * bounces and attempts == failures + 1


class SlowOpenLink(SocketLink):
    """The host socket link whose reconnections take a while to open (a
    slow TCP or TLS handshake)."""

    def __init__(self):
        self.opens = 0
        self.opening = asyncio.Event()

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        self.opens += 1
        if self.opens > 1:
            self.opening.set()
            await asyncio.sleep(0.3)
        return await SocketLink.open(self, addr, ssl, ssl_params, timeout_ms)


@pytest.mark.parametrize("during", ["open", "connack"])
def test_close_during_a_reconnection_stays_closed(during):
    # The first connection ends after 0.2 s; close() comes while the
    # reconnection opens its stream, or waits for a CONNACK the broker
    # sends late. Either way the client stays closed and its tasks end.
    def handler(sock, index):
        if index == 0:
            if accept_connect(sock):
                time.sleep(0.2)
            return
        if during == "connack":
            read_packet(sock)
            b.stopping.wait(0.5)
            sock.sendall(b"\x20\x02\x00\x00")
        elif not accept_connect(sock):
            return
        b.stopping.wait()

    b = FakeBroker(handler)
    link = SlowOpenLink()
    cfg = dict(config, server="127.0.0.1", port=b.port, client_id=client_id("close"), link=link,
               hold_down=0.05, jitter=0)

    async def main():
        before = asyncio.all_tasks()
        c = MQTTClient(cfg)
        await c.connect()
        if during == "open":
            await asyncio.wait_for(link.opening.wait(), 10)
        else:
            while b.connections < 2:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.1)
        c.close()
        await asyncio.sleep(1.0)
        others = asyncio.all_tasks() - before
        return c.isconnected(), others

    try:
        connected, others = run(main())
    finally:
        b.stop()
    assert not connected and not others, (connected, others)
    assert b.connections <= 2, b.connections  # No attempt after close().
