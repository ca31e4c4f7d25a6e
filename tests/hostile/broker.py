"""The hostile suite's fake broker: MQTT 3.1.1 and 5.0 packets built by hand
(so that they can be wrong on purpose), the client's packets parsed and
logged, one `Conn` per client connection.

Python standard library only; everything listens on 127.0.0.1.

A scenario (scenarios.py) drives each connection: `await conn.accept()`
answers CONNECT with CONNACK and SUBSCRIBE with SUBACK like a good broker,
then the scenario sends whatever bytes it wants. Every packet the client
sends is kept with its time (`conn.log`), PINGREQ is answered (unless
`conn.pingresp` is False), and `conn.wait_closed()` tells when the client
closed the connection.

Run alone, it serves one scenario so that a client can be tried by hand:

    python3 tests/hostile/broker.py rl-5-bytes -V 5
    # prints the port; then, in another shell:
    mqttas_client -m sub -t 'hostile/#' -q 2 -n 0 -V 5 -p PORT -v
"""

import asyncio
import struct
import time

# Packet types.
CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP = 8, 9, 10, 11, 12, 13
DISCONNECT, AUTH = 14, 15
NAMES = {
    0: "RESERVED0", 1: "CONNECT", 2: "CONNACK", 3: "PUBLISH", 4: "PUBACK", 5: "PUBREC",
    6: "PUBREL", 7: "PUBCOMP", 8: "SUBSCRIBE", 9: "SUBACK", 10: "UNSUBSCRIBE",
    11: "UNSUBACK", 12: "PINGREQ", 13: "PINGRESP", 14: "DISCONNECT", 15: "AUTH",
}

# 5.0 property identifiers by value type (MQTT 5.0 2.2.2.2).
_BYTE = {0x01, 0x17, 0x19, 0x24, 0x25, 0x28, 0x29, 0x2A}
_TWO = {0x13, 0x21, 0x22, 0x23}
_FOUR = {0x02, 0x11, 0x18, 0x27}
_VARINT = {0x0B}
_STRING = {0x03, 0x08, 0x12, 0x15, 0x1A, 0x1C, 0x1F}
_BINARY = {0x09, 0x16}
_PAIR = {0x26}


# ---- encoding ----------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(s):
    b = s.encode() if isinstance(s, str) else bytes(s)
    return struct.pack(">H", len(b)) + b


def props(items):
    """A 5.0 property block from [(id, value), ...]; an id outside the
    table is written as a byte id followed by `value` as raw bytes."""
    body = bytearray()
    for pid, val in items:
        body += varint(pid)
        if pid in _BYTE:
            body.append(val)
        elif pid in _TWO:
            body += struct.pack(">H", val)
        elif pid in _FOUR:
            body += struct.pack(">I", val)
        elif pid in _VARINT:
            body += varint(val)
        elif pid in _STRING or pid in _BINARY:
            body += string(val)
        elif pid in _PAIR:
            body += string(val[0]) + string(val[1])
        else:
            body += bytes(val)
    return varint(len(body)) + bytes(body)


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


def connack(v5, code=0, session_present=False, properties=(), flags=None, first=0x20):
    f = (1 if session_present else 0) if flags is None else flags
    body = bytes([f, code])
    if v5:
        body += props(properties)
    return packet(first, body)


def suback(v5, pid, codes, properties=()):
    body = struct.pack(">H", pid)
    if v5:
        body += props(properties)
    return packet(0x90, body + bytes(codes))


def unsuback(v5, pid, codes=(), properties=()):
    body = struct.pack(">H", pid)
    if v5:
        body += props(properties) + bytes(codes)
    return packet(0xB0, body)


def publish(v5, topic, payload, qos=0, pid=None, dup=False, retain=False, properties=(),
            flags=None):
    """PUBLISH; `topic` may be bytes (ill-formed on purpose), `flags`
    overrides the fixed header's low nibble (QoS 3, ...)."""
    f = (8 if dup else 0) | (qos << 1) | (1 if retain else 0) if flags is None else flags
    body = string(topic)
    if (f >> 1) & 3:
        body += struct.pack(">H", pid if pid is not None else 1)
    if v5:
        body += props(properties)
    return packet(0x30 | f, body + bytes(payload))


