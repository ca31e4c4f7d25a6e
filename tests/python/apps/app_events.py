# Event interface: up/down Events and `async for` over client.queue, in
# 3.1.1 (3-tuples) and 5.0 (4-tuples with properties).
from common import MQTTClient, asyncio, cfg, check, until, done, QOS, FEATURES, without


async def run(v5):
    c = MQTTClient(cfg(queue_len=4, mqttv5=v5))
    seen = []
    ups = []

    async def messages():
        async for item in c.queue:
            seen.append(item)

    async def up():
        while True:
            await c.up.wait()
            c.up.clear()
            ups.append(1)
            await c.subscribe("app/ev/#", 1)

    await c.connect(quick=True)
    t1 = asyncio.create_task(messages())
    t2 = asyncio.create_task(up())
    await until(lambda: ups)
    await asyncio.sleep(0.2)
    props = {0x26: {"k": "v"}, 0x09: b"corr", 0x08: "reply/here"} if v5 else None
    await c.publish("app/ev/a", "one", qos=1, properties=props)
    await c.publish("app/ev/b", "two", qos=QOS[-1])
    await until(lambda: len(seen) == 2)
    if v5:
        (t, m, r, p), (t2_, m2, r2, p2) = seen
        check((t, m, r) == (b"app/ev/a", b"one", False), "v5 queue 4-tuple")
        check(p[0x26] == {"k": "v"} and p[0x09] == b"corr" and p[0x08] == "reply/here", "v5 properties")
        check(p2 is None and m2 == b"two", "v5 no properties: None")
    else:
        check(seen == [(b"app/ev/a", b"one", False), (b"app/ev/b", b"two", False)], "queue 3-tuples")
    await c.disconnect()
    t1.cancel()
    t2.cancel()


async def main():
    if 2 not in QOS:
        without("qos2", "QoS 1 instead of 2")
    await run(False)
    if "v5" in FEATURES:
        await run(True)
    else:
        without("v5", "the MQTT 5.0 run left out")


asyncio.run(main())
done()
