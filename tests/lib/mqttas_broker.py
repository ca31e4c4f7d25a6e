"""mosquitto for the Python tests and benchmarks: a broker on 127.0.0.1 on a
free port with its own config, log and (optionally) persistence and
password file, restartable on the same port. No pytest here, so that the
benchmarks (tests/bench/radio) use it too; tests/python/conftest.py,
tests/links and tests/bench import it with tests/lib on sys.path."""

import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
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
