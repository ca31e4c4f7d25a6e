# links/tls.py: TLS for the stream links. mqtt_as's ssl_params made into an
# SSL context (MicroPython's ssl over mbedTLS, or CPython's ssl), TLS
# failures said in words, and TLS over a stream that is not a socket (a
# radio link's, through its gateway to the broker).
#
# Verification is on by default: the broker's certificate chain and its
# name (server_hostname, by default config['server']) must match, against
# the CA given in cadata or cafile, or, on CPython without one, the
# system's CAs. MicroPython has no CA store: there a CA must be given
# (NO_CA says so when the client is made). ssl_params 'cert_reqs':
# ssl.CERT_NONE turns verification off (mqtt_as 0.8.3's default, kept
# only on request).

import io
import sys

import asyncio

from ..compat import within_ms

_MP = sys.implementation.name == "micropython"

# The broker's certificate is verified unless ssl_params say cert_reqs=
# ssl.CERT_NONE. CPython verifies against the system's CAs when no CA is
# given; MicroPython has no CA store, so there a CA must be given.
NO_CA = ("config['ssl_params']: the broker's certificate is verified by default, and MicroPython has no "
         "CA store: give 'cadata' or 'cafile' (the CA that signed the broker's certificate, PEM or DER), "
         "or 'cert_reqs': ssl.CERT_NONE to connect without verifying it")


def no_ca_check(p):
    """ValueError(NO_CA) on MicroPython when verification is on (the
    default) and no CA is given."""
    if _MP and p.get("cert_reqs", 2) != 0 and "cadata" not in p and "cafile" not in p:
        raise ValueError(NO_CA)


def _bad(what, value):
    return ValueError("config['ssl_params'] %s, got %r" % (what, value))


# ssl_params keys: mqtt_as's (MicroPython's ssl.wrap_socket's), and the file
# names CPython's ssl takes, accepted on both.
_SSL_DATA = ("cadata", "cert", "key")
_SSL_FILES = ("cafile", "certfile", "keyfile")


def check_params(p, server):
    """ssl_params checked when the client is made (config['ssl']), with
    server_hostname defaulting to `server` (the name sent in SNI and
    checked against the broker's certificate)."""
    known = _SSL_DATA + _SSL_FILES + ("server_hostname", "cert_reqs", "server_side", "do_handshake")
    for k in p:
        if k not in known:
            raise ValueError("config['ssl_params']: unknown key %r; known keys: %s" % (k, ", ".join(sorted(known))))
    out = dict(p)
    for k in _SSL_DATA:
        if k in p and not isinstance(p[k], (bytes, bytearray, str)):
            raise _bad("%r must be bytes (PEM or DER) or a file name" % k, p[k])
    for k in _SSL_FILES + ("server_hostname",):
        if k in p and not isinstance(p[k], str):
            raise _bad("%r must be a str" % k, p[k])
    if "cert_reqs" in p and p["cert_reqs"] not in (0, 1, 2):
        raise _bad("'cert_reqs' must be ssl.CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED", p["cert_reqs"])
    if p.get("server_side"):
        raise _bad("'server_side' must be False: this is a client", p["server_side"])
    for a, b in (("cadata", "cafile"), ("cert", "certfile"), ("key", "keyfile")):
        if a in p and b in p:
            raise ValueError("config['ssl_params'] has both %r and %r: give one" % (a, b))
    has_cert = "cert" in p or "certfile" in p
    has_key = "key" in p or "keyfile" in p
    # A certfile alone may hold the key too (CPython's load_cert_chain).
    if "cert" in p and not has_key:
        raise ValueError("config['ssl_params']: 'cert' needs its 'key'")
    if has_key and not has_cert:
        raise ValueError("config['ssl_params']: 'key' needs its 'cert'")
    if not out.get("server_hostname"):
        out["server_hostname"] = server
    no_ca_check(out)
    return out


def _read(name):
    with open(name, "rb") as f:
        return f.read()


def _is_pem(data):
    if isinstance(data, str):
        return "-----BEGIN" in data[:100]
    return b"-----BEGIN" in bytes(data[:100])


def _data(v):
    # Certificate material given inline: bytes (PEM or DER) or PEM text.
    # A str that is not PEM is a file name.
    if isinstance(v, str) and not _is_pem(v):
        return _read(v)
    return v.encode() if isinstance(v, str) else bytes(v)


