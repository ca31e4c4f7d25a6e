#!/usr/bin/env python3
"""The outage policy's backoff, end to end (issue 12, defects 2 and 3):
each client (Rust, C, mqtt_as on CPython; the commands of harness.py)
against a fake broker on 127.0.0.1 that, after a first good session,

  drop     accepts each connection (CONNACK 0) and closes it at once;
  busy     (5.0) keeps each connection up longer than the client's stable
           time (its keep alive, 1 s), answering pings, then sends
           DISCONNECT 0x89 (server busy);
  refuse   refuses every connection for good: CONNACK 5 (3.1.1) or 0x87
           (5.0), not authorised.

The fake broker records when each connection comes; from the intervals:
drop and busy must grow (within the jitter) to the cap, with far fewer
connections than a fixed hold-down gives; refuse must be retried only at
the cap (less jitter), and the client must say "permanent". Small policy
values (hold-down 100 ms, backoff 100 ms doubling to 1.6 s, 10 % jitter)
keep each run under 15 s; the clients of a scenario run side by side.

  backoff.py [--clients rust,c,python] [--only drop,busy,refuse]
"""

import argparse
import os
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import harness as h  # noqa: E402

HOLD, BASE, CAP, JITTER = 100, 100, 1600, 10
POLICY = ["-H", str(HOLD), "-B", "0", "-b", str(BASE), "-X", str(CAP), "-j", str(JITTER)]
# Measurement noise on a loaded machine (ms).
SLACK = 150


def read_packet(conn):
    """One MQTT packet: (first byte, body), or None when the peer closed."""
    head = conn.recv(1)
    if not head:
        return None
    n, shift = 0, 0
    while True:
        b = conn.recv(1)
        if not b:
            return None
        n |= (b[0] & 0x7F) << shift
        shift += 7
        if not b[0] & 0x80 or shift > 21:
            break
    body = b""
    while len(body) < n:
        chunk = conn.recv(n - len(body))
        if not chunk:
            return None
        body += chunk
    return head[0], body


def serve(conn, v5, seconds):
    """A good session for `seconds`: answer SUBSCRIBE and PINGREQ."""
    end = time.monotonic() + seconds
    while True:
        left = end - time.monotonic()
        if left <= 0:
            return
        conn.settimeout(left)
        try:
            p = read_packet(conn)
        except socket.timeout:
            return
        if p is None:
            return
        kind, body = p
        if kind == 0xC0:
            conn.sendall(b"\xd0\x00")
        elif kind & 0xF0 == 0x80:  # SUBSCRIBE: grant QoS 1 to its (one) filter
            conn.sendall((b"\x90\x04" + body[:2] + b"\x00\x01") if v5 else (b"\x90\x03" + body[:2] + b"\x01"))
        elif kind == 0xE0:
            return


class FakeBroker:
    """Accepts connections on 127.0.0.1; connection 0 gets a good session of
    1 s, the others what `mode` says. `came`: monotonic times of arrival."""

    def __init__(self, mode):
        self.mode = mode
        self.came = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.done = False
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while not self.done:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.came.append(time.monotonic())
            threading.Thread(target=self.answer, args=(conn, len(self.came) - 1), daemon=True).start()

    def answer(self, conn, n):
        try:
            conn.settimeout(5)
            p = read_packet(conn)
            if p is None or p[0] != 0x10:
                return
            body = p[1]
            v5 = len(body) > 6 and body[6] == 5  # protocol level after "\0\4MQTT"
            ok = b"\x20\x03\x00\x00\x00" if v5 else b"\x20\x02\x00\x00"
            if n == 0:
                conn.sendall(ok)
                serve(conn, v5, 1.0)
            elif self.mode == "drop":
                conn.sendall(ok)
            elif self.mode == "busy":
                conn.sendall(ok)
                serve(conn, v5, 1.3)
                conn.sendall(b"\xe0\x02\x89\x00")
            elif self.mode == "refuse":
                conn.sendall(b"\x20\x03\x00\x87\x00" if v5 else b"\x20\x02\x00\x05")
        except OSError:
            pass
        finally:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def intervals(self):
        """Milliseconds between the connections after the first good one."""
        t = self.came[1:]
        return [round((b - a) * 1000) for a, b in zip(t, t[1:])]

    def close(self):
        self.done = True
        self.sock.close()


