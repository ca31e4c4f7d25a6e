"""Shared fixtures: a real mosquitto on 127.0.0.1 started per test with its
own config file, and helpers to run mqtt_as programs against it."""

import asyncio
import itertools
import os
import pathlib
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULE = ROOT / "micropython-module"
sys.path.insert(0, str(MODULE))
sys.path.insert(0, str(MODULE / "cpython"))

sys.path.insert(0, str(ROOT / "tests" / "lib"))
from mqttas_broker import MOSQUITTO, Broker, free_port, wait_port  # noqa: E402,F401
_ids = itertools.count(1)


@pytest.fixture
def broker(tmp_path):
    b = Broker(tmp_path / "broker").start()
    yield b
    b.stop()


@pytest.fixture
def make_broker(tmp_path):
    made = []

    def make(**kw):
        b = Broker(tmp_path / ("broker%d" % len(made)), **kw).start()
        made.append(b)
        return b

    yield make
    for b in made:
        b.stop()


def client_id(prefix="t"):
    return "%s-%d-%d" % (prefix, os.getpid(), next(_ids))


@pytest.fixture
def cfg(broker):
    """A fresh copy of mqtt_as.config aimed at the test's broker."""
    return make_cfg(broker)


def make_cfg(broker, **kw):
    import mqtt_as

    c = dict(mqtt_as.config)
    c.update(server="127.0.0.1", port=broker.port, client_id=client_id(), response_time=3)
    c.update(kw)
    return c


def run(coro, timeout=30):
    """Run an asyncio program with an overall time limit."""

    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


class Sub:
    """mosquitto_sub as an independent observer: prints 'topic|retain|qos|payload'."""

    def __init__(self, broker, topic, qos=1, extra=(), fmt="%t|%r|%q|%p"):
        self.p = subprocess.Popen(
            ["mosquitto_sub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-q", str(qos),
             "-F", fmt] + list(extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        time.sleep(0.3)  # Let it subscribe.

    def lines(self, wait=0.5):
        time.sleep(wait)
        self.p.terminate()
        out, _ = self.p.communicate(timeout=5)
        return [l for l in out.decode(errors="replace").splitlines() if l]


def mosquitto_pub(broker, topic, msg, qos=1, retain=False, extra=()):
    args = ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(broker.port), "-t", topic, "-m", msg,
            "-q", str(qos)] + list(extra)
    if retain:
        args.append("-r")
    subprocess.run(args, check=True, timeout=10)
