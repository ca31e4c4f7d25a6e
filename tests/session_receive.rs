//! Inbound messages: QoS 0/1/2, exactly once for QoS 2 (in one connection
//! and across a reconnect), chunked delivery of messages larger than the
//! receive buffer, 5.0 topic aliases, a full receive buffer.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{LostReason, Qos2Stats, State};
use mqttas::wire::{DecodeError, Packet, PacketType, Properties, Property, Publish, QoS};
use mqttas::{Config, Version};
use sim::{
    config, kept, v311, v5, Cut, Delivered, Dir, Ev, Pair, Pkt, Reply, Rng, Sizes, VERSIONS,
};

/// (kind, id) of the client's acks on connection `conn`.
fn acks_on(p: &Pair, conn: u32) -> Vec<(PacketType, u16)> {
    p.broker
        .up()
        .filter(|r| r.conn == conn)
        .filter(|r| {
            matches!(
                r.pkt,
                Pkt::PubAck { .. } | Pkt::PubRec { .. } | Pkt::PubRel { .. } | Pkt::PubComp { .. }
            )
        })
        .map(|r| (r.pkt.kind().unwrap(), r.pkt.id().unwrap()))
        .collect()
}

fn payloads(d: &[Delivered]) -> Vec<Vec<u8>> {
    d.iter().map(|m| m.payload.clone()).collect()
}

#[test]
fn qos0_qos1_qos2_are_delivered_and_acknowledged() {
    use PacketType::*;
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.broker.publish("a/0", b"zero", QoS::AtMostOnce);
        let i1 = p.broker.publish("a/1", b"one", QoS::AtLeastOnce);
        let i2 = p.broker.publish("a/2", b"two", QoS::ExactlyOnce);
        p.pump();
        let evs = p.take_events();
        let got: Vec<_> = evs
            .iter()
            .map(|e| match e {
                Ev::Message(m) => (
                    m.topic.as_str(),
                    &m.payload[..],
                    m.qos,
                    m.packet_id,
                    m.dup,
                    m.retain,
                ),
                e => panic!("unexpected {e:?}"),
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a/0", &b"zero"[..], QoS::AtMostOnce, 0, false, false),
                ("a/1", &b"one"[..], QoS::AtLeastOnce, i1, false, false),
                ("a/2", &b"two"[..], QoS::ExactlyOnce, i2, false, false),
            ],
            "{v:?}"
        );
        assert_eq!(
            acks_on(&p, 1),
            vec![(PubAck, i1), (PubRec, i2), (PubComp, i2)]
        );
        assert_eq!(p.broker.outbound_pending(), 0);
    }
}

#[test]
fn qos1_redelivery_is_delivered_and_acknowledged_again() {
    // At least once: a DUP QoS 1 is a message the app may see twice.
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.lose_up = Some(Box::new(|pkt| matches!(pkt, Pkt::PubAck { .. })));
    let id = p.broker.publish("a", b"x", QoS::AtLeastOnce);
    p.pump();
    p.broker.lose_up = None;
    p.broker.resend_inflight();
    p.pump();
    let m = p.messages();
    assert_eq!(m.len(), 2);
    assert!(!m[0].dup && m[1].dup);
    assert_eq!(acks_on(&p, 1), vec![(PacketType::PubAck, id)]);
    assert_eq!(
        p.broker.log.iter().filter(|r| r.dir == Dir::LostUp).count(),
        1
    );
}

#[test]
fn retained_flag_and_properties_are_reported() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    let props = vec![
        Property::UserProperty("k", "v"),
        Property::MessageExpiryInterval(30),
    ];
    p.broker
        .publish_with("r", b"x", QoS::AtLeastOnce, true, props.clone());
    p.pump();
    match &p.take_events()[..] {
        [Ev::Message(m)] => {
            assert!(m.retain);
            assert_eq!(m.props, props);
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn qos2_duplicate_before_pubrel_is_not_delivered_twice() {
    use PacketType::*;
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        // The first PUBREC is lost: the broker sends the PUBLISH again.
        let mut lost = false;
        p.broker.lose_up = Some(Box::new(move |pkt| {
            let hit = !lost && matches!(pkt, Pkt::PubRec { .. });
            lost |= hit;
            hit
        }));
        let id = p.broker.publish("q2", b"once", QoS::ExactlyOnce);
        p.pump();
        assert_eq!(p.messages().len(), 1);
        for _ in 0..3 {
            p.broker.resend_inflight();
            p.pump();
        }
        assert_eq!(payloads(&p.messages()), vec![b"once".to_vec()], "{v:?}");
        assert_eq!(p.broker.outbound_pending(), 0);
        assert_eq!(acks_on(&p, 1), vec![(PubRec, id), (PubComp, id)]);
        // A duplicate after PUBCOMP would be a new message with that id.
        let again = p.broker.publish("q2", b"twice", QoS::ExactlyOnce);
        assert_ne!(again, 0);
        p.pump();
        assert_eq!(
            payloads(&p.messages()),
            vec![b"once".to_vec(), b"twice".to_vec()]
        );
    }
}

#[test]
fn qos2_same_id_reused_after_pubcomp_is_a_new_message() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    // Packets sent by hand: the broker's session knows nothing of them.
    p.broker.strict = false;
    for i in 0..3u8 {
        p.broker.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::ExactlyOnce,
            retain: false,
            topic: "q",
            packet_id: Some(9),
            properties: Properties::List(&[]),
            payload: &[i],
        }));
        p.pump();
        p.broker.send(&Packet::PubRel(mqttas::wire::Ack {
            packet_id: 9,
            reason: mqttas::ReasonCode::SUCCESS,
            properties: Properties::List(&[]),
        }));
        p.pump();
    }
    assert_eq!(payloads(&p.messages()), vec![vec![0], vec![1], vec![2]]);
}

