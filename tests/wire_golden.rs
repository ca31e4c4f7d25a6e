//! Golden bytes: the specs' examples and real mosquitto traffic
//! (tests/data/wire, see its README), decoded field by field and encoded
//! back to the identical bytes.

use std::collections::BTreeSet;
use std::path::PathBuf;

use mqttas::wire::{
    decode, decode_fixed_header, decode_publish_head, Ack, Auth, ConnAck, Connect, DecodeError,
    Disconnect, Packet, PacketType, Properties, Property, Publish, QoS, ReasonCode, SubAck,
    SubOptions, Subscribe, Subscription, Subscriptions, TopicFilters, Unsubscribe, Version, Will,
};

// ---- helpers ----

fn data_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/wire")
}

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A capture file's byte stream (leaked so packets can borrow it freely).
fn stream(name: &str) -> &'static [u8] {
    let text = std::fs::read_to_string(data_dir().join(format!("{name}.hex"))).unwrap();
    let body: String = text.lines().filter(|l| !l.starts_with('#')).collect();
    let bytes = hex(&body);
    assert!(!bytes.is_empty(), "{name} is empty");
    Box::leak(bytes.into_boxed_slice())
}

fn version_of(name: &str) -> Version {
    if name.starts_with("v5") {
        Version::V5
    } else {
        Version::V311
    }
}

fn encode(p: &Packet<'_>, v: Version) -> Vec<u8> {
    let n = p.encoded_len(v).unwrap();
    let mut out = vec![0u8; n];
    assert_eq!(p.encode(v, &mut out), Ok(n));
    out
}

/// Split a stream into packets; every packet must decode, the stream must
/// end on a packet boundary, and each packet must encode back to its bytes.
fn split(bytes: &'static [u8], v: Version) -> Vec<(Packet<'static>, &'static [u8])> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let (p, n) = decode(rest, v)
            .unwrap()
            .expect("stream ends inside a packet");
        let (raw, tail) = rest.split_at(n);
        assert_eq!(encode(&p, v), raw, "re-encoding {p:?}");
        check_head(&p, raw, v);
        out.push((p, raw));
        rest = tail;
    }
    out
}

/// A PUBLISH read in pieces (head, then payload) gives the same fields.
fn check_head(p: &Packet<'_>, raw: &[u8], v: Version) {
    let Packet::Publish(p) = p else { return };
    let h = decode_fixed_header(raw).unwrap().unwrap();
    let body = &raw[h.header_len..];
    let (head, used) = decode_publish_head(&h, body, v).unwrap().unwrap();
    assert_eq!(
        (head.topic, head.qos, head.packet_id, head.properties),
        (p.topic, p.qos, p.packet_id, p.properties)
    );
    assert_eq!(&body[used..], p.payload);
    assert_eq!(head.payload_len as usize, p.payload.len());
    // One byte short of the head is not an error, just not enough.
    assert_eq!(decode_publish_head(&h, &body[..used - 1], v), Ok(None));
}

fn capture(name: &str) -> Vec<(Packet<'static>, &'static [u8])> {
    split(stream(name), version_of(name))
}

fn kinds(ps: &[(Packet<'_>, &[u8])]) -> Vec<PacketType> {
    ps.iter().map(|(p, _)| p.kind()).collect()
}

fn connect<'a>(p: &Packet<'a>) -> Connect<'a> {
    match p {
        Packet::Connect(c) => *c,
        other => panic!("expected CONNECT, got {other:?}"),
    }
}

fn connack<'a>(p: &Packet<'a>) -> ConnAck<'a> {
    match p {
        Packet::ConnAck(c) => *c,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

fn publish<'a>(p: &Packet<'a>) -> Publish<'a> {
    match p {
        Packet::Publish(x) => *x,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

fn props<'a>(p: Properties<'a>) -> Vec<Property<'a>> {
    p.iter().collect()
}

use PacketType as T;

// ---- captures of mosquitto ----

