# options.py: the `config` dict of mqtt_as, its defaults and its validation.
#
# MicroPython- and CPython-compatible. The dict stays a dict (programs
# written for mqtt_as 0.8.3 fill it in place); MQTTClient checks every key
# when it is constructed, so a mistake is reported before anything is sent.
#
# The keys (defaults in brackets):
#
# Network (WLAN link only; ignored where there is no `network` module)
#   ssid [None]           Wi-Fi network name.
#   wifi_pw [None]        Wi-Fi password.
#   lan [None]            Wired Ethernet instead (links/lan.py): True for
#                         the board's own network.LAN() (STM32, mimxrt);
#                         a dict of network.LAN keyword arguments (ESP32:
#                         {'mdc': 23, 'mdio': 18, 'power': 12,
#                         'phy_type': 'LAN8720', 'phy_addr': 0}); or a
#                         ready network.LAN object. wifi_coro is called on
#                         its changes as on Wi-Fi's.
#
# MQTT
#   client_id [unique]    bytes or str: machine.unique_id() in hex on a
#                         board, a random id elsewhere.
#   server [None]         Broker host name or IP address. Required.
#   port [0]              0 means 1883, or 8883 with ssl.
#   user ['']             User name ('' for none).
#   password ['']         Password; needs a user.
#   keepalive [60]        Seconds (0..65535) before the broker regards the
#                         client as dead and publishes the will.
#   ping_interval [0]     Seconds between pings when idle; 0 means a
#                         quarter of keepalive (20 s when keepalive is 0).
#   ssl [False]           Use TLS (over any stream link: docs/links.md).
#   ssl_params [{}]       TLS settings, as mqtt_as's (ssl.wrap_socket's):
#                         cadata (CA certificate, PEM or DER bytes),
#                         cert and key (client certificate and its key,
#                         PEM or DER bytes, or file names), cert_reqs
#                         (ssl.CERT_NONE/OPTIONAL/REQUIRED),
#                         server_hostname (default: server), and on either
#                         Python cafile, certfile, keyfile (file names).
#                         The broker's certificate is verified (chain and
#                         name) by default: against cadata/cafile, or on
#                         CPython the system's CAs; on MicroPython a CA
#                         is required unless cert_reqs=ssl.CERT_NONE.
#   response_time [10]    Seconds to wait for any reply (CONNACK, PUBACK,
#                         SUBACK, PINGRESP) before the connection is
#                         presumed dead.
#   clean_init [True]     Clean session on the first connection.
#   clean [True]          Clean session on reconnection. With
#                         clean_init=True and clean=False the first
#                         connection clears the old session and later ones
#                         keep it: connect clean, disconnect, reconnect
#                         (5.0 with a session expiry that never ends, unless
#                         mqttv5_con_props gives 0x11).
#   max_repubs [4]        3.1.1: times an unacknowledged QoS 1/2 message is
#                         sent again on the same connection before it is
#                         presumed dead (5.0 forbids resending on the same
#                         connection).
#   will [None]           (topic, msg, retain=False, qos=0): last will.
#
# Interface
#   queue_len [0]         > 0 selects the Event interface: client.up,
#                         client.down and `async for ... in client.queue`.
#   subs_cb               Callback interface: subs_cb(topic, msg, retained)
#                         (5.0: a fourth argument, properties).
#   wifi_coro             async wifi_coro(state): the link went up or down.
#   connect_coro          async connect_coro(client): connected to the
#                         broker (subscribe here).
#   gateway [False]       mqtt_as's ESP-NOW gateway: not supported here.
#
# MQTT 5.0
#   mqttv5 [False]        Use MQTT 5.0.
#   mqttv5_con_props [None]  CONNECT properties, a dict keyed by property
#                         identifier (0x11 session expiry, 0x21 receive
#                         maximum, 0x22 topic alias maximum, 0x27 maximum
#                         packet size, 0x26 user properties, ...).
#
# Extensions of this implementation (all optional)
#   chunk_cb [None]       Receive messages larger than rx_size in pieces:
#                         chunk_cb(topic, data, offset, total, retained,
#                         properties) per piece. Without it such messages
#                         are assembled and delivered whole.
#   rx_size [board: 256, 1024 with mqttv5; host: 16384]   Receive buffer:
#                         the largest packet taken whole (host: CPython or
#                         unix MicroPython). Larger messages arrive in
#                         pieces, assembled (or given to chunk_cb).
#   tx_size [board: 1024, more if the CONNECT needs it; host: 65536]
#                         Transmit buffer: the largest QoS 0 publication
#                         plus control packets. A larger QoS 0 message
#                         raises ValueError.
#   store_size [board: 2048; host: 262144]  QoS 1/2 messages awaiting
#                         acknowledgement, kept across reconnections; when
#                         full, publish() waits. A larger message raises
#                         ValueError.
#                         Why these board sizes: see BOARD_SIZES below.
#   max_inflight [8]      QoS 1/2 publications on the wire at once.
#   hold_down [1]         Seconds the link is held down after an outage
#                         before reconnecting (and after a link bounce).
#   tcp_attempts [3]      Failed connection attempts in a row before the
#                         link itself (WiFi) is bounced: down, hold_down,
#                         up; 0: never. The host socket link has nothing to
#                         bounce: there a bounce only holds down.
#   backoff_base [0.5]    Seconds waited after the first failed attempt,
#                         doubling after each further one...
#   backoff_cap [30]      ...up to this many seconds.
#   jitter [20]           Each wait is shortened by a random 0 to this many
#                         percent, so devices do not reconnect in step.
#   attempt_timeout [30]  Seconds an attempt may take before it counts as
#                         failed; 0: no limit. (An attempt also fails when
#                         no CONNACK comes within response_time.)
#   reconnect_seed [None] Seed of the jitter; None: from the client id.
#                         The outage policy is the core's (_mqttas.Reconnect),
#                         the same in the C and Rust clients.
#   dns_server ['8.8.8.8']  Server wan_ok() queries: 'host' or (host, port).
#   link [None]           A link object (see mqtt_as/links, docs/links.md),
#                         e.g. links.failover.FailoverLink([lan, wlan]);
#                         None picks the LAN link when config['lan'] is
#                         set, the WLAN link where `network` exists, else
#                         the host socket link.

