"""The two sides of every interop test: one of our clients (a driver
process speaking the command language of README.md) and paho-mqtt, the
independent second client that observes, publishes, and proves what a
broker does when it breaks the spec.

Everything waits for a condition with a generous limit (the machine may be
loaded); nothing sleeps a fixed time to let something happen.
"""

import binascii
import itertools
import os
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

WAIT = float(os.environ.get("MQTTAS_INTEROP_WAIT", "15"))
_ids = itertools.count(1)


def unique(prefix):
    return "%s-%d-%d" % (prefix, os.getpid(), next(_ids))


class Event:
    """One line of a driver's output: `kind key=value ...` (`up` may
    repeat; `why`/`what` take the rest of the line)."""

    def __init__(self, line):
        self.line = line
        head, _, rest = line.partition(" ")
        self.kind = head
        self.f = {}
        self.up = []
        if head in ("lost", "error", "event"):
            k, _, v = rest.partition("=")
            self.f[k] = v
            return
        for w in rest.split(" "):
            k, eq, v = w.partition("=")
            if not eq:
                continue
            if k == "up":
                self.up.append(tuple(v.split(":", 1)))
            else:
                self.f[k] = v

    def __getitem__(self, k):
        return self.f[k]

    def get(self, k, default=None):
        return self.f.get(k, default)

    @property
    def payload(self):
        return binascii.unhexlify(self.f.get("payload", ""))

    @property
    def qos(self):
        q = self.f.get("qos", "-")
        return None if q == "-" else int(q)

    def __repr__(self):
        return "<%s>" % self.line


class Client:
    """One of our clients in a driver process."""

    def __init__(self, kind, command, log_dir, name):
        self.kind = kind
        self.name = name
        self.events = []
        self.cond = threading.Condition()
        self.cursor = 0
        self.transcript = open(os.path.join(log_dir, "%s.%s.log" % (name, kind)), "w")
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.transcript, text=True, bufsize=1)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            self.transcript.write("< %s\n" % line)
            self.transcript.flush()
            with self.cond:
                self.events.append(Event(line))
                self.cond.notify_all()
        with self.cond:
            self.events.append(Event("exited"))
            self.cond.notify_all()

    def send(self, line):
        self.transcript.write("> %s\n" % line)
        self.transcript.flush()
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def lines(self):
        with self.cond:
            return [e.line for e in self.events]

    def wait(self, match, timeout=WAIT, since=None):
        """The first event from `since` (default: the cursor) for which
        match(event) is true; the cursor moves past it."""
        start = self.cursor if since is None else since
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.events)):
                    if match(self.events[i]):
                        self.cursor = max(self.cursor, i + 1)
                        return self.events[i]
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("%s client: no such event within %.0f s; it said:\n  %s" % (
                        self.kind, timeout, "\n  ".join(e.line for e in self.events[-40:])))
                self.cond.wait(left)

    def wait_kind(self, *kinds, timeout=WAIT):
        return self.wait(lambda e: e.kind in kinds, timeout)

    def messages(self, topic=None):
        with self.cond:
            return [e for e in self.events if e.kind == "msg" and (topic is None or e["topic"] == topic)]

    def wait_messages(self, topic, n, timeout=WAIT):
        end = time.monotonic() + timeout
        while True:
            got = self.messages(topic)
            if len(got) >= n or time.monotonic() > end:
                return got
            with self.cond:
                self.cond.wait(0.2)

    # ---- commands ----

    def sync(self):
        """Everything the client had to say before now has been read: the
        cursor moves past it (`ping` is answered in order)."""
        self.send("ping")
        return self.wait_kind("pong")

    def connect(self, port, version, client_id=None, clean=True, expect="connected", **kw):
        self.client_id = client_id or unique(self.name)
        args = ["connect", "port=%d" % port, "v=%d" % version, "id=%s" % self.client_id,
                "clean=%d" % (1 if clean else 0)]
        for k, v in kw.items():
            if k == "will_payload":
                v = binascii.hexlify(v).decode()
            args.append("%s=%s" % (k, v))
        self.sync()
        self.send(" ".join(args))
        e = self.wait_kind("connected", "lost", "error")
        if expect and e.kind != expect:
            raise AssertionError("%s client: connect gave %r" % (self.kind, e.line))
        return e

    def subscribe(self, topic, qos):
        self.send("sub topic=%s qos=%d" % (topic, qos))
        e = self.wait_kind("suback", "error", "lost")
        assert e.kind == "suback", "%s client: subscribe to %s gave %r" % (self.kind, topic, e.line)
        return [int(c) for c in e["codes"].split(",") if c]

    def unsubscribe(self, topic):
        self.send("unsub topic=%s" % topic)
        e = self.wait_kind("unsuback", "error", "lost")
        assert e.kind == "unsuback", "%s client: unsubscribe from %s gave %r" % (self.kind, topic, e.line)
        return e

    def publish(self, topic, payload, qos=0, retain=False, wait=True, **props):
        args = ["pub", "topic=%s" % topic, "payload=%s" % binascii.hexlify(payload).decode(),
                "qos=%d" % qos, "retain=%d" % (1 if retain else 0)]
        for k, v in props.items():
            if k == "up":
                args += ["up=%s:%s" % kv for kv in v]
            else:
                args.append("%s=%s" % (k, v))
        self.send(" ".join(args))
        if not wait:
            return None
        # C and Rust say `queued` at once and `published` on completion;
        # mqtt_as says `published` (QoS 1/2) or `queued` (QoS 0) when
        # publish() returns.
        done = ("published",) if qos else ("queued",)
        e = self.wait_kind(*(done + ("error", "lost")))
        if e.kind == "published":
            assert int(e["reason"]) < 0x80, "%s client: publication refused: %r" % (self.kind, e.line)
        return e

    def disconnect(self):
        self.send("disconnect")
        return self.wait_kind("disconnected", "lost")

    def drop(self):
        self.send("drop")
        return self.wait_kind("dropped")

    def close(self):
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.stdin.close()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired, ValueError):
                self.proc.kill()
                self.proc.wait(5)
        self.transcript.close()


