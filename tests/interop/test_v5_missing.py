"""MQTT 5.0 against a broker that has only 3.1.1. MQTT-3.1.2-2: such a
broker answers CONNACK 0x01 (unacceptable protocol level) and closes; the
client must then say plainly that the broker does not support 5.0 (issue
12, defect 7). A broker that does not answer leaves the client only its
response time."""

import socket
import time

import pytest

# A 5.0 CONNECT: clean start, keep alive 30, no properties, client id "p".
CONNECT_V5 = bytes([0x10, 14, 0, 4]) + b"MQTT" + bytes([5, 2, 0, 30, 0, 0, 1]) + b"p"

pytestmark = pytest.mark.v5_missing


def broker_reply(port, seconds=5):
    """What the broker sends to a 5.0 CONNECT within `seconds`, and whether it
    closed the connection (a raw socket: no client library in between)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    s.sendall(CONNECT_V5)
    got, closed = b"", False
    end = time.monotonic() + seconds
    try:
        while time.monotonic() < end and len(got) < 4:
            s.settimeout(max(0.01, end - time.monotonic()))
            b = s.recv(16)
            if not b:
                closed = True
                break
            got += b
    except socket.timeout:
        pass
    finally:
        s.close()
    return got, closed


def paho_gets_no_connack(paho_factory):
    """paho, too, gets no CONNACK to a 5.0 CONNECT with a property."""
    p = paho_factory(connect=False, alias_max=10)
    p.connect(wait=False)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and p.connack is None:  # Silence is what is proven.
        time.sleep(0.1)
    assert p.connack is None, "paho got a CONNACK: %r (remove the deviation)" % (p.connack,)


def test_v5_refused(broker, port, version, kind, ours, paho_factory, note, prove):
    dev = broker.deviations.get("v5_connect")
    if dev:
        prove("v5_connect", lambda: paho_gets_no_connack(paho_factory))
        note(dev)
        e = ours.connect(port, version, expect=None)
        assert e.kind == "lost" and "ConnAck" in e["why"], e.line
        return
    def replies_0x01():
        reply, _ = broker_reply(port)
        assert reply == bytes([0x20, 2, 0, 1]), "broker's reply to 5.0 CONNECT: %r" % reply

    prove("v5_reply", replies_0x01)
    e = ours.connect(port, version, expect=None)
    assert e.kind == "lost", e.line
    assert "5.0" in e["why"] and "support" in e["why"], e.line