def verify_mode(params):
    """The verification ssl_params ask for: cert_reqs, else CERT_REQUIRED."""
    import ssl

    reqs = params.get("cert_reqs")
    return ssl.CERT_REQUIRED if reqs is None else reqs


_cache = [None, None]  # [ssl_params, context]: certificates parsed once.


def context(params):
    """An SSL context for a client from mqtt_as's ssl_params (keys as in
    options.py). Raises ValueError naming what cannot be loaded."""
    if _cache[0] is params:
        return _cache[1]
    import ssl

    reqs = verify_mode(params)
    no_ca_check(params)
    for k in ("cafile", "certfile", "keyfile", "cert", "key"):
        name = params.get(k)
        if isinstance(name, str) and not _is_pem(name):
            try:
                open(name, "rb").close()
            except OSError as e:
                raise ValueError("config['ssl_params']: cannot read %r (%s): %s" % (k, name, e))
    stage = ["ca"]  # What was being loaded, for the error.
    try:
        try:
            ctx = _make_context(ssl, params, reqs, stage, False)
        except ValueError:
            # A build without PEM parsing (MBEDTLS_PEM_PARSE_C): DER.
            stage[0] = "ca"
            ctx = _make_context(ssl, params, reqs, stage, True)
    except (OSError, ValueError) as e:
        raise ValueError("config['ssl_params']: %s" % (_load_error(e, stage[0]),))
    _cache[0] = params
    _cache[1] = ctx
    return ctx


def _load_error(e, stage):
    if stage == "ca":
        return "the CA certificate ('cadata'/'cafile') cannot be loaded (%s)" % (e,)
    return "the client certificate and key ('cert'/'key') cannot be loaded or do not match (%s)" % (e,)


def _pem_blocks(data, kind):
    # The DER inside each PEM block whose label ends with `kind`.
    from binascii import a2b_base64

    data = bytes(data)
    out = []
    i = 0
    while True:
        a = data.find(b"-----BEGIN ", i)
        if a < 0:
            break
        e = data.find(b"-----", a + 11)
        end = data.find(b"-----END ", e)
        if e < 0 or end < 0:
            break
        if data[a + 11:e].endswith(kind):
            out.append(a2b_base64(data[e + 5:end]))
        i = end + 9
    return out


def _make_context(ssl, params, reqs, stage, der):
    # MicroPython's (CPython's: tls_cpython.py). mbedTLS takes PEM (when built with PEM parsing) or DER from memory;
    # file names are read here. `der`: give it DER only.
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ca = params.get("cadata")
    if ca is None and "cafile" in params:
        ca = _read(params["cafile"])
    if ca is not None:
        ca = _data(ca)
        for one in (_pem_blocks(ca, b"CERTIFICATE") if der and _is_pem(ca) else [ca]):
            ctx.load_verify_locations(cadata=one)
    stage[0] = "cert"
    cert = params.get("cert", params.get("certfile"))
    if cert is not None:
        cert = _data(cert)
        key = params.get("key", params.get("keyfile"))
        # A certfile alone holds the key too; mbedTLS finds it in the PEM.
        key = cert if key is None else _data(key)
        if der and _is_pem(cert):
            cert = (_pem_blocks(cert, b"CERTIFICATE") or [b""])[0]
        if der and _is_pem(key):
            key = (_pem_blocks(key, b"PRIVATE KEY") or [b""])[0]
        ctx.load_cert_chain(cert, key)
    ctx.verify_mode = reqs
    return ctx


# The errors of MicroPython's TLS (CPython's: tls_cpython.py).


def _verify_failed(e):
    # mbedTLS: ValueError with the verification's findings.
    return isinstance(e, ValueError) or "VERIFY" in str(e)


def _is_tls_error(e):
    # mbedTLS errors: negative codes below -256, or their text.
    a = e.args[0] if e.args else None
    return isinstance(e, ValueError) or (isinstance(a, int) and a < -256) or "SSL" in str(e)


def _closed(e):
    # The peer closed or reset the connection.
    import errno

    a = e.args[0] if e.args else None
    # MicroPython's errno may lack EPIPE (32 on Linux and lwIP alike).
    return a in (getattr(errno, "ECONNRESET", 104), getattr(errno, "EPIPE", 32)) or "EOF" in str(e)