import sys

from .topics import check_name

# A host (CPython, or MicroPython's unix port) has RAM to spare.
_HOST = sys.implementation.name != "micropython" or sys.platform in ("linux", "darwin", "win32")


async def eliza(*_):  # The "do little" coroutine of mqtt_as.
    return None


def _null_cb(*_):
    return None


def defaults(client_id):
    """A fresh config dict with every key at its default."""
    return {
        "client_id": client_id,
        "server": None,
        "port": 0,
        "user": "",
        "password": "",
        "keepalive": 60,
        "ping_interval": 0,
        "ssl": False,
        "ssl_params": {},
        "response_time": 10,
        "clean_init": True,
        "clean": True,
        "max_repubs": 4,
        "will": None,
        "subs_cb": _null_cb,
        "wifi_coro": eliza,
        "connect_coro": eliza,
        "ssid": None,
        "wifi_pw": None,
        "queue_len": 0,
        "gateway": False,
        "mqttv5": False,
        "mqttv5_con_props": None,
    }


# Buffer sizes on a board (rx, rx with mqttv5, tx, store), in bytes: the
# client's largest use of RAM, so sized from what mqtt_as programs do.
# - rx: the largest packet taken whole. In 3.1.1 the broker sends nothing
#   longer than 5 bytes but PUBLISH, and a PUBLISH larger than rx arrives
#   in pieces (assembled for subs_cb): 256 holds its head with a topic of
#   up to 240 bytes. In 5.0 CONNACK and the acknowledgements may carry
#   properties (reason strings, user properties) and must fit whole: 1024.
# - tx: control packets and each QoS 0 publication whole (QoS 1/2 ones are
#   sent from the store): messages up to 1 KiB; more when the CONNECT (the
#   client id, credentials and will) would not fit.
# - store: QoS 1/2 publications until acknowledged, kept across outages.
#   publish() awaits its acknowledgement, so each publishing coroutine has
#   one message in the store: two messages of 1 KiB, as tx (a coroutine
#   waits while the store is full).
BOARD_SIZES = (256, 1024, 1024, 2048)

# Extensions and their defaults: a program for mqtt_as 0.8.3 has none of them.
# None: a size from the settings (the host's, or BOARD_SIZES).
EXTRA = {
    "chunk_cb": None,
    "rx_size": None,
    "tx_size": None,
    "store_size": None,
    "max_inflight": 8,
    "hold_down": 1,
    "tcp_attempts": 3,
    "backoff_base": 0.5,
    "backoff_cap": 30,
    "jitter": 20,
    "attempt_timeout": 30,
    "reconnect_seed": None,
    "dns_server": "8.8.8.8",
    "link": None,
    "lan": None,
}


