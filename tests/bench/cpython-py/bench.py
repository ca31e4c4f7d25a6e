"""CPython publishing speed: our mqtt_as (over the Rust core through
ctypes) against paho-mqtt, to the same local broker.

    python bench.py ours|paho PORT QOS N PAYLOAD_BYTES [WINDOW]

Each side publishes N messages as its users write it: ours
`await client.publish(...)` (returns at QoS 1/2 once the handshake is
over), paho `client.publish(...)` with `wait_for_publish()` at QoS 1/2 (its
network loop in paho's own thread, as `loop_start()` runs it). With WINDOW
1 (the default) one message is in flight at a time on both sides; with a
window W, ours runs W publishing tasks at once (each awaiting its own
publications), paho keeps up to W publications unacknowledged (waiting on
the oldest) with `max_inflight_messages_set(W)`. For QoS 0 one QoS 1
message at the end stops the clock once the broker has acknowledged it.
Prints "SIDE qos=Q n=N window=W seconds=S msgs_per_s=R".
"""

import sys
import time


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
        async def task(count):
            for _ in range(count):
                await client.publish("bench/t", payload, qos=qos)

        t0 = time.perf_counter()
        if window == 1:
            await task(n)
        else:
            await asyncio.gather(*(task(n // window + (i < n % window)) for i in range(window)))
        if qos == 0:
            await client.publish("bench/t", payload, qos=1)
        t1 = time.perf_counter()
        await client.disconnect()
        return t1 - t0

    return asyncio.run(run())


def paho(port, qos, n, payload, window):
    import threading
    from collections import deque

    import paho.mqtt.client as mqtt

    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-paho")
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.max_inflight_messages_set(window)
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit("paho: no CONNACK")
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
    client.disconnect()
    client.loop_stop()
    return t1 - t0


def main():
    side, port, qos, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    window = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    payload = b"x" * size
    seconds = {"ours": ours, "paho": paho}[side](port, qos, n, payload, window)
    print("%s qos=%d n=%d window=%d seconds=%.4f msgs_per_s=%.0f" % (side, qos, n, window, seconds, n / seconds))


if __name__ == "__main__":
    main()
