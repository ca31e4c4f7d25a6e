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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
import harness as h  # noqa: E402
import mqttwire as W  # noqa: E402
from fakebroker import FakeBroker, is_v5, read_packet  # noqa: E402

HOLD, BASE, CAP, JITTER = 100, 100, 1600, 10
POLICY = ["-H", str(HOLD), "-B", "0", "-b", str(BASE), "-X", str(CAP), "-j", str(JITTER)]
# Measurement noise on a loaded machine (ms).
SLACK = 150


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
        first, body = p
        if first == 0xC0:
            conn.sendall(W.PINGRESP_BYTES)
        elif first >> 4 == W.SUBSCRIBE:  # Grant QoS 1 to its (one) filter.
            conn.sendall(W.suback(v5, int.from_bytes(body[:2], "big"), [1]))
        elif first >> 4 == W.DISCONNECT:
            return


class Broker:
    """A fake broker on 127.0.0.1 (tests/lib/fakebroker.py): connection 0
    gets a good session of 1 s, the others what `mode` says."""

    def __init__(self, mode):
        self.mode = mode
        self.fake = FakeBroker(self.answer)
        self.port = self.fake.port

    def answer(self, conn, n):
        conn.settimeout(5)
        p = read_packet(conn)
        if p is None or p[0] != 0x10:
            return
        v5 = is_v5(p[1])
        ok = W.connack(v5)
        if n == 0:
            conn.sendall(ok)
            serve(conn, v5, 1.0)
        elif self.mode == "drop":
            conn.sendall(ok)
        elif self.mode == "busy":
            conn.sendall(ok)
            serve(conn, v5, 1.3)
            conn.sendall(W.disconnect(True, 0x89))  # server busy
        elif self.mode == "refuse":
            conn.sendall(W.connack(v5, 0x87 if v5 else 5))  # not authorised
        conn.shutdown(socket.SHUT_RDWR)

    def intervals(self):
        """Milliseconds between the connections after the first good one."""
        t = self.fake.came[1:]
        return [round((b - a) * 1000) for a, b in zip(t, t[1:])]

    def close(self):
        self.fake.stop()


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
        b = brokers[kind] = Broker(mode)
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
        bad = judge(mode, iv, text) if len(b.fake.came) > 1 else ["no connection after the good session"]
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
