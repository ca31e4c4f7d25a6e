# links/astream.py: the broker connection over an asyncio (reader, writer)
# pair: plain TCP and TLS on CPython. (MicroPython's streams, TCP and TLS,
# are socket.SockStream, straight over the socket in asyncio's poller.)
# CPython only: never frozen into a firmware (features.py CPYTHON_ONLY).

import asyncio


async def connect(host, port, ctx=None, name=None):
    """TCP to host:port, with an SSL context TLS (`name`: the broker's name
    for SNI and the certificate), as a Stream: links.socket's _connect on
    CPython."""
    if ctx is None:
        r, w = await asyncio.open_connection(host, port)
        # asyncio's transport asks recv() for up to 256 KiB: glibc maps a
        # buffer that large with mmap and, once the few bytes of a packet
        # are in, shrinks and unmaps it, three more system calls per read.
        # 16 KiB (the host's receive buffer) comes from the heap.
        if getattr(w.transport, "max_size", 0) > 16384:
            w.transport.max_size = 16384
    else:
        r, w = await asyncio.open_connection(host, port, ssl=ctx, server_hostname=name)
    return Stream(r, w)


class Datagrams:
    """A non-blocking (UDP) socket's reads in the loop: links.socket's
    SockStream(s).read() on CPython."""

    def __init__(self, s):
        self._s = s

    def read(self, n):
        return asyncio.get_running_loop().sock_recv(self._s, n)


class Stream:
    """The broker connection: one asyncio stream pair."""

    _take = None  # hand()'s taker.
    _paused = False  # Reading paused: the taker left bytes (read() resumes).

    def __init__(self, reader, writer):
        self._r = reader
        self._w = writer

    async def read(self, n):
        if self._paused:
            self._paused = False
            self._w.transport.resume_reading()
        return await self._r.read(n)

    def hand(self, take):
        """From now on give the received bytes to take(data) in the
        transport's callback (data_received: no task woken to read them)
        instead of to read(), and the end of the stream as take(b"").
        take returns how many bytes it took: the rest comes out of read(),
        reading paused until read() is called again; None: it takes no
        more (all goes to read() from then on). read() still returns the
        end of the stream (b"") and raises its error."""
        self._take = take
        p = self._w.transport.get_protocol()
        p.data_received = self._received
        self._eof = p.eof_received
        p.eof_received = self._ended

    def _ended(self):
        self._received(b"")  # (feeds nothing to the reader)
        return self._eof()

    def _received(self, data):
        take = self._take
        if take is not None:
            try:
                k = take(data)
            except Exception as e:
                # The error comes out of read(), as if read() had got the bytes.
                self._take = None
                self._r.set_exception(e)
                return
            if k is None or not data:
                self._take = None
            elif k >= len(data):
                return
            else:
                data = data[k:]
                self._paused = True
                self._w.transport.pause_reading()
        self._r.feed_data(data)

    def write(self, data):
        self._w.write(data)

    def drain(self):
        return self._w.drain()  # (Its coroutine: no frame of ours around it.)

    def buffered(self):
        """Bytes written and not yet handed to the network."""
        w = self._w
        return 0 if w is None else w.transport.get_write_buffer_size()

    def write_eof(self):
        # Half-close (FIN after what is written) where the stream can:
        # TCP transports, not TLS.
        w = self._w
        try:
            if w is not None and w.can_write_eof():
                w.write_eof()
        except (OSError, RuntimeError):
            pass

    def abort(self):
        """Close without sending what waits in the buffer (a write was cut
        short: close() would wait for those bytes to leave, on a link that
        may never take them)."""
        w = self._w
        if w is not None:
            self._w = None
            try:
                w.transport.abort()
            except RuntimeError:
                pass

    def close(self):
        w = self._w
        if w is None:
            return
        self._w = None
        try:
            w.close()
        except (OSError, RuntimeError):  # RuntimeError: the loop has closed.
            pass