#[test]
fn every_capture_decodes_and_reencodes_identically() {
    let mut names: Vec<String> = std::fs::read_dir(data_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter_map(|n| n.strip_suffix(".hex").map(str::to_owned))
        .collect();
    names.sort();
    assert!(names.len() >= 40, "captures missing: {names:?}");
    let mut seen = [BTreeSet::new(), BTreeSet::new()];
    let mut packets = 0;
    for name in &names {
        if name == "v5_malformed.c2s" {
            continue; // holds a malformed packet on purpose, see its own test
        }
        let v = version_of(name);
        for (p, _) in capture(name) {
            seen[(v == Version::V5) as usize].insert(p.kind() as u8);
            packets += 1;
        }
    }
    assert!(packets > 100, "{packets}");
    // Every packet type but AUTH (which mosquitto sends only with an
    // authentication plugin) appears in both versions.
    let all: BTreeSet<u8> = (1..=14).collect();
    assert_eq!(seen[0], all);
    assert_eq!(seen[1], all);
}

#[test]
fn v311_subscriber_session() {
    let c2s = capture("v311_sub.c2s");
    assert_eq!(
        kinds(&c2s),
        [
            T::Connect,
            T::Subscribe,
            T::PubAck,
            T::PubRec,
            T::PubComp,
            T::PubAck,
            T::Disconnect
        ]
    );
    let c = connect(&c2s[0].0);
    assert_eq!(
        (c.client_id, c.username, c.password),
        ("wire-sub-v311", Some("alice"), Some(&b"secret"[..]))
    );
    assert_eq!((c.keep_alive, c.clean_start, c.will), (60, true, None));
    let Packet::Subscribe(s) = c2s[1].0 else {
        panic!()
    };
    assert_eq!(s.packet_id, 1);
    let subs: Vec<_> = s.subscriptions.iter().collect();
    assert_eq!(
        subs,
        [Subscription {
            filter: "wire/v311/#",
            options: SubOptions::qos(QoS::ExactlyOnce)
        }]
    );
    assert_eq!(c2s[3].1, hex("50 02 00 02"));

    let s2c = capture("v311_sub.s2c");
    assert_eq!(
        kinds(&s2c),
        [
            T::ConnAck,
            T::SubAck,
            T::Publish,
            T::Publish,
            T::Publish,
            T::PubRel,
            T::Publish
        ]
    );
    assert_eq!(s2c[0].1, hex("20 02 00 00"));
    let ca = connack(&s2c[0].0);
    assert_eq!((ca.session_present, ca.code), (false, ReasonCode::SUCCESS));
    assert_eq!(
        s2c[1].0,
        Packet::SubAck(SubAck {
            packet_id: 1,
            properties: Properties::default(),
            codes: &[2]
        })
    );
    let got: Vec<_> = s2c
        .iter()
        .filter_map(|(p, _)| match p {
            Packet::Publish(p) => Some((p.topic, p.payload, p.qos, p.packet_id, p.retain, p.dup)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "wire/v311/q0",
                &b"hello"[..],
                QoS::AtMostOnce,
                None,
                false,
                false
            ),
            (
                "wire/v311/q1",
                b"retained",
                QoS::AtLeastOnce,
                Some(1),
                false,
                false
            ),
            (
                "wire/v311/q2",
                b"exactly-once",
                QoS::ExactlyOnce,
                Some(2),
                false,
                false
            ),
            (
                "wire/v311/bin",
                b"\x00\x01\x02\xfe\xff\x00MQTT",
                QoS::AtLeastOnce,
                Some(3),
                false,
                false
            ),
        ]
    );
    assert_eq!(s2c[5].1, hex("62 02 00 02"));
}

#[test]
fn v5_subscriber_session_with_properties() {
    let c2s = capture("v5_sub.c2s");
    assert_eq!(
        kinds(&c2s),
        [
            T::Connect,
            T::Subscribe,
            T::PubAck,
            T::PubRec,
            T::PubComp,
            T::PubAck,
            T::Disconnect
        ]
    );
    let c = connect(&c2s[0].0);
    assert_eq!(
        (c.client_id, c.username, c.password),
        ("wire-sub-v5", Some("alice"), Some(&b"secret"[..]))
    );
    assert_eq!(
        props(c.properties),
        [
            Property::SessionExpiryInterval(30),
            Property::ReceiveMaximum(20),
            Property::UserProperty("client", "test")
        ]
    );
    assert_eq!(c.properties.session_expiry_interval(), Some(30));
    assert_eq!(c.properties.receive_maximum(), Some(20));
    let Packet::Subscribe(s) = c2s[1].0 else {
        panic!()
    };
    assert_eq!(
        props(s.properties),
        [
            Property::SubscriptionIdentifier(7),
            Property::UserProperty("s", "1")
        ]
    );
    assert_eq!(
        s.subscriptions
            .iter()
            .map(|s| (s.filter, s.options.qos))
            .collect::<Vec<_>>(),
        [("wire/v5/#", QoS::ExactlyOnce)]
    );
    // 5.0 success acks take the short form (remaining length 2).
    assert_eq!(c2s[2].1, hex("40 02 00 01"));

    let s2c = capture("v5_sub.s2c");
    assert_eq!(
        kinds(&s2c),
        [
            T::ConnAck,
            T::SubAck,
            T::Publish,
            T::Publish,
            T::Publish,
            T::PubRel,
            T::Publish
        ]
    );
    let ca = connack(&s2c[0].0);
    assert_eq!(
        (
            ca.properties.topic_alias_maximum(),
            ca.properties.receive_maximum()
        ),
        (Some(10), Some(20))
    );
    assert_eq!(s2c[0].1, hex("20 09 00 00 06 22 00 0a 21 00 14"));
    let q0 = publish(&s2c[2].0);
    assert_eq!((q0.topic, q0.payload), ("wire/v5/q0", &b"hello"[..]));
    assert_eq!(
        q0.properties.subscription_identifiers().collect::<Vec<_>>(),
        [7]
    );
    assert_eq!(
        q0.properties.user_properties().collect::<Vec<_>>(),
        [("k", "v")]
    );
    assert_eq!(q0.properties.content_type(), Some("text/plain"));
    assert!(q0.properties.payload_is_utf8());
    let q1 = publish(&s2c[3].0);
    assert_eq!(q1.properties.message_expiry_interval(), Some(300));
    assert_eq!(q1.properties.response_topic(), Some("wire/v5/resp"));
    assert_eq!(q1.properties.correlation_data(), Some(&b"1234"[..]));
    assert_eq!(q1.packet_id, Some(1));
    let q2 = publish(&s2c[4].0);
    assert_eq!(
        (q2.qos, q2.packet_id, q2.payload),
        (QoS::ExactlyOnce, Some(2), &b"exactly-once"[..])
    );
    assert_eq!(publish(&s2c[6].0).payload, b"\x00\x01\x02\xfe\xff\x00MQTT");
}

#[test]
fn v311_publisher_with_will_and_credentials() {
    let c2s = capture("v311_pub_q1.c2s");
    assert_eq!(kinds(&c2s), [T::Connect, T::Publish, T::Disconnect]);
    let c = connect(&c2s[0].0);
    let w = c.will.unwrap();
    assert_eq!(
        (w.topic, w.payload, w.qos, w.retain),
        ("wire/v311/will", &b"bye"[..], QoS::AtLeastOnce, true)
    );
    assert_eq!(
        (c.username, c.password, c.keep_alive),
        (Some("bob"), Some(&b"pw"[..]), 30)
    );
    // Flags: user, password, will retain, will QoS 1, will, clean session.
    assert_eq!(c2s[0].1[9], 0b1110_1110);
    let p = publish(&c2s[1].0);
    assert_eq!(
        (p.topic, p.payload, p.retain, p.packet_id),
        ("wire/v311/q1", &b"retained"[..], true, Some(1))
    );
    assert_eq!(c2s[2].1, hex("e0 00"));
    let s2c = capture("v311_pub_q1.s2c");
    assert_eq!(
        s2c[1].0,
        Packet::PubAck(Ack {
            packet_id: 1,
            reason: ReasonCode::SUCCESS,
            properties: Properties::default()
        })
    );
}

#[test]
fn v5_publisher_with_will_properties() {
    let c2s = capture("v5_pub_q1.c2s");
    assert_eq!(kinds(&c2s), [T::Connect, T::Publish, T::Disconnect]);
    let w = connect(&c2s[0].0).will.unwrap();
    assert_eq!(
        (w.topic, w.payload, w.qos, w.retain),
        ("wire/v5/will", &b"bye"[..], QoS::AtLeastOnce, true)
    );
    assert_eq!(
        props(w.properties),
        [
            Property::WillDelayInterval(5),
            Property::ContentType("text/plain"),
            Property::UserProperty("w", "x")
        ]
    );
    assert_eq!(w.properties.will_delay_interval(), Some(5));
    let p = publish(&c2s[1].0);
    assert_eq!(
        props(p.properties),
        [
            Property::MessageExpiryInterval(300),
            Property::ResponseTopic("wire/v5/resp"),
            Property::CorrelationData(b"1234")
        ]
    );
    let Packet::Disconnect(d) = c2s[2].0 else {
        panic!()
    };
    assert_eq!(d.reason, ReasonCode::SUCCESS);
    assert_eq!(props(d.properties), [Property::UserProperty("bye", "now")]);
}

#[test]
fn qos2_exchange_both_versions() {
    for (vn, alias) in [("v311", None), ("v5", Some(3))] {
        let c2s = capture(&format!("{vn}_pub_q2.c2s"));
        assert_eq!(
            kinds(&c2s),
            [T::Connect, T::Publish, T::PubRel, T::Disconnect]
        );
        let p = publish(&c2s[1].0);
        assert_eq!(
            (p.qos, p.packet_id, p.payload),
            (QoS::ExactlyOnce, Some(1), &b"exactly-once"[..])
        );
        assert_eq!(p.properties.topic_alias(), alias);
        assert_eq!(c2s[2].1, hex("62 02 00 01"));
        let s2c = capture(&format!("{vn}_pub_q2.s2c"));
        assert_eq!(kinds(&s2c), [T::ConnAck, T::PubRec, T::PubComp]);
        assert_eq!(s2c[1].1, hex("50 02 00 01"));
        assert_eq!(s2c[2].1, hex("70 02 00 01"));
    }
}

#[test]
fn retained_message_and_its_removal() {
    for vn in ["v311", "v5"] {
        let s2c = capture(&format!("{vn}_retained.s2c"));
        let p = publish(&s2c[2].0);
        assert!(p.retain, "{vn}: a new subscriber gets the retained flag");
        assert_eq!(
            (p.topic, p.payload),
            (&*format!("wire/{vn}/q1"), &b"retained"[..])
        );
        let c2s = capture(&format!("{vn}_clear.c2s"));
        let p = publish(&c2s[1].0);
        assert!(p.retain && p.payload.is_empty());
    }
}

#[test]
fn unsubscribe_both_versions() {
    for (vn, codes) in [("v311", &[][..]), ("v5", &[0u8][..])] {
        let v = version_of(vn);
        let c2s = capture(&format!("{vn}_unsub.c2s"));
        assert_eq!(
            kinds(&c2s),
            [
                T::Connect,
                T::Subscribe,
                T::Unsubscribe,
                T::Unsubscribe,
                T::Disconnect
            ]
        );
        let Packet::Unsubscribe(u) = c2s[2].0 else {
            panic!()
        };
        assert_eq!(
            u.filters.iter().collect::<Vec<_>>(),
            [&*format!("wire/{vn}/u/+")]
        );
        if v == Version::V5 {
            assert_eq!(props(u.properties), [Property::UserProperty("u", "1")]);
        }
        let s2c = capture(&format!("{vn}_unsub.s2c"));
        assert_eq!(
            kinds(&s2c),
            [T::ConnAck, T::SubAck, T::UnsubAck, T::UnsubAck]
        );
        let Packet::SubAck(sa) = s2c[1].0 else {
            panic!()
        };
        assert_eq!(sa.codes, [0, 0]);
        let Packet::UnsubAck(ua) = s2c[2].0 else {
            panic!()
        };
        assert_eq!((ua.packet_id, ua.codes), (2, codes));
    }
}

#[test]
fn keepalive_ping_both_versions() {
    for vn in ["v311", "v5"] {
        let c2s = capture(&format!("{vn}_ping.c2s"));
        assert_eq!(connect(&c2s[0].0).keep_alive, 5);
        let ping = c2s.iter().find(|(p, _)| *p == Packet::PingReq).unwrap();
        assert_eq!(ping.1, [0xc0, 0x00]);
        let s2c = capture(&format!("{vn}_ping.s2c"));
        assert_eq!(s2c.last().unwrap().1, [0xd0, 0x00]);
    }
}

#[test]
fn refused_connection_both_versions() {
    let s2c = capture("v311_refused.s2c");
    assert_eq!(s2c[0].1, hex("20 02 00 05"));
    assert_eq!(
        connack(&s2c[0].0).code.connack311_description(),
        "not authorised"
    );
    let s2c = capture("v5_refused.s2c");
    assert_eq!(s2c[0].1, hex("20 03 00 87 00"));
    assert_eq!(connack(&s2c[0].0).code, ReasonCode::NOT_AUTHORIZED);
}

#[test]
fn v5_broker_limits_and_assigned_client_id() {
    let c2s = capture("v5_limits.c2s");
    assert_eq!(connect(&c2s[0].0).client_id, "");
    let s2c = capture("v5_limits.s2c");
    let p = connack(&s2c[0].0).properties;
    assert_eq!(p.topic_alias_maximum(), Some(10));
    assert_eq!(p.server_keep_alive(), Some(30));
    assert!(p.assigned_client_identifier().unwrap().starts_with("auto-"));
    assert_eq!(p.retain_available(), Some(false));
    assert_eq!(p.maximum_packet_size(), Some(65536));
    assert_eq!(p.receive_maximum(), Some(20));
    assert_eq!(p.maximum_qos(), Some(1));
    assert_eq!(p.wildcard_subscription_available(), None);
    // PUBACK "no matching subscribers" in the 3-byte form (no properties).
    assert_eq!(s2c[1].1, hex("40 03 00 01 10"));
    assert_eq!(
        s2c[1].0,
        Packet::PubAck(Ack {
            packet_id: 1,
            reason: ReasonCode::NO_MATCHING_SUBSCRIBERS,
            properties: Properties::default()
        })
    );
}

#[test]
fn v5_malformed_publish_and_brokers_disconnect() {
    let c2s = stream("v5_malformed.c2s");
    let (p, n) = decode(c2s, Version::V5).unwrap().unwrap();
    assert_eq!(connect(&p).client_id, "abc");
    assert_eq!(decode(&c2s[n..], Version::V5), Err(DecodeError::InvalidQoS));
    let s2c = capture("v5_malformed.s2c");
    assert_eq!(s2c[1].1, hex("e0 01 81"));
    assert_eq!(
        s2c[1].0,
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::MALFORMED_PACKET,
            properties: Properties::default()
        })
    );
}

