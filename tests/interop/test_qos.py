"""QoS 0, 1 and 2 both ways: our client publishes to paho through the
broker (out), paho publishes to our client (in). Every message arrives
with the QoS asked for; QoS 2 exactly once."""

import pytest

N = 5


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_qos_out(broker, port, version, kind, ours, paho, topic, qos):
    t = topic + "/out"
    assert paho.subscribe(t, qos)[0] == qos
    ours.connect(port, version)
    for i in range(N):
        ours.publish(t, b"m%d" % i, qos=qos)
    got = paho.wait_messages(t, N)
    assert sorted(m.payload for m in got) == [b"m%d" % i for i in range(N)], got
    assert {m.qos for m in got} == {qos}
    ours.disconnect()


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_qos_in(broker, port, version, kind, ours, paho, topic, qos):
    t = topic + "/in"
    ours.connect(port, version)
    assert ours.subscribe(t, qos) == [qos]
    for i in range(N):
        paho.publish(t, b"m%d" % i, qos=qos)
    got = ours.wait_messages(t, N)
    payloads = [m.payload for m in got]
    if qos == 2:
        assert payloads == [b"m%d" % i for i in range(N)], payloads
    else:
        assert sorted(set(payloads)) == [b"m%d" % i for i in range(N)], payloads
    assert {m.qos for m in got} <= {qos, None}
    ours.disconnect()
