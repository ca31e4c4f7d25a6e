"""Parts of the packet radio tests and benchmark: a mosquitto on 127.0.0.1,
the gateway (ports/gateway, a real process), the simulated air (air.py, in
this process) and mqtt_as clients whose link is a RadioLink over UDP.

Used by tests/links/test_radio.py and tests/bench/radio; no pytest here.
"""

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
MODULE = ROOT / "micropython-module"
for p in (str(MODULE / "cpython"), str(MODULE), str(HERE), str(ROOT / "tests" / "lib")):
    if p not in sys.path:
        sys.path.insert(0, p)

from air import Air  # noqa: E402

from mqttas_broker import MOSQUITTO, Broker, free_port, wait_port  # noqa: E402,F401


def target_dir():
    return pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


def gateway_bin():
    p = os.environ.get("MQTTAS_GATEWAY")
    return pathlib.Path(p) if p else target_dir() / "release" / "mqttas-gateway"


class Gateway:
    """ports/gateway as a process: radio frames on a UDP port, downlink to
    the air, TCP to the broker. Restartable on the same port."""

    def __init__(self, path, broker_port, air, mtu=32, window=4, rto_ms=400, max_retries=10,
                 keepalive_ms=3000, extra=()):
        self.dir = pathlib.Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port(socket.SOCK_DGRAM)
        self.args = [
            str(gateway_bin()),
            "--radio", "127.0.0.1:%d" % self.port,
            "--air", "%s:%d" % air.gw_addr,
            "--broker", "127.0.0.1:%d" % broker_port,
            "--mtu", str(mtu),
            "--window", str(window),
            "--rto-ms", str(rto_ms),
            "--max-retries", str(max_retries),
            "--keepalive-ms", str(keepalive_ms),
        ] + list(extra)
        air.gateway = ("127.0.0.1", self.port)
        self.proc = None
        self.starts = 0

    def start(self):
        if not gateway_bin().exists():
            raise RuntimeError("no gateway binary %s: cargo build --release --bin mqttas-gateway" % gateway_bin())
        self.starts += 1
        err = open(self.dir / "gateway.log", "ab")
        err.write(("---- start %d: %s\n" % (self.starts, " ".join(self.args))).encode())
        err.flush()
        self.proc = subprocess.Popen(self.args, stdout=err, stderr=err)
        err.close()
        # Bound once it logs its first line.
        end = time.monotonic() + 10
        while time.monotonic() < end and "radio frames on udp" not in self.log().split("---- start %d" % self.starts)[-1]:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited: %s" % self.log())
            time.sleep(0.02)
        return self

    def stop(self, sig=signal.SIGTERM):
        p, self.proc = self.proc, None
        if p is None:
            return None
        p.send_signal(sig)
        try:
            return p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            return p.wait()

    def log(self):
        f = self.dir / "gateway.log"
        return f.read_text(errors="replace") if f.exists() else ""


def radio_link(air, node, log=None, **kw):
    """A RadioLink for node `node` whose radio is a UDP socket on the air."""
    from mqtt_as.links.radio import RadioLink
    from mqtt_as.links.udp_radio import UDPRadio

    return RadioLink(UDPRadio(air.node_addr), node, log=log, **kw)


_ids = [0]


def client_id(prefix):
    _ids[0] += 1
    return "%s-%d-%d" % (prefix, os.getpid(), _ids[0])


def make_cfg(broker, link=None, **kw):
    """A copy of mqtt_as.config for the broker; with `link`, over it."""
    import mqtt_as

    c = dict(mqtt_as.config)
    c.update(server="127.0.0.1", port=broker.port, client_id=client_id("r"), response_time=10)
    if link is not None:
        c["link"] = link
    c.update(kw)
    return c