#[test]
fn captures_fed_byte_by_byte_need_more_then_decode() {
    // The stream arrives one byte at a time: every proper prefix of a packet
    // is Ok(None), never an error.
    for name in ["v5_sub.s2c", "v311_sub.c2s", "v5_pub_q1.c2s"] {
        let bytes = stream(name);
        let v = version_of(name);
        let mut start = 0;
        while start < bytes.len() {
            let mut end = start + 1;
            loop {
                match decode(&bytes[start..end], v).unwrap() {
                    None => end += 1,
                    Some((_, n)) => {
                        assert_eq!(n, end - start);
                        break;
                    }
                }
            }
            start = end;
        }
    }
}

// ---- the specs' examples ----

#[test]
fn remaining_length_table() {
    // MQTT 3.1.1 table 2.4 / 5.0 table 1-1: boundaries of each size.
    for (bytes, value) in [
        ("00", 0u32),
        ("7f", 127),
        ("80 01", 128),
        ("ff 7f", 16_383),
        ("80 80 01", 16_384),
        ("ff ff 7f", 2_097_151),
        ("80 80 80 01", 2_097_152),
        ("ff ff ff 7f", 268_435_455),
    ] {
        let mut buf = vec![0x30];
        buf.extend(hex(bytes));
        let h = decode_fixed_header(&buf).unwrap().unwrap();
        assert_eq!(
            (h.kind, h.remaining_len, h.header_len),
            (PacketType::Publish, value, buf.len())
        );
    }
    // A packet of each size encodes with that many length bytes.
    for (payload, header_len) in [(0usize, 2), (200, 3), (20_000, 4), (2_100_000, 5)] {
        let data = vec![7u8; payload];
        let p = Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "a",
            packet_id: None,
            properties: Properties::default(),
            payload: &data,
        });
        let bytes = encode(&p, Version::V311);
        assert_eq!(bytes.len(), header_len + 3 + payload);
        assert_eq!(
            decode(&bytes, Version::V311).unwrap().unwrap(),
            (p, bytes.len())
        );
    }
}

