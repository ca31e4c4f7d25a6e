//! A misbehaving broker: malformed bytes and protocol violations end the
//! connection with `ConnectionLost(Protocol(..))` (and a 5.0 DISCONNECT
//! with the matching reason code), never a panic, and leave the store as
//! it was so the messages go again on the next connection.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{LostReason, State};
use mqttas::wire::{DecodeError, QoS};
use mqttas::{Config, Version};
use sim::{config, kept, Pair, Pkt, Reply, Rng, Sizes, VERSIONS};

/// Bytes no broker may send, with the error each one is.
fn malformed() -> Vec<(&'static str, Vec<u8>, Option<DecodeError>)> {
    vec![
        (
            "PUBLISH QoS 3",
            vec![0x36, 0x05, 0x00, 0x01, b'a', 0x00, 0x01],
            Some(DecodeError::InvalidQoS),
        ),
        (
            "packet type 0",
            vec![0x00, 0x00],
            Some(DecodeError::InvalidPacketType(0)),
        ),
        (
            "PUBREL flags 0",
            vec![0x60, 0x02, 0x00, 0x01],
            Some(DecodeError::InvalidFlags),
        ),
        (
            "PUBACK flags 1",
            vec![0x41, 0x02, 0x00, 0x01],
            Some(DecodeError::InvalidFlags),
        ),
        (
            "remaining length of 5 bytes",
            vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
            Some(DecodeError::MalformedVarInt),
        ),
        (
            "wildcard in a topic name",
            vec![0x30, 0x05, 0x00, 0x03, b'a', b'/', b'#'],
            Some(DecodeError::InvalidTopic),
        ),
        (
            "invalid UTF-8 topic",
            vec![0x30, 0x04, 0x00, 0x02, 0xC3, 0x28],
            Some(DecodeError::InvalidUtf8),
        ),
        (
            "DUP on QoS 0",
            vec![0x38, 0x04, 0x00, 0x01, b'a', b'x'],
            Some(DecodeError::DupOnQos0),
        ),
        (
            "QoS 1 packet id 0",
            vec![0x32, 0x05, 0x00, 0x01, b'a', 0x00, 0x00],
            Some(DecodeError::PacketIdZero),
        ),
        (
            "SUBSCRIBE from a server",
            vec![0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00],
            None,
        ),
        ("CONNECT from a server", vec![0x10, 0x02, 0x00, 0x00], None),
        ("PINGREQ from a server", vec![0xC0, 0x00], None),
        ("PINGRESP with a body", vec![0xD0, 0x01, 0x00], None),
        (
            "topic length past the end",
            vec![0x30, 0x03, 0x00, 0x09, b'a'],
            None,
        ),
    ]
}

#[test]
fn malformed_bytes_end_the_connection_and_keep_the_store() {
    for v in VERSIONS {
        for (what, bytes, want) in malformed() {
            let mut p = Pair::new(kept(v));
            p.connect_ok();
            p.broker.replies.puback = Reply::Drop;
            let id = p.publish("keep", b"me", QoS::AtLeastOnce).unwrap();
            p.pump();
            p.broker.inject(&bytes);
            p.pump();
            let ctx = format!("{v:?} {what}");
            let lost = p.lost();
            assert_eq!(lost.len(), 1, "{ctx}: {lost:?}");
            let LostReason::Protocol(err) = lost[0].1 else {
                panic!("{ctx}: {:?}", lost[0].1)
            };
            if let Some(want) = want {
                assert_eq!(err, want, "{ctx}");
            }
            assert_eq!(p.state(), State::Disconnected, "{ctx}");
            assert!(!p.link_up);
            let disconnects: Vec<u8> = p
                .broker
                .up()
                .filter_map(|r| match r.pkt {
                    Pkt::Disconnect { reason, .. } => Some(reason),
                    _ => None,
                })
                .collect();
            match v {
                Version::V5 => assert_eq!(disconnects, vec![err.reason_code().0], "{ctx}"),
                // 3.1.1 DISCONNECT would be a clean close and drop the will.
                Version::V311 => assert!(disconnects.is_empty(), "{ctx}: {disconnects:?}"),
            }
            // Store untouched: the message goes again with the same id.
            assert_eq!(p.client.pending_publications(), 1, "{ctx}");
            p.broker.replies = Default::default();
            assert!(p.connect_ok(), "{ctx}");
            p.pump();
            let again: Vec<_> = p
                .broker
                .up_publishes()
                .iter()
                .filter(|(r, _)| r.conn == 2)
                .map(|(_, p)| (p.id, p.dup))
                .collect();
            assert_eq!(again, vec![(Some(id), true)], "{ctx}");
            assert_eq!(p.published(), vec![(id, 0)], "{ctx}");
        }
    }
}

