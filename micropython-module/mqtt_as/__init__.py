# mqtt_as: a resilient asynchronous MQTT client for MicroPython and CPython,
# a drop-in for Peter Hinch's mqtt_as 0.8.3 over the mqttas Rust core.
#
#     from mqtt_as import MQTTClient, config
#
# The protocol lives in the core (`_mqttas`: the firmware's C module, or the
# ctypes binding on CPython): this layer only moves bytes, time and events.
# Per connection two tasks run: a reader feeding received bytes to the
# core, and a writer draining the core's bytes to the link that, when it
# has nothing to send, sleeps until the core's next deadline (while a
# drain waits, a third task keeps that deadline). No task polls.
#
# RAM: what only some programs need (the Event interface's queue, 5.0
# property checks, TLS, the other links, mqtt_as's lock) is loaded or made
# when first used, and the client keeps only the settings it reads later.
#
# Extensions over mqtt_as 0.8.3, all keeping its programs working: qos=2;
# QoS 1/2 messages are kept across outages and resent with their packet
# ids (DUP set); clean=False sessions resume; the config dict is validated
# on construction; large messages can be received in chunks (chunk_cb);
# several user properties. See options.py for every config key.

import gc
import sys

import asyncio

from . import compat
from .compat import _mqttas, now, until, sleep_ms, wait_ms, spawn, Changes, Alarm, need
from .options import validate, defaults, eliza, _HOST  # noqa: F401  (eliza: mqtt_as's name)
from .topics import check_name, check_filter
from .links import default_link, default_client_id

VERSION = (0, 8, 3)

# mqtt_as 0.8.3 module attributes, kept for programs that read them.
_PLATFORM = sys.platform
ESP32 = _PLATFORM == "esp32"
RP2 = _PLATFORM == "rp2"
ESP8266 = _PLATFORM == "esp8266"
PYBOARD = _PLATFORM == "pyboard"
IBUFSIZE = 50  # Raising it above the receive buffer size raises rx_size.
MSG_BYTES = True  # Messages are always bytes here.

config = defaults(default_client_id())
gc.collect()

# The DNS query wan_ok() sends by default (www.google.com, A record).
_DNS_QUERY = b"$\x1a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x06google\x03com\x00\x00\x01\x00\x01"


class MQTTException(Exception):
    pass


def __getattr__(name):
    # mqtt_as 0.8.3 has MsgQueue in this module; loaded when first asked for.
    if name == "MsgQueue":
        from .msgqueue import MsgQueue

        return MsgQueue
    # MicroPython looks here first for `from mqtt_as import x`, and does
    # not go on to the submodule x when this raises: the modules imported
    # only when needed are imported here.
    if name in ("msgqueue", "properties", "validation"):
        return __import__("mqtt_as." + name, None, None, ("*",))
    raise AttributeError(name)


def check_properties(props, packet):
    # 5.0 only: properties.py is loaded by the first program that uses it.
    from .properties import check

    check(props, packet)


# The settings the client reads after construction (the others go to the
# core, the outage policy and the link when they are made).
_KEEP = ("response_time_ms", "ssl", "ssl_params", "will", "client_id", "user", "password",
         "clean_init", "clean", "dns_server", "con_props", "read_n")


def _qos(qos):
    if isinstance(qos, bool) or not isinstance(qos, int) or not 0 <= qos <= 2:
        raise ValueError("qos must be 0, 1 or 2, got %r" % (qos,))
    if qos == 2:
        need("qos2", "qos=2")
    return qos


def _payload(msg):
    if isinstance(msg, str):
        return msg.encode()
    if isinstance(msg, (bytes, bytearray, memoryview)):
        return msg
    raise TypeError("msg must be bytes, bytearray or str, not %s" % type(msg).__name__)


