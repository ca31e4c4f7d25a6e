//! Scenarios against a real mosquitto, run for each protocol version by
//! tests/broker_v311.rs and tests/broker_v5.rs.

use std::time::{Duration, Instant};

use mqttas::session::State;
use mqttas::wire::Property;
use mqttas::{QoS, Version};

use super::{unique, Mosquitto, Options, Peer, PeerOptions, Seen, PATIENCE};

const ALL_QOS: [QoS; 3] = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce];

fn n(qos: QoS) -> u8 {
    qos as u8
}

/// Publish at each QoS: our messages come back through our own
/// subscription and reach a second client; the second client's messages
/// reach us at each QoS (inbound QoS 1 and 2 handshakes); QoS 2 arrives
/// exactly once.
pub fn pubsub_each_qos(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("pubsub");
    let mut a = Peer::connected("a", &addr, &PeerOptions::new(v, &unique("a")));
    let mut b = Peer::connected("b", &addr, &PeerOptions::new(v, &unique("b")));
    let filter = format!("{base}/#");
    assert_eq!(
        a.subscribe(&filter, QoS::ExactlyOnce, &[]),
        vec![2],
        "granted QoS"
    );
    assert_eq!(
        b.subscribe(&filter, QoS::ExactlyOnce, &[]),
        vec![2],
        "granted QoS"
    );

    let mut ids = Vec::new();
    for qos in ALL_QOS {
        let topic = format!("{base}/from-a/{}", n(qos));
        let id = a.publish(&topic, format!("a at {}", n(qos)).as_bytes(), qos, false);
        assert_eq!(
            id == 0,
            qos == QoS::AtMostOnce,
            "packet id {id} for QoS {}",
            n(qos)
        );
        ids.push(id);
    }
    for qos in ALL_QOS {
        let topic = format!("{base}/from-a/{}", n(qos));
        for peer in [&mut a, &mut b] {
            let m = peer.expect_message(&topic);
            assert_eq!(
                m.payload,
                format!("a at {}", n(qos)).as_bytes(),
                "{}",
                peer.name
            );
            assert_eq!(m.qos, qos, "{}: delivered QoS", peer.name);
            assert!(!m.retain && !m.dup, "{}: flags of {m:?}", peer.name);
        }
    }
    for id in ids.into_iter().filter(|&id| id != 0) {
        assert_eq!(a.expect_published(id), 0, "reason code of publication {id}");
    }
    assert_eq!(a.driver.client().pending_publications(), 0);

    for qos in ALL_QOS {
        let topic = format!("{base}/from-b/{}", n(qos));
        let id = b.publish(&topic, format!("b at {}", n(qos)).as_bytes(), qos, false);
        // mosquitto forwards a QoS 2 message once it has b's PUBREL: let b
        // finish its handshake first (one peer is polled at a time).
        if id != 0 {
            assert_eq!(b.expect_published(id), 0);
        }
        let m = a.expect_message(&topic);
        assert_eq!(
            (m.payload.as_slice(), m.qos),
            (format!("b at {}", n(qos)).as_bytes(), qos)
        );
    }

    // Fence: once this arrives, everything b sent before it has arrived.
    let fence = format!("{base}/fence");
    b.publish_acked(&fence, b"", QoS::AtLeastOnce, false);
    a.expect_message(&fence);
    let dups: Vec<_> = a.take_messages(&format!("{base}/from-"));
    assert!(
        dups.iter().all(|m| m.qos != QoS::ExactlyOnce),
        "QoS 2 messages delivered twice: {dups:?}"
    );
    assert_eq!(a.driver.client().state(), State::Connected);
}