#[test]
fn qos2_exactly_once_across_a_reconnect() {
    use PacketType::*;
    for v in VERSIONS {
        for cut in [Cut::Before, Cut::After] {
            // Before: the broker never gets PUBREC and resends the PUBLISH.
            // After: it got PUBREC but its PUBREL is lost; it resends PUBREL.
            let mut p = Pair::new(kept(v));
            p.connect_ok();
            p.broker.cut_when = Some(Box::new(move |pkt| match pkt {
                Pkt::PubRec { .. } => cut,
                _ => Cut::No,
            }));
            let id = p.broker.publish("q2", b"once", QoS::ExactlyOnce);
            p.pump();
            assert!(!p.link_up);
            assert_eq!(p.take_events().len(), 2, "message, then link down");
            p.broker.cut_when = None;
            assert!(p.connect_ok());
            p.pump();
            assert_eq!(
                payloads(&p.messages()),
                vec![b"once".to_vec()],
                "{v:?} {cut:?}"
            );
            let want = match cut {
                Cut::Before => vec![(PubRec, id), (PubComp, id)],
                _ => vec![(PubComp, id)],
            };
            assert_eq!(acks_on(&p, 2), want, "{v:?} {cut:?}");
            let redelivered = p
                .broker
                .down()
                .filter(|r| r.conn == 2)
                .filter_map(|r| r.pkt.publish())
                .count();
            assert_eq!(redelivered, if cut == Cut::Before { 1 } else { 0 });
            assert_eq!(p.broker.outbound_pending(), 0);
        }
    }
}

#[test]
fn qos1_unacknowledged_is_redelivered_after_reconnect() {
    let mut p = Pair::new(kept(Version::V311));
    p.connect_ok();
    p.broker.cut_when = Some(Box::new(|pkt| {
        if matches!(pkt, Pkt::PubAck { .. }) {
            Cut::Before
        } else {
            Cut::No
        }
    }));
    let id = p.broker.publish("q1", b"x", QoS::AtLeastOnce);
    p.pump();
    p.broker.cut_when = None;
    assert!(p.connect_ok());
    p.pump();
    let m = p.messages();
    assert_eq!(m.len(), 2, "at least once: delivered again");
    assert!(m[1].dup);
    assert_eq!(acks_on(&p, 2), vec![(PacketType::PubAck, id)]);
}

#[test]
fn messages_queued_while_offline_arrive_on_reconnect() {
    let mut p = Pair::new(kept(Version::V5));
    p.connect_ok();
    p.cut();
    for i in 0..5u8 {
        p.broker.publish(
            "off",
            &[i],
            if i % 2 == 0 {
                QoS::AtLeastOnce
            } else {
                QoS::ExactlyOnce
            },
        );
    }
    assert!(p.connect_ok());
    p.pump();
    assert_eq!(
        payloads(&p.messages()),
        (0..5u8).map(|i| vec![i]).collect::<Vec<_>>()
    );
    assert_eq!(p.broker.outbound_pending(), 0);
}

fn big_payload(n: usize) -> Vec<u8> {
    let mut r = Rng::new(n as u64);
    r.bytes(n)
}

