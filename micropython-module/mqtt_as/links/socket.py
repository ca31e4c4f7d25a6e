# links/socket.py: TCP or TLS to the broker over asyncio streams, on a host
# whose network is always up (unix MicroPython, CPython). Also the base of
# the WLAN link, which adds the interface.

import socket
from errno import EAGAIN

import asyncio

from ..compat import within_ms, MICROPYTHON as _MP


class SockStream:
    """MicroPython: the broker connection straight over a non-blocking
    socket, waiting in asyncio's poller as asyncio's own Stream does (its
    read() and drain() are generators, which MicroPython's asyncio awaits).
    This spares loading the asyncio.stream module: about 1 KiB of RAM on a
    board, 1.8 KiB on the 64-bit unix port."""

    # Class attributes until set: no room in each stream's dict (RAM).
    _more = False  # The last read filled its buffer: more may be waiting.
    _out = b""  # Written, not yet sent: _out[_off:].
    _off = 0

    def __init__(self, s):
        self._s = s

    def read(self, n):  # async
        # After a read that filled its buffer more bytes are likely
        # waiting: take them without a round through the poller first (a
        # read that finds nothing costs one failed call, and then waits
        # there as usual). Each look is one call: recv() (a TLS socket's
        # returns None when nothing waits); read() would call again until
        # it has n bytes, so every short read cost a second, failing, call.
        # axTLS's socket (ESP8266) has no recv(): read().
        s = self._s
        wait = not self._more
        while True:
            if wait:
                yield core._io_queue.queue_read(s)
            wait = True
            try:
                try:
                    data = s.recv(n)
                except AttributeError:
                    data = s.read(n)
            except OSError as e:
                if e.errno != EAGAIN:
                    raise
                data = None
            if data is not None:
                self._more = len(data) == n
                return data

    def write_now(self, data, _len=len):
        """write(), and True when all of `data` is sent (else the rest
        waits for drain()): the client sends straight from the task that
        queued the bytes, and wakes its writer only to drain."""
        if self._off >= _len(self._out):  # Nothing buffered.
            n = self._s.write(data)  # None: it would block.
            if n == _len(data):
                return True
            self._out = bytes(data[n or 0:])
        else:
            self._out = self._out[self._off:] + data
        self._off = 0
        return False

    write = write_now

    def buffered(self):
        """Bytes written and not yet sent."""
        return len(self._out) - self._off

    def drain(self):  # async
        if not self.buffered():
            # Always yield, as asyncio's drain(): a loop of write and drain
            # must let the other tasks run.
            return (yield from core.sleep_ms(0))
        # The progress is kept in the stream, not here: a drain cut short
        # (its task cancelled) leaves only the unsent bytes to send.
        while self._off < len(self._out):
            yield core._io_queue.queue_write(self._s)
            n = self._s.write(memoryview(self._out)[self._off:])
            if n:
                self._off += n
        self._out = b""
        self._off = 0

    def close(self):
        s = self._s
        if s is not None:
            self._s = None
            try:
                s.close()
            except OSError:
                pass


def _connect(host, port, ctx=None, name=None):  # async, MicroPython
    # asyncio.open_connection() without the asyncio.stream module; with an
    # SSL context, TLS over the socket as asyncio does it (the handshake
    # runs within the first reads and writes).
    from errno import EINPROGRESS

    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    s = socket.socket(ai[0], ai[1], ai[2])
    try:
        # A PUBLISH goes out as its head, then its payload (lent from the
        # application's object): no waiting for the head's ACK (Nagle), as
        # CPython's asyncio does. Linux's numbers where the port names none.
        try:
            s.setsockopt(getattr(socket, "IPPROTO_TCP", 6), getattr(socket, "TCP_NODELAY", 1), 1)
        except (OSError, ValueError):
            pass
        s.setblocking(False)
        try:
            s.connect(ai[-1])
        except OSError as e:
            if e.errno != EINPROGRESS:
                raise
        if ctx is not None:
            s = ctx.wrap_socket(s, server_hostname=name, do_handshake_on_connect=False)
            s.setblocking(False)
        yield core._io_queue.queue_write(s)
    except BaseException:  # Also a timeout's cancellation: no socket left open.
        s.close()
        raise
    return SockStream(s)


if _MP:
    from asyncio import core

    _open, _Datagrams = _connect, SockStream
else:
    # CPython: asyncio's streams and the loop's sock_recv (astream.py,
    # never frozen into a firmware).
    from .astream import connect as _open, Datagrams as _Datagrams


class SocketLink:
    poll_ms = None

    def isconnected(self):
        return True

    async def up(self, quick=False):
        return None

    async def down(self):
        return None

    def close(self):
        return None

    def resolve(self, host, port):
        """Look the broker up once (blocking, as mqtt_as does), so that a
        DNS outage later cannot stall reconnection."""
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
        addr = ai[-1]
        if isinstance(addr, tuple):
            return (addr[0], port)
        # MicroPython's unix port returns a raw sockaddr: keep the name.
        return (host, port)

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        host, port = addr
        if ssl:
            from .tls import open_stream  # ssl_params, verification: tls.py.

            return await open_stream(host, port, ssl_params or {}, timeout_ms)
        try:
            return await within_ms(_open(host, port), timeout_ms)
        except asyncio.TimeoutError:
            raise OSError(-1, "no TCP connection to %s:%d within response_time" % (host, port))

    async def dns_probe(self, server, packet, timeout_ms):
        """Send the DNS query `packet` to `server` (host, port) by UDP; True
        when a response to it arrives within `timeout_ms`."""
        host, port = server
        ai = socket.getaddrinfo(host, port, 0, socket.SOCK_DGRAM)[0]
        s = socket.socket(ai[0], socket.SOCK_DGRAM)
        try:
            s.setblocking(False)
            s.connect(ai[-1])
            s.send(packet)
            # MicroPython: waits in asyncio's poller (SockStream.read):
            # neither the asyncio.stream nor the asyncio.funcs module is
            # loaded.
            data = await within_ms(_Datagrams(s).read(512), timeout_ms)
        except (OSError, asyncio.TimeoutError):
            return False
        finally:
            s.close()
        # The answer to our query: same id, QR bit set.
        return bool(data) and len(data) >= 12 and data[:2] == packet[:2] and bool(data[2] & 0x80)