/// A retained message reaches a later subscriber with RETAIN set; a live
/// one does not carry it; an empty retained message clears it.
pub fn retained(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("retained");
    let topic = format!("{base}/state");
    let mut a = Peer::connected("a", &addr, &PeerOptions::new(v, &unique("a")));
    a.publish_acked(&topic, b"on", QoS::AtLeastOnce, true);

    let mut b = Peer::connected("b", &addr, &PeerOptions::new(v, &unique("b")));
    b.subscribe(&format!("{base}/#"), QoS::AtLeastOnce, &[]);
    let m = b.expect_message(&topic);
    assert_eq!(
        (m.payload.as_slice(), m.retain, m.qos),
        (&b"on"[..], true, QoS::AtLeastOnce)
    );

    a.publish_acked(&topic, b"off", QoS::AtLeastOnce, true);
    let m = b.expect_message(&topic);
    assert_eq!(
        (m.payload.as_slice(), m.retain),
        (&b"off"[..], false),
        "live delivery"
    );

    a.publish_acked(&topic, b"", QoS::AtLeastOnce, true);
    b.expect_message(&topic);
    let mut c = Peer::connected("c", &addr, &PeerOptions::new(v, &unique("c")));
    c.subscribe(&format!("{base}/#"), QoS::AtLeastOnce, &[]);
    let fence = format!("{base}/fence");
    a.publish_acked(&fence, b"", QoS::AtLeastOnce, false);
    c.expect_message(&fence);
    assert!(
        c.take_messages(&topic).is_empty(),
        "cleared retained message still delivered"
    );
}

/// The will is published when a client dies (socket dropped without
/// DISCONNECT), not when it disconnects properly.
pub fn will(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("will");
    let topic = format!("{base}/status");
    let mut watcher = Peer::connected("watcher", &addr, &PeerOptions::new(v, &unique("w")));
    watcher.subscribe(&topic, QoS::AtLeastOnce, &[]);

    let mut polite_opts = PeerOptions::new(v, &unique("polite"));
    polite_opts.will = Some((
        topic.clone(),
        b"polite gone".to_vec(),
        QoS::AtLeastOnce,
        false,
    ));
    let mut polite = Peer::connected("polite", &addr, &polite_opts);
    polite.disconnect();

    let mut dying_opts = PeerOptions::new(v, &unique("dying"));
    dying_opts.will = Some((
        topic.clone(),
        b"dying gone".to_vec(),
        QoS::AtLeastOnce,
        false,
    ));
    let mut dying = Peer::connected("dying", &addr, &dying_opts);
    dying.driver.drop_link();
    let m = watcher.expect_message(&topic);
    assert_eq!(
        (m.payload.as_slice(), m.qos),
        (&b"dying gone"[..], QoS::AtLeastOnce)
    );
    // The polite client's will, had it been sent, would have come first.
    assert!(
        watcher.take_messages(&topic).is_empty(),
        "will sent after a proper DISCONNECT"
    );
    let reason = dying.expect_lost(PATIENCE);
    assert!(reason.contains("link down"), "{reason}");
}

/// After UNSUBSCRIBE nothing more arrives on the filter.
pub fn unsubscribe(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("unsub");
    let mut a = Peer::connected("a", &addr, &PeerOptions::new(v, &unique("a")));
    let mut b = Peer::connected("b", &addr, &PeerOptions::new(v, &unique("b")));
    a.subscribe(&format!("{base}/u/#"), QoS::AtLeastOnce, &[]);
    a.subscribe(&format!("{base}/fence"), QoS::AtLeastOnce, &[]);
    b.publish_acked(&format!("{base}/u/1"), b"1", QoS::AtLeastOnce, false);
    a.expect_message(&format!("{base}/u/1"));

    a.unsubscribe(&format!("{base}/u/#"));
    b.publish_acked(&format!("{base}/u/2"), b"2", QoS::AtLeastOnce, false);
    b.publish_acked(&format!("{base}/fence"), b"", QoS::AtLeastOnce, false);
    a.expect_message(&format!("{base}/fence"));
    assert!(
        a.take_messages(&format!("{base}/u/")).is_empty(),
        "delivered after UNSUBSCRIBE"
    );
}