def error(e, where, params, handshake=False):
    """An OSError saying in words why TLS with `where` ('host:port')
    failed, from the error `e` (`handshake`: before the broker's first
    bytes); errors of the network beneath are returned as they are."""
    if _verify_failed(e):
        detail = getattr(e, "verify_message", None) or str(e)
        why = ("the broker's certificate could not be verified (%s): check ssl_params 'cadata'/'cafile' "
               "(the CA that signed it) and 'server_hostname' (a name it holds)" % detail.strip())
    elif _is_tls_error(e):
        text = str(e).strip()
        up = text.upper().replace(" ", "_")
        client_cert = "cert" in params or "certfile" in params
        if "CERTIFICATE_REQUIRED" in up or (not client_cert and "HANDSHAKE_FAILURE" in up):
            why = "the broker requires a client certificate (%s): give ssl_params 'cert' and 'key'" % text
        elif client_cert and ("UNKNOWN_CA" in up or "BAD_CERTIFICATE" in up or "CERTIFICATE_UNKNOWN" in up
                              or "HANDSHAKE_FAILURE" in up or "DECRYPT_ERROR" in up):
            why = "the broker rejected the client certificate in ssl_params 'cert' (%s)" % text
        elif "WRONG_VERSION" in up or "RECORD" in up or "PACKET_LENGTH" in up or "EOF" in up:
            why = "no TLS from the broker (%s): is this port a TLS listener?" % text
        else:
            why = text
    elif handshake and isinstance(e, OSError) and _closed(e):
        if "cert" in params or "certfile" in params:
            hint = "did it refuse the client certificate in ssl_params 'cert', or is this port not a TLS listener?"
        else:
            hint = ("does it require a client certificate (ssl_params 'cert' and 'key'), or is this port not "
                    "a TLS listener?")
        why = "the broker closed the connection during the handshake (%s): %s" % (e, hint)
    else:
        return e
    code = e.args[0] if e.args and isinstance(e.args[0], int) else -1
    return OSError(code, "TLS with %s failed: %s" % (where, why))


class TLSStream:
    """A TLS connection: the stream of a TLS socket (MicroPython: a
    SockStream over it, waiting in asyncio's poller without the
    asyncio.stream module) or of CPython's TLS transport; its failures come
    out as OSError in words. (MicroPython finishes the handshake on the
    first read or write, so its certificate errors arrive there.)"""

    def __init__(self, inner, where, params):
        self._s = inner
        self._where = where
        self._params = params
        self._answered = False  # Bytes came: the handshake is over.

    def _error(self, e):
        return error(e, self._where, self._params, not self._answered)

    async def read(self, n):
        try:
            data = await self._s.read(n)
        except (OSError, ValueError) as e:
            raise self._error(e)
        if data:
            self._answered = True
        return data

    def write(self, data):
        # The write is tried at once.
        try:
            self._s.write(data)
        except (OSError, ValueError) as e:
            raise self._error(e)

    async def drain(self):
        try:
            await self._s.drain()
        except (OSError, ValueError) as e:
            raise self._error(e)

    def buffered(self):
        return self._s.buffered()

    def abort(self):
        getattr(self._s, "abort", self._s.close)()

    def close(self):
        self._s.close()


async def open_stream(host, port, params, timeout_ms):
    """TCP to host:port, then TLS as ssl_params say."""
    ctx = context(params)
    name = params.get("server_hostname") or host
    where = "%s:%d" % (host, port)
    from .socket import _open

    try:
        s = await within_ms(_open(host, port, ctx, name), timeout_ms)
    except asyncio.TimeoutError:
        raise OSError(-1, "no TLS connection to %s within response_time" % (where,))
    except (OSError, ValueError) as e:
        raise error(e, where, params, True)
    return TLSStream(s, where, params)


# ---- TLS over any stream --------------------------------------------------


class _Pipe(io.IOBase):
    # MicroPython: the TLS object's "socket". Received bytes wait in
    # rx; bytes TLS sends collect in tx. None means "would block".
    def __init__(self):
        self.rx = b""
        self.tx = bytearray()
        self.eof = False

    def readinto(self, buf):
        if not self.rx:
            return 0 if self.eof else None
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def write(self, buf):
        self.tx.extend(buf)
        return len(buf)

    def ioctl(self, req, arg):
        return 0