#[test]
fn large_message_arrives_in_chunks_at_every_qos() {
    let payload = big_payload(50 * 1024);
    for v in VERSIONS {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            for segment in [usize::MAX, 1460, 100, 1] {
                if segment == 1 && qos != QoS::ExactlyOnce {
                    continue; // byte by byte once is enough
                }
                let mut p = Pair::with(
                    config(v),
                    Sizes {
                        rx: 1024,
                        ..Sizes::default()
                    },
                    0,
                );
                p.segment = segment;
                p.connect_ok();
                let id = p.broker.publish("big/file", &payload, qos);
                p.pump();
                let evs = p.take_events();
                let ctx = format!("{v:?} {qos:?} segment {segment}");
                match evs.first() {
                    Some(Ev::MessageStart(s)) => {
                        assert_eq!(s.topic, "big/file", "{ctx}");
                        assert_eq!(s.total_len as usize, payload.len(), "{ctx}");
                        assert_eq!(s.qos, qos, "{ctx}");
                        assert_eq!(s.packet_id, id, "{ctx}");
                    }
                    e => panic!("{ctx}: first event {e:?}"),
                }
                assert_eq!(evs.last(), Some(&Ev::MessageEnd), "{ctx}");
                let m = p.messages();
                assert_eq!(m.len(), 1, "{ctx}");
                assert!(m[0].chunked);
                assert!(m[0].payload == payload, "{ctx}: content differs");
                assert!(
                    m[0].chunks.iter().all(|&c| c > 0 && c <= 1024),
                    "{ctx}: chunk sizes {:?}",
                    m[0].chunks
                );
                // The acknowledgement goes after the last chunk.
                let end_seq = p
                    .events
                    .iter()
                    .find(|e| e.ev == Ev::MessageEnd)
                    .unwrap()
                    .seq;
                for r in p
                    .broker
                    .up()
                    .filter(|r| matches!(r.pkt, Pkt::PubAck { .. } | Pkt::PubRec { .. }))
                {
                    assert!(r.seq > end_seq, "{ctx}: {:?} before MessageEnd", r.pkt);
                }
                let want = match qos {
                    QoS::AtMostOnce => vec![],
                    QoS::AtLeastOnce => vec![(PacketType::PubAck, id)],
                    QoS::ExactlyOnce => vec![(PacketType::PubRec, id), (PacketType::PubComp, id)],
                };
                assert_eq!(acks_on(&p, 1), want, "{ctx}");
                assert_eq!(p.broker.outbound_pending(), 0);
                // The link is still usable afterwards.
                p.broker.publish("small", b"after", QoS::AtLeastOnce);
                p.pump();
                assert_eq!(p.messages().last().unwrap().payload, b"after".to_vec());
                assert!(!p.messages().last().unwrap().chunked);
            }
        }
    }
}

#[test]
fn chunked_messages_back_to_back_with_small_ones() {
    let mut p = Pair::with(
        v5(),
        Sizes {
            rx: 512,
            ..Sizes::default()
        },
        0,
    );
    p.segment = 700;
    p.connect_ok();
    let mut want = Vec::new();
    let mut r = Rng::new(7);
    for i in 0..40 {
        let n = r.range(0, 3000) as usize;
        let payload = r.bytes(n);
        let qos = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][i % 3];
        p.broker.publish(&format!("mix/{i}"), &payload, qos);
        want.push((format!("mix/{i}"), payload));
    }
    p.pump();
    // The broker's window holds QoS 1/2 back while QoS 0 goes: compare
    // by topic (and keep megabytes of payload out of a failure message).
    let mut got: Vec<_> = p
        .messages()
        .into_iter()
        .map(|m| (m.topic, m.payload))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g.0, w.0);
        assert!(g.1 == w.1, "payload of {} differs", g.0);
    }
    assert_eq!(p.broker.outbound_pending(), 0);
    assert!(p.lost().is_empty());
}

