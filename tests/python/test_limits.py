"""What the client keeps to whatever a broker sends, against a scripted
broker (RawBroker, tests/lib/fakebroker.py): a maximum packet size
(config['max_packet_size'], 65536 by default), announced in MQTT 5.0 and
enforced in 3.1.1 by skipping the message with a log line, so that a
200 MB PUBLISH is never assembled and memory stays bounded (peak RSS
measured) (issue 12, defect 5); what a broker says when it ends or refuses
a connection reaches the application (defect 7); a broker beyond our
Receive Maximum is reported (defect 1)."""

import asyncio
import re

import pytest

from fakebroker import CONNECT, DISCONNECT, PUBACK, PUBCOMP, PUBREC, SUBSCRIBE, RawBroker
from test_apps import finish, launch

BIG = 200 * 1024 * 1024


def script(conn):
    """CONNACK, SUBACK, then a 200 MB QoS 1 PUBLISH streamed 1 MB at a
    time, then a small one on 'last'; wait for the client to go."""
    conn.handshake()
    conn.suback()
    try:
        conn.publish("big/one", qos=1, pid=1, size=BIG)
        conn.publish("last", b"ok", qos=1, pid=2)
    except (BrokenPipeError, ConnectionResetError):
        return  # The client closed (5.0: after DISCONNECT 0x95).
    while True:
        conn.read()


def connect_props(body):
    """Raw CONNECT properties of a 5.0 CONNECT body (short lengths)."""
    n = body[10]
    return body[11:11 + n]


def test_v311_200mb_message_is_skipped_with_bounded_memory():
    b = RawBroker(script).start()
    try:
        p = launch("cpython", "app_bigmsg.py", b.port, 3, "default")
        out = finish(p, timeout=300)
        assert b.done.wait(10), "the broker's connection did not end"
    finally:
        b.stop()
    assert not b.errors, b.errors
    size = 5 + 2 + 7 + 2 + BIG  # fixed header, topic, packet id, payload
    line = "mqtt_as: message on 'big/one' skipped: %d bytes, above max_packet_size (65536)" % size
    assert line in out, out
    assert "got [(b'last', 2)]" in out, out
    rss = int(re.search(r"peak_rss_mb (\d+)", out).group(1))
    assert rss < 120, "peak RSS %d MB for a skipped 200 MB message:\n%s" % (rss, out)
    # Both acknowledged: the skipped one is not sent again.
    acks = [body[:2] for _, body in b.of(PUBACK)]
    assert b"\x00\x01" in acks and b"\x00\x02" in acks, acks


def test_v5_max_packet_size_is_announced_and_enforced():
    b = RawBroker(script).start()
    try:
        p = launch("cpython", "app_bigmsg.py", b.port, 5, 1000)
        out = finish(p, timeout=300)
        assert b.done.wait(10), "the broker's connection did not end"
    finally:
        b.stop()
    assert not b.errors, b.errors
    # CONNECT property 0x27: 1000.
    _, body = b.of(CONNECT)[0]
    assert b"\x27\x00\x00\x03\xe8" in connect_props(body), body
    # The broker ignored it: a protocol error, DISCONNECT 0x95, and the 200 MB
    # never held.
    assert any(body[:1] == b"\x95" for _, body in b.of(DISCONNECT)), b.received[-3:]
    rss = int(re.search(r"peak_rss_mb (\d+)", out).group(1))
    assert rss < 120, out


@pytest.mark.parametrize("v", [3, 5])
def test_max_packet_size_config(v):
    import mqtt_as
    from mqtt_as import MQTTClient

    c = dict(mqtt_as.config, server="127.0.0.1", mqttv5=(v == 5))
    assert MQTTClient(c)._core is not None
    for bad in (-1, "1", 1 << 29, 1.5):
        with pytest.raises(ValueError, match="max_packet_size"):
            MQTTClient(dict(c, max_packet_size=bad))


# ---- what the broker says when it ends or refuses (defect 7) ----


def _client(port, **kw):
    import mqtt_as
    from conftest import client_id

    return dict(mqtt_as.config, server="127.0.0.1", port=port, client_id=client_id(),
                response_time=3, **kw)


def test_v5_broker_disconnect_reason_string_is_logged(capsys):
    from conftest import run
    from mqtt_as import MQTTClient

    def disconnecting(conn):
        conn.handshake()
        conn.expect(SUBSCRIBE)  # Connected for sure.
        # DISCONNECT 0x89 (server busy), reason string "come back later".
        why = b"come back later"
        props = bytes([0x1F]) + len(why).to_bytes(2, "big") + why
        conn.send(bytes([0xE0, 2 + len(props), 0x89, len(props)]) + props)
        while True:
            conn.read()

    b = RawBroker(disconnecting).start()
    client = MQTTClient(_client(b.port, mqttv5=True, hold_down=3600))
    client.DEBUG = True

    async def main():
        await client.connect()
        asyncio.create_task(client.subscribe("a", 1))
        for _ in range(200):
            if not client.isconnected():
                break
            await asyncio.sleep(0.01)
        client.close()

    try:
        run(main())
    finally:
        b.stop()
    out = capsys.readouterr().out
    assert ('Connection lost: broker closed the connection: server busy (0x89): "come back later"'
            in out), out


def test_v311_only_broker_refusing_v5_says_so():
    from conftest import run
    from mqtt_as import MQTTClient

    def v311_only(conn):
        # A 3.1.1 broker's answer to protocol level 5: CONNACK return code 1.
        conn.handshake(connack=bytes([0x20, 2, 0, 1]))
        while True:
            conn.read()

    b = RawBroker(v311_only).start()
    client = MQTTClient(_client(b.port, mqttv5=True))

    async def main():
        with pytest.raises(OSError) as e:
            await client.connect()
        client.close()
        return str(e.value)

    try:
        text = run(main())
    finally:
        b.stop()
    assert "broker does not support MQTT 5.0" in text, text
    assert "0x84" in text, text


def test_v5_broker_beyond_receive_maximum_is_reported(capsys):
    # Issue 12 defect 1: mosquitto 2.0.11 sends more unreleased QoS 2
    # messages than the Receive Maximum we announce (16). The client takes
    # them (its id table has room) and says how far the broker went, once
    # for the connection, as the C and Rust clients do.
    from conftest import run
    from mqtt_as import MQTTClient

    n = 24

    def flooding(conn):
        conn.handshake()
        conn.suback()
        for pid in range(1, n + 1):
            conn.publish("q2", b"m%d" % pid, qos=2, pid=pid)
        recs = [conn.expect(PUBREC) for _ in range(n)]
        for _, _, body in recs:
            conn.send(bytes([0x62, 2]) + body[:2])  # PUBREL
        for _ in range(n):
            conn.expect(PUBCOMP)
        while True:
            conn.read()

    b = RawBroker(flooding).start()
    got = []
    client = MQTTClient(_client(b.port, mqttv5=True, subs_cb=lambda t, m, r, p: got.append(m)))

    async def main():
        await client.connect()
        await client.subscribe("q2", 2)
        for _ in range(500):
            if len(got) >= n and len(b.of(PUBCOMP)) >= n:
                break
            await asyncio.sleep(0.01)
        await client.disconnect()

    try:
        run(main())
    finally:
        b.stop()
    assert not b.errors, b.errors
    assert sorted(got) == sorted(b"m%d" % i for i in range(1, n + 1)), got
    out = capsys.readouterr().out
    assert ("mqtt_as: the broker exceeded our Receive Maximum (16): up to 24 unreleased QoS 2 "
            "messages, 8 beyond it" in out), out
