# links/socket.py: TCP or TLS to the broker over asyncio streams, on a host
# whose network is always up (unix MicroPython, CPython). Also the base of
# the WLAN link, which adds the interface.

import sys
import socket

import asyncio

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


def _ssl_context(params):
    """An SSLContext from mqtt_as's ssl_params. Certificates are checked
    only when asked (cert_reqs, cadata, cafile), as MicroPython's
    ssl.wrap_socket does."""
    import ssl

    if _MP:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.verify_mode = params.get("cert_reqs", ssl.CERT_NONE)
        if "cadata" in params:
            ctx.load_verify_locations(cadata=params["cadata"])
        if "cert" in params or "key" in params:
            ctx.load_cert_chain(params["cert"], params["key"])
        return ctx
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    verify = "cadata" in params or "cafile" in params
    reqs = params.get("cert_reqs", ssl.CERT_REQUIRED if verify else ssl.CERT_NONE)
    ctx.check_hostname = bool(reqs == ssl.CERT_REQUIRED and params.get("server_hostname"))
    ctx.verify_mode = reqs
    if "cadata" in params or "cafile" in params:
        ctx.load_verify_locations(cafile=params.get("cafile"), cadata=params.get("cadata"))
    if "certfile" in params:
        ctx.load_cert_chain(params["certfile"], params.get("keyfile"))
    return ctx


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
        ctx = None
        kw = {}
        if ssl:
            params = ssl_params or {}
            ctx = _ssl_context(params)
            kw["server_hostname"] = params.get("server_hostname", host)
        if _MP:
            coro = asyncio.open_connection(host, port, ssl=ctx, **kw) if ctx else asyncio.open_connection(host, port)
            try:
                r, w = await asyncio.wait_for_ms(coro, timeout_ms)
            except asyncio.TimeoutError:
                raise OSError(-1, "no TCP connection to %s:%d within response_time" % (host, port))
        else:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection(host, port, ssl=ctx, **kw), timeout_ms / 1000)
            except asyncio.TimeoutError:
                raise OSError(-1, "no TCP connection to %s:%d within response_time" % (host, port))
        return Stream(r, w)

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
            if _MP:
                reader = asyncio.StreamReader(s)
                data = await asyncio.wait_for_ms(reader.read(512), timeout_ms)
            else:
                loop = asyncio.get_running_loop()
                data = await asyncio.wait_for(loop.sock_recv(s, 512), timeout_ms / 1000)
        except (OSError, asyncio.TimeoutError):
            return False
        finally:
            s.close()
        # The answer to our query: same id, QR bit set.
        return bool(data) and len(data) >= 12 and data[:2] == packet[:2] and bool(data[2] & 0x80)
