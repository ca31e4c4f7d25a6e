"""_mqttas (the ctypes binding) over the real core, without a broker: the
interface both implementations share."""

import pytest

import _mqttas as m

# Buffer defaults: (rx, rx with 5.0, tx, store, inbound QoS 2 ids, outbound
# topic aliases), as mqtt_as.options gives them.
SIZES = (1024, 1024, 1024, 4096, 64, 1024)


def client(**config):
    """A Client from an mqtt_as config (server and client id filled in)."""
    c = {"server": "x", "client_id": "id"}
    c.update(config)
    return m.Client(c, SIZES)


def sent(c, now):
    """The next bytes to send as one bytes: a PUBLISH's head and its lent
    payload joined, as the link sends them one after the other."""
    out = c.poll_transmit(now)
    if type(out) is tuple:
        head, payload = out
        return head + bytes(payload)
    return out


def connected(**kw):
    c = client(**kw)
    c.connect(0)
    assert c.poll_transmit(0).startswith(b"\x10")
    assert c.handle_input(1, b"\x20\x02\x00\x00") == 4
    assert c.poll_event() == (m.CONNECTED, False, None)
    return c


def test_connect_bytes_and_states():
    c = client(keepalive=30, client_id="abc", user="u", password=b"p", will=("w/t", b"bye", True, 1))
    assert c.state() == m.STATE_DISCONNECTED
    assert c.poll_deadline() is None
    c.connect(100)
    assert c.state() == m.STATE_CONNECTING
    # MQTT 3.1.1 CONNECT: clean session, will QoS 1 retained, user, password.
    assert c.poll_transmit(100) == (
        b"\x10\x1f\x00\x04MQTT\x04\xee\x00\x1e\x00\x03abc\x00\x03w/t\x00\x03bye\x00\x01u\x00\x01p"
    )
    assert c.poll_transmit(100) is None
    assert c.poll_deadline() == 100 + 10000  # response_time for CONNACK
    c.handle_input(200, b"\x20\x02\x00\x00")
    assert c.poll_event() == (m.CONNECTED, False, None)
    assert c.state() == m.STATE_CONNECTED
    assert c.poll_deadline() == 200 + 30000 // 4 - 100  # ping after keepalive/4 idle (last tx at 100)


def test_refused_connection_is_a_lost_event_with_text():
    c = client()
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, b"\x20\x02\x00\x05")
    ev = c.poll_event()
    assert ev[0] == m.LOST and ev[1] == m.LOST_REFUSED and ev[2] == 5
    # Why, in the core's words, without "connection lost: ".
    assert ev[3] == "broker refused the connection: not authorised (CONNACK 5)"


def test_publish_qos1_roundtrip_and_events():
    c = connected()
    slot = c.publish(2, "a/b", b"hi", qos=1)
    assert slot == [None, 1] and c.pending() == 1
    assert sent(c, 2) == b"\x32\x09\x00\x03a/b\x00\x01hi"
    c.handle_input(3, b"\x40\x02\x00\x01")
    assert c.poll_event() == (m.PUBLISHED, 1, 0)
    assert c.pending() == 0


def test_qos1_resent_after_link_loss_with_same_id_and_dup():
    c = client(clean_init=False, clean=False)
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, b"\x20\x02\x00\x00")
    c.poll_event()
    pid = c.publish(2, "t", b"x", qos=1)[1]
    first = sent(c, 2)
    c.handle_link_down(3)
    ev = c.poll_event()
    assert ev[0] == m.LOST and ev[1] == m.LOST_LINK_DOWN
    c.connect(4)
    c.poll_transmit(4)
    c.handle_input(5, b"\x20\x02\x01\x00")  # session present
    c.poll_event()
    assert c.stats() == {"republished": 0}
    again = sent(c, 6)
    assert again[0] == first[0] | 0x08  # DUP
    assert again[1:] == first[1:]  # same packet id, same message
    assert pid == 1
    # The core counts what it sent again: nobody reads the bytes for it.
    assert c.stats() == {"republished": 1}


