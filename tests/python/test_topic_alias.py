"""MQTT 5.0 topic aliases both ways with mqtt_as (issue 12, defect 8).

Outbound against a real mosquitto (which accepts up to 10 aliases from a
client): `publish('', msg, properties={0x23: n})` after a publish that set
alias n, at QoS 0 and 1, across a broker restart (whose new connection
knows no alias), checked by an independent mosquitto_sub. Inbound against
the scripted broker: mosquitto never sends aliases to a client."""

import asyncio
import subprocess
import threading
import time

import pytest

from conftest import make_cfg, run
from mqtt_as import MQTTClient
from fakebroker import RawBroker, packet, string


def test_outbound_aliases_reach_mosquitto_with_their_topic(make_broker):
    broker = make_broker(persistence=True)
    # An independent observer with a kept session, so that it gets its QoS 1
    # messages across the broker's restart too; its lines are read as they
    # come.
    obs = subprocess.Popen(
        ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", "alias/#", "-q", "1",
         "-V", "5", "-c", "-i", "alias-observer", "-F", "%t %p", "-C", "7", "-W", "60"],
        stdout=subprocess.PIPE, text=True)
    lines = []
    threading.Thread(target=lambda: lines.extend(l.strip() for l in obs.stdout), daemon=True).start()

    def wait_lines(n):
        end = time.monotonic() + 20
        while len(lines) < n and time.monotonic() < end:
            time.sleep(0.02)
        return len(lines) >= n

    def observer_subscribed(since=0):
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if "Sending SUBACK to alias-observer" in broker.log()[since:]:
                return True
            time.sleep(0.02)
        return False

    assert observer_subscribed()
    cfg = make_cfg(broker, mqttv5=True, clean=False, hold_down=0.1)
    client = MQTTClient(cfg)

    async def main():
        await client.connect()
        assert client.topic_alias_maximum == 10  # mosquitto's max_topic_alias
        await client.publish("alias/a", "0-set", properties={0x23: 1})
        await client.publish("", "1-q0", properties={0x23: 1})
        await client.publish("", "2-q1", qos=1, properties={0x23: 1})
        await client.publish("alias/b", "3-set", qos=1, properties={0x23: 2})
        await client.publish("", "4-q0", properties={0x23: 2})
        # Above the broker's maximum: refused before anything is sent.
        with pytest.raises(ValueError, match="topic alias"):
            await client.publish("alias/c", "never", properties={0x23: 11})
        # An alias never set, with an empty topic: refused too.
        with pytest.raises(ValueError, match="topic alias"):
            await client.publish("", "never", properties={0x23: 3})
        # An empty topic without an alias stays an error.
        with pytest.raises(ValueError, match="empty"):
            await client.publish("", "never")
        # Every one so far has reached the observer.
        assert await asyncio.get_running_loop().run_in_executor(None, wait_lines, 5), lines
        # A new connection knows no alias: the client sends the topic again
        # (QoS 1: stored while the broker is down, with its topic; QoS 0 on
        # the new connection once it is up and the observer is back).
        mark = len(broker.log())
        broker.stop()
        broker.start()
        await client.publish("", "5-after-restart", qos=1, properties={0x23: 1})
        assert await asyncio.get_running_loop().run_in_executor(None, observer_subscribed, mark)
        await client.publish("", "6-after-restart", properties={0x23: 1})
        await client.disconnect()

    try:
        run(main(), timeout=40)
        obs.wait(timeout=30)
    finally:
        client.close()
        if obs.poll() is None:
            obs.terminate()
            obs.wait()
    assert wait_lines(7), lines
    assert sorted(lines) == [
        "alias/a 0-set",
        "alias/a 1-q0",
        "alias/a 2-q1",
        "alias/a 5-after-restart",
        "alias/a 6-after-restart",
        "alias/b 3-set",
        "alias/b 4-q0",
    ], lines


def test_inbound_aliases_from_the_broker():
    def aliasing(conn):
        conn.handshake()
        conn.suback()
        props = bytes([3, 0x23, 0, 1])
        conn.send(packet(0x30, string("in/topic") + props + b"first"))
        conn.send(packet(0x30, string("") + props + b"second"))
        while True:
            conn.read()

    b = RawBroker(aliasing).start()
    got = []
    cfg = {"mqttv5": True, "mqttv5_con_props": {0x22: 4},
           "subs_cb": lambda t, m, r, p: got.append((t, m, p.get(0x23) if p else None))}

    async def main():
        import mqtt_as

        c = MQTTClient(dict(mqtt_as.config, server="127.0.0.1", port=b.port, **cfg))
        await c.connect()
        await c.subscribe("in/#")
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        c.close()

    try:
        run(main())
    finally:
        b.stop()
    assert [(t, m) for t, m, _ in got] == [(b"in/topic", b"first"), (b"in/topic", b"second")], got