/// Kept session (clean = false) with persistence on, across a broker
/// restart: messages published while we were away arrive after we come
/// back, and our QoS 1/2 publications made while the broker was down are
/// delivered once it returns; nothing lost, QoS 2 once.
pub fn session_across_restart(v: Version) {
    let mut broker = Mosquitto::start(Options::persistent());
    let addr = broker.addr();
    let base = unique("kept");
    let keeper_opts = PeerOptions::new(v, &unique("keeper")).persistent();
    let mut k = Peer::new("keeper", &keeper_opts);
    assert!(
        !k.connect(&addr, &keeper_opts),
        "new client id, yet session present"
    );
    assert_eq!(
        k.subscribe(&format!("{base}/#"), QoS::ExactlyOnce, &[]),
        vec![2]
    );
    k.disconnect();

    // Published while we are away: the broker queues them for our session.
    let mut p = Peer::connected("publisher", &addr, &PeerOptions::new(v, &unique("pub")));
    p.publish_acked(
        &format!("{base}/away/1"),
        b"while away 1",
        QoS::AtLeastOnce,
        false,
    );
    p.publish_acked(
        &format!("{base}/away/2"),
        b"while away 2",
        QoS::ExactlyOnce,
        false,
    );
    p.disconnect();

    broker.restart();
    assert!(
        k.connect(&addr, &keeper_opts),
        "session lost across the restart"
    );
    let m = k.expect_message(&format!("{base}/away/1"));
    assert_eq!(
        (m.payload.as_slice(), m.qos),
        (&b"while away 1"[..], QoS::AtLeastOnce)
    );
    let m = k.expect_message(&format!("{base}/away/2"));
    assert_eq!(
        (m.payload.as_slice(), m.qos),
        (&b"while away 2"[..], QoS::ExactlyOnce)
    );

    // A second kept session to see our publications made during the outage.
    let witness_opts = PeerOptions::new(v, &unique("witness")).persistent();
    let mut w = Peer::new("witness", &witness_opts);
    w.connect(&addr, &witness_opts);
    w.subscribe(&format!("{base}/down/#"), QoS::ExactlyOnce, &[]);

    broker.stop();
    k.expect_lost(PATIENCE);
    w.expect_lost(PATIENCE);
    let id1 = k.publish(
        &format!("{base}/down/1"),
        b"while down 1",
        QoS::AtLeastOnce,
        false,
    );
    let id2 = k.publish(
        &format!("{base}/down/2"),
        b"while down 2",
        QoS::ExactlyOnce,
        false,
    );
    assert!(id1 != 0 && id2 != 0 && id1 != id2, "packet ids {id1} {id2}");
    assert_eq!(
        k.driver.client().pending_publications(),
        2,
        "stored while the broker is down"
    );

    broker.restart();
    assert!(
        k.reconnect(&keeper_opts),
        "session lost across the second restart"
    );
    assert_eq!(k.expect_published(id1), 0);
    assert_eq!(k.expect_published(id2), 0);
    assert_eq!(k.driver.client().pending_publications(), 0);
    for (i, qos) in [(1, QoS::AtLeastOnce), (2, QoS::ExactlyOnce)] {
        let topic = format!("{base}/down/{i}");
        let m = k.expect_message(&topic);
        assert_eq!(
            (m.payload, m.qos),
            (format!("while down {i}").into_bytes(), qos)
        );
    }
    assert!(w.connect(&addr, &witness_opts), "witness session lost");
    for (i, qos) in [(1, QoS::AtLeastOnce), (2, QoS::ExactlyOnce)] {
        let m = w.expect_message(&format!("{base}/down/{i}"));
        assert_eq!(
            (m.payload, m.qos),
            (format!("while down {i}").into_bytes(), qos)
        );
    }

    let mut p = Peer::connected("publisher", &addr, &PeerOptions::new(v, &unique("pub")));
    let fence = format!("{base}/down/fence");
    p.publish_acked(&fence, b"", QoS::AtLeastOnce, false);
    for peer in [&mut k, &mut w] {
        peer.expect_message(&fence);
        let again = peer.take_messages(&format!("{base}/down/2"));
        assert!(
            again.is_empty(),
            "{}: QoS 2 message delivered twice: {again:?}",
            peer.name
        );
    }
}

