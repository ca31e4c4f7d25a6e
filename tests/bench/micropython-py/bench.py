# MicroPython benchmark app (tests/bench/micropython): one mqtt_as program,
# run on the same MicroPython binary with our package (over the _mqttas
# module) or with the pure-Python mqtt_as 0.8.3 first on the path.
#
#   micropython bench.py PORT N
#
# Prints: "heap_after_import=B heap_client=B msgs_per_s=R heap_base=B".
# heap_client is gc.mem_alloc() after gc.collect() once connected and
# subscribed, less the figure after the imports: the client object, its
# buffers, tasks and queues (the imported code is not counted, so a package
# loaded from .py and one frozen compare alike). heap_base is the figure
# before the MQTT package is imported (the interpreter and asyncio), the
# same for both: what the package itself costs is the total less it.
# The timed part lies between a stat() of MARK + "start" and one of MARK +
# "end" (paths that do not exist), for tests/bench/cpython-py/syscalls.py.
import gc
import sys
import time

import asyncio

# mark() is cpython-py's (sys.path[0] is this script's directory), imported
# before the heap is first measured: heap_base counts it, as it counts asyncio.
sys.path.append(sys.path[0] + "/../cpython-py")
from mark import mark  # noqa: E402

gc.collect()
HEAP_BASE = gc.mem_alloc()
PORT = int(sys.argv[1])
N = int(sys.argv[2])


def board_shims():
    # The pure-Python mqtt_as imports network.WLAN and machine.unique_id,
    # which the unix port lacks: stand-ins for a board whose WiFi is up.
    # (Ours picks its host socket link where there is no network module.)
    class Wlan:
        def __init__(self, *a):
            pass

        def active(self, *a):
            return True

        def isconnected(self):
            return True

        def status(self):
            return 1010

        def connect(self, *a):
            pass

        def disconnect(self):
            pass

        def config(self, *a, **k):
            pass

    class Network:
        STA_IF = 0
        STAT_IDLE = 1000
        STAT_CONNECTING = 1001
        STAT_GOT_IP = 1010
        WLAN = Wlan

    class Machine:
        @staticmethod
        def unique_id():
            return b"\x01\x02\x03\x04\x05\x06"

    sys.modules["network"] = Network
    sys.modules["machine"] = Machine


if sys.argv[3:] == ["peer"]:
    board_shims()

from mqtt_as import MQTTClient, config  # noqa: E402

received = [0]


def on_message(topic, msg, retained, *props):
    received[0] += 1


async def main():
    gc.collect()
    base = gc.mem_alloc()
    config["server"] = "127.0.0.1"
    config["port"] = PORT
    config["client_id"] = "bench-%s" % ("peer" if sys.argv[3:] == ["peer"] else "ours")
    config["subs_cb"] = on_message
    config["keepalive"] = 60
    config["response_time"] = 10
    config["clean"] = True
    config["ssid"] = "bench"
    config["wifi_pw"] = "bench"
    if sys.argv[3:] != ["peer"]:
        # A board's default buffer sizes (options.BOARD_SIZES): the unix
        # port would otherwise take the host's (16 KiB receive, 64 KiB
        # transmit, 256 KiB store).
        from mqtt_as.options import BOARD_SIZES

        config["rx_size"] = BOARD_SIZES[0]
        config["tx_size"] = BOARD_SIZES[2]
        config["store_size"] = BOARD_SIZES[3]
    client = MQTTClient(config)
    await client.connect(quick=True)
    await client.subscribe("bench/in", 1)
    gc.collect()
    heap = gc.mem_alloc() - base
    payload = b"x" * 32
    mark("start")
    t0 = time.ticks_ms()
    for i in range(N):
        await client.publish("bench/out", payload, qos=1)
    dt = time.ticks_diff(time.ticks_ms(), t0)
    mark("end")
    print("heap_after_import=%d heap_client=%d msgs_per_s=%d heap_base=%d"
          % (base, heap, N * 1000 // max(dt, 1), HEAP_BASE))
    client.close()


asyncio.run(main())