class MQTTClient:
    DEBUG = False
    REPUB_COUNT = 0  # PUBLISH packets sent again with their packet id (DUP).

    def __init__(self, config):
        s = validate(config)
        self.server = s["server"]
        self.port = s["port"]
        self.mqttv5 = s["mqttv5"]
        self.mqttv5_con_props = s["mqttv5_con_props"]
        self.topic_alias_maximum = 0
        self._events = s["queue_len"] > 0
        if self._events:
            self.up = asyncio.Event()
            self.down = asyncio.Event()
            from .msgqueue import MsgQueue

            self.queue = MsgQueue(s["queue_len"])
            self._cb = self.queue.put
        else:
            self._cb = s["subs_cb"]
            self._wifi_handler = s["wifi_coro"]
            self._connect_handler = s["connect_coro"]
        self._chunk_cb = s["chunk_cb"]
        self._link = s["link"] or default_link(s, self.dprint)
        self._core = self._make_core(s)
        self._policy = _mqttas.Reconnect(
            hold_down_ms=s["hold_down_ms"],
            tcp_attempts_before_bounce=s["tcp_attempts"],
            backoff_base_ms=s["backoff_base_ms"],
            backoff_cap_ms=s["backoff_cap_ms"],
            jitter_percent=s["jitter"],
            attempt_timeout_ms=s["attempt_timeout_ms"],
            stable_ms=s["stable_ms"],
            seed=s["reconnect_seed"],
        )
        self._addr = None
        self._conn = None
        self._gen = 0  # Connection generation: tasks of older ones stop.
        self._tasks = []
        self._changes = Changes()
        self._watch = Alarm()  # _keep_connected sleeps in it while connected.
        self._keeping = False  # _keep_connected runs.
        self._idle = Alarm()  # The writer sleeps in it: _pump() wakes it.
        self._acks = {}  # pid -> [reason]: QoS 1/2 publications.
        self._reqs = {}  # pid -> [codes]: subscribe/unsubscribe.
        self._connack = None
        self._writing = False
        self._disc = False
        self._isconnected = False
        self._in_connect = False
        self._has_connected = False
        self._ever_connected = False
        self._last_rx = now()
        self._s = {k: s[k] for k in _KEEP}

    # Set only now and then: as class attributes they take no room in each
    # instance's dict until then (RAM).
    _lock = None
    _lost_why = None
    _cause = 0  # What ended the last connection, for the policy (_mqttas.CAUSE_*).
    _why = None  # Its text.
    _closing = None  # (Event set when done, stream): a graceful close under way.
    _chunk = None
    _told = False  # wifi_coro was last told True (callback interface).
    _closes = 0  # Calls of disconnect() and close(): a connection under way ends.
    _handler = None  # The connect_coro task of the current connection.
    _beyond = 0  # QoS 2 messages beyond our Receive Maximum, reported so far.

    @property
    def lock(self):
        # mqtt_as has an asyncio.Lock here, for subclasses written for it:
        # made on first use (asyncio's lock module costs RAM).
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _make_core(self, s):
        v5 = s["mqttv5"]
        props = dict(s["mqttv5_con_props"] or {})
        # The core sends these four itself, from its configuration.
        expiry = props.pop(0x11, None)
        if v5 and not s["clean"] and expiry is None:
            expiry = 0xFFFFFFFF  # Keep the session across outages.
        rx_max = min(32, max(1, props.pop(0x21, 16)))
        self._rx_max = rx_max
        max_packet = props.pop(0x27, s["max_packet_size"])
        alias_max = props.pop(0x22, 0)
        s["con_props"] = props or None
        rx_size = max(s["rx_size"], IBUFSIZE)
        # Bytes asked of the stream at a time: what the core can take, at
        # most 4 KiB (each read allocates that much for a moment).
        s["read_n"] = min(rx_size, 4096)
        return _mqttas.Client(
            version=_mqttas.VERSION_5 if v5 else _mqttas.VERSION_311,
            keep_alive=s["keepalive"],
            ping_interval_ms=s["ping_interval_ms"],
            response_time_ms=s["response_time_ms"],
            max_repubs=s["max_repubs"],
            clean_init=s["clean_init"],
            clean=s["clean"],
            max_inflight=s["max_inflight"],
            receive_maximum=rx_max,
            session_expiry=expiry if v5 else None,
            maximum_packet_size=max_packet,
            topic_alias_maximum=alias_max,
            rx_size=rx_size,
            tx_size=s["tx_size"],
            store_size=s["store_size"],
            alias_size=min(16384, alias_max * 132),
            # Inbound QoS 2 messages tracked until released: at least the
            # receive maximum, more for brokers beyond it (mosquitto 2.0.11
            # sends up to 153 against 16); 2 bytes each.
            qos2_ids=max(rx_max, 256 if _HOST else 64),
            # 5.0: the topics of the application's topic aliases (publish
            # with 0x23), so that an alias can be sent on any connection.
            out_alias_size=(4096 if _HOST else 512) if v5 else 0,
        )

    def dprint(self, msg, *args):
        if self.DEBUG:
            print(msg % args)

    # ---- plumbing -------------------------------------------------------

    def _notify(self):
        # Wake every task waiting for something to change.
        self._changes.notify()

    async def _wait_change(self, ms=None):
        return await self._changes.wait(ms)

    def _pump(self):
        """Take every event from the core, then wake the writer and the
        waiting tasks."""
        core = self._core
        ev = core.poll_event()
        while ev is not None:
            self._on_event(ev)
            ev = core.poll_event()
        # The writer, asleep until the core's deadline, looks again for
        # bytes to send and for the deadline (which may have moved earlier).
        self._idle.wake()
        self._notify()

    def _on_event(self, ev):
        k = ev[0]
        if k == _mqttas.MESSAGE:
            self._deliver(ev[1], ev[2], ev[4], ev[7])
        elif k == _mqttas.PUBLISHED:
            slot = self._acks.pop(ev[1], None)
            if slot is not None:
                slot[0] = ev[2]
        elif k == _mqttas.SUBSCRIBED or k == _mqttas.UNSUBSCRIBED:
            slot = self._reqs.pop(ev[1], None)
            if slot is not None:
                slot[0] = ev[2]
        elif k == _mqttas.MSG_START:
            # [topic, total, retained, properties, offset, parts]
            self._chunk = [ev[1], ev[2], ev[4], ev[7], 0, []]
        elif k == _mqttas.MSG_CHUNK:
            self._on_chunk(ev[1])
        elif k == _mqttas.MSG_SKIPPED:
            # Above max_packet_size from a 3.1.1 broker: never assembled.
            print("mqtt_as: message on '%s' skipped: %d bytes, above max_packet_size (%d)" % (ev[1].decode(), ev[2], ev[3]))
        elif k == _mqttas.MSG_END:
            c = self._chunk
            self._chunk = None
            if c is not None and self._chunk_cb is None:
                self._deliver(c[0], b"".join(c[5]), c[2], c[3])
        elif k == _mqttas.CONNECTED:
            props = ev[2] or {}
            self.topic_alias_maximum = props.get(0x22, 0)
            if props:
                self.dprint("CONNACK properties: %s", props)
            self._connack = True
            self._cause = 0
        elif k == _mqttas.LOST:
            # The core reads the refusal or DISCONNECT code for the policy:
            # an outage, back off, permanent, or planned (it closed a working
            # link to have QoS 2 messages it could not track sent again).
            self._cause = ev[4]
            why = ev[3]
            if ev[1] == _mqttas.LOST_LINK_DOWN and self._lost_why:
                why = self._lost_why
            self._why = why
            self._on_lost(why)
        elif k == _mqttas.DISCONNECTED:
            self._disc = True
        elif k == _mqttas.AUTH:
            self.dprint("AUTH reason 0x%02x %s", ev[1], ev[2])

    def _on_chunk(self, data):
        c = self._chunk
        if c is None:
            return
        if self._chunk_cb is None:
            c[5].append(data)
            return
        try:
            self._chunk_cb(c[0], data, c[4], c[1], c[2], c[3])
        except Exception as e:
            compat.print_exc(e)
        c[4] += len(data)

    def _deliver(self, topic, msg, retained, props):
        try:
            if self.mqttv5:
                self._cb(topic, msg, retained, props)
            else:
                self._cb(topic, msg, retained)
        except Exception as e:  # A faulty callback must not stop the reader.
            compat.print_exc(e)

    def _on_lost(self, why):
        if self._in_connect and self._connack is None:
            self._connack = why
        elif self._isconnected:
            self.dprint("Connection lost: %s", why)
            self._reconnect()

    def _link_lost(self, why):
        # The stream failed or closed: tell the core (which reports the loss).
        self._lost_why = why
        if self._core.state() != _mqttas.STATE_DISCONNECTED:
            self._core.handle_link_down(now())
            self._pump()
        elif self._in_connect and self._connack is None:
            self._connack = why
            self._notify()
        else:
            # The core had ended the connection already: it reported a loss
            # (handled then), or we sent DISCONNECT (disconnect()) and the
            # broker closed first, as it may. Not an outage.
            self._notify()
        self._lost_why = None

    def _start(self, conn):
        self._gen += 1
        gen = self._gen
        self._conn = conn
        self._disc = False
        self._tasks = [
            spawn(self._reader(conn, gen)),
            spawn(self._writer(conn, gen)),
        ]

    def _teardown(self):
        # Stop this connection's tasks (never the one running this) and
        # close its stream.
        self._gen += 1
        cur = compat.current_task()
        for t in self._tasks:
            if t is not cur:
                try:
                    t.cancel()
                except RuntimeError:  # CPython: the loop has closed.
                    pass
        self._tasks = []
        # The connect_coro of this connection ends with it: the next
        # connection runs it again (its subscriptions would otherwise wait
        # for that one too, and pile up while the link flaps).
        h = self._handler
        self._handler = None
        if h is not None and h is not cur:
            try:
                h.cancel()
            except RuntimeError:
                pass
        conn = self._conn
        self._conn = None
        if conn is not None:
            queued = None
            # A write cut short leaves a packet half sent: nothing may
            # follow it, so the stream is closed straight away.
            if self._core.state() == _mqttas.STATE_DISCONNECTED and not self._writing:
                queued = self._take_queued()
            closing = None
            if queued:
                try:
                    closing = (asyncio.Event(), conn)
                    spawn(self._close_gracefully(conn, queued, closing[0]))
                except RuntimeError:  # CPython: no running loop (close()).
                    closing = None
            self._closing = closing
            if closing is None:
                # After a write cut short, what waits to be sent goes too.
                (getattr(conn, "abort", conn.close) if self._writing else conn.close)()
        self._tell_excess()
        if self._core.state() != _mqttas.STATE_DISCONNECTED:
            self._core.handle_link_down(now())
            ev = self._core.poll_event()
            while ev is not None:
                if ev[0] != _mqttas.LOST:
                    self._on_event(ev)
                ev = self._core.poll_event()
        self._chunk = None
        self._writing = False
        # A subscribe or unsubscribe in flight is asked again after the outage.
        for slot in self._reqs.values():
            slot[0] = False
        self._reqs = {}

    def _tell_excess(self):
        # A 5.0 broker beyond our Receive Maximum (mosquitto 2.0.11 is, for
        # QoS 2): the core takes the extra messages while its id table has
        # room; say so once per connection, as the C and Rust clients do.
        if not self.mqttv5:
            return
        st = self._core.qos2_stats()
        if st[1] > self._beyond:
            print("mqtt_as: the broker exceeded our Receive Maximum (%d): up to %d unreleased QoS 2 messages, %d beyond it"
                  % (self._rx_max, st[0], st[1] - self._beyond))
            self._beyond = st[1]

    def _take_queued(self):
        # What the core queued before ending a connection itself.
        core = self._core
        out = b""
        for _ in range(8):
            data = core.poll_transmit(now())
            if data is None:
                break
            out += data
        return out

    async def _close_gracefully(self, conn, data, done):
        # The core ended a working connection itself (a planned close to
        # have withheld QoS 2 messages sent again, a protocol error): what
        # it queued last still goes out, above all the PUBCOMPs of the QoS 2
        # messages it has just released and forgotten. The broker must read
        # them before the next connection takes the session over (mosquitto
        # then drops what the old one has unread) and before our close
        # resets a connection with bytes unread; otherwise it keeps those
        # messages awaiting PUBCOMP, and mosquitto 2.0 restored from its
        # persistence file sends such messages beyond its inflight limit
        # again as PUBLISHes: duplicates. As the C and Rust drivers do:
        # send, half-close, read until the broker closes, at most 150 ms.
        try:
            conn.write(data)
            await conn.drain()
            eof = getattr(conn, "write_eof", None)
            if eof is not None:
                eof()
            closed = asyncio.Event()

            async def sink():
                try:
                    while await conn.read(1024):
                        pass
                except OSError:
                    pass
                closed.set()

            t = spawn(sink())
            await wait_ms(closed, 150)
            try:
                t.cancel()
            except RuntimeError:
                pass
        except OSError:
            pass
        conn.close()
        done.set()

    async def _reader(self, conn, gen):
        why = "connection closed by the broker"
        n = self._s["read_n"]
        try:
            while gen == self._gen:
                data = await conn.read(n)
                if gen != self._gen:
                    return
                if not data:
                    break
                self._last_rx = now()
                await self._feed(data, gen)
        except OSError as e:
            why = "link failed: %s" % (e,)
        if gen == self._gen:
            self._link_lost(why)

    async def _feed(self, data, gen):
        core = self._core
        data = memoryview(data)
        stuck = 0
        while data and gen == self._gen:
            n = core.handle_input(now(), data)
            data = data[n:]
            self._pump()
            if n:
                stuck = 0
                continue
            # Nothing taken: the core waits for room to queue its
            # acknowledgements, which the writer makes when it has sent
            # (and then notifies). Stuck only if nothing at all happens
            # for a while with no write under way.
            if not await self._wait_change(self._s["response_time_ms"]) and not self._writing:
                stuck += 1
                if stuck > 3:
                    raise OSError(-1, "receive buffer stuck")

    async def _writer(self, conn, gen):
        # Sends what the core has to send. With nothing to send it keeps
        # the core's timers (_on_time).
        core = self._core
        last = None
        try:
            while gen == self._gen:
                data = core.poll_transmit(now())
                if data is not None:
                    self._writing = True
                    conn.write(data)
                    await self._drain(conn, gen)
                    self._writing = False
                    if gen == self._gen:
                        self._pump()
                    continue
                # All sent: what the core sent again so far (mqtt_as's
                # count of PUBLISH packets sent again with DUP).
                self.REPUB_COUNT = core.stats()["republished"]
                # Events first (the writer is awake, so _pump's wake-up of
                # it does nothing).
                self._pump()
                last = await self._on_time(last)
        except OSError as e:
            self._writing = False
            if gen == self._gen:
                self._link_lost("link failed while sending: %s" % (e,))

    async def _on_time(self, last, most=None):
        # Call the core's timeout when its deadline is due; else sleep until
        # the deadline (at most `most` ms) or until _pump() wakes the
        # sleeper. Returns the deadline handled, for the next call.
        core = self._core
        d = core.poll_deadline()
        t = now()
        if d is None or until(d, t) > 0:
            ms = None if d is None else until(d, t)
            if most is not None and (ms is None or ms > most):
                ms = most
            await self._idle.sleep(ms)
            return last
        core.handle_timeout(t)
        self._pump()
        if d == last:  # Due again at once: let the others run first.
            await sleep_ms(10)
        return d

    async def _drain(self, conn, gen):
        # While a drain waits (a full send buffer, a half-open link), the
        # writer cannot keep the core's timers: a watch does, and ends the
        # connection when the stream sends nothing for response_time (as
        # mqtt_as: a write that times out). The drain itself is never cut
        # short (a stream may not keep its progress then), only the
        # connection. Not needed when nothing waits to be sent.
        left = getattr(conn, "buffered", None)
        if left is not None and not left():
            await conn.drain()
            return
        on = [True]
        spawn(self._watch_drain(gen, left, on))
        try:
            await conn.drain()
        finally:
            on[0] = False
            self._idle.wake()

    async def _watch_drain(self, gen, left, on):
        rt = self._s["response_time_ms"]
        n = left() if left is not None else 0
        t0 = now()  # The last progress (unknown without `left`: the start).
        last = None
        while on[0] and gen == self._gen:
            if left is not None:
                m = left()
                if m < n:
                    n = m
                    t0 = now()
            quiet = until(now(), t0)
            if quiet >= rt:
                self._link_lost("link failed while sending: no progress for %d ms" % quiet)
                return
            # Looks at the progress four times per response_time: the
            # loss is seen at most a quarter of it late.
            last = await self._on_time(last, min(rt - quiet, rt // 4 + 1))

    async def _until(self, test, ms=None):
        # Wait until test() is true; False when `ms` passes first.
        t0 = now()
        while not test():
            if ms is None:
                await self._wait_change()
            else:
                left = ms - until(now(), t0)
                if left <= 0:
                    return False
                await self._wait_change(left)
        return True

    # ---- connection -----------------------------------------------------

    async def _session(self):
        """One connection: open the link's stream, CONNECT, await CONNACK."""
        s = self._s
        self.dprint("Connecting to broker.")
        closes = self._closes
        if self._closing is not None:
            # The last connection's graceful close ends first (at worst
            # cut short: a stream that cannot even drain is dead).
            done, old = self._closing
            self._closing = None
            if not await wait_ms(done, 1000):
                old.close()
        conn = await self._link.open(self._addr, s["ssl"], s["ssl_params"], s["response_time_ms"])
        if self._closes != closes:
            # disconnect() or close() came meanwhile: the client stays closed.
            conn.close()
            raise OSError(-1, "closed while connecting")
        self._connack = None
        self._start(conn)
        will = s["will"]
        if will is not None:
            will = (will[0], will[1], will[3], will[2], None)
        self._core.connect(
            now(),
            s["client_id"],
            user=s["user"] or None,
            password=s["password"] if s["user"] else None,
            will=will,
            properties=s["con_props"],
        )
        self._pump()
        await self._until(lambda: self._connack is not None or self._closes != closes)
        if self._closes != closes:
            raise OSError(-1, "closed while connecting")
        if self._connack is not True:
            raise OSError(-1, self._connack)
        if self._core.state() != _mqttas.STATE_CONNECTED:
            raise OSError(-1, "connection lost right after CONNACK")

    async def _end_session(self):
        # Send DISCONNECT, wait until it has left, close the stream.
        try:
            self._core.disconnect(now(), 0)
            self._pump()
            await self._until(lambda: self._disc and not self._writing, self._s["response_time_ms"])
        except OSError:
            pass
        self._teardown()

    async def connect(self, *, quick=False):
        if not self._has_connected:
            await self._link.up(quick)  # On the first call the caller handles errors.
            self._addr = self._link.resolve(self.server, self.port)
        self._in_connect = True
        try:
            s = self._s
            if not self._ever_connected and s["clean_init"] and not s["clean"]:
                # Power up: clear the old session, then keep a new one. In
                # 3.1.1 a clean session ends with its connection; in 5.0 it
                # may outlive it (session expiry), but mosquitto saves a
                # session across its own restart only once a connection
                # without clean start has used it.
                await self._session()
                self.dprint("About to reconnect with unclean session.")
                await self._end_session()
            await self._session()
        except Exception:
            self._teardown()
            self._in_connect = False
            raise
        self._ever_connected = True
        self._isconnected = True
        self._in_connect = False
        if not self._events:
            spawn(self._tell_up(self._gen))
        if not self._has_connected:
            self._has_connected = True
            self._policy.handle_connected(now())
            if self._link.poll_ms is not None:
                self._keep()
        if self._events:
            self.up.set()
        self._notify()

    async def _tell_up(self, gen):
        # wifi_coro(True) and connect_coro for connection `gen`, unless it
        # is gone already: a handler is never told "up" for a connection
        # that is down, and a connection it was not told of is not reported
        # lost either (see _reconnect). Both start in this task's first
        # step, so they start while it is up; connect_coro in a task of its
        # own (as mqtt_as), cancelled if its connection ends first.
        if gen != self._gen or not self._isconnected:
            return
        self._told = True
        self._handler = spawn(self._connect_handler(self))
        await self._wifi_handler(True)

    def _keep(self):
        # Start _keep_connected unless it runs.
        if not self._keeping:
            self._keeping = True
            spawn(self._keep_connected())

    async def _keep_connected(self):
        # Brings the connection back after every outage, as the core's
        # outage policy (_mqttas.Reconnect, the same one the C and Rust
        # clients follow) says: hold the link down, reconnect TCP first,
        # bounce the link after N failed attempts, back off with jitter and
        # a cap. Runs from an outage until connected again, and on links
        # that must be polled (poll_ms) from the first connect() until
        # disconnect(): a task less in RAM while connected elsewhere.
        try:
            r = self._policy
            up = True  # What the policy was last told: connected.
            link_up = True
            while self._has_connected:
                if self._isconnected:
                    if not up:  # The application called connect() itself.
                        r.handle_connected(now())
                        up = True
                    # Woken by an outage, a disconnect() or close(); links that
                    # report no loss themselves are asked every poll_ms, the
                    # others start this again at their next outage.
                    poll = self._link.poll_ms
                    if poll is None:
                        return
                    await self._watch.sleep(poll)
                    self.isconnected()  # Polls the link; may start an outage.
                    if self._isconnected:  # Set by a disconnect() and connect().
                        continue
                    if not self._has_connected:
                        break
                if up:
                    r.handle_lost(now(), self._cause)
                    self._next_try(self._why)
                    up = False
                a = r.poll_action(now())
                if a is None:  # Not expected: every attempt is reported at once.
                    await sleep_ms(100)
                    continue
                kind, t = a
                if kind in (_mqttas.ACTION_HOLD_DOWN, _mqttas.ACTION_BOUNCE_LINK):
                    # On the host socket link down() does nothing: a bounce
                    # only holds down.
                    self.dprint("Link %s for %dms", "held down" if kind == _mqttas.ACTION_HOLD_DOWN else "bounced",
                                until(t, now()))
                    await self._link.down()
                    link_up = False
                    await sleep_ms(max(0, until(t, now())))
                elif kind == _mqttas.ACTION_WAIT:
                    await sleep_ms(max(0, until(t, now())))
                elif kind == _mqttas.ACTION_CONNECT:
                    if not self._has_connected:
                        break
                    self._cause = 0  # A link that does not open: an outage.
                    try:
                        if not link_up:
                            await self._link.up()
                            link_up = True
                        await self.connect()
                        r.handle_connected(now())
                        up = True
                        self.dprint("Reconnect OK!")
                    except OSError as e:
                        r.handle_attempt_failed(now(), self._cause)
                        self.dprint("Error in reconnect. %s", e)
                        self._next_try(e.args[-1])
            self.dprint("Disconnected, exited _keep_connected")
        finally:
            self._keeping = False

    def _next_try(self, why):
        # When the broker asked to back off or refused for good, its answer
        # decides the wait: say so. A permanent refusal needs a person (the
        # broker's administrator), so it is printed whatever DEBUG says.
        c = self._cause
        self._cause = 0
        if c != _mqttas.CAUSE_BACK_OFF and c != _mqttas.CAUSE_PERMANENT:
            return
        t = self._policy.poll_deadline()
        msg = "%s, %s: next try in %d ms" % (why, "permanent" if c == _mqttas.CAUSE_PERMANENT else "back off",
                                            0 if t is None else max(0, until(t, now())))
        if c == _mqttas.CAUSE_PERMANENT:
            print(msg)
        else:
            self.dprint(msg)

    def _reconnect(self):
        # An outage: close the connection, signal it, let _keep_connected
        # bring it back.
        if self._isconnected:
            self._isconnected = False
            self._teardown()
            if self._events:
                self.up.clear()  # Not left set for a connection that is gone.
                self.down.set()
            elif self._told:
                self._told = False
                spawn(self._wifi_handler(False))
            self._watch.wake()
            self._keep()
            self._notify()

    async def _connection(self):
        await self._until(lambda: self._isconnected)

    async def _reconnection(self):
        # The core is not connected: wait for the next connection (while the
        # loss is being noticed, for any change first).
        if self._isconnected:
            await self._wait_change()
        await self._connection()

    def isconnected(self):
        if self._in_connect:
            return True
        if self._isconnected and not self._link.isconnected():
            self._reconnect()
        return self._isconnected

    async def disconnect(self):
        self._closes += 1
        self._has_connected = False
        if self._conn is not None and self._core.state() != _mqttas.STATE_DISCONNECTED:
            await self._end_session()
        self._isconnected = False
        self._told = False  # As mqtt_as: no wifi_coro(False) for disconnect().
        self._teardown()
        self._watch.wake()
        self._notify()

    def close(self):
        self._closes += 1
        self._has_connected = False
        self._isconnected = False
        self._told = False
        try:
            self._teardown()
            self._watch.wake()
            self._notify()
        except RuntimeError:  # CPython: the event loop has closed.
            pass
        self._link.close()

    # ---- commands -------------------------------------------------------

    async def publish(self, topic, msg, retain=False, qos=0, properties=None):
        # 5.0: an empty topic stands for the one its topic alias was set to.
        topic = check_name(topic, aliased=self.mqttv5 and isinstance(properties, dict) and 0x23 in properties)
        msg = _payload(msg)
        qos = _qos(qos)
        if self.mqttv5:
            check_properties(properties, "PUBLISH")
        else:
            properties = None  # 3.1.1 has none: ignored, as mqtt_as does.
        core = self._core
        while True:
            if qos == 0 and not self._isconnected:
                await self._connection()
            try:
                pid = core.publish(now(), topic, msg, qos, retain, properties)
                break
            except ValueError as e:
                hint = ""
                if "larger" in str(e):
                    hint = " (raise config['%s'])" % ("tx_size" if qos == 0 else "store_size")
                raise ValueError("publish to %r, %d bytes: %s%s" % (topic, len(msg), e, hint))
            except OSError as e:
                code = e.args[0]
                if code == _mqttas.ERR_NOT_CONNECTED:
                    await self._reconnection()
                elif code in (_mqttas.ERR_STORE_FULL, _mqttas.ERR_TX_FULL):
                    await self._wait_change()  # A completion or a write frees room.
                else:
                    raise
        if qos == 0:
            self._pump()
            return
        slot = [None]
        self._acks[pid] = slot
        self._pump()
        # Kept in the core's store across outages: only the acknowledgement
        # ends this wait.
        await self._until(lambda: slot[0] is not None)
        if slot[0] >= 0x80:
            raise OSError(-1, "broker refused the publication to %r: reason code 0x%02x" % (topic, slot[0]))

    async def _request(self, make, what):
        while True:
            await self._connection()
            try:
                pid = make()
            except OSError as e:
                code = e.args[0]
                if code == _mqttas.ERR_NOT_CONNECTED:
                    await self._reconnection()
                    continue
                if code in (_mqttas.ERR_TOO_MANY_PENDING, _mqttas.ERR_TX_FULL):
                    await self._wait_change()
                    continue
                raise
            slot = [None]
            self._reqs[pid] = slot
            self._pump()
            await self._until(lambda: slot[0] is not None)
            if slot[0] is not False:
                return slot[0]
            self.dprint("%s interrupted by an outage: again", what)

    async def subscribe(self, topic, qos=0, properties=None):
        topic = check_filter(topic)
        qos = _qos(qos)
        if self.mqttv5:
            check_properties(properties, "SUBSCRIBE")
        else:
            properties = None
        codes = await self._request(
            lambda: self._core.subscribe(now(), [(topic, qos)], properties), "SUBSCRIBE"
        )
        if codes and codes[0] >= 0x80:
            raise OSError(-1, "broker refused the subscription to %r: reason code 0x%02x" % (topic, codes[0]))
        return codes[0] if codes else None

    async def unsubscribe(self, topic, properties=None):
        topic = check_filter(topic)
        if self.mqttv5:
            check_properties(properties, "UNSUBSCRIBE")
        else:
            properties = None
        codes = await self._request(
            lambda: self._core.unsubscribe(now(), [topic], properties), "UNSUBSCRIBE"
        )
        # 5.0 "no subscription existed" (0x11) is fine: MQTT 3.10.4.
        if codes and codes[0] >= 0x80:
            raise OSError(-1, "broker refused to unsubscribe from %r: reason code 0x%02x" % (topic, codes[0]))

    async def broker_up(self):
        if not self.isconnected():
            return False
        tlast = self._last_rx
        if until(now(), tlast) < 1000:
            return True
        try:
            self._core.ping(now())
        except OSError:
            return False
        self._pump()
        ok = await self._until(
            lambda: self._last_rx != tlast or not self._isconnected, self._s["response_time_ms"]
        )
        return ok and self._isconnected

    async def wan_ok(self, packet=_DNS_QUERY):
        if not self.isconnected():
            return False
        return await self._link.dns_probe(self._s["dns_server"], packet, 3000)