#[test]
fn spec_311_connect_example() {
    // 3.1.1 section 3.1.2.10 (figure 3.6): protocol name, level 4, flags
    // 0xCE (user name, password, will QoS 1, will, clean session), keep
    // alive 10.
    let c = Connect {
        clean_start: true,
        keep_alive: 10,
        client_id: "c",
        will: Some(Will {
            topic: "w",
            payload: b"m",
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        username: Some("u"),
        password: Some(b"p"),
        properties: Properties::default(),
    };
    let bytes = encode(&Packet::Connect(c), Version::V311);
    assert_eq!(bytes, hex("10 19  00 04 4d 51 54 54 04 ce 00 0a  00 01 63  00 01 77  00 01 6d  00 01 75  00 01 70"));
    assert_eq!(
        decode(&bytes, Version::V311).unwrap().unwrap().0,
        Packet::Connect(c)
    );
}

#[test]
fn spec_5_connect_example() {
    // 5.0 section 3.1.2.12: level 5, flags 0xCE, keep alive 10, properties
    // length 5 holding session expiry interval 10.
    let session = [Property::SessionExpiryInterval(10)];
    let c = Connect {
        clean_start: true,
        keep_alive: 10,
        client_id: "c",
        will: Some(Will {
            topic: "w",
            payload: b"m",
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        username: Some("u"),
        password: Some(b"p"),
        properties: Properties::List(&session),
    };
    let bytes = encode(&Packet::Connect(c), Version::V5);
    assert_eq!(
        &bytes[2..18],
        hex("00 04 4d 51 54 54 05 ce 00 0a 05 11 00 00 00 0a")
    );
    // Will properties: an empty list is one zero byte in 5.0.
    assert_eq!(
        &bytes[18..],
        hex("00 01 63  00  00 01 77  00 01 6d  00 01 75  00 01 70")
    );
    let back = decode(&bytes, Version::V5).unwrap().unwrap().0;
    assert_eq!(back, Packet::Connect(c));
    assert_eq!(
        connect(&back).properties.session_expiry_interval(),
        Some(10)
    );
}

#[test]
fn spec_311_connack_examples() {
    // 3.1.1 section 3.2: session present is bit 0 of byte 1; return codes 0..=5.
    for code in 0..=5u8 {
        let bytes = [0x20, 0x02, 0x00, code];
        let p = decode(&bytes, Version::V311).unwrap().unwrap().0;
        assert_eq!(connack(&p).code, ReasonCode(code));
        assert_eq!(encode(&p, Version::V311), bytes);
    }
    let p = decode(&[0x20, 0x02, 0x01, 0x00], Version::V311)
        .unwrap()
        .unwrap()
        .0;
    assert!(connack(&p).session_present);
}

#[test]
fn spec_publish_example() {
    // 3.1.1 section 3.3.2.3 (figure 3.11): topic "a/b", packet identifier 10.
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "a/b",
        packet_id: Some(10),
        properties: Properties::default(),
        payload: b"",
    });
    assert_eq!(encode(&p, Version::V311), hex("32 07 00 03 61 2f 62 00 0a"));
    // 5.0 adds the property length.
    assert_eq!(
        encode(&p, Version::V5),
        hex("32 08 00 03 61 2f 62 00 0a 00")
    );
}

#[test]
fn spec_subscribe_suback_unsubscribe_examples() {
    // 3.1.1 sections 3.8.2.1 / 3.8.3.4: packet id 10, "a/b" QoS 1, "c/d" QoS 2.
    let subs = [
        Subscription {
            filter: "a/b",
            options: SubOptions::qos(QoS::AtLeastOnce),
        },
        Subscription {
            filter: "c/d",
            options: SubOptions::qos(QoS::ExactlyOnce),
        },
    ];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 10,
        properties: Properties::default(),
        subscriptions: Subscriptions::List(&subs),
    });
    let bytes = encode(&s, Version::V311);
    assert_eq!(
        bytes,
        hex("82 0e 00 0a 00 03 61 2f 62 01 00 03 63 2f 64 02")
    );
    assert_eq!(decode(&bytes, Version::V311).unwrap().unwrap().0, s);
    // 3.9.3: success QoS 0, success QoS 2, failure.
    let bytes = hex("90 05 00 0a 00 02 80");
    let p = decode(&bytes, Version::V311).unwrap().unwrap().0;
    assert_eq!(
        p,
        Packet::SubAck(SubAck {
            packet_id: 10,
            properties: Properties::default(),
            codes: &[0, 2, 0x80]
        })
    );
    // 3.10.3.2: "a/b" and "c/d".
    let filters = ["a/b", "c/d"];
    let u = Packet::Unsubscribe(Unsubscribe {
        packet_id: 10,
        properties: Properties::default(),
        filters: TopicFilters::List(&filters),
    });
    let bytes = encode(&u, Version::V311);
    assert_eq!(bytes, hex("a2 0c 00 0a 00 03 61 2f 62 00 03 63 2f 64"));
    assert_eq!(decode(&bytes, Version::V311).unwrap().unwrap().0, u);
    // 3.1.1 UNSUBACK is the packet id alone.
    let ua = Packet::UnsubAck(SubAck {
        packet_id: 10,
        properties: Properties::default(),
        codes: &[],
    });
    assert_eq!(encode(&ua, Version::V311), hex("b0 02 00 0a"));
}