class _Over:
    # MicroPython: TLS by mbedTLS over a _Pipe, moved to and from the inner
    # stream by hand. mbedTLS runs the handshake within the first reads and
    # writes (MicroPython's TLS sockets have no handshake call of their
    # own), so the reader and the writer may both need the broker's bytes:
    # one reads the inner stream at a time, the other waits for it.
    def __init__(self, inner, ctx, name, where, params):
        self._inner = inner
        self._pipe = _Pipe()
        self._obj = ctx.wrap_socket(self._pipe, server_hostname=name, do_handshake_on_connect=False)
        self._where = where
        self._params = params
        self._answered = False
        self._pending = b""  # Written, not yet taken by TLS (handshake).
        self._lock = asyncio.Lock()

    def _error(self, e):
        return error(e, self._where, self._params, not self._answered)

    async def _flush(self):
        p = self._pipe
        if p.tx:
            data = bytes(p.tx)
            p.tx = bytearray()
            self._inner.write(data)
            await self._inner.drain()

    async def _fill(self):
        if self._lock.locked():
            # The other task is reading: its bytes will do.
            await self._lock.acquire()
            self._lock.release()
            return
        await self._lock.acquire()
        try:
            data = await self._inner.read(4096)
            if data:
                self._pipe.rx += data
            else:
                self._pipe.eof = True
        finally:
            self._lock.release()

    async def handshake(self):
        return None  # Done by the first read or write (see above).

    async def read(self, n):
        while True:
            try:
                data = self._obj.read(n)
            except (OSError, ValueError) as e:
                raise self._error(e)
            try:
                await self._flush()
                if data is None and not self._pipe.eof:
                    await self._fill()
                    continue
            except OSError as e:
                raise self._error(e)
            if data is None:  # The broker closed the connection.
                if not self._answered:
                    raise self._error(OSError(104, "EOF during the TLS handshake"))
                return b""
            if data:
                self._answered = True
            return data

    def _push(self):
        # Give TLS what it takes of the pending bytes; False: it waits for
        # the broker (handshake).
        while self._pending:
            try:
                n = self._obj.write(self._pending)
            except (OSError, ValueError) as e:
                raise self._error(e)
            if n is None:
                return False
            self._pending = self._pending[n:]
        return True

    def write(self, data):
        self._pending += bytes(data)
        self._push()

    async def drain(self):
        while True:
            done = self._push()
            try:
                await self._flush()
                if done:
                    return
                if not self._pipe.eof:
                    await self._fill()
                    continue
            except OSError as e:
                raise self._error(e)
            raise self._error(OSError(104, "EOF during the TLS handshake"))

    def close(self):
        self._inner.close()


async def over(stream, params, host, timeout_ms=10000):
    """TLS as ssl_params say over `stream` (read/write/drain/close, as a
    link's open() returns): the handshake is done when this returns."""
    ctx = context(params)
    name = params.get("server_hostname") or host
    where = "%s (over %s)" % (name, type(stream).__name__)
    t = _Over(stream, ctx, name, where, params)
    try:
        await within_ms(t.handshake(), timeout_ms)
    except asyncio.TimeoutError:
        stream.close()
        raise OSError(-1, "no TLS handshake with %s within response_time" % (where,))
    except OSError:
        stream.close()
        raise
    return t


class TLSLink:
    """TLS over the streams of another link, e.g. a radio link (its gateway
    then relays only ciphertext to the broker's TLS port):

        config['ssl'] = True          # the broker's TLS port (8883)...
        config['ssl_params'] = {'cadata': ca}   # ...and the client's settings
        config['link'] = TLSLink(RadioLink(...))

    With config['ssl'] False, `ssl_params` given here are used instead.
    Everything else is the inner link's."""

    def __init__(self, inner, ssl_params=None):
        self.inner = inner
        self._params = ssl_params or {}

    @property
    def poll_ms(self):
        return self.inner.poll_ms

    def isconnected(self):
        return self.inner.isconnected()

    async def up(self, quick=False):
        await self.inner.up(quick)

    async def down(self):
        await self.inner.down()

    def close(self):
        self.inner.close()

    def resolve(self, host, port):
        return self.inner.resolve(host, port)

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        params = ssl_params if ssl else self._params
        stream = await self.inner.open(addr, False, None, timeout_ms)
        return await over(stream, params or {}, addr[0], timeout_ms)

    async def dns_probe(self, server, packet, timeout_ms):
        return await self.inner.dns_probe(server, packet, timeout_ms)


if not _MP:
    # CPython's ssl where it differs (tls_cpython.py: never frozen into a
    # firmware).
    from .tls_cpython import _make_context, _verify_failed, _is_tls_error, _closed, _Over  # noqa: F811