#[test]
fn qos2_chunked_duplicate_is_not_delivered_twice() {
    let payload = big_payload(8 * 1024);
    let mut p = Pair::with(
        v311(),
        Sizes {
            rx: 512,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    let mut lost = false;
    p.broker.lose_up = Some(Box::new(move |pkt| {
        let hit = !lost && matches!(pkt, Pkt::PubRec { .. });
        lost |= hit;
        hit
    }));
    p.broker.publish("big", &payload, QoS::ExactlyOnce);
    p.pump();
    p.broker.resend_inflight();
    p.pump();
    let m = p.messages();
    assert_eq!(
        m.len(),
        1,
        "a duplicate of a chunked QoS 2 message was delivered again"
    );
    assert!(m[0].payload == payload);
    assert_eq!(p.broker.outbound_pending(), 0);
}

#[test]
fn link_cut_inside_a_chunked_message() {
    let payload = big_payload(20 * 1024);
    let mut p = Pair::with(
        kept(Version::V311),
        Sizes {
            rx: 1024,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    p.cut_after_down_bytes = Some(9_000);
    p.broker.publish("big", &payload, QoS::AtLeastOnce);
    p.pump();
    assert!(!p.link_up);
    let evs = p.take_events();
    assert!(matches!(evs.first(), Some(Ev::MessageStart(_))));
    assert_eq!(evs.last(), Some(&Ev::ConnectionLost(LostReason::LinkDown)));
    assert!(!evs.contains(&Ev::MessageEnd));
    assert!(p.messages().is_empty());
    assert!(p.connect_ok());
    p.pump();
    let m = p.messages();
    assert_eq!(m.len(), 1);
    assert!(m[0].payload == payload && m[0].dup);
}

#[test]
fn full_receive_buffer_takes_fewer_bytes_then_the_rest() {
    for v in VERSIONS {
        let mut p = Pair::with(
            config(v),
            Sizes {
                rx: 1024,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        // Ten 300-byte messages at once: more than the receive buffer.
        p.segment = 0; // the pair delivers nothing: this test feeds by hand
        for i in 0..10u8 {
            p.broker
                .publish(&format!("f/{i}"), &[i; 300], QoS::AtMostOnce);
        }
        let mut rest = std::mem::take(&mut p.broker.to_client);
        assert!(rest.len() > 3000);
        let mut got = Vec::new();
        let mut short = 0;
        let mut rounds = 0;
        while !rest.is_empty() {
            rounds += 1;
            assert!(rounds < 1000, "no progress");
            let n = p.client.handle_input(p.now, &rest);
            assert!(n <= rest.len());
            if n < rest.len() {
                short += 1;
                // Offering again without taking events takes nothing more.
                assert_eq!(
                    p.client.handle_input(p.now, &rest[n..]),
                    0,
                    "{v:?}: took bytes into a full buffer"
                );
            }
            rest.drain(..n);
            let mut events = 0;
            while let Some(e) = p.client.poll_event() {
                events += 1;
                got.push(Ev::from_event(&e));
            }
            assert!(
                n > 0 || events > 0,
                "{v:?}: handle_input took nothing and there was no event to take"
            );
        }
        assert!(
            short > 0,
            "{v:?}: handle_input always took everything into a 1 KiB buffer"
        );
        let m = sim::record::assemble(&got);
        assert_eq!(m.len(), 10);
        for (i, d) in m.iter().enumerate() {
            assert_eq!(d.topic, format!("f/{i}"));
            assert_eq!(d.payload, vec![i as u8; 300]);
            assert!(!d.chunked);
        }
        assert_eq!(p.state(), State::Connected);
    }
}

#[test]
fn v5_inbound_topic_alias_set_then_used() {
    let cfg = Config {
        topic_alias_maximum: 4,
        ..v5()
    };
    let mut p = Pair::with(
        cfg,
        Sizes {
            aliases: 256,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    let send = |p: &mut Pair, topic: &str, alias: u16, payload: &[u8]| {
        let props = [Property::TopicAlias(alias)];
        p.broker.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: Properties::List(&props),
            payload,
        }));
        p.pump();
    };
    send(&mut p, "sensors/kitchen/temp", 1, b"21");
    send(&mut p, "", 1, b"22");
    send(&mut p, "sensors/hall/temp", 2, b"19");
    send(&mut p, "", 1, b"23");
    send(&mut p, "", 2, b"18");
    // Rebinding alias 1.
    send(&mut p, "other", 1, b"x");
    send(&mut p, "", 1, b"y");
    let got: Vec<_> = p
        .messages()
        .into_iter()
        .map(|m| (m.topic, m.payload))
        .collect();
    let want: Vec<(String, Vec<u8>)> = [
        ("sensors/kitchen/temp", "21"),
        ("sensors/kitchen/temp", "22"),
        ("sensors/hall/temp", "19"),
        ("sensors/kitchen/temp", "23"),
        ("sensors/hall/temp", "18"),
        ("other", "x"),
        ("other", "y"),
    ]
    .iter()
    .map(|(t, p)| (t.to_string(), p.as_bytes().to_vec()))
    .collect();
    assert_eq!(got, want);
    assert!(p.lost().is_empty());
}

/// `setup`, then a PUBLISH with an empty topic and `alias`: the connection
/// ends with `want`, and in 5.0 its DISCONNECT `code`.
fn alias_error(setup: impl Fn(&mut Pair), alias: u16, want: DecodeError, code: u8) {
    let cfg = Config {
        topic_alias_maximum: 4,
        ..v5()
    };
    let mut p = Pair::with(
        cfg,
        Sizes {
            aliases: 256,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    setup(&mut p);
    p.pump();
    if p.link_up {
        let props = [Property::TopicAlias(alias)];
        p.broker.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "",
            packet_id: None,
            properties: Properties::List(&props),
            payload: b"?",
        }));
        p.pump();
    }
    assert_eq!(
        p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Protocol(want)],
        "alias {alias}"
    );
    let last = p.broker.up().last().unwrap();
    assert!(
        matches!(last.pkt, Pkt::Disconnect { reason, .. } if reason == code),
        "{:?}",
        last.pkt
    );
    assert!(!p.link_up);
    assert_eq!(p.state(), State::Disconnected);
}

#[test]
fn v5_unknown_topic_alias_with_an_empty_topic_is_a_protocol_error_0x82() {
    // 5.0 3.3.4: no mapping for the alias and a zero-length topic name: a
    // Protocol Error (0x82); 0x94 is for aliases of 0 or above the maximum.
    let unknown = DecodeError::UnknownTopicAlias;
    alias_error(|_| {}, 1, unknown, 0x82);
    alias_error(|_| {}, 3, unknown, 0x82);
}

#[test]
fn v5_topic_alias_above_our_maximum_or_zero_is_a_protocol_error() {
    let set = |alias: u16| {
        move |p: &mut Pair| {
            let props = [Property::TopicAlias(alias)];
            // Setting an out-of-range alias is already the error.
            p.broker.send(&Packet::Publish(Publish {
                dup: false,
                qos: QoS::AtMostOnce,
                retain: false,
                topic: "t",
                packet_id: None,
                properties: Properties::List(&props),
                payload: b"!",
            }));
        }
    };
    alias_error(set(5), 5, DecodeError::InvalidTopicAlias, 0x94);
    // Alias 0 cannot even be encoded: inject its bytes.
    alias_error(
        |p: &mut Pair| {
            p.broker
                .inject(&[0x30, 8, 0x00, 0x01, b't', 3, 0x23, 0x00, 0x00, b'!']);
        },
        0,
        DecodeError::InvalidTopicAlias,
        0x94,
    );
}

#[test]
fn v5_topic_aliases_do_not_survive_a_reconnect() {
    let cfg = Config {
        topic_alias_maximum: 4,
        ..v5()
    };
    let mut p = Pair::with(
        cfg,
        Sizes {
            aliases: 256,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    let props = [Property::TopicAlias(1)];
    let publish = |p: &mut Pair, topic: &str| {
        p.broker.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: Properties::List(&props),
            payload: b"p",
        }));
        p.pump();
    };
    publish(&mut p, "a/b");
    p.cut();
    p.connect_ok();
    publish(&mut p, "");
    assert_eq!(p.messages().len(), 1);
    assert_eq!(
        p.lost().last().map(|l| l.1),
        Some(LostReason::Protocol(DecodeError::UnknownTopicAlias))
    );
}

/// The broker sends `total` QoS 2 messages at once, holding its PUBRELs
/// until all have come (a broker that ignores our receive maximum, as
/// mosquitto 2.0.11 does: 84 to 153 unreleased against 16), to a client of
/// `config` with room for `ids` of them (`prep` readies the broker before
/// the first connection); then it releases them. Reconnects as the client
/// asks (every connection loss must be the planned 0x93 one) until every
/// message is in.
fn flood_with(config: Config, ids: usize, total: usize, prep: impl FnOnce(&mut Pair)) -> Pair {
    let clean = config.clean;
    let version = config.version;
    let mut p = Pair::with(
        config,
        Sizes {
            qos2: ids,
            ..Sizes::default()
        },
        0,
    );
    prep(&mut p);
    p.connect_ok();
    p.broker.client_receive_max = 65_535;
    p.broker.max_inflight_out = 65_535;
    p.broker.replies.pubrel = Reply::Hold;
    for i in 0..total {
        p.broker
            .publish("q2", &(i as u16).to_be_bytes(), QoS::ExactlyOnce);
    }
    p.pump();
    for round in 0..10 {
        p.broker.release(usize::MAX);
        p.pump();
        if p.messages().len() >= total || p.link_up {
            break;
        }
        assert!(
            !clean,
            "{version:?}: a clean session never reconnects to be sent more"
        );
        assert!(p.connect_ok(), "{version:?} round {round}: session kept");
        p.pump();
    }
    p
}

/// [`flood_with`] a receive maximum of 16, clean or kept sessions.
fn flood(version: Version, ids: usize, clean: bool, total: usize) -> Pair {
    let config = Config {
        receive_maximum: 16,
        clean,
        clean_init: clean,
        ..config(version)
    };
    flood_with(config, ids, total, |_| {})
}

/// Payloads as numbers, sorted.
fn numbers(p: &Pair) -> Vec<u16> {
    let mut got: Vec<u16> = p
        .messages()
        .iter()
        .map(|m| u16::from_be_bytes([m.payload[0], m.payload[1]]))
        .collect();
    got.sort_unstable();
    got
}

#[test]
fn qos2_beyond_the_receive_maximum_is_taken_while_the_table_has_room() {
    // 150 unreleased against 16, room for 256: all taken at once, counted;
    // nothing withheld, no reconnection, every PUBCOMP a success.
    for version in VERSIONS {
        for clean in [true, false] {
            let ctx = format!("{version:?} clean={clean}");
            let p = flood(version, 256, clean, 150);
            assert_eq!(numbers(&p), (0..150).collect::<Vec<_>>(), "{ctx}");
            assert!(p.lost().is_empty(), "{ctx}: {:?}", p.lost());
            assert_eq!(p.broker.outbound_pending(), 0, "{ctx}");
            let comps: Vec<u8> = p
                .broker
                .up()
                .filter_map(|r| match r.pkt {
                    Pkt::PubComp { reason, .. } => Some(reason),
                    _ => None,
                })
                .collect();
            assert_eq!(comps, vec![0; 150], "{ctx}");
            let beyond = if version == Version::V5 { 150 - 16 } else { 0 };
            assert_eq!(
                p.client.qos2_stats(),
                Qos2Stats {
                    peak_unreleased: 150,
                    beyond_receive_maximum: beyond,
                    untracked: 0,
                    withheld: 0,
                },
                "{ctx}"
            );
        }
    }
}

#[test]
fn qos2_beyond_the_table_on_a_clean_session_is_delivered_untracked() {
    // The table (64) fills with 150 unreleased: a clean session would not
    // bring withheld messages again, so the rest are delivered and
    // acknowledged untracked, their PUBRELs answered with success; no
    // reconnection, nothing lost, nothing twice.
    for version in VERSIONS {
        let p = flood(version, 64, true, 150);
        let ctx = format!("{version:?}");
        assert_eq!(numbers(&p), (0..150).collect::<Vec<_>>(), "{ctx}");
        assert!(p.lost().is_empty(), "{ctx}: {:?}", p.lost());
        assert!(p.link_up, "{ctx}");
        assert_eq!(p.broker.outbound_pending(), 0, "{ctx}");
        assert!(
            !p.broker.up().any(|r| matches!(
                r.pkt,
                Pkt::PubComp { reason, .. } if reason != 0
            )),
            "{ctx}: a PUBCOMP that is not a success"
        );
        let s = p.client.qos2_stats();
        assert_eq!(
            (s.untracked, s.withheld, s.peak_unreleased),
            (86, 0, 150),
            "{ctx}"
        );
    }
}

#[test]
fn qos2_sent_again_with_dup_is_not_delivered_twice_when_untracked() {
    // As above, but before releasing anything the broker sends every
    // unreleased message again with DUP set (a 3.1.1 broker may, before
    // our PUBREC reaches it): those the table tracks and those delivered
    // untracked alike are acknowledged again and not delivered twice.
    for version in VERSIONS {
        let ctx = format!("{version:?}");
        let config = Config {
            receive_maximum: 16,
            ..config(version)
        };
        let sizes = Sizes {
            qos2: 64,
            ..Sizes::default()
        };
        let mut p = Pair::with(config, sizes, 0);
        p.connect_ok();
        p.broker.client_receive_max = 65_535;
        p.broker.max_inflight_out = 65_535;
        p.broker.replies.pubrel = Reply::Hold;
        // Each PUBREC that comes again brings a PUBREL again (held too): the
        // second PUBCOMP for an id finds the broker's state gone, which the
        // sim otherwise calls a violation.
        p.broker.strict = false;
        for i in 0..150u16 {
            p.broker.publish("q2", &i.to_be_bytes(), QoS::ExactlyOnce);
        }
        p.pump();
        assert_eq!(p.client.qos2_stats().untracked, 86, "{ctx}");
        for i in 0..150u16 {
            let payload = i.to_be_bytes();
            p.broker.send(&Packet::Publish(Publish {
                dup: true,
                qos: QoS::ExactlyOnce,
                retain: false,
                topic: "q2",
                packet_id: Some(i + 1),
                properties: Properties::List(&[]),
                payload: &payload,
            }));
        }
        p.pump();
        p.broker.release(usize::MAX);
        p.pump();
        assert_eq!(numbers(&p), (0..150).collect::<Vec<_>>(), "{ctx}");
        assert!(p.lost().is_empty(), "{ctx}: {:?}", p.lost());
        assert_eq!(p.broker.outbound_pending(), 0, "{ctx}");
        assert!(
            p.broker
                .violations
                .iter()
                .all(|v| v.starts_with("PUBCOMP") && v.ends_with("in state None")),
            "{ctx}: {:?}",
            p.broker.violations
        );
    }
}

#[test]
fn qos2_beyond_the_table_on_a_kept_session_is_withheld_and_sent_again() {
    // The table (64) fills with 150 unreleased on a session the broker
    // keeps: the rest are withheld (no delivery, no PUBREC); once the
    // tracked ones are released the client closes (5.0: DISCONNECT 0x93)
    // and the broker sends them again on the next connection. Every
    // message exactly once.
    for version in VERSIONS {
        let p = flood(version, 64, false, 150);
        let ctx = format!("{version:?}");
        assert_eq!(numbers(&p), (0..150).collect::<Vec<_>>(), "{ctx}");
        let lost = p.lost();
        assert!(
            !lost.is_empty(),
            "{ctx}: the client must reconnect to be sent the rest"
        );
        assert!(
            lost.iter()
                .all(|l| l.1 == LostReason::ReceiveMaximumExceeded),
            "{ctx}: {lost:?}"
        );
        let disconnects: Vec<u8> = p
            .broker
            .up()
            .filter_map(|r| match r.pkt {
                Pkt::Disconnect { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        let want = if version == Version::V5 {
            vec![0x93; lost.len()]
        } else {
            vec![]
        };
        assert_eq!(disconnects, want, "{ctx}");
        assert_eq!(p.broker.outbound_pending(), 0, "{ctx}");
        let s = p.client.qos2_stats();
        assert_eq!(s.untracked, 0, "{ctx}");
        assert!(s.withheld >= 86, "{ctx}: {s:?}");
        // The text claims a resend only where one comes.
        assert!(
            LostReason::ReceiveMaximumExceeded
                .to_string()
                .contains("kept session sends the rest again"),
            "{ctx}"
        );
    }
}

#[test]
fn qos2_table_full_with_a_clean_next_connection_is_not_withheld() {
    // clean_init false, clean true: this connection's session is kept, but
    // the next connection starts clean and would drop what is withheld:
    // deliver untracked instead of withholding.
    for version in VERSIONS {
        let config = Config {
            receive_maximum: 4,
            clean_init: false,
            clean: true,
            ..config(version)
        };
        let p = flood_with(config, 4, 10, |_| {});
        assert_eq!(numbers(&p), (0..10).collect::<Vec<_>>(), "{version:?}");
        assert!(p.lost().is_empty(), "{version:?}");
        assert_eq!(p.client.qos2_stats().untracked, 6, "{version:?}");
    }
}

#[test]
fn v5_server_session_expiry_0_in_connack_means_no_resend() {
    // The broker may shorten the session expiry in CONNACK: with 0 nothing
    // withheld would come again, so the client does not withhold.
    let config = Config {
        receive_maximum: 4,
        clean_init: false,
        clean: false,
        ..v5()
    };
    let p = flood_with(config, 4, 10, |p| {
        p.broker.connack_props = vec![Property::SessionExpiryInterval(0)];
    });
    assert_eq!(numbers(&p), (0..10).collect::<Vec<_>>());
    assert!(p.lost().is_empty());
    assert_eq!(p.client.qos2_stats().withheld, 0);
    assert_eq!(p.client.qos2_stats().untracked, 6);
}

#[test]
fn v5_receive_maximum_respected_by_the_broker_is_fine() {
    let mut p = Pair::new(Config {
        receive_maximum: 2,
        ..v5()
    });
    p.connect_ok();
    p.broker.replies.pubrel = Reply::Delay(100);
    for round in 0..50u8 {
        p.broker.publish("q2", &[round, 0], QoS::ExactlyOnce);
        p.broker.publish("q2", &[round, 1], QoS::ExactlyOnce);
        p.advance(1_000);
    }
    assert_eq!(p.messages().len(), 100);
    assert!(p.lost().is_empty());
}

#[test]
fn v5_packet_above_our_maximum_packet_size_is_an_error() {
    let mut p = Pair::new(Config {
        maximum_packet_size: 1000,
        ..v5()
    });
    p.connect_ok();
    p.broker.publish("ok", &[1u8; 500], QoS::AtMostOnce);
    p.broker.publish("big", &[1u8; 2000], QoS::AtMostOnce);
    p.pump();
    assert_eq!(p.messages().len(), 1);
    assert_eq!(
        p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Protocol(DecodeError::PacketTooLarge)]
    );
    let last = p.broker.up().last().unwrap();
    assert!(
        matches!(last.pkt, Pkt::Disconnect { reason: 0x95, .. }),
        "{:?}",
        last.pkt
    );
}

#[test]
fn many_messages_queued_offline_arrive_within_the_receive_maximum() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            receive_maximum: 4,
            ..kept(v)
        });
        p.connect_ok();
        p.cut();
        for i in 0..60u16 {
            let qos = if i % 2 == 0 {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            };
            p.broker.publish("queued", &i.to_be_bytes(), qos);
        }
        p.segment = 37;
        assert!(p.connect_ok());
        p.pump();
        let got: Vec<Vec<u8>> = payloads(&p.messages());
        let want: Vec<Vec<u8>> = (0..60u16).map(|i| i.to_be_bytes().to_vec()).collect();
        assert_eq!(got, want, "{v:?}");
        assert!(
            p.lost().iter().all(|l| l.1 == LostReason::LinkDown),
            "{:?}",
            p.lost()
        );
        assert_eq!(p.broker.outbound_pending(), 0);
    }
}

