"""_mqttas for CPython: the C API of libmqttas (include/mqttas.h) over ctypes.

The same interface as the MicroPython user C module (micropython-module/
_mqttas.c), so the `mqtt_as` package runs unchanged on both. Like the C
module it holds no protocol logic: it converts mqtt_as's config dict and
Python values to the C API's and back, hands the events to mqtt_as's
callbacks and waiting commands, and owns the client's buffers.

The shared library is found through the environment variable MQTTAS_LIB
(a path to libmqttas.so), else in $CARGO_TARGET_DIR/{release,debug}, else
in the repository's target/{release,debug}. Build it with
`cargo rustc --release --features ffi --lib --crate-type cdylib`.

Interface (both implementations)
--------------------------------
Client(config, sizes)
    config: mqtt_as's config dict (mqtt_as/options.py documents the keys),
    every key checked (a ValueError naming it; TypeError when not a dict),
    keys left out taking mqtt_as's defaults; the CONNECT it describes is
    tried once here, so what the core refuses is refused now. sizes: the
    buffer defaults (rx, rx with 5.0, tx, store, inbound QoS 2 ids,
    outbound topic aliases: mqtt_as.options BOARD_SIZES or HOST_SIZES) for
    the keys rx_size, tx_size and store_size left out. The buffers belong
    to the object. Attributes (read only, but cb): server, port, ssl,
    ssl_params, mqttv5, mqttv5_con_props, clean, clean_init,
    response_time_ms, read_n (bytes to ask of the stream at a time),
    queue_len, dns_server, link, lan, ssid, wifi_pw, wifi_coro,
    connect_coro, policy (the Reconnect the outage keys made), cb (the
    message callback: subs_cb, settable), connack (None while a CONNECT
    awaits its CONNACK, True once accepted, else the loss's text), disc
    (DISCONNECT sent after disconnect()), topic_alias_maximum (the
    broker's, from CONNACK).

Every call that takes the time takes `now`: milliseconds from a monotonic
clock, wrapping at 2**32 (mqtt_as keeps such a clock over ticks_ms()).

    connect(now)                   the config's CONNECT
    publish(now, topic, payload, qos=0, retain=False, properties=None)
        -> None (QoS 0) or the slot [None, pid]: slot[0] becomes the
           PUBACK/PUBCOMP reason code when pump() sees it. The payload
           is lent, not copied into the core's buffers: kept here (bytes
           as given, anything else as bytes made once) until PUBLISHED
           (QoS 1/2) or, QoS 0, the next QoS 0 publish, loss or connect
           (a QoS 0 payload of up to 256 bytes is copied into tx when it
           fits)
    subscribe(now, subscriptions, properties=None) -> slot [None, pid]
        subscriptions: a list of (filter, qos) or
        (filter, qos, no_local, retain_as_published, retain_handling);
        slot[0]: the codes (bytes), or False when the connection ended
        first (ask again)
    unsubscribe(now, filters, properties=None) -> slot, as subscribe
    pump() -> None, or the text of a loss: takes every event, calls cb
        (topic, msg, retained[, props with 5.0]) for messages (assembled
        from pieces, or each piece to chunk_cb(topic, data, offset, total,
        retained, props)), fills the slots, keeps connack, disc and the
        loss's cause; a faulty callback is printed, not raised
    take_cause() -> the outage policy's cause of the last loss (CAUSE_*),
        CAUSE_OUTAGE from then on
    settings() -> dict: the core's configuration, buffers and outage
        policy the config made (keys as in the C API)
    ping(now)
    disconnect(now, reason=0, properties=None)
    auth(now, reason, properties=None)
    handle_input(now, data) -> number of bytes taken (offer the rest
                                   after events)
    handle_timeout(now)            call at the deadline
    handle_link_down(now, why=None)  why: our words for the loss (pump()
                                   returns them)
    poll_transmit(now) -> bytes to send, (head, payload) for a PUBLISH
                                   whose lent payload is above 256 bytes
                                   (send the head, then the payload
                                   object; smaller ones come joined), or
                                   None
    poll_event() -> a tuple (below), or None (pump() takes them all)
    poll_deadline() -> tick of the next handle_timeout() call, or None
    state() -> STATE_DISCONNECTED, STATE_CONNECTING or STATE_CONNECTED
    pending() -> QoS 1/2 publications not yet complete
    assigned_client_id() -> the id a 5.0 broker assigned ('' if none)
    qos2_stats() -> (peak_unreleased, beyond_receive_maximum, untracked,
                     withheld): the broker's inbound QoS 2 flow so far
    stats() -> {"republished": n}: PUBLISH packets sent again with DUP

Events (topics and payloads are bytes, props a dict or None):
    (CONNECTED, session_present, props)
    (MESSAGE, topic, payload, qos, retain, dup, pid, props)
    (MSG_START, topic, total_len, qos, retain, dup, pid, props)
    (MSG_CHUNK, data)
    (MSG_END,)
    (MSG_SKIPPED, topic, size, limit, qos, pid)   3.1.1: above maximum_packet_size
    (PUBLISHED, pid, reason)
    (SUBSCRIBED, pid, codes, props)      codes: bytes, one per filter
    (UNSUBSCRIBED, pid, codes, props)
    (AUTH, reason, props)
    (LOST, why, reason, text, cause, props)
                                         why: LOST_*; text: the whole story
                                         (mqttas_lost_describe: "broker
                                         refused the connection: ...");
                                         cause: CAUSE_*, for Reconnect;
                                         props: a 5.0 broker DISCONNECT's
                                         properties (None otherwise)
    (DISCONNECTED,)

Properties are dicts keyed by the MQTT 5.0 property identifiers, as in
mqtt_as 0.8.3: integers for integer properties, str for strings, bytes for
binary data (0x09, 0x16), and for user properties (0x26) a dict of name to
value (given: a dict or a list of pairs; received: all pairs in one dict).

The outage policy (mqttas_reconnect_*), see class Reconnect:
    Reconnect(hold_down_ms, tcp_attempts_before_bounce, backoff_base_ms,
              backoff_cap_ms, jitter_percent, attempt_timeout_ms, stable_ms,
              seed=0)
    handle_lost(now, cause=CAUSE_OUTAGE)
    handle_attempt_failed(now, cause=CAUSE_OUTAGE)
    handle_connected(now)  cause: the LOST event's, or CAUSE_OUTAGE for a
                       link that failed or did not open
    poll_action(now) -> (ACTION_HOLD_DOWN|ACTION_CONNECT|ACTION_BOUNCE_LINK|
                         ACTION_WAIT, until) or None
    poll_deadline() -> tick or None      stats() -> (outages, attempts,
        failures, bounces, planned, unstable, back_offs, permanent)

The packet radio link (mqttas_radio_*), see class Radio:
    Radio(node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
          keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024)
    open(now) close(now) set_epoch(e) is_up() write(now, data) -> taken
    read(n) -> bytes   handle_frame(now, frame)   poll_frame(now) -> bytes
    or None   handle_timeout(now)   poll_deadline() -> tick or None
    poll_event() -> None, ("up",) or ("down", reason)   stats() -> dict
    writable() readable()   radio_frame_node(frame) -> (node, downlink)

Errors: ValueError(text) for bad input (the codes for which
mqttas_result_is_bad_input is true: bad arguments, values MQTT cannot
carry, ERR_TOO_LARGE, ERR_INVALID_CONFIG); OSError(code, text) for
refusals of the session (NOT_CONNECTED, STORE_FULL, TX_FULL, ...):
`args[0]` is the mqttas result code. The text is mqttas_strerror's.
"""

import ctypes
import os

# Event kinds (mqttas_event_kind).
CONNECTED = 1
MESSAGE = 2
MSG_START = 3
MSG_CHUNK = 4
MSG_END = 5
PUBLISHED = 6
SUBSCRIBED = 7
UNSUBSCRIBED = 8
AUTH = 9
LOST = 10
DISCONNECTED = 11
MSG_SKIPPED = 12
PAYLOAD_RETURNED = 13

# Connection states (mqttas_conn_state).
STATE_DISCONNECTED = 0
STATE_CONNECTING = 1
STATE_CONNECTED = 2

# Why a connection was lost (mqttas_lost_reason).
LOST_LINK_DOWN = 1
LOST_REFUSED = 2
LOST_TIMEOUT = 3
LOST_PROTOCOL = 4
LOST_RECEIVE_MAXIMUM_EXCEEDED = 5
LOST_SERVER_DISCONNECT = 6
LOST_ALIAS_TABLE_FULL = 7
LOST_OTHER = 255

# Result codes the mqtt_as layer acts on (mqttas_result).
ERR_NOT_CONNECTED = 100
ERR_ALREADY_CONNECTED = 101
ERR_STORE_FULL = 102
ERR_TX_FULL = 103
ERR_TOO_MANY_PENDING = 104
ERR_TOO_LARGE = 105
ERR_QOS_NOT_SUPPORTED = 106
ERR_RETAIN_NOT_SUPPORTED = 107
ERR_INVALID_CONFIG = 108

VERSION_311 = 4
VERSION_5 = 5

