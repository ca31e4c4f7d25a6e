#!/usr/bin/env python3
"""Soak: QoS 1 and QoS 2 messages both ways across hundreds of injected
faults, against the Rust, C and Python (CPython mqtt_as) clients at once.

One mosquitto (persistence on, saved only when the soak asks); a fault
proxy (tests/faults/proxy.py, tracing every packet of the publish flows)
in front of it for the publishers and one for the subscribers. Per client
kind: a subscriber (persistent session, QoS 2 subscription to
soak/KIND/#, running the whole soak) and two publishers (persistent
sessions, QoS 1 and QoS 2, numbered messages every DELAY ms in rounds of N
messages on soak/KIND/qQ/rROUND; a new round starts when one ends).

Faults are injected one after the other, cycling through every kind of
tests/faults/scenarios.py (blackhole, reset, delay and jitter, throttle,
cut mid-packet, cuts at chosen moments of the QoS 1 and 2 flows, half-open
both ways, broker SIGKILL and restart) and through the sides they hit
(publishers, subscribers, both). A broker SIGKILL is done only once
mosquitto's saved state shows that no subscriber has a message in flight
or queued (kill_verified; tests/faults/README.md); otherwise it is
skipped and counted. After each fault, the soak waits until every client
is connected again through its proxy (CONNACK passed on a working
connection): that wait, from the end of the fault, is its recovery time.

At the end: every message of every round must have reached the
subscriber (0 lost), QoS 2 ones exactly once (0 duplicates); QoS 1
duplicates are counted, by cause (packet_trace.py); enough broker kills
must have been done; the RSS of every client process is sampled all
along and must stay flat (and, for Python clients, tracemalloc's current
size, the CPython counterpart of gc.mem_alloc(), which py_client.py logs
with MQTTAS_PY_MEM=1). The summary is printed and written to the
results file.

    soak.py [--faults 200] [--long] [--clients rust,c,python] [--results FILE]
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))
sys.path.insert(0, HERE)
import harness as h  # noqa: E402
import mosquitto_db  # noqa: E402
import packet_trace  # noqa: E402

# Soak fault list: (name, commands on the proxy, kind). Held faults last
# HOLD s; shots act once (cuts when their packet passes).
HOLD = 0.8
FAULTS = [
    ("blackhole", ["blackhole"], "hold"),
    ("reset", ["reset"], "shot"),
    ("delay", ["delay 150 100"], "hold"),
    ("throttle", ["throttle 1500"], "hold"),
    ("cut-mid", ["cut-mid any"], "shot"),
    # Cuts in a flow only one side has: the side is forced (see ONLY).
    ("cut-after-pubrec-b2c", ["cut b2c PUBREC after"], "shot"),
    ("cut-after-pubrec-c2b", ["cut c2b PUBREC after"], "shot"),
    ("cut-before-puback-b2c", ["cut b2c PUBACK before"], "shot"),
    ("cut-before-puback-c2b", ["cut c2b PUBACK before"], "shot"),
    ("cut-before-pubrel-c2b", ["cut c2b PUBREL before"], "shot"),
    ("cut-before-pubrel-b2c", ["cut b2c PUBREL before"], "shot"),
    ("cut-before-pubcomp-b2c", ["cut b2c PUBCOMP before"], "shot"),
    ("cut-after-publish-b2c", ["cut b2c PUBLISH after"], "shot"),
    ("halfopen-c2b", ["halfopen c2b"], "shot"),
    ("halfopen-b2c", ["halfopen b2c"], "shot"),
    ("broker-kill", [], "kill"),
]
SIDES = ["pub", "sub", "both"]
# The proxy side whose flow has the packet a cut waits for: publishers get
# PUBREC, PUBACK, PUBCOMP from the broker and send PUBREL; subscribers get
# PUBLISH and PUBREL and send PUBREC and PUBACK.
ONLY = {
    "cut-after-pubrec-b2c": "pub", "cut-after-pubrec-c2b": "sub",
    "cut-before-puback-b2c": "pub", "cut-before-puback-c2b": "sub",
    "cut-before-pubrel-c2b": "pub", "cut-before-pubrel-b2c": "sub",
    "cut-before-pubcomp-b2c": "pub", "cut-after-publish-b2c": "sub",
}
# Client settings: FAST, with a shorter hold-down for a brisk soak.
SETTINGS = h.FAST[:]
SETTINGS[SETTINGS.index("-H") + 1] = "300"
# A run needs this share of the broker kills it tried done (the others
# skipped: see Soak.kill_verified).
MIN_KILLS_DONE = 0.75


class Soak:
    def __init__(self, a, wd):
        self.a = a
        self.wd = wd
        self.kinds = a.clients.split(",")
        # No autosave: mosquitto writes its file only when the kill asks
        # (SIGUSR1), so a restart restores exactly the state the kill
        # checked, and the broker spends no time saving under load.
        self.broker = h.Broker(wd, autosave=False)
        self.proxies = {"pub": h.Proxy(wd, self.broker.port, "pub", trace=True),
                        "sub": h.Proxy(wd, self.broker.port, "sub", trace=True)}
        self.expected = {"pub": 2 * len(self.kinds), "sub": len(self.kinds)}
        self.subs = {}
        self.pubs = {}  # (kind, q) -> (Client, round, topic)
        self.rounds = []  # finished rounds: dicts
        self.rss = {}  # process name -> [kB samples]
        self.failures = []
        self.recovery = []  # (fault, side, seconds)
        self.unfired = 0
        self.rolling = True
        self.kills = []  # (monotonic time, None or why it was skipped)
        self.events = {}  # proxy name -> its event log, at the end
        self.kill_waits = []  # seconds from pausing the publishers to the kill

    def version(self, kind):
        return ["-V", "5" if kind in self.a.v5.split(",") else "4"]

    @property
    def sub_ids(self):
        return {"soak-sub-" + kind for kind in self.kinds}

    def start(self):
        for kind in self.kinds:
            ready = os.path.join(self.wd, "ready-" + kind)
            self.subs[kind] = h.Client(self.wd, kind, "sub-" + kind, [
                "-m", "sub", "-p", str(self.proxies["sub"].port), "-q", "2",
                "-t", "soak/%s/#" % kind, "-n", "0", "-c", "-i", "soak-sub-" + kind,
                "-R", ready] + self.version(kind) + SETTINGS)
            if not h.wait_file(ready, 15):
                raise RuntimeError("subscriber %s not ready: %s" % (kind, self.subs[kind].tail()))
        for kind in self.kinds:
            for q in (1, 2):
                self.start_round(kind, q, 0)

    def start_round(self, kind, q, r):
        topic = "soak/%s/q%d/r%d" % (kind, q, r)
        name = "pub-%s-q%d-r%d" % (kind, q, r)
        c = h.Client(self.wd, kind, name, [
            "-m", "pub", "-p", str(self.proxies["pub"].port), "-q", str(q), "-t", topic,
            "-n", str(self.a.round), "-d", str(self.a.delay), "-c",
            "-i", "soak-pub-%s-q%d" % (kind, q), "-T", "600"] + self.version(kind) + SETTINGS)
        self.pubs[(kind, q)] = (c, r, topic)

    def maintain(self):
        """Sample RSS; end finished rounds and start the next ones."""
        for kind, c in self.subs.items():
            self.rss.setdefault(c.name, []).append(c.rss_kb())
        for (kind, q), (c, r, topic) in list(self.pubs.items()):
            code = c.proc.poll()
            if code is None:
                self.rss.setdefault("pub-%s-q%d" % (kind, q), []).append(c.rss_kb())
                continue
            self.rounds.append({"kind": kind, "q": q, "topic": topic, "n": self.a.round,
                                "code": code, "name": c.name})
            if code != 0:
                self.failures.append("%s exited %d: %s" % (c.name, code, c.tail(3).strip()))
            del self.pubs[(kind, q)]
            if self.rolling:
                self.start_round(kind, q, r + 1)

    def healthy(self, side):
        return self.proxies[side].cmd("stats")["ready"] >= self.expected[side]

    def wait_healthy(self, sides, limit):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            self.maintain()
            if all(self.healthy(s) for s in sides):
                return time.monotonic()
            time.sleep(0.02)
        return None

    def inject(self, i):
        name, cmds, how = FAULTS[i % len(FAULTS)]
        side = ONLY.get(name) or SIDES[(i // len(FAULTS)) % len(SIDES)]
        sides = ["pub", "sub"] if side == "both" or how == "kill" else [side]
        t0 = time.monotonic()
        marks = {s: self.proxies[s].event_count() for s in sides}
        if how == "kill":
            t_end = self.kill_verified(sides)
            if t_end is None:
                if self.wait_healthy(["pub", "sub"], 30) is None:
                    self.failures.append("fault %d (skipped broker kill): clients not all back"
                                         " within 30 s" % i)
                return False
        else:
            for s in sides:
                for c in cmds:
                    self.proxies[s].cmd(c)
            if how == "hold":
                time.sleep(HOLD)
                for s in sides:
                    self.proxies[s].cmd("heal")
                t_end = time.monotonic()
            else:
                t_end = t0
                if cmds[0].startswith("cut"):
                    # Wait for the cut to fire (at most 3 s), then measure
                    # from that moment.
                    fired = None
                    end = time.monotonic() + 3
                    while fired is None and time.monotonic() < end:
                        for s in sides:
                            for e in self.proxies[s].events(marks[s]):
                                if e["ev"] == "cut":
                                    fired = e["t"] if fired is None else min(fired, e["t"])
                        if fired is None:
                            self.maintain()
                            time.sleep(0.02)
                    for s in sides:
                        self.proxies[s].cmd("disarm")
                    if fired is None:
                        self.unfired += 1
                        return False
                    t_end = fired
        ok_at = self.wait_healthy(["pub", "sub"], 30)
        if ok_at is None:
            self.failures.append("fault %d (%s on %s): clients not all back within 30 s" % (i, name, side))
            self.recovery.append((name, side, None))
        else:
            self.recovery.append((name, side, max(0.0, ok_at - t_end)))
        return True

    def kill_verified(self, sides):
        """SIGKILL the broker when, by its own saved state, no subscriber
        has a message in flight or queued: then its restart cannot send a
        subscriber again a QoS 2 message whose flow the subscriber has
        finished (mosquitto 2.0.11 restores in-flight messages beyond
        max_inflight_messages as queued and publishes them again, even
        those whose PUBREL it had sent: tests/faults/README.md).

        The publishers pause (SIGSTOP; their own flows stay open across
        the kill) and mosquitto saves (SIGUSR1) until its file shows no
        client message record for a subscriber, with nothing left unread
        on its sockets. Then the proxies blackhole both ways (a PUBCOMP
        they drop leaves its record, so the next check sees it), mosquitto
        reads what it already had, saves, and the file is checked again;
        then it dies. Returns the time the kill ended, or None when it
        was skipped (no quiet state within --kill-settle s, or a subscriber
        record after the blackhole), counted in self.kills."""
        t0 = time.monotonic()
        stopped = [c for (c, _, _) in self.pubs.values() if c.proc.poll() is None]
        for c in stopped:
            c.proc.send_signal(signal.SIGSTOP)
        blackholed = []
        why = None
        try:
            end = t0 + self.a.kill_settle
            while True:
                pending = self.subscriber_records()
                if not pending:
                    break
                if time.monotonic() > end:
                    why = "subscribers still had %s after %.1f s" % (pending, self.a.kill_settle)
                    break
                time.sleep(0.05)
            if why is None:
                for s in sides:
                    self.proxies[s].cmd("blackhole")
                    blackholed.append(s)
                pending = self.subscriber_records()
                if pending:
                    why = "subscribers had %s after the blackhole" % pending
            if why is None:
                self.broker.kill()
        finally:
            for s in blackholed:
                self.proxies[s].cmd("heal")
            for c in stopped:
                c.proc.send_signal(signal.SIGCONT)
        self.kills.append((time.monotonic(), why))
        if why is not None:
            h.log("soak: broker kill skipped: " + why)
            return None
        self.kill_waits.append(time.monotonic() - t0)
        time.sleep(0.3)
        t_end = time.monotonic()
        self.broker.restart()
        return t_end

    def subscriber_records(self, settle=1.0):
        """What the broker's saved state holds for the subscribers: a
        summary of their client message records ({state: count}, empty
        when none). mosquitto first reads what its sockets hold (up to
        `settle` s), so the file shows what it has been sent."""
        end = time.monotonic() + settle
        while self.broker.unread() and time.monotonic() < end:
            time.sleep(0.01)
        db = mosquitto_db.save_and_read(self.broker)
        counts = {}
        for m in db["messages"]:
            if m.client_id in self.sub_ids:
                key = "QoS %d %s" % (m.qos, m.state)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def finish(self):
        self.rolling = False
        end = time.monotonic() + 180
        while self.pubs and time.monotonic() < end:
            self.maintain()
            time.sleep(0.1)
        for (kind, q), (c, r, topic) in self.pubs.items():
            self.failures.append("%s did not finish" % c.name)
            c.stop()
        # Wait for the subscribers to have every message.
        end = time.monotonic() + 60
        while time.monotonic() < end:
            if all(self.lost_dups(r)[0] == 0 for r in self.rounds):
                break
            time.sleep(0.5)
        for c in self.subs.values():
            self.rss.setdefault(c.name, []).append(c.rss_kb())
            c.stop()
        self.events = {name: p.events() for name, p in self.proxies.items()}

    def lost_dups(self, rnd):
        if not hasattr(self, "_seen_at") or time.monotonic() - self._seen_at > 0.4:
            self._seen = {k: h.tally(c.out_path) for k, c in self.subs.items()}
            self._seen_at = time.monotonic()
        return h.check_delivery(self._seen[rnd["kind"]], rnd["topic"], rnd["n"], rnd["q"] == 2)

    def stop(self):
        for c in self.subs.values():
            c.stop()
        for c, _, _ in self.pubs.values():
            c.stop()
        for p in self.proxies.values():
            p.stop()
        self.broker.stop()


def flat(samples, limit_kb):
    """RSS growth from the start (after warm-up) to the end, and whether it
    stays within limit_kb."""
    s = [x for x in samples if x > 0]
    if len(s) < 4:
        return 0, True
    k = max(1, len(s) // 10)
    head = sorted(s[k:2 * k])[len(s[k:2 * k]) // 2] if len(s) >= 3 * k else s[0]
    tail = sorted(s[-k:])[len(s[-k:]) // 2]
    return tail - head, tail - head <= limit_kb


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--faults", type=int, default=200)
    ap.add_argument("--long", action="store_true", help="2000 faults (about 30 minutes)")
    ap.add_argument("--clients", default="rust,c,python")
    ap.add_argument("--round", type=int, default=1500, help="messages per publisher round")
    ap.add_argument("--delay", type=int, default=20, help="ms between publications")
    ap.add_argument("--budget", type=float, default=540,
                    help="seconds after which no new fault is injected (CI bound)")
    ap.add_argument("--results", default=os.environ.get("MQTTAS_SOAK_RESULTS"))
    ap.add_argument("--v5", default="rust",
                    help="client kinds that speak MQTT 5.0 (the others 3.1.1)")
    ap.add_argument("--only", help="comma-separated fault names (default: all)")
    ap.add_argument("--kill-settle", type=float, default=15.0,
                    help="seconds a broker kill waits for the subscribers to have every message"
                    " the broker holds for them (then it is skipped)")
    a = ap.parse_args()
    if a.only:
        FAULTS[:] = [f for f in FAULTS if f[0] in a.only.split(",")]
    if a.long:
        a.faults = max(a.faults, 2000)
        a.budget = max(a.budget, 4 * 3600)
    results = a.results or os.path.join(tempfile.gettempdir(),
                                        "mqttas-soak-%s.txt" % time.strftime("%Y%m%d-%H%M%S"))
    wd = tempfile.mkdtemp(prefix="mqttas-soak.")
    soak = Soak(a, wd)
    start = time.monotonic()
    injected = 0
    try:
        soak.start()
        if soak.wait_healthy(["pub", "sub"], 20) is None:
            raise RuntimeError("clients did not connect")
        i = 0
        while injected < a.faults and time.monotonic() - start < a.budget:
            if soak.inject(i):
                injected += 1
                if injected % 25 == 0:
                    h.log("soak: %d faults, %d rounds done, %.0f s" % (
                        injected, len(soak.rounds), time.monotonic() - start))
            i += 1
            time.sleep(0.1)
        soak.finish()
    finally:
        soak.stop()
    elapsed = time.monotonic() - start

    lost = dups1 = dups2 = msgs = 0
    per_kind = {}
    for r in soak.rounds:
        l, d = soak.lost_dups(r)
        msgs += r["n"]
        lost += l
        if r["q"] == 2:
            dups2 += d
        else:
            dups1 += d
        k = per_kind.setdefault(r["kind"], {"messages": 0, "lost": 0, "qos1_dups": 0, "qos2_dups": 0})
        k["messages"] += r["n"]
        k["lost"] += l
        k["qos%d_dups" % r["q"]] += d
        if l:
            soak.failures.append("%s: %d lost" % (r["topic"], l))
        if r["q"] == 2 and d:
            soak.failures.append("%s: %d QoS 2 duplicates" % (r["topic"], d))
    recs = [x for _, _, x in soak.recovery if x is not None]
    by_fault = {}
    for name, side, x in soak.recovery:
        by_fault.setdefault(name, []).append(x)
    mem = {}
    for name, samples in sorted(soak.rss.items()):
        growth, ok = flat(samples, 1024)
        s = [x for x in samples if x > 0]
        mem[name] = {"first_kb": s[0] if s else 0, "last_kb": s[-1] if s else 0,
                     "max_kb": max(s) if s else 0, "growth_kb": growth, "samples": len(s)}
        if not ok:
            soak.failures.append("%s: RSS grew %d kB" % (name, growth))
    if injected < 200 and not a.long and a.faults >= 200:
        soak.failures.append("only %d faults injected within the budget" % injected)
    done = [t for t, why in soak.kills if why is None]
    skipped = [why for _, why in soak.kills if why is not None]
    if soak.kills and len(done) < MIN_KILLS_DONE * len(soak.kills):
        soak.failures.append("only %d of %d broker kills could be verified and done"
                             % (len(done), len(soak.kills)))
    trace = analyse_traces(soak, done)
    for key, text in trace["qos2_explained"]:
        soak.failures.append("QoS 2 duplicate %s %s: %s" % (key[0], key[1], text))

    p = lambda q: h.percentile(recs, q)  # noqa: E731
    lines = [
        "mqttas soak: clients %s (MQTT 5.0: %s), %d faults injected (%d cuts that never fired"
        " skipped), %.0f s" % (",".join(soak.kinds), a.v5 or "none", injected, soak.unfired, elapsed),
        "messages: %d in %d rounds (QoS 1 and 2, both directions through the proxies)"
        % (msgs, len(soak.rounds)),
        "lost: %d   QoS 2 duplicates: %d   QoS 1 duplicates: %d" % (lost, dups2, dups1),
        "recovery after a fault (s): p50 %s  p99 %s  max %s  (n=%d)" % (
            fmtf(p(50)), fmtf(p(99)), fmtf(max(recs) if recs else None), len(recs)),
        "broker kills: %d done, %d skipped (of %d tried, %d%% needed); pause to kill p50 %s"
        " max %s s" % (len(done), len(skipped), len(soak.kills), MIN_KILLS_DONE * 100,
                       fmtf(h.percentile(soak.kill_waits, 50)),
                       fmtf(max(soak.kill_waits) if soak.kill_waits else None)),
    ]
    lines += ["  skipped: " + why for why in skipped[:5]]
    causes, flags = trace["qos1_causes"], trace["qos1_flags"]
    lines.append("QoS 1 duplicates by cause: the broker sent those messages again %d times"
                 " (%d with DUP, %d without; %d duplicates untraced)"
                 % (sum(causes.values()), flags["with DUP"], flags["without DUP"],
                    trace["qos1_untraced"]))
    for cause, n in causes.most_common():
        lines.append("  %6d  %s" % (n, cause))
    lines.append("subscriber connections ended: %s; of them closed by the client to have the"
                 " rest re-sent after its inbound QoS 2 table (%d) filled: %s" % (
                     ", ".join("%s %d" % (k, trace["ended"][k]) for k in soak.kinds),
                     packet_trace.QOS2_TABLE,
                     ", ".join("%s %d" % (k, trace["table"][k]) for k in soak.kinds)))
    for kind, k in sorted(per_kind.items()):
        lines.append("  %-5s messages %d, lost %d, QoS 1 dups %d, QoS 2 dups %d"
                     % (kind, k["messages"], k["lost"], k["qos1_dups"], k["qos2_dups"]))
    lines.append("recovery by fault (s): p50 / max / count")
    for name, xs in by_fault.items():
        good = [x for x in xs if x is not None]
        lines.append("  %-24s %6s / %6s / %d%s" % (
            name, fmtf(h.percentile(good, 50)), fmtf(max(good) if good else None), len(xs),
            "" if len(good) == len(xs) else " (%d not recovered)" % (len(xs) - len(good))))
    lines.append("client RSS (kB): first / last / max / growth")
    for name, m in mem.items():
        lines.append("  %-16s %6d / %6d / %6d / %+d" % (
            name, m["first_kb"], m["last_kb"], m["max_kb"], m["growth_kb"]))
    # Python subscribers log tracemalloc's current size (the CPython
    # counterpart of gc.mem_alloc()) every second: first and last sample.
    for kind, c in sorted(soak.subs.items()):
        traced = []
        try:
            with open(c.err_path) as f:
                for line in f:
                    if " mem rss_kb=" in line and "traced=" in line:
                        traced.append(int(line.rsplit("traced=", 1)[1]))
        except (OSError, ValueError):
            pass
        if len(traced) >= 4:
            k = max(1, len(traced) // 10)
            growth = traced[-1] - sorted(traced[k:2 * k])[len(traced[k:2 * k]) // 2]
            lines.append("  %-16s python heap (tracemalloc, B): first %d / last %d / max %d / growth %+d"
                         % (c.name, traced[0], traced[-1], max(traced), growth))
            if growth > 1024 * 1024:
                soak.failures.append("%s: Python heap grew %d B" % (c.name, growth))
    lines.append("result: %s" % ("PASS" if not soak.failures else "FAIL"))
    for f in soak.failures[:20]:
        lines.append("  " + f)
    text = "\n".join(lines)
    print(text)
    with open(results, "w") as f:
        f.write(text + "\n")
        json.dump({"faults": injected, "messages": msgs, "lost": lost, "qos1_dups": dups1,
                   "qos2_dups": dups2, "qos1_causes": dict(causes), "kills_done": len(done),
                   "kills_skipped": skipped, "kill_waits": soak.kill_waits,
                   "table_reconnections": dict(trace["table"]), "recovery": soak.recovery,
                   "rss": mem, "failures": soak.failures}, f, indent=1)
        f.write("\n")
    h.log("soak: results in %s (work dir %s)" % (results, wd))
    if not soak.failures and not os.environ.get("MQTTAS_KEEP"):
        import shutil
        shutil.rmtree(wd, ignore_errors=True)
    sys.exit(1 if soak.failures else 0)


def analyse_traces(soak, kills):
    """The proxies' packet traces against what the subscribers printed:
    QoS 1 duplicates by cause, table reconnections per client kind, and
    the packets of each QoS 2 duplicate (at most 5)."""
    dups = {1: {}, 2: {}}
    for c in soak.subs.values():
        for topic, per in h.tally(c.out_path).items():
            q = 2 if "/q2/" in topic else 1
            for n, times in per.items():
                if times > 1:
                    dups[q][(topic, str(n))] = times - 1
    keys = set(dups[1]) | set(dups[2])
    sends, conns = packet_trace.subscriber_side(soak.proxies["sub"].trace, keys)
    publisher = packet_trace.publisher_sends(soak.proxies["pub"].trace, set(dups[1]))
    causes, flags, untraced = packet_trace.qos1_causes(sends, dups[1], publisher, kills)
    table, ended = packet_trace.churn(conns, soak.events.get("sub", []))
    kind = lambda counts: {k: counts.get("soak-sub-" + k, 0) for k in soak.kinds}  # noqa: E731
    return {"qos1_causes": causes, "qos1_flags": flags, "qos1_untraced": untraced,
            "table": kind(table), "ended": kind(ended),
            "qos2_explained": [(k, packet_trace.explain_qos2(sends, k, kills))
                               for k in sorted(dups[2])[:5]]}


def fmtf(v):
    return "-" if v is None else "%.2f" % v


if __name__ == "__main__":
    main()
