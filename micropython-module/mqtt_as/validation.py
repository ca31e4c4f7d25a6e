# validation.py: checks of the config dict (options.validate()).
#
# Loaded by options.validate() for the call and dropped after it: the
# checks are only needed when a client is made, and on a board their
# functions would otherwise stay in RAM (about 1 KiB) for good.

from . import options
from .options import no_ca_check
from .topics import check_name


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
    c = options.defaults(None)
    c.update(options.EXTRA)
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
    s["max_packet_size"] = _int(c, "max_packet_size", 0, 268435460)
    s["hold_down_ms"] = int(_num(c, "hold_down", 0, 3600, True) * 1000)
    s["tcp_attempts"] = _int(c, "tcp_attempts", 0, 65535)
    s["backoff_base_ms"] = int(_num(c, "backoff_base", 0, 3600, True) * 1000)
    s["backoff_cap_ms"] = int(_num(c, "backoff_cap", 0, 3600, True) * 1000)
    if s["backoff_cap_ms"] < s["backoff_base_ms"]:
        raise _err("backoff_cap", "must not be below config['backoff_base']", c["backoff_cap"])
    s["jitter"] = _int(c, "jitter", 0, 100)
    s["attempt_timeout_ms"] = int(_num(c, "attempt_timeout", 0, 3600, True) * 1000)
    if c["stable_time"] is None:
        s["stable_ms"] = s["keepalive"] * 1000 or 60000
    else:
        s["stable_ms"] = int(_num(c, "stable_time", 0, 86400, True) * 1000)
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
    _features(s)
    return s


def _features(s):
    """What the config asks for that the firmware was built without: a
    ValueError naming the knob (the links: when the link is made)."""
    from .compat import need

    if s["mqttv5"]:
        need("v5", "config['mqttv5']")
    if s["will"] is not None and s["will"][3] == 2:
        need("qos2", "config['will'] at qos 2")
    if s["ssl"]:
        try:
            from .links.tls import open_stream  # noqa: F401  (there, or which knob)
        except ImportError as e:
            from .links import absent

            raise absent(e, "tls", "config['ssl']")


def _sizes(c, s):
    """rx_size, tx_size and store_size: as given, else the defaults."""
    if options._HOST:
        rx, tx, store = 16384, 65536, 262144
    else:
        b = options.BOARD_SIZES
        rx = b[1 if s["mqttv5"] else 0]
        tx = max(b[2], _connect_size(s))
        store = b[3]
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
