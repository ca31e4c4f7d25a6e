#!/usr/bin/env python3
"""A TCP fault-injection proxy for MQTT, between a client and a broker.

Python 3 standard library only (asyncio). Everything on 127.0.0.1.

    proxy.py --upstream BROKER_PORT [--listen PORT] [--control PORT] [--ready FILE]

Clients connect to the listen port; each connection is forwarded to the
broker at 127.0.0.1:BROKER_PORT. The proxy parses MQTT framing in both
directions (fixed header and remaining length: enough to know packet types
and boundaries), so faults can be aimed at a moment of a flow.

Control: a line protocol on the control port (one command per line, one
JSON object per reply line, {"ok": true, ...} or {"ok": false, "error": ...}).
Directions are c2b (client to broker), b2c (broker to client) or any.

    heal                      end blackhole, delay, throttle and refuse (new
                              connections are clean again; connections already
                              damaged stay damaged: their lost bytes are gone)
    blackhole                 forward nothing, silently, on every connection,
                              now and new ones, until heal
    reset                     RST (SO_LINGER 0) both sides of every connection
    refuse                    RST every new connection at once, until heal
    delay MS [JITTER_MS]      add MS +- JITTER_MS to every chunk, order kept
    throttle BYTES_PER_S      limit each direction of each connection
    cut-mid DIR               forward half of the next packet in DIR, then RST
                              both sides (one shot)
    cut DIR TYPE before|after [NTH]
                              at the NTH (1) packet of TYPE (CONNECT, CONNACK,
                              PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP,
                              SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, ...) in DIR
                              counted from now: RST both sides before or after
                              forwarding it (one shot), e.g.
                              `cut b2c PUBREC after`: the broker's PUBREC
                              reaches the client, its PUBREL never leaves
    halfopen DIR              stop forwarding DIR on every current connection,
                              sockets kept open (the other direction flows)
    disarm                    cancel pending one-shot cuts
    events [FROM]             the event log from index FROM (0): open, close,
                              connack, reset, cut, ... with CLOCK_MONOTONIC
                              times (comparable with time.monotonic() of any
                              process on the machine)
    stats                     counters; "ready" counts the connections
                              that work (CONNACK passed, nothing dropped)
    flush                     write out the trace (--trace) buffered so far
    quit                      stop the proxy

A connection's "close" event says which side closed it first ("by":
"client" or "broker"); "reset" events are the proxy's own faults.

With --trace FILE the proxy writes one line per CONNECT, CONNACK, PUBLISH,
PUBACK, PUBREC, PUBREL, PUBCOMP and DISCONNECT that it reads, once its
fate is known, tab-separated:

    TIME CONN DIR FATE TYPE [fields]

FATE is fwd (written to the other side), drop (blackhole or half-open),
cut (a cut fault: not forwarded, or only half of it) or unsent (still
queued when the connection died). Fields: CONNECT client-id; CONNACK
session-present return-code; PUBLISH packet-id qos dup topic payload
(topic with %XX escapes, payload as text when printable, else 0x + hex);
the others packet-id.

Any client that speaks TCP to 127.0.0.1 can be put behind it: the Rust and C
clients of tests/faults/run, or a CPython mqtt_as client (see README.md).
"""

import argparse
import asyncio
import json
import os
import random
import socket
import struct
import sys
import time

TYPES = {
    "CONNECT": 1, "CONNACK": 2, "PUBLISH": 3, "PUBACK": 4, "PUBREC": 5,
    "PUBREL": 6, "PUBCOMP": 7, "SUBSCRIBE": 8, "SUBACK": 9, "UNSUBSCRIBE": 10,
    "UNSUBACK": 11, "PINGREQ": 12, "PINGRESP": 13, "DISCONNECT": 14, "AUTH": 15,
}
NAMES = {v: k for k, v in TYPES.items()}
DIRS = ("c2b", "b2c")
TRACED = {TYPES[t] for t in ("CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
                             "PUBCOMP", "DISCONNECT")}


def varint(pkt, i):
    """(value, index after it) of the variable byte integer at pkt[i]."""
    mult, value = 1, 0
    while True:
        b = pkt[i]
        i += 1
        value += (b & 0x7F) * mult
        if not b & 0x80:
            return value, i
        mult *= 128


def text(b):
    s = b.decode("ascii", "replace")
    if b and all(33 <= c < 127 and c != 0x25 for c in b):
        return s
    return "0x" + b.hex()


