#!/usr/bin/env python3
"""The simulated radio: frames as UDP datagrams on 127.0.0.1 between radio
nodes and the gateway, through a relay that spoils them like a real channel.

    nodes ──UDP──► Air.node_addr ─┐            ┌─► gateway (--radio)
                                   ├── air ─────┤
    nodes ◄──UDP── (every node) ◄─┘            └── Air.gw_addr ◄── gateway (--air)

Uplink frames (node -> gateway) go to the gateway's address; downlink frames
(gateway -> node) are heard by every node heard from in the last minute (at
the address of its last intact frame), as on a shared channel: each node's
radio layer keeps the frames for its node id and drops the others.

Conditions, each changeable at run time (Air.set(), or the control socket):
  loss          probability that a frame is lost (each receiver on its own)
  corrupt       probability that 1 to 3 bits of a delivered frame flip
  duplicate     probability that a frame arrives twice
  reorder       probability that a frame is held back by up to reorder_ms,
                so that later frames overtake it
  reorder_ms    (40)
  delay_ms      propagation and processing delay of every frame (1)
  rate_bps      channel bit rate, 0 for unlimited: one frame at a time on a
                shared half-duplex channel, each taking 8*(len+8)/rate s
                (the 8 bytes stand for the preamble and sync of a real radio)
  burst_every_ms  mean time between interference bursts (exponential), 0 off
  burst_ms      length of a burst (300)
  burst_loss    loss during a burst (0.9)
Air.outage(ms) silences the channel completely for `ms` from now.
Conditions are drawn from a seeded random generator (seed=...).

Run alone: `python3 air.py --gateway 127.0.0.1:PORT [--loss 0.2 ...]
--control PORT`; it prints `node=PORT gw=PORT control=PORT` and takes JSON
commands on the UDP control port: {"set": {"loss": 0.3}}, {"outage": 5000},
{"stats": true}; each gets the stats as a JSON answer.
"""

import argparse
import heapq
import json
import random
import select
import socket
import sys
import threading
import time

DEFAULTS = {
    "loss": 0.0,
    "corrupt": 0.0,
    "duplicate": 0.0,
    "reorder": 0.0,
    "reorder_ms": 40,
    "delay_ms": 1,
    "rate_bps": 0,
    "burst_every_ms": 0,
    "burst_ms": 300,
    "burst_loss": 0.9,
}

# Bytes a real radio sends besides the frame (preamble, sync, header).
RADIO_OVERHEAD = 8
# Nodes heard within this long receive the downlink.
NODE_MEMORY_S = 60.0


def crc16(data):
    """CRC-16/CCITT-FALSE, the frame check of the radio frames."""
    crc = 0xFFFF
    for b in data:
        crc ^= b << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def frame_node(frame):
    """The node id of an intact frame, else None."""
    if len(frame) < 11 or crc16(frame[:-2]) != (frame[-2] << 8 | frame[-1]):
        return None
    return frame[0]


def _new_stats():
    d = {}
    for k in ("in", "delivered", "lost", "burst_lost", "outage_lost", "corrupted", "duplicated", "reordered",
              "bytes"):
        d[k] = 0
    return d