def _err(key, what, value):
    return ValueError("config['%s'] %s, got %r" % (key, what, value))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int(c, key, lo, hi):
    v = c[key]
    if not _is_int(v) or not lo <= v <= hi:
        raise _err(key, "must be an integer in %d..%d" % (lo, hi), v)
    return v


def _num(c, key, lo, hi, zero_ok):
    v = c[key]
    if not (_is_int(v) or isinstance(v, float)) or v > hi or v < lo or (v == 0 and not zero_ok):
        raise _err(key, "must be a number of seconds in %s..%s%s" % (lo, hi, "" if zero_ok else ", not 0"), v)
    return v


def _bool(c, key):
    v = c[key]
    if v not in (True, False, 0, 1):
        raise _err(key, "must be True or False", v)
    return bool(v)


def _text(c, key, none_ok=False, empty_ok=True):
    v = c[key]
    if v is None and none_ok:
        return None
    if isinstance(v, (bytes, bytearray)):
        v = bytes(v)
        try:
            v.decode()
        except UnicodeError:
            raise _err(key, "must be UTF-8", v)
    elif isinstance(v, str):
        v = v.encode()
    else:
        raise _err(key, "must be %sstr or bytes" % ("None, " if none_ok else ""), v)
    if not empty_ok and not v:
        raise _err(key, "must not be empty", v)
    if len(v) > 65535:
        raise _err(key, "is longer than 65535 bytes", v[:20])
    return v


def _callable(c, key, none_ok=False):
    v = c[key]
    if v is None and none_ok:
        return None
    if not callable(v):
        raise _err(key, "must be callable", v)
    return v


