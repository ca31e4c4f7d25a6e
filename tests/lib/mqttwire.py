"""MQTT 3.1.1 and 5.0 packets built and parsed by hand, for the fake
brokers of the tests (tests/lib/fakebroker.py, tests/hostile/broker.py):
built by hand so that they can be wrong on purpose; the client's packets
parsed leniently, an error kept rather than raised.

Python standard library only.
"""

import struct

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
