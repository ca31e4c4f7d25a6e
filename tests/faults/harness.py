"""Shared pieces of the fault scenarios (tests/faults) and the soak
(tests/soak): a mosquitto with persistence that can be SIGKILLed and
restarted, the fault proxy (proxy.py) driven over its control port, the
clients (Rust, C, later Python) started with one command line, and the
checks (nothing lost, no QoS 2 duplicate, recovery times).

Standard library only. Everything listens on 127.0.0.1.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, secs=10.0):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Broker:
    """mosquitto on 127.0.0.1 with persistence. With `autosave` it saves on
    every change, so a SIGKILL loses as little as mosquitto allows; without,
    it saves only when told (`save`, SIGUSR1) and when it stops, so that a
    SIGKILL restores exactly the state last saved (and the broker spends
    no time writing files under load)."""

    def __init__(self, workdir, autosave=True):
        self.dir = os.path.join(workdir, "broker")
        os.makedirs(self.dir, exist_ok=True)
        self.port = free_port()
        self.bin = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.conf, "w") as f:
            f.write(
                "listener %d 127.0.0.1\n"
                "allow_anonymous true\n"
                "user root\n"
                "persistence true\n"
                "persistence_location %s/\n"
                "%s"
                "max_queued_messages 100000\n"
                "max_inflight_messages 20\n"
                "log_dest file %s/mosquitto.log\n"
                "%s"
                % (self.port, self.dir,
                   "autosave_interval 1\nautosave_on_changes true\n" if autosave
                   else "autosave_interval 0\n",
                   self.dir,
                   "log_type all\n" if os.environ.get("MQTTAS_BROKER_LOG") == "all"
                   else "log_type error\nlog_type warning\nlog_type notice\n")
            )
        self.proc = None
        self.kills = 0
        self.start()

    def start(self):
        with open(os.path.join(self.dir, "mosquitto.out"), "a") as out:
            self.proc = subprocess.Popen([self.bin, "-c", self.conf], stdout=out, stderr=out)
        if not wait_port(self.port, 10):
            raise RuntimeError("mosquitto did not start on %d" % self.port)

    def save(self, limit=3.0):
        """Make mosquitto write its persistence file now (SIGUSR1) and wait
        until the new file is in place. mosquitto's autosave on changes
        counts stored messages, not every step of a QoS 1/2 flow, so the
        file can lag what it has already acknowledged; a SIGKILL then
        loses or repeats a QoS 2 message by the broker's own doing, which
        no client can repair. Callers freeze its traffic first.

        mosquitto 2.0 loses a SIGUSR1 that comes as it ends the previous
        save (after its rename, before it clears its flag: src/loop.c):
        callers that save back to back use
        tests/soak/mosquitto_db.save_and_read, which marks and retries."""
        db = os.path.join(self.dir, "mosquitto.db")

        def stamp():
            try:
                st = os.stat(db)
                return (st.st_ino, st.st_mtime_ns, st.st_size)
            except OSError:
                return None

        before = stamp()
        self.proc.send_signal(signal.SIGUSR1)
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if stamp() not in (None, before):
                return True
            time.sleep(0.01)
        return False

    def unread(self):
        """Bytes that clients sent mosquitto and it has not read yet (its
        connections' receive queues, from /proc/net/tcp), or None when
        they cannot be seen."""
        total = 0
        try:
            with open("/proc/net/tcp") as f:
                next(f)
                for line in f:
                    fields = line.split()
                    local, state, queues = fields[1], fields[3], fields[4]
                    if state == "01" and int(local.rsplit(":", 1)[1], 16) == self.port:
                        total += int(queues.split(":")[1], 16)
        except (OSError, ValueError, IndexError, StopIteration):
            return None
        return total

    def kill(self):
        """SIGKILL: no goodbye, no final save."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.kills += 1

    def restart(self):
        self.start()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class Proxy:
    """proxy.py in its own process, driven over its control port."""

    def __init__(self, workdir, upstream, name, trace=False):
        ready = os.path.join(workdir, "proxy-%s.json" % name)
        self.name = name
        # The packet trace (proxy.py --trace), when asked for.
        self.trace = os.path.join(workdir, "proxy-%s.trace" % name) if trace else None
        with open(os.path.join(workdir, "proxy-%s.err" % name), "a") as err:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.join(HERE, "proxy.py"), "--upstream", str(upstream),
                 "--ready", ready] + (["--trace", self.trace] if trace else []),
                stderr=err,
            )
        end = time.monotonic() + 10
        while not os.path.exists(ready):
            if time.monotonic() > end or self.proc.poll() is not None:
                raise RuntimeError("proxy %s did not start" % name)
            time.sleep(0.02)
        with open(ready) as f:
            ports = json.load(f)
        self.port = ports["listen"]
        self.ctl = socket.create_connection(("127.0.0.1", ports["control"]))
        self.ctl_file = self.ctl.makefile("rwb")
        self.seen = 0

    def cmd(self, line):
        self.ctl_file.write((line + "\n").encode())
        self.ctl_file.flush()
        reply = json.loads(self.ctl_file.readline())
        if not reply.get("ok"):
            raise RuntimeError("proxy %s: %s: %s" % (self.name, line, reply.get("error")))
        return reply

    def events(self, since_index=0):
        return self.cmd("events %d" % since_index)["events"]

    def event_count(self):
        """How many events the proxy has logged (without sending them)."""
        return self.cmd("events %d" % (1 << 62))["next"]

    def stop(self):
        if self.trace and self.proc.poll() is None:
            try:
                self.cmd("flush")
            except (OSError, ValueError, RuntimeError):
                pass
        try:
            self.ctl.close()
        except OSError:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()