MAX_PROPERTIES = 16
MAX_SUBSCRIPTIONS = 16
# Frame bytes that are not payload (MQTTAS_RADIO_OVERHEAD).
RADIO_OVERHEAD = 11

# MQTTAS_PROP_USER_PROPERTY: given as a dict or a list of pairs.
_USER_PROPERTY = 0x26
# The kind of a property's value (MQTTAS_PROPERTY_KIND_*), set by the
# library when it reads one.
_KIND_STRING = 2
_KIND_BINARY = 3
_KIND_STRING_PAIR = 4

_u8p = ctypes.POINTER(ctypes.c_uint8)


class _Config(ctypes.Structure):
    _fields_ = [
        ("version", ctypes.c_uint8),
        ("keep_alive", ctypes.c_uint16),
        ("ping_interval_ms", ctypes.c_uint32),
        ("response_time_ms", ctypes.c_uint32),
        ("max_repubs", ctypes.c_uint8),
        ("clean_init", ctypes.c_bool),
        ("clean", ctypes.c_bool),
        ("max_inflight", ctypes.c_uint16),
        ("receive_maximum", ctypes.c_uint16),
        ("has_session_expiry", ctypes.c_bool),
        ("session_expiry", ctypes.c_uint32),
        ("maximum_packet_size", ctypes.c_uint32),
        ("topic_alias_maximum", ctypes.c_uint16),
    ]


class _Buffers(ctypes.Structure):
    _fields_ = [
        ("rx", _u8p),
        ("rx_len", ctypes.c_size_t),
        ("tx", _u8p),
        ("tx_len", ctypes.c_size_t),
        ("store", _u8p),
        ("store_len", ctypes.c_size_t),
        ("aliases", _u8p),
        ("aliases_len", ctypes.c_size_t),
        ("out_aliases", _u8p),
        ("out_aliases_len", ctypes.c_size_t),
        ("inbound_qos2", ctypes.POINTER(ctypes.c_uint16)),
        ("inbound_qos2_len", ctypes.c_size_t),
    ]


class _Qos2Stats(ctypes.Structure):
    _fields_ = [
        ("peak_unreleased", ctypes.c_uint16),
        ("beyond_receive_maximum", ctypes.c_uint32),
        ("untracked", ctypes.c_uint32),
        ("withheld", ctypes.c_uint32),
    ]


class _ClientStats(ctypes.Structure):
    _fields_ = [("republished", ctypes.c_uint32)]


class _Property(ctypes.Structure):
    _fields_ = [
        ("id", ctypes.c_uint8),
        ("kind", ctypes.c_uint8),
        ("value", ctypes.c_uint32),
        ("data", _u8p),
        ("data_len", ctypes.c_size_t),
        ("data2", _u8p),
        ("data2_len", ctypes.c_size_t),
    ]


class _ConnectOptions(ctypes.Structure):
    _fields_ = [
        ("client_id", ctypes.c_char_p),
        ("client_id_len", ctypes.c_size_t),
        ("username", ctypes.c_char_p),
        ("username_len", ctypes.c_size_t),
        ("password", _u8p),
        ("password_len", ctypes.c_size_t),
        ("will_topic", ctypes.c_char_p),
        ("will_topic_len", ctypes.c_size_t),
        ("will_payload", _u8p),
        ("will_payload_len", ctypes.c_size_t),
        ("will_qos", ctypes.c_uint8),
        ("will_retain", ctypes.c_bool),
        ("will_properties", ctypes.POINTER(_Property)),
        ("will_properties_len", ctypes.c_size_t),
        ("properties", ctypes.POINTER(_Property)),
        ("properties_len", ctypes.c_size_t),
    ]


class _Subscription(ctypes.Structure):
    _fields_ = [
        ("filter", ctypes.c_char_p),
        ("filter_len", ctypes.c_size_t),
        ("qos", ctypes.c_uint8),
        ("no_local", ctypes.c_bool),
        ("retain_as_published", ctypes.c_bool),
        ("retain_handling", ctypes.c_uint8),
    ]


class _Str(ctypes.Structure):
    _fields_ = [("data", ctypes.c_char_p), ("len", ctypes.c_size_t)]


# Payloads up to this size are copied where that is faster: a QoS 0 one
# into tx when it fits (QoS 0 messages then queue up there, where only one
# lent QoS 0 payload may wait at a time), and a lent one joined to its head
# in one write (a copy of a few bytes costs less than a second write).
# Larger ones go straight from their object.
_JOIN_MAX = 256


class _Iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]


class _Event(ctypes.Structure):
    _fields_ = [
        ("kind", ctypes.c_uint32),
        ("topic", _u8p),
        ("topic_len", ctypes.c_size_t),
        ("payload", _u8p),
        ("payload_len", ctypes.c_size_t),
        ("total_len", ctypes.c_uint32),
        ("packet_id", ctypes.c_uint16),
        ("qos", ctypes.c_uint8),
        ("retain", ctypes.c_bool),
        ("dup", ctypes.c_bool),
        ("session_present", ctypes.c_bool),
        ("reason", ctypes.c_uint8),
        ("version", ctypes.c_uint8),
        ("codes", _u8p),
        ("codes_len", ctypes.c_size_t),
        ("properties", _u8p),
        ("properties_len", ctypes.c_size_t),
        ("lost", ctypes.c_uint32),
        ("awaited", ctypes.c_uint32),
        ("protocol_error", ctypes.c_uint32),
        ("protocol_detail", ctypes.c_uint8),
        ("limit", ctypes.c_uint32),
    ]


def _candidates():
    env = os.environ.get("MQTTAS_LIB")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    dirs = []
    if os.environ.get("CARGO_TARGET_DIR"):
        dirs.append(os.environ["CARGO_TARGET_DIR"])
    dirs.append(os.path.join(root, "target"))
    for d in dirs:
        for profile in ("release", "debug"):
            yield os.path.join(d, profile, "libmqttas.so")


def _load():
    tried = []
    for path in _candidates():
        tried.append(path)
        if os.path.exists(path):
            return ctypes.CDLL(path)
    raise ImportError(
        "libmqttas.so not found (looked at %s): build it with `cargo rustc --release "
        "--features ffi --lib --crate-type cdylib` or set MQTTAS_LIB" % ", ".join(tried)
    )


_lib = _load()

_P = ctypes.c_void_p
_R = ctypes.c_uint32
for _name, _args in (
    ("mqttas_client_init", [_P, ctypes.c_size_t, ctypes.POINTER(_Config), ctypes.POINTER(_Buffers)]),
    ("mqttas_client_deinit", [_P]),
    ("mqttas_state", [_P, ctypes.POINTER(ctypes.c_uint32)]),
    ("mqttas_pending_publications", [_P, ctypes.POINTER(ctypes.c_size_t)]),
    ("mqttas_get_qos2_stats", [_P, ctypes.POINTER(_Qos2Stats)]),
    ("mqttas_get_stats", [_P, ctypes.POINTER(_ClientStats)]),
    ("mqttas_connect", [_P, ctypes.c_uint32, ctypes.POINTER(_ConnectOptions)]),
    (
        "mqttas_publish",
        [_P, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
         ctypes.c_uint8, ctypes.c_bool, ctypes.POINTER(_Property), ctypes.c_size_t,
         ctypes.POINTER(ctypes.c_uint16)],
    ),
    (
        "mqttas_publish_borrowed",
        [_P, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t,
         ctypes.c_uint8, ctypes.c_bool, ctypes.POINTER(_Property), ctypes.c_size_t,
         ctypes.POINTER(ctypes.c_uint16)],
    ),
    (
        "mqttas_subscribe",
        [_P, ctypes.c_uint32, ctypes.POINTER(_Subscription), ctypes.c_size_t,
         ctypes.POINTER(_Property), ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint16)],
    ),
    (
        "mqttas_unsubscribe",
        [_P, ctypes.c_uint32, ctypes.POINTER(_Str), ctypes.c_size_t,
         ctypes.POINTER(_Property), ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint16)],
    ),
    ("mqttas_ping", [_P, ctypes.c_uint32]),
    ("mqttas_disconnect", [_P, ctypes.c_uint32, ctypes.c_uint8, ctypes.POINTER(_Property), ctypes.c_size_t]),
    ("mqttas_auth", [_P, ctypes.c_uint32, ctypes.c_uint8, ctypes.POINTER(_Property), ctypes.c_size_t]),
    # (Their bytes as c_char_p, the ABI's uint8_t pointer: bytes are passed
    # as they are, not cast per call.)
    ("mqttas_handle_input", [_P, ctypes.c_uint32, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    ("mqttas_handle_timeout", [_P, ctypes.c_uint32]),
    ("mqttas_handle_link_down", [_P, ctypes.c_uint32]),
    ("mqttas_poll_transmit_vectored", [_P, ctypes.c_uint32, ctypes.POINTER(_Iovec), ctypes.POINTER(ctypes.c_size_t)]),
    ("mqttas_poll_event", [_P, ctypes.POINTER(_Event)]),
    ("mqttas_poll_deadline", [_P, ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(ctypes.c_uint32)]),
    ("mqttas_config_default", [ctypes.POINTER(_Config)]),
    ("mqttas_lost_describe", [_P, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)]),
    ("mqttas_lost_cause", [_P, ctypes.POINTER(ctypes.c_uint32)]),
    ("mqttas_property_next", [_u8p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(_Property)]),
):
    _f = getattr(_lib, _name)
    _f.argtypes = _args
    _f.restype = _R
