# links/astream.py: the broker connection over an asyncio (reader, writer)
# pair: plain TCP on CPython (and on a MicroPython without asyncio's poller),
# TLS on either. Apart from socket.py so that MicroPython loads it only
# for TLS (socket.SockStream is its plain TCP stream).

import sys

_MP = sys.implementation.name == "micropython"


class Stream:
    """The broker connection: one asyncio stream pair."""

    def __init__(self, reader, writer):
        self._r = reader
        self._w = writer

    async def read(self, n):
        return await self._r.read(n)

    def write(self, data):
        self._w.write(data)

    async def drain(self):
        await self._w.drain()

    def buffered(self):
        """Bytes written and not yet handed to the network. (MicroPython's
        Stream counts them down only when its drain ends.)"""
        w = self._w
        if w is None:
            return 0
        if _MP:
            return len(w.out_buf)
        return w.transport.get_write_buffer_size()

    def write_eof(self):
        # Half-close (FIN after what is written) where the stream can:
        # CPython's TCP transports; not TLS, not MicroPython.
        w = self._w
        try:
            if w is not None and not _MP and w.can_write_eof():
                w.write_eof()
        except (OSError, RuntimeError):
            pass

    def abort(self):
        """Close without sending what waits in the buffer (a write was cut
        short: CPython's close() would wait for those bytes to leave, on a
        link that may never take them)."""
        w = self._w
        if w is not None and not _MP:
            self._w = None
            try:
                w.transport.abort()
            except RuntimeError:
                pass
            return
        self.close()

    def close(self):
        w = self._w
        if w is None:
            return
        self._w = None
        try:
            if _MP:
                # MicroPython's Stream.close() does nothing; wait_closed()
                # closes the socket, but this must work synchronously.
                w.s.close()
            else:
                w.close()
        except (OSError, RuntimeError):  # RuntimeError: CPython's loop has closed.
            pass