#[test]
fn qos2_ids_are_forgotten_when_the_session_is_not_present() {
    // A QoS 2 message awaits PUBREL when the link breaks; the next
    // connection has no session (clean, or the broker lost it), and the
    // broker's new session reuses the packet id for a new message: it is
    // a new message, not a duplicate.
    for (v, cfg_clean, broker_forgets) in [
        (Version::V311, true, false),
        (Version::V5, true, false),
        (Version::V311, false, true),
        (Version::V5, false, true),
    ] {
        let mut p = Pair::new(Config {
            clean_init: cfg_clean,
            clean: cfg_clean,
            ..config(v)
        });
        p.connect_ok();
        p.broker.cut_when = Some(Box::new(|pkt| match pkt {
            Pkt::PubRec { .. } => Cut::After,
            _ => Cut::No,
        }));
        let id = p.broker.publish("q2", b"first", QoS::ExactlyOnce);
        p.pump();
        p.broker.cut_when = None;
        if broker_forgets {
            p.broker.session_present = Some(false);
        }
        assert!(!p.connect_ok());
        let again = p.broker.publish("q2", b"second", QoS::ExactlyOnce);
        assert_eq!(again, id, "the sim reuses the id in a new session");
        p.pump();
        assert_eq!(
            payloads(&p.messages()),
            vec![b"first".to_vec(), b"second".to_vec()],
            "{v:?} clean={cfg_clean} forgets={broker_forgets}"
        );
    }
}

