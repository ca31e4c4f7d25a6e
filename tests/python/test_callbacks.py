"""Programs written against mqtt_as's callback interface, run against a real
mosquitto: QoS 0/1/2, retained, unsubscribe, many subscriptions, large
payloads, will, wrong credentials, mistakes caught before sending."""

import asyncio

import pytest

from conftest import Sub, make_cfg, mosquitto_pub, run
from mqtt_as import MQTTClient


def test_publish_and_receive_every_qos(cfg):
    got = []
    states = []
    connected = []

    def sub_cb(topic, msg, retained):
        got.append((topic, msg, retained))

    async def wifi_han(state):
        states.append(state)

    async def conn_han(client):
        connected.append(client)
        await client.subscribe("foo_topic/#", 2)

    cfg.update(subs_cb=sub_cb, wifi_coro=wifi_han, connect_coro=conn_han)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        assert client.isconnected()
        while not connected:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)  # SUBACK
        for qos in (0, 1, 2):
            await client.publish("foo_topic/%d" % qos, "msg %d" % qos, qos=qos)
        for _ in range(100):
            if len(got) == 3:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()
        return client

    client = run(main())
    assert sorted(got) == [(b"foo_topic/%d" % q, b"msg %d" % q, False) for q in range(3)]
    assert all(isinstance(t, bytes) and isinstance(m, bytes) for t, m, _ in got)
    assert states == [True] and connected == [client]
    assert not client.isconnected()


def test_messages_from_another_client_at_qos_1_and_2(broker, cfg):
    got = []
    cfg["subs_cb"] = lambda t, m, r: got.append((t, m))

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("in/1", 1)
        await client.subscribe("in/2", 2)
        await asyncio.get_running_loop().run_in_executor(None, mosquitto_pub, broker, "in/1", "one", 1)
        await asyncio.get_running_loop().run_in_executor(None, mosquitto_pub, broker, "in/2", "two", 2)
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert got == [(b"in/1", b"one"), (b"in/2", b"two")]


def test_an_observer_sees_what_we_publish(broker, cfg):
    sub = Sub(broker, "obs/#", qos=2)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.publish("obs/a", b"zero", qos=0)
        await client.publish("obs/b", "one", qos=1)
        await client.publish("obs/c", bytearray(b"two"), qos=2)
        await client.disconnect()

    run(main())
    assert sub.lines() == ["obs/a|0|0|zero", "obs/b|0|1|one", "obs/c|0|2|two"]


def test_retained_flag(broker, cfg):
    got = []
    cfg["subs_cb"] = lambda t, m, r: got.append((t, m, r))

    async def main():
        pub = MQTTClient(make_cfg(broker))
        await pub.connect()
        await pub.publish("ret/t", "kept", retain=True, qos=1)
        await pub.disconnect()
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("ret/#", 1)
        await asyncio.sleep(0.2)
        await pub.connect()
        await pub.publish("ret/t", "live", qos=1)
        await asyncio.sleep(0.2)
        await pub.publish("ret/t", "", retain=True, qos=1)  # Clear it.
        await pub.disconnect()
        await client.disconnect()

    run(main())
    assert got[:2] == [(b"ret/t", b"kept", True), (b"ret/t", b"live", False)]


def test_unsubscribe_stops_delivery(broker, cfg):
    got = []
    cfg["subs_cb"] = lambda t, m, r: got.append(m)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("u/t", 1)
        await client.publish("u/t", "before", qos=1)
        await asyncio.sleep(0.2)
        await client.unsubscribe("u/t")
        await client.unsubscribe("never/subscribed")  # Completes normally (MQTT 3.10.4).
        await client.publish("u/t", "after", qos=1)
        await asyncio.sleep(0.3)
        await client.disconnect()

    run(main())
    assert got == [b"before"]


def test_many_subscriptions(broker, cfg):
    got = set()
    cfg["subs_cb"] = lambda t, m, r: got.add((t, m))
    n = 60

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await asyncio.gather(*[client.subscribe("many/%d" % i, i % 3) for i in range(n)])
        await asyncio.gather(*[client.publish("many/%d" % i, str(i), qos=1) for i in range(n)])
        for _ in range(200):
            if len(got) == n:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert got == {(b"many/%d" % i, str(i).encode()) for i in range(n)}


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_8k_payloads_both_ways(broker, cfg, qos):
    got = []
    cfg["subs_cb"] = lambda t, m, r: got.append(m)
    payloads = [bytes((i + j) % 256 for j in range(8192)) for i in range(5)]
    sub = Sub(broker, "big/%d" % qos, qos=qos, fmt="%t|%q|%l")

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("big/%d" % qos, qos)
        for p in payloads:
            await client.publish("big/%d" % qos, p, qos=qos)
        for _ in range(200):
            if len(got) == len(payloads):
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert got == payloads
    # An independent client saw them too, whole.
    assert sub.lines() == ["big/%d|%d|8192" % (qos, qos)] * 5