def test_inbound_messages_qos2_props_and_chunks():
    c = connected(rx_size=64)
    c.handle_input(2, b"\x34\x08\x00\x01t\x00\x07hey")
    assert c.poll_event() == (m.MESSAGE, b"t", b"hey", 2, False, False, 7, None)
    assert c.poll_transmit(2) == b"\x50\x02\x00\x07"  # PUBREC
    big = b"\x30\x67\x00\x01t" + bytes(range(100))
    n = c.handle_input(3, big)
    assert n == 64
    events = []
    rest = big[n:]
    while True:
        ev = c.poll_event()
        if ev is None:
            if not rest:
                break
            k = c.handle_input(4, rest)
            rest = rest[k:]
            continue
        events.append(ev)
    assert events[0] == (m.MSG_START, b"t", 100, 0, False, False, 0, None)
    assert b"".join(e[1] for e in events[1:-1]) == bytes(range(100))
    assert events[-1] == (m.MSG_END,)


def test_v5_properties_both_ways():
    c = client(mqttv5=True, mqttv5_con_props={0x26: {"k": "v"}})
    c.connect(0)
    assert b"\x26\x00\x01k\x00\x01v" in c.poll_transmit(0)
    # CONNACK with a topic alias maximum and a reason string.
    c.handle_input(1, b"\x20\x0b\x00\x00\x08\x22\x00\x05\x1f\x00\x02ok")
    assert c.poll_event() == (m.CONNECTED, False, {0x22: 5, 0x1F: "ok"})
    c.publish(2, "t", b"x", qos=0, properties={0x09: b"\x00\x01", 0x26: [("a", "1"), ("b", "2")], 0x02: 60})
    tx = sent(c, 2)
    assert b"\x09\x00\x02\x00\x01" in tx and b"\x26\x00\x01a\x00\x011" in tx and b"\x26\x00\x01b\x00\x012" in tx
    # Inbound PUBLISH with user properties and correlation data.
    props = b"\x26\x00\x01a\x00\x011\x26\x00\x01b\x00\x012\x09\x00\x01\xff"
    body = b"\x00\x01t" + bytes([len(props)]) + props + b"pl"
    c.handle_input(3, bytes([0x30, len(body)]) + body)
    ev = c.poll_event()
    assert ev[:3] == (m.MESSAGE, b"t", b"pl")
    assert ev[7] == {0x26: {"a": "1", "b": "2"}, 0x09: b"\xff"}


def test_errors_are_valueerror_or_oserror_with_code():
    c = client()
    with pytest.raises(OSError) as e:
        c.publish(0, "t", b"x", qos=0)
    assert e.value.args[0] == m.ERR_NOT_CONNECTED and type(e.value) is OSError
    assert "not connected" in e.value.args[1]
    c = connected(store_size=64)
    with pytest.raises(ValueError, match="wildcard"):
        c.publish(2, "a/+", b"x")
    with pytest.raises(ValueError, match="larger than the buffers"):
        c.publish(2, "a" * 60, b"x", qos=1)  # its head does not fit
    with pytest.raises(ValueError):
        c.publish(2, "a", b"x", qos=3)
    with pytest.raises(ValueError, match="not available in this MQTT version"):
        c.publish(2, "a", b"x", properties={0x02: 5})
    with pytest.raises(ValueError, match=r"config\['rx_size'\] must be an integer in 64"):
        client(rx_size=10)
    with pytest.raises(TypeError, match="payload must be str or bytes"):
        c.publish(2, "a", 5)
    with pytest.raises(OSError) as e:
        c.connect(3)
    assert e.value.args[0] == m.ERR_ALREADY_CONNECTED
    # Store full: a result to wait on, not a failure.
    c.publish(3, "a", b"x" * 20, qos=1)
    with pytest.raises(OSError) as e:
        c.publish(3, "a", b"x" * 20, qos=1)
    assert e.value.args[0] == m.ERR_STORE_FULL


