# Runs under MicroPython (tests/python/test_micropython.py): the mqtt_as
# package's pure-Python parts must work there, not only on CPython.
import sys
import asyncio

import _mqttas
import mqtt_as
from mqtt_as import MQTTClient, config
from mqtt_as.options import HOST_SIZES

passed = 0


def ok(cond, what):
    global passed
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    passed += 1


def raises(exc, text, f, *args):
    try:
        f(*args)
    except exc as e:
        ok(text in str(e), "%s: %r" % (text, e))
        return
    ok(False, "no %s for %s" % (exc.__name__, text))


ok(sys.implementation.name == "micropython", "running on MicroPython")
ok(mqtt_as.VERSION == (0, 8, 3), "VERSION")
from mqtt_as import MQTTException  # noqa: E402  (made when first asked for)
ok(issubclass(MQTTException, Exception) and mqtt_as.MQTTException is MQTTException, "MQTTException")
ok(config["server"] is None and config["keepalive"] == 60, "defaults")
ok(isinstance(config["client_id"], bytes), "client_id bytes")

# The config goes to the core's object as given, with the host's sizes
# (the unix port is a host); it checks it (the stand-in here does not).
c = dict(config)
c["server"] = "127.0.0.1"
c["mqttv5"] = True
c["mqttv5_con_props"] = {0x11: 3600, 0x22: 5, 0x26: {"a": "b"}}
cl = MQTTClient(c)
got, sizes = _mqttas.Client.last
ok(got is c and sizes is HOST_SIZES, "config and sizes to the core")
ok(cl.port == 1883 and cl.server == "127.0.0.1" and not cl.isconnected(), "client")
d = dict(c)
del d["client_id"]
MQTTClient(d)
got, _ = _mqttas.Client.last
ok(got is not d and got["client_id"] and "client_id" not in d, "a client id made, the config left as it was")
# 5.0 properties are checked here, in Python (properties.py).
d = dict(c)
d["mqttv5_con_props"] = {0x02: 1}
raises(ValueError, "0x02 is not allowed in CONNECT", MQTTClient, d)


async def queue():
    q = mqtt_as.MsgQueue(2)
    for i in range(3):
        q.put(b"t", str(i), False)
    got = []
    async for t, m, r in q:
        got.append(m)
        if not q.qsize():
            break
    return got, q.discards


got, discards = asyncio.run(queue())
ok(got == ["1", "2"] and discards == 1, "MsgQueue")

# The MicroPython paths of compat and links.socket (CPython takes others):
# timeouts without asyncio.funcs, wake-ups without asyncio.event, the
# socket stream without asyncio.stream.
from mqtt_as.compat import within_ms, Changes, Alarm  # noqa: E402
from mqtt_as.links.socket import SocketLink, SockStream  # noqa: E402


async def value(ms, v):
    await asyncio.sleep_ms(ms)
    return v


