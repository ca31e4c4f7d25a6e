"""The will: published when our client's link dies without DISCONNECT,
not published after a clean DISCONNECT."""


def test_will(broker, port, version, kind, ours, paho, topic):
    w = topic + "/will"
    paho.subscribe(w, 1)
    # A clean DISCONNECT: no will. The marker, published after our client
    # has closed, must be the first message on the topic.
    ours.connect(port, version, will_topic=w, will_payload=b"gone", will_qos=1)
    ours.disconnect()
    paho.publish(w, b"marker", qos=1)
    got = paho.wait_messages(w, 1)
    assert got[0].payload == b"marker", "will published after a clean DISCONNECT: %r" % got[0].payload
    # The link dies: the will.
    ours.connect(port, version, will_topic=w, will_payload=b"gone", will_qos=1)
    ours.drop()
    got = paho.wait_messages(w, 2)
    assert [m.payload for m in got[1:]] == [b"gone"], [m.payload for m in got]
    assert got[1].qos == 1