def test_payloads_are_lent_not_copied():
    # A store and a tx buffer of 64 bytes hold the heads only: the payload
    # goes from the object given to publish() (never copied into them),
    # the same object again when sent again, and is let go once done.
    import sys
    c = client(store_size=64, tx_size=64, clean_init=False, clean=False)
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, b"\x20\x02\x00\x00")
    c.poll_event()
    big = bytes(range(256)) * 4
    refs = sys.getrefcount(big)
    pid = c.publish(2, "t", big, qos=1)[1]
    head, payload = c.poll_transmit(2)
    assert head == b"\x32\x85\x08\x00\x01t\x00" + bytes([pid]) and payload is big
    del payload
    c.handle_link_down(3)
    assert c.poll_event()[0] == m.LOST
    c.connect(4)
    c.poll_transmit(4)
    c.handle_input(5, b"\x20\x02\x01\x00")  # session present: sent again
    c.poll_event()
    head, payload = c.poll_transmit(6)
    assert head[0] == 0x3A and payload is big  # DUP, from the same object
    del payload
    assert sys.getrefcount(big) > refs  # still lent
    c.handle_input(7, b"\x40\x02\x00" + bytes([pid]))
    assert c.poll_event() == (m.PUBLISHED, pid, 0)
    assert sys.getrefcount(big) == refs  # let go after PUBACK
    # QoS 0, larger than tx, after a subscription in the same batch.
    c.subscribe(8, [("s", 0)])
    c.publish(8, "q", big)
    head, payload = c.poll_transmit(8)
    assert head.startswith(b"\x82") and head.endswith(b"\x30\x83\x08\x00\x01q") and payload is big
    # A mutable buffer is taken as it was when published.
    buf = bytearray(b"abc")
    c.publish(9, "t", buf, qos=1)
    buf[:] = b"xyz"
    assert sent(c, 9).endswith(b"abc")


def test_small_qos0_messages_queue_up_large_ones_are_lent_one_at_a_time():
    # Up to 256 bytes a QoS 0 payload is copied into tx where it fits, so
    # that QoS 0 messages queue up (one write for many); a larger one is
    # lent, one at a time (the next waits for the first to be handed out).
    c = connected(tx_size=1024)
    for i in range(3):
        c.publish(2, "t", b"%d" % i * 200)
    assert sent(c, 2) == b"".join(b"\x30\xcb\x01\x00\x01t" + b"%d" % i * 200 for i in range(3))
    big = b"x" * 2000
    c.publish(3, "t", big)
    with pytest.raises(OSError) as e:
        c.publish(3, "t", big)
    assert e.value.args[0] == m.ERR_TX_FULL
    head, payload = c.poll_transmit(3)
    assert payload is big
    c.publish(3, "t", big)  # The first one handed out: room again.
    # A small one whose head and payload do not fit tx is lent instead.
    c = connected(tx_size=64)
    c.publish(4, "t" * 40, b"y" * 100)
    assert sent(c, 4) == b"\x30\x8e\x01\x00\x28" + b"t" * 40 + b"y" * 100


def test_timeout_declares_loss():
    c = connected(response_time=0.5)
    c.subscribe(10, [("a/#", 1)])
    c.poll_transmit(10)
    assert c.poll_deadline() == 510
    c.handle_timeout(509)
    assert c.poll_event() is None
    c.handle_timeout(510)
    ev = c.poll_event()
    assert ev[0] == m.LOST and ev[1] == m.LOST_TIMEOUT and "SubAck" in ev[3]
    assert c.state() == m.STATE_DISCONNECTED


def test_reconnect_policy_hold_down_backoff_bounce():
    r = m.Reconnect(hold_down_ms=100, tcp_attempts_before_bounce=2, backoff_base_ms=50,
                    backoff_cap_ms=80, jitter_percent=0, attempt_timeout_ms=1000, stable_ms=5,
                    seed=7)
    assert r.poll_action(0) == (m.ACTION_CONNECT, 0)  # first connection: at once
    assert r.poll_action(1) is None  # attempt under way
    r.handle_connected(5)
    assert r.poll_action(6) is None and r.poll_deadline() is None
    r.handle_lost(10)  # up 5 ms: stable, a plain outage
    assert r.poll_action(10) == (m.ACTION_HOLD_DOWN, 110)
    assert r.poll_action(50) == (m.ACTION_WAIT, 110)
    assert r.poll_action(110) == (m.ACTION_CONNECT, 0)
    r.handle_attempt_failed(120)
    assert r.poll_action(120) == (m.ACTION_WAIT, 170)  # backoff base
    assert r.poll_action(170) == (m.ACTION_CONNECT, 0)
    r.handle_attempt_failed(171)
    # Second failure in a row: bounce the link, held down again.
    assert r.poll_action(171) == (m.ACTION_BOUNCE_LINK, 271)
    assert r.poll_action(271) == (m.ACTION_CONNECT, 0)
    assert r.poll_deadline() == 271 + 1000  # the attempt's time limit
    # Timed out: a third failure; the backoff (50, 100, 200) stops at the cap.
    assert r.poll_action(1271) == (m.ACTION_WAIT, 1271 + 80)
    r.handle_connected(1400)
    r.handle_lost(1500, m.CAUSE_PLANNED)
    assert r.poll_action(1500) == (m.ACTION_CONNECT, 0)  # planned: no hold-down
    assert r.stats() == (1, 5, 3, 1, 1, 0, 0, 0)


