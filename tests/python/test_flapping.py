"""A link that flaps: a fake broker closes every connection right after
its CONNACK (every fourth a few milliseconds later). What the application
is told must follow what happened (issue 12, defect 6): wifi_coro(True)
and connect_coro only while the connection is up, True and False in
turn; in the Event interface client.up is never left set for a
connection that is gone. (Memory and tasks over 2,000 such connections:
apps/app_flap.py, run by test_apps.py.)"""

import asyncio
import time

from conftest import client_id, run
from fakebroker import FakeBroker, accept_connect
from mqtt_as import MQTTClient, config


def close_after_connack(sock, index):
    if accept_connect(sock) and index % 4 == 3:
        time.sleep(0.003)


def flap_cfg(broker, **kw):
    c = dict(config, server="127.0.0.1", port=broker.port, client_id=client_id("flap"), response_time=2,
             backoff_base=0.001, backoff_cap=0.002, jitter=0, tcp_attempts=0)
    c.update(kw)
    return c


async def first_connect(client):
    # The link may be gone before connect() returns: it raises then.
    while True:
        try:
            await client.connect()
            return
        except OSError:
            await asyncio.sleep(0.01)


def test_callbacks_told_up_only_while_up_and_in_turn():
    b = FakeBroker(close_after_connack)
    calls = []  # ("wifi", state, connected) and ("connect", connected)

    async def wifi_han(state):
        calls.append(("wifi", state, client.isconnected()))

    async def conn_han(c):
        calls.append(("connect", c.isconnected()))
        await c.subscribe("flap/t", 1)

    client = MQTTClient(flap_cfg(b, hold_down=0.001, wifi_coro=wifi_han, connect_coro=conn_han))

    async def main():
        await first_connect(client)
        while b.connections < 300:
            await asyncio.sleep(0.02)
        client.close()

    try:
        run(main(), 90)
    finally:
        b.stop()
    ups = [c for c in calls if c[0] == "wifi" and c[1]]
    assert ups and [c for c in calls if c[0] == "connect"], ("nothing reported", b.connections)
    wrong = [c for c in calls if (c[0] == "wifi" and c[1] or c[0] == "connect") and not c[-1]]
    assert not wrong, "told up while not connected: %d of %d calls" % (len(wrong), len(calls))
    assert len(ups) < b.connections, "some connections were gone before their handlers could start"
    states = [c[1] for c in calls if c[0] == "wifi"]
    assert all(s != t for s, t in zip(states, states[1:])) and states[0] is True, states[:20]


def test_event_up_never_left_set_for_a_lost_connection():
    b = FakeBroker(close_after_connack)
    # A hold-down long enough to look at the client between connections.
    client = MQTTClient(flap_cfg(b, hold_down=0.05, queue_len=4))
    seen = {"ups": 0, "downs": 0, "stale": 0, "looks": 0}

    async def up_han():
        while True:
            await client.up.wait()
            seen["ups"] += 1
            await asyncio.sleep(0.03)  # The application's work, e.g. subscribing.
            client.up.clear()

    async def down_han():
        while True:
            await client.down.wait()
            client.down.clear()
            seen["downs"] += 1

    async def watch():
        while True:
            seen["looks"] += 1
            if client.up.is_set() and not client.isconnected():
                seen["stale"] += 1
            await asyncio.sleep(0.001)

    async def main():
        tasks = [asyncio.create_task(f()) for f in (up_han, down_han, watch)]
        await first_connect(client)
        while b.connections < 40:
            await asyncio.sleep(0.02)
        client.close()
        for t in tasks:
            t.cancel()

    try:
        run(main(), 60)
    finally:
        b.stop()
    assert seen["ups"] > 0 and seen["downs"] > 0 and seen["looks"] > 100, seen
    assert seen["stale"] == 0, "client.up set while not connected, %d of %d looks" % (seen["stale"], seen["looks"])