def ack(kind, v5, pid, reason=0, properties=(), first=None):
    """PUBACK, PUBREC, PUBREL or PUBCOMP (PUBREL with its 0b0010 flags)."""
    body = struct.pack(">H", pid)
    if v5 and (reason or properties):
        body += bytes([reason])
        if properties:
            body += props(properties)
    if first is None:
        first = (kind << 4) | (2 if kind == PUBREL else 0)
    return packet(first, body)


def disconnect(v5, reason=0, properties=()):
    if not v5:
        return b"\xe0\x00"
    return packet(0xE0, bytes([reason]) + props(properties))


PINGRESP_BYTES = b"\xd0\x00"


# ---- decoding the client's packets -------------------------------------

class Malformed(Exception):
    pass


def _varint_at(b, i):
    n = shift = 0
    for k in range(4):
        if i + k >= len(b):
            raise Malformed("variable byte integer runs past the end")
        c = b[i + k]
        n |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return n, i + k + 1
    raise Malformed("variable byte integer longer than 4 bytes")


def _string_at(b, i):
    if i + 2 > len(b):
        raise Malformed("string runs past the end")
    n = struct.unpack_from(">H", b, i)[0]
    if i + 2 + n > len(b):
        raise Malformed("string runs past the end")
    return bytes(b[i + 2:i + 2 + n]), i + 2 + n


def parse_props(b, i):
    """[(id, value)], next index."""
    n, i = _varint_at(b, i)
    end = i + n
    out = []
    while i < end:
        pid, i = _varint_at(b, i)
        if pid in _BYTE:
            out.append((pid, b[i]))
            i += 1
        elif pid in _TWO:
            out.append((pid, struct.unpack_from(">H", b, i)[0]))
            i += 2
        elif pid in _FOUR:
            out.append((pid, struct.unpack_from(">I", b, i)[0]))
            i += 4
        elif pid in _VARINT:
            v, i = _varint_at(b, i)
            out.append((pid, v))
        elif pid in _STRING or pid in _BINARY:
            v, i = _string_at(b, i)
            out.append((pid, v))
        elif pid in _PAIR:
            k, i = _string_at(b, i)
            v, i = _string_at(b, i)
            out.append((pid, (k, v)))
        else:
            raise Malformed("unknown property 0x%02x" % pid)
    if i != end:
        raise Malformed("properties run past their length")
    return out, end


class Packet:
    """One packet from the client: `kind`, `name`, `flags`, `body`, time
    `t`, and per type: `pid`, `reason`, `props`, (CONNECT) `version`,
    `clean`, `keepalive`, `client_id`, (SUBSCRIBE) `filters`."""

    def __init__(self, first, body, t, v5):
        self.kind = first >> 4
        self.flags = first & 0x0F
        self.name = NAMES[self.kind]
        self.body = body
        self.t = t
        self.pid = None
        self.reason = None
        self.props = []
        try:
            self._decode(v5)
        except (Malformed, IndexError, struct.error) as e:
            self.error = str(e)
        else:
            self.error = None

    def _decode(self, v5):
        b, k = self.body, self.kind
        if k == CONNECT:
            name, i = _string_at(b, 0)
            self.version = b[i]
            cflags = b[i + 1]
            self.clean = bool(cflags & 2)
            self.keepalive = struct.unpack_from(">H", b, i + 2)[0]
            i += 4
            if self.version == 5:
                self.props, i = parse_props(b, i)
            cid, i = _string_at(b, i)
            self.client_id = cid.decode(errors="replace")
        elif k in (PUBACK, PUBREC, PUBREL, PUBCOMP):
            self.pid = struct.unpack_from(">H", b, 0)[0]
            self.reason = b[2] if v5 and len(b) > 2 else 0
            if v5 and len(b) > 3:
                self.props, _ = parse_props(b, 3)
        elif k in (SUBSCRIBE, UNSUBSCRIBE):
            self.pid = struct.unpack_from(">H", b, 0)[0]
            i = 2
            if v5:
                self.props, i = parse_props(b, i)
            self.filters = []
            while i < len(b):
                f, i = _string_at(b, i)
                opts = 0
                if k == SUBSCRIBE:
                    opts = b[i]
                    i += 1
                self.filters.append((f.decode(errors="replace"), opts))
        elif k == DISCONNECT:
            self.reason = b[0] if v5 and b else 0
            if v5 and len(b) > 1:
                self.props, _ = parse_props(b, 1)
        elif k == PUBLISH:
            topic, i = _string_at(b, 0)
            self.topic = topic
            if (self.flags >> 1) & 3:
                self.pid = struct.unpack_from(">H", b, i)[0]

    def prop(self, pid, default=None):
        for p, v in self.props:
            if p == pid:
                return v
        return default

    def __repr__(self):
        extra = ""
        if self.pid is not None:
            extra += " id=%d" % self.pid
        if self.reason is not None:
            extra += " reason=0x%02x" % self.reason
        return "<%s%s>" % (self.name, extra)