# Settings that make outages show quickly: ping every 500 ms (keep alive
# 2 s), 1.5 s response time, hold-down 500 ms, backoff 200 ms doubling to
# 2 s, 20 % jitter, bounce after 3 failures.
FAST = ["-k", "2", "-W", "1500", "-H", "500", "-b", "200", "-X", "2000", "-j", "20", "-B", "3"]


def client_command(kind):
    """The command line of a client kind. Each must accept the options of
    ports/unix/mqttas_client.c (see tests/faults/README.md)."""
    env = {
        "rust": "MQTTAS_RUST_CLIENT",
        "c": "MQTTAS_C_CLIENT",
        "python": "MQTTAS_PY_CLIENT",
    }[kind]
    cmd = os.environ.get(env)
    if not cmd:
        raise RuntimeError("%s is not set: which %s client to run?" % (env, kind))
    return cmd.split()


class Client:
    def __init__(self, workdir, kind, name, args):
        self.name = name
        self.kind = kind
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(client_command(kind) + args, stdout=out, stderr=err)

    def rss_kb(self):
        """Resident set size now, from /proc (0 once exited)."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n=8):
        try:
            with open(self.err_path) as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def count(self, text):
        try:
            with open(self.err_path) as f:
                return sum(1 for line in f if text in line)
        except OSError:
            return 0


def wait_file(path, secs):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.02)
    return False


def tally(out_path):
    """Subscriber output (TOPIC QOS DUP PAYLOAD lines) to {topic: {n: times}}."""
    seen = {}
    with open(out_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            try:
                n = int(parts[3])
            except ValueError:
                continue
            per = seen.setdefault(parts[0], {})
            per[n] = per.get(n, 0) + 1
    return seen


def check_delivery(seen, topic, n, exactly_once):
    """(lost, duplicates) of messages 1..n on topic; raises nothing."""
    per = seen.get(topic, {})
    lost = sum(1 for i in range(1, n + 1) if i not in per)
    dups = sum(c - 1 for c in per.values() if c > 1)
    return lost, dups


def recovery_after(events, since, opened_before=None):
    """Seconds from `since` to the first CONNACK forwarded after it (on a
    connection other than those opened before the fault, when given), or
    None when no CONNACK came."""
    for e in events:
        if e["ev"] == "connack" and e["t"] >= since:
            if opened_before is not None and e["conn"] in opened_before:
                continue
            return e["t"] - since
    return None


def broke_after(events, since):
    """True when a connection ended after `since` and the client came back
    (a new connection opened later): a final, clean disconnection does not
    count."""
    ended = None
    for e in events:
        if e["t"] < since:
            continue
        if e["ev"] in ("reset", "close", "upstream-refused", "refused") and ended is None:
            ended = e["t"]
        elif e["ev"] == "open" and ended is not None:
            return True
    return False


def percentile(values, p):
    if not values:
        return None
    v = sorted(values)
    k = min(len(v) - 1, max(0, int(round(p / 100.0 * (len(v) - 1)))))
    return v[k]
