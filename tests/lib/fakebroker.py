"""A fake MQTT broker on 127.0.0.1 for the cases mosquitto will not play:
one that closes every connection right after CONNACK, stops reading, reads
slowly, refuses, floods, sends what a script says. Threads and plain
blocking sockets, so that a client under test in the same process has its
asyncio loop (and its task count) to itself. The packets come from
mqttwire.py (built by hand, so they can be wrong on purpose).

Two ways to use it:

    b = FakeBroker(handler)        # handler(sock, index) per connection
    ...                            # read_packet(sock), accept_connect(sock)
    b.stop()

    b = RawBroker(script).start()  # script(conn) per connection, every
    ...                            # packet of the client kept in b.received
    b.stop()

A handler gets the accepted socket with the CONNECT not yet read. A
script gets a `RawConn`: `conn.handshake()` reads CONNECT and answers
CONNACK, `conn.suback()`, `conn.expect(kind)` reads packets (answering
PINGREQ) until one of that type, `conn.read()`, `conn.send(bytes)`,
`conn.publish(...)` (also a huge PUBLISH streamed without being held).

Used by tests/python (test_apps, test_flapping, test_outage, test_stalls,
test_limits, test_topic_alias) and tests/faults/backoff.py; the hostile
suite's asyncio broker (tests/hostile/broker.py) shares mqttwire.py.
"""

import select
import socket
import threading
import time

import mqttwire as W
from mqttwire import (  # noqa: F401 (for the tests that import them from here)
    CONNECT, CONNACK, DISCONNECT, PINGREQ, PUBACK, PUBCOMP, PUBLISH, PUBREC, PUBREL,
    SUBSCRIBE, packet, string, varint,
)


def read_packet(sock):
    """One packet: (first byte, body bytes), or None at the end of the
    stream (or a remaining length longer than 4 bytes)."""
    first = _read_exactly(sock, 1)
    if not first:
        return None
    n = shift = 0
    while True:
        b = _read_exactly(sock, 1)
        if not b:
            return None
        n |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            break
        if shift > 21:
            return None
    body = _read_exactly(sock, n)
    if body is None:
        return None
    return first[0], body


def _read_exactly(sock, n):
    out = bytearray()
    while len(out) < n:
        data = sock.recv(n - len(out))
        if not data:
            return None
        out += data
    return bytes(out)


def is_v5(connect_body):
    """Whether a CONNECT body asks for MQTT 5.0 (protocol level after
    the protocol name "MQTT")."""
    return len(connect_body) > 6 and connect_body[6] == 5


def accept_connect(sock, v5=False):
    """Read the CONNECT and answer CONNACK (accepted; 3.1.1, or 5.0 without
    properties); False when the client went away first."""
    p = read_packet(sock)
    if p is None or p[0] >> 4 != W.CONNECT:
        return False
    sock.sendall(W.connack(v5))
    return True


class FakeBroker:
    """Listens on 127.0.0.1 (a free port); each accepted connection runs
    handler(sock, index) in a thread of its own, then is closed.
    `connections` counts them, `came` has the time.monotonic() of each,
    `errors` what a handler raised (other than OSError: the client closing
    or resetting is its business), `ended` is set whenever a connection's
    handler is done. `rcvbuf` sets SO_RCVBUF of the accepted sockets (on
    the listener, before listen(), so that the TCP window is small from the
    start). Handlers that hold on wait for `stopping`."""

    def __init__(self, handler, rcvbuf=None):
        self.handler = handler
        self.connections = 0
        self.came = []
        self.errors = []
        self.ended = threading.Event()
        self.stopping = threading.Event()
        self._socks = []
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if rcvbuf:
            self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self):
        while not self.stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                index = self.connections
                self.connections += 1
                self.came.append(time.monotonic())
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock, index):
        try:
            self.handler(sock, index)
        except OSError:
            pass
        except Exception as e:  # A broken handler fails the test that reads errors.
            self.errors.append(repr(e))
        finally:
            with self._lock:
                if sock in self._socks:
                    self._socks.remove(sock)
            sock.close()
            self.ended.set()

    def stop(self):
        self.stopping.set()
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(5)


class Closed(ConnectionError):
    """The client closed the connection."""


class RawConn:
    """One connection of a RawBroker, for its script."""

    def __init__(self, broker, sock):
        self.broker = broker
        self.sock = sock
        self.version = 4

    @property
    def v5(self):
        return self.version == 5

    def read(self):
        """The next packet: (type, first byte, body); Closed at the end."""
        p = read_packet(self.sock)
        if p is None:
            raise Closed()
        got = (p[0] >> 4, p[0], p[1])
        self.broker.received.append(got)
        return got

    def expect(self, kind):
        """Read packets (answering PINGREQ) until one of type `kind`."""
        while True:
            got = self.read()
            if got[0] == kind:
                return got
            if got[0] == W.PINGREQ:
                self.send(W.PINGRESP_BYTES)

    def send(self, data):
        self.sock.sendall(data)

    def handshake(self, connack=None):
        """Read CONNECT, answer CONNACK (success unless given); the CONNECT
        body."""
        _, _, body = self.expect(W.CONNECT)
        self.version = 5 if is_v5(body) else 4
        self.send(connack if connack is not None else W.connack(self.v5))
        return body

    def suback(self):
        """Read SUBSCRIBE, grant what it asks."""
        _, first, body = self.expect(W.SUBSCRIBE)
        s = W.Packet(first, body, 0.0, self.v5)
        self.send(W.suback(self.v5, s.pid, [min(o & 3, 2) for _, o in s.filters]))

    def publish(self, topic, payload=b"", qos=0, pid=1, size=None, chunk=1 << 20):
        """PUBLISH `payload`, or `size` bytes of 'x' sent `chunk` bytes at a
        time without ever being held whole."""
        if size is None:
            self.send(W.publish(self.v5, topic, payload, qos=qos, pid=pid))
            return
        head = W.string(topic) + (pid.to_bytes(2, "big") if qos else b"")
        if self.v5:
            head += W.props([])
        self.send(bytes([0x30 | qos << 1]) + W.varint(len(head) + size) + head)
        n = size
        block = b"x" * min(chunk, n)
        while n > 0:
            # What the client says meanwhile (a DISCONNECT) is read at
            # once: a reset of the link would discard it.
            while select.select([self.sock], [], [], 0)[0]:
                self.read()
            self.send(block[:n])
            n -= len(block)


class RawBroker:
    """A FakeBroker whose connections each run `script(conn)` with a
    RawConn; every packet the client sent is in `received` as (type,
    first byte, body); `done` is set when a connection has ended."""

    def __init__(self, script):
        self.script = script
        self.received = []
        self._fake = FakeBroker(self._run)
        self.port = self._fake.port
        self.errors = self._fake.errors
        self.done = self._fake.ended

    def _run(self, sock, index):
        self.script(RawConn(self, sock))

    @property
    def conns(self):
        return self._fake.connections

    def start(self):
        """For the call chain `RawBroker(script).start()`: it listens from
        the start."""
        return self

    def of(self, kind):
        """Received packets of one type, as (first byte, body)."""
        return [(f, b) for k, f, b in self.received if k == kind]

    def stop(self):
        self._fake.stop()
