"""A bare MQTT 3.1.1 client over a socket: every packet is sent and read
by its caller. Standard library only; for the soak's own checks against
mosquitto (test_mosquitto_db.py, the save marker of mosquitto_db.py).
"""

import socket
import struct

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14


def utf8(s):
    b = s.encode()
    return struct.pack("!H", len(b)) + b


def packet(ptype, flags, body):
    n, length = len(body), b""
    while True:
        byte, n = n % 128, n // 128
        length += bytes([byte | (0x80 if n else 0)])
        if not n:
            break
    return bytes([ptype << 4 | flags]) + length + body


def publish_body(topic, pid, payload):
    return utf8(topic) + struct.pack("!H", pid) + payload


class Raw:
    def __init__(self, port, cid, clean, opened=None, timeout=10):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if opened is not None:
            opened.append(self.s)
        flags = 0x02 if clean else 0
        self.send(CONNECT, 0, utf8("MQTT") + bytes([4, flags]) + struct.pack("!H", 60) + utf8(cid))
        ptype, _, body = self.read()
        if ptype != CONNACK or body[1] != 0:
            raise ConnectionError("CONNECT refused: %r" % ((ptype, body),))

    def send(self, ptype, flags, body):
        self.s.sendall(packet(ptype, flags, body))

    def _exact(self, n):
        out = b""
        while len(out) < n:
            chunk = self.s.recv(n - len(out))
            if not chunk:
                raise EOFError("broker closed the connection")
            out += chunk
        return out

    def read(self):
        first = self._exact(1)[0]
        mult, length = 1, 0
        while True:
            b = self._exact(1)[0]
            length += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        return first >> 4, first & 0x0F, self._exact(length)

    def expect(self, ptype):
        got = self.read()
        if got[0] != ptype:
            raise AssertionError("expected packet type %d, got %r" % (ptype, got))
        return got

    def ack(self, ptype, pid):
        self.send(ptype, 2 if ptype == PUBREL else 0, struct.pack("!H", pid))

    def sync(self):
        """PINGREQ, PINGRESP: the broker has processed all sent before."""
        self.send(PINGREQ, 0, b"")
        self.expect(PINGRESP)

    def close(self):
        self.send(DISCONNECT, 0, b"")
        self.s.close()


def publish_retained(port, topic, payload):
    """Publish a retained QoS 1 message and wait for its PUBACK: once it
    returns, the broker has stored it."""
    c = Raw(port, "mqttas-soak-marker", clean=True)
    try:
        c.send(PUBLISH, 1 << 1 | 1, publish_body(topic, 1, payload))
        c.expect(PUBACK)
        c.close()
    finally:
        c.s.close()