# ---- one client connection ---------------------------------------------

class Conn:
    """A client connection at the fake broker."""

    def __init__(self, reader, writer, index, on_packet=None):
        self.reader = reader
        self.writer = writer
        self.index = index
        self.t_open = time.monotonic()
        self.t_closed = None  # The client closed (EOF or reset).
        self.closed_by_broker = False
        self.t_broker_closed = None
        self.log = []  # Every packet from the client, in order.
        self.connect = None  # The CONNECT packet.
        self.v5 = False
        self.pingresp = True  # Answer PINGREQ.
        self.next_pid = 1
        self.served = asyncio.Event()  # The scenario is done with it.
        self._slow = False  # send_slowly() under way.
        self._pingresp_due = False
        self._queue = asyncio.Queue()
        self._closed = asyncio.Event()
        self._on_packet = on_packet
        self._task = asyncio.ensure_future(self._read())

    async def _read(self):
        r = self.reader
        try:
            while True:
                first = (await r.readexactly(1))[0]
                n = shift = 0
                for _ in range(4):
                    c = (await r.readexactly(1))[0]
                    n |= (c & 0x7F) << shift
                    shift += 7
                    if not c & 0x80:
                        break
                body = await r.readexactly(n) if n else b""
                p = Packet(first, body, time.monotonic(), self.v5)
                if p.kind == CONNECT and self.connect is None and not p.error:
                    self.connect = p
                    self.v5 = p.version == 5
                self.log.append(p)
                if p.kind == PINGREQ and self.pingresp:
                    if self._slow:  # Not in the middle of a packet.
                        self._pingresp_due = True
                    else:
                        self.send_now(PINGRESP_BYTES)
                if self._on_packet:
                    self._on_packet(self, p)
                self._queue.put_nowait(p)
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            pass
        except asyncio.CancelledError:
            return
        self.t_closed = time.monotonic()
        self._closed.set()
        self._queue.put_nowait(None)

    @property
    def closed(self):
        return self._closed.is_set()

    def send_now(self, data):
        if not self.writer.is_closing():
            self.writer.write(data)

    async def send(self, data):
        """Write and drain; False when the client has gone."""
        try:
            self.send_now(data)
            await self.writer.drain()
            return True
        except (ConnectionError, OSError):
            return False

    async def send_slowly(self, data, chunk, delay):
        """`data` in pieces of `chunk` bytes, `delay` seconds apart. A
        PINGRESP due meanwhile goes after the last piece, not inside a
        packet."""
        self._slow = True
        try:
            for i in range(0, len(data), chunk):
                if self.closed or not await self.send(data[i:i + chunk]):
                    return False
                await asyncio.sleep(delay)
            return True
        finally:
            self._slow = False
            if self._pingresp_due:
                self._pingresp_due = False
                self.send_now(PINGRESP_BYTES)

    async def expect(self, name, timeout=10.0, pred=None):
        """The next packet of this type (others are skipped; they stay in
        the log), or None when the client closed or the time ran out."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                p = await asyncio.wait_for(self._queue.get(), left)
            except asyncio.TimeoutError:
                return None
            if p is None:
                self._queue.put_nowait(None)  # Closed: stays closed.
                return None
            if p.name == name and (pred is None or pred(p)):
                return p

    async def accept(self, connack_bytes=None, suback_codes=None, subscribe=True, timeout=15.0):
        """Be a good broker: CONNECT -> CONNACK (accepted), then SUBSCRIBE
        -> SUBACK granting what was asked. False when the client did not
        get that far."""
        c = await self.expect("CONNECT", timeout)
        if c is None:
            return False
        if not await self.send(connack_bytes or connack(self.v5)):
            return False
        if not subscribe:
            return True
        s = await self.expect("SUBSCRIBE", timeout)
        if s is None:
            return False
        codes = suback_codes if suback_codes is not None else [min(o & 3, 2) for _, o in s.filters]
        return await self.send(suback(self.v5, s.pid, codes))

    def pid(self):
        p = self.next_pid
        self.next_pid += 1
        return p

    async def wait_closed(self, timeout):
        try:
            await asyncio.wait_for(self._closed.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False

    @property
    def t_end(self):
        """When the connection ended, whichever side closed it first."""
        ends = [t for t in (self.t_closed, self.t_broker_closed) if t is not None]
        return min(ends) if ends else None

    def close(self):
        """The broker closes the connection."""
        self.closed_by_broker = True
        self.t_broker_closed = self.t_broker_closed or time.monotonic()
        try:
            self.writer.close()
        except (ConnectionError, OSError):
            pass

    def abort(self):
        """Stop reading and close (end of a run)."""
        self._task.cancel()
        if not self.closed:
            self.t_closed = self.t_closed or time.monotonic()
        try:
            self.writer.transport.abort()
        except (ConnectionError, OSError, AttributeError):
            pass

    def packets(self, name=None, after=None):
        return [p for p in self.log
                if (name is None or p.name == name) and (after is None or p.t >= after)]


class Server:
    """A listener on 127.0.0.1, a free port: each accepted connection
    becomes a Conn handed to `handler(conn)`."""

    def __init__(self, handler, on_packet=None):
        self.handler = handler
        self.on_packet = on_packet
        self.conns = []
        self.port = None
        self._server = None
        self._new = asyncio.Event()

    async def start(self):
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _accept(self, reader, writer):
        conn = Conn(reader, writer, len(self.conns), self.on_packet)
        self.conns.append(conn)
        self._new.set()
        try:
            await self.handler(conn)
        except (ConnectionError, OSError):
            pass
        finally:
            conn.served.set()

    async def stop(self):
        if self._server:
            self._server.close()
        for c in self.conns:
            c.abort()


def _main():
    import argparse

    import scenarios

    ap = argparse.ArgumentParser(description="Serve one hostile scenario on 127.0.0.1.")
    ap.add_argument("scenario", help="a name from tests/hostile/scenarios.py (--list for all)")
    ap.add_argument("-V", "--version", type=int, default=4, choices=(4, 5))
    ap.add_argument("--list", action="store_true")
    a = ap.parse_args()
    if a.list:
        for s in scenarios.SCENARIOS:
            print("%-32s %s" % (s.name, s.doc))
        return
    scn = scenarios.by_name(a.scenario)

    async def serve():
        ctx = scenarios.Standalone(a.version)

        async def handler(conn):
            await scn.serve(ctx, conn)
            await conn.wait_closed(3600)

        srv = await Server(handler, ctx.on_packet).start()
        print(srv.port, flush=True)
        await asyncio.Event().wait()

    try:
        asyncio.run(serve())
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    _main()