#[test]
fn spec_5_subscription_options_byte() {
    // 5.0 section 3.8.3.1: QoS bits 0-1, no local bit 2, retain as
    // published bit 3, retain handling bits 4-5.
    let subs = [Subscription {
        filter: "a/b",
        options: SubOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: 2,
        },
    }];
    let id = [Property::SubscriptionIdentifier(268_435_455)];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::List(&id),
        subscriptions: Subscriptions::List(&subs),
    });
    let bytes = encode(&s, Version::V5);
    assert_eq!(
        bytes,
        hex("82 0e 00 01 05 0b ff ff ff 7f 00 03 61 2f 62 2d")
    );
    assert_eq!(decode(&bytes, Version::V5).unwrap().unwrap().0, s);
}

#[test]
fn v5_short_forms() {
    let none = Properties::default();
    for (p, bytes) in [
        // Acks: success without properties has remaining length 2, a reason
        // without properties 3 (5.0 section 3.4.2.1).
        (
            Packet::PubAck(Ack {
                packet_id: 1,
                reason: ReasonCode::SUCCESS,
                properties: none,
            }),
            "40 02 00 01",
        ),
        (
            Packet::PubRec(Ack {
                packet_id: 1,
                reason: ReasonCode::NOT_AUTHORIZED,
                properties: none,
            }),
            "50 03 00 01 87",
        ),
        (
            Packet::PubRel(Ack {
                packet_id: 2,
                reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
                properties: none,
            }),
            "62 03 00 02 92",
        ),
        (
            Packet::PubComp(Ack {
                packet_id: 3,
                reason: ReasonCode::SUCCESS,
                properties: none,
            }),
            "70 02 00 03",
        ),
        // DISCONNECT: remaining length 0 is a normal disconnection (3.14.2.1).
        (
            Packet::Disconnect(Disconnect {
                reason: ReasonCode::SUCCESS,
                properties: none,
            }),
            "e0 00",
        ),
        (
            Packet::Disconnect(Disconnect {
                reason: ReasonCode::SERVER_SHUTTING_DOWN,
                properties: none,
            }),
            "e0 01 8b",
        ),
        // AUTH: remaining length 0 is success (3.15.2.1).
        (
            Packet::Auth(Auth {
                reason: ReasonCode::SUCCESS,
                properties: none,
            }),
            "f0 00",
        ),
        (Packet::PingReq, "c0 00"),
        (Packet::PingResp, "d0 00"),
    ] {
        let bytes = hex(bytes);
        assert_eq!(encode(&p, Version::V5), bytes, "{p:?}");
        assert_eq!(
            decode(&bytes, Version::V5).unwrap().unwrap(),
            (p, bytes.len())
        );
    }
    // The long forms decode to the same packets (encoding picks the short one).
    for (long, short) in [
        ("40 04 00 01 00 00", "40 02 00 01"),
        ("e0 02 00 00", "e0 00"),
        ("50 04 00 01 87 00", "50 03 00 01 87"),
    ] {
        let (long, short) = (hex(long), hex(short));
        let a = decode(&long, Version::V5).unwrap().unwrap().0;
        let b = decode(&short, Version::V5).unwrap().unwrap().0;
        assert_eq!(a, b);
    }
}