/// With keep alive 1 s the client pings on its own, across a wrap of the
/// u32 clock; mosquitto's log counts the PINGREQs (it would also drop a
/// silent client, but only checks every few seconds).
pub fn keepalive_across_clock_wrap(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let id = unique("pinger");
    let mut opts = PeerOptions::new(v, &id);
    opts.config.keep_alive = 1;
    // Wraps 1.5 s into the test.
    opts.clock = Some(u32::MAX - 1500);
    let mut p = Peer::connected("pinger", &addr, &opts);
    let before = p.driver.now();
    p.pump(Duration::from_secs(4));
    let after = p.driver.now();
    assert!(
        after < before,
        "the clock did not wrap: {before} -> {after}"
    );
    assert!(
        !p.inbox().iter().any(|s| matches!(s, Seen::Lost(_))),
        "connection lost: {:?}",
        p.inbox()
    );
    assert_eq!(p.driver.client().state(), State::Connected);
    let pings = broker
        .log()
        .matches(&format!("Received PINGREQ from {id}"))
        .count();
    assert!(pings >= 4, "{pings} PINGREQs in 4 s with keep alive 1 s");

    let topic = format!("{id}/after-wrap");
    p.subscribe(&topic, QoS::ExactlyOnce, &[]);
    p.publish_acked(&topic, b"still here", QoS::ExactlyOnce, false);
    assert_eq!(p.expect_message(&topic).payload, b"still here");
}

/// A broker that stops answering (SIGSTOP) is detected within
/// response_time of the next ping.
pub fn frozen_broker_detected(v: Version) {
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let mut opts = PeerOptions::new(v, &unique("frozen"));
    opts.config.keep_alive = 2;
    opts.config.response_time_ms = 1000;
    let mut p = Peer::connected("p", &addr, &opts);
    broker.freeze();
    let start = Instant::now();
    let reason = p.expect_lost(Duration::from_secs(6));
    let took = start.elapsed();
    broker.thaw();
    assert!(
        reason.contains("PingResp"),
        "lost for another reason: {reason}"
    );
    // Ping after 500 ms of silence, then 1 s for the answer.
    assert!(took < Duration::from_secs(3), "took {took:?} to notice");
    assert!(
        !p.driver.is_link_up(),
        "socket left open after ConnectionLost"
    );
}

/// User name and password: a wrong password is refused with the broker's
/// code, the right one is accepted.
pub fn password(v: Version) {
    let broker = Mosquitto::start(Options {
        users: vec![("alice".into(), "s3cret".into())],
        ..Options::default()
    });
    let addr = broker.addr();
    let mut opts = PeerOptions::new(v, &unique("auth"));
    opts.username = Some("alice".into());
    opts.password = Some(b"wrong".to_vec());
    let mut p = Peer::new("wrong", &opts);
    p.start_connect(&addr, &opts);
    let reason = p.expect_lost(PATIENCE);
    assert!(reason.contains("refused"), "{reason}");
    if v == Version::V311 {
        assert!(reason.contains("CONNACK 5"), "{reason}");
    }
    assert_eq!(p.driver.client().state(), State::Disconnected);

    opts.password = Some(b"s3cret".to_vec());
    let mut p = Peer::connected("right", &addr, &opts);
    p.publish_acked("auth/ok", b"", QoS::AtLeastOnce, false);
}