def test_large_messages_in_chunks_with_a_small_receive_buffer(broker, cfg):
    whole = []
    pieces = []

    def chunk_cb(topic, data, offset, total, retained, props):
        pieces.append((topic, offset, total, bytes(data)))

    cfg.update(rx_size=256, subs_cb=lambda t, m, r: whole.append(m), chunk_cb=chunk_cb)
    big = bytes(range(256)) * 40  # 10 KiB

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("chunk/t", 1)
        await client.publish("chunk/t", b"small", qos=1)
        await client.publish("chunk/t", big, qos=1)
        for _ in range(100):
            if pieces and pieces[-1][1] + len(pieces[-1][3]) == len(big):
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert whole == [b"small"]
    assert len(pieces) > 1 and all(p[0] == b"chunk/t" and p[2] == len(big) for p in pieces)
    offsets = [p[1] for p in pieces]
    assert offsets == sorted(offsets) and offsets[0] == 0
    assert b"".join(p[3] for p in pieces) == big


def test_large_messages_assembled_without_chunk_cb(broker, cfg):
    got = []
    cfg.update(rx_size=128, subs_cb=lambda t, m, r: got.append(m))
    big = b"abcdefgh" * 2000

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        await client.subscribe("asm/t", 2)
        await client.publish("asm/t", big, qos=2)
        for _ in range(100):
            if got:
                break
            await asyncio.sleep(0.02)
        await client.disconnect()

    run(main())
    assert got == [big]


def test_will_on_failure_not_on_disconnect(broker, cfg):
    sub = Sub(broker, "will/#", qos=1)
    c1 = make_cfg(broker, will=("will/a", "gone a", False, 1), keepalive=5)
    c2 = make_cfg(broker, will=("will/b", "gone b", True, 1), keepalive=5)

    async def main():
        a = MQTTClient(c1)
        b = MQTTClient(c2)
        await a.connect()
        await b.connect()
        await a.disconnect()  # DISCONNECT suppresses the will.
        b.close()  # The socket just closes: the broker publishes the will.
        await asyncio.sleep(0.5)

    run(main())
    assert sub.lines() == ["will/b|0|1|gone b"]


def test_wrong_credentials_raise_oserror_on_first_connect(make_broker):
    b = make_broker(passwords={"alice": "secret"})

    async def main(user, password):
        client = MQTTClient(make_cfg(b, user=user, password=password))
        await client.connect()
        await client.publish("auth/t", "in", qos=1)
        await client.disconnect()

    with pytest.raises(OSError) as e:
        run(main("alice", "wrong"))
    assert "not authorised" in str(e.value) and "CONNACK 5" in str(e.value)
    with pytest.raises(OSError):
        run(main("mallory", "x"))
    run(main("alice", "secret"))


def test_no_broker_raises_oserror_on_first_connect(cfg, broker):
    broker.stop()

    async def main():
        await MQTTClient(cfg).connect()

    with pytest.raises(OSError):
        run(main())


def test_mistakes_raise_before_anything_is_sent(broker, cfg):
    sub = Sub(broker, "#", qos=2)

    async def main():
        client = MQTTClient(cfg)
        await client.connect()
        with pytest.raises(ValueError, match="wildcard"):
            await client.publish("bad/+", "x")
        with pytest.raises(ValueError, match="wildcard"):
            await client.publish("bad/#", "x")
        with pytest.raises(ValueError, match="empty"):
            await client.publish("", "x")
        with pytest.raises(ValueError, match="qos must be 0, 1 or 2"):
            await client.publish("bad/t", "x", qos=3)
        with pytest.raises(ValueError, match="qos must be 0, 1 or 2"):
            await client.publish("bad/t", "x", qos=-1)
        with pytest.raises(TypeError, match="payload must be"):
            await client.publish("bad/t", 42)
        # The core's rules: '#' a whole level and the last one, '+' a whole level.
        with pytest.raises(ValueError, match="topic filter 'bad/#/x': invalid topic .*misplaced wildcard"):
            await client.subscribe("bad/#/x", 1)
        with pytest.raises(ValueError, match="topic filter 'bad/a\\+': invalid topic .*misplaced wildcard"):
            await client.subscribe("bad/a+", 1)
        with pytest.raises(ValueError, match="qos must be 0, 1 or 2"):
            await client.subscribe("bad/t", 5)
        # The payload is lent (any size goes), the head must fit the buffer.
        with pytest.raises(ValueError, match="larger than the buffers"):
            await client.publish("bad/" + "t" * 65530, b"x", qos=0)
        assert client.isconnected()
        await client.publish("ok/t", "fine", qos=1)
        await client.disconnect()

    run(main())
    assert sub.lines() == ["ok/t|0|1|fine"]
