"""Retained messages both ways, and clearing one."""


def first_on(who, t, n=1):
    got = who.wait_messages(t, n)
    assert len(got) >= n, "nothing on %s" % t
    return got


def test_retained_out(broker, port, version, kind, ours, paho_factory, topic):
    """Our retained publication reaches later subscribers with the retain
    flag; an empty retained publication clears it."""
    t = topic + "/r"
    ours.connect(port, version)
    ours.publish(t, b"kept", qos=1, retain=True)
    late = paho_factory()
    late.subscribe(t, 1)
    m = first_on(late, t)[0]
    assert (m.payload, m.retain) == (b"kept", True)
    ours.publish(t, b"", qos=1, retain=True)
    later = paho_factory()
    later.subscribe(t, 1)
    # A live message: a retained one, if any were left, would come first.
    ours.publish(t, b"live", qos=1)
    m = first_on(later, t)[0]
    assert (m.payload, m.retain) == (b"live", False), "the retained message was not cleared: %r" % m.payload
    ours.disconnect()


def test_retained_in(broker, port, version, kind, ours, paho, topic):
    """A retained message comes to our new subscription with the retain
    flag; a live message on the same topic without it."""
    t = topic + "/r"
    paho.publish(t, b"kept", qos=1, retain=True)
    ours.connect(port, version)
    ours.subscribe(t, 1)
    m = ours.wait_messages(t, 1)[0]
    assert (m.payload, m["retain"]) == (b"kept", "1")
    paho.publish(t, b"live", qos=1)
    got = ours.wait_messages(t, 2)
    assert [(m.payload, m["retain"]) for m in got] == [(b"kept", "1"), (b"live", "0")]
    paho.publish(t, b"", qos=1, retain=True)
    ours.disconnect()
