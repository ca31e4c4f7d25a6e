# links/lan.py: the broker over wired Ethernet (`network.LAN`): ESP32 boards
# with an RMII PHY (LAN8720, IP101, ...) or an SPI chip (W5500, DM9051),
# STM32 and mimxrt boards whose firmware has network.LAN, or any ready
# interface object with active(), isconnected() (and status()). It behaves
# as the WLAN link does: up() waits for a DHCP lease, loss is seen by
# polling isconnected(), and after an outage the interface is switched off
# (down) and on again (up). Only this module and wlan.py import `network`.

import asyncio
import network

from .socket import SocketLink


def make_nic(params=None):
    """A network.LAN from `params`: None or True for the board's own
    Ethernet (STM32, mimxrt), else a dict of network.LAN's keyword
    arguments, e.g. for an ESP32 with a LAN8720:
    {'mdc': 23, 'mdio': 18, 'power': 12, 'phy_type': 'LAN8720', 'phy_addr': 0}.
    phy_type may be network.PHY_x or its name ('LAN8720' or 'PHY_LAN8720')."""
    if params is None or params is True:
        return network.LAN()
    kw = dict(params)
    pt = kw.get("phy_type")
    if isinstance(pt, str):
        name = pt if pt.startswith("PHY_") else "PHY_" + pt
        if not hasattr(network, name):
            raise ValueError("LAN phy_type %r: this firmware has no network.%s" % (pt, name))
        kw["phy_type"] = getattr(network, name)
    return network.LAN(**kw)


def _status_text(nic):
    # What status() says, in words, for the error raised by up().
    try:
        st = nic.status()
    except (AttributeError, OSError, TypeError, ValueError):
        return "not connected"
    # ESP32 reports events (ETH_*); STM32 and mimxrt a link level 0..3.
    names = {}
    for name, text in (
        ("ETH_CONNECTED", "cable in but no IP address (no DHCP lease?)"),
        ("ETH_DISCONNECTED", "no link: cable unplugged or switch off"),
        ("ETH_STARTED", "no link: cable unplugged or switch off"),
        ("ETH_STOPPED", "interface stopped"),
        ("ETH_INITIALIZED", "interface not started"),
    ):
        if hasattr(network, name):
            names[getattr(network, name)] = text
    if not names:
        names = {
            0: "no link: cable unplugged or switch off",
            1: "link up, interface not up",
            2: "cable in but no IP address (no DHCP lease?)",
        }
    return "status %r: %s" % (st, names.get(st, "not connected"))


class LANLink(SocketLink):
    # A pulled cable is seen by polling the interface, as Wi-Fi loss is.
    poll_ms = 1000

    def __init__(self, nic=None, params=None, log=None, timeout_ms=30000):
        """`nic`: a ready network.LAN (or network.WIZNET5K, or anything with
        active(), isconnected() and status()); else one is made from
        `params` (see make_nic). `timeout_ms`: how long up() waits for the
        link and its address (DHCP)."""
        self._nic = nic if nic is not None else make_nic(params)
        self._log = log or (lambda *_: None)
        self._timeout_ms = timeout_ms

    @property
    def nic(self):
        """The network interface object, e.g. for ipconfig()."""
        return self._nic

    def isconnected(self):
        try:
            return bool(self._nic.isconnected())
        except OSError:
            return False

    async def up(self, quick=False):
        # `quick` changes nothing: unlike Wi-Fi at the edge of range, a
        # wired link that came up has no integrity to prove.
        nic = self._nic
        # Only when off: on STM32 active(True) restarts the MAC and PHY.
        if not nic.active():
            nic.active(True)
        waited = 0
        while not self.isconnected():
            if waited >= self._timeout_ms:
                raise OSError(-1, "Ethernet not connected after %.1f s (%s)" % (waited / 1000, _status_text(nic)))
            await asyncio.sleep(0.1)
            waited += 100
        self._log("Ethernet up")

    async def down(self):
        # Off and on again drops the old lease and any half-open sockets.
        try:
            self._nic.active(False)
        except OSError:
            self._log("Ethernet: unable to stop the interface")

    def close(self):
        try:
            self._nic.active(False)
        except OSError:
            pass
