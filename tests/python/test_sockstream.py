"""links.socket.SockStream, MicroPython's plain TCP stream, driven on
CPython over a real socket pair: its drain() is a generator waiting in
asyncio's poller, so here a stand-in poller lets each step run by hand.
Issue 12, defect 10: a drain cut short (its task cancelled, the generator
closed at its yield) must not send again what it had sent: the bytes that
arrive are exactly the bytes written. (The same under MicroPython itself:
micropython/check.py.) Issue 15: reads take what the socket has without a
round through the poller when bytes are known to be waiting, and the
connection has TCP_NODELAY."""

import socket

import pytest

from mqtt_as.links import socket as links_socket


class Poller:
    # MicroPython's asyncio.core, as far as SockStream uses it; counts the
    # waits for a readable socket.
    reads = 0

    class _io_queue:
        @staticmethod
        def queue_write(s):
            return None

        @staticmethod
        def queue_read(s):
            Poller.reads += 1
            return None

    @staticmethod
    def sleep_ms(ms):
        yield None


class MPSocket:
    """A non-blocking CPython socket with MicroPython's write(): the count
    sent, or None when it would block; its read(n), which calls again until
    it has n bytes or nothing more waits (None if nothing did), and its
    recv(n), one call (OSError EAGAIN if nothing waits). `calls` counts
    the receiving calls."""

    calls = 0

    def __init__(self, s):
        self.s = s
        s.setblocking(False)

    def recv(self, n):
        self.calls += 1
        return self.s.recv(n)  # BlockingIOError is an OSError with EAGAIN.

    def write(self, data):
        try:
            return self.s.send(data)
        except BlockingIOError:
            return None

    def read(self, n):
        out = b""
        while len(out) < n:
            try:
                data = self.recv(n - len(out))
            except BlockingIOError:
                return out or None
            if not data:
                break
            out += data
        return out

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


def step(g):
    """Run generator `g` to its end: (its value, how often it yielded)."""
    n = 0
    while True:
        try:
            next(g)
        except StopIteration as e:
            return e.value, n
        n += 1


def test_read_goes_to_the_poller_only_when_nothing_is_known_to_wait(monkeypatch):
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    monkeypatch.setattr(Poller, "reads", 0)
    a, b = pair()
    try:
        sock = MPSocket(a)
        st = links_socket.SockStream(sock)
        b.send(b"x" * 250)
        # The first read waits in the poller (nothing known yet)...
        assert step(st.read(100)) == (b"x" * 100, 1)
        # ...the next ones, after a full read, take the bytes at once...
        assert step(st.read(100)) == (b"x" * 100, 0)
        assert step(st.read(100)) == (b"x" * 50, 0)
        assert Poller.reads == 1
        # ...each in one call, also the short one.
        assert sock.calls == 3
        # ...and after a short one the stream waits in the poller again.
        g = st.read(100)
        next(g)
        assert Poller.reads == 2
        b.send(b"y" * 100)
        assert step(g) == (b"y" * 100, 0)
        # A full read and nothing after it: one call finds nothing, then
        # the poller.
        g = st.read(100)
        next(g)
        assert Poller.reads == 3
        b.send(b"z" * 10)
        assert step(g) == (b"z" * 10, 0)
    finally:
        a.close()
        b.close()


class AxTLSSocket(MPSocket):
    """axTLS's socket (ESP8266): read() and write(), no recv()."""

    recv = property(lambda self: self._no_recv())

    def _no_recv(self):
        raise AttributeError("recv")

    def read(self, n):
        try:
            return self.s.recv(n) or b""
        except BlockingIOError:
            return None  # Nothing waits.


def test_a_socket_without_recv_is_read_with_read(monkeypatch):
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    a, b = pair()
    try:
        st = links_socket.SockStream(AxTLSSocket(a))
        b.send(b"x" * 30)
        assert step(st.read(100))[0] == b"x" * 30
        b.send(b"y" * 5)
        assert step(st.read(100))[0] == b"y" * 5
        b.close()
        assert step(st.read(100))[0] == b""  # The broker closed.
    finally:
        a.close()


@pytest.mark.parametrize("constants", ["module", "unix-port"])
def test_the_connection_has_tcp_nodelay(monkeypatch, constants):
    # MicroPython's unix port has neither socket.IPPROTO_TCP nor
    # socket.TCP_NODELAY: the numbers are taken then.
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    nodelay, level = socket.TCP_NODELAY, socket.IPPROTO_TCP
    if constants == "unix-port":
        monkeypatch.delattr(socket, "TCP_NODELAY")
        monkeypatch.delattr(socket, "IPPROTO_TCP")
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        st, _ = step(links_socket._connect("127.0.0.1", srv.getsockname()[1]))
        peer, _ = srv.accept()
        try:
            assert st._s.getsockopt(level, nodelay) == 1
        finally:
            st.close()
            peer.close()
    finally:
        srv.close()


def test_a_short_read_takes_one_call(monkeypatch):
    # MicroPython's socket.read(n) calls again until it has n bytes: each
    # read of a short packet cost a second, failing, call.
    monkeypatch.setattr(links_socket, "core", Poller, raising=False)
    a, b = pair()
    try:
        sock = MPSocket(a)
        st = links_socket.SockStream(sock)
        b.send(b"@\x02\x00\x01")  # A PUBACK.
        assert step(st.read(256))[0] == b"@\x02\x00\x01"
        assert sock.calls == 1
    finally:
        a.close()
        b.close()


def test_the_cpython_link_reads_at_most_16_kib_at_a_time():
    # asyncio's transport asks recv() for 256 KiB by default: glibc maps
    # such a buffer and unmaps it again for every packet read (mmap,
    # mremap, munmap: 12 system calls per QoS 1 message instead of 9).
    import asyncio

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)

    async def main():
        conn = await links_socket.SocketLink().open(srv.getsockname(), timeout_ms=5000)
        try:
            return conn._w.transport.max_size
        finally:
            conn.close()

    try:
        assert asyncio.run(main()) == 16384
    finally:
        srv.close()