# The calls made per message are given ctypes objects (the client's
# pointer, byref()s, the iovec array, c_size_t lengths, the _U8 and _BOOL
# constants), bytes or None for the pointers, and the time: without
# argtypes, whose converters cost as much again as the call (the time, a
# uint32_t, passes as a C int: the same 32 bits).
for _name in ("mqttas_poll_event", "mqttas_poll_deadline", "mqttas_poll_transmit_vectored", "mqttas_publish",
              "mqttas_publish_borrowed", "mqttas_handle_input"):
    getattr(_lib, _name).argtypes = None
_U8 = tuple(ctypes.c_uint8(i) for i in range(3))
_BOOL = (ctypes.c_bool(False), ctypes.c_bool(True))
_lib.mqttas_client_size.restype = ctypes.c_size_t
_lib.mqttas_client_size.argtypes = []
_lib.mqttas_client_align.restype = ctypes.c_size_t
_lib.mqttas_client_align.argtypes = []
_lib.mqttas_strerror.restype = ctypes.c_char_p
_lib.mqttas_strerror.argtypes = [ctypes.c_uint32]
_lib.mqttas_result_is_bad_input.restype = ctypes.c_bool
_lib.mqttas_result_is_bad_input.argtypes = [ctypes.c_uint32]
_lib.mqttas_version.restype = ctypes.c_char_p
_lib.mqttas_version.argtypes = []
# Newer than the first header: used when present.
_assigned = getattr(_lib, "mqttas_assigned_client_id", None)
if _assigned is not None:
    _assigned.argtypes = [_P, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_size_t)]
    _assigned.restype = _R


def version():
    """The library version, e.g. '0.1.0'."""
    return _lib.mqttas_version().decode()


# The protocol features of the library loaded (mqttas_features() bits), as
# the firmware's _mqttas.FEATURES names the knobs it was built with.
_lib.mqttas_features.restype = ctypes.c_uint32
_lib.mqttas_features.argtypes = []
FEATURES = tuple(name for bit, name in ((1, "v5"), (2, "qos2"), (4, "radio"), (8, "radio-gateway"))
                 if _lib.mqttas_features() & bit)


def strerror(code):
    """The text of a mqttas result code."""
    return _lib.mqttas_strerror(code).decode()


def _check(code):
    if code == 0:
        return
    text = strerror(code)
    if _lib.mqttas_result_is_bad_input(code):
        raise ValueError(text)
    # A plain OSError: OSError(code, text) would become a subclass chosen by
    # errno (104 is ConnectionResetError), which these codes are not.
    e = OSError(text)
    e.args = (code, text)
    e.errno = code
    e.strerror = text
    raise e


def _bytes(v, what):
    if isinstance(v, str):
        return v.encode()
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v)
    raise TypeError("%s must be str or bytes, not %s" % (what, type(v).__name__))


def _ptr(b):
    """A uint8_t pointer to the bytes `b` (kept alive by the caller)."""
    if not b:
        return None
    return ctypes.cast(ctypes.c_char_p(b), _u8p)


class _Props:
    """A C array of properties built from a dict; keeps the data alive."""

    def __init__(self, props):
        self.keep = []
        items = []
        if props:
            if not isinstance(props, dict):
                raise TypeError("properties must be a dict keyed by property identifier")
            for pid, value in props.items():
                if not isinstance(pid, int) or not 0 < pid < 256:
                    raise ValueError("property identifier %r is not an MQTT 5.0 identifier" % (pid,))
                if pid == _USER_PROPERTY and isinstance(value, (dict, list, tuple)):
                    pairs = value.items() if isinstance(value, dict) else value
                    for pair in pairs:
                        k, v = pair
                        items.append(self._pair(k, v))
                else:
                    items.append(self._one(pid, value))
        self.items = items
        self.len = len(items)
        self.size = ctypes.c_size_t(len(items))  # (For the calls without argtypes.)
        self.array = (_Property * max(1, len(items)))(*items) if items else None

    def _data(self, v, what):
        b = _bytes(v, what)
        self.keep.append(b)
        return _ptr(b), len(b)

    def _pair(self, k, v):
        d, n = self._data(k, "user property name")
        d2, n2 = self._data(v, "user property value")
        return _Property(id=_USER_PROPERTY, data=d, data_len=n, data2=d2, data2_len=n2)

    def _one(self, pid, value):
        if isinstance(value, bool) or isinstance(value, int):
            if not 0 <= int(value) <= 0xFFFFFFFF:
                raise ValueError("property 0x%02x: %d out of range" % (pid, value))
            return _Property(id=pid, value=int(value))
        d, n = self._data(value, "property 0x%02x" % pid)
        return _Property(id=pid, data=d, data_len=n)

    def ptr(self):
        return self.array


_NO_PROPS = _Props(None)  # Shared: it holds nothing.


def _props_out(ptr, n):
    """Raw 5.0 property bytes to a dict (None when there are none)."""
    if not n:
        return None
    out = {}
    cursor = ctypes.c_size_t(0)
    p = _Property()
    while _lib.mqttas_property_next(ptr, n, ctypes.byref(cursor), ctypes.byref(p)) == 0 and p.id:
        if p.kind == _KIND_STRING_PAIR:
            users = out.setdefault(p.id, {})
            k = ctypes.string_at(p.data, p.data_len).decode()
            users[k] = ctypes.string_at(p.data2, p.data2_len).decode()
        elif p.kind == _KIND_STRING:
            out[p.id] = ctypes.string_at(p.data, p.data_len).decode()
        elif p.kind == _KIND_BINARY:
            out[p.id] = ctypes.string_at(p.data, p.data_len)
        else:
            out[p.id] = p.value
    return out


def _slot(slots, pid):
    # [None, pid]: a command awaiting its acknowledgement, kept in `slots`
    # by pid until pump() puts the result in slot[0].
    slot = [None, pid]
    slots[pid] = slot
    return slot


def _storage(size, align):
    """(buffer, aligned pointer): `size` bytes aligned to `align` for a
    client, radio or outage policy (mqttas_*_size() and _align())."""
    buf = ctypes.create_string_buffer(size + align)
    addr = ctypes.addressof(buf)
    return buf, ctypes.c_void_p(addr + (-addr) % align)


def _at(ptr, n):
    return ctypes.string_at(ptr, n) if n else b""


# The keys a config may hold: mqtt_as 0.8.3's and the extensions.
_KEYS = (
    "client_id", "server", "port", "user", "password", "keepalive", "ping_interval", "ssl", "ssl_params",
    "response_time", "clean_init", "clean", "max_repubs", "will", "subs_cb", "wifi_coro", "connect_coro",
    "ssid", "wifi_pw", "queue_len", "gateway", "mqttv5", "mqttv5_con_props", "chunk_cb", "rx_size",
    "tx_size", "store_size", "max_inflight", "max_packet_size", "hold_down", "tcp_attempts",
    "backoff_base", "backoff_cap", "jitter", "attempt_timeout", "stable_time", "reconnect_seed",
    "dns_server", "link", "lan",
)
_MISSING = object()
# CONNECT properties the core sends itself, from its configuration.
_FROM_CONFIG = (0x11, 0x21, 0x22, 0x27)


def _bad(key, what, value=_MISSING):
    got = "" if value is _MISSING else ", got %r" % (value,)
    return ValueError("config['%s'] %s%s" % (key, what, got))


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


class _Cfg:
    # The config dict's values, checked as the C module checks them.
    def __init__(self, config):
        self.c = config

    def get(self, key):
        return self.c.get(key, _MISSING)

    def int(self, key, dflt, lo, hi):
        v = self.get(key)
        if v is _MISSING:
            return dflt
        if not _is_int(v) or not lo <= v <= hi:
            raise _bad(key, "must be an integer in %d..%d" % (lo, hi), v)
        return v

    def ms(self, key, dflt_ms, hi, zero_ok):
        v = self.get(key)
        if v is _MISSING:
            return dflt_ms
        if _is_int(v) and (1 if not zero_ok else 0) <= v <= hi:
            return v * 1000
        if isinstance(v, float) and 0 <= v <= hi and (zero_ok or v != 0):
            return int(v * 1000)
        raise _bad(key, "must be a number of seconds in 0..%d%s" % (hi, "" if zero_ok else ", not 0"), v)

    def bool(self, key, dflt):
        v = self.get(key)
        if v is _MISSING:
            return dflt
        if v not in (True, False) or not isinstance(v, (bool, int)):
            raise _bad(key, "must be True or False", v)
        return bool(v)

    def text(self, key, dflt, none_ok):
        v = self.get(key)
        if v is _MISSING or (v is None and none_ok):
            return dflt
        if isinstance(v, bytearray):
            v = bytes(v)
        if not isinstance(v, (str, bytes)):
            raise _bad(key, "must be %sstr or bytes" % ("None, " if none_ok else ""), v)
        if len(_bytes(v, key)) > 0xFFFF:
            raise _bad(key, "is longer than 65535 bytes")
        return v

    def callable(self, key, dflt, none_ok):
        v = self.get(key)
        if v is _MISSING or (v is None and none_ok):
            return dflt
        if not callable(v):
            raise _bad(key, "must be callable", v)
        return v

    def size(self, key, dflt, lo):
        v = self.get(key)
        return dflt if v is _MISSING or v is None else self.int(key, 0, lo, 1 << 30)


