"""Fixtures of the links suite: the mosquitto helpers of tests/python (a
real broker per test on 127.0.0.1), a PKI made by openssl for the TLS
tests, mosquitto TLS listeners, and a `Cable`: a TCP relay between the
client and the broker that the tests plug and unplug, the "network" under
a link. Run with `python3 -m pytest tests/links` in the venv of
tests/python/run (MQTTAS_LIB: the mqttas cdylib)."""

import importlib.util
import pathlib
import shutil
import socket
import subprocess
import sys
import threading
import time

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# The broker and client helpers of tests/python, under another module name
# (both suites' conftest.py would be "conftest").
_spec = importlib.util.spec_from_file_location("mqttas_python_conftest", ROOT / "tests" / "python" / "conftest.py")
_py = importlib.util.module_from_spec(_spec)
sys.modules["mqttas_python_conftest"] = _py
_spec.loader.exec_module(_py)

MODULE = _py.MODULE
Broker = _py.Broker
Sub = _py.Sub
client_id = _py.client_id
free_port = _py.free_port
make_cfg = _py.make_cfg
mosquitto_pub = _py.mosquitto_pub
run = _py.run
wait_port = _py.wait_port
broker = _py.broker
make_broker = _py.make_broker
cfg = _py.cfg


# ---- PKI ------------------------------------------------------------------


class PKI:
    """A CA, a broker certificate for localhost and 127.0.0.1, a client
    certificate signed by the CA, and a second, unrelated CA with its own
    client certificate. EC P-256 keys: quick to make, and mbedTLS
    (MicroPython) takes them."""

    def __init__(self, d):
        self.dir = pathlib.Path(d)
        self.dir.mkdir(parents=True, exist_ok=True)
        assert shutil.which("openssl"), "openssl is needed (apt-get install openssl)"
        self._ca("ca", "mqttas test CA")
        self._leaf("server", "ca", "localhost", "subjectAltName=DNS:localhost,IP:127.0.0.1\n")
        self._leaf("client", "ca", "mqttas-test-client", "extendedKeyUsage=clientAuth\n")
        self._ca("other", "some other CA")
        self._leaf("stranger", "other", "stranger", "extendedKeyUsage=clientAuth\n")
        for name in ("ca", "client", "stranger"):
            self.openssl("x509", "-in", name + ".crt", "-outform", "DER", "-out", name + ".der")
            if name != "ca":
                self.openssl("pkey", "-in", name + ".key", "-outform", "DER", "-out", name + ".key.der")

    def openssl(self, *args):
        r = subprocess.run(["openssl"] + list(args), cwd=self.dir, capture_output=True, text=True)
        assert r.returncode == 0, "openssl %s: %s" % (" ".join(args), r.stderr)

    def _key(self, name):
        self.openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name + ".key")

    def _ca(self, name, cn):
        self._key(name)
        self.openssl("req", "-x509", "-new", "-key", name + ".key", "-days", "2", "-subj", "/CN=" + cn,
                     "-out", name + ".crt")

    def _leaf(self, name, ca, cn, ext):
        self._key(name)
        self.openssl("req", "-new", "-key", name + ".key", "-subj", "/CN=" + cn, "-out", name + ".csr")
        (self.dir / (name + ".ext")).write_text(ext)
        self.openssl("x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey", ca + ".key",
                     "-CAcreateserial", "-days", "2", "-extfile", name + ".ext", "-out", name + ".crt")

    def path(self, name):
        return str(self.dir / name)

    def read(self, name):
        return (self.dir / name).read_bytes()


@pytest.fixture(scope="session")
def pki(tmp_path_factory):
    return PKI(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def tls_broker(make_broker, pki):
    """tls_broker(require_certificate=False): a mosquitto whose listener
    speaks only TLS, with the PKI's broker certificate."""

    def make(require_certificate=False):
        extra = ["cafile %s" % pki.path("ca.crt"), "certfile %s" % pki.path("server.crt"),
                 "keyfile %s" % pki.path("server.key")]
        if require_certificate:
            extra.append("require_certificate true")
        b = make_broker(extra=extra)
        b.pki = pki
        return b

    return make


# ---- Cable ----------------------------------------------------------------


class Cable:
    """A TCP relay on 127.0.0.1 from `port` to the broker's `upstream`: the
    network under a link, which a test unplugs and plugs back.

    unplug(): connections are reset and new ones refused, as when an
    interface goes down under its sockets. unplug(silent=True): bytes stop
    flowing both ways but sockets stay open (a path that died without a
    word; only timeouts notice). refuse(): the cable stays "plugged" (its
    interface is up) but connections are refused (a dead router behind a
    working interface). plug(): all healed."""

    def __init__(self, upstream):
        self.upstream = upstream
        self.port = free_port()
        self.plugged = True
        self._silent = False
        self._refusing = False
        self._lock = threading.Lock()
        self._conns = []
        self._stop = False
        self.accepted = 0
        self._lsock = socket.socket()
        self._lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._lsock.bind(("127.0.0.1", self.port))
        self._lsock.listen(16)
        self._lsock.settimeout(0.05)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self._lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            if not self.plugged or self._refusing:
                _reset(c)
                continue
            try:
                u = socket.create_connection(("127.0.0.1", self.upstream), timeout=2)
            except OSError:
                _reset(c)
                continue
            self.accepted += 1
            pair = [c, u]
            with self._lock:
                self._conns.append(pair)
            for a, b in ((c, u), (u, c)):
                threading.Thread(target=self._pump, args=(a, b, pair), daemon=True).start()

    def _pump(self, src, dst, pair):
        src.settimeout(0.05)
        while True:
            try:
                data = src.recv(65536)
            except socket.timeout:
                if pair[0] is None:
                    return
                continue
            except OSError:
                data = b""
            if not data:
                self._drop(pair)
                return
            if self._silent:
                continue  # Lost on the way.
            try:
                dst.sendall(data)
            except OSError:
                self._drop(pair)
                return

    def _drop(self, pair, reset=False):
        with self._lock:
            if pair in self._conns:
                self._conns.remove(pair)
        socks = [s for s in pair if s is not None]
        pair[0] = pair[1] = None
        for s in socks:
            if reset:
                _reset(s)
            else:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def connections(self):
        with self._lock:
            return len(self._conns)

    def unplug(self, silent=False):
        self.plugged = False
        if silent:
            self._silent = True
            return
        with self._lock:
            conns = list(self._conns)
        for pair in conns:
            self._drop(pair, reset=True)

    def refuse(self):
        self._refusing = True
        with self._lock:
            conns = list(self._conns)
        for pair in conns:
            self._drop(pair, reset=True)

    def plug(self):
        # Connections that went silent stay dead: their bytes are gone.
        if self._silent:
            with self._lock:
                conns = list(self._conns)
            for pair in conns:
                self._drop(pair, reset=True)
        self._silent = False
        self._refusing = False
        self.plugged = True

    def close(self):
        self._stop = True
        self.unplug()
        self._lsock.close()


def _reset(s):
    # RST, not FIN: what a peer sees when the path is gone.
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError:
        pass
    s.close()


@pytest.fixture
def make_cable():
    made = []

    def make(upstream):
        c = Cable(upstream)
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def wait_until(test, seconds=10, step=0.02):
    """Poll `test` in a plain thread's time (not asyncio): True once it is."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if test():
            return True
        time.sleep(step)
    return test()
