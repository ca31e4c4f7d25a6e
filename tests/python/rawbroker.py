"""A scripted broker for tests that need one mosquitto will not be: it
speaks just enough MQTT (3.1.1 or 5.0) on a real socket on 127.0.0.1 to
answer CONNECT and SUBSCRIBE, then does what the test says (send bytes,
stream a huge PUBLISH without holding it, close), and records every packet
the client sends.

    b = RawBroker(script).start()    # script(conn) runs per connection
    ...
    b.stop()

A script gets a `Conn`: `conn.handshake()` reads CONNECT and answers
CONNACK, `conn.expect(kind)` reads packets until one of that type,
`conn.send(bytes)`, `conn.publish(...)`. Every packet read is appended to
`b.received` as (type, first byte, body bytes).
"""

import select
import socket
import threading

CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP = 1, 2, 3, 4, 5, 6, 7
SUBSCRIBE, SUBACK, PINGREQ, PINGRESP, DISCONNECT = 8, 9, 12, 13, 14


def varint(n):
    out = bytearray()
    while True:
        b = n % 128
        n //= 128
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def string(s):
    s = s.encode() if isinstance(s, str) else s
    return len(s).to_bytes(2, "big") + s


def packet(first, body):
    return bytes([first]) + varint(len(body)) + body


class Closed(Exception):
    pass


class Conn:
    def __init__(self, broker, sock):
        self.broker = broker
        self.sock = sock
        self.version = 4

    def _read(self, n):
        out = bytearray()
        while len(out) < n:
            b = self.sock.recv(n - len(out))
            if not b:
                raise Closed()
            out += b
        return bytes(out)

    def read(self):
        """The next packet: (type, first byte, body)."""
        first = self._read(1)[0]
        n, mult = 0, 1
        while True:
            b = self._read(1)[0]
            n += (b & 0x7F) * mult
            mult *= 128
            if not b & 0x80:
                break
        body = self._read(n)
        got = (first >> 4, first, body)
        self.broker.received.append(got)
        return got

    def expect(self, kind):
        """Read packets (answering PINGREQ) until one of type `kind`."""
        while True:
            got = self.read()
            if got[0] == kind:
                return got
            if got[0] == PINGREQ:
                self.send(bytes([0xD0, 0]))

    def send(self, data):
        self.sock.sendall(data)

    def handshake(self, connack=None):
        """Read CONNECT, answer CONNACK (success unless given)."""
        _, _, body = self.expect(CONNECT)
        self.version = body[6]
        if connack is None:
            connack = bytes([0x20, 3, 0, 0, 0]) if self.version == 5 else bytes([0x20, 2, 0, 0])
        self.send(connack)
        return body

    def suback(self):
        """Read SUBSCRIBE, grant what it asks."""
        _, _, body = self.expect(SUBSCRIBE)
        pid = body[:2]
        at = 2
        if self.version == 5:
            at += 1 + body[2]  # Short property lengths only.
        codes = bytearray()
        while at < len(body):
            n = int.from_bytes(body[at:at + 2], "big")
            at += 2 + n
            codes.append(body[at] & 3)
            at += 1
        props = b"\x00" if self.version == 5 else b""
        self.send(packet(0x90, pid + props + bytes(codes)))

    def publish(self, topic, payload=b"", qos=0, pid=1, size=None, chunk=1 << 20):
        """PUBLISH `payload`, or `size` bytes of 'x' sent `chunk` bytes at a
        time without ever being held whole."""
        head = string(topic)
        if qos:
            head += pid.to_bytes(2, "big")
        if self.version == 5:
            head += b"\x00"
        n = len(payload) if size is None else size
        self.send(bytes([0x30 | qos << 1]) + varint(len(head) + n) + head)
        if size is None:
            self.send(payload)
            return
        block = b"x" * min(chunk, n)
        while n > 0:
            # What the client says meanwhile (a DISCONNECT) is read at
            # once: a reset of the link would discard it.
            while select.select([self.sock], [], [], 0)[0]:
                self.read()
            self.send(block[:n])
            n -= len(block)


class RawBroker:
    def __init__(self, script):
        self.script = script
        self.received = []
        self.errors = []
        self.conns = 0
        self.done = threading.Event()
        self.lsock = socket.socket()
        self.lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.lsock.bind(("127.0.0.1", 0))
        self.lsock.listen(4)
        self.port = self.lsock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._stop = False

    def start(self):
        self._thread.start()
        return self

    def _serve(self):
        while not self._stop:
            try:
                sock, _ = self.lsock.accept()
            except OSError:
                return
            self.conns += 1
            conn = Conn(self, sock)
            try:
                self.script(conn)
            except Closed:
                pass
            except Exception as e:  # Reported by the test.
                self.errors.append(e)
            finally:
                try:
                    sock.close()
                except OSError:
                    pass
                self.done.set()

    def of(self, kind):
        """Received packets of one type, as (first byte, body)."""
        return [(f, b) for k, f, b in self.received if k == kind]

    def stop(self):
        self._stop = True
        try:
            self.lsock.close()
        except OSError:
            pass
