"""_mqttas.Radio (the ctypes binding of mqttas_radio_*) over the real core:
a node and a gateway radio exchange byte streams through a lossy in-test
channel, with a clock the test moves by hand."""

import random

import pytest

import _mqttas as m

NODE = 7


class Channel:
    """One direction of the air: loses, corrupts, duplicates and reorders
    frames (each frame takes 5 ms plus a random jitter)."""

    def __init__(self, seed, loss=0.0, corrupt=0.0, dup=0.0, jitter=20):
        self.rnd = random.Random(seed)
        self.loss, self.corrupt, self.dup, self.jitter = loss, corrupt, dup, jitter
        self.flight = []  # (due, frame)
        self.cut = False
        self.sent = self.lost = self.corrupted = 0

    def send(self, now, frame):
        self.sent += 1
        if self.cut or self.rnd.random() < self.loss:
            self.lost += 1
            return
        copies = 2 if self.rnd.random() < self.dup else 1
        for _ in range(copies):
            f = bytearray(frame)
            if self.rnd.random() < self.corrupt:
                f[self.rnd.randrange(len(f))] ^= 1 << self.rnd.randrange(8)
                self.corrupted += 1
            self.flight.append((now + 5 + self.rnd.randrange(self.jitter + 1), bytes(f)))

    def deliver(self, now, radio):
        due = [x for x in self.flight if x[0] <= now]
        self.flight = [x for x in self.flight if x[0] > now]
        for _, f in due:
            radio.handle_frame(now, f)


class Side:
    """A radio with what it sent out and the events it reported."""

    def __init__(self, radio, out, mtu=32):
        self.r = radio
        self.out = out
        self.mtu = mtu
        self.events = []

    def pump(self, now):
        dl = self.r.poll_deadline()
        # Due when now - deadline >= 0 in wrapping 32-bit arithmetic.
        if dl is not None and (now - dl) & 0xFFFFFFFF < 0x80000000:
            self.r.handle_timeout(now)
        while True:
            f = self.r.poll_frame(now)
            if f is None:
                break
            assert isinstance(f, bytes) and m.RADIO_OVERHEAD <= len(f) <= self.mtu
            self.out.send(now, f)
        while True:
            e = self.r.poll_event()
            if e is None:
                break
            self.events.append(e)


def world(node_kw=None, gw_kw=None, seed=1, **air):
    up = Channel(seed, **air)
    down = Channel(seed + 1000, **air)
    node_kw, gw_kw = node_kw or {}, gw_kw or {}
    node = Side(m.Radio(NODE, epoch=0x1111, **node_kw), up, node_kw.get("mtu", 32))
    gw = Side(m.Radio(NODE, gateway=True, epoch=0x2222, **gw_kw), down, gw_kw.get("mtu", 32))
    return node, gw, up, down


def tick(node, gw, now):
    node.out.deliver(now, gw.r)
    gw.out.deliver(now, node.r)
    node.pump(now)
    gw.pump(now)


def bring_up(node, gw, now, limit=20000):
    node.r.open(now & 0xFFFFFFFF)
    start = now
    while not (node.r.is_up() and gw.r.is_up()):
        assert now - start < limit, "no session after %d ms" % limit
        tick(node, gw, now & 0xFFFFFFFF)
        now += 1
    return now


def exchange(node, gw, a, b, now, limit):
    """Send a from node to gateway and b back at once; returns the time."""
    got_a, got_b = bytearray(), bytearray()
    sent_a = sent_b = 0
    start = now
    while len(got_a) < len(a) or len(got_b) < len(b):
        assert now - start < limit, "stream stalled: %d/%d and %d/%d bytes" % (
            len(got_a), len(a), len(got_b), len(b))
        t = now & 0xFFFFFFFF
        sent_a += node.r.write(t, a[sent_a:sent_a + 200])
        sent_b += gw.r.write(t, b[sent_b:sent_b + 200])
        got_a += gw.r.read(61)
        got_b += node.r.read(61)
        tick(node, gw, t)
        now += 1
    assert bytes(got_a) == a
    assert bytes(got_b) == b
    return now


