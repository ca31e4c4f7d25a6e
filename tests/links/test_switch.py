"""Link switching on the host, against a real mosquitto: the network under a
link (a conftest.Cable: a TCP relay the test unplugs and plugs back) goes
away while QoS 1 and 2 messages are being published, and the client must
see the outage, hold the link down, bring it up again (or another one:
links/failover.py) and reconnect, with no QoS 1 message lost and every
QoS 2 message delivered exactly once (a mosquitto_sub on the broker
itself counts them)."""

import asyncio
import time

import pytest

from conftest import Sub, make_cfg, run, wait_until
from mqtt_as import MQTTClient
from mqtt_as.links.failover import FailoverLink
from mqtt_as.links.socket import SocketLink

pytestmark = pytest.mark.timeout(120)


class CableLink(SocketLink):
    """A host link whose interface is a Cable: isconnected() while it is
    plugged (when `knows`; else, like a link that cannot tell, always),
    up() fails while it is not. Its calls are recorded with their times."""

    def __init__(self, cable, name="link", knows=True):
        self.cable = cable
        self.name = name
        self.knows = knows
        self.poll_ms = 100 if knows else None
        self.calls = []

    def isconnected(self):
        return self.cable.plugged or not self.knows

    async def up(self, quick=False):
        ok = self.cable.plugged
        self.calls.append(("up" if ok else "up failed", time.monotonic()))
        if not ok:
            raise OSError(-1, "%s: no carrier" % self.name)

    async def down(self):
        self.calls.append(("down", time.monotonic()))

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        return await SocketLink.open(self, ("127.0.0.1", self.cable.port), ssl, ssl_params, timeout_ms)

    def kinds(self):
        return [k for k, _ in self.calls]


FAST = dict(hold_down=0.5, keepalive=4, response_time=1, backoff_base=0.1, backoff_cap=0.4, jitter=0,
            tcp_attempts=2, clean_init=True, clean=False)


async def publish_many(client, n, period, topic, at=None):
    """Start n publications, one every `period` s, QoS 1 and 2 in turn, each
    in its own task (so that many wait in the store during an outage);
    at[i](): called just before publication i. Returns when all are
    acknowledged."""
    tasks = []
    for i in range(n):
        if at and i in at:
            at[i]()
        tasks.append(asyncio.create_task(client.publish("%s/%d" % (topic, i % 2 + 1), "m%d" % i, qos=i % 2 + 1)))
        await asyncio.sleep(period)
    await asyncio.gather(*tasks)


def check_delivery(lines, n):
    q1 = [l.split()[1] for l in lines if l.startswith("1 ")]
    q2 = [l.split()[1] for l in lines if l.startswith("2 ")]
    assert set(q1) == {"m%d" % i for i in range(0, n, 2)}, "QoS 1 lost: %s" % lines
    assert sorted(q2) == sorted("m%d" % i for i in range(1, n, 2)), "QoS 2 lost or doubled: %s" % lines


def recorder():
    states = []

    async def wifi_coro(state):
        states.append((state, time.monotonic()))

    return states, wifi_coro


@pytest.mark.parametrize("silent", [False, True], ids=["reset", "silent"])
def test_link_taken_down_and_up(broker, make_cable, silent):
    """The interface goes down under the connection (its sockets reset, or
    its path dead without a word) and comes back 1.5 s later: the link's
    isconnected() tells the client within its poll period."""
    cable = make_cable(broker.port)
    link = CableLink(cable)
    states, wifi_coro = recorder()
    cfg = make_cfg(broker, link=link, wifi_coro=wifi_coro, **FAST)
    sub = Sub(broker, "sw/#", qos=2, fmt="%q %p")
    n = 60
    marks = {}

    def pull():
        marks["pulled"] = time.monotonic()
        cable.unplug(silent=silent)

    def plug():
        marks["plugged"] = time.monotonic()
        cable.plug()

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        loop = asyncio.get_running_loop()
        await publish_many(c, n, 0.03, "sw", {20: lambda: (pull(), loop.call_later(1.5, plug))})
        await c.disconnect()
        return c

    c = run(main(), timeout=60)
    check_delivery(sub.lines(wait=1.0), n)
    assert [s for s, _ in states] == [True, False, True], states
    lost, back = states[1][1], states[2][1]
    assert lost - marks["pulled"] < 0.5, "seen by polling the link"
    assert back > marks["plugged"], "reconnected only once the cable was back"
    # Held down after the outage, then up attempts (failing until the
    # cable is back), then connected.
    calls = link.calls[1:]  # After connect()'s up.
    kinds = [k for k, _ in calls]
    assert link.calls[0][0] == "up" and kinds[0] == "down", link.calls
    assert "up failed" in kinds and kinds[-1] == "up", link.calls
    assert calls[1][1] - calls[0][1] >= 0.49, link.calls
    if silent:
        assert c.REPUB_COUNT >= 1, "publications lost in the dead path were sent again"


