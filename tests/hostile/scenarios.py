"""The hostile suite's scenario table: what the fake broker does, and what
MQTT 3.1.1 and 5.0 demand of the client in return.

Every client (the Rust client, the C client plain and under ASan/UBSan,
mqtt_as on CPython) is held to the same expectations: they come from the
specs, not from what the clients do today. Each `Scenario` has

  kind      how a run goes (hostile.py carries it out):
            "close"  the client must close the connection after the fault
                     (and send the DISCONNECT `reason` in 5.0); the broker
                     then behaves on the next connection and the client
                     must receive a message there ("recovered");
            "keep"   the client must keep the connection: a message sent
                     after the fault is received on the same connection;
            "repeat" a good first session (the broker closes it), then
                     the fault on every connection: the waits between the
                     client's attempts are checked (`backoff`). The first
                     session is good so that every client's outage policy
                     is at work (an mqtt_as application handles a failed
                     first connect() itself).
  reason    5.0 DISCONNECT after the fault: a set of reason codes (exactly
            one DISCONNECT with one of them), NONE (no DISCONNECT), or
            ERROR_OR_NONE (none, or one with an error code a client may
            send). In 3.1.1 a client never sends DISCONNECT on an error:
            DISCONNECT means a clean end there (the broker discards the
            will), so the 3.1.1 expectation is always NONE.
  text      a regular expression the client's output (stdout and stderr)
            must match: the error named as the spec names it;
  forbid    one it must not match;
  backoff   "grow": keeps retrying, waits growing (or all at the cap);
            "permanent": stops, or retries no sooner than the cap;
            "either": one of the two.
  defect    the defect of issue 12 this scenario is aimed at, if any.

Besides these, every run asserts: no crash (exit status 0 after SIGTERM,
no signal, no sanitizer report), no spin (CPU time while the client waits,
`ctx.idle`), memory flat (RSS at the end against after the first
connection), the CONNECT's protocol level, and on the last connection a
clean shutdown on SIGTERM (DISCONNECT; 0x00 in 5.0).

Spec references: 3.1.1 = MQTT Version 3.1.1 (OASIS, 29 October 2014),
5.0 = MQTT Version 5.0 (OASIS, 7 March 2019).
"""

import asyncio
import re
import time

import broker as B

NONE = "none"
ANY = "any"
ERROR_OR_NONE = "error-or-none"

# DISCONNECT reason codes a client may send (5.0 Table 3-10) that report
# an error.
CLIENT_ERROR_CODES = {0x80, 0x81, 0x82, 0x83, 0x90, 0x93, 0x94, 0x95, 0x96, 0x98, 0x99}

# 5.0 reason code names (Table 2-6), as regular expressions that allow
# case, spacing and British spelling.
NAMES5 = {
    0x00: "normal disconnection", 0x80: "unspecified error", 0x81: "malformed packet",
    0x82: "protocol error", 0x83: "implementation specific error",
    0x84: "unsupported protocol version", 0x85: "client identifier not valid",
    0x86: "bad user name or password", 0x87: "not authori[sz]ed", 0x88: "server unavailable",
    0x89: "server busy", 0x8A: "banned", 0x8B: "server shutting down",
    0x8C: "bad authentication method", 0x8D: "keep alive timeout", 0x8E: "session taken over",
    0x8F: "topic filter invalid", 0x90: "topic name invalid", 0x93: "receive maximum exceeded",
    0x94: "topic alias invalid", 0x95: "packet too large", 0x96: "message rate too high",
    0x97: "quota exceeded", 0x98: "administrative action", 0x99: "payload format invalid",
    0x9A: "retain not supported", 0x9B: "qos not supported", 0x9C: "use another server",
    0x9D: "server moved", 0x9E: "shared subscriptions not supported",
    0x9F: "connection rate exceeded", 0xA0: "maximum connect time",
    0xA1: "subscription identifiers not supported",
    0xA2: "wildcard subscriptions not supported",
}
# 3.1.1 CONNACK return codes (Table 3.1).
NAMES311 = {
    1: "unacceptable protocol version", 2: "identifier rejected", 3: "server unavailable",
    4: "bad user name or password", 5: "not authori[sz]ed",
}

# Codes a server may put in DISCONNECT (5.0 Table 3-10, "Server" or both).
SERVER_DISCONNECT = [0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90,
                     0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E,
                     0x9F, 0xA0, 0xA1, 0xA2]
# CONNACK refusals (5.0 Table 3-1, 0x80 and above).
CONNACK_REFUSALS5 = [0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C,
                     0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F]
# Refusals that no retry can cure (issue 12 defect 3: "CONNACK 5 / 0x86 /
# 0x8A / 0x87"): a wrong protocol version, client id, credentials,
# authorisation, a ban, an unsupported authentication method.
PERMANENT311 = {1, 2, 4, 5}
PERMANENT5 = {0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C}
# Refusals that say "later": server unavailable or busy, quota, rate.
TRANSIENT311 = {3}
TRANSIENT5 = {0x88, 0x89, 0x97, 0x9F}


def words(name):
    """A regular expression for a spec name, any spacing (use with (?i))."""
    return name.replace(" ", r"[\s_-]*")


class Scenario:
    def __init__(self, name, doc, fault, kind="close", versions=(4, 5), reason=None,
                 text=None, forbid=None, backoff=None, args=None,
                 defect="", spec="", limit=40.0, heavy=False):
        self.name = name
        self.doc = doc
        self.fault = fault
        self.kind = kind
        self.versions = versions
        self.reason = reason if reason is not None else ANY
        self.text = text
        self.forbid = forbid
        self.backoff = backoff
        self.args = args or {}
        self.defect = defect
        self.spec = spec
        self.limit = limit
        self.heavy = heavy

    def reason_for(self, version):
        if version == 4:
            return NONE
        return self.reason

    def text_for(self, version):
        t = self.text
        return t.get(version) if isinstance(t, dict) else t

    async def serve(self, ctx, conn):
        """What the broker does on one connection of a run."""
        if self.kind == "repeat" and conn.index == 0:
            if await conn.accept():
                conn.close()  # An outage after a good session.
            return
        if conn.index == 0 or self.kind == "repeat":
            await self.fault(ctx, conn)
            return
        await recover(ctx, conn)


