# links/radio.py: MQTT over a packet radio, through a gateway.
#
# The node's radio carries frames of a few dozen bytes that get lost,
# corrupted and reordered. The core's framing + ARQ layer (_mqttas.Radio,
# src/radio in the Rust core) turns them into a reliable byte stream: a
# radio *session* plays the part of a TCP connection. The gateway
# (ports/gateway) accepts the session and opens one TCP connection to the
# broker for it, bridging bytes both ways. When the session dies (acks stop,
# the gateway restarts) the stream fails with OSError and mqtt_as runs its
# usual outage logic: hold down, reconnect, resend what is unacknowledged.
#
#     from mqtt_as import MQTTClient, config
#     from mqtt_as.links.radio import RadioLink
#     from mqtt_as.links.radio_drivers import SX127xDriver   # or NRF24L01Driver
#     config['link'] = RadioLink(SX127xDriver(modem), node=7, mtu=250)
#
# The radio driver is any object with
#     send(frame)            transmit one frame (bytes); a failure is a loss
#     recv() -> bytes|None   the next received frame, None at once if none
# and optionally
#     poll_ms                how often to call recv() when idle (default 10)
#     start(), stop()        power the radio up and down (link up()/down())
#     set_wakeup(callback)   the driver calls callback() (in the asyncio
#                            loop) when a frame may be waiting, so that the
#                            link need not poll (the UDP driver on CPython)
# Drivers: udp_radio.UDPRadio (the simulated radio of the tests, MicroPython
# and CPython), radio_drivers.SX127xDriver and NRF24L01Driver.
#
# Mapping to the link interface (links/__init__.py):
#     up()          radio on, join the gateway: a session, Up within
#                   join_ms, else OSError
#     open()        the stream over a session: the one up() made if no
#                   stream has used it yet, else a new one (new epoch)
#     isconnected() the session is up
#     down()        end the session (RESET to the gateway), radio off
# The broker address given to open() is not used: the gateway knows the
# broker. TLS end to end over the radio: links.tls.TLSLink(RadioLink(...)),
# the gateway then relays only ciphertext.

import asyncio

from ..compat import _mqttas, now, until, sleep_ms, within_ms, spawn, Changes, need


# Why a session went down, in words for mqtt_as's log.
_WHY = {
    "no_ack": "no acknowledgement from the gateway (out of range?)",
    "silent": "nothing heard from the gateway for 3 keepalive periods",
    "peer_reset": "the gateway reset the session (broker closed or refused the connection, or gateway restarted)",
    "closed": "session closed",
}


def _random_epoch(old):
    # Nonzero, and not the last one: the gateway tells sessions apart by it.
    try:
        from os import urandom

        e = urandom(2)
        e = e[0] << 8 | e[1]
    except (ImportError, AttributeError, OSError):
        from random import getrandbits

        e = getrandbits(16)
    if e == 0 or e == old:
        e = (old + 1) & 0xFFFF or 1
    return e


class RadioStream:
    """The broker connection over one radio session: async read(n),
    write(b), async drain(), close(), like an asyncio stream pair."""

    def __init__(self, link, session):
        self._link = link
        self._session = session
        self._out = b""
        self._off = 0
        self._closed = False

    def _check(self):
        link = self._link
        if self._closed:
            raise OSError(-1, "radio stream closed")
        if link._session != self._session or link._state != "up":
            why = link._why or "closed"
            raise OSError(-1, "radio link down: %s" % (_WHY.get(why, why),))

    async def read(self, n):
        link = self._link
        while True:
            if self._closed:
                raise OSError(-1, "radio stream closed")
            # Bytes that arrived before the session went down are still ours.
            if link._session == self._session:
                data = link._radio.read(n)
                if data:
                    link._flush(now())  # Room in rx: the window may reopen.
                    return data
            self._check()
            await link._wait_change()

    def write(self, data):
        if self._off < len(self._out):
            self._out = self._out[self._off:] + bytes(data)
        else:
            self._out = bytes(data)
        self._off = 0

    def buffered(self):
        """Bytes written and not yet taken by the radio layer."""
        return len(self._out) - self._off

    async def drain(self):
        # Done when the radio layer has taken every byte: it keeps them
        # until the gateway acknowledges them (TCP's drain is no stronger).
        link = self._link
        r = link._radio
        while self._off < len(self._out):
            self._check()
            mv = memoryview(self._out)[self._off:]
            n = r.write(now(), mv)
            if n:
                self._off += n
                link._flush(now())
                link._kick()
            else:
                await link._wait_change()
        self._out = b""
        self._off = 0

    def close(self):
        if self._closed:
            return
        self._closed = True
        self._link._stream_closed(self)


