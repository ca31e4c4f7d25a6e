"""Programs written against mqtt_as's Event interface (queue_len > 0):
client.up, client.down and `async for topic, msg, retained in client.queue`,
and its MQTT 5.0 form with a fourth item, properties."""

import asyncio

from conftest import make_cfg, mosquitto_pub, run
from mqtt_as import MQTTClient


def test_up_queue_down_up(broker, cfg):
    cfg["queue_len"] = 4
    seen = []
    ups = []
    downs = []

    async def messages(client):
        async for topic, msg, retained in client.queue:
            seen.append((topic, msg, retained))

    async def up(client):
        while True:
            await client.up.wait()
            client.up.clear()
            ups.append(1)
            await client.subscribe("ev/#", 1)

    async def down(client):
        while True:
            await client.down.wait()
            client.down.clear()
            downs.append(1)

    async def main():
        client = MQTTClient(cfg)
        await client.connect(quick=True)
        tasks = [asyncio.create_task(t(client)) for t in (up, down, messages)]
        while not ups:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        await client.publish("ev/a", "1", qos=1)
        await client.publish("ev/b", "2", qos=2)
        await asyncio.sleep(0.2)
        # An outage: the broker goes away and comes back on the same port.
        broker.stop()
        for _ in range(200):
            if downs:
                break
            await asyncio.sleep(0.02)
        assert not client.isconnected()
        broker.start()
        for _ in range(300):
            if len(ups) == 2:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        await client.publish("ev/c", "3", qos=1)
        await asyncio.sleep(0.3)
        await client.disconnect()
        for t in tasks:
            t.cancel()

    run(main())
    assert ups == [1, 1] and downs == [1]
    assert seen == [(b"ev/a", b"1", False), (b"ev/b", b"2", False), (b"ev/c", b"3", False)]


def test_queue_overflow_drops_oldest_and_counts(broker, cfg):
    cfg["queue_len"] = 2

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("ov/t", 1)
        for i in range(5):
            await client.publish("ov/t", str(i), qos=1)
        await asyncio.sleep(0.3)
        got = []
        async for topic, msg, retained in client.queue:
            got.append(msg)
            if client.queue.qsize() == 0:
                break
        await client.disconnect()
        return got, client.queue.discards

    got, discards = run(main())
    assert got == [b"3", b"4"] and discards == 3


def test_v5_queue_gives_properties(broker):
    cfg = make_cfg(broker, queue_len=4, mqttv5=True, mqttv5_con_props={0x11: 3600})

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("v5/#", 1)
        props = {0x26: {"value": "test"}, 0x09: b"correlation_data", 0x08: "response_topic", 0x02: 60}
        await client.publish("v5/a", "with props", qos=1, properties=props)
        await client.publish("v5/b", "plain", qos=1)
        got = []
        async for item in client.queue:
            got.append(item)
            if len(got) == 2:
                break
        await client.disconnect()
        return got

    (t1, m1, r1, p1), (t2, m2, r2, p2) = run(main())
    assert (t1, m1, r1) == (b"v5/a", b"with props", False)
    assert p1[0x26] == {"value": "test"} and p1[0x09] == b"correlation_data"
    assert p1[0x08] == "response_topic" and 0 < p1[0x02] <= 60
    assert (t2, m2, p2) == (b"v5/b", b"plain", None)


def test_v5_callback_gets_four_arguments_and_topic_alias_maximum(broker):
    got = []
    cfg = make_cfg(broker, mqttv5=True, subs_cb=lambda t, m, r, p=None: got.append((t, m, r, p)))

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("v5cb/t", 2, properties={0x0B: 7})  # Subscription identifier.
        await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: mosquitto_pub(broker, "v5cb/t", "hello hello", 1,
                                  extra=["-V", "5", "-D", "PUBLISH", "user-property", "foo", "bar"]),
        )
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        tam = client.topic_alias_maximum
        await client.disconnect()
        return tam

    tam = run(main())
    assert got == [(b"v5cb/t", b"hello hello", False, {0x26: {"foo": "bar"}, 0x0B: 7})]
    assert tam == 10  # mosquitto's default max_topic_alias, from CONNACK.