#[test]
fn v5_auth_exchange() {
    // Enhanced authentication (5.0 section 4.12): continue with method and data.
    let p = [
        Property::AuthenticationMethod("SCRAM-SHA-1"),
        Property::AuthenticationData(b"\x01\x02"),
    ];
    let auth = Packet::Auth(Auth {
        reason: ReasonCode::CONTINUE_AUTHENTICATION,
        properties: Properties::List(&p),
    });
    let bytes = encode(&auth, Version::V5);
    assert_eq!(
        bytes,
        hex("f0 15 18 13 15 00 0b 53 43 52 41 4d 2d 53 48 41 2d 31 16 00 02 01 02")
    );
    let back = decode(&bytes, Version::V5).unwrap().unwrap().0;
    assert_eq!(back, auth);
    let Packet::Auth(a) = back else { panic!() };
    assert_eq!(a.properties.authentication_method(), Some("SCRAM-SHA-1"));
    assert_eq!(a.properties.authentication_data(), Some(&b"\x01\x02"[..]));
    // Re-authenticate without properties still carries the property length.
    let re = Packet::Auth(Auth {
        reason: ReasonCode::REAUTHENTICATE,
        properties: Properties::default(),
    });
    assert_eq!(encode(&re, Version::V5), hex("f0 02 19 00"));
}

