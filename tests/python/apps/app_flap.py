# A link that flaps: the broker (the harness's fake broker) closes every
# connection right after its CONNACK, and this program follows mqtt_as's
# documented pattern, subscribing in connect_coro. Nothing may pile up:
# after 200 connections and after N (second argument) the memory in use
# and the live asyncio tasks must be the same within a tolerance (printed).
# Memory is what the garbage collector counts: tracemalloc's traced bytes
# on CPython, gc.mem_alloc() on MicroPython (where asyncio has no
# all_tasks(): there memory alone tells).
import gc
import sys

from common import MQTTClient, asyncio, cfg, check, done

N = int(sys.argv[2])
MP = sys.implementation.name == "micropython"
# Allowed growth from connection 200 to N: less than 70 bytes a
# connection on CPython (the defect cost about 3.8 KiB one), and on a
# MicroPython heap a few blocks.
MEM_TOLERANCE = 16384 if MP else 131072
# Where a sample falls, up to 8 tasks more than at another: reader, writer,
# a drain's watch, wifi_coro(True), connect_coro, wifi_coro(False), a
# graceful close and its reader.
TASK_TOLERANCE = 8

if not MP:
    import tracemalloc

    tracemalloc.start()


def used():
    gc.collect()
    if MP:
        return gc.mem_alloc()
    return tracemalloc.get_traced_memory()[0]


def tasks():
    f = getattr(asyncio, "all_tasks", None)
    return len(f()) if f else 0


def rss():
    # Resident set, for the record (the allocator keeps what it once had).
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096
    except (OSError, ValueError, IndexError):
        return 0


class Counting(MQTTClient):
    n = 0

    async def connect(self, **kw):
        self.n += 1
        return await MQTTClient.connect(self, **kw)


told = [None]  # What wifi_coro was last told.
ups = [0]
connects = [0]
wrong = []


async def wifi_han(up):
    if up and (told[0] is True or not client.isconnected()):
        wrong.append("wifi_coro(True) while %s" % ("up" if told[0] else "not connected"))
    if not up and told[0] is not True:
        wrong.append("wifi_coro(False) without wifi_coro(True)")
    told[0] = up
    ups[0] += up


async def conn_han(c):
    if not c.isconnected():
        wrong.append("connect_coro while not connected")
    connects[0] += 1
    await c.subscribe("flap/t", 1)


client = Counting(cfg(wifi_coro=wifi_han, connect_coro=conn_han, hold_down=0.001, backoff_base=0.001,
                      backoff_cap=0.002, jitter=0, tcp_attempts=0))


def sample():
    return used(), tasks(), rss()


async def main():
    while True:  # The first connect() raises when the link is gone at once.
        try:
            await client.connect()
            break
        except OSError:
            await asyncio.sleep(0.01)
    base = None
    while client.n < N:
        await asyncio.sleep(0.05)
        if base is None:
            if client.n >= 200:
                base = sample()
                print("at %d: %d bytes, %d tasks, RSS %d" % ((client.n,) + base))
            continue
        # Checked all along: a leak fails early rather than slowly.
        mem, t, _ = sample()
        if mem - base[0] > MEM_TOLERANCE or t - base[1] > TASK_TOLERANCE:
            print("at %d: %d bytes, %d tasks" % (client.n, mem, t))
            break
    end = sample()
    n = client.n
    client.close()
    print("at %d: %d bytes, %d tasks, RSS %d" % ((n,) + end))
    print("handlers: %d wifi_coro(True), %d connect_coro" % (ups[0], connects[0]))
    check(n >= N, "%d connections" % N)
    check(end[0] - base[0] <= MEM_TOLERANCE,
          "memory flat: %+d bytes from 200 to %d (tolerance %d)" % (end[0] - base[0], n, MEM_TOLERANCE))
    check(end[1] - base[1] <= TASK_TOLERANCE,
          "tasks flat: %+d from 200 to %d (tolerance %d)" % (end[1] - base[1], n, TASK_TOLERANCE))
    check(not wrong, "handlers told in order: %s" % (wrong[:3],))
    check(ups[0] > 0 and connects[0] > 0, "some connections lived long enough to be reported")


asyncio.run(main())
done()
