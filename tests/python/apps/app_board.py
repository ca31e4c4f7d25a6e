# A board's buffer sizes (options.BOARD_SIZES, whose tx and store hold
# headers only: payloads are lent from the objects given to publish()): a
# 1 KiB message under a 200-byte topic is sent (QoS 0 and 1) and received
# (in pieces, assembled for subs_cb), and two QoS 1 such messages published
# during an outage are kept and sent after it. Prints RESTART when the
# harness is to restart the broker (with persistence: the session stays).
from common import MQTTClient, asyncio, cfg, check, until, done
from mqtt_as import options

options._HOST = False  # A board's defaults, on the host too.
TOPIC = "app/board/" + "t" * 190
MSG = bytes(range(256)) * 4
got = []


def sub_cb(topic, msg, retained, props=None):
    got.append((topic, msg))


async def conn_han(client):
    await client.subscribe(TOPIC, 1)


async def main():
    check(len(TOPIC) == 200 and len(MSG) == 1024, "a 1 KiB message under a 200-byte topic")
    c = MQTTClient(cfg(clean=False, subs_cb=sub_cb, connect_coro=conn_han, hold_down=0.3))
    s = c._core.settings()
    rx, _, tx, store = options.BOARD_SIZES[:4]
    check((s["rx_size"], s["tx_size"], s["store_size"]) == (rx, tx, store) and tx < 1024 and store < 1024,
          "board sizes, tx and store below the message")
    await c.connect()
    await until(lambda: c._core.pending() == 0 and c.isconnected(), 5000)
    await asyncio.sleep(0.3)  # The subscription is acknowledged.
    await c.publish(TOPIC, MSG, qos=0)
    await c.publish(TOPIC, bytearray(MSG), qos=1)
    await until(lambda: len(got) >= 2, 10000)
    check(got == [(TOPIC.encode(), MSG)] * 2, "sent (QoS 0 and 1) and received whole")
    got.clear()
    print("RESTART")
    await until(lambda: not c.isconnected(), 10000)
    check(not c.isconnected(), "outage seen")
    tasks = [asyncio.create_task(c.publish(TOPIC, b"%d" % i + MSG[1:], qos=1)) for i in (1, 2)]
    await until(lambda: c._core.pending() == 2, 2000)
    check(c._core.pending() == 2 and not c.isconnected(), "two QoS 1 messages kept during the outage")
    for t in tasks:
        await t
    await until(lambda: len(got) >= 2, 20000)
    check(sorted(m for _, m in got) == [b"1" + MSG[1:], b"2" + MSG[1:]], "both sent after the outage")
    await c.disconnect()


asyncio.run(main())
done()
