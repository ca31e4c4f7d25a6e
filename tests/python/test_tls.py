"""ssl=True: the socket link's TLS over asyncio streams, against a mosquitto
TLS listener with a certificate made for the test by openssl."""

import asyncio
import shutil
import subprocess

import pytest

from conftest import make_cfg, run
from mqtt_as import MQTTClient


@pytest.fixture
def tls_broker(make_broker, tmp_path):
    assert shutil.which("openssl"), "openssl is needed (tests/python/run installs it)"
    d = tmp_path / "pki"
    d.mkdir()

    def ssl(*args):
        subprocess.run(["openssl"] + list(args), cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.crt")
    ssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "server.key",
        "-out", "server.csr")
    (d / "ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    ssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
        "-days", "2", "-extfile", "ext", "-out", "server.crt")
    b = make_broker(extra=["cafile %s/ca.crt" % d, "certfile %s/server.crt" % d,
                           "keyfile %s/server.key" % d])
    b.ca = str(d / "ca.crt")
    return b


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


def test_tls_with_a_verified_certificate(tls_broker):
    cfg = make_cfg(tls_broker, ssl=True, ssl_params={"cafile": tls_broker.ca, "server_hostname": "localhost"})
    assert roundtrip(cfg) == [b"secret"]


def test_tls_unverified_as_mqtt_as_default(tls_broker):
    # mqtt_as's ssl=True checks no certificate unless told to.
    assert roundtrip(make_cfg(tls_broker, ssl=True)) == [b"secret"]


def test_tls_wrong_hostname_fails_first_connect(tls_broker):
    cfg = make_cfg(tls_broker, ssl=True, ssl_params={"cafile": tls_broker.ca, "server_hostname": "example.org"})

    async def main():
        await MQTTClient(cfg).connect()

    with pytest.raises(OSError):
        run(main())


def test_plain_client_to_tls_listener_fails_first_connect(tls_broker):
    async def main():
        await MQTTClient(make_cfg(tls_broker)).connect()

    with pytest.raises(OSError):
        run(main())