class RadioLink:
    """A link over a packet radio and a gateway (ports/gateway).

    driver      the radio driver (see above)
    node        this node's id, 1..=254: unique among the gateway's nodes
    mtu, window, rto_ms, max_retries, keepalive_ms, tx_size, rx_size:
                the radio layer's settings (_mqttas.Radio); the gateway
                must use the same mtu
    join_ms     how long up() waits for the gateway (10000)
    linger_ms   how long closing a stream waits for its last bytes to be
                acknowledged (DISCONNECT) before resetting the session (3000)
    log         a function (fmt, *args) for progress messages, or None
    """

    poll_ms = None  # A lost session fails the stream: nothing to poll.

    def __init__(self, driver, node, mtu=32, window=4, rto_ms=400, max_retries=10, keepalive_ms=3000,
                 tx_size=1024, rx_size=1024, join_ms=10000, linger_ms=3000, log=None):
        need("radio", "RadioLink")  # _mqttas.Radio
        self._driver = driver
        self._epoch = _random_epoch(0)
        self._radio = _mqttas.Radio(node, gateway=False, mtu=mtu, window=window, rto_ms=rto_ms,
                                    max_retries=max_retries, keepalive_ms=keepalive_ms, epoch=self._epoch,
                                    tx_size=tx_size, rx_size=rx_size)
        self._tx_size = tx_size
        self._join_ms = join_ms
        self._linger_ms = linger_ms
        self._log = log
        self._state = "idle"  # idle, opening, up, closing (lingering)
        self._session = 0  # Counts sessions: a stream belongs to one.
        self._fresh = False  # The session up() made, no stream on it yet.
        self._why = None  # Why the last session went down.
        self._linger_until = 0
        self._running = False
        self._task = None
        self._changes = Changes()
        self._wake = asyncio.Event()
        self.sessions = 0  # Sessions that came up (for tests and logs).
        self.downs = []  # Reasons of the sessions that went down.

    # ---- plumbing -------------------------------------------------------

    def _say(self, fmt, *args):
        if self._log is not None:
            self._log("radio: " + fmt, *args)

    def _notify(self):
        self._changes.notify()

    async def _wait_change(self, ms=None):
        return await self._changes.wait(ms)

    def _kick(self):
        self._wake.set()

    def _flush(self, t):
        # Hand every frame the radio layer has for the air to the driver.
        r = self._radio
        send = self._driver.send
        n = 0
        f = r.poll_frame(t)
        while f is not None:
            try:
                send(f)
            except OSError:
                pass  # A failed transmission is a lost frame: the ARQ repeats it.
            n += 1
            f = r.poll_frame(t)
        return n

    def _events(self):
        r = self._radio
        ev = r.poll_event()
        changed = False
        while ev is not None:
            changed = True
            if ev[0] == "up":
                self._state = "up"
                self._why = None
                self.sessions += 1
                self._say("session %d up (epoch %04x)", self._session, self._epoch)
            else:
                why = ev[1]
                if self._state != "idle":
                    self._say("session %d down: %s", self._session, why)
                    self.downs.append(why)
                self._state = "idle"
                self._why = why
                self._fresh = False
            ev = r.poll_event()
        return changed

    def _start(self):
        if self._running:
            return
        start = getattr(self._driver, "start", None)
        if start is not None:
            start()
        wakeup = getattr(self._driver, "set_wakeup", None)
        self._wakeups = wakeup is not None
        if wakeup is not None:
            wakeup(self._kick)
        self._running = True
        self._task = spawn(self._pump())

    def _stop(self):
        if not self._running:
            return
        self._running = False
        self._kick()
        t = self._task
        self._task = None
        if t is not None:
            try:
                t.cancel()
            except RuntimeError:  # CPython: the loop has closed.
                pass
        stop = getattr(self._driver, "stop", None)
        if stop is not None:
            try:
                stop()
            except OSError:
                pass

    async def _pump(self):
        # The radio's clock and receiver: frames in, timeouts, frames out.
        r = self._radio
        d = self._driver
        recv = d.recv
        poll = getattr(d, "poll_ms", 10) or 10
        while self._running:
            self._wake.clear()
            t = now()
            got = False
            try:
                f = recv()
                while f is not None:
                    r.handle_frame(t, f)
                    got = True
                    f = recv()
            except OSError as e:
                self._say("driver receive failed: %s", e)
            dl = r.poll_deadline()
            if dl is not None and until(dl, t) <= 0:
                r.handle_timeout(t)
                got = True
            if self._state == "closing":
                self._linger(t)
            self._flush(t)
            if self._events() or got:
                self._notify()
            dl = r.poll_deadline()
            wait = 1000 if dl is None else max(0, until(dl, now()))
            if self._state == "closing":
                wait = min(wait, 50)
            if not self._wakeups:
                wait = min(wait, poll)
            if wait > 0:
                try:
                    await within_ms(self._wake.wait(), wait)
                except asyncio.TimeoutError:
                    pass
            else:
                await sleep_ms(0)

    def _linger(self, t):
        # A closed stream's last bytes (DISCONNECT) are acknowledged, or it
        # took too long, or the session went down: reset it.
        r = self._radio
        if r.writable() < self._tx_size and r.is_up() and until(self._linger_until, t) > 0:
            return
        self._reset(t)

    def _reset(self, t):
        r = self._radio
        if self._state != "idle":
            r.close(t)
            self._flush(t)
            self._events()
        self._state = "idle"
        self._fresh = False
        self._notify()

    def _stream_closed(self, stream):
        if stream._session != self._session or self._state != "up":
            return
        t = now()
        if self._radio.writable() < self._tx_size:
            self._state = "closing"
            self._linger_until = (t + self._linger_ms) & 0xFFFFFFFF
            self._kick()
        else:
            self._reset(t)

    async def _new_session(self, timeout_ms):
        # Wait out a lingering close, then HELLO with a new epoch.
        t0 = now()
        while self._state == "closing":
            if until(now(), t0) > timeout_ms:
                self._reset(now())
                break
            await self._wait_change(100)
        if self._state != "idle":
            self._reset(now())
        self._epoch = _random_epoch(self._epoch)
        r = self._radio
        r.set_epoch(self._epoch)
        self._session += 1
        self._state = "opening"
        self._why = None
        t = now()
        r.open(t)
        self._flush(t)
        self._kick()
        while self._state == "opening":
            left = timeout_ms - until(now(), t0)
            if left <= 0:
                self._reset(now())
                raise OSError(-1, "no answer from the radio gateway within %d ms" % timeout_ms)
            await self._wait_change(left)
        if self._state != "up":
            raise OSError(-1, "radio session failed: %s" % (_WHY.get(self._why, self._why),))

    # ---- the link interface --------------------------------------------

    def isconnected(self):
        return self._state == "up"

    async def up(self, quick=False):
        self._start()
        if self._state == "up":
            return
        await self._new_session(self._join_ms)
        self._fresh = True

    async def down(self):
        self._reset(now())
        self._stop()
        await sleep_ms(0)

    def close(self):
        try:
            self._reset(now())
        except RuntimeError:  # CPython: the event loop has closed.
            pass
        self._stop()

    def resolve(self, host, port):
        return (host, port)  # The gateway reaches the broker, not us.

    async def open(self, addr, ssl=False, ssl_params=None, timeout_ms=10000):
        if ssl:
            raise OSError(-1, "RadioLink carries plain bytes: for TLS use links.tls.TLSLink(RadioLink(...))")
        self._start()
        if not (self._fresh and self._state == "up"):
            await self._new_session(timeout_ms)
        self._fresh = False
        return RadioStream(self, self._session)

    async def dns_probe(self, server, packet, timeout_ms):
        # No DNS over the radio: the gateway answering is the WAN check.
        return self._state == "up"

    def stats(self):
        """The radio layer's counters (frames, retransmissions, ...)."""
        return self._radio.stats()
