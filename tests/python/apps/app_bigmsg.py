# A message far above max_packet_size (issue 12, defect 5): subscribe to
# '#', receive whatever the broker sends until the message on 'last', then
# print the peak RSS. Arguments: port, 3 or 5 (MQTT version), max_packet_size
# ('default' for none given). Runs on CPython (resource module).
import resource
import sys

import asyncio

from common import cfg, done, until

got = []


def cb(topic, msg, retained, props=None):
    got.append((topic, len(msg)))


async def conn_han(client):
    await client.subscribe("#", 1)


async def main():
    kw = {"subs_cb": cb, "connect_coro": conn_han, "mqttv5": sys.argv[2] == "5"}
    if sys.argv[3] != "default":
        kw["max_packet_size"] = int(sys.argv[3])
    from mqtt_as import MQTTClient

    c = MQTTClient(cfg(**kw))
    await c.connect()
    await until(lambda: any(t == b"last" for t, _ in got) or not c.isconnected(), 120000)
    print("got", got)
    # ru_maxrss: kilobytes on Linux.
    print("peak_rss_mb %d" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
    if c.isconnected():
        await c.disconnect()  # After the PUBACKs already queued.
    c.close()
    done()


asyncio.run(main())