/// 5.0: user properties of a PUBLISH and our subscription identifier come
/// back with the message.
pub fn user_properties_and_subscription_id() {
    let v = Version::V5;
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("props");
    let mut a = Peer::connected("a", &addr, &PeerOptions::new(v, &unique("a")));
    let mut b = Peer::connected("b", &addr, &PeerOptions::new(v, &unique("b")));
    a.subscribe(
        &format!("{base}/#"),
        QoS::AtLeastOnce,
        &[Property::SubscriptionIdentifier(42)],
    );
    a.subscribe(
        &format!("{base}/+/x"),
        QoS::AtLeastOnce,
        &[Property::SubscriptionIdentifier(7)],
    );
    let props = [
        Property::UserProperty("colour", "green"),
        Property::UserProperty("size", "7"),
    ];
    let topic = format!("{base}/only");
    let id = b
        .driver
        .publish(&topic, b"p", QoS::AtLeastOnce, false, &props)
        .expect("publish");
    assert_eq!(b.expect_published(id), 0);
    let m = a.expect_message(&topic);
    let want = vec![
        ("colour".to_string(), "green".to_string()),
        ("size".to_string(), "7".to_string()),
    ];
    assert_eq!(m.user, want);
    assert_eq!(m.subscription_ids, vec![42]);

    // Matching both subscriptions: each identifier comes with a copy (or
    // both with one, as the broker chooses).
    let topic = format!("{base}/y/x");
    let id = b
        .driver
        .publish(&topic, b"q", QoS::AtLeastOnce, false, &[])
        .expect("publish");
    assert_eq!(b.expect_published(id), 0);
    let mut ids = a.expect_message(&topic).subscription_ids;
    a.pump(Duration::from_millis(300));
    for m in a.take_messages(&topic) {
        ids.extend(m.subscription_ids);
    }
    ids.sort_unstable();
    assert_eq!(ids, vec![7, 42]);
}

/// 5.0: with an empty client id the broker assigns one; the session keeps
/// it, so the next connection finds the same session.
pub fn server_assigned_client_id() {
    let v = Version::V5;
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let opts = PeerOptions::new(v, "").persistent();
    let mut p = Peer::new("anonymous", &opts);
    p.start_connect(&addr, &opts);
    let assigned = match p.expect("CONNACK", |s| {
        matches!(s, Seen::Connected { .. } | Seen::Lost(_))
    }) {
        Seen::Connected {
            assigned_id: Some(id),
            session_present: false,
        } => id,
        other => panic!("expected a CONNACK with an assigned client id, got {other:?}"),
    };
    assert!(!assigned.is_empty());
    let topic = format!("{assigned}/t");
    p.subscribe(&topic, QoS::AtLeastOnce, &[]);
    p.disconnect();

    let mut other = Peer::connected("other", &addr, &PeerOptions::new(v, &unique("o")));
    other.publish_acked(&topic, b"kept", QoS::AtLeastOnce, false);

    assert!(
        p.connect(&addr, &opts),
        "assigned client id not reused: no session present"
    );
    assert_eq!(p.expect_message(&topic).payload, b"kept");
    assert!(
        broker.log().matches(&format!(" as {assigned} ")).count() >= 2,
        "broker log does not show two connections as {assigned}"
    );
}

