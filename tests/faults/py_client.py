#!/usr/bin/env python3
"""The fault scenarios' and soak's CPython client: a plain `mqtt_as`
application (MQTTClient, subs_cb, connect_coro, wifi_coro, publish) taking
the options of ports/unix/mqttas_client.c (tests/faults/README.md):

  -m pub|sub -h HOST -p PORT -i ID -t TOPIC -q QOS -n COUNT -c -r -V 4|5
  -k KEEPALIVE -d DELAY_MS -S STORE -T TIMEOUT_S -R READY_FILE -W RESPONSE_MS
  -H HOLD_MS -B N -b BASE_MS -X CAP_MS -j PERCENT -U STABLE_MS -A ALIAS_MAX
  -O TICK (ignored) -v

pub publishes the payloads 1..COUNT and exits 0 once all are acknowledged;
sub subscribes, creates READY_FILE after the first SUBACK, prints
`TOPIC QOS DUP PAYLOAD` per message (mqtt_as's callback gives neither QoS
nor DUP: it prints the subscription's QoS and 0) and exits 0 after COUNT
distinct numbers (0: until SIGTERM). SIGTERM: DISCONNECT, exit 0. Logs on
stderr, `connection lost: ...` on each loss. With MQTTAS_PY_MEM=1 it logs
`mem rss_kb=... traced=...` (tracemalloc's current size) every second, the
CPython counterpart of gc.mem_alloc().

The outage policy is mqtt_as's (config hold_down, tcp_attempts,
backoff_base, backoff_cap, jitter, stable_time), which follows the core's
_mqttas.Reconnect like the Rust and C clients.
"""

import getopt
import os
import signal
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "micropython-module", "cpython"))
sys.path.insert(0, os.path.join(ROOT, "micropython-module"))

import asyncio  # noqa: E402

from mqtt_as import MQTTClient, config  # noqa: E402

T0 = time.monotonic()
NAME = "py"


def log(fmt, *args):
    sys.stderr.write("[%s %10u] %s\n" % (NAME, int((time.monotonic() - T0) * 1000), fmt % args))
    sys.stderr.flush()


def options(argv):
    o = {
        "m": None, "h": "127.0.0.1", "p": 1883, "i": "mqttas-py-%d" % os.getpid(),
        "t": "mqttas/test", "q": 0, "n": 10, "c": False, "r": False, "V": 4, "k": 60,
        "d": 0, "S": 65536, "T": 0, "R": None, "W": 10000, "H": 1000, "B": 3,
        "b": 500, "X": 30000, "j": 20, "U": None, "A": 0, "v": False,
    }
    opts, rest = getopt.getopt(argv, "m:h:p:i:t:q:n:crV:k:d:S:T:R:O:W:H:B:b:X:j:U:A:v")
    if rest:
        raise SystemExit("unexpected arguments: %s" % rest)
    for k, v in opts:
        k = k[1:]
        if k in ("c", "r", "v"):
            o[k] = True
        elif k in ("m", "h", "i", "t", "R"):
            o[k] = v
        elif k == "O":
            pass
        else:
            o[k] = int(v, 0)
    if o["m"] not in ("pub", "sub"):
        raise SystemExit("-m pub|sub is required")
    return o