def test_reconnect_policy_causes_from_lost_events():
    # The LOST event carries the core's cause; the policy takes it.
    c = client(rx_size=256, tx_size=256, store_size=256)
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, bytes([0x20, 2, 0, 5]))  # CONNACK 5: not authorised
    ev = c.poll_event()
    assert ev[0] == m.LOST and ev[1] == m.LOST_REFUSED and ev[4] == m.CAUSE_PERMANENT, ev
    r = m.Reconnect(hold_down_ms=100, backoff_base_ms=50, backoff_cap_ms=5000, jitter_percent=0,
                    stable_ms=1000, seed=1)
    assert r.poll_action(0) == (m.ACTION_CONNECT, 0)
    r.handle_attempt_failed(10, ev[4])
    assert r.poll_action(10) == (m.ACTION_WAIT, 5010), "permanent: the cap"
    assert r.poll_action(5010) == (m.ACTION_CONNECT, 0)
    # A connection lost 10 ms after CONNACK: one more failure, held down
    # for the grown backoff (50, 100, 200 ... past the 100 ms hold-down).
    waits = []
    t = 5010
    for _ in range(4):
        r.handle_connected(t)
        r.handle_lost(t + 10)
        kind, until = r.poll_action(t + 10)
        assert kind == m.ACTION_HOLD_DOWN
        waits.append(until - (t + 10))
        t = until
        assert r.poll_action(t) == (m.ACTION_CONNECT, 0)
    assert waits == [100, 200, 400, 800], waits
    r.handle_attempt_failed(t, m.CAUSE_BACK_OFF)
    assert r.poll_action(t) == (m.ACTION_WAIT, t + 1600)
    outages, attempts, failures, bounces, planned, unstable, back_offs, permanent = r.stats()
    assert (outages, unstable, back_offs, permanent) == (4, 4, 1, 1)
    with pytest.raises(ValueError):
        r.handle_lost(t, 9)  # not a cause


def test_reconnect_policy_bad_values():
    with pytest.raises(ValueError):
        m.Reconnect(jitter_percent=101)
    with pytest.raises(ValueError):
        m.Reconnect(backoff_base_ms=100, backoff_cap_ms=50)
    with pytest.raises(ValueError):
        m.Reconnect(hold_down_ms=-1)


def test_inbound_qos2_table_and_its_figures():
    # At least receive_maximum ids (issue 12, defect 1).
    assert m.Client({"server": "x", "client_id": "i", "mqttv5": True, "mqttv5_con_props": {0x21: 8}},
                    SIZES[:4] + (4, 0)).settings()["qos2_ids"] == 8
    # 5.0, receive maximum 2, room for 3 ids.
    c = m.Client({"server": "x", "client_id": "id", "mqttv5": True, "mqttv5_con_props": {0x21: 2}},
                 SIZES[:4] + (3, 0))
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, b"\x20\x03\x00\x00\x00")
    c.poll_event()
    assert c.qos2_stats() == (0, 0, 0, 0)
    # Five QoS 2 messages before any PUBREL: three tracked, two untracked
    # (clean session), all delivered and acknowledged; three came beyond
    # the receive maximum.
    for pid in range(1, 6):
        c.handle_input(2, bytes([0x34, 7, 0, 1, 0x71, 0, pid, 0, 0x78]))
        ev = c.poll_event()
        assert ev[0] == m.MESSAGE and ev[6] == pid
        assert c.poll_transmit(2)[:4] == bytes([0x50, 2, 0, pid])
    assert c.qos2_stats() == (5, 3, 2, 0)


# ---- pump(): the events as mqtt_as acts on them ------------------------------


