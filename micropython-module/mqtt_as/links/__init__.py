# mqtt_as.links: how the client reaches the broker.
#
# A link knows nothing of MQTT. It brings its network up and down and opens
# a byte stream to the broker; the client only calls these:
#
#   poll_ms                   ms between isconnected() checks while
#                             connected, None when the link reports loss by
#                             failing the stream only.
#   isconnected() -> bool     Is the network (not the broker) up?
#   async up(quick=False)     Bring the network up; OSError on failure.
#   async down()              Take it down (after an outage: "belt and braces").
#   close()                   Shut the interface (MQTTClient.close()).
#   resolve(host, port)       The address to open, looked up once.
#   async open(addr, ssl, ssl_params, timeout_ms) -> stream with
#                             async read(n), write(b), async drain(), close().
#   async dns_probe(server, packet, timeout_ms) -> bool   (for wan_ok()).
#
# socket.SocketLink: TCP or TLS over asyncio streams on a host whose network
# is always up (unix MicroPython, CPython). wlan.WLANLink: the same over
# Wi-Fi, with mqtt_as's connect and reconnect behaviour. lan.LANLink: over
# wired Ethernet (network.LAN). failover.FailoverLink: several links in
# order of preference. tls.py: ssl_params to an SSL context, TLS errors in
# words, and tls.TLSLink: TLS over any other link's streams. See
# docs/links.md.


def absent(e, name, what):
    """For `raise absent(e, ...)` on an ImportError `e` of the link module
    links/<name>.py: a firmware built without it (its knob `name` left out,
    so the module is not frozen) is a ValueError naming the knob, where
    `what` asked for it; any other ImportError (the module is there, but
    something it imports is not) is `e` itself."""
    if "links." + name not in str(e):
        return e
    return missing(name, what)


def missing(knob, what):
    """The error for `what` (a config key, an argument) needing a knob the
    firmware was built without (here, not in compat: loaded always, it
    would take a slot in each module's dict)."""
    return ValueError("%s needs the feature '%s', which this firmware is built without: build it with"
                      " MQTTAS_FEATURES including %s (micropython-module/README.md, \"Feature knobs\")"
                      % (what, knob, knob))


def default_link(settings, log=None):
    """The link the config asks for (`settings`: the core's object, with
    its lan, ssid and wifi_pw): the LAN link when config['lan'] is set,
    else the WLAN link where MicroPython has network.WLAN (and the firmware
    the wlan knob, or config['ssid'] asks for it), else the host socket
    link."""
    lan = settings.lan
    if lan is not None:
        return _lan_link(lan, log)
    try:
        import network
    except ImportError:
        network = None
    if network is not None and hasattr(network, "WLAN"):
        try:
            from .wlan import WLANLink

            return WLANLink(settings.ssid, settings.wifi_pw, log)
        except ImportError as e:
            err = absent(e, "wlan", "config['ssid']")
            if settings.ssid is not None or not isinstance(err, ValueError):
                raise err
            # A firmware without the Wi-Fi link, and no ssid: the board's
            # network is brought up elsewhere.
    from .socket import SocketLink

    return SocketLink()


def _lan_link(lan, log):
    nic = hasattr(lan, "isconnected")  # A ready network.LAN (or WIZNET5K, ...).
    try:
        import network
    except ImportError:
        network = None
    if network is None or not (nic or hasattr(network, "LAN")):
        raise ValueError("config['lan'] needs a firmware with network.LAN (Ethernet); this one has none")
    try:
        from .lan import LANLink
    except ImportError as e:
        raise absent(e, "lan", "config['lan']")
    if nic:
        return LANLink(nic=lan, log=log)
    return LANLink(params=lan, log=log)


def default_client_id():
    """machine.unique_id() in hex on a board; random hex elsewhere."""
    from binascii import hexlify

    try:
        from machine import unique_id

        return hexlify(unique_id())
    except (ImportError, AttributeError):
        pass
    try:
        from os import urandom

        return b"mqttas-" + hexlify(urandom(6))
    except ImportError:
        from random import getrandbits

        return ("mqttas-%08x" % getrandbits(32)).encode()
