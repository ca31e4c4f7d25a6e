# links/tls_cpython.py: tls.py's parts where CPython's ssl differs from
# MicroPython's (the SSL context from ssl_params, its errors, TLS over any
# stream); tls.py takes them from here on CPython only. Never frozen into a
# firmware nor installed by mip (features.py CPYTHON_ONLY).

import ssl

from .tls import _is_pem, _data, error, _closed as _closed_errno


def _make_context(ssl_, params, reqs, stage, der):
    """An SSL context for a client from ssl_params (`der` is
    MicroPython's: CPython's ssl takes PEM and DER alike)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False  # Before verify_mode may go to CERT_NONE.
    ctx.verify_mode = reqs
    _load(ctx, params, reqs, stage)
    ctx.check_hostname = reqs == ssl.CERT_REQUIRED
    return ctx


def _load(ctx, params, reqs, stage):
    ca = params.get("cadata")
    if ca is not None and not isinstance(ca, str):
        ca = bytes(ca)
        if _is_pem(ca):  # CPython takes PEM as str, DER as bytes.
            ca = ca.decode()
    if ca is not None or "cafile" in params:
        ctx.load_verify_locations(cafile=params.get("cafile"), cadata=ca)
    elif reqs != ssl.CERT_NONE:
        ctx.load_default_certs()
    stage[0] = "cert"
    cert = params.get("cert", params.get("certfile"))
    if cert is None:
        return
    key = params.get("key", params.get("keyfile"))
    if isinstance(cert, str) and not _is_pem(cert) and (key is None or isinstance(key, str) and not _is_pem(key)):
        ctx.load_cert_chain(cert, key)
        return
    # MicroPython's way (bytes in memory): CPython loads a chain from files
    # only, so write them, private to this user, for the moment of loading.
    cert = _data(cert)
    if not _is_pem(cert):
        cert = ssl.DER_cert_to_PEM_cert(cert).encode()
    key = None if key is None else _data(key)
    labels = [None] if key is None or _is_pem(key) else ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"]
    err = None
    for label in labels:
        try:
            _load_chain_files(ctx, cert, key if label is None else _der_to_pem(key, label))
            return
        except ssl.SSLError as e:
            err = e
    raise err


def _der_to_pem(der, label):
    import base64

    b64 = base64.b64encode(der)
    lines = [b64[i:i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN %s-----\n%s\n-----END %s-----\n" % (label.encode(), b"\n".join(lines), label.encode())


def _load_chain_files(ctx, cert, key):
    import os
    import tempfile

    names = []
    try:
        for data in (cert, key):
            if data is None:
                names.append(None)
                continue
            fd, name = tempfile.mkstemp(suffix=".pem")
            names.append(name)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        ctx.load_cert_chain(names[0], names[1])
    finally:
        for name in names:
            if name is not None:
                os.unlink(name)


def _verify_failed(e):
    return isinstance(e, ssl.SSLCertVerificationError)


def _is_tls_error(e):
    return isinstance(e, ssl.SSLError)


def _closed(e):
    # The peer closed or reset the connection; also asyncio's
    # ConnectionResetError('Connection lost').
    return isinstance(e, (ConnectionResetError, BrokenPipeError)) or _closed_errno(e)


class _Over:
    # TLS by an SSLObject over memory buffers, moved to and from the inner
    # stream by hand.
    def __init__(self, inner, ctx, name, where, params):
        self._ssl = ssl
        self._inner = inner
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_hostname=name)
        self._where = where
        self._params = params
        self._answered = False

    def _error(self, e):
        return error(e, self._where, self._params, not self._answered)

    async def _flush(self):
        data = self._out.read()
        if data:
            self._inner.write(data)
            await self._inner.drain()

    async def _fill(self):
        data = await self._inner.read(16384)
        if data:
            self._in.write(data)
        else:
            self._in.write_eof()

    async def handshake(self):
        try:
            while True:
                try:
                    self._obj.do_handshake()
                    break
                except self._ssl.SSLWantReadError:
                    await self._flush()
                    await self._fill()
            await self._flush()
        except OSError as e:  # SSLError is one.
            raise self._error(e)

    async def read(self, n):
        ssl = self._ssl
        while True:
            try:
                data = self._obj.read(n)
            except ssl.SSLWantReadError:
                try:
                    await self._flush()
                    await self._fill()
                except OSError as e:
                    raise self._error(e)
                continue
            except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
                return b""
            except ssl.SSLError as e:
                raise self._error(e)
            if data:
                self._answered = True
            return data

    def write(self, data):
        try:
            self._obj.write(data)
        except self._ssl.SSLError as e:
            raise self._error(e)

    async def drain(self):
        try:
            await self._flush()
        except OSError as e:
            raise self._error(e)

    def close(self):
        self._inner.close()
