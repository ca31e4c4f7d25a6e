# Callback interface: QoS 0/1/2, 8 KiB payloads, retained, unsubscribe,
# many subscriptions.
from common import MQTTClient, asyncio, cfg, check, until, done, QOS, without

got = []
connected = []
states = []


def sub_cb(topic, msg, retained):
    got.append((topic, msg, retained))


async def wifi_han(state):
    states.append(state)


async def conn_han(client):
    connected.append(1)
    await client.subscribe("app/qos/#", QOS[-1])


async def main():
    if 2 not in QOS:
        without("qos2", "QoS 2 left out")
    c = MQTTClient(cfg(subs_cb=sub_cb, wifi_coro=wifi_han, connect_coro=conn_han))
    await c.connect()
    check(c.isconnected(), "connect")
    await until(lambda: connected)
    await asyncio.sleep(0.2)
    for qos in QOS:
        await c.publish("app/qos/%d" % qos, "msg %d" % qos, qos=qos)
    await until(lambda: len(got) == len(QOS))
    check(sorted(got) == [(b"app/qos/%d" % q, b"msg %d" % q, False) for q in QOS], "qos %s" % (QOS,))
    check(states == [True] and connected == [1], "wifi_coro and connect_coro")

    del got[:]
    big = bytes(range(256)) * 32
    for qos in QOS:
        await c.publish("app/qos/big%d" % qos, big, qos=qos)
    await until(lambda: len(got) == len(QOS))
    check([m for t, m, r in got] == [big] * len(QOS), "8 KiB payloads at qos %s" % (QOS,))

    await c.publish("app/ret", "kept", retain=True, qos=1)
    del got[:]
    await c.subscribe("app/ret", 1)
    await until(lambda: got)
    check(got == [(b"app/ret", b"kept", True)], "retained")
    await c.publish("app/ret", "", retain=True, qos=1)

    await c.unsubscribe("app/qos/#")
    del got[:]
    await c.publish("app/qos/x", "after", qos=1)
    await asyncio.sleep(0.3)
    check(got == [], "unsubscribe")

    n = 40
    for i in range(n):
        await c.subscribe("app/many/%d" % i, i % len(QOS))
    del got[:]
    for i in range(n):
        await c.publish("app/many/%d" % i, str(i), qos=1)
    await until(lambda: len(got) == n)
    check(sorted(int(m) for t, m, r in got) == list(range(n)), "many subscriptions")
    await c.disconnect()
    check(not c.isconnected(), "disconnect")


asyncio.run(main())
done()