def test_pump_delivers_messages_and_resolves_slots(capsys):
    got = []
    c = connected(rx_size=64, subs_cb=lambda *a: got.append(a))
    c.handle_input(2, b"\x30\x06\x00\x01thi!")
    assert c.pump() is None and got == [(b"t", b"hi!", False)]  # 3.1.1: no properties
    # Larger than rx: assembled, then delivered whole.
    big = b"\x31\x67\x00\x01t" + bytes(range(100))
    rest = big
    while rest:
        rest = rest[c.handle_input(3, rest):]
        c.pump()
    assert got[-1] == (b"t", bytes(range(100)), True)
    # A command's slot: its acknowledgement in slot[0].
    pub = c.publish(4, "a", b"x", qos=1)
    sub = c.subscribe(4, [("s/#", 1)])
    assert c.publish(4, "a", b"x", qos=0) is None
    while c.poll_transmit(4):
        pass
    c.handle_input(5, b"\x40\x02\x00" + bytes([pub[1]]) + b"\x90\x03\x00" + bytes([sub[1]]) + b"\x01")
    assert c.pump() is None
    assert pub == [0, pub[1]] and sub == [b"\x01", sub[1]]
    # A faulty callback is printed, not raised.
    c.cb = lambda *a: 1 / 0
    c.handle_input(6, b"\x30\x04\x00\x01tx")
    assert c.pump() is None
    assert "ZeroDivisionError" in capsys.readouterr().err


def test_pump_gives_pieces_to_chunk_cb_and_skips_above_max_packet_size(capsys):
    pieces = []
    c = connected(rx_size=64, max_packet_size=1000, chunk_cb=lambda *a: pieces.append(a))
    big = b"\x30\x67\x00\x01t" + bytes(range(100))
    rest = big
    while rest:
        rest = rest[c.handle_input(3, rest):]
        c.pump()
    assert b"".join(p[1] for p in pieces) == bytes(range(100))
    # (topic, data, offset, total, retained, properties)
    assert [p[2] for p in pieces] == [sum(len(q[1]) for q in pieces[:i]) for i in range(len(pieces))]
    assert all(p[0] == b"t" and p[3] == 100 and p[4] is False and p[5] is None for p in pieces)
    # 3.1.1 cannot tell the broker its maximum: a larger message is skipped.
    body = b"\x00\x01t" + b"x" * 1200
    rest = b"\x30" + bytes([len(body) & 0x7F | 0x80, len(body) >> 7]) + body
    while rest:
        rest = rest[c.handle_input(4, rest):]
        c.pump()
    assert "mqtt_as: message on 't' skipped: 1206 bytes, above max_packet_size (1000)" in capsys.readouterr().out


def test_pump_reports_a_loss_and_ends_requests():
    c = connected(response_time=0.5)
    sub = c.subscribe(10, [("a/#", 1)])
    c.poll_transmit(10)
    c.handle_link_down(11, "link failed: reset")  # Our words for the loss.
    assert c.pump() == "link failed: reset"
    assert sub[0] is False  # Asked again on the next connection.
    assert c.take_cause() == m.CAUSE_OUTAGE
    # A refused CONNECT: connack is the loss's text, the cause permanent.
    c.connect(20)
    assert c.connack is None
    c.poll_transmit(20)
    c.handle_input(21, b"\x20\x02\x00\x05")
    why = c.pump()
    assert why == c.connack == "broker refused the connection: not authorised (CONNACK 5)"
    assert c.take_cause() == m.CAUSE_PERMANENT and c.take_cause() == m.CAUSE_OUTAGE
    c.connect(30)
    c.poll_transmit(30)
    c.handle_input(31, b"\x20\x02\x00\x00")
    assert c.pump() is None and c.connack is True and not c.disc
    c.disconnect(32)
    c.pump()
    assert not c.disc  # Not yet handed out.
    c.poll_transmit(32)
    assert c.pump() is None and c.disc


def test_pump_v5_alias_maximum_and_receive_maximum_excess(capsys):
    got = []
    c = client(mqttv5=True, mqttv5_con_props={0x21: 1}, subs_cb=lambda *a: got.append(a))
    c.connect(0)
    c.poll_transmit(0)
    c.handle_input(1, b"\x20\x06\x00\x00\x03\x22\x00\x07")
    assert c.pump() is None and c.connack is True and c.topic_alias_maximum == 7
    for pid in (1, 2):
        c.handle_input(2, bytes([0x34, 7, 0, 1, 0x71, 0, pid, 0, 0x78]))
        c.poll_transmit(2)
    c.pump()
    assert got == [(b"q", b"x", False, None)] * 2  # 5.0: with the properties
    c.handle_link_down(3)
    assert c.pump() == "link down"
    out = capsys.readouterr().out
    assert "the broker exceeded our Receive Maximum (1): up to 2 unreleased QoS 2 messages, 1 beyond it" in out