async def compat_paths():
    out = {}
    try:
        await within_ms(asyncio.sleep_ms(5000), 30)
        out["timeout"] = False
    except asyncio.TimeoutError:
        out["timeout"] = True
    out["value"] = await within_ms(value(5, 42), 1000)

    async def cancelled_inside():
        try:
            await within_ms(asyncio.sleep_ms(5000), 2000)
        except asyncio.CancelledError:
            out["cancel"] = True
            raise
    t = asyncio.create_task(cancelled_inside())
    await asyncio.sleep_ms(5)
    t.cancel()
    await asyncio.sleep_ms(5)

    c = Changes()
    res = []

    async def waiter(i, ms):
        res.append((i, await c.wait(ms)))
    for i, ms in enumerate((None, 1000, 20)):
        asyncio.create_task(waiter(i, ms))
    await asyncio.sleep_ms(40)
    c.notify()
    await asyncio.sleep_ms(5)
    out["changes"] = sorted(res)
    t = asyncio.create_task(waiter(9, None))
    await asyncio.sleep_ms(5)
    t.cancel()
    await asyncio.sleep_ms(5)
    c.notify()
    await asyncio.sleep_ms(5)
    out["changes_cancel"] = all(i != 9 for i, _ in res)

    a = Alarm()
    woke = []

    async def sleeper():
        woke.append(await a.sleep(5000))
        woke.append(await a.sleep(10))
        try:
            await a.sleep(5000)
        except asyncio.CancelledError:
            woke.append("cancelled")
    t = asyncio.create_task(sleeper())
    await asyncio.sleep_ms(5)
    a.wake()
    await asyncio.sleep_ms(40)
    t.cancel()
    await asyncio.sleep_ms(5)
    out["alarm"] = woke

    # SockStream to a local listener (port from test_micropython.py):
    # bytes both ways, the end of the stream, a refused connection.
    import os
    import socket
    port = int(os.getenv("MQTTAS_CHECK_PORT"))
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    srv.listen(1)
    link = SocketLink()
    st = await link.open(("127.0.0.1", port), False, None, 1000)
    conn = srv.accept()[0]
    conn.send(b"hello")
    got = [await st.read(64)]
    st.write(b"ping")
    await st.drain()
    got.append(conn.recv(64))
    conn.close()
    got.append(await st.read(64))
    st.close()
    srv.close()
    out["stream"] = (type(st) is SockStream, got)
    # A drain cut short (its task cancelled) keeps its progress: what
    # arrives is exactly what was written (issue 12, defect 10).
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_RCVBUF", 8), 4096)
    srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    srv.listen(1)
    st = await link.open(("127.0.0.1", port), False, None, 1000)
    # Small kernel buffers both ends (Linux: SO_RCVBUF 8, SO_SNDBUF 7),
    # so that the drain has to wait.
    st._s.setsockopt(socket.SOL_SOCKET, getattr(socket, "SO_SNDBUF", 7), 4096)
    conn = srv.accept()[0]
    conn.setblocking(False)
    got = []

    def take(limit):
        n = 0
        while n < limit:
            try:
                data = conn.recv(min(4096, limit - n))
            except OSError:  # EAGAIN: nothing more for now.
                break
            if not data:
                break
            got.append(data)
            n += len(data)
        return n

    data = bytes(i * 7 & 0xFF for i in range(150000))
    st.write(data)
    take(4096)
    t = asyncio.create_task(st.drain())
    for _ in range(3):
        await asyncio.sleep_ms(5)
        take(4096)
    t.cancel()
    await asyncio.sleep_ms(5)
    cut = st.buffered() > 0  # Cut short half way.
    st.write(b"DISCONNECT")
    t = asyncio.create_task(st.drain())
    while not t.done():
        await asyncio.sleep_ms(1)
        take(1 << 20)
    take(1 << 20)
    st.close()
    conn.close()
    srv.close()
    got = b"".join(got)
    out["cut"] = (cut, len(got) - len(data) - 10, got == data + b"DISCONNECT")
    # As with asyncio's streams, a refused connection fails on first use.
    try:
        st = await link.open(("127.0.0.1", port), False, None, 1000)
        st.write(b"x")
        await st.drain()
        await st.read(64)
        out["refused"] = False
    except OSError:
        out["refused"] = True
    return out


async def probe():
    # wan_ok()'s DNS probe on MicroPython: an answer within the time, none
    # from a silent server; neither loads asyncio.stream nor asyncio.funcs
    # (point 6 of issue 14: modules loaded that serve nothing).
    import os
    import socket
    port = int(os.getenv("MQTTAS_CHECK_PORT"))
    srv = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    srv.bind(socket.getaddrinfo("127.0.0.1", port)[0][-1])
    srv.setblocking(False)

    async def answer():
        while True:
            try:
                data, addr = srv.recvfrom(512)
            except OSError:
                await asyncio.sleep_ms(2)
                continue
            srv.sendto(data[:2] + bytes([data[2] | 0x80]) + data[3:], addr)
            return

    t = asyncio.create_task(answer())
    link = SocketLink()
    query = b"\x12\x34\x01\x00" + bytes(8)
    answered = await link.dns_probe(("127.0.0.1", port), query, 2000)
    await t
    silent = await link.dns_probe(("127.0.0.1", port), query, 50)
    srv.close()
    return answered, silent, [m for m in ("asyncio.stream", "asyncio.funcs") if m in sys.modules]


ok(asyncio.run(probe()) == (True, False, []), "dns_probe: answered, silent, no asyncio.stream/funcs")
out = asyncio.run(compat_paths())
ok(out["timeout"] and out["value"] == 42 and out.get("cancel"), "within_ms: timeout, value, cancel")
ok(out["changes"] == [(0, True), (1, True), (2, False)] and out["changes_cancel"], "Changes")
ok(out["alarm"] == [True, False, "cancelled"], "Alarm")
ok(out["stream"] == (True, [b"hello", b"ping", b""]) and out["refused"], "SockStream")
ok(out["cut"] == (True, 0, True), "SockStream: a drain cut short sends nothing twice %r" % (out["cut"],))

# Every module compiles under MicroPython, the WLAN link too (it imports
# `network`, which the unix port lacks, so only compile it).
for name in ("wlan",):
    src = open(mqtt_as.__file__.rsplit("/", 1)[0] + "/links/" + name + ".py").read()
    compile(src, name, "exec")
    passed += 1
print("micropython: %d passed" % passed)
