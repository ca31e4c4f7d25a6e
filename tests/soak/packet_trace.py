"""What the fault proxies' packet traces (proxy.py --trace) say after a
soak: why the broker sent a subscriber a QoS 1 message again, which
reconnections the clients' inbound QoS 2 table caused, and the packets
behind any QoS 2 duplicate.

Standard library only. Times are CLOCK_MONOTONIC, as in the proxies'
events and the soak's own clock.
"""

import collections
import urllib.parse

# The clients' inbound QoS 2 table: ids they answered with PUBREC and that
# wait for PUBREL (src/session/client.rs, INBOUND_QOS2_CAPACITY). Full, a
# client takes no more QoS 2 messages; once the tracked ones are released
# it reconnects so that the broker sends the rest again.
QOS2_TABLE = 64


def records(path):
    """(time, conn, dir, fate, type, fields) of each trace line."""
    with open(path) as f:
        for line in f:
            p = line.rstrip("\n").split("\t")
            if len(p) >= 5:
                yield float(p[0]), int(p[1]), p[2], p[3], p[4], p[5:]


def publish_key(fields):
    """(topic, payload) of a traced PUBLISH."""
    return urllib.parse.unquote(fields[3]), fields[4]


def publisher_sends(path, keys):
    """How many times the publishers' proxy forwarded each message of
    `keys` to the broker."""
    n = collections.Counter()
    for _, _, d, fate, typ, f in records(path):
        if typ == "PUBLISH" and d == "c2b" and fate == "fwd":
            k = publish_key(f)
            if k in keys:
                n[k] += 1
    return n


def subscriber_side(path, keys):
    """One pass over the subscribers' proxy trace.

    Returns (sends, conns): sends maps each message of `keys` to the
    PUBLISHes the proxy forwarded to a subscriber, in order, each a dict
    with t, conn, pid, qos, dup and ack ((fate, time) of the subscriber's
    PUBACK or PUBREC for it on that connection, or None), and for QoS 2
    rel and comp (the same of the broker's PUBREL and the subscriber's
    PUBCOMP that followed on that connection); conns maps each
    connection to its client id and the peak size of that client's
    inbound QoS 2 table while it lasted."""
    sends = collections.defaultdict(list)
    awaiting = {}  # (conn, pid) -> send waiting for its acknowledgement
    flows = {}  # (conn, pid) -> QoS 2 send, until its PUBCOMP
    client = {}  # conn -> client id
    table = collections.defaultdict(set)  # client id -> ids awaiting PUBREL
    peak = collections.Counter()  # conn -> peak table size
    for t, conn, d, fate, typ, f in records(path):
        if typ == "CONNECT":
            client[conn] = f[0]
        elif typ == "CONNACK" and d == "b2c" and f[0] == "0" and conn in client:
            table[client[conn]].clear()  # no session kept: a new table
        elif typ == "PUBLISH" and d == "b2c" and fate == "fwd":
            k = publish_key(f)
            pid, qos = int(f[0]), int(f[1])
            if k in keys:
                s = {"t": t, "conn": conn, "pid": pid, "qos": qos, "dup": f[2] == "1", "ack": None,
                     "rel": None, "comp": None}
                sends[k].append(s)
                awaiting[(conn, pid)] = s
                if qos == 2:
                    flows[(conn, pid)] = s
            else:
                awaiting.pop((conn, pid), None)
                flows.pop((conn, pid), None)
        elif typ in ("PUBACK", "PUBREC") and d == "c2b":
            s = awaiting.pop((conn, int(f[0])), None)
            if s is not None:
                s["ack"] = (fate, t)
            if typ == "PUBREC" and conn in client:
                ids = table[client[conn]]
                ids.add(int(f[0]))
                peak[conn] = max(peak[conn], len(ids))
        elif typ == "PUBREL" and d == "b2c":
            s = flows.get((conn, int(f[0])))
            if s is not None and s["rel"] is None:
                s["rel"] = (fate, t)
            if fate == "fwd" and conn in client:
                table[client[conn]].discard(int(f[0]))
        elif typ == "PUBCOMP" and d == "c2b":
            s = flows.pop((conn, int(f[0])), None)
            if s is not None:
                s["comp"] = (fate, t)
    conns = {c: {"client": cid, "peak": peak[c]} for c, cid in client.items()}
    return sends, conns


def resend_cause(prev, cur, publisher_sent, kills):
    """Why the broker sent a subscriber `cur` after `prev`, the same QoS 1
    message."""
    if not cur["dup"] and publisher_sent >= 2:
        return "publisher sent it twice (the broker's PUBACK to it was lost)"
    if prev["ack"] is None:
        return "not acknowledged: the link went before the subscriber's PUBACK"
    fate, t = prev["ack"]
    if fate == "fwd":
        if any(t < k < cur["t"] for k in kills):
            return "acknowledged on the socket, PUBACK forwarded; broker killed before saving it"
        return "acknowledged on the socket, PUBACK forwarded; the link went before the broker took it"
    return "acknowledged on the socket, PUBACK lost in the fault (%s)" % fate


def qos1_causes(sends, dups, publisher, kills):
    """For the QoS 1 messages a subscriber got more than once (`dups`:
    (topic, payload) -> extra deliveries): the broker's repeated sends by
    cause, with and without DUP, and the duplicates with no traced cause."""
    causes = collections.Counter()
    flags = collections.Counter()
    untraced = 0
    for k, extra in dups.items():
        s = sends.get(k, [])
        untraced += max(0, extra - max(0, len(s) - 1))
        for prev, cur in zip(s, s[1:]):
            causes[resend_cause(prev, cur, publisher.get(k, 0), kills)] += 1
            flags["with DUP" if cur["dup"] else "without DUP"] += 1
    return causes, flags, untraced


def churn(conns, events):
    """Subscriber connections that the client itself closed after its
    inbound QoS 2 table filled (the table reconnection), per client id,
    and all subscriber connection ends per client id."""
    ends = {e["conn"]: e for e in events if e["ev"] in ("close", "reset")}
    table, ended = collections.Counter(), collections.Counter()
    for conn, c in conns.items():
        e = ends.get(conn)
        if e is None:
            continue
        ended[c["client"]] += 1
        if c["peak"] >= QOS2_TABLE and e["ev"] == "close" and e.get("by") == "client":
            table[c["client"]] += 1
    return table, ended


def explain_qos2(sends, key, kills, limit=6):
    """The forwarded PUBLISHes of a QoS 2 duplicate and what followed each
    on its connection, with the broker kills between, as text."""
    out = []
    last = None
    for s in sends.get(key, [])[:limit]:
        if last is not None:
            out += ["broker killed at %.3f" % k for k in kills if last < k < s["t"]]
        last = s["t"]
        flow = ", ".join("%s %s" % (name, "none" if s[x] is None else "%s at %.3f" % s[x])
                         for name, x in (("PUBREC", "ack"), ("PUBREL", "rel"), ("PUBCOMP", "comp")))
        out.append("PUBLISH at %.3f conn %d id %d dup %d: %s" % (
            s["t"], s["conn"], s["pid"], s["dup"], flow))
    return "; ".join(out) or "no forwarded PUBLISH traced"
