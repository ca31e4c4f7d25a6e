# Shared by the application programs in this directory: they run unchanged
# on CPython (over the ctypes binding) and on a MicroPython firmware built
# with the _mqttas module (test_apps.py runs them on both). Arguments:
# broker port, then program-specific ones.
import sys

import asyncio

from mqtt_as import MQTTClient, config
from mqtt_as.compat import FEATURES

# A firmware built without some features (its knobs: MQTTAS_FEATURES,
# micropython-module/features.py): a program leaves out what needs them and
# says so with a line "without <knob>: ...", which test_apps.py expects.
QOS = (0, 1, 2) if "qos2" in FEATURES else (0, 1)
try:
    import mqtt_as.links.tls  # noqa: F401
    TLS = True
except ImportError:
    TLS = False


def without(knob, what):
    print("without %s: %s" % (knob, what))

PORT = int(sys.argv[1])
_n = [0]
_checks = [0]


def cfg(**kw):
    c = dict(config)
    c["server"] = "127.0.0.1"
    c["port"] = PORT
    c["response_time"] = 3
    _n[0] += 1
    c["client_id"] = "app-%s-%d" % (sys.argv[0].rsplit("/", 1)[-1][:-3], _n[0])
    for k in kw:
        c[k] = kw[k]
    return c


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    _checks[0] += 1
    print("ok", what)


async def until(cond, ms=5000):
    for _ in range(ms // 20):
        if cond():
            return True
        await asyncio.sleep(0.02)
    return cond()


def done():
    print("passed %d" % _checks[0])
