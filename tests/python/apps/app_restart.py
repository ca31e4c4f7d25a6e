# Broker restart in the middle of QoS 1 and 2 traffic: prints RESTART when
# half way (the harness then restarts the broker) and checks that nothing
# was lost (and nothing duplicated at QoS 2). Second argument: 5 for MQTT 5.0.
import sys

from common import MQTTClient, asyncio, cfg, check, until, done, QOS, without

V5 = len(sys.argv) > 2 and sys.argv[2] == "5"
N = 100
got = {1: [], 2: []}


def sub_cb(topic, msg, retained, props=None):
    got[int(topic[-1:])].append(int(msg))


async def conn_han(client):
    for q in QOS[1:]:
        await client.subscribe("app/rs/%d" % q, q)


async def publisher(c, qos):
    for i in range(N):
        await c.publish("app/rs/%d" % qos, str(i), qos=qos)
        await asyncio.sleep(0.01)


async def main():
    sub = MQTTClient(cfg(clean=False, subs_cb=sub_cb, connect_coro=conn_han, hold_down=0.3, mqttv5=V5))
    pub = MQTTClient(cfg(clean=False, hold_down=0.3, mqttv5=V5))
    if 2 not in QOS:
        without("qos2", "QoS 1 only")
    await sub.connect()
    await asyncio.sleep(0.3)
    await pub.connect()
    tasks = [asyncio.create_task(publisher(pub, q)) for q in QOS[1:]]
    await until(lambda: len(got[QOS[-1]]) >= N // 3, 20000)
    print("RESTART")
    await until(lambda: not pub.isconnected(), 10000)
    check(not pub.isconnected(), "outage seen")
    for t in tasks:
        await t
    await until(lambda: len(set(got[1])) >= N and (2 not in QOS or len(got[2]) >= N), 20000)
    await asyncio.sleep(0.3)
    check(sorted(set(got[1])) == list(range(N)), "qos 1: nothing lost")
    if 2 in QOS:
        check(sorted(got[2]) == list(range(N)), "qos 2: nothing lost or duplicated")
    await pub.disconnect()
    await sub.disconnect()


asyncio.run(main())
done()