def describe(pkt, v5):
    """The trace fields of a packet (see the module docstring)."""
    ptype = pkt[0] >> 4
    _, i = varint(pkt, 1)
    if ptype == TYPES["CONNECT"]:
        i += 2 + (pkt[i] << 8 | pkt[i + 1])  # protocol name
        level = pkt[i]
        i += 4  # level, flags, keep alive
        if level == 5:
            n, i = varint(pkt, i)
            i += n
        n = pkt[i] << 8 | pkt[i + 1]
        return [text(pkt[i + 2:i + 2 + n])]
    if ptype == TYPES["CONNACK"]:
        return [str(pkt[i] & 1), str(pkt[i + 1])]
    if ptype == TYPES["PUBLISH"]:
        qos = (pkt[0] >> 1) & 3
        n = pkt[i] << 8 | pkt[i + 1]
        topic = pkt[i + 2:i + 2 + n]
        i += 2 + n
        pid = 0
        if qos:
            pid = pkt[i] << 8 | pkt[i + 1]
            i += 2
        if v5:
            n, i = varint(pkt, i)
            i += n
        quoted = "".join(chr(c) if 33 <= c < 127 and c != 0x25 else "%%%02X" % c for c in topic)
        return [str(pid), str(qos), str(pkt[0] >> 3 & 1), quoted or "-", text(pkt[i:]) or "-"]
    if ptype == TYPES["DISCONNECT"]:
        return []
    return [str(pkt[i] << 8 | pkt[i + 1])]


class Framer:
    """Splits a byte stream into MQTT packets (fixed header + remaining length)."""

    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        self.buf += data
        out = []
        while True:
            n = self._length()
            if n is None or len(self.buf) < n:
                return out
            out.append(bytes(self.buf[:n]))
            del self.buf[:n]

    def _length(self):
        if len(self.buf) < 2:
            return None
        mult, value = 1, 0
        for i in range(1, 5):
            if i >= len(self.buf):
                return None
            b = self.buf[i]
            value += (b & 0x7F) * mult
            if not b & 0x80:
                return 1 + i + value
            mult *= 128
        # A malformed length: pass the bytes on as they are, the endpoints
        # must cope (that is their test, not ours).
        return len(self.buf)


def rst(writer):
    """Close with RST: SO_LINGER on, timeout 0."""
    sock = writer.get_extra_info("socket")
    try:
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    writer.transport.abort()