def _will(v):
    if v is _MISSING or v is None:
        return None
    if not isinstance(v, (tuple, list)) or not 2 <= len(v) <= 4:
        raise _bad("will", "must be None or (topic, msg, retain=False, qos=0)", v)
    t = list(v) + [False, 0][len(v) - 2:]
    if not isinstance(t[0], (str, bytes)):
        raise _bad("will", "topic must be str or bytes", t[0])
    if isinstance(t[1], bytearray):
        t[1] = bytes(t[1])
    if not isinstance(t[1], (str, bytes)):
        raise _bad("will", "message must be str or bytes", t[1])
    if t[2] not in (True, False) or not isinstance(t[2], (bool, int)):
        raise _bad("will", "retain must be True or False", t[2])
    if not _is_int(t[3]) or not 0 <= t[3] <= 2:
        raise _bad("will", "qos must be 0, 1 or 2", t[3])
    return tuple(t)


def _text_len(v):
    return 0 if v is None else len(_bytes(v, "text"))


def _call_safely(f, *args):
    # A faulty callback is printed, not raised (it must not stop the reader).
    try:
        f(*args)
    except Exception as e:
        import traceback

        traceback.print_exception(type(e), e, e.__traceback__)


class Client:
    """An MQTT session over buffers this object owns, made from an mqtt_as
    config dict. See the module doc."""

    def __init__(self, config, sizes):
        if not isinstance(config, dict):
            raise TypeError("MQTTClient needs a config dict (start from mqtt_as.config)")
        for k in config:
            if k not in _KEYS:
                raise ValueError("config: unknown key %r; known keys: %s" % (k, ", ".join(_KEYS)))
        g = _Cfg(config)
        rx_b, rx5_b, tx_b, store_b, qos2_b, out_b = sizes
        server = g.text("server", None, True)
        if server is None or not server:
            v = g.get("server")
            raise _bad("server", "is required: the broker's host name or IP address", v)
        self.server = server if isinstance(server, str) else server.decode()
        self.ssl = g.bool("ssl", False)
        self.port = g.int("port", 0, 0, 0xFFFF) or (8883 if self.ssl else 1883)
        v = g.get("ssl_params")
        if v is not _MISSING and not isinstance(v, dict):
            raise _bad("ssl_params", "must be a dict", v)
        self.ssl_params = {} if v is _MISSING else v
        self._id = g.text("client_id", None, False)
        if self._id is None:
            raise _bad("client_id", "is required")
        self._user = g.text("user", None, True)
        self._password = g.text("password", None, True)
        if not _text_len(self._user):
            if _text_len(self._password):
                raise ValueError("config['password'] is set but config['user'] is empty: a password needs a user")
            self._user = None
        c = _Config()
        _lib.mqttas_config_default(ctypes.byref(c))
        c.keep_alive = g.int("keepalive", 60, 0, 0xFFFF)
        # mqtt_as: a given ping interval shorter than a quarter of the keep
        # alive (20 s without one), else that quarter.
        ka_ms = c.keep_alive * 1000
        pi_dflt = ka_ms // 4 if ka_ms else 20000
        pi = g.ms("ping_interval", 0, 1000000, True)
        c.ping_interval_ms = pi if pi and pi < pi_dflt else pi_dflt
        c.response_time_ms = g.ms("response_time", 10000, 1000000, False)
        c.clean_init = g.bool("clean_init", True)
        c.clean = g.bool("clean", True)
        c.max_repubs = g.int("max_repubs", 4, 0, 255)
        self.queue_len = g.int("queue_len", 0, 0, 0xFFFF)
        self.cb = g.callable("subs_cb", None, False)
        self.wifi_coro = g.callable("wifi_coro", None, False)
        self.connect_coro = g.callable("connect_coro", None, False)
        self._chunk_cb = g.callable("chunk_cb", None, True)
        self.ssid = g.text("ssid", None, True)
        self.wifi_pw = g.text("wifi_pw", None, True)
        v = g.get("gateway")
        if v is not _MISSING and v:
            raise _bad("gateway", "is not supported by this mqtt_as (no ESP-NOW gateway): leave it False", v)
        v5 = g.bool("mqttv5", False)
        c.version = VERSION_5 if v5 else VERSION_311
        v = g.get("mqttv5_con_props")
        props = None if v is _MISSING else v
        if props is not None:
            if not v5:
                raise _bad("mqttv5_con_props", "needs config['mqttv5'] = True", v)
            if not isinstance(props, dict):
                raise _bad("mqttv5_con_props", "must be a dict keyed by property identifier", v)
        self.mqttv5_con_props = props
        self._will = _will(g.get("will"))
        c.max_inflight = g.int("max_inflight", 8, 1, 0xFFFF)
        max_packet = g.int("max_packet_size", 65536, 0, 268435460)
        # What CONNECT properties set, the core sends itself.
        props = props or {}
        if 0x11 in props:
            c.has_session_expiry = True
            c.session_expiry = props[0x11]
        elif v5 and not c.clean:
            # Keep the session across outages, the first (clean) one too.
            c.has_session_expiry = True
            c.session_expiry = 0xFFFFFFFF
        c.receive_maximum = min(32, max(1, props.get(0x21, 16)))
        c.maximum_packet_size = props.get(0x27, max_packet)
        c.topic_alias_maximum = props.get(0x22, 0)

        p = _Policy()
        _lib.mqttas_reconnect_policy_default(ctypes.byref(p))
        p.hold_down_ms = g.ms("hold_down", 1000, 3600, True)
        p.tcp_attempts_before_bounce = g.int("tcp_attempts", 3, 0, 0xFFFF)
        p.backoff_base_ms = g.ms("backoff_base", 500, 3600, True)
        p.backoff_cap_ms = g.ms("backoff_cap", 30000, 3600, True)
        if p.backoff_cap_ms < p.backoff_base_ms:
            raise _bad("backoff_cap", "must not be below config['backoff_base']", g.get("backoff_cap"))
        p.jitter_percent = g.int("jitter", 20, 0, 100)
        p.attempt_timeout_ms = g.ms("attempt_timeout", 30000, 3600, True)
        v = g.get("stable_time")
        p.stable_ms = (ka_ms or 60000) if v is _MISSING or v is None else g.ms("stable_time", 0, 86400, True)
        # The jitter's seed: given, else from the client id.
        v = g.get("reconnect_seed")
        if v is _MISSING or v is None:
            seed = 0
            for b in _bytes(self._id, "client_id"):
                seed = (seed * 31 + b) & 0xFFFFFFFF
        elif _is_int(v):
            seed = v & 0xFFFFFFFF
        else:
            raise _bad("reconnect_seed", "must be None or an int", v)
        self.policy = Reconnect._made(p, seed)

        v = g.get("dns_server")
        if v is _MISSING:
            v = "8.8.8.8"
        if isinstance(v, str):
            v = (v, 53)
        elif not (isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and _is_int(v[1])):
            raise _bad("dns_server", "must be 'host' or ('host', port)", v)
        self.dns_server = v
        v = g.get("link")
        self.link = None if v is _MISSING else v
        v = g.get("lan")
        self.lan = None if v is _MISSING or v is False else v
        if self.lan is not None:
            if self.link is not None:
                raise _bad("lan", "and config['link'] are both set: give one (a LAN link is links.lan.LANLink)", v)
            if isinstance(v, dict):
                for k in v:
                    if not isinstance(k, str):
                        raise _bad("lan", "keys must be network.LAN's keyword argument names", k)
            elif not (v is True or (hasattr(v, "isconnected") and hasattr(v, "active"))):
                raise _bad("lan", "must be None, True, a dict of network.LAN arguments or a network.LAN object", v)

        # Buffers: as given, else the Python layer's defaults (with room for
        # the CONNECT in tx).
        bound = 32 + _text_len(self._id) + _text_len(self._user) + _text_len(self._password)
        if self._will is not None:
            bound += 8 + _text_len(self._will[0]) + _text_len(self._will[1])
        for prop in _Props(self._con_props()).items:
            bound += 5 + prop.data_len + prop.data2_len
        rx = g.size("rx_size", rx5_b if v5 else rx_b, 64)
        tx = g.size("tx_size", max(bound, tx_b), 64)
        store = g.size("store_size", store_b, 0)
        qos2 = max(qos2_b, c.receive_maximum)
        aliases = min(16384, c.topic_alias_maximum * 132)
        out_aliases = out_b if v5 else 0
        self._config = c
        size = _lib.mqttas_client_size()
        self._storage, self._client = _storage(size, _lib.mqttas_client_align())
        self._rx = (ctypes.c_uint8 * max(rx, 1))()
        self._tx = (ctypes.c_uint8 * max(tx, 1))()
        self._store = (ctypes.c_uint8 * max(store, 1))()
        self._aliases = (ctypes.c_uint8 * max(aliases, 1))()
        self._qos2 = (ctypes.c_uint16 * max(qos2, 1))()
        self._out_aliases = (ctypes.c_uint8 * max(out_aliases, 1))()
        bufs = []
        for buf, n in ((self._rx, rx), (self._tx, tx), (self._store, store), (self._aliases, aliases)):
            bufs += [ctypes.cast(buf, _u8p) if n else None, n]
        bufs += [ctypes.cast(self._out_aliases, _u8p) if out_aliases else None, out_aliases]
        bufs += [ctypes.cast(self._qos2, ctypes.POINTER(ctypes.c_uint16)), qos2]
        self._bufs = _Buffers(*bufs)
        self._live = False
        self._event = _Event()
        # Made once: the per-message calls pass these (no byref or c_*
        # object per call).
        self._event_ref = ctypes.byref(self._event)
        self._has = ctypes.c_bool(False)
        self._deadline = ctypes.c_uint32(0)
        self._deadline_refs = (ctypes.byref(self._has), ctypes.byref(self._deadline))
        self._taken = ctypes.c_size_t(0)
        self._taken_ref = ctypes.byref(self._taken)
        self._pid = ctypes.c_uint16(0)  # publish()'s packet id
        self._pid_ref = ctypes.byref(self._pid)
        self._text = ctypes.create_string_buffer(512)
        self._init()
        # A trial CONNECT: the core checks what it will send (UTF-8, NUL,
        # the will's topic, the properties allowed, the size), then the
        # client starts afresh. On a refusal, again part by part to name
        # the key.
        r = self._send_connect(0, 3)
        if r:
            upto = 0
            while True:
                self._init()
                r = self._send_connect(0, upto)
                if r:
                    break
                upto += 1
            if r == ERR_TOO_LARGE:
                raise ValueError("the CONNECT is larger than config['tx_size'] (%d): raise it" % tx)
            parts = ("config['client_id']", "config['user'] or config['password']", "config['will']",
                     "config['mqttv5_con_props']")
            raise ValueError("%s: %s" % (parts[upto], strerror(r)))
        self._init()
        self._pubs = {}
        self._reqs = {}
        # Payloads lent to the core (mqttas_publish_borrowed), kept alive
        # while it needs them: QoS 1/2 by packet id until PUBLISHED, the
        # last QoS 0 one until the next, the connection's loss or connect().
        self._lent = {}
        self._lent0 = None
        self._iov = (_Iovec * 2)()
        self._iov_n = ctypes.c_size_t(0)
        self._iov_n_ref = ctypes.byref(self._iov_n)
        self.connack = None
        self.disc = False
        self.dispatched = False  # The last pump() took an event.
        self.topic_alias_maximum = 0
        self._down_why = None
        self._chunk = None
        self._assembled = None
        self._beyond = 0
        self._cause = CAUSE_OUTAGE

    def _init(self):
        if self._live:
            _lib.mqttas_client_deinit(self._client)
            self._live = False
        _check(_lib.mqttas_client_init(self._client, _lib.mqttas_client_size(), ctypes.byref(self._config),
                                       ctypes.byref(self._bufs)))
        self._live = True

    def __del__(self):
        if getattr(self, "_live", False):
            _lib.mqttas_client_deinit(self._client)
            self._live = False

    @property
    def mqttv5(self):
        return self._config.version == VERSION_5

    @property
    def clean(self):
        return self._config.clean

    @property
    def clean_init(self):
        return self._config.clean_init

    @property
    def response_time_ms(self):
        return self._config.response_time_ms

    @property
    def read_n(self):
        return min(self._bufs.rx_len, 4096)

    def _con_props(self):
        props = self.mqttv5_con_props
        if not props:
            return None
        return {k: v for k, v in props.items() if k not in _FROM_CONFIG}

    def _send_connect(self, now, upto):
        # Queue the CONNECT of the config: its client id, then (as `upto`
        # grows) the credentials, the will and the properties. The result
        # code.
        o = _ConnectOptions()
        keep = []

        def text(v):
            b = _bytes(v, "text")
            keep.append(b)
            return b, len(b)

        o.client_id, o.client_id_len = text(self._id)
        if upto >= 1 and self._user is not None:
            o.username, o.username_len = text(self._user)
            if self._password is not None:
                b, n = text(self._password)
                o.password, o.password_len = _ptr(b), n
        if upto >= 2 and self._will is not None:
            topic, payload, retain, qos = self._will
            o.will_topic, o.will_topic_len = text(topic)
            b, n = text(payload)
            o.will_payload, o.will_payload_len = _ptr(b), n
            o.will_qos = qos
            o.will_retain = bool(retain)
        props = _Props(self._con_props() if upto >= 3 else None)
        o.properties, o.properties_len = props.ptr(), props.len
        return _lib.mqttas_connect(self._client, now & 0xFFFFFFFF, ctypes.byref(o))

    def connect(self, now):
        _check(self._send_connect(now, 3))
        self.connack = None
        self.disc = False
        self._chunk = None
        self._lent0 = None

    def settings(self):
        c = self._config
        b = self._bufs
        p = self.policy._policy
        return {
            "version": c.version, "keep_alive": c.keep_alive, "ping_interval_ms": c.ping_interval_ms,
            "response_time_ms": c.response_time_ms, "max_repubs": c.max_repubs, "max_inflight": c.max_inflight,
            "receive_maximum": c.receive_maximum, "maximum_packet_size": c.maximum_packet_size,
            "topic_alias_maximum": c.topic_alias_maximum, "rx_size": b.rx_len, "tx_size": b.tx_len,
            "store_size": b.store_len, "alias_size": b.aliases_len, "qos2_ids": b.inbound_qos2_len,
            "out_alias_size": b.out_aliases_len, "hold_down_ms": p.hold_down_ms,
            "tcp_attempts_before_bounce": p.tcp_attempts_before_bounce, "backoff_base_ms": p.backoff_base_ms,
            "backoff_cap_ms": p.backoff_cap_ms, "jitter_percent": p.jitter_percent,
            "attempt_timeout_ms": p.attempt_timeout_ms, "stable_ms": p.stable_ms, "seed": self.policy._seed,
            "clean_init": bool(c.clean_init), "clean": bool(c.clean),
            "session_expiry": c.session_expiry if c.has_session_expiry else None,
        }

    # ---- event dispatch (pump), as the C module does it ------------------

    def _deliver(self, topic, msg, retained, props):
        if self.cb is not None:
            if self.mqttv5:
                _call_safely(self.cb, topic, msg, retained, props)
            else:
                _call_safely(self.cb, topic, msg, retained)

    def _ended(self):
        # A connection ended: requests in flight are asked again (False), a
        # message in pieces is dropped, a 5.0 broker beyond our Receive
        # Maximum is reported once per connection.
        for slot in self._reqs.values():
            slot[0] = False
        self._reqs = {}
        self._chunk = None
        self._assembled = None
        if not self.mqttv5:
            return
        st = self.qos2_stats()
        if st[1] > self._beyond:
            print("mqtt_as: the broker exceeded our Receive Maximum (%d): up to %d unreleased QoS 2 messages, %d beyond it"
                  % (self._config.receive_maximum, st[0], st[1] - self._beyond))
            self._beyond = st[1]

    def pump(self):
        lost = None
        self.dispatched = False
        while True:
            e = self.poll_event()
            if e is None:
                return lost
            self.dispatched = True
            k = e[0]
            c = self._chunk
            if k == MESSAGE:
                self._deliver(e[1], e[2], e[4], e[7])
            elif k == MSG_START:
                self._chunk = [e[1], e[2], e[4], e[7], 0]
                self._assembled = bytearray() if self._chunk_cb is None else None
            elif k == MSG_CHUNK:
                if c is None:
                    continue
                if self._chunk_cb is None:
                    if self._assembled is not None:
                        self._assembled += e[1]
                    continue
                _call_safely(self._chunk_cb, c[0], e[1], c[4], c[1], c[2], c[3])
                c[4] += len(e[1])
            elif k == MSG_END:
                self._chunk = None
                if c is not None and self._assembled is not None:
                    msg = bytes(self._assembled)
                    self._assembled = None
                    self._deliver(c[0], msg, c[2], c[3])
            elif k == MSG_SKIPPED:
                print("mqtt_as: message on '%s' skipped: %d bytes, above max_packet_size (%d)"
                      % (e[1].decode("utf-8", "replace"), e[2], e[3]))
            elif k == PUBLISHED:
                slot = self._pubs.pop(e[1], None)
                if slot is not None:
                    slot[0] = e[2]
            elif k in (SUBSCRIBED, UNSUBSCRIBED):
                slot = self._reqs.pop(e[1], None)
                if slot is not None:
                    slot[0] = e[2]
            elif k == CONNECTED:
                self.connack = True
                self._cause = CAUSE_OUTAGE
                self.topic_alias_maximum = (e[2] or {}).get(0x22, 0)
            elif k == LOST:
                self._cause = e[4]
                lost = e[3]
                if self._down_why is not None and e[1] == LOST_LINK_DOWN:
                    lost = self._down_why
                self._down_why = None
                if self.connack is None:
                    self.connack = lost
                self._ended()
            elif k == DISCONNECTED:
                self.disc = True
                self._ended()

    def take_cause(self):
        c = self._cause
        self._cause = CAUSE_OUTAGE
        return c

    def publish(self, now, topic, payload, qos=0, retain=False, properties=None):
        t = _bytes(topic, "topic")
        # Lent to the core, not copied into its buffers: bytes as they are,
        # anything else as bytes made once (a mutable buffer must not change
        # the message before it is acknowledged).
        p = payload if type(payload) is bytes else _bytes(payload, "payload")
        if not isinstance(qos, int) or not 0 <= qos <= 2:
            raise ValueError("qos must be 0, 1 or 2")
        props = _NO_PROPS if properties is None else _Props(properties)
        now &= 0xFFFFFFFF
        r = ERR_TOO_LARGE
        b = p or None
        n = len(p)
        tn = ctypes.c_size_t(len(t))
        retain = _BOOL[1 if retain else 0]
        if not qos and n <= _JOIN_MAX:
            r = _lib.mqttas_publish(self._client, now, t, tn, b, ctypes.c_size_t(n), _U8[0], retain,
                                    props.ptr(), props.size, None)
        if r == ERR_TOO_LARGE:
            r = _lib.mqttas_publish_borrowed(self._client, now, t, tn, b, ctypes.c_size_t(n), _U8[qos], retain,
                                             props.ptr(), props.size, self._pid_ref)
            if r == 0 and not qos:
                self._lent0 = p
        _check(r)
        if not qos:
            return None
        pid = self._pid.value
        self._lent[pid] = p
        return _slot(self._pubs, pid)

    def subscribe(self, now, subscriptions, properties=None):
        subs = []
        keep = []
        for s in subscriptions:
            f = _bytes(s[0], "topic filter")
            keep.append(f)
            qos = s[1] if len(s) > 1 else 0
            if not isinstance(qos, int) or not 0 <= qos <= 2:
                raise ValueError("qos must be 0, 1 or 2")
            nl = bool(s[2]) if len(s) > 2 else False
            rap = bool(s[3]) if len(s) > 3 else False
            rh = s[4] if len(s) > 4 else 0
            subs.append(_Subscription(f, len(f), qos, nl, rap, rh))
        arr = (_Subscription * max(1, len(subs)))(*subs)
        props = _Props(properties)
        pid = ctypes.c_uint16(0)
        _check(_lib.mqttas_subscribe(self._client, now & 0xFFFFFFFF, arr, len(subs), props.ptr(),
                                     props.len, ctypes.byref(pid)))
        return _slot(self._reqs, pid.value)

    def unsubscribe(self, now, filters, properties=None):
        items = []
        for f in filters:
            b = _bytes(f, "topic filter")
            items.append(_Str(b, len(b)))
        arr = (_Str * max(1, len(items)))(*items)
        props = _Props(properties)
        pid = ctypes.c_uint16(0)
        _check(_lib.mqttas_unsubscribe(self._client, now & 0xFFFFFFFF, arr, len(items), props.ptr(),
                                       props.len, ctypes.byref(pid)))
        return _slot(self._reqs, pid.value)

    def ping(self, now):
        _check(_lib.mqttas_ping(self._client, now & 0xFFFFFFFF))

    def disconnect(self, now, reason=0, properties=None):
        props = _Props(properties)
        _check(_lib.mqttas_disconnect(self._client, now & 0xFFFFFFFF, reason, props.ptr(), props.len))

    def auth(self, now, reason, properties=None):
        props = _Props(properties)
        _check(_lib.mqttas_auth(self._client, now & 0xFFFFFFFF, reason, props.ptr(), props.len))

    def handle_input(self, now, data):
        b = data if type(data) is bytes else bytes(data)
        r = _lib.mqttas_handle_input(self._client, now & 0xFFFFFFFF, b or None, ctypes.c_size_t(len(b)),
                                     self._taken_ref)
        if r:
            _check(r)
        return self._taken.value

    def handle_timeout(self, now):
        _check(_lib.mqttas_handle_timeout(self._client, now & 0xFFFFFFFF))

    def handle_link_down(self, now, why=None):
        self._down_why = why
        _check(_lib.mqttas_handle_link_down(self._client, now & 0xFFFFFFFF))

    def poll_transmit(self, now):
        v = self._iov
        n = self._iov_n
        r = _lib.mqttas_poll_transmit_vectored(self._client, now & 0xFFFFFFFF, v, self._iov_n_ref)
        if r:
            _check(r)
        if not n.value:
            return None
        head = ctypes.string_at(v[0].base, v[0].len)
        if n.value < 2:
            return head
        if v[1].len <= _JOIN_MAX:
            return head + ctypes.string_at(v[1].base, v[1].len)
        # The lent payload of the PUBLISH whose head ends `head` (packets
        # before it are whole): QoS 0 the last one, else the one kept under
        # the packet id that follows the topic.
        at = 0
        while True:
            i = at + 1
            rl = 0
            shift = 0
            while head[i] & 0x80:
                rl |= (head[i] & 0x7F) << shift
                shift += 7
                i += 1
            rl |= head[i] << shift
            i += 1
            if i + rl >= len(head):
                break
            at = i + rl
        if head[at] & 6:
            i += 2 + (head[i] << 8 | head[i + 1])
            p = self._lent.get(head[i] << 8 | head[i + 1])
        else:
            p = self._lent0
        if p is None or len(p) != v[1].len:
            raise RuntimeError("a lent payload is not the one published")
        return head, p

    def poll_deadline(self):
        has, t = self._deadline_refs
        r = _lib.mqttas_poll_deadline(self._client, has, t)
        if r:
            _check(r)
        return self._deadline.value if self._has.value else None

    def state(self):
        s = ctypes.c_uint32(0)
        _check(_lib.mqttas_state(self._client, ctypes.byref(s)))
        return s.value

    def pending(self):
        n = ctypes.c_size_t(0)
        _check(_lib.mqttas_pending_publications(self._client, ctypes.byref(n)))
        return n.value

    def qos2_stats(self):
        s = _Qos2Stats()
        _check(_lib.mqttas_get_qos2_stats(self._client, ctypes.byref(s)))
        return (s.peak_unreleased, s.beyond_receive_maximum, s.untracked, s.withheld)

    def stats(self):
        s = _ClientStats()
        _check(_lib.mqttas_get_stats(self._client, ctypes.byref(s)))
        return {"republished": s.republished}

    def assigned_client_id(self):
        if _assigned is None:
            return ""
        p = ctypes.c_char_p()
        n = ctypes.c_size_t(0)
        _check(_assigned(self._client, ctypes.byref(p), ctypes.byref(n)))
        return ctypes.string_at(p, n.value).decode() if n.value else ""

    def poll_event(self):
        e = self._event
        r = _lib.mqttas_poll_event(self._client, self._event_ref)
        if r:
            _check(r)
        k = e.kind
        while k == PAYLOAD_RETURNED:
            # PUBREC came for a lent QoS 2 payload: the core never reads it
            # again (PUBLISHED follows at PUBCOMP).
            self._lent.pop(e.packet_id, None)
            r = _lib.mqttas_poll_event(self._client, self._event_ref)
            if r:
                _check(r)
            k = e.kind
        if k == 0:
            return None
        if k == CONNECTED:
            return (k, bool(e.session_present), _props_out(e.properties, e.properties_len))
        if k == MESSAGE:
            return (k, _at(e.topic, e.topic_len), _at(e.payload, e.payload_len), e.qos,
                    bool(e.retain), bool(e.dup), e.packet_id,
                    _props_out(e.properties, e.properties_len))
        if k == MSG_START:
            return (k, _at(e.topic, e.topic_len), e.total_len, e.qos, bool(e.retain),
                    bool(e.dup), e.packet_id, _props_out(e.properties, e.properties_len))
        if k == MSG_CHUNK:
            return (k, _at(e.payload, e.payload_len))
        if k in (MSG_END, DISCONNECTED):
            return (k,)
        if k == PUBLISHED:
            self._lent.pop(e.packet_id, None)  # the core is done with its payload
            return (k, e.packet_id, e.reason)
        if k in (SUBSCRIBED, UNSUBSCRIBED):
            return (k, e.packet_id, _at(e.codes, e.codes_len),
                    _props_out(e.properties, e.properties_len))
        if k == AUTH:
            return (k, e.reason, _props_out(e.properties, e.properties_len))
        if k == MSG_SKIPPED:
            return (k, _at(e.topic, e.topic_len), e.total_len, e.limit, e.qos, e.packet_id)
        if k == LOST:
            self._lent0 = None  # dropped unsent, if it was not sent
            # Why, in the core's words (without "connection lost: ").
            _lib.mqttas_lost_describe(self._client, self._text, len(self._text), None)
            cause = ctypes.c_uint32(CAUSE_OUTAGE)
            _check(_lib.mqttas_lost_cause(self._client, ctypes.byref(cause)))
            return (k, e.lost, e.reason, self._text.value.decode("utf-8", "replace"), cause.value,
                    _props_out(e.properties, e.properties_len))
        return (k,)