@pytest.mark.parametrize("mtu", [32, 250])
def test_stream_arrives_intact_through_a_lossy_channel(mtu):
    kw = {"mtu": mtu, "tx_size": 2048, "rx_size": 2048}
    node, gw, up, down = world(kw, kw, seed=mtu, loss=0.2, corrupt=0.03, dup=0.05)
    rnd = random.Random(5)
    a = bytes(rnd.randrange(256) for _ in range(12000))
    b = bytes(rnd.randrange(256) for _ in range(6000))
    now = bring_up(node, gw, 0)
    exchange(node, gw, a, b, now, 600000)
    # No session was lost on the way.
    assert node.events == [("up",)]
    assert gw.events == [("up",)]
    sn, sg = node.r.stats(), gw.r.stats()
    assert set(sn) == {"frames_sent", "frames_received", "retransmissions", "bad_crc",
                       "dropped", "duplicates"}
    assert up.lost > 5 and down.lost > 5 and up.corrupted and down.corrupted
    assert sn["frames_sent"] == up.sent and sg["frames_sent"] == down.sent
    assert sn["retransmissions"] > 0 and sg["retransmissions"] > 0
    assert sn["bad_crc"] + sg["bad_crc"] > 0
    assert sn["duplicates"] + sg["duplicates"] > 0
    assert node.r.readable() == 0 and gw.r.readable() == 0


def test_clock_wraps_mid_stream():
    node, gw, _, _ = world(seed=3, loss=0.1, jitter=10)
    start = 2 ** 32 - 150  # the exchange takes longer than this (about 1 s)
    now = bring_up(node, gw, start)
    end = exchange(node, gw, bytes(range(256)) * 12, b"x" * 1000, now, 120000)
    assert end > 2 ** 32, "the clock did not wrap during the exchange"
    dl = node.r.poll_deadline()
    assert dl is not None and 0 <= (dl - (end & 0xFFFFFFFF)) & 0xFFFFFFFF <= 10000
    assert node.events == [("up",)] and gw.events == [("up",)]


def test_handshake_frames_and_routing():
    node, gw, _, _ = world()
    assert node.r.poll_frame(0) is None  # nothing before open
    assert not node.r.is_up() and node.r.poll_deadline() is None
    assert node.r.write(0, b"early") == 0  # not up: nothing taken
    node.r.open(10)
    hello = node.r.poll_frame(10)
    assert hello[0] == NODE and hello[1] & 0x0F == 1 and not hello[1] & 0x80
    assert m.radio_frame_node(hello) == (NODE, False)
    assert m.radio_frame_node(hello[:-1]) is None
    assert m.radio_frame_node(b"") is None
    assert m.radio_frame_node(bytes([hello[0] ^ 1]) + hello[1:]) is None
    assert node.r.poll_deadline() == 10 + 400  # HELLO again after rto_ms
    # Another node's gateway ignores it.
    other = m.Radio(NODE + 1, gateway=True)
    other.handle_frame(11, hello)
    assert not other.is_up() and other.stats()["dropped"] == 1
    gw.r.handle_frame(11, hello)
    assert gw.r.poll_event() == ("up",)
    ack = gw.r.poll_frame(11)
    assert m.radio_frame_node(ack) == (NODE, True)
    node.r.handle_frame(12, bytearray(ack))  # any bytes-like object
    assert node.r.poll_event() == ("up",) and node.r.is_up()
    assert node.r.writable() > 0
    assert node.r.write(13, memoryview(b"hello")) == 5
    data = node.r.poll_frame(13)
    assert len(data) == 11 + 5 and data[9:14] == b"hello"
    gw.r.handle_frame(14, data)
    assert gw.r.readable() == 5
    assert gw.r.read(2) == b"he"
    assert gw.r.read(100) == b"llo"
    assert gw.r.read(100) == b""
    assert gw.r.read(0) == b""