#[test]
fn pubrel_for_an_unknown_id_gets_pubcomp() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.broker.strict = false;
        p.broker.send(&Packet::PubRel(mqttas::wire::Ack {
            packet_id: 77,
            reason: mqttas::ReasonCode::SUCCESS,
            properties: Properties::List(&[]),
        }));
        p.pump();
        let comps: Vec<_> = p
            .broker
            .up()
            .filter_map(|r| match r.pkt {
                Pkt::PubComp { id, reason } => Some((id, reason)),
                _ => None,
            })
            .collect();
        assert_eq!(comps.len(), 1, "{v:?}");
        assert_eq!(comps[0].0, 77);
        assert!(comps[0].1 == 0 || comps[0].1 == 0x92, "{comps:?}");
        assert!(p.lost().is_empty());
        assert!(p.messages().is_empty());
    }
}

#[test]
fn v311_message_above_our_maximum_packet_size_is_skipped_and_acknowledged() {
    // 3.1.1 cannot announce a maximum packet size: a larger PUBLISH is read
    // and dropped as it comes (never held whole), acknowledged so that the
    // broker does not send it again, and reported; the link stays up.
    use PacketType::*;
    for rx in [64usize, 4096] {
        let mut p = Pair::with(
            Config {
                maximum_packet_size: 1000,
                ..v311()
            },
            Sizes {
                rx,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        p.segment = 333;
        let mut ids = Vec::new();
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            p.broker.publish("small", &[qos as u8; 10], qos);
            ids.push(p.broker.publish("big/one", &vec![7u8; 5000], qos));
        }
        p.broker.publish("after", b"ok", QoS::AtLeastOnce);
        p.pump();
        let ctx = format!("rx {rx}");
        let skipped: Vec<_> = p
            .all_events()
            .into_iter()
            .filter_map(|e| match e {
                Ev::MessageSkipped {
                    topic,
                    size,
                    limit,
                    qos,
                    packet_id,
                } => Some((topic, size, limit, qos, packet_id)),
                _ => None,
            })
            .collect();
        // PUBLISH: 2 + 2 + 7 topic bytes, + 2 for the packet id, + payload.
        let want: Vec<_> = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .iter()
            .zip(&ids)
            .map(|(&q, &id)| {
                let size = 3 + 2 + 7 + if q == QoS::AtMostOnce { 0 } else { 2 } + 5000;
                ("big/one".to_string(), size as u32, 1000, q, id)
            })
            .collect();
        assert_eq!(skipped, want, "{ctx}");
        let got: Vec<_> = p.messages().iter().map(|m| m.topic.clone()).collect();
        assert_eq!(got, ["small", "small", "small", "after"], "{ctx}");
        assert!(p.lost().is_empty(), "{ctx}");
        assert!(p.link_up, "{ctx}");
        // Acknowledged: the broker has nothing left to send.
        assert_eq!(p.broker.outbound_pending(), 0, "{ctx}");
        assert!(acks_on(&p, 1).contains(&(PubAck, ids[1])), "{ctx}");
        assert!(acks_on(&p, 1).contains(&(PubRec, ids[2])), "{ctx}");
        assert!(acks_on(&p, 1).contains(&(PubComp, ids[2])), "{ctx}");
        // No chunk of a skipped message reached the application.
        assert!(
            !p.all_events()
                .iter()
                .any(|e| matches!(e, Ev::MessageStart(_) | Ev::MessageChunk(_))),
            "{ctx}"
        );
    }
}

#[test]
fn v311_message_at_our_maximum_packet_size_is_delivered() {
    // The limit counts the whole packet: a PUBLISH of exactly that many
    // bytes is delivered, one byte more is skipped.
    for extra in [0usize, 1] {
        let payload = vec![1u8; 100 - 2 - 2 - 1 + extra];
        let mut p = Pair::new(Config {
            maximum_packet_size: 100,
            ..v311()
        });
        p.connect_ok();
        p.broker.publish("t", &payload, QoS::AtMostOnce);
        p.pump();
        assert_eq!(p.messages().len(), 1 - extra, "extra {extra}");
    }
}