def validate(config):
    """Check a config dict; return a new dict of settings, normalised
    (strings as bytes, times in milliseconds). Raises ValueError naming the
    key and what it must be."""
    if not isinstance(config, dict):
        raise TypeError("MQTTClient needs a config dict (start from mqtt_as.config)")
    c = defaults(None)
    c.update(EXTRA)
    for k in config:
        if k not in c:
            raise ValueError(
                "config: unknown key %r; known keys: %s" % (k, ", ".join(sorted(c)))
            )
    c.update(config)
    s = {}
    s["server"] = c["server"]
    if isinstance(s["server"], (bytes, bytearray)):
        s["server"] = bytes(s["server"]).decode()
    if not isinstance(s["server"], str) or not s["server"]:
        raise _err("server", "is required: the broker's host name or IP address", c["server"])
    s["ssl"] = _bool(c, "ssl")
    s["port"] = _int(c, "port", 0, 65535) or (8883 if s["ssl"] else 1883)
    if not isinstance(c["ssl_params"], dict):
        raise _err("ssl_params", "must be a dict", c["ssl_params"])
    s["ssl_params"] = _ssl_params(c["ssl_params"], s["server"]) if s["ssl"] else c["ssl_params"]
    if c["client_id"] is None:
        from .links import default_client_id

        c["client_id"] = default_client_id()
    s["client_id"] = _text(c, "client_id")
    s["user"] = _text(c, "user", none_ok=True) or b""
    s["password"] = _text(c, "password", none_ok=True) or b""
    if s["password"] and not s["user"]:
        raise ValueError("config['password'] is set but config['user'] is empty: a password needs a user")
    s["keepalive"] = _int(c, "keepalive", 0, 65535)
    pi = _num(c, "ping_interval", 0, 1000000, True)
    ka_ms = s["keepalive"] * 1000
    default_pi = ka_ms // 4 if ka_ms else 20000
    pi_ms = int(pi * 1000)
    s["ping_interval_ms"] = pi_ms if pi_ms and pi_ms < default_pi else default_pi
    s["response_time_ms"] = int(_num(c, "response_time", 0, 1000000, False) * 1000)
    s["clean_init"] = _bool(c, "clean_init")
    s["clean"] = _bool(c, "clean")
    s["max_repubs"] = _int(c, "max_repubs", 0, 255)
    s["queue_len"] = _int(c, "queue_len", 0, 65535)
    s["subs_cb"] = _callable(c, "subs_cb")
    s["wifi_coro"] = _callable(c, "wifi_coro")
    s["connect_coro"] = _callable(c, "connect_coro")
    s["chunk_cb"] = _callable(c, "chunk_cb", none_ok=True)
    s["ssid"] = c["ssid"]
    s["wifi_pw"] = c["wifi_pw"]
    for k in ("ssid", "wifi_pw"):
        if s[k] is not None and not isinstance(s[k], (str, bytes)):
            raise _err(k, "must be None or a str", s[k])
    if c["gateway"]:
        raise _err("gateway", "is not supported by this mqtt_as (no ESP-NOW gateway): leave it False", c["gateway"])
    s["mqttv5"] = _bool(c, "mqttv5")
    props = c["mqttv5_con_props"]
    if props is not None:
        if not s["mqttv5"]:
            raise _err("mqttv5_con_props", "needs config['mqttv5'] = True", props)
        from .properties import check  # 5.0 only: loaded when used.

        check(props, "CONNECT", "config['mqttv5_con_props']")
    s["mqttv5_con_props"] = props
    s["will"] = _will(c["will"], s["mqttv5"])
    _sizes(c, s)
    s["max_inflight"] = _int(c, "max_inflight", 1, 65535)
    s["hold_down_ms"] = int(_num(c, "hold_down", 0, 3600, True) * 1000)
    s["tcp_attempts"] = _int(c, "tcp_attempts", 0, 65535)
    s["backoff_base_ms"] = int(_num(c, "backoff_base", 0, 3600, True) * 1000)
    s["backoff_cap_ms"] = int(_num(c, "backoff_cap", 0, 3600, True) * 1000)
    if s["backoff_cap_ms"] < s["backoff_base_ms"]:
        raise _err("backoff_cap", "must not be below config['backoff_base']", c["backoff_cap"])
    s["jitter"] = _int(c, "jitter", 0, 100)
    s["attempt_timeout_ms"] = int(_num(c, "attempt_timeout", 0, 3600, True) * 1000)
    seed = c["reconnect_seed"]
    if seed is None:
        seed = 0
        for b in str(c["client_id"]).encode():
            seed = (seed * 31 + b) & 0xFFFFFFFF
    elif not _is_int(seed):
        raise _err("reconnect_seed", "must be None or an int", seed)
    s["reconnect_seed"] = seed & 0xFFFFFFFF
    dns = c["dns_server"]
    if isinstance(dns, str):
        dns = (dns, 53)
    if not (isinstance(dns, tuple) and len(dns) == 2 and isinstance(dns[0], str) and _is_int(dns[1])):
        raise _err("dns_server", "must be 'host' or ('host', port)", c["dns_server"])
    s["dns_server"] = dns
    s["link"] = c["link"]
    lan = c["lan"]
    if lan is False:
        lan = None
    if lan is not None:
        if s["link"] is not None:
            raise _err("lan", "and config['link'] are both set: give one (a LAN link is links.lan.LANLink)", lan)
        if not (lan is True or isinstance(lan, dict) or (hasattr(lan, "isconnected") and hasattr(lan, "active"))):
            raise _err("lan", "must be None, True, a dict of network.LAN arguments or a network.LAN object", lan)
        if isinstance(lan, dict):
            for k in lan:
                if not isinstance(k, str):
                    raise _err("lan", "keys must be network.LAN's keyword argument names", k)
    s["lan"] = lan
    return s


def _sizes(c, s):
    """rx_size, tx_size and store_size: as given, else the defaults."""
    if _HOST:
        rx, tx, store = 16384, 65536, 262144
    else:
        rx = BOARD_SIZES[1 if s["mqttv5"] else 0]
        tx = max(BOARD_SIZES[2], _connect_size(s))
        store = BOARD_SIZES[3]
    for key, lo, default in (("rx_size", 64, rx), ("tx_size", 64, tx), ("store_size", 0, store)):
        s[key] = default if c[key] is None else _int(c, key, lo, 1 << 30)


def _connect_size(s):
    """An upper bound of the CONNECT packet's size."""
    n = 32 + len(s["client_id"]) + len(s["user"]) + len(s["password"])
    if s["will"] is not None:
        n += 8 + len(s["will"][0]) + len(s["will"][1])
    props = s["mqttv5_con_props"] or {}
    for v in props.values():
        if isinstance(v, dict):
            v = list(v.items())
        if isinstance(v, list) or isinstance(v, tuple):
            for k, x in v:
                n += 5 + _blen(k) + _blen(x)
        elif isinstance(v, int):
            n += 5
        else:
            n += 3 + _blen(v)
    return n


