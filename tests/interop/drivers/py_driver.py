#!/usr/bin/env python3
"""The mqtt_as client of tests/interop: a plain mqtt_as application on
CPython (the package over the ctypes binding of libmqttas.so, MQTTAS_LIB)
driven by the command lines of tests/interop/README.md on stdin, one event a
line on stdout.

Only mqtt_as's public API is used, so what mqtt_as does not tell an
application is printed as '-': the QoS and DUP flag of a message, the
session present flag and packet ids. mqtt_as reconnects by itself after an
outage (`lost` then `connected` again); `drop` closes the client without
DISCONNECT (close()), `disconnect` ends it cleanly.
"""

import asyncio
import binascii
import os
import sys
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, "micropython-module", "cpython"))
sys.path.insert(0, os.path.join(ROOT, "micropython-module"))

from mqtt_as import MQTTClient, config  # noqa: E402


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def props_text(props):
    s = ""
    for pid, v in sorted((props or {}).items()):
        if pid == 0x02:
            s += " expiry=%d" % v
        elif pid == 0x23:
            s += " alias=%d" % v
        elif pid == 0x26:
            pairs = v.items() if isinstance(v, dict) else v
            for k, val in pairs:
                s += " up=%s:%s" % (k, val)
        else:
            s += " prop%d" % pid
    return s


class Driver:
    def __init__(self):
        self.client = None
        self.v5 = False

    def on_message(self, topic, msg, retained, properties=None):
        out("msg topic=%s payload=%s qos=- retain=%d dup=-%s" % (
            topic.decode(), binascii.hexlify(msg).decode(), 1 if retained else 0, props_text(properties)))

    async def on_wifi(self, up):
        if not up:
            out("lost why=outage (mqtt_as reconnects)")

    async def on_connect(self, client):
        if client is not self.client:
            return
        extra = " alias_max=%d" % client.topic_alias_maximum if self.v5 and client.topic_alias_maximum else ""
        out("connected sp=-" + extra)

    async def connect(self, a):
        if self.client is not None:
            self.client.close()
        self.v5 = a.get("v") == "5"
        clean = a.get("clean", "1") != "0"
        c = dict(config)
        c.update(
            server="127.0.0.1", port=int(a["port"]), client_id=a.get("id", ""),
            keepalive=int(a.get("ka", 30)), response_time=5, clean=clean, clean_init=clean,
            mqttv5=self.v5, subs_cb=self.on_message, wifi_coro=self.on_wifi,
            connect_coro=self.on_connect, queue_len=0,
        )
        if "will_topic" in a:
            c["will"] = (a["will_topic"], binascii.unhexlify(a.get("will_payload", "")),
                         a.get("will_retain", "0") == "1", int(a.get("will_qos", 0)))
        if self.v5:
            props = {}
            if "expiry" in a:
                props[0x11] = int(a["expiry"])
            if int(a.get("alias_max", 0)):
                props[0x22] = int(a["alias_max"])
            c["mqttv5_con_props"] = props or None
        self.client = MQTTClient(c)
        try:
            await self.client.connect()
        except OSError as e:
            out("lost why=%s" % (e.args[-1],))

    async def publish(self, a):
        props = {}
        users = []
        for k, v in a["_pairs"]:
            if k == "expiry":
                props[0x02] = int(v)
            elif k == "alias":
                props[0x23] = int(v)
            elif k == "up":
                users.append(tuple(v.split(":", 1)))
        if users:
            props[0x26] = users
        qos = int(a.get("qos", 0))
        try:
            await self.client.publish(a.get("topic", ""), binascii.unhexlify(a.get("payload", "")),
                                      a.get("retain", "0") == "1", qos, props or None)
        except (OSError, ValueError, TypeError) as e:
            out("error what=publish:%s" % (e,))
            return
        out("published pid=- reason=0" if qos else "queued pid=0")

    async def subscribe(self, a):
        try:
            code = await self.client.subscribe(a["topic"], int(a.get("qos", 0)))
        except (OSError, ValueError) as e:
            out("error what=subscribe:%s" % (e,))
            return
        out("suback codes=%s" % ("" if code is None else code))

    async def unsubscribe(self, a):
        try:
            await self.client.unsubscribe(a["topic"])
        except (OSError, ValueError) as e:
            out("error what=unsubscribe:%s" % (e,))
            return
        out("unsuback codes=")

    async def disconnect(self, a):
        await self.client.disconnect()
        out("disconnected")

    async def drop(self, a):
        self.client.close()
        out("dropped")

    async def ping(self, a):
        out("pong")


async def main():
    loop = asyncio.get_running_loop()
    lines = asyncio.Queue()

    def read():
        for line in sys.stdin:
            loop.call_soon_threadsafe(lines.put_nowait, line.strip())
        loop.call_soon_threadsafe(lines.put_nowait, None)

    threading.Thread(target=read, daemon=True).start()
    d = Driver()
    commands = {"connect": d.connect, "pub": d.publish, "sub": d.subscribe, "unsub": d.unsubscribe,
                "disconnect": d.disconnect, "drop": d.drop, "ping": d.ping}
    tasks = set()
    while True:
        line = await lines.get()
        if line is None or line == "quit":
            break
        words = line.split()
        if not words:
            continue
        pairs = [w.split("=", 1) for w in words[1:] if "=" in w]
        a = dict(pairs)
        a["_pairs"] = pairs
        fn = commands.get(words[0])
        if fn is None:
            out("error what=%s:unknown command" % words[0])
        elif words[0] not in ("connect", "ping") and d.client is None:
            out("error what=%s:no client yet" % words[0])
        else:
            # Each command runs on as a task (a QoS 1/2 publication waits for
            # its acknowledgement); they start in the order given.
            t = asyncio.create_task(fn(a))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            await asyncio.sleep(0)
    if d.client is not None:
        d.client.close()


if __name__ == "__main__":
    asyncio.run(main())