async def recover(ctx, conn):
    """A good broker: accept, then one message the client must print."""
    if await conn.accept():
        await conn.send(B.publish(conn.v5, "hostile/after", b"recovered"))


# ---- building blocks of the faults ---------------------------------------

def after_accept(make, **accept):
    """Accept (CONNACK, SUBACK), then send make(conn)."""
    async def fault(ctx, conn):
        if await conn.accept(**accept):
            await conn.send(make(conn))
    return fault


def instead_of_connack(make):
    """Read CONNECT and answer it with make(conn) rather than a CONNACK."""
    async def fault(ctx, conn):
        if await conn.expect("CONNECT"):
            await conn.send(make(conn))
    return fault


def pub(conn, topic="hostile/x", payload=b"hostile", **kw):
    return B.publish(conn.v5, topic, payload, **kw)


async def expect_ack(ctx, conn, name, pid, reasons, timeout=5.0):
    """The client must answer with `name` for `pid`, reason in `reasons`."""
    p = await conn.expect(name, timeout, lambda p: p.pid == pid)
    if p is None:
        ctx.fail("no %s for packet id %d" % (name, pid))
    elif p.reason not in reasons:
        ctx.fail("%s %d with reason 0x%02x, expected %s"
                 % (name, pid, p.reason, "/".join("0x%02x" % r for r in sorted(reasons))))
    return p


# ---- faults that need a script -----------------------------------------

async def truncated_then_silence(ctx, conn):
    if not await conn.accept():
        return
    conn.pingresp = False
    # A PUBLISH announcing 200 bytes; 20 come, then nothing at all.
    whole = pub(conn, payload=b"t" * 190)
    await conn.send(whole[:20])
    await ctx.idle("waiting for the rest of a truncated packet")


async def no_pingresp(ctx, conn):
    if not await conn.accept():
        return
    conn.pingresp = False
    await ctx.idle("waiting for a PINGRESP that never comes")
    if not await conn.wait_closed(ctx.keepalive * 1.5 + ctx.response_s + 5):
        return
    if not conn.packets("PINGREQ"):
        ctx.fail("closed for want of a PINGRESP without having sent a PINGREQ")


async def pingresp_behind_backlog(ctx, conn):
    """A slow link: after the first PINGREQ the broker's answer to the next
    one waits behind 3 s of messages (a QoS 0 PUBLISH every 20 ms). The
    broker is plainly alive all along; mqtt_as 0.8.3 counts any packet
    received as its sign of life and gives up only after a keep alive
    without one."""
    if not await conn.accept():
        return
    if await conn.expect("PINGREQ", 10) is None:
        ctx.fail("no PINGREQ within 10 s")
        return
    conn.pingresp = False
    # 3 s by the clock, however long a loaded machine stretches the sleeps.
    end = time.monotonic() + 3.0
    n = 0
    while time.monotonic() < end:
        n += 1
        if conn.closed or not await conn.send(pub(conn, "hostile/backlog", b"b-%d" % n)):
            break
        await asyncio.sleep(0.02)
    conn.pingresp = True
    await conn.send(B.PINGRESP_BYTES)
    await ctx.printed(b"b-%d" % n, conn=conn)
    got = ctx.count_topic("hostile/backlog")
    ctx.check(got == n, "%d of %d messages of the backlog delivered" % (got, n))


async def pingresp_never_while_sending(ctx, conn):
    """The broker sends a QoS 0 PUBLISH every 20 ms and never answers a
    PINGREQ: alive towards the client, deaf to it. While bytes come the
    client waits for the PINGRESP, but only response time + 1.5 keep alive
    after its PINGREQ (the core's rule, `Config::response_time_ms`): no
    sooner, and not for ever."""
    if not await conn.accept():
        return
    conn.pingresp = False
    bound = ctx.response_s + 1.5 * ctx.keepalive
    end = time.monotonic() + bound + 10
    i = 0
    while not conn.closed and time.monotonic() < end:
        i += 1
        if not await conn.send(pub(conn, "hostile/chatter", b"c-%d" % i)):
            break
        await asyncio.sleep(0.02)
    pings = conn.packets("PINGREQ")
    if not pings:
        ctx.fail("no PINGREQ")
    elif not conn.closed:
        ctx.fail("still connected %.0f s after an unanswered PINGREQ" % (time.monotonic() - pings[0].t))
    else:
        waited = conn.t_closed - pings[0].t
        ctx.note("closed %.2f s after the PINGREQ (the bound: %.1f s)" % (waited, bound))
        ctx.check(len(pings) == 1, "%d PINGREQs: one at a time" % len(pings))
        # The broker may read the PINGREQ late on a loaded machine: 1 s of
        # slack below (closing response time after the PINGREQ, 1.5 s, is
        # what this catches), 3 s above.
        ctx.check(waited >= bound - 1.0, "closed %.2f s after its PINGREQ while the broker was "
                  "sending: before response time + 1.5 keep alive (%.1f s)" % (waited, bound))
        ctx.check(waited <= bound + 3.0, "closed %.2f s after its PINGREQ: later than response "
                  "time + 1.5 keep alive (%.1f s)" % (waited, bound))


async def no_connack(ctx, conn):
    if await conn.expect("CONNECT"):
        await ctx.idle("waiting for a CONNACK that never comes")


async def close_before_connack(ctx, conn):
    if await conn.expect("CONNECT"):
        conn.close()


async def close_after_connack(ctx, conn):
    if await conn.expect("CONNECT"):
        await conn.send(B.connack(conn.v5))
        conn.close()


