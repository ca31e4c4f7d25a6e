# links/astream.py: the broker connection over an asyncio (reader, writer)
# pair: plain TCP and TLS on CPython. (MicroPython's streams, TCP and TLS,
# are socket.SockStream, straight over the socket in asyncio's poller.)


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
