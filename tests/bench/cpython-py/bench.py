"""CPython publishing speed: our mqtt_as (over the Rust core through
ctypes) against paho-mqtt, to the same local broker.

    python bench.py ours|paho PORT QOS N PAYLOAD_BYTES

Each side publishes N messages one after another as its users write it:
ours `await client.publish(...)` (returns at QoS 1 once the PUBACK is
back), paho `client.publish(...)` with `wait_for_publish()` at QoS 1 (its
network loop in paho's own thread, as `loop_start()` runs it). So one
message is in flight at a time on both sides. For QoS 0 one QoS 1 message
at the end stops the clock once the broker has acknowledged it. Prints
"SIDE qos=Q n=N seconds=S msgs_per_s=R".
"""

import sys
import time


def ours(port, qos, n, payload):
    import asyncio

    from mqtt_as import MQTTClient, config

    config["server"] = "127.0.0.1"
    config["port"] = port
    config["client_id"] = "bench-ours"
    config["clean"] = True

    async def run():
        client = MQTTClient(config)
        await client.connect()
        t0 = time.perf_counter()
        for _ in range(n):
            await client.publish("bench/t", payload, qos=qos)
        if qos == 0:
            await client.publish("bench/t", payload, qos=1)
        t1 = time.perf_counter()
        await client.disconnect()
        return t1 - t0

    return asyncio.run(run())


def paho(port, qos, n, payload):
    import threading

    import paho.mqtt.client as mqtt

    connected = threading.Event()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-paho")
    client.on_connect = lambda c, u, f, rc, p: connected.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    if not connected.wait(10):
        raise SystemExit("paho: no CONNACK")
    t0 = time.perf_counter()
    for _ in range(n):
        info = client.publish("bench/t", payload, qos=qos)
        if qos > 0:
            info.wait_for_publish(10)
    if qos == 0:
        client.publish("bench/t", payload, qos=1).wait_for_publish(10)
    t1 = time.perf_counter()
    client.disconnect()
    client.loop_stop()
    return t1 - t0


def main():
    side, port, qos, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    payload = b"x" * size
    seconds = {"ours": ours, "paho": paho}[side](port, qos, n, payload)
    print("%s qos=%d n=%d seconds=%.4f msgs_per_s=%.0f" % (side, qos, n, seconds, n / seconds))


if __name__ == "__main__":
    main()