async def publish_before_connack(ctx, conn):
    if await conn.expect("CONNECT"):
        await conn.send(pub(conn, payload=b"early") + B.connack(conn.v5))


async def second_connack(ctx, conn):
    if await conn.accept():
        await conn.send(B.connack(conn.v5))


async def unknown_id_ack(ctx, conn, kind, answer=None, reasons311=None, reasons5=None):
    """An acknowledgement for an id the client never used; `answer`: the
    packet the client must send back, with a reason in `reasons311` or
    `reasons5` (None: no answer required in that version)."""
    if not await conn.accept():
        return
    if kind in (B.SUBACK, B.UNSUBACK):
        data = (B.suback(conn.v5, 4242, [0]) if kind == B.SUBACK
                else B.unsuback(conn.v5, 4242, [0]))
    else:
        data = B.ack(kind, conn.v5, 4242)
    await conn.send(data)
    reasons = reasons5 if conn.v5 else reasons311
    if answer is not None and reasons is not None:
        await expect_ack(ctx, conn, answer, 4242, reasons)


async def qos2_exactly_once(ctx, conn):
    """QoS 2 id 7: PUBLISH, PUBLISH again with DUP before PUBREL (the same
    message: delivered once), PUBREL -> PUBCOMP; then id 7 again, a new
    message (delivered). 3.1.1 4.3.3, 5.0 4.3.3."""
    if not await conn.accept():
        return
    v5 = conn.v5
    await conn.send(pub(conn, payload=b"q2-a", qos=2, pid=7))
    await expect_ack(ctx, conn, "PUBREC", 7, {0})
    await conn.send(pub(conn, payload=b"q2-a", qos=2, pid=7, dup=True))
    await expect_ack(ctx, conn, "PUBREC", 7, {0})
    await conn.send(B.ack(B.PUBREL, v5, 7))
    await expect_ack(ctx, conn, "PUBCOMP", 7, {0})
    await conn.send(pub(conn, payload=b"q2-b", qos=2, pid=7))
    await expect_ack(ctx, conn, "PUBREC", 7, {0})
    await conn.send(B.ack(B.PUBREL, v5, 7))
    await expect_ack(ctx, conn, "PUBCOMP", 7, {0})
    await ctx.printed(b"q2-b")
    ctx.check(ctx.count(b"q2-a") == 1, "q2-a delivered %d times, expected once" % ctx.count(b"q2-a"))
    ctx.check(ctx.count(b"q2-b") == 1, "q2-b delivered %d times, expected once" % ctx.count(b"q2-b"))


async def qos1_burst(ctx, conn):
    """100 QoS 1 PUBLISHes at once (above a 5.0 Receive Maximum): the
    client acknowledges each as it takes it, all are delivered."""
    if not await conn.accept():
        return
    n = 100
    await conn.send(b"".join(pub(conn, payload=b"q1-%d" % i, qos=1, pid=i) for i in range(1, n + 1)))
    for i in range(1, n + 1):
        if await conn.expect("PUBACK", 10, lambda p, i=i: p.pid == i) is None:
            ctx.fail("no PUBACK for %d of %d QoS 1 messages" % (i, n))
            return
    await ctx.printed(b"q1-%d" % n)
    missing = [i for i in range(1, n + 1) if ctx.count(b"q1-%d" % i) != 1]
    ctx.check(not missing, "QoS 1 messages not delivered exactly once: %s" % missing[:10])


def qos2_burst(extra=None, total=None, may_close=False):
    """Unreleased QoS 2 PUBLISHes at once: the client's Receive Maximum
    plus `extra` (5.0; 40 in 3.1.1, which has none), or `total`. Every
    message the client acknowledged with PUBREC must be delivered exactly
    once; a PUBREL then releases each, PUBCOMP must follow. With
    `may_close`, a client that cannot track them all may withhold the rest
    (no PUBREC) and close once the others are released (5.0: DISCONNECT
    0x93 Receive Maximum exceeded)."""
    async def fault(ctx, conn):
        if not await conn.accept():
            return
        rm = conn.connect.prop(0x21, 65535) if conn.v5 else 0
        n = total or (min(rm, 1000) + extra if conn.v5 else 40)
        ctx.note("receive maximum %d, sending %d unreleased QoS 2 messages" % (rm, n))
        await conn.send(b"".join(pub(conn, payload=b"q2-%d" % i, qos=2, pid=i)
                                 for i in range(1, n + 1)))
        recs = set()
        while len(recs) < n:
            p = await conn.expect("PUBREC", 3)
            if p is None:
                break
            recs.add(p.pid)
        if not conn.closed:
            for pid in sorted(recs):
                await conn.send(B.ack(B.PUBREL, conn.v5, pid))
            comps = set()
            while len(comps) < len(recs):
                p = await conn.expect("PUBCOMP", 5)
                if p is None:
                    break
                comps.add(p.pid)
            ctx.check(comps == recs, "PUBCOMP for %d of %d released messages"
                      % (len(comps), len(recs)))
            if len(recs) < n and may_close:
                await conn.wait_closed(3)
        if conn.closed and may_close:
            ctx.note("took %d of %d, then closed" % (len(recs), n))
            ctx.expect(kind="close", reason={0x93})
        else:
            ctx.check(len(recs) == n, "PUBREC for %d of %d QoS 2 messages" % (len(recs), n))
        if recs:
            await ctx.printed(b"q2-%d" % max(recs), timeout=10)
        bad = [i for i in sorted(recs) if ctx.count(b"q2-%d" % i) != 1]
        ctx.check(not bad, "acknowledged (PUBREC) QoS 2 messages not delivered exactly once: %s"
                  % bad[:10])
        twice = [i for i in range(1, n + 1) if ctx.count(b"q2-%d" % i) > 1]
        ctx.check(not twice, "QoS 2 messages delivered twice: %s" % twice[:10])
    return fault