async def run(o):
    global NAME
    NAME = o["i"]
    pub = o["m"] == "pub"
    # Numbers seen per topic, one bit each (as the C client keeps them), and
    # only when there is a count to reach: with -n 0 the subscriber keeps
    # nothing per message, so its heap stays flat over a soak.
    seen = {}
    state = {"distinct": 0, "received": 0, "subscribed": False}
    done = asyncio.Event()

    def on_message(topic, msg, retained, properties=None):
        t = topic.decode()
        m = msg.decode("utf-8", "replace")
        sys.stdout.write("%s %d 0 %s\n" % (t, o["q"], m))
        sys.stdout.flush()
        state["received"] += 1
        if not o["n"]:
            return
        try:
            i = int(m)
        except ValueError:
            return
        if not 0 <= i < 1 << 24:
            return
        bits = seen.setdefault(t, bytearray())
        if len(bits) <= i >> 3:
            bits.extend(bytes((i >> 3) + 1 - len(bits)))
        if not bits[i >> 3] & (1 << (i & 7)):
            bits[i >> 3] |= 1 << (i & 7)
            state["distinct"] += 1
        if state["distinct"] >= o["n"] and not done.is_set():
            log("received %d distinct messages (%d in all)", state["distinct"], state["received"])
            done.set()

    async def on_wifi(up):
        if not up:
            log("connection lost: outage (mqtt_as holds the link down, then reconnects)")

    async def on_connect(client):
        log("connected")
        if pub:
            return
        try:
            await client.subscribe(o["t"], o["q"])
        except OSError as e:  # The connection went again: the next connect subscribes.
            log("subscribe failed: %s", e)
            return
        if not state["subscribed"]:
            state["subscribed"] = True
            log("subscribed to %s", o["t"])
            if o["R"]:
                with open(o["R"], "w"):
                    pass

    c = dict(config)
    c.update(
        server=o["h"], port=o["p"], client_id=o["i"], keepalive=o["k"],
        response_time=o["W"] / 1000, clean=not o["c"], clean_init=not o["c"],
        mqttv5=o["V"] == 5, subs_cb=on_message, wifi_coro=on_wifi, connect_coro=on_connect,
        store_size=o["S"], hold_down=o["H"] / 1000, tcp_attempts=o["B"],
        backoff_base=o["b"] / 1000, backoff_cap=o["X"] / 1000, jitter=o["j"],
        stable_time=None if o["U"] is None else o["U"] / 1000,
    )
    props = {}
    if o["V"] == 5 and o["c"]:
        # A session that outlives the connection (and a broker restart).
        props[0x11] = 0xFFFFFFFF
    if o["V"] == 5 and o["A"]:
        props[0x22] = o["A"]  # Topic Alias Maximum: aliases the broker may set.
    if props:
        c["mqttv5_con_props"] = props
    MQTTClient.DEBUG = o["v"]
    client = MQTTClient(c)

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    if os.environ.get("MQTTAS_PY_MEM"):
        import tracemalloc

        tracemalloc.start()

        async def sample():
            while True:
                rss = 0
                with open("/proc/self/status") as f:
                    for line in f:
                        if line.startswith("VmRSS:"):
                            rss = int(line.split()[1])
                log("mem rss_kb=%d traced=%d", rss, tracemalloc.get_traced_memory()[0])
                await asyncio.sleep(1)

        asyncio.create_task(sample())

    # The first connection may meet a fault too: retry as mqtt_as
    # applications do, until the policy takes over.
    while True:
        try:
            await client.connect()
            break
        except OSError as e:
            log("connection lost: first connect failed: %s", e)
            await asyncio.sleep(o["b"] / 1000)

    async def publisher():
        for i in range(1, o["n"] + 1):
            await client.publish(o["t"], str(i), retain=o["r"], qos=o["q"])
            if o["d"]:
                await asyncio.sleep(o["d"] / 1000)
        log("published %d messages, all acknowledged", o["n"])
        done.set()

    if pub:
        asyncio.create_task(publisher())
    waits = [asyncio.create_task(done.wait()), asyncio.create_task(stop.wait())]
    finished, _ = await asyncio.wait(waits, timeout=o["T"] or None, return_when=asyncio.FIRST_COMPLETED)
    rc = 0 if finished else 1
    if not finished:
        log("timed out after %d s", o["T"])
    try:
        await asyncio.wait_for(client.disconnect(), 5)
    except (OSError, asyncio.TimeoutError) as e:
        log("disconnect: %s", e)
    log("exit %d", rc)
    return rc


def main():
    o = options(sys.argv[1:])
    sys.exit(asyncio.run(run(o)))


if __name__ == "__main__":
    main()
