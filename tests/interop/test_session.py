"""clean=False resume: the broker keeps our client's session (its
subscriptions and the QoS 1/2 messages that came while it was away) across
a reconnection, and the client takes them without subscribing again."""

import pytest


def test_session_resume(broker, port, version, kind, ours, paho, paho_factory, topic, note, prove):
    t1, t2 = topic + "/q1", topic + "/q2"
    extra = {"expiry": 300} if version == 5 else {}
    dev = broker.deviations.get("offline_queue")
    if dev:
        prove("offline_queue", lambda: prove_offline_queue_dropped(paho_factory, paho, topic + "/paho", version))
    kept = broker.deviations.get("clean_session_kept")
    if kept:
        prove("clean_session_kept", lambda: prove_clean_session_kept(paho_factory))
        note(kept)
    ours.connect(port, version, clean=True)
    cid = ours.client_id
    ours.disconnect()
    first = ours.connect(port, version, client_id=cid, clean=False, **extra)
    # A broker that keeps an ended clean session answers 1 here; amqtt does
    # so as a rule but not always (seen 0, the spec's answer, on a loaded
    # machine: its cleanup of the clean session races our next CONNECT).
    assert first["sp"] in ((("1", "0") if kept else ("0",)) + ("-",)), first.line
    ours.subscribe(t1, 1)
    ours.subscribe(t2, 2)
    ours.disconnect()
    for i in range(3):
        paho.publish(t1, b"a%d" % i, qos=1)
        paho.publish(t2, b"b%d" % i, qos=2)
    again = ours.connect(port, version, client_id=cid, clean=False, **extra)
    assert again["sp"] in ("1", "-"), "session not kept: %r" % again.line
    if dev:
        # As paho saw: the subscriptions are kept, the messages are not.
        paho.publish(t2, b"live", qos=2)
        assert [m.payload for m in ours.wait_messages(t2, 1)] == [b"live"]
        assert ours.messages(t1) == []
        note(dev)
        ours.disconnect()
        pytest.xfail(dev)
    assert [m.payload for m in ours.wait_messages(t1, 3)] == [b"a0", b"a1", b"a2"]
    assert [m.payload for m in ours.wait_messages(t2, 3)] == [b"b0", b"b1", b"b2"]
    # Still subscribed, without subscribing again.
    paho.publish(t2, b"live", qos=2)
    assert [m.payload for m in ours.wait_messages(t2, 4)][3:] == [b"live"]
    ours.disconnect()
    # Clean up: a clean session ends the stored one.
    ours.connect(port, version, client_id=cid, clean=True)
    ours.disconnect()


def prove_offline_queue_dropped(paho_factory, publisher, t, version):
    """paho in a kept session: session present, the subscription works,
    but nothing of what came while it was away."""
    kw = {"clean": False, "session_expiry": 300} if version == 5 else {"clean": False}
    p = paho_factory(**kw)
    p.subscribe(t, 1)
    p.close()
    publisher.publish(t, b"queued", qos=1)
    p2 = paho_factory(client_id=p.client_id, **kw)
    assert p2.connack[0].session_present, "paho: no session present"
    publisher.publish(t, b"live", qos=1)
    got = [m.payload for m in p2.wait_messages(t, 1)]
    assert got == [b"live"], "the broker now keeps offline messages: %r (remove the deviation)" % got


def prove_clean_session_kept(paho_factory):
    """paho: a clean session, ended; then clean=False gets session present."""
    p = paho_factory(clean=True)
    p.close()
    p2 = paho_factory(client_id=p.client_id, clean=False)
    assert p2.connack[0].session_present, "no session present now (remove the deviation)"
    p2.close()
    paho_factory(client_id=p.client_id, clean=True).close()