# What ended a connection, for the outage policy (mqttas_reconnect_cause).
CAUSE_OUTAGE = 0
CAUSE_BACK_OFF = 1
CAUSE_PERMANENT = 2
CAUSE_PLANNED = 3

# Outage policy actions (mqttas_reconnect_kind).
ACTION_NONE = 0
ACTION_HOLD_DOWN = 1
ACTION_CONNECT = 2
ACTION_BOUNCE_LINK = 3
ACTION_WAIT = 4


class _Policy(ctypes.Structure):
    _fields_ = [
        ("hold_down_ms", ctypes.c_uint32),
        ("tcp_attempts_before_bounce", ctypes.c_uint16),
        ("backoff_base_ms", ctypes.c_uint32),
        ("backoff_cap_ms", ctypes.c_uint32),
        ("jitter_percent", ctypes.c_uint8),
        ("attempt_timeout_ms", ctypes.c_uint32),
        ("stable_ms", ctypes.c_uint32),
    ]


class _Action(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_uint32), ("until", ctypes.c_uint32)]


class _Stats(ctypes.Structure):
    _fields_ = [
        ("outages", ctypes.c_uint32),
        ("attempts", ctypes.c_uint32),
        ("failures", ctypes.c_uint32),
        ("bounces", ctypes.c_uint32),
        ("planned", ctypes.c_uint32),
        ("unstable", ctypes.c_uint32),
        ("back_offs", ctypes.c_uint32),
        ("permanent", ctypes.c_uint32),
    ]