def big_publish(slow):
    """A 10 MB QoS 0 PUBLISH, slowly (128 KiB every 20 ms) or at once.
    5.0: the client must announce a Maximum Packet Size (issue 12 defect
    5) and, when this one is larger, close with DISCONNECT 0x95
    (5.0 3.1.2.11.4). 3.1.1 has no such limit: the client skips what it
    cannot hold, says so, and keeps the connection."""
    size = 10 * 1024 * 1024

    async def fault(ctx, conn):
        if not await conn.accept():
            return
        data = pub(conn, "hostile/big", b"x" * size)
        if conn.v5:
            m = conn.connect.prop(0x27)
            if m is None:
                ctx.fail("MQTT 5.0 CONNECT announces no Maximum Packet Size "
                         "(issue 12 defect 5: every client has a configured maximum)")
            elif m < len(data):
                ctx.expect(kind="close", reason={0x95},
                           text=r"(?i)too large|maximum packet size")
        if slow:
            await conn.send_slowly(data, 128 * 1024, 0.02)
        else:
            await conn.send(data)
    return fault


async def byte_trickle(ctx, conn):
    """CONNACK, SUBACK and a PUBLISH one byte at a time: the client waits
    for the rest without spinning and delivers the message."""
    c = await conn.expect("CONNECT")
    if c is None:
        return
    await conn.send_slowly(B.connack(conn.v5), 1, 0.01)
    s = await conn.expect("SUBSCRIBE")
    if s is None:
        return
    await conn.send_slowly(B.suback(conn.v5, s.pid, [2]), 1, 0.01)
    data = pub(conn, payload=b"trickled-" + b"." * 150, qos=1, pid=3)
    ok = ctx.idle_during(conn.send_slowly(data, 1, 0.005), "receiving a packet a byte at a time")
    if await ok:
        await expect_ack(ctx, conn, "PUBACK", 3, {0})


async def flood(ctx, conn):
    """100,000 QoS 0 PUBLISHes as fast as TCP takes them: on a working
    connection none may be lost."""
    if not await conn.accept():
        return
    n = 100000
    await conn.send(b"".join(pub(conn, "hostile/flood", b"%d" % i) for i in range(1, n + 1)))
    await ctx.printed(b"%d" % n, timeout=120, topic="hostile/flood", conn=conn)
    got = ctx.count_topic("hostile/flood")
    ctx.check(got == n, "%d of %d QoS 0 messages delivered on a working connection" % (got, n))


def alias(value):
    """5.0: a PUBLISH with a Topic Alias of 0 or above the client's Topic
    Alias Maximum (None: maximum + 1)."""
    async def fault(ctx, conn):
        if not await conn.accept():
            return
        a = value if value is not None else conn.connect.prop(0x22, 0) + 1
        await conn.send(pub(conn, "hostile/alias", properties=[(0x23, a)]))
    return fault


# Server redirection (5.0 4.11): DISCONNECT or CONNACK 0x9C (use another
# server) and 0x9D (server moved) may carry a Server Reference, which the
# client must show.
REDIRECTS = (0x9C, 0x9D)
SERVER_REFERENCE = "elsewhere.example:1884"


def redirect(code):
    """The Server Reference property that goes with `code`, if any."""
    return [(0x1C, SERVER_REFERENCE)] if code in REDIRECTS else []


async def alias_set_then_used(ctx, conn):
    """5.0, Topic Alias Maximum 4: a PUBLISH sets alias 2, the next one
    uses it with an empty topic: both delivered on the topic."""
    if not await conn.accept():
        return
    if conn.connect.prop(0x22, 0) < 2:
        ctx.fail("CONNECT announces Topic Alias Maximum %d, asked for 4" % conn.connect.prop(0x22, 0))
        return
    await conn.send(pub(conn, "hostile/aliased", b"set", properties=[(0x23, 2)]))
    await conn.send(pub(conn, b"", b"used", properties=[(0x23, 2)]))
    await ctx.printed(b"used", topic="hostile/aliased", conn=conn)
    ctx.check(ctx.count_topic("hostile/aliased") == 2, "%d of 2 messages on the aliased topic"
              % ctx.count_topic("hostile/aliased"))


def disconnect_with(code):
    async def fault(ctx, conn):
        if await conn.accept():
            await conn.send(B.disconnect(True, code, [(0x1F, "hostile says 0x%02x" % code)]
                                         + redirect(code)))
    return fault


async def disconnect_311(ctx, conn):
    if await conn.accept():
        await conn.send(B.disconnect(False))


def refuse(code):
    async def fault(ctx, conn):
        if await conn.expect("CONNECT"):
            await conn.send(B.connack(conn.v5, code, properties=redirect(code) if conn.v5 else ()))
            conn.close()  # MQTT-3.2.2-7 (5.0), 3.2.2.3 (3.1.1).
    return fault


async def v311_broker_refuses_v5(ctx, conn):
    """A 3.1.1-only broker's answer to a 5.0 CONNECT: a 3.1.1 CONNACK with
    return code 1 (unacceptable protocol version), then close (3.1.1
    3.1.2.2)."""
    if await conn.expect("CONNECT"):
        await conn.send(b"\x20\x02\x00\x01")
        conn.close()


def bad_topic(name, doc, topic, reason, text, spec, **kw):
    """A scenario: a PUBLISH on `topic` after a good CONNACK and SUBACK,
    which the client must close on with the 5.0 `reason`."""
    return Scenario(name, doc, after_accept(lambda c: pub(c, topic)), reason=reason, text=text,
                    spec=spec, **kw)


# ---- the table -----------------------------------------------------------

PROTOCOL_TEXT = r"(?i)protocol|malformed|must not|not allowed|invalid|unexpected"
TIMEOUT_TEXT_PING = r"(?i)PINGRESP|PingResp|keep.?alive"
CLOSED_TEXT = r"(?i)closed|EOF|reset"

