"""A config that asks for a feature the firmware was built without is a
clear error naming the knob (MQTTAS_FEATURES, micropython-module/
features.py), raised when MQTTClient is built (qos=2: when publish or
subscribe is called), before anything is sent.

On CPython, as a firmware would be: the library built with the cargo
features a knob set picks (through the ctypes binding, whose FEATURES
answers from mqttas_features()), and only the package's modules the
manifest would freeze for it. The same checks run on a unix firmware in
apps/app_errors.py (test_apps.py)."""

import importlib.util
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import MODULE, ROOT

CACHE = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "knobs"


def features():
    spec = importlib.util.spec_from_file_location("mqttas_features", MODULE / "features.py")
    m = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m)
    return m


F = features()


def library(knobs):
    """libmqttas.so with the cargo features of `knobs`, as the unix port's
    build picks them (std and the knobs' own)."""
    slug = "-".join(knobs) or "none"
    r = subprocess.run(["cargo", "rustc", "--quiet", "--release", "--no-default-features", "--features",
                        "std," + F.cargo(knobs), "--lib", "--crate-type", "cdylib",
                        "--target-dir", str(CACHE / slug)], cwd=ROOT, capture_output=True, text=True,
                       timeout=840)
    assert r.returncode == 0, r.stderr
    return CACHE / slug / "release" / "libmqttas.so"


def package(knobs, dest):
    """The package as the manifest freezes it for `knobs`, with CPython's
    stand-ins for the firmware beside it: the ctypes binding and the
    package's CPython-only modules."""
    for f in list(F.modules(knobs)) + list(F.CPYTHON_ONLY):
        (dest / "mqtt_as" / f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(MODULE / "mqtt_as" / f, dest / "mqtt_as" / f)
    shutil.copytree(MODULE / "cpython", dest / "cpython")
    return dest


# Asks for each feature in turn; prints one line per attempt. With "board":
# a `network` module with WLAN and LAN, as a board's firmware has; the
# interfaces are only made, never brought up (which link module the client
# loads is the point).
PROBE = r"""
import asyncio, sys, types
if sys.argv[1] == "board":
    class NIC:
        def __init__(self, *args, **kw):
            pass

        def active(self, *args):
            return True

    network = types.ModuleType("network")
    network.WLAN = network.LAN = NIC
    network.STA_IF = 0
    sys.modules["network"] = network
from mqtt_as import MQTTClient, config
import _mqttas

print("FEATURES", " ".join(_mqttas.FEATURES))


def attempt(what, **kw):
    c = dict(config, server="127.0.0.1", port=1)
    c.update(kw)
    try:
        client = MQTTClient(c)
    except ValueError as e:
        print(what, "ValueError", e)
        return None
    print(what, "ok", type(client._link).__name__)
    return client


attempt("plain")
attempt("mqttv5", mqttv5=True)
attempt("will-qos2", will=("t", "m", False, 2))
attempt("ssl", ssl=True, ssl_params={"cert_reqs": 0})
if sys.argv[1] == "board":
    attempt("lan", lan=True)
    attempt("ssid", ssid="net", wifi_pw="pw")
client = attempt("qos1")


async def calls():
    for what, call in (("publish-qos2", client.publish("t", "m", qos=2)),
                       ("subscribe-qos2", client.subscribe("t", 2))):
        try:
            await asyncio.wait_for(call, 1)
            print(what, "ok")
        except ValueError as e:
            print(what, "ValueError", e)
        except (OSError, asyncio.TimeoutError):
            print(what, "ok")  # Accepted: it waits for a connection.


asyncio.run(calls())
"""


def probe(knobs, tmp_path, where):
    dest = package(knobs, tmp_path)
    env = dict(os.environ, MQTTAS_LIB=str(library(knobs)), PYTHONPATH="%s:%s" % (dest, dest / "cpython"))
    (tmp_path / "probe.py").write_text(PROBE)
    r = subprocess.run([sys.executable, str(tmp_path / "probe.py"), where], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return dict(line.split(" ", 1) for line in r.stdout.splitlines())


def refused(result, knob):
    return result.startswith("ValueError") and ("MQTTAS_FEATURES including %s " % knob) in result \
        and ("the feature '%s'" % knob) in result


@pytest.mark.timeout(900)
def test_minimal_firmware_refuses_what_it_lacks_naming_the_knob(tmp_path):
    r = probe(F.resolve("wlan"), tmp_path, "board")
    # The library always has the radio's node side (ffi-min); the firmware's
    # C module would not list it.
    assert r["FEATURES"] == "radio"
    assert r["plain"] == "ok WLANLink"
    assert refused(r["mqttv5"], "v5"), r["mqttv5"]
    assert refused(r["will-qos2"], "qos2"), r["will-qos2"]
    assert refused(r["ssl"], "tls"), r["ssl"]
    assert refused(r["lan"], "lan"), r["lan"]
    assert r["qos1"] == "ok WLANLink"
    assert refused(r["publish-qos2"], "qos2"), r["publish-qos2"]
    assert refused(r["subscribe-qos2"], "qos2"), r["subscribe-qos2"]


@pytest.mark.timeout(900)
def test_lan_only_firmware_refuses_wifi_but_not_the_boards_network(tmp_path):
    r = probe(F.resolve("lan"), tmp_path, "board")
    assert r["lan"] == "ok LANLink"
    assert refused(r["ssid"], "wlan"), r["ssid"]
    # No ssid: the board's network is up by other means, the socket link serves.
    assert r["plain"] == "ok SocketLink"


@pytest.mark.timeout(900)
def test_full_firmware_accepts_every_feature(tmp_path):
    r = probe(F.resolve("default tls wlan lan radio-gateway"), tmp_path, "board")
    assert r["FEATURES"] == "v5 qos2 radio radio-gateway"
    for what in ("plain", "mqttv5", "will-qos2", "ssl", "ssid", "qos1"):
        assert r[what] == "ok WLANLink", (what, r[what])
    assert r["lan"] == "ok LANLink"
    assert r["publish-qos2"] == "ok" and r["subscribe-qos2"] == "ok"