class Air:
    """The relay. Start it with start() (a thread), stop with stop(); or use
    it as a context manager."""

    def __init__(self, gateway=None, seed=1, **conditions):
        self.node_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.node_sock.bind(("127.0.0.1", 0))
        self.gw_sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.gw_sock.bind(("127.0.0.1", 0))
        for s in (self.node_sock, self.gw_sock):
            s.setblocking(False)
            # Bursts of retransmissions must not overflow the relay itself.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.node_addr = self.node_sock.getsockname()
        self.gw_addr = self.gw_sock.getsockname()
        self.gateway = gateway
        self.rng = random.Random(seed)
        self.c = dict(DEFAULTS)
        self.set(**conditions)
        self.nodes = {}  # node id -> (address, last time heard)
        self.stats = {"up": _new_stats(), "down": _new_stats(), "outages": 0, "bursts": 0}
        self._lock = threading.Lock()
        self._queue = []  # (due, seq, socket, frame, address)
        self._seq = 0
        self._channel_free = 0.0
        self._outage_until = 0.0
        self._burst_until = 0.0
        self._next_burst = None
        self._stop = False
        self._thread = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self.control = None

    # ---- control --------------------------------------------------------

    def set(self, **kw):
        """Change conditions (see the module docstring)."""
        for k, v in kw.items():
            if k not in DEFAULTS:
                raise ValueError("unknown air condition %r (known: %s)" % (k, ", ".join(sorted(DEFAULTS))))
            self.c[k] = v
        if "burst_every_ms" in kw:
            self._next_burst = None

    def outage(self, ms):
        """Lose every frame for the next `ms` milliseconds."""
        with self._lock:
            self._outage_until = max(self._outage_until, time.monotonic() + ms / 1000.0)
            self.stats["outages"] += 1

    def in_outage(self):
        return time.monotonic() < self._outage_until

    def snapshot(self):
        """A copy of the counters."""
        with self._lock:
            return json.loads(json.dumps(self.stats))

    def start(self):
        self._thread = threading.Thread(target=self._run, name="air", daemon=True)
        self._thread.start()
        return self

    def stop(self):
        self._stop = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(5)
        for s in (self.node_sock, self.gw_sock, self._wake_r, self._wake_w, self.control):
            if s is not None:
                s.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---- the channel ----------------------------------------------------

    def _burst(self, t):
        every = self.c["burst_every_ms"]
        if not every:
            return False
        if self._next_burst is None:
            self._next_burst = t + self.rng.expovariate(1000.0 / every)
        if t >= self._next_burst:
            self._burst_until = self._next_burst + self.c["burst_ms"] / 1000.0
            self._next_burst = self._burst_until + self.rng.expovariate(1000.0 / every)
            self.stats["bursts"] += 1
        return t < self._burst_until

    def _airtime(self, t, n):
        # The shared channel: a frame starts when the previous one has ended.
        rate = self.c["rate_bps"]
        if not rate:
            return t
        start = max(t, self._channel_free)
        self._channel_free = start + 8.0 * (n + RADIO_OVERHEAD) / rate
        return self._channel_free

    def _relay(self, frame, direction, sock, dests):
        t = time.monotonic()
        st = self.stats[direction]
        st["in"] += 1
        st["bytes"] += len(frame)
        end = self._airtime(t, len(frame))
        c = self.c
        rng = self.rng
        outage = t < self._outage_until
        burst = self._burst(t)
        for addr in dests:
            if outage:
                st["outage_lost"] += 1
                continue
            if burst and rng.random() < c["burst_loss"]:
                st["burst_lost"] += 1
                continue
            if rng.random() < c["loss"]:
                st["lost"] += 1
                continue
            data = frame
            if data and rng.random() < c["corrupt"]:
                b = bytearray(data)
                for _ in range(rng.randint(1, 3)):
                    i = rng.randrange(len(b))
                    b[i] ^= 1 << rng.randrange(8)
                data = bytes(b)
                st["corrupted"] += 1
            due = end + c["delay_ms"] / 1000.0
            if rng.random() < c["reorder"]:
                due += rng.uniform(0, c["reorder_ms"]) / 1000.0
                st["reordered"] += 1
            self._schedule(due, sock, data, addr)
            if rng.random() < c["duplicate"]:
                st["duplicated"] += 1
                self._schedule(due + rng.uniform(0, 0.02), sock, data, addr)

    def _schedule(self, due, sock, data, addr):
        self._seq += 1
        heapq.heappush(self._queue, (due, self._seq, sock, data, addr))

    def _deliver_due(self):
        t = time.monotonic()
        q = self._queue
        while q and q[0][0] <= t:
            _, _, sock, data, addr = heapq.heappop(q)
            try:
                sock.sendto(data, addr)
            except OSError:
                continue  # The receiver is gone (a restart): the frame is lost.
            self.stats["up" if sock is self.gw_sock else "down"]["delivered"] += 1

    def _run(self):
        socks = [self.node_sock, self.gw_sock, self._wake_r]
        if self.control is not None:
            socks.append(self.control)
        while not self._stop:
            wait = 0.5
            if self._queue:
                wait = max(0.0, min(wait, self._queue[0][0] - time.monotonic()))
            r, _, _ = select.select(socks, [], [], wait)
            with self._lock:
                for s in r:
                    if s is self._wake_r:
                        try:
                            s.recv(64)
                        except OSError:
                            pass
                        continue
                    if s is self.control:
                        self._control()
                        continue
                    while True:
                        try:
                            frame, src = s.recvfrom(2048)
                        except (BlockingIOError, InterruptedError):
                            break
                        except OSError:
                            break  # ICMP port unreachable from a stopped peer.
                        self._incoming(s, frame, src)
                self._deliver_due()

    def _incoming(self, s, frame, src):
        if s is self.node_sock:
            # A node's radio is where its intact frames come from (a node
            # that restarts its radio gets a new UDP port).
            node = frame_node(frame)
            if node is not None:
                self.nodes[node] = (src, time.monotonic())
            if self.gateway is not None:
                self._relay(frame, "up", self.gw_sock, [self.gateway])
        else:
            now = time.monotonic()
            dests = [a for a, seen in self.nodes.values() if now - seen < NODE_MEMORY_S]
            self._relay(frame, "down", self.node_sock, dests)

    # ---- control socket (standalone use) --------------------------------

    def listen_control(self, port=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", port))
        s.setblocking(False)
        self.control = s
        return s.getsockname()[1]

    def _control(self):
        try:
            data, src = self.control.recvfrom(4096)
        except OSError:
            return
        answer = {}
        try:
            cmd = json.loads(data.decode())
            if "set" in cmd:
                self.set(**cmd["set"])
            if "outage" in cmd:
                self._outage_until = max(self._outage_until, time.monotonic() + cmd["outage"] / 1000.0)
                self.stats["outages"] += 1
            answer = {"stats": self.stats, "conditions": self.c}
        except (ValueError, TypeError, KeyError) as e:
            answer = {"error": str(e)}
        try:
            self.control.sendto(json.dumps(answer).encode(), src)
        except OSError:
            pass


def control(port, cmd, timeout=2.0):
    """Send one command to a standalone air's control port; its answer."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.settimeout(timeout)
        s.sendto(json.dumps(cmd).encode(), ("127.0.0.1", port))
        return json.loads(s.recvfrom(65536)[0].decode())
    finally:
        s.close()


def _addr(text):
    host, _, port = text.rpartition(":")
    return (host or "127.0.0.1", int(port))


def main(argv=None):
    p = argparse.ArgumentParser(description="Simulated radio channel: a lossy UDP relay on 127.0.0.1.")
    p.add_argument("--gateway", type=_addr, required=True, help="the gateway's --radio address, HOST:PORT")
    p.add_argument("--control", type=int, default=0, help="UDP control port (0: any free one)")
    p.add_argument("--seed", type=int, default=1)
    for k, v in DEFAULTS.items():
        p.add_argument("--" + k.replace("_", "-"), dest=k, type=type(v), default=v)
    a = p.parse_args(argv)
    cond = dict((k, getattr(a, k)) for k in DEFAULTS)
    air = Air(gateway=a.gateway, seed=a.seed, **cond)
    ctl = air.listen_control(a.control)
    print("node=%d gw=%d control=%d" % (air.node_addr[1], air.gw_addr[1], ctl), flush=True)
    air.start()
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        air.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
