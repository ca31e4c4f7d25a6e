# Runs under MicroPython (tests/python/test_micropython.py): the mqtt_as
# package's pure-Python parts must work there, not only on CPython.
import sys
import asyncio

import _mqttas
import mqtt_as
from mqtt_as import MQTTClient, config
from mqtt_as.topics import check_filter

passed = 0


def ok(cond, what):
    global passed
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    passed += 1


def raises(exc, text, f, *args):
    try:
        f(*args)
    except exc as e:
        ok(text in str(e), "%s: %r" % (text, e))
        return
    ok(False, "no %s for %s" % (exc.__name__, text))


ok(sys.implementation.name == "micropython", "running on MicroPython")
ok(mqtt_as.VERSION == (0, 8, 3), "VERSION")
ok(config["server"] is None and config["keepalive"] == 60, "defaults")
ok(isinstance(config["client_id"], bytes), "client_id bytes")

c = dict(config)
c["server"] = "127.0.0.1"
c["mqttv5"] = True
c["mqttv5_con_props"] = {0x11: 3600, 0x22: 5, 0x26: {"a": "b"}}
c["clean"] = False
cl = MQTTClient(c)
kw = _mqttas.Client.last
ok(kw["version"] == 5 and kw["session_expiry"] == 3600 and kw["topic_alias_maximum"] == 5, "core config")
ok(kw["clean"] is False and kw["ping_interval_ms"] == 15000 and kw["response_time_ms"] == 10000, "times")
ok(cl.port == 1883 and not cl.isconnected(), "client")
rk = _mqttas.Reconnect.last
ok(rk["hold_down_ms"] == 1000 and rk["tcp_attempts_before_bounce"] == 3 and rk["backoff_base_ms"] == 500
   and rk["backoff_cap_ms"] == 30000 and rk["jitter_percent"] == 20 and rk["attempt_timeout_ms"] == 30000,
   "outage policy defaults")

bad = dict(config)
bad["server"] = "x"
for key, value, text in (
    ("keepalive", 70000, "config['keepalive'] must be an integer in 0..65535"),
    ("will", ("a/+", "x"), "wildcard"),
    ("gateway", True, "not supported"),
    ("password", "pw", "a password needs a user"),
    ("keep_alive", 1, "unknown key"),
    ("jitter", 101, "config['jitter'] must be an integer in 0..100"),
    ("backoff_cap", 0.1, "must not be below config['backoff_base']"),
):
    d = dict(bad)
    d[key] = value
    raises(ValueError, text, MQTTClient, d)
d = dict(bad)
d["server"] = None
raises(ValueError, "config['server'] is required", MQTTClient, d)
raises(ValueError, "'#' must be a whole level", check_filter, "a/#/b")
ok(check_filter("a/+/#") == b"a/+/#", "filter")


async def queue():
    q = mqtt_as.MsgQueue(2)
    for i in range(3):
        q.put(b"t", str(i), False)
    got = []
    async for t, m, r in q:
        got.append(m)
        if not q.qsize():
            break
    return got, q.discards


got, discards = asyncio.run(queue())
ok(got == ["1", "2"] and discards == 1, "MsgQueue")

# Every module compiles under MicroPython, the WLAN link too (it imports
# `network`, which the unix port lacks, so only compile it).
for name in ("wlan",):
    src = open(mqtt_as.__file__.rsplit("/", 1)[0] + "/links/" + name + ".py").read()
    compile(src, name, "exec")
    passed += 1
print("micropython: %d passed" % passed)
