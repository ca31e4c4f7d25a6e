"""CPython publishing speed: our mqtt_as (over the Rust core through
ctypes) against paho-mqtt, to the same local broker.

    python bench.py ours|paho PORT QOS N PAYLOAD_BYTES [WINDOW]

Each side publishes N messages as its users write it, with at most WINDOW
(default 1) in flight:
  - ours: WINDOW tasks, each `await client.publish(...)` one after another
    (a publish returns at QoS 1/2 once the PUBACK/PUBCOMP is back), N in
    all;
  - paho: `client.publish(...)` (its network loop in paho's own thread, as
    `loop_start()` runs it) with `max_inflight_messages_set(WINDOW)`, at
    most WINDOW unacknowledged: before each publication beyond them
    `wait_for_publish()` on the oldest.
For QoS 0 one QoS 1 message at the end stops the clock once the broker has
acknowledged it. Prints "SIDE qos=Q n=N window=W seconds=S user_us_per_msg=U
sys_us_per_msg=K msgs_per_s=R" (U, K: the process's CPU time in user space
and in the kernel, all threads, per message: steadier than R on a loaded
machine; os.times() ticks at 10 ms, so N must be large enough).

The timed part lies between a stat() of MARK + "start" and one of MARK +
"end" (paths that do not exist): tests/bench/cpython-py/syscalls.py counts
the system calls of a traced run between them.
"""

import os
import sys
import time

from mark import mark


def ours(port, qos, n, payload, window):
    import asyncio

    from mqtt_as import MQTTClient, config

    config["server"] = "127.0.0.1"
    config["port"] = port
    config["client_id"] = "bench-ours"
    config["clean"] = True

    async def run():
        client = MQTTClient(config)
        await client.connect()

        async def publisher(k):
            for _ in range(k):
                await client.publish("bench/t", payload, qos=qos)

        mark("start")
        c0 = os.times()
        t0 = time.perf_counter()
        if window == 1:
            await publisher(n)
        else:
            share = [n // window + (1 if i < n % window else 0) for i in range(window)]
            await asyncio.gather(*(publisher(k) for k in share))
        if qos == 0:
            await client.publish("bench/t", payload, qos=1)
        t1 = time.perf_counter()
        c1 = os.times()
        mark("end")
        await client.disconnect()
        return t1 - t0, (c1[0] - c0[0], c1[1] - c0[1])

    return asyncio.run(run())


def paho(port, qos, n, payload, window):
    import threading
    from collections import deque

    import paho.mqtt.client as mqtt

    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-paho")
    client.max_inflight_messages_set(window)
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit("paho: no CONNACK")
    mark("start")
    c0 = os.times()
    t0 = time.perf_counter()
    pending = deque()
    for _ in range(n):
        if qos > 0 and len(pending) >= window:
            pending.popleft().wait_for_publish(10)
        info = client.publish("bench/t", payload, qos=qos)
        if qos > 0:
            pending.append(info)
    for info in pending:
        info.wait_for_publish(10)
    if qos == 0:
        client.publish("bench/t", payload, qos=1).wait_for_publish(10)
    t1 = time.perf_counter()
    c1 = os.times()
    mark("end")
    client.disconnect()
    client.loop_stop()
    return t1 - t0, (c1[0] - c0[0], c1[1] - c0[1])


def main():
    side, port, qos, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    window = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    payload = b"x" * size
    seconds, cpu = {"ours": ours, "paho": paho}[side](port, qos, n, payload, window)
    print("%s qos=%d n=%d window=%d seconds=%.4f user_us_per_msg=%.1f sys_us_per_msg=%.1f msgs_per_s=%.0f"
          % (side, qos, n, window, seconds, cpu[0] * 1e6 / n, cpu[1] * 1e6 / n, n / seconds))


if __name__ == "__main__":
    main()