class Conn:
    def __init__(self, proxy, cid, creader, cwriter):
        self.proxy = proxy
        self.id = cid
        self.readers = {"c2b": creader}
        self.writers = {"b2c": cwriter}
        self.cwriter = cwriter
        self.bwriter = None
        self.dead = set()  # directions no longer forwarded (blackhole, halfopen)
        self.closed = False
        self.connacked = False
        self.tasks = []
        self.queues = {d: asyncio.Queue() for d in DIRS}
        self.last_at = {d: 0.0 for d in DIRS}
        self.v5 = False
        self.eof = None  # the side that closed first
        self.held = {}  # direction -> the queued item its writer holds

    def trace(self, d, pkt, fate):
        if self.proxy.trace is None or pkt[0] >> 4 not in TRACED:
            return
        ptype = pkt[0] >> 4
        try:
            if ptype == TYPES["CONNECT"]:
                _, i = varint(pkt, 1)
                self.v5 = pkt[i + 2 + (pkt[i] << 8 | pkt[i + 1])] == 5
            fields = describe(pkt, self.v5)
        except IndexError:
            fields = ["malformed"]
        self.proxy.trace.write("\t".join(["%.6f" % time.monotonic(), str(self.id), d, fate,
                                           NAMES[ptype]] + fields) + "\n")

    def kill(self, how):
        if self.closed:
            return
        self.closed = True
        if how == "close" and self.eof:
            self.proxy.event(self.id, how, by="client" if self.eof == "c2b" else "broker")
        else:
            self.proxy.event(self.id, how)
        if self.proxy.trace is not None:
            for d in DIRS:
                items = [self.held.pop(d)] if d in self.held else []
                while not self.queues[d].empty():
                    items.append(self.queues[d].get_nowait())
                for _, pkt, then in items:
                    if pkt and then != "cut-mid":
                        self.trace(d, pkt, "unsent")
        for w in (self.cwriter, self.bwriter):
            if w is not None:
                if how == "close":
                    w.close()
                else:
                    rst(w)
        for t in self.tasks:
            if t is not asyncio.current_task():
                t.cancel()
        self.proxy.conns.pop(self.id, None)

    async def read(self, d):
        """Reader of direction d: frame, apply faults, queue for the writer."""
        framer = Framer()
        reader = self.readers[d]
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    self.eof = self.eof or d
                    break
                if d in self.dead or self.proxy.blackhole:
                    self.proxy.dropped[d] += len(data)
                    for pkt in framer.feed(data):
                        self.trace(d, pkt, "drop")
                    continue
                for pkt in framer.feed(data):
                    ptype = pkt[0] >> 4
                    verdict = self.proxy.aim(self, d, ptype)
                    if verdict == "before":
                        self.trace(d, pkt, "cut")
                        self.queues[d].put_nowait((0, None, "cut"))
                        return
                    if verdict == "mid":
                        self.trace(d, pkt, "cut")
                        self.queues[d].put_nowait((self.at(d), pkt[: max(1, len(pkt) // 2)], "cut-mid"))
                        return
                    self.queues[d].put_nowait((self.at(d), pkt, "cut" if verdict == "after" else None))
        except (ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            return
        # EOF or error on one side: close the whole connection (the other
        # side sees FIN, as through a real NAT).
        self.queues[d].put_nowait((0, None, "close"))

    def at(self, d):
        """Delivery time of a chunk queued now: delay +- jitter, in order."""
        t = time.monotonic()
        if self.proxy.delay_ms:
            j = self.proxy.jitter_ms
            t += max(0.0, (self.proxy.delay_ms + random.uniform(-j, j)) / 1000.0)
        t = max(t, self.last_at[d])
        self.last_at[d] = t
        return t

    async def write(self, d):
        writer = self.writers[d]
        q = self.queues[d]
        try:
            while True:
                item = self.held[d] = await q.get()
                at, data, then = item
                wait = at - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                del self.held[d]
                if data and then != "cut-mid":  # a half packet was traced when cut
                    fate = "drop" if d in self.dead or self.proxy.blackhole else "fwd"
                    self.trace(d, data, fate)
                if data and d not in self.dead and not self.proxy.blackhole:
                    writer.write(data)
                    await writer.drain()
                    self.proxy.forwarded[d] += len(data)
                    if self.proxy.bps:
                        await asyncio.sleep(len(data) / self.proxy.bps)
                    if d == "b2c" and data[0] >> 4 == TYPES["CONNACK"]:
                        self.connacked = True
                        self.proxy.event(self.id, "connack")
                if then in ("cut", "cut-mid"):
                    self.kill("reset")
                    return
                if then == "close":
                    self.kill("close")
                    return
        except (ConnectionError, OSError):
            self.kill("close")
        except asyncio.CancelledError:
            return


class Proxy:
    def __init__(self, upstream, trace=None):
        self.upstream = upstream
        self.trace = trace
        self.conns = {}
        self.next_id = 1
        self.events = []
        self.blackhole = False
        self.refuse = False
        self.delay_ms = 0
        self.jitter_ms = 0
        self.bps = 0
        self.shots = []  # armed one-shot cuts
        self.forwarded = {d: 0 for d in DIRS}
        self.dropped = {d: 0 for d in DIRS}
        self.connections = 0

    def event(self, cid, what, **extra):
        e = {"t": time.monotonic(), "conn": cid, "ev": what}
        e.update(extra)
        self.events.append(e)

    def aim(self, conn, d, ptype):
        """The verdict of the armed cuts for a packet: None, before, after, mid."""
        for shot in self.shots:
            if shot["dir"] not in (d, "any"):
                continue
            if shot["type"] is not None and shot["type"] != ptype:
                continue
            shot["seen"] += 1
            if shot["seen"] < shot["nth"]:
                continue
            self.shots.remove(shot)
            self.event(conn.id, "cut", dir=d, type=NAMES.get(ptype, str(ptype)), how=shot["how"])
            return shot["how"]
        return None

    async def serve(self, creader, cwriter):
        cid = self.next_id
        self.next_id += 1
        self.connections += 1
        if self.refuse:
            self.event(cid, "refused")
            rst(cwriter)
            return
        conn = Conn(self, cid, creader, cwriter)
        self.conns[cid] = conn
        self.event(cid, "open")
        try:
            breader, bwriter = await asyncio.open_connection("127.0.0.1", self.upstream)
        except OSError:
            # Broker down: the client sees its connection reset.
            self.conns.pop(cid, None)
            self.event(cid, "upstream-refused")
            rst(cwriter)
            return
        for w in (cwriter, bwriter):
            s = w.get_extra_info("socket")
            if s is not None:
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.bwriter = bwriter
        conn.readers["b2c"] = breader
        conn.writers["c2b"] = bwriter
        if conn.closed:
            rst(bwriter)
            return
        conn.tasks = [
            asyncio.ensure_future(conn.read("c2b")),
            asyncio.ensure_future(conn.read("b2c")),
            asyncio.ensure_future(conn.write("c2b")),
            asyncio.ensure_future(conn.write("b2c")),
        ]

    def command(self, line):
        words = line.split()
        if not words:
            return {"ok": False, "error": "empty command"}
        cmd, args = words[0], words[1:]
        now = time.monotonic()
        if cmd == "heal":
            self.blackhole = self.refuse = False
            self.delay_ms = self.jitter_ms = self.bps = 0
        elif cmd == "blackhole":
            self.blackhole = True
            # The bytes lost now can never be delivered: these connections
            # stay dead after heal, as their stream has a hole.
            for c in self.conns.values():
                c.dead.update(DIRS)
        elif cmd == "reset":
            for c in list(self.conns.values()):
                c.kill("reset")
        elif cmd == "refuse":
            self.refuse = True
        elif cmd == "delay":
            self.delay_ms = int(args[0])
            self.jitter_ms = int(args[1]) if len(args) > 1 else 0
        elif cmd == "throttle":
            self.bps = int(args[0])
        elif cmd == "cut-mid":
            self.shots.append({"dir": args[0], "type": None, "how": "mid", "nth": 1, "seen": 0})
        elif cmd == "cut":
            d, tname, how = args[0], args[1].upper(), args[2]
            if how not in ("before", "after") or tname not in TYPES or d not in DIRS + ("any",):
                return {"ok": False, "error": "cut DIR TYPE before|after [NTH]"}
            nth = int(args[3]) if len(args) > 3 else 1
            self.shots.append({"dir": d, "type": TYPES[tname], "how": how, "nth": nth, "seen": 0})
        elif cmd == "halfopen":
            dirs = DIRS if args[0] == "any" else (args[0],)
            for c in self.conns.values():
                c.dead.update(dirs)
        elif cmd == "disarm":
            self.shots.clear()
        elif cmd == "flush":
            if self.trace is not None:
                self.trace.flush()
            return {"ok": True}
        elif cmd == "events":
            start = int(args[0]) if args else 0
            return {"ok": True, "events": self.events[start:], "next": len(self.events)}
        elif cmd == "stats":
            return {
                "ok": True, "connections": self.connections, "open": len(self.conns),
                "forwarded": self.forwarded, "dropped": self.dropped,
                "armed": len(self.shots),
                # Connections that work: CONNACK seen, nothing blackholed.
                "ready": sum(1 for c in self.conns.values()
                             if c.connacked and not c.dead and not c.closed),
            }
        elif cmd == "quit":
            for c in list(self.conns.values()):
                c.kill("close")
            asyncio.get_event_loop().call_soon(sys.exit, 0)
        else:
            return {"ok": False, "error": "unknown command " + cmd}
        self.event(0, "fault", cmd=line.strip())
        return {"ok": True, "t": now}

    async def control(self, reader, writer):
        try:
            while True:
                line = await reader.readline()
                if not line:
                    break
                try:
                    reply = self.command(line.decode())
                except (IndexError, ValueError) as e:
                    reply = {"ok": False, "error": str(e)}
                writer.write((json.dumps(reply) + "\n").encode())
                await writer.drain()
                if line.strip() == b"quit":
                    break
        except (ConnectionError, OSError):
            pass
        writer.close()


async def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--upstream", type=int, required=True, help="broker port on 127.0.0.1")
    ap.add_argument("--listen", type=int, default=0, help="port for clients (0: any free)")
    ap.add_argument("--control", type=int, default=0, help="control port (0: any free)")
    ap.add_argument("--ready", help="write {listen, control} as JSON here once up")
    ap.add_argument("--trace", help="write the packet trace here (see above)")
    a = ap.parse_args()
    proxy = Proxy(a.upstream, open(a.trace, "a", buffering=1 << 16) if a.trace else None)
    server = await asyncio.start_server(proxy.serve, "127.0.0.1", a.listen)
    ctl = await asyncio.start_server(proxy.control, "127.0.0.1", a.control)
    ports = {
        "listen": server.sockets[0].getsockname()[1],
        "control": ctl.sockets[0].getsockname()[1],
    }
    if a.ready:
        tmp = a.ready + ".tmp"
        with open(tmp, "w") as f:
            json.dump(ports, f)
        os.rename(tmp, a.ready)
    else:
        print(json.dumps(ports), flush=True)
    await asyncio.gather(server.serve_forever(), ctl.serve_forever())


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except (KeyboardInterrupt, SystemExit):
        pass