class Paho:
    """paho-mqtt 2.2 as the second client (its network loop in a thread)."""

    def __init__(self, port, version, client_id=None, clean=True, session_expiry=None, alias_max=None,
                 connect=True):
        self.version = version
        self.client_id = client_id or unique("paho")
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kw = {} if version == 5 else {"clean_session": clean}
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id, protocol=proto, **kw)
        self.cond = threading.Condition()
        self.msgs = []
        self.acks = {}
        self.connack = None
        self.disconnects = []
        self.c.on_message = self._on_message
        self.c.on_connect = self._on_connect
        self.c.on_subscribe = self._on_ack
        self.c.on_unsubscribe = self._on_ack
        self.c.on_disconnect = self._on_disconnect
        self.port = port
        self.clean = clean
        self.session_expiry = session_expiry
        self.alias_max = alias_max
        if connect:
            self.connect()

    def _on_message(self, c, u, m):
        with self.cond:
            self.msgs.append(m)
            self.cond.notify_all()

    def _on_connect(self, c, u, flags, rc, props):
        with self.cond:
            self.connack = (flags, rc, props)
            self.cond.notify_all()

    def _on_ack(self, c, u, mid, codes, props):
        with self.cond:
            self.acks[mid] = codes
            self.cond.notify_all()

    def _on_disconnect(self, c, u, flags, rc, props):
        with self.cond:
            self.disconnects.append(rc)
            self.cond.notify_all()

    def _wait(self, test, what, timeout=WAIT):
        end = time.monotonic() + timeout
        with self.cond:
            while not test():
                left = end - time.monotonic()
                if left <= 0:
                    raise AssertionError("paho: %s within %.0f s" % (what, timeout))
                self.cond.wait(left)

    def connect(self, wait=True):
        kw = {}
        if self.version == 5:
            p = Properties(PacketTypes.CONNECT)
            if self.session_expiry:
                p.SessionExpiryInterval = self.session_expiry
            if self.alias_max:
                p.TopicAliasMaximum = self.alias_max
            kw = {"clean_start": self.clean, "properties": p}
        self.connack = None
        self.c.connect("127.0.0.1", self.port, 30, **kw)
        self.c.loop_start()
        if wait:
            self._wait(lambda: self.connack is not None, "no CONNACK")
        return self.connack

    def subscribe(self, topic, qos):
        rc, mid = self.c.subscribe(topic, qos)
        assert rc == 0, "paho subscribe: %s" % rc
        self._wait(lambda: mid in self.acks, "no SUBACK for %s" % topic)
        return self.acks[mid]

    def unsubscribe(self, topic):
        rc, mid = self.c.unsubscribe(topic)
        self._wait(lambda: mid in self.acks, "no UNSUBACK for %s" % topic)

    def publish(self, topic, payload, qos=0, retain=False, user=(), expiry=None):
        props = None
        if self.version == 5 and (user or expiry):
            props = Properties(PacketTypes.PUBLISH)
            if user:
                props.UserProperty = list(user)
            if expiry:
                props.MessageExpiryInterval = expiry
        info = self.c.publish(topic, payload, qos, retain, props)
        info.wait_for_publish(WAIT)
        assert info.is_published(), "paho: publication to %s not acknowledged" % topic

    def messages(self, topic=None):
        with self.cond:
            return [m for m in self.msgs if topic is None or m.topic == topic]

    def wait_messages(self, topic, n, timeout=WAIT):
        """At least n messages on topic (None: any), or what came within
        the limit."""
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.messages(topic)) < n:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self.cond.wait(left)
            return self.messages(topic)

    def close(self):
        try:
            self.c.disconnect()
        finally:
            self.c.loop_stop()


def user_properties(m):
    """The user properties of a paho message, as a list of pairs."""
    p = getattr(m, "properties", None)
    return list(getattr(p, "UserProperty", []) or []) if p is not None else []