SCENARIOS = [
    # -- framing
    Scenario("rl-5-bytes", "a PUBLISH whose remaining length takes 5 bytes",
             after_accept(lambda c: b"\x30\xff\xff\xff\xff\x7f" + b"\x00" * 16),
             reason={0x81}, text=r"(?i)malformed|variable byte|remaining length",
             spec="3.1.1 2.2.3 (at most 4 bytes); 5.0 1.5.5, 4.13.1: Malformed Packet"),
    Scenario("type-0", "packet type 0 (reserved, forbidden)",
             after_accept(lambda c: b"\x00\x00"), reason={0x81},
             text=r"(?i)packet type|reserved|malformed",
             spec="3.1.1 2.2.1 and 5.0 2.1.2: type 0 is forbidden"),
    Scenario("type-15", "packet type 15: reserved in 3.1.1; in 5.0 AUTH, which a server must "
             "not send when CONNECT named no authentication method",
             after_accept(lambda c: b"\xf0\x00"), reason={0x82},
             text={4: r"(?i)packet type|reserved|malformed", 5: r"(?i)AUTH|0x0f|type 15"},
             spec="3.1.1 2.2.1; 5.0 4.12 [MQTT-4.12.0-6]: Protocol Error"),
    Scenario("truncated-then-silence", "20 bytes of a 200-byte PUBLISH, then silence (no "
             "PINGRESP either)", truncated_then_silence, reason=ERROR_OR_NONE,
             text=TIMEOUT_TEXT_PING, args={"-k": 2},
             spec="3.1.1 3.1.2.10, 5.0 3.1.2.10: no PINGRESP in a reasonable time: close"),
    Scenario("publish-before-connack", "a PUBLISH before the CONNACK",
             publish_before_connack, reason={0x82},
             text=r"(?i)CONNACK|must not send|unexpected",
             spec="3.1.1 [MQTT-3.2.0-1], 5.0 [MQTT-3.2.0-1]: CONNACK comes first"),
    Scenario("second-connack", "a second CONNACK on an established connection",
             second_connack, reason={0x82}, text=r"(?i)CONNACK|must not send|unexpected|second",
             spec="5.0 [MQTT-3.2.0-2]: one CONNACK per connection: Protocol Error"),
    Scenario("pingreq-from-server", "a PINGREQ from the broker",
             after_accept(lambda c: b"\xc0\x00"), reason={0x82},
             text=r"(?i)PINGREQ|0x0c|must not send|unexpected",
             spec="3.1.1 2.2.1, 5.0 2.1.2: PINGREQ goes client to server only"),
    # -- CONNACK
    Scenario("connack-reserved-flags", "CONNACK acknowledge flags with reserved bit 1 set",
             instead_of_connack(lambda c: B.connack(c.v5, flags=0x02)), reason={0x81},
             text=r"(?i)flag", spec="3.1.1 3.2.2.1, 5.0 [MQTT-3.2.2-1]: bits 7-1 reserved, 0"),
    Scenario("connack-header-flags", "CONNACK with fixed header flags 0xF (reserved, 0)",
             instead_of_connack(lambda c: B.connack(c.v5, first=0x2F)), reason={0x81},
             text=r"(?i)flag",
             spec="3.1.1 [MQTT-2.2.2-2]: close; 5.0 2.1.3: invalid flags: Malformed Packet"),
    Scenario("connack-session-present", "CONNACK session present = 1 to a clean start",
             instead_of_connack(lambda c: B.connack(c.v5, session_present=True)),
             reason={0x82}, text=r"(?i)session.?present",
             spec="3.1.1 3.2.2.2, 5.0 [MQTT-3.2.2-4]: the client MUST close"),
    Scenario("connack-invalid-code", "CONNACK with code 6 (no such code in either version)",
             instead_of_connack(lambda c: B.connack(c.v5, 6)), reason={0x81, 0x82},
             text=r"(?i)reason code|return code|0x06|\b6\b",
             spec="3.1.1 3.2.2.3 (6-255 reserved), 5.0 [MQTT-3.2.2-8]"),
    # -- PUBLISH
    Scenario("qos-3", "a PUBLISH with both QoS bits set",
             after_accept(lambda c: pub(c, flags=0x06, pid=1)), reason={0x81},
             text=r"(?i)QoS",
             spec="3.1.1 [MQTT-3.3.1-4]: close; 5.0 3.3.1.2: Malformed Packet"),
    bad_topic("topic-bad-utf8", "a topic with ill-formed UTF-8 (0xC3 0x28)",
              b"hostile/\xc3\x28", {0x81}, r"(?i)UTF-?8",
              "3.1.1 [MQTT-1.5.3-1]: close; 5.0 1.5.4 [MQTT-1.5.4-1]: Malformed Packet"),
    bad_topic("topic-surrogate", "a topic holding an encoded surrogate (U+D800)",
              b"hostile/\xed\xa0\x80", {0x81}, r"(?i)UTF-?8",
              "3.1.1 [MQTT-1.5.3-1], 5.0 [MQTT-1.5.4-1]: no code points D800-DFFF"),
    bad_topic("topic-nul", "a topic holding U+0000", b"hostile/a\x00b", {0x81},
              r"(?i)U\+0000|NUL|null",
              "3.1.1 [MQTT-1.5.3-2]: close; 5.0 [MQTT-1.5.4-2]: Malformed Packet"),
    bad_topic("topic-wildcard", "a topic name with wildcards (hostile/+/#)", b"hostile/+/#",
              {0x81, 0x82}, r"(?i)wildcard|topic",
              "3.1.1, 5.0 [MQTT-3.3.2-2]: no wildcards in a Topic Name"),
    bad_topic("topic-empty", "an empty topic name (5.0: and no Topic Alias)", b"", {0x82},
              r"(?i)topic", "3.1.1 [MQTT-4.7.3-1]: at least one character; 5.0 3.3.2.1: "
              "zero length without a Topic Alias is a Protocol Error", defect="7"),
    Scenario("topic-alias-above-max", "5.0: a Topic Alias above the client's Topic Alias "
             "Maximum", alias(None), versions=(5,), reason={0x94}, text=r"(?i)alias",
             spec="5.0 [MQTT-3.1.2-26], 3.3.2.3.4: DISCONNECT 0x94 Topic Alias invalid"),
    Scenario("topic-alias-above-max-4", "5.0: Topic Alias 5 to a client whose Topic Alias "
             "Maximum is 4", alias(None), versions=(5,), reason={0x94}, text=r"(?i)alias",
             args={"-A": 4},
             spec="5.0 [MQTT-3.1.2-26], 3.3.4: DISCONNECT 0x94 Topic Alias invalid"),
    Scenario("topic-alias-unknown-empty", "5.0: an empty topic with Topic Alias 3, never "
             "set on this connection", after_accept(lambda c: pub(c, b"", properties=[(0x23, 3)])),
             versions=(5,), reason={0x82}, text=r"(?i)alias", args={"-A": 4},
             spec="5.0 3.3.4: no mapping for the alias and a zero length Topic Name: "
                  "Protocol Error (0x82)"),
    Scenario("topic-alias-set-then-used", "5.0: a PUBLISH sets Topic Alias 2, the next "
             "uses it with an empty topic", alias_set_then_used, kind="keep", versions=(5,),
             args={"-A": 4},
             spec="5.0 3.3.2.3.4: the receiver uses the alias's topic"),
    Scenario("topic-alias-zero", "5.0: a Topic Alias of 0", alias(0), versions=(5,),
             reason={0x94}, text=r"(?i)alias",
             spec="5.0 [MQTT-3.3.2-8], 3.3.2.3.4: DISCONNECT 0x94 Topic Alias invalid"),
    Scenario("prop-duplicate-publish", "5.0: a PUBLISH with Payload Format Indicator twice",
             after_accept(lambda c: pub(c, properties=[(0x01, 0), (0x01, 0)])),
             versions=(5,), reason={0x82}, text=r"(?i)more than once|duplicate|twice",
             spec="5.0 3.3.2.3.2: more than once is a Protocol Error"),
    Scenario("prop-unknown-publish", "5.0: a PUBLISH with property identifier 0x7F",
             after_accept(lambda c: pub(c, properties=[(0x7F, b"\x00")])),
             versions=(5,), reason={0x81}, text=r"(?i)propert",
             spec="5.0 2.2.2.2: an invalid identifier is a Malformed Packet"),
    Scenario("prop-not-allowed-publish", "5.0: a PUBLISH with a Session Expiry Interval",
             after_accept(lambda c: pub(c, properties=[(0x11, 5)])),
             versions=(5,), reason={0x81}, text=r"(?i)propert",
             spec="5.0 2.2.2.2: an identifier not valid for the packet: Malformed Packet"),
    Scenario("prop-user-repeated", "5.0: a PUBLISH with the same User Property twice "
             "(allowed)",
             after_accept(lambda c: pub(c, payload=b"user-props",
                                        properties=[(0x26, ("k", "v")), (0x26, ("k", "v"))])),
             kind="keep", versions=(5,),
             spec="5.0 3.3.2.3.7: a User Property may appear more than once, same name too"),
    Scenario("prop-duplicate-connack", "5.0: CONNACK with Receive Maximum twice",
             instead_of_connack(lambda c: B.connack(True, properties=[(0x21, 10), (0x21, 10)])),
             versions=(5,), reason={0x82}, text=r"(?i)more than once|duplicate|twice",
             spec="5.0 3.2.2.3.3: more than once is a Protocol Error"),
    Scenario("prop-unknown-connack", "5.0: CONNACK with property identifier 0x7F",
             instead_of_connack(lambda c: B.connack(True, properties=[(0x7F, b"\x00")])),
             versions=(5,), reason={0x81}, text=r"(?i)propert",
             spec="5.0 2.2.2.2: an invalid identifier is a Malformed Packet"),
    Scenario("connack-receive-maximum-0", "5.0: CONNACK with Receive Maximum 0",
             instead_of_connack(lambda c: B.connack(True, properties=[(0x21, 0)])),
             versions=(5,), reason={0x82}, text=r"(?i)receive maximum|propert",
             spec="5.0 3.2.2.3.3: Receive Maximum 0 is a Protocol Error"),
    # -- SUBACK and acknowledgements
    Scenario("suback-more-codes", "SUBACK with two codes for one filter",
             after_accept(lambda c: b"", suback_codes=[2, 2]), reason={0x82},
             text=r"(?i)SUBACK|return codes|reason codes|filters", defect="7",
             spec="3.1.1 [MQTT-3.8.4-5], 5.0 [MQTT-3.8.4-6]: one code per filter"),
    Scenario("suback-fewer-codes", "SUBACK with no code for one filter",
             after_accept(lambda c: b"", suback_codes=[]), reason={0x81, 0x82},
             text=r"(?i)SUBACK|return code|reason code|filter|malformed|past the end",
             defect="7",
             spec="3.1.1 [MQTT-3.8.4-5], 5.0 [MQTT-3.8.4-6]: one code per filter"),
    Scenario("suback-invalid-code", "SUBACK with code 0x03",
             after_accept(lambda c: b"", suback_codes=[3]), reason={0x81, 0x82},
             text=r"(?i)SUBACK|return code|reason code",
             spec="3.1.1 [MQTT-3.9.3-2]: reserved; 5.0 3.9.3: not a SUBACK reason code"),
    Scenario("puback-unknown-id", "a PUBACK for an id the client never used",
             lambda ctx, c: unknown_id_ack(ctx, c, B.PUBACK), kind="keep",
             spec="nothing to acknowledge: be liberal, keep the connection"),
    Scenario("pubrec-unknown-id", "a PUBREC for an id the client never used",
             lambda ctx, c: unknown_id_ack(ctx, c, B.PUBREC, "PUBREL", reasons5={0x92}),
             kind="keep", defect="7",
             spec="5.0 3.6.2.1: PUBREL 0x92 Packet Identifier not found"),
    Scenario("pubcomp-unknown-id", "a PUBCOMP for an id the client never used",
             lambda ctx, c: unknown_id_ack(ctx, c, B.PUBCOMP), kind="keep",
             spec="nothing to complete: be liberal, keep the connection"),
    Scenario("pubrel-unknown-id", "a PUBREL for an id the client never received",
             lambda ctx, c: unknown_id_ack(ctx, c, B.PUBREL, "PUBCOMP", {0}, {0x92}),
             kind="keep",
             spec="3.1.1 [MQTT-4.3.3-?] PUBCOMP for every PUBREL; 5.0 3.7.2.1: PUBCOMP "
                  "0x92 Packet Identifier not found"),
    Scenario("suback-unknown-id", "a SUBACK for an id the client never used",
             lambda ctx, c: unknown_id_ack(ctx, c, B.SUBACK), kind="keep",
             spec="nothing to acknowledge: be liberal, keep the connection"),
    Scenario("unsuback-unknown-id", "an UNSUBACK for an id the client never used",
             lambda ctx, c: unknown_id_ack(ctx, c, B.UNSUBACK), kind="keep",
             spec="nothing to acknowledge: be liberal, keep the connection"),
    # -- QoS flows
    Scenario("qos2-exactly-once", "QoS 2 id 7 twice (DUP) before PUBREL, then id 7 as a new "
             "message", qos2_exactly_once, kind="keep",
             spec="3.1.1 4.3.3, 5.0 4.3.3: once per PUBLISH until PUBREL; a new one after"),
    Scenario("qos1-burst", "100 QoS 1 PUBLISHes at once", qos1_burst, kind="keep",
             spec="QoS 1: acknowledge each, deliver each"),
    Scenario("qos2-over-receive-maximum", "the client's Receive Maximum + 24 unreleased QoS "
             "2 PUBLISHes (3.1.1: 40)", qos2_burst(extra=24), kind="keep",
             text={5: r"(?i)receive maximum|excess"}, defect="1",
             spec="5.0 3.3.4: the broker broke Receive Maximum; be liberal while the client "
                  "can track the flow, and report the excess (issue 12 defect 1)"),
    Scenario("qos2-beyond-capacity", "150 unreleased QoS 2 PUBLISHes (mosquitto 2.0.11 sent "
             "84-153)", qos2_burst(total=150, may_close=True), kind="keep",
             forbid=r"(?i)receive the rest", defect="1",
             spec="every PUBREC'd message delivered once; a 0x93 close never claims a "
                  "resend that a clean start cannot bring (issue 12 defect 1)"),
    # -- size and pace
    Scenario("publish-10mb-fast", "a 10 MB PUBLISH at once", big_publish(False), kind="keep",
             text=r"(?i)too large|larger than|skipp", defect="5", heavy=True,
             spec="5.0 3.1.2.11.4: above the announced Maximum Packet Size: DISCONNECT 0x95; "
                  "3.1.1: skip with a clear line (issue 12 defect 5)"),
    # A long keep alive and response time: the PINGRESP waits behind the
    # 10 MB, and how soon a client gives up on it is not the point here.
    Scenario("publish-10mb-slow", "a 10 MB PUBLISH in 128 KiB pieces every 20 ms",
             big_publish(True), kind="keep", text=r"(?i)too large|larger than|skipp",
             args={"-k": 20, "-W": 10000}, defect="5", heavy=True,
             spec="as publish-10mb-fast"),
    # A long keep alive: no PINGRESP is due while the bytes trickle in (a
    # loaded machine stretches 5 ms sleeps) -- that is pingresp-behind-backlog.
    Scenario("byte-trickle", "CONNACK, SUBACK and a PUBLISH one byte at a time",
             byte_trickle, kind="keep", args={"-k": 20, "-W": 10000},
             spec="TCP is a byte stream: wait, do not spin"),
    Scenario("flood-100k", "100,000 QoS 0 PUBLISHes as fast as TCP takes them", flood,
             kind="keep", heavy=True, limit=180.0,
             spec="QoS 0 on a working TCP connection: nothing lost"),
    # -- keep alive and connection ends
    Scenario("no-pingresp", "never a PINGRESP", no_pingresp, reason=ERROR_OR_NONE,
             text=TIMEOUT_TEXT_PING, args={"-k": 2},
             spec="3.1.1 3.1.2.10, 5.0 3.1.2.10: SHOULD close in a reasonable time"),
    Scenario("pingresp-behind-backlog", "the PINGRESP comes after 3 s of messages (a "
             "QoS 0 PUBLISH every 20 ms): a busy slow link", pingresp_behind_backlog,
             kind="keep", args={"-k": 2},
             spec="3.1.1, 5.0 3.1.2.10 ('a reasonable amount of time'): the broker is "
                  "sending; mqtt_as 0.8.3 counts any packet as a sign of life"),
    Scenario("pingresp-never-while-sending", "never a PINGRESP, but a QoS 0 PUBLISH every "
             "20 ms: the broker sends and does not listen", pingresp_never_while_sending,
             reason=ERROR_OR_NONE, text=TIMEOUT_TEXT_PING, args={"-k": 2},
             spec="3.1.1, 5.0 3.1.2.10: SHOULD close in a reasonable time; the core waits "
                  "response time + 1.5 keep alive (a broker's own limit, [MQTT-3.1.2-24])"),
    Scenario("no-connack", "CONNECT never answered", no_connack, reason=ERROR_OR_NONE,
             text=r"(?i)CONNACK", spec="3.1.1 3.1.4, 5.0 3.1.4: wait a reasonable time, close"),
    Scenario("close-before-connack", "close right after CONNECT", close_before_connack,
             reason=NONE, text=CLOSED_TEXT, spec="the broker ended it: say so"),
    Scenario("close-after-connack", "CONNACK, then close, on every connection",
             close_after_connack, kind="repeat", reason=NONE, text=CLOSED_TEXT,
             backoff="grow", defect="2",
             spec="issue 12 defect 2: a connection that did not stay up must not reset "
                  "the backoff"),
    Scenario("disconnect-v311", "3.1.1: a DISCONNECT from the broker (client to server "
             "only in 3.1.1)", disconnect_311, versions=(4,),
             text=r"(?i)DISCONNECT|0x0e|must not send|unexpected",
             forbid=r"(?i)success|normal disconnection", defect="7",
             spec="3.1.1 3.14: DISCONNECT is sent by the client only"),
    Scenario("disconnect-v311-repeat", "3.1.1: CONNACK, then DISCONNECT, on every "
             "connection", disconnect_311, kind="repeat", versions=(4,), reason=NONE,
             text=r"(?i)DISCONNECT|0x0e|must not send|unexpected",
             forbid=r"(?i)success|normal disconnection", backoff="grow",
             spec="read as a close by the broker (an outage): a connection that did not "
                  "stay up must not reset the backoff (issue 12 defect 2)"),
    Scenario("v5-to-311-broker", "5.0 CONNECT answered by a 3.1.1-only broker (CONNACK "
             "return code 1)", v311_broker_refuses_v5, versions=(5,),
             text=r"(?i)(not|n't) support (MQTT )?5|protocol version",
             defect="7",
             spec="3.1.1 3.1.2.2: return code 1 for an unsupported protocol level"),
]

