# Scheduler rounds per QoS 1 message on MicroPython (issue 15): messages
# published one after another, each awaited, counted as calls of asyncio's
# poller (one per scheduler round: MicroPython's asyncio polls once per
# round, and once more, without waiting, after a wait that IO ended).
# publish() sends straight to the socket and the reader wakes only the
# publish() awaiting its PUBACK: the writer sleeps throughout. Then large
# messages through a socket whose send buffer is small: the socket takes
# part, the writer drains the rest, all arrive whole. Last the socket
# fails under publish(): an outage, publish() returns once the message is
# sent on the next connection. Prints
# "rounds=<least of the batches>"; CPython counts its rounds in
# test_rounds.py (this program checks only the large messages there).
import sys

from common import MQTTClient, asyncio, cfg, check, until, done

got = []
N = 200000  # Beyond what the socket takes at once with a small send buffer.


def cb(topic, msg, retained):
    got.append(msg)


def chunk(topic, data, offset, total, retained, props=None):
    # The large messages arrive in pieces (a board's heap holds no copy):
    # each piece must be the next part of a message of one repeated byte.
    if offset == 0:
        got.append([data[0], 0])
    m = got[-1]
    ok = total == N and offset == m[1] and data == bytes([m[0]]) * len(data)
    m[1] = offset + len(data) if ok else -1


async def main():
    c = MQTTClient(cfg(subs_cb=cb, chunk_cb=chunk, max_packet_size=N + 100))
    await c.connect()
    await c.subscribe("app/rounds/big", 1)
    if sys.implementation.name == "micropython":
        from asyncio import core

        q = core._io_queue
        wait = q.wait_io_event
        n = [0]

        def counted(dt):
            n[0] += 1
            wait(dt)

        q.wait_io_event = counted
        least = None
        try:
            for _ in range(8):
                n[0] = 0
                for _ in range(25):
                    await c.publish("app/rounds/t", b"x" * 32, qos=1)
                r = n[0] / 25
                least = r if least is None or r < least else least
        finally:
            del q.wait_io_event
        print("rounds=%s" % least)
        import socket

        # Linux numbers where the port names none.
        c._conn._s.setsockopt(getattr(socket, "SOL_SOCKET", 1), getattr(socket, "SO_SNDBUF", 7), 4096)
    for i in range(4):
        await c.publish("app/rounds/big", bytes([65 + i]) * N, qos=1)
    await until(lambda: len(got) == 4 and got[-1][1] == N)
    check(got == [[65 + i, N] for i in range(4)], "large messages through a small send buffer arrive whole")
    if sys.implementation.name == "micropython":
        # The socket fails under publish(), which sends itself: an outage,
        # not an error of publish(), whose message goes out on the next
        # connection.
        c._conn._s.close()
        await c.publish("app/rounds/t", b"after", qos=1)
        check(c.isconnected(), "a send that fails in publish() is an outage")
    await c.disconnect()
    done()


asyncio.run(main())
