"""links.socket.SockStream, MicroPython's plain TCP stream, driven on
CPython over a real socket pair: its drain() is a generator waiting in
asyncio's poller, so here a stand-in poller lets each step run by hand.
Issue 12, defect 10: a drain cut short (its task cancelled, the generator
closed at its yield) must not send again what it had sent: the bytes that
arrive are exactly the bytes written. (The same under MicroPython itself:
micropython/check.py.)"""

import socket

from mqtt_as.links import socket as links_socket


class Poller:
    # MicroPython's asyncio.core, as far as SockStream uses it.
    class _io_queue:
        @staticmethod
        def queue_write(s):
            return None

    @staticmethod
    def sleep_ms(ms):
        yield None


class MPSocket:
    """A non-blocking CPython socket with MicroPython's write(): the count
    sent, or None when it would block."""

    def __init__(self, s):
        self.s = s
        s.setblocking(False)

    def write(self, data):
        try:
            return self.s.send(data)
        except BlockingIOError:
            return None

    def close(self):
        self.s.close()


def pair():
    a, b = socket.socketpair()
    a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    b.setblocking(False)
    return a, b


def take(b, limit=1 << 30):
    out = b""
    while len(out) < limit:
        try:
            data = b.recv(min(65536, limit - len(out)))
        except BlockingIOError:
            break
        if not data:
            break
        out += data
    return out


def drain_all(st, b):
    # Run drain() to its end, reading the other side between its steps.
    got = b""
    g = st.drain()
    while True:
        try:
            next(g)
        except StopIteration:
            return got
        got += take(b)


def test_a_drain_cut_short_keeps_its_progress(monkeypatch):
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    a, b = pair()
    try:
        st = links_socket.SockStream(MPSocket(a))
        data = bytes(i * 7 & 0xFF for i in range(300000))
        st.write(data)  # Part goes at once, the rest waits in the stream.
        got = take(b, 20000)
        g = st.drain()
        for _ in range(3):
            next(g)  # Waiting for room: the first time, then after sending some.
            got += take(b, 20000)
        g.close()  # The task is cancelled here...
        got += take(b)
        assert 20000 < len(got) < len(data), len(got)  # ...half way.
        # The rest, then more: a graceful close would do this.
        st.write(b"DISCONNECT")
        got += drain_all(st, b)
        got += take(b)
        assert len(got) == len(data) + 10, (len(got), len(data) + 10)
        assert got == data + b"DISCONNECT"
    finally:
        a.close()
        b.close()


def test_write_then_drain_sends_everything_once(monkeypatch):
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    a, b = pair()
    try:
        st = links_socket.SockStream(MPSocket(a))
        chunks = [bytes([n]) * (n * 1000 + 1) for n in range(1, 60)]
        got = b""
        for c in chunks:
            st.write(c)
            got += take(b, 5000)
            if st.buffered() > 50000:
                got += drain_all(st, b)
        got += drain_all(st, b) + take(b)
        assert got == b"".join(chunks)
    finally:
        a.close()
        b.close()
