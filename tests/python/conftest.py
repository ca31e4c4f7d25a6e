"""Shared fixtures: a real mosquitto on 127.0.0.1 started per test with its
own config file, and helpers to run mqtt_as programs against it."""

import asyncio
import itertools
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
MODULE = ROOT / "micropython-module"
sys.path.insert(0, str(MODULE))
sys.path.insert(0, str(MODULE / "cpython"))

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
_ids = itertools.count(1)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, seconds=10):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Broker:
    """A mosquitto on 127.0.0.1 with its own config, log and (optionally)
    persistence and password file. Restartable on the same port."""

    def __init__(self, path, persistence=False, passwords=None, extra=()):
        self.dir = pathlib.Path(path)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc = None
        lines = [
            "listener %d 127.0.0.1" % self.port,
            "log_dest file %s" % (self.dir / "mosquitto.log"),
            "log_type all",
            "user root" if os.geteuid() == 0 else "",
        ]
        if passwords:
            pwfile = self.dir / "passwords"
            pwfile.write_text("")
            for user, pw in passwords.items():
                subprocess.run(["mosquitto_passwd", "-b", str(pwfile), user, pw], check=True)
            lines += ["allow_anonymous false", "password_file %s" % pwfile]
        else:
            lines.append("allow_anonymous true")
        if persistence:
            lines += [
                "persistence true",
                "persistence_location %s/" % self.dir,
                "autosave_interval 0",
            ]
        lines += list(extra)
        self.conf = self.dir / "mosquitto.conf"
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self):
        out = open(self.dir / "mosquitto.out", "ab")
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=out, stderr=out)
        if not wait_port(self.port):
            self.stop()
            raise RuntimeError("mosquitto did not start: %s" % self.log())
        return self

    def stop(self):
        """SIGTERM (mosquitto saves its persistence file), then wait."""
        p, self.proc = self.proc, None
        if p is None:
            return
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()

    def log(self):
        f = self.dir / "mosquitto.log"
        return f.read_text(errors="replace") if f.exists() else ""


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
