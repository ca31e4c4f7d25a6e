"""A fake MQTT broker on 127.0.0.1 for the cases mosquitto will not play:
one that closes every connection right after CONNACK, one that stops
reading, one that reads slowly. Threads and plain sockets, so that the
client under test has its asyncio loop (and its task count) to itself.

    b = FakeBroker(handler)      # handler(sock, index) per connection
    ...
    b.stop()

A handler gets the accepted socket with the CONNECT not yet read; the
helpers below read and write whole packets."""

import socket
import threading


def read_packet(sock):
    """One packet: (first byte, body bytes), or None at the end of the
    stream."""
    first = _read_exactly(sock, 1)
    if not first:
        return None
    n, shift = 0, 0
    while True:
        b = _read_exactly(sock, 1)
        if not b:
            return None
        n |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80:
            break
    body = _read_exactly(sock, n)
    if body is None:
        return None
    return first[0], body


def _read_exactly(sock, n):
    out = b""
    while len(out) < n:
        data = sock.recv(n - len(out))
        if not data:
            return None
        out += data
    return out


def accept_connect(sock, v5=False):
    """Read the CONNECT and answer CONNACK (accepted; 3.1.1, or 5.0 without
    properties); False when the client went away first."""
    p = read_packet(sock)
    if p is None or p[0] >> 4 != 1:
        return False
    sock.sendall(b"\x20\x03\x00\x00\x00" if v5 else b"\x20\x02\x00\x00")
    return True


def publish(topic, payload, qos=0, pid=0):
    """A 3.1.1 PUBLISH packet."""
    t = topic.encode() if isinstance(topic, str) else topic
    body = len(t).to_bytes(2, "big") + t
    if qos:
        body += pid.to_bytes(2, "big")
    body += payload
    return bytes([0x30 | qos << 1]) + remaining_length(len(body)) + body


def remaining_length(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class FakeBroker:
    """Listens on 127.0.0.1 (a free port); each accepted connection runs
    handler(sock, index) in a thread of its own. `connections` counts
    them. `rcvbuf` sets SO_RCVBUF of the accepted sockets (on the listener,
    before listen(), so that the TCP window is small from the start)."""

    def __init__(self, handler, rcvbuf=None):
        self.handler = handler
        self.connections = 0
        self.errors = []
        self._socks = []
        self._lock = threading.Lock()
        self._stopped = False
        self.stopping = threading.Event()  # Handlers that hold on wait for it.
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
        while not self._stopped:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                index = self.connections
                self.connections += 1
                self._socks.append(sock)
            threading.Thread(target=self._serve, args=(sock, index), daemon=True).start()

    def _serve(self, sock, index):
        try:
            self.handler(sock, index)
        except OSError:
            pass  # The client closed or reset: its business.
        except Exception as e:  # A broken handler fails the test that reads errors.
            self.errors.append(repr(e))
        finally:
            with self._lock:
                if sock in self._socks:
                    self._socks.remove(sock)
            sock.close()

    def stop(self):
        self._stopped = True
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