# Broker DISCONNECT with each reason a server may send (5.0 3.14.2.1): the
# client names the reason and shows the Reason String (3.14.2.2.3), sends
# no DISCONNECT of its own, closes and comes back.
for _code in SERVER_DISCONNECT:
    SCENARIOS.append(Scenario(
        "disconnect-0x%02x" % _code, "5.0: DISCONNECT %s with a Reason String"
        % NAMES5[_code].replace("[sz]", "z"), disconnect_with(_code), versions=(5,),
        reason=NONE, text=r"(?is)(?=.*%s)(?=.*hostile says 0x%02x)%s" % (
            words(NAMES5[_code]), _code,
            r"(?=.*%s)" % re.escape(SERVER_REFERENCE) if _code in REDIRECTS else ""),
        defect="7", spec="5.0 3.14.2.1 reason code, 3.14.2.2.3 Reason String"
        + (", 3.14.2.2.5 Server Reference (4.11)" if _code in REDIRECTS else "")))

# The same, on every connection: the waits must grow (issue 12 defect 2).
for _code in (0x89, 0x8E, 0x97):
    SCENARIOS.append(Scenario(
        "disconnect-repeat-0x%02x" % _code, "5.0: CONNACK, then DISCONNECT %s, on every "
        "connection" % NAMES5[_code], disconnect_with(_code), kind="repeat", versions=(5,),
        reason=NONE, text="(?i)" + words(NAMES5[_code]), backoff="grow", defect="2",
        spec="issue 12 defect 2: back off after broker DISCONNECTs"))

