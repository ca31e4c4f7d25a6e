# mqtt_as: a resilient asynchronous MQTT client for MicroPython and CPython,
# a drop-in for Peter Hinch's mqtt_as 0.8.3 over the mqttas Rust core.
#
#     from mqtt_as import MQTTClient, config
#
# The protocol lives in the core (`_mqttas`: the firmware's C module, or the
# ctypes binding on CPython), which also checks the config dict and
# dispatches the events (messages to the callbacks, acknowledgements to
# the commands awaiting them): this layer moves bytes and time, and runs
# the coroutines and the links. Per connection two tasks run: a reader
# feeding received bytes to the core, and a writer draining the core's
# bytes to the link that, when it has nothing to send, sleeps until the
# core's next deadline (while a drain waits, a third task keeps that
# deadline). No task polls.
#
# RAM: what only some programs need (the Event interface's queue, 5.0
# property checks, TLS, the other links, mqtt_as's lock) is loaded or made
# when first used; the settings stay in the core's object.
#
# Extensions over mqtt_as 0.8.3, all keeping its programs working: qos=2;
# QoS 1/2 messages are kept across outages and resent with their packet
# ids (DUP set); clean=False sessions resume; the config dict is validated
# on construction; large messages can be received in chunks (chunk_cb);
# several user properties. See options.py for every config key.

import sys

import asyncio

from . import compat, options
# Only what the hot paths call is a global here (each global a slot in
# this module's dict: RAM); the rest is compat.x.
from .compat import _mqttas, now, until, spawn
from .options import eliza  # mqtt_as's name

from .links import default_link, default_client_id

VERSION = (0, 8, 3)

# mqtt_as 0.8.3 module attributes, kept for programs that read them.
ESP32 = sys.platform == "esp32"
RP2 = sys.platform == "rp2"
ESP8266 = sys.platform == "esp8266"
PYBOARD = sys.platform == "pyboard"
IBUFSIZE = 50  # mqtt_as 0.8.3's; here config['rx_size'] sizes the receive buffer.
MSG_BYTES = True  # Messages are always bytes here.

config = options.defaults(default_client_id())
__import__("gc").collect()

# The DNS query wan_ok() sends by default (www.google.com, A record).
_DNS_QUERY = b"$\x1a\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03www\x06google\x03com\x00\x00\x01\x00\x01"


async def _flush(conn):
    # Send what is written, half-close, read until the broker closes.
    await conn.drain()
    eof = getattr(conn, "write_eof", None)
    if eof is not None:
        eof()
    while await conn.read(256):
        pass


def __getattr__(name):
    # mqtt_as 0.8.3's MQTTException (which nothing here raises): made when
    # first asked for (a class costs RAM), once.
    if name == "MQTTException":

        class MQTTException(Exception):
            pass

        globals()[name] = MQTTException  # Found there from now on.
        return MQTTException
    # mqtt_as 0.8.3 has MsgQueue in this module; loaded when first asked for.
    if name == "MsgQueue":
        from .msgqueue import MsgQueue

        return MsgQueue
    # MicroPython looks here first for `from mqtt_as import x`, and does
    # not go on to the submodule x when this raises: the modules imported
    # only when needed are imported here.
    if name in ("msgqueue", "properties"):
        return __import__("mqtt_as." + name, None, None, ("*",))
    raise AttributeError(name)


def check_properties(props, packet, what="properties"):
    # 5.0 only: properties.py is loaded by the first program that uses it.
    from .properties import check

    check(props, packet, what)