_RP = _P
for _name, _args in (
    ("mqttas_reconnect_policy_default", [ctypes.POINTER(_Policy)]),
    ("mqttas_reconnect_init", [_RP, ctypes.c_size_t, ctypes.POINTER(_Policy), ctypes.c_uint32]),
    ("mqttas_reconnect_deinit", [_RP]),
    ("mqttas_reconnect_handle_lost", [_RP, ctypes.c_uint32, ctypes.c_uint32]),
    ("mqttas_reconnect_handle_attempt_failed", [_RP, ctypes.c_uint32, ctypes.c_uint32]),
    ("mqttas_reconnect_handle_connected", [_RP, ctypes.c_uint32]),
    ("mqttas_reconnect_poll_action", [_RP, ctypes.c_uint32, ctypes.POINTER(_Action)]),
    ("mqttas_reconnect_poll_deadline", [_RP, ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(ctypes.c_uint32)]),
    ("mqttas_reconnect_get_stats", [_RP, ctypes.POINTER(_Stats)]),
):
    _f = getattr(_lib, _name)
    _f.argtypes = _args
    _f.restype = _R
for _name in ("mqttas_reconnect_size", "mqttas_reconnect_align"):
    getattr(_lib, _name).restype = ctypes.c_size_t
    getattr(_lib, _name).argtypes = []


