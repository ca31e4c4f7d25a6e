"""A clean DISCONNECT is not an outage: after disconnect() the client
reports no lost connection (mqtt_as: no wifi_coro(False), which mqtt_as
0.8.3 calls only when the link goes down by itself). Right after a QoS 2
delivery, as in test_session_resume where it was seen; a few rounds, as the
broker's close races the client's."""


def test_clean_disconnect(broker, port, version, kind, ours, paho, topic):
    t = topic + "/d"
    said = []
    for i in range(5):
        ours.connect(port, version)
        start = ours.cursor
        ours.subscribe(t, 2)
        paho.publish(t, b"m%d" % i, qos=2)
        ours.wait(lambda e: e.kind == "msg" and e.payload == b"m%d" % i)
        ours.disconnect()
        ours.sync()
        said += [e.line for e in ours.events[start:ours.cursor]]
    assert not [line for line in said if line.startswith("lost")], said
