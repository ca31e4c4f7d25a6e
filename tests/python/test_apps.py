"""The application programs in apps/, written against the mqtt_as API only,
run against a real mosquitto on CPython and, when MQTTAS_MICROPYTHON names
a MicroPython firmware built with the _mqttas module (see
micropython-module/README.md), on MicroPython too: the same programs, the
same checks."""

import os
import pathlib
import subprocess
import sys
import time

import pytest

from conftest import MODULE
from fakebroker import FakeBroker, accept_connect

APPS = pathlib.Path(__file__).resolve().parent / "apps"

INTERPRETERS = ["cpython"]
if os.environ.get("MQTTAS_MICROPYTHON"):
    INTERPRETERS.append("micropython")


def launch(interp, app, *args):
    env = dict(os.environ)
    if interp == "cpython":
        cmd = [sys.executable, "-u"]
        env["PYTHONPATH"] = str(MODULE)
    else:
        cmd = [os.environ["MQTTAS_MICROPYTHON"]]
        # A frozen mqtt_as (and asyncio) comes first; else the source tree's.
        env["MICROPYPATH"] = ".frozen:%s" % MODULE
    return subprocess.Popen(cmd + [str(APPS / app)] + [str(a) for a in args], env=env, cwd=str(APPS),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(p, timeout=90):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
        pytest.fail("timed out:\n" + out)
    return out


def passed(out, rc):
    lines = out.strip().splitlines()
    assert rc == 0 and lines and lines[-1].startswith("passed "), out
    assert not any(l.startswith("FAIL") for l in lines), out
    return int(lines[-1].split()[1])


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_qos(broker, interp):
    p = launch(interp, "app_qos.py", broker.port)
    assert passed(finish(p), p.returncode) == 8


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_config(interp):
    # The config's checks and settings: the C module's on a firmware, the
    # ctypes binding's on CPython, alike (no broker: nothing is sent).
    p = launch(interp, "app_config.py", 1883)
    assert passed(finish(p), p.returncode) == 52


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_events(broker, interp):
    p = launch(interp, "app_events.py", broker.port)
    assert passed(finish(p), p.returncode) == 4


@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_errors(make_broker, interp):
    b = make_broker()
    auth = make_broker(passwords={"alice": "secret"})
    p = launch(interp, "app_errors.py", b.port, auth.port)
    assert passed(finish(p), p.returncode) == 10


@pytest.mark.parametrize("v", ["3.1.1", "5"])
@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_restart(make_broker, interp, v):
    broker = make_broker(persistence=True)
    p = launch(interp, "app_restart.py", broker.port, "5" if v == "5" else "3")
    out = []
    for line in p.stdout:
        out.append(line)
        if line.strip() == "RESTART":
            broker.stop()
            time.sleep(1)
            broker.start()
            break
    rest = finish(p)
    assert passed("".join(out) + rest, p.returncode) == 3


def close_after_connack(sock, index):
    # Every fourth connection lives a few milliseconds, so that some are
    # still up when their handlers start (and some are not).
    if accept_connect(sock) and index % 4 == 3:
        time.sleep(0.003)


@pytest.mark.timeout(240)
@pytest.mark.parametrize("interp", INTERPRETERS)
def test_app_flap(interp):
    # Issue 12, defects 4 and 6: 2,000 connections closed right after
    # CONNACK, subscribe in connect_coro: memory and tasks flat, handlers
    # told in order. On MicroPython: MQTTAS_MICROPYTHON=<firmware with
    # _mqttas> tests/python/run -k flap.
    b = FakeBroker(close_after_connack)
    try:
        p = launch(interp, "app_flap.py", b.port, 2000)
        out = finish(p, timeout=220)
    finally:
        b.stop()
    print(out)
    assert passed(out, p.returncode) == 5
    assert b.connections >= 2000 and not b.errors, (b.connections, b.errors)