#[test]
fn malformed_packet_split_over_many_reads() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.segment = 1;
        p.connect_ok();
        p.broker.inject(&[
            0x30, 0x0A, 0x00, 0x03, b'a', b'/', b'+', b'h', b'e', b'l', b'l', b'o',
        ]);
        p.pump();
        assert_eq!(
            p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
            vec![LostReason::Protocol(DecodeError::InvalidTopic)]
        );
    }
}

#[test]
fn second_connack_is_a_protocol_error() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.broker.inject(&[0x20, 0x02, 0x00, 0x00]);
        p.pump();
        let lost = p.lost();
        assert_eq!(lost.len(), 1, "{v:?}: {lost:?}");
        assert!(
            matches!(lost[0].1, LostReason::Protocol(_)),
            "{v:?}: {lost:?}"
        );
    }
}

#[test]
fn packets_before_connack_are_a_protocol_error() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.broker.replies.connack = Reply::Hold;
        p.connect();
        p.broker.inject(&[0x30, 0x03, 0x00, 0x01, b'a']);
        p.pump();
        let lost = p.lost();
        assert_eq!(lost.len(), 1, "{v:?}: {lost:?}");
        assert!(
            matches!(lost[0].1, LostReason::Protocol(_)),
            "{v:?}: {lost:?}"
        );
        assert!(p.messages().is_empty());
    }
}

#[test]
fn random_bytes_never_panic_and_never_touch_the_store() {
    let mut rng = Rng::new(0x5EED_0001);
    let mut protocol_errors = 0;
    for case in 0..1500u32 {
        let v = if case % 2 == 0 {
            Version::V311
        } else {
            Version::V5
        };
        let sizes = Sizes {
            rx: 256,
            tx: 256,
            store: 512,
            aliases: 64,
            qos2: 16,
            out_aliases: 0,
        };
        let cfg = Config {
            topic_alias_maximum: if v == Version::V5 { 2 } else { 0 },
            ..kept(v)
        };
        let mut p = Pair::with(cfg, sizes, rng.next_u64() as u32);
        p.broker.strict = false;
        p.connect_ok();
        p.broker.replies.puback = Reply::Drop;
        p.publish("keep", b"me", QoS::AtLeastOnce).unwrap();
        p.pump();
        p.segment = rng.range(1, 64) as usize;
        // Random bytes, often after a plausible first byte.
        let n = rng.range(1, 80) as usize;
        let mut bytes = rng.bytes(n);
        if rng.chance(700) {
            let types = [
                0x20, 0x30, 0x32, 0x34, 0x35, 0x40, 0x50, 0x62, 0x70, 0x90, 0xB0, 0xD0, 0xE0, 0xF0,
            ];
            bytes[0] = types[rng.below(types.len() as u64) as usize];
            if n > 1 && rng.chance(500) {
                bytes[1] = (n - 2).min(127) as u8;
            }
        }
        p.broker.inject(&bytes);
        p.pump();
        p.advance(rng.range(0, 30_000));
        let ctx = format!("case {case} {v:?} bytes {bytes:02x?}");
        let published = p.published().len();
        assert_eq!(p.client.pending_publications() + published, 1, "{ctx}");
        for (_, r) in p.lost() {
            protocol_errors += matches!(r, LostReason::Protocol(_)) as u32;
            if let (LostReason::Protocol(e), Version::V5) = (r, v) {
                let d: Vec<u8> = p
                    .broker
                    .up()
                    .filter_map(|r| match r.pkt {
                        Pkt::Disconnect { reason, .. } => Some(reason),
                        _ => None,
                    })
                    .collect();
                assert_eq!(d, vec![e.reason_code().0], "{ctx}");
            }
        }
        // Whatever happened, a new connection works and delivers the message.
        p.cut();
        p.broker.replies = Default::default();
        p.connect_ok();
        p.pump();
        assert_eq!(p.client.pending_publications(), 0, "{ctx}");
    }
    // The bytes did exercise the error paths.
    assert!(
        protocol_errors > 500,
        "only {protocol_errors} protocol errors in 1500 cases"
    );
}