class Reconnect:
    """The core's outage policy (mqttas_reconnect_*): hold-down, TCP first,
    link bounce after N failed attempts, backoff with jitter and a cap.

    Reconnect(hold_down_ms=1000, tcp_attempts_before_bounce=3,
              backoff_base_ms=500, backoff_cap_ms=30000, jitter_percent=20,
              attempt_timeout_ms=30000, stable_ms=60000, seed=0)
        handle_lost(now, cause=CAUSE_OUTAGE),
        handle_attempt_failed(now, cause=CAUSE_OUTAGE),
        handle_connected(now)   cause: the LOST event's last item
        poll_action(now) -> (ACTION_HOLD_DOWN | ACTION_CONNECT |
                             ACTION_BOUNCE_LINK | ACTION_WAIT, until) or None
        poll_deadline() -> tick of the next change, or None
        stats() -> (outages, attempts, failures, bounces, planned, unstable,
                    back_offs, permanent)
    A keyword left out (or None) keeps the core's default.
    """

    def __init__(self, hold_down_ms=None, tcp_attempts_before_bounce=None,
                 backoff_base_ms=None, backoff_cap_ms=None, jitter_percent=None,
                 attempt_timeout_ms=None, stable_ms=None, seed=0):
        p = _Policy()
        _check(_lib.mqttas_reconnect_policy_default(ctypes.byref(p)))
        for name, v, top in (
            ("hold_down_ms", hold_down_ms, 0xFFFFFFFF),
            ("tcp_attempts_before_bounce", tcp_attempts_before_bounce, 0xFFFF),
            ("backoff_base_ms", backoff_base_ms, 0xFFFFFFFF),
            ("backoff_cap_ms", backoff_cap_ms, 0xFFFFFFFF),
            ("jitter_percent", jitter_percent, 0xFF),
            ("attempt_timeout_ms", attempt_timeout_ms, 0xFFFFFFFF),
            ("stable_ms", stable_ms, 0xFFFFFFFF),
        ):
            if v is None:
                continue
            v = int(v)
            if v < 0 or v > top:
                raise ValueError("%s out of range" % name)
            setattr(p, name, v)
        self._init(p, int(seed) & 0xFFFFFFFF)

    @classmethod
    def _made(cls, policy, seed):
        # The one a Client makes from its config.
        r = cls.__new__(cls)
        r._init(policy, seed)
        return r

    def _init(self, p, seed):
        self._policy = p
        self._seed = seed
        size = _lib.mqttas_reconnect_size()
        self._storage, self._r = _storage(size, _lib.mqttas_reconnect_align())
        self._a = _Action()
        self._live = False
        _check(_lib.mqttas_reconnect_init(self._r, size, ctypes.byref(p), seed))
        self._live = True

    def __del__(self):
        if getattr(self, "_live", False):
            _lib.mqttas_reconnect_deinit(self._r)
            self._live = False

    def handle_lost(self, now, cause=CAUSE_OUTAGE):
        _check(_lib.mqttas_reconnect_handle_lost(self._r, now & 0xFFFFFFFF, cause))

    def handle_attempt_failed(self, now, cause=CAUSE_OUTAGE):
        _check(_lib.mqttas_reconnect_handle_attempt_failed(self._r, now & 0xFFFFFFFF,
                                                           cause))

    def handle_connected(self, now):
        _check(_lib.mqttas_reconnect_handle_connected(self._r, now & 0xFFFFFFFF))

    def poll_action(self, now):
        a = self._a
        _check(_lib.mqttas_reconnect_poll_action(self._r, now & 0xFFFFFFFF, ctypes.byref(a)))
        if a.kind == ACTION_NONE:
            return None
        return (a.kind, a.until)

    def poll_deadline(self):
        has = ctypes.c_bool(False)
        t = ctypes.c_uint32(0)
        _check(_lib.mqttas_reconnect_poll_deadline(self._r, ctypes.byref(has), ctypes.byref(t)))
        return t.value if has.value else None

    def stats(self):
        s = _Stats()
        _check(_lib.mqttas_reconnect_get_stats(self._r, ctypes.byref(s)))
        return (s.outages, s.attempts, s.failures, s.bounces, s.planned, s.unstable, s.back_offs,
                s.permanent)


# ---- Radio: the packet radio link (mqttas_radio_*) ----

class _RadioConfig(ctypes.Structure):
    _fields_ = [
        ("node", ctypes.c_uint8),
        ("gateway", ctypes.c_bool),
        ("mtu", ctypes.c_uint16),
        ("window", ctypes.c_uint8),
        ("rto_ms", ctypes.c_uint32),
        ("max_retries", ctypes.c_uint8),
        ("keepalive_ms", ctypes.c_uint32),
        ("epoch", ctypes.c_uint16),
    ]


class _RadioEvent(ctypes.Structure):
    _fields_ = [("kind", ctypes.c_uint32), ("reason", ctypes.c_uint32)]


_RADIO_STATS = ("frames_sent", "frames_received", "retransmissions", "bad_crc", "dropped",
                "duplicates")


class _RadioStats(ctypes.Structure):
    _fields_ = [(_n, ctypes.c_uint32) for _n in _RADIO_STATS]


# mqttas_radio_down_reason, by number.
_RADIO_DOWN = {1: "no_ack", 2: "silent", 3: "peer_reset", 4: "peer_restarted", 5: "closed"}
_RADIO_EVENT_UP = 1
_ERR_BUFFER_TOO_SMALL = 2
_RADIO_EVENT_DOWN = 2