class MQTTClient:
    DEBUG = False
    REPUB_COUNT = 0  # PUBLISH packets sent again with their packet id (DUP).

    def __init__(self, config):
        if isinstance(config, dict):
            g = config.get
            # What the firmware was built without: a ValueError naming the
            # knob (the links' knobs: when the link is made).
            if g("mqttv5"):
                compat.need("v5", "config['mqttv5']")
            w = g("will")
            if isinstance(w, (tuple, list)) and len(w) > 3 and w[3] == 2:
                compat.need("qos2", "config['will'] at qos 2")
            if g("client_id") is None:
                config = dict(config, client_id=default_client_id())
            props = g("mqttv5_con_props")
            if props is not None and g("mqttv5"):
                check_properties(props, "CONNECT", "config['mqttv5_con_props']")
        # Every key checked (ValueError naming it), the buffers made.
        core = self._core = _mqttas.Client(config, options.HOST_SIZES if options._HOST else options.BOARD_SIZES)
        if core.queue_len:
            self.up = asyncio.Event()
            self.down = asyncio.Event()
            from .msgqueue import MsgQueue

            self.queue = MsgQueue(core.queue_len)
            core.cb = self.queue.put
        if core.ssl:
            try:
                from .links.tls import check_params
            except ImportError as e:
                from .links import absent

                raise absent(e, "tls", "config['ssl']")
            self._ssl = check_params(core.ssl_params, core.server)
        self._link = core.link or default_link(core, self.dprint)
        self._addr = None
        self._conn = None
        self._gen = 0  # Connection generation: tasks of older ones stop.
        self._tasks = ()
        self._changes = compat.Changes()
        self._watch = compat.Alarm()  # _keep_connected sleeps in it while connected.
        self._idle = compat.Alarm()  # The writer sleeps in it: _pump() wakes it.
        self._last_rx = now()
        # Set by every connection: in the instance from the start (as class
        # attributes they would take a slot in the class too).
        self._isconnected = self._in_connect = self._has_connected = self._ever_connected = False
        self._told = False  # wifi_coro was last told True (callback interface).
        self._writing = False
        self._handler = None  # The connect_coro task of the current connection.
        self._send = None  # The stream's write_now (_transmit sends straight), else None.
        self._due = -1  # Until when the writer sleeps (None: until woken); -1: awake.
        self._keeping = False  # _keep_connected runs.

    def __getattr__(self, name):
        # server, port, mqttv5, mqttv5_con_props, topic_alias_maximum: the
        # core's settings.
        if name[0] == "_":
            raise AttributeError(name)
        return getattr(self._core, name)

    # Set only now and then: as class attributes they take no room in each
    # instance's dict until then (RAM).
    queue = None  # The Event interface's (queue_len > 0).
    _ssl = None  # ssl_params checked (config['ssl']).
    _lock = None
    _why = None  # The text of the last loss.
    _closing = None  # (task, stream): a graceful close under way (_linger).
    _closes = 0  # Calls of disconnect() and close(): a connection under way ends.
    _room = False  # A task waits for room in the core's buffers (_wait_change).
    _resent = False  # Messages sent on an earlier connection may be sent again.

    @property
    def lock(self):
        # mqtt_as has an asyncio.Lock here, for subclasses written for it:
        # made on first use (asyncio's lock module costs RAM).
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def dprint(self, msg, *args):
        if self.DEBUG:
            print(msg % args)

    # ---- plumbing -------------------------------------------------------

    async def _wait_change(self, ms=None, room=False):
        # Wait for a change (`room`: for room in the core's buffers, or for
        # the writer to have sent: the writer's pump notifies then, else
        # only when the core took an event); False after `ms`.
        if room:
            self._room = True
        return await self._changes.wait(ms)

    def _pump(self, sent=False):
        """Let the core dispatch its events (messages to the callbacks,
        acknowledgements to their slots), act on a loss, then wake the
        writer and the waiting tasks. `sent`: the writer's pump after its
        sends, which wakes the waiting tasks only when the core took an
        event or a task waits for room (publish(), awaiting its PUBACK,
        would only look and wait again)."""
        core = self._core
        why = core.pump()
        if why is not None:
            self._why = why
            if self._isconnected:
                self.dprint("Connection lost: %s", why)
                self._reconnect()
        # The waiting tasks first, then the writer, asleep until the core's
        # deadline, which looks again for bytes to send and for the deadline
        # (which may have moved earlier). In this order a task released
        # here (a publish() whose PUBACK came, the next publication queued)
        # runs before the writer, which then finds its bytes in one round;
        # woken first, it would find nothing and sleep, to be woken again
        # (CPython, QoS 1 one in flight: 4 event-loop rounds per message
        # instead of 3).
        if not sent or core.dispatched or self._room or why is not None:
            if self._room:
                self._room = False  # All are woken: a room waiter sets it again.
            self._changes.notify()
        if not sent:
            self._transmit()

    def _transmit(self, _tuple=tuple):
        """What the core has to send: on a stream that sends at once
        (MicroPython's SockStream: write_now), sent here, by the task that
        made it, while the writer sleeps; the writer is woken only to drain
        what the socket did not take, or when the core's deadline comes
        before the one it sleeps until (MicroPython, QoS 1 one in flight:
        3 scheduler rounds per message instead of 4, the writer asleep).
        Elsewhere the writer is woken to send."""
        w = self._send
        if w is None or self._writing:
            self._idle.wake()
            return
        core = self._core
        sent = False
        while True:
            data = core.poll_transmit(now())
            if data is None:
                break
            sent = True
            try:
                if type(data) is _tuple:  # A PUBLISH's head and its lent payload.
                    w(data[0])
                    data = data[1]
                done = w(data)
            except OSError as e:
                # As in the writer: an outage (what was in flight is sent
                # again on the next connection), never an error of the
                # publish() or subscribe() that queued it.
                self._link_lost("link failed while sending: %s" % (e,))
                return
            if not done:
                # The rest waits in the stream: the writer drains it.
                self._writing = True
                self._idle.wake()
                return
        if sent:
            if self._resent:  # As the writer counts them (mqtt_as's REPUB_COUNT).
                self.REPUB_COUNT = core.stats()["republished"]
                self._resent = core.pending() > 0
            if self._room:
                self._room = False
                self._changes.notify()
        due = self._due
        if due != -1:  # The writer sleeps until `due` (None: until woken).
            d = core.poll_deadline()
            if d is not None and (due is None or until(d, due) < 0):
                self._idle.wake()

    def _link_lost(self, why):
        # The stream failed or closed: tell the core (which reports the
        # loss in these words; after its own end of the connection, or our
        # DISCONNECT the broker closed first, as it may: nothing).
        self._core.handle_link_down(now(), why)
        self._pump()

    def _start(self, conn):
        self._gen += 1
        gen = self._gen
        self._conn = conn
        self._send = getattr(conn, "write_now", None)
        self._due = -1
        if self._ever_connected:
            self._resent = True
        self._tasks = (spawn(self._reader(conn, gen)), spawn(self._writer(conn, gen)))

    def _teardown(self, linger=True):
        # Stop this connection's tasks (never the one running this) and
        # close its stream (`linger`: gracefully when the core queued a
        # last word; close() cannot wait for that).
        self._gen += 1
        try:
            cur = asyncio.current_task()
        except RuntimeError:  # Not in a task (close() after the loop).
            cur = None
        for t in self._tasks:
            if t is not cur:
                try:
                    t.cancel()
                except RuntimeError:  # CPython: the loop has closed.
                    pass
        self._tasks = ()
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
        self._conn = self._send = None
        if conn is not None:
            if self._writing:
                # A write cut short leaves a packet half sent: nothing may
                # follow it, nor what waits to be sent.
                getattr(conn, "abort", conn.close)()
            else:
                queued = b""
                if linger and self._core.state() == _mqttas.STATE_DISCONNECTED:
                    # What the core queued before ending the connection
                    # itself (its tx buffer is bounded: this ends).
                    while True:
                        data = self._core.poll_transmit(now())
                        if data is None:
                            break
                        if type(data) is tuple:  # A PUBLISH's head and its lent payload.
                            queued += data[0]
                            data = data[1]
                        queued += data
                if queued:
                    self._closing = (spawn(self._linger(conn, queued)), conn)
                else:
                    conn.close()
        # The core ends the connection too (requests in flight are asked
        # again after it): not an outage here, its text is not acted on.
        core = self._core
        core.handle_link_down(now())
        core.pump()
        self._writing = False

    async def _linger(self, conn, data):
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
        # send, half-close, read until the broker closes; the whole at most
        # 150 ms (a link that cannot even take a few bytes is dead).
        try:
            conn.write(data)
            await compat.within_ms(_flush(conn), 150)
        except (OSError, asyncio.TimeoutError):
            pass
        finally:
            conn.close()

    async def _reader(self, conn, gen):
        why = "connection closed by the broker"
        core = self._core
        n = core.read_n

        def take(data):
            # Received bytes to the core, its events dispatched; how many
            # it took.
            t = self._last_rx = now()
            k = core.handle_input(t, data)
            self._pump()
            return k

        hand = getattr(conn, "hand", None)
        if hand is not None:
            # CPython's asyncio streams: the bytes go to the core in the
            # transport's callback, which wakes only the tasks the events
            # concern (this task's event-loop round saved, per read), and
            # the end of the stream is acted on there too; read() below
            # returns what the core did not take, and an error.

            def given(data):
                if gen != self._gen:
                    return None
                if data:
                    return take(data)
                self._link_lost(why)

            hand(given)
        ln = len  # Per read: a local, not a builtin looked up.
        try:
            while gen == self._gen:
                data = await conn.read(n)
                if gen != self._gen:
                    return
                if not data:
                    break
                # Mostly the core takes it all at once: then neither a
                # coroutine nor a memoryview is made for it (on MicroPython
                # both are heap, per read).
                k = take(data)
                if k < ln(data):
                    await self._feed(memoryview(data)[k:], gen)
        except OSError as e:
            why = "link failed: %s" % (e,)
        if gen == self._gen:
            self._link_lost(why)

    async def _feed(self, data, gen):
        # The rest of `data` (a memoryview) that the core did not take at
        # once.
        core = self._core
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
            if not await self._wait_change(core.response_time_ms, True) and not self._writing:
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
                if self._writing:  # _transmit() left bytes in the stream.
                    await self._drain(conn, gen)
                    self._writing = False
                    continue
                data = core.poll_transmit(now())
                if data is not None:
                    self._writing = True
                    if type(data) is tuple:
                        # A PUBLISH's head, then its payload straight from
                        # the object publish() was given (lent to the core
                        # until acknowledged: never copied into its store).
                        conn.write(data[0])
                        data = data[1]
                    conn.write(data)
                    await self._drain(conn, gen)
                    self._writing = False
                    # The next packet at once: the tasks waiting (for room,
                    # for an acknowledgement) are woken by the pump below,
                    # once all is sent (one pump per round, not per packet).
                    continue
                if self._resent:
                    # All sent: what the core sent again so far (mqtt_as's
                    # count of PUBLISH packets sent again with DUP). Only
                    # messages sent on an earlier connection are sent
                    # again: none are left once the store is empty.
                    self.REPUB_COUNT = core.stats()["republished"]
                    self._resent = core.pending() > 0
                # Events first (the writer is awake: _pump does not wake it).
                self._pump(True)
                last, ms = self._on_time(last)
                if ms != 0 and not self._writing:
                    # _transmit() wakes it when the deadline comes sooner.
                    self._due = None if ms is None else (now() + ms) & 0xFFFFFFFF
                    await self._idle.sleep(ms)
                    self._due = -1
        except OSError as e:
            self._writing = False
            if gen == self._gen:
                self._link_lost("link failed while sending: %s" % (e,))

    def _on_time(self, last, most=None):
        # Call the core's timeout when its deadline is due. Returns the
        # deadline handled (else `last`), for the next call, and how long
        # the caller sleeps in self._idle (_pump() wakes it) before it
        # looks again: until the deadline, at most `most` ms (None: until
        # woken); 0: not at all. Not a coroutine: no frame in the sleeping
        # writer's chain (RAM), none made per round.
        core = self._core
        d = core.poll_deadline()
        t = now()
        if d is None or until(d, t) > 0:
            ms = None if d is None else until(d, t)
            if most is not None and (ms is None or ms > most):
                ms = most
            return last, ms
        core.handle_timeout(t)
        self._pump()
        return d, 10 if d == last else 0  # Due again at once: let the others run first.

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
        rt = self._core.response_time_ms
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
            last, ms = self._on_time(last, min(rt - quiet, rt // 4 + 1))
            if ms != 0:
                await self._idle.sleep(ms)

    async def _until(self, test, ms=None, room=False):
        # Wait until test() is true; False when `ms` passes first. `room`:
        # test() waits for the writer too (see _wait_change).
        t0 = now()
        while not test():
            if ms is None:
                await self._wait_change(None, room)
            else:
                left = ms - until(now(), t0)
                if left <= 0:
                    return False
                await self._wait_change(left, room)
        return True

    # ---- connection -----------------------------------------------------

    async def _session(self):
        """One connection: open the link's stream, CONNECT, await CONNACK."""
        core = self._core
        self.dprint("Connecting to broker.")
        closes = self._closes
        c = self._closing
        if c is not None:
            # The last connection's graceful close ends first (within its
            # 150 ms).
            self._closing = None
            await c[0]
        conn = await self._link.open(self._addr, core.ssl, self._ssl, core.response_time_ms)
        if self._closes != closes:
            # disconnect() or close() came meanwhile: the client stays closed.
            conn.close()
            raise OSError(-1, "closed while connecting")
        self._start(conn)
        core.connect(now())  # The config's client id, credentials, will and properties.
        self._pump()
        await self._until(lambda: core.connack is not None or self._closes != closes)
        if self._closes != closes:
            raise OSError(-1, "closed while connecting")
        if core.connack is not True:
            raise OSError(-1, core.connack)
        if core.state() != _mqttas.STATE_CONNECTED:
            raise OSError(-1, "connection lost right after CONNACK")

    async def _end_session(self):
        # Send DISCONNECT, wait until it has left, close the stream.
        core = self._core
        try:
            core.disconnect(now(), 0)
            self._pump()
            await self._until(lambda: core.disc and not self._writing, core.response_time_ms, True)
        except OSError:
            pass
        self._teardown()

    async def connect(self, *, quick=False):
        if not self._has_connected:
            await self._link.up(quick)  # On the first call the caller handles errors.
            self._addr = self._link.resolve(self.server, self.port)
        self._in_connect = True
        try:
            core = self._core
            if not self._ever_connected and core.clean_init and not core.clean:
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
        if self.queue is None:
            spawn(self._tell_up(self._gen))
        if not self._has_connected:
            self._has_connected = True
            self._core.policy.handle_connected(now())
            if self._link.poll_ms is not None:
                spawn(self._keep_connected())
        if self.queue is not None:
            self.up.set()
        self._changes.notify()

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
        core = self._core
        # (The default, eliza, does nothing: no task, which would stay in
        # RAM, ended, until the connection ends.)
        c = core.connect_coro
        if c and c is not eliza:
            self._handler = spawn(c(self))
        c = core.wifi_coro
        if c and c is not eliza:
            await c(True)

    async def _keep_connected(self):
        # Brings the connection back after every outage, as the core's
        # outage policy (_mqttas.Reconnect, the same one the C and Rust
        # clients follow) says: hold the link down, reconnect TCP first,
        # bounce the link after N failed attempts, back off with jitter and
        # a cap. Runs from an outage until connected again, and on links
        # that must be polled (poll_ms) from the first connect() until
        # disconnect(): a task less in RAM while connected elsewhere. Ends
        # at once when it runs already (started again meanwhile).
        if self._keeping:
            return
        self._keeping = True
        try:
            core = self._core
            r = core.policy
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
                    c = core.take_cause()
                    r.handle_lost(now(), c)
                    self._next_try(c, self._why)
                    up = False
                a = r.poll_action(now())
                if a is None:  # Not expected: every attempt is reported at once.
                    await compat.sleep_ms(100)
                    continue
                kind, t = a
                if kind in (_mqttas.ACTION_HOLD_DOWN, _mqttas.ACTION_BOUNCE_LINK):
                    # On the host socket link down() does nothing: a bounce
                    # only holds down.
                    self.dprint("Link %s for %dms", "held down" if kind == _mqttas.ACTION_HOLD_DOWN else "bounced",
                                until(t, now()))
                    await self._link.down()
                    link_up = False
                    await compat.sleep_ms(max(0, until(t, now())))
                elif kind == _mqttas.ACTION_WAIT:
                    await compat.sleep_ms(max(0, until(t, now())))
                elif kind == _mqttas.ACTION_CONNECT:
                    if not self._has_connected:
                        break
                    core.take_cause()  # A link that does not open: an outage.
                    try:
                        if not link_up:
                            await self._link.up()
                            link_up = True
                        await self.connect()
                        r.handle_connected(now())
                        up = True
                        self.dprint("Reconnect OK!")
                    except OSError as e:
                        c = core.take_cause()
                        r.handle_attempt_failed(now(), c)
                        self.dprint("Error in reconnect. %s", e)
                        self._next_try(c, e.args[-1])
            self.dprint("Disconnected, exited _keep_connected")
        finally:
            self._keeping = False

    def _next_try(self, c, why):
        # When the broker asked to back off or refused for good (cause c),
        # its answer decides the wait: say so. A permanent refusal needs a
        # person (the broker's administrator), so it is printed whatever
        # DEBUG says.
        if c != _mqttas.CAUSE_BACK_OFF and c != _mqttas.CAUSE_PERMANENT:
            return
        t = self._core.policy.poll_deadline()
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
            if self.queue is not None:
                self.up.clear()  # Not left set for a connection that is gone.
                self.down.set()
            elif self._told:
                self._told = False
                if self._core.wifi_coro:
                    spawn(self._core.wifi_coro(False))
            self._watch.wake()
            spawn(self._keep_connected())
            self._changes.notify()

    async def _reconnection(self):
        # The core is not connected: wait for the next connection (while the
        # loss is being noticed, for any change first).
        if self._isconnected:
            await self._wait_change()
        await self._until(lambda: self._isconnected)

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
        self._changes.notify()

    def close(self):
        # Synchronous: nothing is left to a task that may never run (the
        # loop may end right after), so every stream is closed here.
        self._closes += 1
        self._has_connected = False
        self._isconnected = False
        self._told = False
        c = self._closing
        if c is not None:
            self._closing = None
            c[1].close()
        try:
            self._teardown(False)
            self._watch.wake()
            self._changes.notify()
        except RuntimeError:  # CPython: the event loop has closed.
            pass
        self._link.close()

    # ---- commands -------------------------------------------------------

    async def publish(self, topic, msg, retain=False, qos=0, properties=None):
        # The core checks the topic (5.0: empty with a topic alias, which
        # stands for the topic it was set to), the message and the QoS
        # before anything is queued.
        if qos == 2:
            compat.need("qos2", "qos=2")
        core = self._core
        if core.mqttv5:
            check_properties(properties, "PUBLISH")
        else:
            properties = None  # 3.1.1 has none: ignored, as mqtt_as does.
        while True:
            try:
                slot = core.publish(now(), topic, msg, qos, retain, properties)
                break
            except ValueError as e:
                hint = ""
                if "larger" in str(e):
                    hint = " (raise config['%s'])" % ("tx_size" if qos == 0 else "store_size")
                raise ValueError("publish to %r, %d bytes: %s%s" % (topic, len(msg), e, hint))
            except OSError as e:
                code = e.args[0]
                if code == _mqttas.ERR_NOT_CONNECTED:  # QoS 0: sent on a connection only.
                    await self._reconnection()
                elif code in (_mqttas.ERR_STORE_FULL, _mqttas.ERR_TX_FULL):
                    await self._wait_change(None, True)  # A completion or a write frees room.
                else:
                    raise
        # Queuing makes no event: sent now (_transmit), or by the writer.
        self._transmit()
        if slot is None:
            return
        # Kept in the core's store across outages: only the acknowledgement
        # ends this wait (no closure nor frames around it: per message).
        changes = self._changes
        while slot[0] is None:
            await changes.wait()
        if slot[0] >= 0x80:
            raise OSError(-1, "broker refused the publication to %r: reason code 0x%02x" % (topic, slot[0]))

    async def _request(self, make, topic):
        # SUBSCRIBE or UNSUBSCRIBE of `topic` (the core checks the filter),
        # asked again after an outage until acknowledged.
        while True:
            await self._until(lambda: self._isconnected)
            try:
                slot = make()
            except ValueError as e:
                raise ValueError("topic filter %r: %s" % (topic, e))
            except OSError as e:
                code = e.args[0]
                if code == _mqttas.ERR_NOT_CONNECTED:
                    await self._reconnection()
                    continue
                if code in (_mqttas.ERR_TOO_MANY_PENDING, _mqttas.ERR_TX_FULL):
                    await self._wait_change(None, True)
                    continue
                raise
            self._pump()
            await self._until(lambda: slot[0] is not None)
            codes = slot[0]
            if codes is not False:
                return codes[0] if codes else None
            self.dprint("%r: interrupted by an outage: again", topic)

    async def subscribe(self, topic, qos=0, properties=None):
        if qos == 2:
            compat.need("qos2", "qos=2")
        if self.mqttv5:
            check_properties(properties, "SUBSCRIBE")
        else:
            properties = None
        code = await self._request(lambda: self._core.subscribe(now(), [(topic, qos)], properties), topic)
        if code is not None and code >= 0x80:
            raise OSError(-1, "broker refused the subscription to %r: reason code 0x%02x" % (topic, code))
        return code

    async def unsubscribe(self, topic, properties=None):
        if self.mqttv5:
            check_properties(properties, "UNSUBSCRIBE")
        else:
            properties = None
        code = await self._request(lambda: self._core.unsubscribe(now(), [topic], properties), topic)
        # 5.0 "no subscription existed" (0x11) is fine: MQTT 3.10.4.
        if code is not None and code >= 0x80:
            raise OSError(-1, "broker refused to unsubscribe from %r: reason code 0x%02x" % (topic, code))

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
        ok = await self._until(lambda: self._last_rx != tlast or not self._isconnected, self._core.response_time_ms)
        return ok and self._isconnected

    async def wan_ok(self, packet=_DNS_QUERY):
        if not self.isconnected():
            return False
        return await self._link.dns_probe(self._core.dns_server, packet, 3000)