#[test]
fn v5_acks_with_reason_strings() {
    let rs = [
        Property::ReasonString("quota"),
        Property::UserProperty("a", "b"),
    ];
    let p = Packet::SubAck(SubAck {
        packet_id: 7,
        properties: Properties::List(&rs),
        codes: &[0x00, 0x97, 0xa2],
    });
    let bytes = encode(&p, Version::V5);
    assert_eq!(
        bytes,
        hex("90 15 00 07 0f 1f 00 05 71 75 6f 74 61 26 00 01 61 00 01 62 00 97 a2")
    );
    let back = decode(&bytes, Version::V5).unwrap().unwrap().0;
    assert_eq!(back, p);
    let Packet::SubAck(s) = back else { panic!() };
    assert_eq!(s.properties.reason_string(), Some("quota"));
    let p = Packet::UnsubAck(SubAck {
        packet_id: 7,
        properties: Properties::default(),
        codes: &[0x11],
    });
    assert_eq!(encode(&p, Version::V5), hex("b0 04 00 07 00 11"));
    let p = Packet::PubAck(Ack {
        packet_id: 9,
        reason: ReasonCode::SUCCESS,
        properties: Properties::List(&rs[..1]),
    });
    assert_eq!(
        encode(&p, Version::V5),
        hex("40 0c 00 09 00 08 1f 00 05 71 75 6f 74 61")
    );
}
