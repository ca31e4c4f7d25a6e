"""Unsubscribe: UNSUBACK, and no more messages on that filter while the
other subscription still delivers."""


def test_unsubscribe(broker, port, version, kind, ours, paho, topic):
    a, b = topic + "/a", topic + "/b"
    ours.connect(port, version)
    ours.subscribe(a, 1)
    ours.subscribe(b, 1)
    paho.publish(a, b"before", qos=1)
    assert [m.payload for m in ours.wait_messages(a, 1)] == [b"before"]
    ours.unsubscribe(a)
    # From one publisher, in order: a message on `a` would come before the
    # marker on `b`.
    paho.publish(a, b"after", qos=1)
    paho.publish(b, b"marker", qos=1)
    assert [m.payload for m in ours.wait_messages(b, 1)] == [b"marker"]
    assert [m.payload for m in ours.messages(a)] == [b"before"], "delivered after UNSUBACK"
    ours.disconnect()