# mode: (MQTT version, keep alive s, window s)
SCENARIOS = [
    ("drop", 4, 60, 9),
    ("busy", 5, 1, 13),
    ("refuse", 4, 60, 8),
    ("refuse", 5, 60, 8),
]


def grows(iv):
    """Each interval at least the one before less the jitter and noise."""
    return all(b >= a * (100 - JITTER) / 100 - SLACK for a, b in zip(iv, iv[1:]))


def judge(mode, iv, text):
    """What is wrong with these intervals (a list of sentences)."""
    bad = []
    cap_low = CAP * (100 - JITTER) / 100 - SLACK
    if mode == "drop":
        # Waits 100, 200, 400, 800, 1600, ...: about 9 connections in 9 s;
        # a hold-down each time gives 50 or more.
        if len(iv) + 1 > 15:
            bad.append("%d connections: no backoff" % (len(iv) + 1))
        if len(iv) < 4:
            bad.append("too few connections to judge")
        elif not grows(iv) or max(iv) < cap_low:
            bad.append("intervals do not grow to the cap")
    elif mode == "busy":
        # Up 1.3 s (past the 1 s stable time), then waits that grow:
        # intervals 1.4, 1.5, 1.7, 2.1, 2.9, 2.9 s; without the back-off
        # cause every interval would be 1.4 s.
        if len(iv) < 4:
            bad.append("too few connections to judge")
        elif not grows(iv) or iv[-1] < 1300 + cap_low:
            bad.append("intervals do not grow to the cap")
        if "server busy" not in text:
            bad.append("the DISCONNECT's reason is not reported")
    elif mode == "refuse":
        # The first attempt after the good session is refused; every next
        # one comes only after the cap (less jitter).
        if len(iv) < 2:
            bad.append("too few attempts to judge")
        elif min(iv) < cap_low:
            bad.append("permanent refusal retried before the cap")
        if "permanent" not in text or "next try in" not in text:
            bad.append("no 'permanent ... next try in' report")
    return bad


def run_scenario(mode, version, keepalive, window, kinds, wd):
    brokers, clients = {}, {}
    for kind in kinds:
        b = brokers[kind] = FakeBroker(mode)
        name = "backoff-%s-v%d-%s" % (mode, version, kind)
        clients[kind] = h.Client(wd, kind, name, [
            "-m", "sub", "-n", "0", "-q", "1", "-t", "backoff/t", "-i", name,
            "-p", str(b.port), "-V", str(version), "-k", str(keepalive), "-W", "3000", "-v"] + POLICY)
    time.sleep(window)
    results = []
    for kind in kinds:
        clients[kind].stop()
        b = brokers[kind]
        b.close()
        iv = b.intervals()
        text = ""
        for path in (clients[kind].err_path, clients[kind].out_path):
            with open(path) as f:
                text += f.read()
        bad = judge(mode, iv, text) if len(b.came) > 1 else ["no connection after the good session"]
        results.append((kind, iv, bad, clients[kind]))
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="rust,c,python")
    ap.add_argument("--only", default="drop,busy,refuse")
    ap.add_argument("--workdir", default=None)
    a = ap.parse_args()
    kinds = a.clients.split(",")
    modes = a.only.split(",")
    wd = a.workdir or os.path.join(os.environ.get("TMPDIR", "/tmp"), "mqttas-backoff-%d" % os.getpid())
    os.makedirs(wd, exist_ok=True)
    failed = 0
    for mode, version, keepalive, window in SCENARIOS:
        if mode not in modes:
            continue
        for kind, iv, bad, client in run_scenario(mode, version, keepalive, window, kinds, wd):
            h.log("backoff %s v%d %s: %d connections after the good one, intervals (ms) %s%s" % (
                mode, version, kind, len(iv) + 1, iv, "" if not bad else ": FAILED: " + "; ".join(bad)))
            if bad:
                failed += 1
                h.log(client.tail(12))
    if failed:
        h.log("backoff: %d runs failed" % failed)
        sys.exit(1)
    h.log("backoff: all runs passed")


if __name__ == "__main__":
    main()