_szp = ctypes.POINTER(ctypes.c_size_t)
for _name, _args in (
    ("mqttas_radio_config_default", [ctypes.POINTER(_RadioConfig)]),
    ("mqttas_radio_config_describe_error",
     [ctypes.POINTER(_RadioConfig), ctypes.c_char_p, ctypes.c_size_t, _szp]),
    ("mqttas_radio_init",
     [_P, ctypes.c_size_t, ctypes.POINTER(_RadioConfig), _u8p, ctypes.c_size_t, _u8p,
      ctypes.c_size_t]),
    ("mqttas_radio_deinit", [_P]),
    ("mqttas_radio_open", [_P, ctypes.c_uint32]),
    ("mqttas_radio_close", [_P, ctypes.c_uint32]),
    ("mqttas_radio_set_epoch", [_P, ctypes.c_uint16]),
    ("mqttas_radio_is_up", [_P, ctypes.POINTER(ctypes.c_bool)]),
    ("mqttas_radio_write", [_P, ctypes.c_uint32, _u8p, ctypes.c_size_t, _szp]),
    ("mqttas_radio_read", [_P, _u8p, ctypes.c_size_t, _szp]),
    ("mqttas_radio_handle_frame", [_P, ctypes.c_uint32, _u8p, ctypes.c_size_t]),
    ("mqttas_radio_poll_frame", [_P, ctypes.c_uint32, _u8p, ctypes.c_size_t, _szp]),
    ("mqttas_radio_handle_timeout", [_P, ctypes.c_uint32]),
    ("mqttas_radio_poll_deadline", [_P, ctypes.POINTER(ctypes.c_bool), ctypes.POINTER(ctypes.c_uint32)]),
    ("mqttas_radio_poll_event", [_P, ctypes.POINTER(_RadioEvent)]),
    ("mqttas_radio_get_stats", [_P, ctypes.POINTER(_RadioStats)]),
    ("mqttas_radio_writable", [_P, _szp]),
    ("mqttas_radio_readable", [_P, _szp]),
    ("mqttas_radio_frame_node",
     [_u8p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint8), ctypes.POINTER(ctypes.c_bool)]),
):
    _f = getattr(_lib, _name)
    _f.argtypes = _args
    _f.restype = _R
_lib.mqttas_radio_size.restype = ctypes.c_size_t
_lib.mqttas_radio_size.argtypes = []
_lib.mqttas_radio_align.restype = ctypes.c_size_t
_lib.mqttas_radio_align.argtypes = []


def _int_in(name, v, low, top):
    if isinstance(v, bool) or not isinstance(v, int) or not low <= v <= top:
        raise ValueError("%s must be an integer in %d..%d" % (name, low, top))
    return v


class Radio:
    """MQTT's byte stream over a packet radio (mqttas_radio_*): frames with
    CRC, sequence numbers, acknowledgements and retransmission, and a
    session that goes up and down like a TCP connection.

    Radio(node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
          keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024)
        node: this node's id (1..254), or on the gateway (gateway=True) the
        node this radio serves; mtu: bytes per frame (16..255); epoch: a new
        nonzero number at each boot. The buffers belong to the object.
    open(now)                  node: start a session (HELLO)
    close(now)                 RESET to the peer, then ("down", "closed")
    set_epoch(e)               node: before opening a new session
    is_up() -> bool
    write(now, data) -> bytes taken (0 when full or down)
    read(n) -> up to n received stream bytes (b"" when none)
    handle_frame(now, frame)   every frame received from the radio
    poll_frame(now) -> the next frame to send, or None
    handle_timeout(now)        at the deadline
    poll_deadline() -> tick of the next handle_timeout, or None
    poll_event() -> None, ("up",) or ("down", reason), reason one of
        "no_ack", "silent", "peer_reset", "peer_restarted", "closed"
    stats() -> dict of frames_sent, frames_received, retransmissions,
        bad_crc, dropped, duplicates
    writable() -> free transmit space   readable() -> bytes waiting
    And radio_frame_node(frame) -> (node, downlink) or None, to route a
    received frame to its radio.
    """

    def __init__(self, node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
                 keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024):
        c = _RadioConfig()
        _check(_lib.mqttas_radio_config_default(ctypes.byref(c)))
        c.node = _int_in("node", node, 0, 0xFF)
        c.gateway = bool(gateway)
        c.mtu = _int_in("mtu", mtu, 0, 0xFFFF)
        c.window = _int_in("window", window, 0, 0xFF)
        c.rto_ms = _int_in("rto_ms", rto_ms, 0, 0xFFFFFFFF)
        c.max_retries = _int_in("max_retries", max_retries, 0, 0xFF)
        c.keepalive_ms = _int_in("keepalive_ms", keepalive_ms, 0, 0xFFFFFFFF)
        c.epoch = _int_in("epoch", epoch, 0, 0xFFFF)
        for name, v in (("tx_size", tx_size), ("rx_size", rx_size)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError("%s must be a non-negative integer" % name)
        # The core's own words for a bad configuration ("mtu must be ..."),
        # before any memory is taken.
        why = ctypes.create_string_buffer(96)
        n = ctypes.c_size_t(0)
        _lib.mqttas_radio_config_describe_error(ctypes.byref(c), why, len(why), ctypes.byref(n))
        if n.value:
            raise ValueError("bad radio configuration: %s" % why.value.decode("utf-8", "replace"))
        size = _lib.mqttas_radio_size()
        self._storage, self._r = _storage(size, _lib.mqttas_radio_align())
        self._tx = (ctypes.c_uint8 * max(tx_size, 1))()
        self._rx = (ctypes.c_uint8 * max(rx_size, 1))()
        self._frame = (ctypes.c_uint8 * c.mtu)()
        self._ev = _RadioEvent()
        code = _lib.mqttas_radio_init(
            self._r, size, ctypes.byref(c),
            ctypes.cast(self._tx, _u8p) if tx_size else None, tx_size,
            ctypes.cast(self._rx, _u8p) if rx_size else None, rx_size)
        if code == _ERR_BUFFER_TOO_SMALL:
            raise ValueError("tx_size and rx_size must each hold a frame's payload (%d bytes)"
                             % (c.mtu - RADIO_OVERHEAD))
        _check(code)
        self._live = True

    def __del__(self):
        if getattr(self, "_live", False):
            _lib.mqttas_radio_deinit(self._r)
            self._live = False

    def open(self, now):
        _check(_lib.mqttas_radio_open(self._r, now & 0xFFFFFFFF))

    def close(self, now):
        _check(_lib.mqttas_radio_close(self._r, now & 0xFFFFFFFF))

    def set_epoch(self, e):
        _check(_lib.mqttas_radio_set_epoch(self._r, _int_in("epoch", e, 1, 0xFFFF)))

    def is_up(self):
        up = ctypes.c_bool(False)
        _check(_lib.mqttas_radio_is_up(self._r, ctypes.byref(up)))
        return up.value

    def write(self, now, data):
        b = _bytes(data, "data")
        n = ctypes.c_size_t(0)
        _check(_lib.mqttas_radio_write(self._r, now & 0xFFFFFFFF, _ptr(b), len(b), ctypes.byref(n)))
        return n.value

    def read(self, n):
        n = _int_in("n", n, 0, 0x7FFFFFFF)
        buf = (ctypes.c_uint8 * max(n, 1))()
        got = ctypes.c_size_t(0)
        _check(_lib.mqttas_radio_read(self._r, ctypes.cast(buf, _u8p), n, ctypes.byref(got)))
        return ctypes.string_at(buf, got.value) if got.value else b""

    def handle_frame(self, now, frame):
        b = _bytes(frame, "frame")
        _check(_lib.mqttas_radio_handle_frame(self._r, now & 0xFFFFFFFF, _ptr(b), len(b)))

    def poll_frame(self, now):
        n = ctypes.c_size_t(0)
        _check(_lib.mqttas_radio_poll_frame(self._r, now & 0xFFFFFFFF, ctypes.cast(self._frame, _u8p),
                                            len(self._frame), ctypes.byref(n)))
        return ctypes.string_at(self._frame, n.value) if n.value else None

    def handle_timeout(self, now):
        _check(_lib.mqttas_radio_handle_timeout(self._r, now & 0xFFFFFFFF))

    def poll_deadline(self):
        has = ctypes.c_bool(False)
        t = ctypes.c_uint32(0)
        _check(_lib.mqttas_radio_poll_deadline(self._r, ctypes.byref(has), ctypes.byref(t)))
        return t.value if has.value else None

    def poll_event(self):
        e = self._ev
        _check(_lib.mqttas_radio_poll_event(self._r, ctypes.byref(e)))
        if e.kind == _RADIO_EVENT_UP:
            return ("up",)
        if e.kind == _RADIO_EVENT_DOWN:
            return ("down", _RADIO_DOWN.get(e.reason, "other"))
        return None

    def stats(self):
        s = _RadioStats()
        _check(_lib.mqttas_radio_get_stats(self._r, ctypes.byref(s)))
        return dict((name, getattr(s, name)) for name in _RADIO_STATS)

    def writable(self):
        n = ctypes.c_size_t(0)
        _check(_lib.mqttas_radio_writable(self._r, ctypes.byref(n)))
        return n.value

    def readable(self):
        n = ctypes.c_size_t(0)
        _check(_lib.mqttas_radio_readable(self._r, ctypes.byref(n)))
        return n.value


def radio_frame_node(frame):
    """(node, downlink) of a whole received frame (length and CRC checked),
    or None: routes a frame to its Radio (a gateway keeps one per node)."""
    b = _bytes(frame, "frame")
    node = ctypes.c_uint8(0)
    down = ctypes.c_bool(False)
    _check(_lib.mqttas_radio_frame_node(_ptr(b), len(b), ctypes.byref(node), ctypes.byref(down)))
    return (node.value, down.value) if node.value else None