# CONNACK refusals after a good first session (issue 12 defect 3).
for _code, _name in sorted(NAMES311.items()):
    SCENARIOS.append(Scenario(
        "refuse-311-%d" % _code, "3.1.1: CONNACK return code %d (%s) after a good session"
        % (_code, _name.replace("[sz]", "z")), refuse(_code), kind="repeat", versions=(4,),
        reason=NONE,
        text=r"(?i)refused.*(%s|\b%d\b)" % (words(_name), _code),
        backoff="permanent" if _code in PERMANENT311 else "grow",
        defect="3" if _code in PERMANENT311 else "",
        spec="3.1.1 3.2.2.3 Table 3.1"))
for _code in CONNACK_REFUSALS5:
    SCENARIOS.append(Scenario(
        "refuse-5-0x%02x" % _code, "5.0: CONNACK %s after a good session"
        % NAMES5[_code].replace("[sz]", "z"), refuse(_code), kind="repeat", versions=(5,),
        reason=NONE,
        text=r"(?i)refused.*(%s|0x%02x)%s" % (
            words(NAMES5[_code]), _code,
            ".*" + re.escape(SERVER_REFERENCE) if _code in REDIRECTS else ""),
        backoff=("permanent" if _code in PERMANENT5 else
                 "grow" if _code in TRANSIENT5 else "either"),
        defect="3" if _code in PERMANENT5 else "",
        spec="5.0 3.2.2.2 Table 3-1"))