def _blen(v):
    return len(v.encode()) if isinstance(v, str) else len(v)


# ssl_params keys: mqtt_as's (MicroPython's ssl.wrap_socket's), and the file
# names CPython's ssl takes, accepted on both.
_SSL_DATA = ("cadata", "cert", "key")
_SSL_FILES = ("cafile", "certfile", "keyfile")


def _ssl_params(p, server):
    """ssl_params checked, with server_hostname defaulting to `server` (the
    name sent in SNI and checked against the broker's certificate)."""
    known = _SSL_DATA + _SSL_FILES + ("server_hostname", "cert_reqs", "server_side", "do_handshake")
    for k in p:
        if k not in known:
            raise ValueError("config['ssl_params']: unknown key %r; known keys: %s" % (k, ", ".join(sorted(known))))
    out = dict(p)
    for k in _SSL_DATA:
        if k in p and not isinstance(p[k], (bytes, bytearray, str)):
            raise _err("ssl_params", "%r must be bytes (PEM or DER) or a file name" % k, p[k])
    for k in _SSL_FILES + ("server_hostname",):
        if k in p and not isinstance(p[k], str):
            raise _err("ssl_params", "%r must be a str" % k, p[k])
    if "cert_reqs" in p and p["cert_reqs"] not in (0, 1, 2):
        raise _err("ssl_params", "'cert_reqs' must be ssl.CERT_NONE, CERT_OPTIONAL or CERT_REQUIRED", p["cert_reqs"])
    if p.get("server_side"):
        raise _err("ssl_params", "'server_side' must be False: this is a client", p["server_side"])
    if "cadata" in p and "cafile" in p:
        raise ValueError("config['ssl_params'] has both 'cadata' and 'cafile': give one")
    has_cert = "cert" in p or "certfile" in p
    has_key = "key" in p or "keyfile" in p
    # A certfile alone may hold the key too (CPython's load_cert_chain).
    if "cert" in p and not has_key:
        raise ValueError("config['ssl_params']: 'cert' needs its 'key'")
    if has_key and not has_cert:
        raise ValueError("config['ssl_params']: 'key' needs its 'cert'")
    if "cert" in p and "certfile" in p:
        raise ValueError("config['ssl_params'] has both 'cert' and 'certfile': give one")
    if "key" in p and "keyfile" in p:
        raise ValueError("config['ssl_params'] has both 'key' and 'keyfile': give one")
    if not out.get("server_hostname"):
        out["server_hostname"] = server
    no_ca_check(out)
    return out


# The broker's certificate is verified unless ssl_params say cert_reqs=
# ssl.CERT_NONE. CPython verifies against the system's CAs when no CA is
# given; MicroPython has no CA store, so there a CA must be given.
NO_CA = ("config['ssl_params']: the broker's certificate is verified by default, and MicroPython has no "
         "CA store: give 'cadata' or 'cafile' (the CA that signed the broker's certificate, PEM or DER), "
         "or 'cert_reqs': ssl.CERT_NONE to connect without verifying it")


def no_ca_check(p):
    """ValueError(NO_CA) on MicroPython when verification is on (the
    default) and no CA is given."""
    if (sys.implementation.name == "micropython" and p.get("cert_reqs", 2) != 0
            and "cadata" not in p and "cafile" not in p):
        raise ValueError(NO_CA)


def _will(will, v5):
    if will is None:
        return None
    if not isinstance(will, (list, tuple)) or not 2 <= len(will) <= 4:
        raise _err("will", "must be None or (topic, msg, retain=False, qos=0)", will)
    topic = will[0]
    msg = will[1]
    retain = will[2] if len(will) > 2 else False
    qos = will[3] if len(will) > 3 else 0
    topic = check_name(topic, "config['will'] topic")
    if isinstance(msg, str):
        msg = msg.encode()
    if not isinstance(msg, (bytes, bytearray)):
        raise _err("will", "message must be str or bytes", msg)
    if retain not in (True, False, 0, 1):
        raise _err("will", "retain must be True or False", retain)
    if not _is_int(qos) or not 0 <= qos <= 2:
        raise _err("will", "qos must be 0, 1 or 2", qos)
    return (topic, bytes(msg), bool(retain), qos)