def test_outage_only_the_stream_notices(broker, make_cable):
    """A link that cannot tell (isconnected() stays True, poll_ms None): the
    path dies silently, the client finds out by its response_time (no
    PUBACK, no PINGRESP) and recovers the same way."""
    cable = make_cable(broker.port)
    link = CableLink(cable, knows=False)
    states, wifi_coro = recorder()
    cfg = make_cfg(broker, link=link, wifi_coro=wifi_coro, **FAST)
    sub = Sub(broker, "st/#", qos=2, fmt="%q %p")
    n = 40
    marks = {}

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        loop = asyncio.get_running_loop()

        def pull():
            marks["pulled"] = time.monotonic()
            cable.unplug(silent=True)
            loop.call_later(2.0, cable.plug)

        await publish_many(c, n, 0.03, "st", {10: pull})
        await c.disconnect()
        return c

    c = run(main(), timeout=60)
    check_delivery(sub.lines(wait=1.0), n)
    assert [s for s, _ in states] == [True, False, True], states
    assert 0.5 < states[1][1] - marks["pulled"] < 3, "noticed by a response timeout (1 s), not by the link"
    assert c.REPUB_COUNT >= 1


def two_listener_broker(make_broker):
    from conftest import free_port

    second = free_port()
    b = make_broker(extra=["listener %d 127.0.0.1" % second])
    b.port2 = second
    return b


def test_failover_to_a_second_link_and_back(make_broker, make_cable):
    """WiFi -> LAN failover on the host: two links over two cables to two
    listeners of one broker. The preferred link's cable is pulled: the
    client fails over to the second; later the second's is pulled and the
    first is back: the client returns to it. Messages flow throughout."""
    b = two_listener_broker(make_broker)
    lan_cable, wifi_cable = make_cable(b.port), make_cable(b.port2)
    lan, wifi = CableLink(lan_cable, "lan"), CableLink(wifi_cable, "wifi")
    fo = FailoverLink([lan, wifi], names=["lan", "wifi"])
    states, wifi_coro = recorder()
    cfg = make_cfg(b, link=fo, wifi_coro=wifi_coro, **FAST)
    sub = Sub(b, "fo/#", qos=2, fmt="%q %p")
    n = 90
    seen = {}

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        seen["first"] = fo.name
        seen["lan connections"] = lan_cable.accepted  # clean_init: two sessions.
        loop = asyncio.get_running_loop()

        def pull_lan():
            lan_cable.unplug()

        def note():
            seen["after lan pulled"] = fo.name

        def pull_wifi():
            lan_cable.plug()
            wifi_cable.unplug()

        await publish_many(c, n, 0.03, "fo", {20: pull_lan, 50: note, 60: pull_wifi})
        seen["last"] = fo.name
        await c.disconnect()
        return c

    run(main(), timeout=60)
    check_delivery(sub.lines(wait=1.0), n)
    assert seen == {"first": "lan", "lan connections": 2, "after lan pulled": "wifi", "last": "lan"}, seen
    assert [s for s, _ in states] == [True, False, True, False, True], states
    assert fo.switches == 2
    # The pulled LAN was tried first, failed, and the WiFi came up; then
    # the LAN was preferred again.
    assert "up failed" in lan.kinds() and "up" in wifi.kinds(), (lan.calls, wifi.calls)
    assert lan_cable.accepted == 3 and wifi_cable.accepted == 1, (lan_cable.accepted, wifi_cable.accepted)


def test_failover_when_the_broker_is_unreachable_through_a_working_link(make_broker, make_cable):
    """The preferred link stays up (its interface is fine) but nothing gets
    through it (its router died: connections refused): after tcp_attempts
    failed attempts the outage policy bounces the link, and the failover
    link then brings up the next one instead of the same."""
    b = two_listener_broker(make_broker)
    lan_cable, wifi_cable = make_cable(b.port), make_cable(b.port2)
    lan, wifi = CableLink(lan_cable, "lan"), CableLink(wifi_cable, "wifi")
    fo = FailoverLink([lan, wifi], names=["lan", "wifi"])
    states, wifi_coro = recorder()
    cfg = make_cfg(b, link=fo, wifi_coro=wifi_coro, **FAST)
    sub = Sub(b, "dr/#", qos=2, fmt="%q %p")
    n = 60

    async def main():
        c = MQTTClient(cfg)
        await c.connect()
        await publish_many(c, n, 0.03, "dr", {20: lan_cable.refuse})
        await c.disconnect()
        return c

    c = run(main(), timeout=60)
    check_delivery(sub.lines(wait=1.0), n)
    assert fo.name == "wifi" and fo.switches == 1
    assert lan.kinds() == ["up", "down", "up", "down"], lan.calls  # Hold-down, up, 2 attempts, bounce.
    outages, attempts, failures, bounces, planned = c._core.policy.stats()[:5]
    assert bounces == 1 and failures == 2, c._core.policy.stats()
    assert [s for s, _ in states] == [True, False, True], states
    assert wait_until(lambda: wifi_cable.connections() == 0, 5)
