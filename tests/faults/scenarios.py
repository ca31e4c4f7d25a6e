#!/usr/bin/env python3
"""Fault scenarios: each fault of proxy.py (and a broker SIGKILL) against
each client, while QoS 1 and QoS 2 messages flow both ways.

For one client kind and one fault: a mosquitto with persistence; a proxy
in front of it for the subscriber and one for the two publishers; a
subscriber (persistent session, QoS 2 subscription to f/#) and two
publishers (persistent sessions, N numbered messages each, one at QoS 1 on
f/q1, one at QoS 2 on f/q2), all of that kind. One second in, the fault is
injected on both proxies (aimed at the publishers' flow on one, the
subscriber's on the other) and healed after a while. Asserted:

- every client exits 0: publishers saw every message acknowledged,
  the subscriber saw every number;
- 0 lost on f/q1 and f/q2; 0 duplicates on f/q2 (QoS 1 duplicates are
  counted and allowed);
- the fault really broke the connection (when it is meant to), and every
  broken client was connected again (CONNACK through its proxy) within
  the recovery bound of the moment the fault ended.

    scenarios.py [--clients rust,c,python] [--faults a,b] [--n 150] [--version 4]
                 [--summary FILE] [--bound SECONDS] [--keep]
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

# name: (publisher-side commands, subscriber-side commands, kind, breaks)
# kind: "hold" faults last HOLD seconds then heal; "shot" faults act once
# (at once or when their packet passes); "kill" is the broker SIGKILL.
HOLD = 2.5
# Seconds the broker's inputs are frozen before it is killed.
QUIESCE = 0.6
FAULTS = {
    "blackhole": (["blackhole"], ["blackhole"], "hold", True),
    "reset": (["reset"], ["reset"], "shot", True),
    "delay": (["delay 200 150"], ["delay 200 150"], "hold", False),
    "throttle": (["throttle 2000"], ["throttle 2000"], "hold", False),
    "cut-mid": (["cut-mid c2b"], ["cut-mid b2c"], "shot", True),
    # Publisher side: the broker's PUBREC reaches the client, its PUBREL
    # never reaches the broker. Subscriber side: the client's PUBREC
    # reaches the broker, the broker's PUBREL never reaches the client.
    "cut-after-pubrec": (["cut b2c PUBREC after"], ["cut c2b PUBREC after"], "shot", True),
    # The acknowledgement is lost: the broker has the message (publisher
    # side) or the client has it (subscriber side), the other end does not
    # know it.
    "cut-before-puback": (["cut b2c PUBACK before"], ["cut c2b PUBACK before"], "shot", True),
    "cut-before-pubcomp": (["cut b2c PUBCOMP before"], ["cut c2b PUBCOMP before"], "shot", True),
    "cut-before-pubrel": (["cut c2b PUBREL before"], ["cut b2c PUBREL before"], "shot", True),
    "halfopen-c2b": (["halfopen c2b"], ["halfopen c2b"], "shot", True),
    "halfopen-b2c": (["halfopen b2c"], ["halfopen b2c"], "shot", True),
    "broker-kill": ([], [], "kill", True),
}


def fault_time(proxy, since, kind):
    """When the fault acted on this proxy: for a cut, when it fired."""
    evs = proxy.events()
    if kind == "shot":
        for e in evs:
            if e["ev"] == "cut" and e["t"] >= since:
                return e["t"], evs
    return None, evs


def run_one(kind, fault, n, version, bound, base):
    wd = tempfile.mkdtemp(prefix="%s-%s." % (kind, fault), dir=base)
    pub_cmds, sub_cmds, how, breaks = FAULTS[fault]
    broker = h.Broker(wd)
    ppub = h.Proxy(wd, broker.port, "pub")
    psub = h.Proxy(wd, broker.port, "sub")
    clients = []
    res = {"client": kind, "fault": fault, "ok": False, "why": []}
    try:
        tag = "%s-%s" % (kind, fault)
        common = ["-V", str(version), "-c", "-T", "90"] + h.FAST
        ready = os.path.join(wd, "ready")
        sub = h.Client(wd, kind, "sub", ["-m", "sub", "-p", str(psub.port), "-q", "2",
                                          "-t", "f/#", "-n", str(2 * n), "-i", tag + "-sub",
                                          "-R", ready] + common)
        clients.append(sub)
        if not h.wait_file(ready, 15):
            res["why"].append("subscriber not ready: " + sub.tail())
            return res
        pubs = []
        for q in (1, 2):
            pubs.append(h.Client(wd, kind, "pub%d" % q,
                                 ["-m", "pub", "-p", str(ppub.port), "-q", str(q),
                                  "-t", "f/q%d" % q, "-n", str(n), "-d", "20",
                                  "-i", "%s-pub%d" % (tag, q)] + common))
        clients += pubs
        time.sleep(1.0)
        t0 = time.monotonic()
        ref = {}
        if how == "kill":
            # mosquitto saves its state asynchronously: killed under load it
            # can lose or repeat a QoS 2 message itself (see README.md). So
            # its inputs are frozen first (long enough for the save on
            # change, short of the clients' response time), then it dies.
            ppub.cmd("blackhole")
            psub.cmd("blackhole")
            time.sleep(QUIESCE)
            if not broker.save():
                raise RuntimeError("mosquitto did not save its state on SIGUSR1")
            broker.kill()
            ppub.cmd("heal")
            psub.cmd("heal")
            time.sleep(1.0)
            # From the moment the broker is started again: recovery
            # includes its start-up, as a client sees it.
            t_restart = time.monotonic()
            broker.restart()
            ref = {"pub": t_restart, "sub": t_restart}
        else:
            for c in pub_cmds:
                ppub.cmd(c)
            for c in sub_cmds:
                psub.cmd(c)
            if how == "hold":
                time.sleep(HOLD)
                # Recovery is counted from the moment each side is healed,
                # taken before the command: the proxy may forward a
                # CONNECT it held at once, so a CONNACK can come before the
                # heal command returns (seen under load: "no reconnection
                # after the fault" for a client that had reconnected).
                healed = time.monotonic()
                ppub.cmd("heal")
                ref = {"pub": healed, "sub": time.monotonic()}
                psub.cmd("heal")
        codes = {}
        for c in pubs + [sub]:
            codes[c.name] = c.wait(100)
        seen = h.tally(sub.out_path)
        res["q1_lost"], res["q1_dups"] = h.check_delivery(seen, "f/q1", n, False)
        res["q2_lost"], res["q2_dups"] = h.check_delivery(seen, "f/q2", n, True)
        for name, code in codes.items():
            if code != 0:
                c = next(x for x in clients if x.name == name)
                res["why"].append("%s exited %s: %s" % (name, code, c.tail(4).strip()))
        if res["q1_lost"] or res["q2_lost"]:
            res["why"].append("lost q1 %d q2 %d" % (res["q1_lost"], res["q2_lost"]))
        if res["q2_dups"]:
            res["why"].append("%d QoS 2 duplicates" % res["q2_dups"])
        broke_any = False
        for side, proxy in (("pub", ppub), ("sub", psub)):
            fired, evs = fault_time(proxy, t0, how)
            start = ref.get(side)
            if how == "shot":
                start = fired if fired is not None else t0
                if fired is None and any(c.startswith("cut") for c in
                                         (pub_cmds if side == "pub" else sub_cmds)):
                    res["why"].append("%s: the cut never fired" % side)
            broke = h.broke_after(evs, t0)
            broke_any |= broke
            rec = h.recovery_after(evs, start) if broke else None
            res["recovery_" + side] = rec
            if broke and rec is None:
                res["why"].append("%s: no reconnection after the fault" % side)
            elif rec is not None and rec > bound:
                res["why"].append("%s: recovery %.1f s over the %.0f s bound" % (side, rec, bound))
        if breaks and not broke_any:
            res["why"].append("the fault broke no connection")
        res["outages"] = sum(c.count("outage: link held down") for c in clients)
        res["ok"] = not res["why"]
        return res
    finally:
        for c in clients:
            c.stop()
        ppub.stop()
        psub.stop()
        broker.stop()
        if res.get("ok") and not os.environ.get("MQTTAS_KEEP"):
            shutil.rmtree(wd, ignore_errors=True)
        else:
            res["workdir"] = wd


def fmt(v):
    return "-" if v is None else ("%.2f" % v if isinstance(v, float) else str(v))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", default="rust,c,python")
    ap.add_argument("--faults", default=",".join(FAULTS))
    ap.add_argument("--n", type=int, default=150)
    ap.add_argument("--version", type=int, default=4)
    ap.add_argument("--bound", type=float, default=8.0,
                    help="recovery bound in seconds after the fault ends")
    ap.add_argument("--summary", default=None)
    a = ap.parse_args()
    base = tempfile.mkdtemp(prefix="mqttas-faults.")
    results = []
    for kind in a.clients.split(","):
        for fault in a.faults.split(","):
            if fault not in FAULTS:
                sys.exit("unknown fault %s (known: %s)" % (fault, ", ".join(FAULTS)))
            h.log("scenario %s / %s" % (kind, fault))
            r = run_one(kind, fault, a.n, a.version, a.bound, base)
            results.append(r)
            h.log("%s %s / %s: q1 lost %s dups %s, q2 lost %s dups %s, recovery pub %s sub %s s%s"
                  % ("ok" if r["ok"] else "FAILED", kind, fault, fmt(r.get("q1_lost")),
                     fmt(r.get("q1_dups")), fmt(r.get("q2_lost")), fmt(r.get("q2_dups")),
                     fmt(r.get("recovery_pub")), fmt(r.get("recovery_sub")),
                     "" if r["ok"] else ": " + "; ".join(r["why"]) + " (" + r.get("workdir", "") + ")"))
    lines = ["%-6s %-20s %7s %7s %7s %7s %8s %8s %s" % (
        "client", "fault", "q1lost", "q1dups", "q2lost", "q2dups", "rec.pub", "rec.sub", "result")]
    for r in results:
        lines.append("%-6s %-20s %7s %7s %7s %7s %8s %8s %s" % (
            r["client"], r["fault"], fmt(r.get("q1_lost")), fmt(r.get("q1_dups")),
            fmt(r.get("q2_lost")), fmt(r.get("q2_dups")), fmt(r.get("recovery_pub")),
            fmt(r.get("recovery_sub")), "ok" if r["ok"] else "FAILED"))
    failed = [r for r in results if not r["ok"]]
    lines.append("scenarios: %d, passed %d, failed %d" % (len(results), len(results) - len(failed), len(failed)))
    text = "\n".join(lines)
    print(text)
    if a.summary:
        with open(a.summary, "w") as f:
            f.write(text + "\n")
            f.write(json.dumps(results, indent=1) + "\n")
    if not failed and not os.environ.get("MQTTAS_KEEP"):
        shutil.rmtree(base, ignore_errors=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