del _code, _name


def by_name(name):
    for s in SCENARIOS:
        if s.name == name:
            return s
    raise KeyError("no scenario %r (known: %s)" % (name, ", ".join(s.name for s in SCENARIOS)))


def check_table():
    names = [s.name for s in SCENARIOS]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, "scenario names used twice: %s" % dup
    for s in SCENARIOS:
        assert s.kind in ("close", "keep", "repeat"), s.name
        assert s.kind != "repeat" or s.backoff, s.name
        for v in s.versions:
            t = s.text_for(v)
            if t:
                re.compile(t)


class Standalone:
    """The context of broker.py run by hand: checks are printed, and those
    on the client's output (which this broker does not see) say 0."""

    keepalive = 60
    response_s = 10

    def __init__(self, version):
        self.version = version

    def fail(self, msg):
        print("check (the client's output unseen here):", msg, flush=True)

    def check(self, cond, msg):
        if not cond:
            self.fail(msg)

    def note(self, msg):
        print(msg, flush=True)

    def expect(self, **kw):
        print("expectations now:", kw, flush=True)

    async def idle(self, label, secs=0.5):
        await asyncio.sleep(secs)

    async def idle_during(self, coro, label):
        return await coro

    async def printed(self, payload, timeout=10, topic=None, conn=None):
        return True

    def count(self, payload):
        return 0

    def count_topic(self, topic):
        return 0

    def on_packet(self, conn, p):
        print("conn %d <- %r" % (conn.index, p), flush=True)