def test_down_reasons_reach_python_as_words():
    node, gw, up, down = world(seed=9)
    now = bring_up(node, gw, 0)
    # The air goes dead: both sides give up, each in its own words.
    up.cut = down.cut = True
    assert node.r.write(now, b"lost") == 4
    while len(node.events) < 2 or len(gw.events) < 2:
        assert now < 120000
        tick(node, gw, now)
        now += 1
    assert node.events[1] in (("down", "no_ack"), ("down", "silent"))
    assert gw.events[1] == ("down", "silent")
    assert node.r.write(now, b"x") == 0 and node.r.readable() == 0
    up.cut = down.cut = False
    up.flight, down.flight = [], []
    # The node reboots: a fresh radio, a new epoch.
    node2 = Side(m.Radio(NODE, epoch=0x1112), up)
    now = bring_up(node2, gw, now)
    gw.events.clear()
    node3 = Side(m.Radio(NODE, epoch=0x1113), up)
    now = bring_up(node3, gw, now)
    assert gw.events[:2] == [("down", "peer_restarted"), ("up",)]
    # Closing sends a RESET: the gateway hears of it.
    gw.events.clear()
    node3.events.clear()
    node3.r.close(now)
    for _ in range(50):
        tick(node3, gw, now)
        now += 1
    assert node3.events == [("down", "closed")]
    assert gw.events == [("down", "peer_reset")]
    assert not node3.r.is_up() and not gw.r.is_up()
    # The gateway reboots: the node's next DATA meets a RESET.
    gw2 = Side(m.Radio(NODE, gateway=True, epoch=0x2223), down)
    node3.r.set_epoch(0x1114)
    now = bring_up(node3, gw2, now)
    gw3 = Side(m.Radio(NODE, gateway=True, epoch=0x2224), down)
    node3.events.clear()
    assert node3.r.write(now, b"hi") == 2
    while not node3.events:
        assert now < 400000
        tick(node3, gw3, now)
        now += 1
    assert node3.events == [("down", "peer_reset")]


@pytest.mark.parametrize("kw, word", [
    ({"node": 0}, "node"),
    ({"node": 255}, "node"),
    ({"node": 256}, "node"),
    ({"node": 1, "mtu": 15}, "mtu"),
    ({"node": 1, "mtu": 256}, "mtu"),
    ({"node": 1, "mtu": -1}, "mtu"),
    ({"node": 1, "window": 0}, "window"),
    ({"node": 1, "window": 9}, "window"),
    ({"node": 1, "rto_ms": 0}, "rto_ms"),
    ({"node": 1, "keepalive_ms": 3600001}, "keepalive_ms"),
    ({"node": 1, "epoch": 0}, "epoch"),
    ({"node": 1, "epoch": 65536}, "epoch"),
    ({"node": 1, "max_retries": 256}, "max_retries"),
    ({"node": 1, "tx_size": 20}, "tx_size"),
    ({"node": 1, "rx_size": 20}, "rx_size"),
    ({"node": 1, "mtu": 250, "tx_size": 238}, "239 bytes"),
    ({"node": 1, "tx_size": -1}, "tx_size"),
    ({"node": "1"}, "node"),
])
def test_bad_config_raises_value_error_naming_the_value(kw, word):
    with pytest.raises(ValueError) as e:
        m.Radio(**kw)
    assert word in str(e.value)


def test_smallest_buffers_work_and_bad_calls_send_nothing():
    r = m.Radio(1, tx_size=21, rx_size=21)  # mtu 32: 21 payload bytes
    r.open(0)
    assert r.poll_frame(0) is not None
    with pytest.raises(ValueError):
        r.set_epoch(0)
    with pytest.raises(ValueError):
        r.set_epoch(70000)
    with pytest.raises(ValueError):
        r.read(-1)
    with pytest.raises(TypeError):
        r.write(0, 12)
    with pytest.raises(TypeError):
        r.handle_frame(0, 12)
    with pytest.raises(TypeError):
        m.radio_frame_node(None)
    # None of these queued a frame.
    assert r.poll_frame(1) is None
    r.set_epoch(9)
    assert r.poll_event() is None