/// QoS 1 and 2 publications in flight when the broker crashes (frozen,
/// then SIGKILL: it never read them) are sent again after the restart with
/// the same packet ids and DUP set, and delivered once.
pub fn inflight_resent_after_broker_crash(v: Version) {
    let mut broker = Mosquitto::start(Options::persistent());
    let addr = broker.addr();
    let base = unique("crash");
    let kid = unique("sender");
    let k_opts = PeerOptions::new(v, &kid).persistent();
    let w_opts = PeerOptions::new(v, &unique("witness")).persistent();
    let mut k = Peer::new("sender", &k_opts);
    let mut w = Peer::new("witness", &w_opts);
    k.connect(&addr, &k_opts);
    w.connect(&addr, &w_opts);
    w.subscribe(&format!("{base}/#"), QoS::ExactlyOnce, &[]);
    // A graceful restart saves the subscription for certain.
    broker.restart();
    k.expect_lost(PATIENCE);
    w.expect_lost(PATIENCE);
    assert!(k.connect(&addr, &k_opts), "sender session lost");
    assert!(w.connect(&addr, &w_opts), "witness session lost");

    broker.freeze();
    let id1 = k.publish(
        &format!("{base}/1"),
        b"in flight 1",
        QoS::AtLeastOnce,
        false,
    );
    let id2 = k.publish(
        &format!("{base}/2"),
        b"in flight 2",
        QoS::ExactlyOnce,
        false,
    );
    k.pump(Duration::from_millis(100));
    broker.kill();
    k.expect_lost(PATIENCE);
    w.expect_lost(PATIENCE);
    assert_eq!(k.driver.client().pending_publications(), 2);

    broker.restart();
    assert!(k.reconnect(&k_opts), "sender session lost in the crash");
    assert_eq!(k.expect_published(id1), 0);
    assert_eq!(k.expect_published(id2), 0);
    let log = broker.log();
    for (id, qos) in [(id1, 1), (id2, 2)] {
        let resent = format!("Received PUBLISH from {kid} (d1, q{qos}, r0, m{id},");
        assert!(
            log.contains(&resent),
            "no `{resent}` in the broker log:\n{log}"
        );
    }
    assert!(
        w.connect(&addr, &w_opts),
        "witness session lost in the crash"
    );
    for (i, qos) in [(1, QoS::AtLeastOnce), (2, QoS::ExactlyOnce)] {
        let m = w.expect_message(&format!("{base}/{i}"));
        assert_eq!(
            (m.payload, m.qos),
            (format!("in flight {i}").into_bytes(), qos)
        );
    }
    let fence = format!("{base}/fence");
    k.publish_acked(&fence, b"", QoS::AtLeastOnce, false);
    w.expect_message(&fence);
    let again = w.take_messages(&format!("{base}/2"));
    assert!(again.is_empty(), "QoS 2 message delivered twice: {again:?}");
}

/// 5.0 outbound topic aliases (issue 12, defect 8): set with a topic, then
/// used alone, at QoS 0 and 1; mosquitto (Topic Alias Maximum 10) resolves
/// them for a subscriber; after a reconnection, whose broker knows no
/// alias, the topic is sent again.
pub fn outbound_topic_aliases() {
    let v = Version::V5;
    let broker = Mosquitto::start(Options::default());
    let addr = broker.addr();
    let base = unique("alias");
    let mut a = Peer::connected("a", &addr, &PeerOptions::new(v, &unique("a")));
    let opts = PeerOptions::new(v, &unique("b"));
    let mut b = Peer::connected("b", &addr, &opts);
    a.subscribe(&format!("{base}/#"), QoS::AtLeastOnce, &[]);
    let topic = format!("{base}/t");
    let alias = [Property::TopicAlias(1)];
    for (i, (t, qos)) in [
        (topic.as_str(), QoS::AtMostOnce),
        ("", QoS::AtMostOnce),
        ("", QoS::AtLeastOnce),
    ]
    .into_iter()
    .enumerate()
    {
        let payload = [b'0' + i as u8];
        let id = b
            .driver
            .publish(t, &payload, qos, false, &alias)
            .expect("publish");
        if qos == QoS::AtLeastOnce {
            assert_eq!(b.expect_published(id), 0);
        }
        assert_eq!(a.expect_message(&topic).payload, payload, "message {i}");
    }
    // Above mosquitto's maximum (10): refused before anything is sent.
    assert!(matches!(
        b.driver.publish(
            &topic,
            b"x",
            QoS::AtMostOnce,
            false,
            &[Property::TopicAlias(11)]
        ),
        Err(mqttas::driver::Error::Client(mqttas::Error::TopicAlias(_)))
    ));
    // A new connection: the alias alone would be a protocol error there.
    b.driver.drop_link();
    b.expect_lost(PATIENCE);
    b.reconnect(&opts);
    b.driver
        .publish("", b"3", QoS::AtMostOnce, false, &alias)
        .expect("publish");
    assert_eq!(a.expect_message(&topic).payload, b"3");
    b.pump(Duration::from_millis(200));
    assert!(
        !b.inbox().iter().any(|s| matches!(s, Seen::Lost(_))),
        "the broker closed the connection: {:?}",
        b.inbox()
    );
}
