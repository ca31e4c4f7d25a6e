# properties.py: MQTT 5.0 properties as mqtt_as 0.8.3 gives them, a dict
# keyed by the spec's integer identifiers, checked before anything is sent.
#
# Values: int for integer properties, str for strings, bytes for binary data
# (0x09 correlation data, 0x16 authentication data), and for user
# properties (0x26) a dict of name to value (several pairs allowed; mqtt_as
# 0.8.3 sent only the first) or a list of (name, value) pairs. Received
# properties come back the same way, all user properties in one dict.

# Identifier: (type, largest value). Types: i integer, s string, d binary,
# p string pair.
_KINDS = {
    0x01: ("i", 1),  # payload format indicator
    0x02: ("i", 0xFFFFFFFF),  # message expiry interval
    0x03: ("s", 0),  # content type
    0x08: ("s", 0),  # response topic
    0x09: ("d", 0),  # correlation data
    0x0B: ("i", 268435455),  # subscription identifier
    0x11: ("i", 0xFFFFFFFF),  # session expiry interval
    0x15: ("s", 0),  # authentication method
    0x16: ("d", 0),  # authentication data
    0x17: ("i", 1),  # request problem information
    0x18: ("i", 0xFFFFFFFF),  # will delay interval
    0x19: ("i", 1),  # request response information
    0x1F: ("s", 0),  # reason string
    0x21: ("i", 65535),  # receive maximum
    0x22: ("i", 65535),  # topic alias maximum
    0x23: ("i", 65535),  # topic alias
    0x26: ("p", 0),  # user property
    0x27: ("i", 0xFFFFFFFF),  # maximum packet size
}

# Which properties a client may send in which packet.
_ALLOWED = {
    "PUBLISH": (0x01, 0x02, 0x03, 0x08, 0x09, 0x23, 0x26),
    "SUBSCRIBE": (0x0B, 0x26),
    "UNSUBSCRIBE": (0x26,),
    "CONNECT": (0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27),
    "will": (0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26),
    "DISCONNECT": (0x11, 0x1F, 0x26),
}


def _text(v):
    return isinstance(v, str) or isinstance(v, (bytes, bytearray))


def check(props, packet, what="properties"):
    """Raise ValueError/TypeError unless `props` is a valid property dict
    for `packet` (a key of _ALLOWED)."""
    if props is None:
        return
    if not isinstance(props, dict):
        raise TypeError("%s must be a dict keyed by property identifier, not %s" % (what, type(props).__name__))
    allowed = _ALLOWED[packet]
    for pid in props:
        v = props[pid]
        if isinstance(pid, bool) or not isinstance(pid, int) or pid not in _KINDS:
            raise ValueError("%s: %r is not an MQTT 5.0 property identifier" % (what, pid))
        if pid not in allowed:
            raise ValueError("%s: property 0x%02x is not allowed in %s" % (what, pid, packet))
        kind, top = _KINDS[pid]
        if kind == "i":
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= top:
                raise ValueError("%s: property 0x%02x must be an integer in 0..%d, got %r" % (what, pid, top, v))
        elif kind == "s":
            if not _text(v):
                raise ValueError("%s: property 0x%02x must be a str, got %r" % (what, pid, v))
        elif kind == "d":
            if not isinstance(v, (bytes, bytearray, str)):
                raise ValueError("%s: property 0x%02x must be bytes, got %r" % (what, pid, v))
        else:
            pairs = v.items() if isinstance(v, dict) else v
            ok = isinstance(v, (dict, list, tuple))
            if ok:
                for pair in pairs:
                    if not (isinstance(pair, (tuple, list)) and len(pair) == 2 and _text(pair[0]) and _text(pair[1])):
                        ok = False
            if not ok:
                raise ValueError(
                    "%s: user property (0x26) must be a dict of str to str or a list of pairs, got %r" % (what, v)
                )
