//! Outbound publications: QoS 1/2 flows, republication (3.1.1) and its
//! absence (5.0), resending on a kept session, the in-flight window, the
//! store limits.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Awaited, LostReason, State};
use mqttas::wire::{PacketType, Property, QoS};
use mqttas::{Config, Error, Version};
use sim::{config, kept, publishes_on, v311, v5, Pair, Pkt, Reply, Sizes, VERSIONS};

/// The client's count of republications is the number of PUBLISH packets
/// with DUP the broker received; returns it.
fn republished(p: &Pair) -> u32 {
    let dups = p
        .broker
        .up_publishes()
        .iter()
        .filter(|(_, p)| p.dup)
        .count();
    let n = p.client.stats().republished;
    assert_eq!(n as usize, dups, "Client::stats().republished");
    n
}

fn pubrels_on(p: &Pair, conn: u32) -> Vec<u16> {
    p.broker
        .up()
        .filter(|r| r.conn == conn)
        .filter_map(|r| match r.pkt {
            Pkt::PubRel { id, .. } => Some(id),
            _ => None,
        })
        .collect()
}

#[test]
fn qos1_and_qos2_complete_with_published() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        let a = p.publish("t/1", b"one", QoS::AtLeastOnce).unwrap();
        let b = p.publish("t/2", b"two", QoS::ExactlyOnce).unwrap();
        let c = p.publish("t/0", b"zero", QoS::AtMostOnce).unwrap();
        assert!(a != 0 && b != 0 && a != b);
        assert_eq!(c, 0);
        assert_eq!(p.client.pending_publications(), 2);
        p.pump();
        let mut got = p.published();
        got.sort();
        let mut want = vec![(a, 0), (b, 0)];
        want.sort();
        assert_eq!(got, want);
        assert_eq!(p.client.pending_publications(), 0);
        let kinds: Vec<_> = p.broker.up_on(1).iter().filter_map(|k| k.kind()).collect();
        use PacketType::*;
        assert_eq!(
            kinds,
            vec![Connect, Publish, Publish, Publish, PubRel],
            "{v:?}"
        );
        assert_eq!(pubrels_on(&p, 1), vec![b]);
        // MQTT orders QoS 1/2 messages among themselves; QoS 0 may overtake.
        let mut r: Vec<_> = p
            .broker
            .received
            .iter()
            .map(|r| (r.topic.as_str(), r.qos, r.id))
            .collect();
        r.sort();
        assert_eq!(
            r,
            vec![
                ("t/0", QoS::AtMostOnce, None),
                ("t/1", QoS::AtLeastOnce, Some(a)),
                ("t/2", QoS::ExactlyOnce, Some(b))
            ]
        );
    }
}

#[test]
fn retain_and_properties_reach_the_broker() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    let props = [
        Property::UserProperty("k", "v"),
        Property::ContentType("text/plain"),
    ];
    p.publish_with("r/t", b"kept", QoS::AtLeastOnce, true, &props)
        .unwrap();
    p.pump();
    let pubs = p.broker.up_publishes();
    let (_, pb) = pubs[0];
    assert!(pb.retain);
    assert_eq!(pb.props, props.to_vec());
}

#[test]
fn v311_missing_puback_republishes_with_dup_then_connection_lost() {
    for max_repubs in [4u8, 1, 0] {
        let rt = 10_000u64;
        let mut p = Pair::new(Config {
            max_repubs,
            response_time_ms: rt as u32,
            ..v311()
        });
        p.connect_ok();
        p.broker.replies.puback = Reply::Drop;
        let id = p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
        p.advance(10 * 60_000);
        let sends = p.broker.up_publishes();
        let ids: Vec<_> = sends.iter().map(|(_, p)| p.id).collect();
        let dups: Vec<_> = sends.iter().map(|(_, p)| p.dup).collect();
        let n = 1 + max_repubs as usize;
        assert_eq!(ids, vec![Some(id); n], "max_repubs {max_repubs}");
        let mut want_dups = vec![true; n];
        want_dups[0] = false;
        assert_eq!(dups, want_dups);
        assert_eq!(republished(&p), u32::from(max_repubs));
        let times: Vec<u64> = sends.iter().map(|(r, _)| r.t).collect();
        for w in times.windows(2) {
            assert!(
                w[1] - w[0] >= rt,
                "republished {} ms after the previous send",
                w[1] - w[0]
            );
        }
        let lost = p.lost();
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].1, LostReason::Timeout(Awaited::PubAck));
        assert!(
            lost[0].0 >= times.last().unwrap() + rt,
            "lost before response_time after the last send"
        );
        // The message stays stored for the next connection.
        assert_eq!(p.client.pending_publications(), 1);
        assert!(p.published().is_empty());
    }
}

#[test]
fn v311_late_puback_after_republication_completes() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.replies.puback = Reply::DropNext(2);
    let id = p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    p.advance(5 * 60_000);
    assert_eq!(p.published(), vec![(id, 0)]);
    assert_eq!(p.broker.up_publishes().len(), 3);
    assert!(p.lost().is_empty());
    assert_eq!(p.client.pending_publications(), 0);
}

#[test]
fn v311_missing_pubrec_republishes_then_connection_lost() {
    let mut p = Pair::new(Config {
        max_repubs: 2,
        ..v311()
    });
    p.connect_ok();
    p.broker.replies.pubrec = Reply::Drop;
    let id = p.publish("t", b"x", QoS::ExactlyOnce).unwrap();
    p.advance(10 * 60_000);
    let sends: Vec<_> = p
        .broker
        .up_publishes()
        .iter()
        .map(|(_, p)| (p.id, p.dup))
        .collect();
    assert_eq!(
        sends,
        vec![(Some(id), false), (Some(id), true), (Some(id), true)]
    );
    assert_eq!(
        p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Timeout(Awaited::PubRec)]
    );
    // The broker took it once.
    assert_eq!(p.broker.received.len(), 1);
}

#[test]
fn v5_never_resends_on_the_same_connection() {
    for (kind, awaited) in [
        (PacketType::PubAck, Awaited::PubAck),
        (PacketType::PubRec, Awaited::PubRec),
    ] {
        let rt = 8_000u64;
        let mut p = Pair::new(Config {
            response_time_ms: rt as u32,
            ..kept(Version::V5)
        });
        p.connect_ok();
        let qos = if kind == PacketType::PubAck {
            p.broker.replies.puback = Reply::Drop;
            QoS::AtLeastOnce
        } else {
            p.broker.replies.pubrec = Reply::Drop;
            QoS::ExactlyOnce
        };
        let id = p.publish("t", b"x", qos).unwrap();
        p.advance(10 * 60_000);
        assert_eq!(publishes_on(&p, 1), vec![(Some(id), false, b"x".to_vec())]);
        let lost = p.lost();
        assert_eq!(lost.len(), 1);
        assert_eq!(lost[0].1, LostReason::Timeout(awaited));
        assert!(
            (rt..=rt + 100).contains(&lost[0].0),
            "lost at {}",
            lost[0].0
        );
        // Next connection: sent again, same id, DUP.
        p.broker.replies = Default::default();
        assert!(p.connect_ok());
        p.pump();
        assert_eq!(publishes_on(&p, 2), vec![(Some(id), true, b"x".to_vec())]);
        assert_eq!(p.published(), vec![(id, 0)]);
    }
}

#[test]
fn v5_missing_pubcomp_is_connection_lost_then_pubrel_again() {
    let mut p = Pair::new(kept(Version::V5));
    p.connect_ok();
    p.broker.replies.pubcomp = Reply::Drop;
    let id = p.publish("t", b"x", QoS::ExactlyOnce).unwrap();
    p.advance(60_000);
    assert_eq!(pubrels_on(&p, 1), vec![id]);
    assert_eq!(
        p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Timeout(Awaited::PubComp)]
    );
    p.broker.replies = Default::default();
    assert!(p.connect_ok());
    p.pump();
    assert_eq!(pubrels_on(&p, 2), vec![id]);
    assert!(
        publishes_on(&p, 2).is_empty(),
        "PUBLISH resent after PUBREC"
    );
    assert_eq!(p.published(), vec![(id, 0)]);
}

/// Three QoS 1 without PUBACK, a QoS 2 without PUBREC, a QoS 2 with PUBREC
/// but no PUBCOMP; then the link breaks.
fn unfinished(p: &mut Pair) -> (Vec<u16>, u16) {
    p.broker.replies.puback = Reply::Drop;
    let mut ids = Vec::new();
    for i in 0..3u8 {
        ids.push(p.publish("q1", &[i], QoS::AtLeastOnce).unwrap());
    }
    p.pump();
    p.broker.replies.pubrec = Reply::Drop;
    ids.push(p.publish("q2", b"norec", QoS::ExactlyOnce).unwrap());
    p.pump();
    p.broker.replies.pubrec = Reply::Answer;
    p.broker.replies.pubcomp = Reply::Drop;
    let rec = p.publish("q2", b"rec", QoS::ExactlyOnce).unwrap();
    p.pump();
    p.broker.replies = Default::default();
    assert_eq!(p.client.pending_publications(), 5);
    assert!(p.published().is_empty());
    (ids, rec)
}

#[test]
fn kept_session_resends_unacknowledged_with_same_ids_and_dup() {
    for v in VERSIONS {
        let mut p = Pair::new(kept(v));
        p.connect_ok();
        let (ids, rec) = unfinished(&mut p);
        p.cut();
        assert!(p.connect_ok(), "session present");
        p.pump();
        let again = publishes_on(&p, 2);
        let want: Vec<_> = ids
            .iter()
            .zip([vec![0u8], vec![1], vec![2], b"norec".to_vec()])
            .map(|(id, pl)| (Some(*id), true, pl))
            .collect();
        assert_eq!(
            again, want,
            "{v:?}: resent in the original order, same ids, DUP set"
        );
        assert_eq!(republished(&p), 4, "{v:?}");
        // PUBREL again for the message that had PUBREC, then the one for
        // the resent QoS 2 PUBLISH once its PUBREC comes.
        assert_eq!(pubrels_on(&p, 2), vec![rec, ids[3]]);
        let mut done: Vec<u16> = p.published().iter().map(|x| x.0).collect();
        done.sort();
        let mut all = ids.clone();
        all.push(rec);
        all.sort();
        assert_eq!(done, all);
        assert_eq!(p.client.pending_publications(), 0);
        // Exactly once at the broker for QoS 2.
        let q2: Vec<_> = p
            .broker
            .received
            .iter()
            .filter(|r| r.qos == QoS::ExactlyOnce)
            .map(|r| r.payload.clone())
            .collect();
        assert_eq!(q2, vec![b"norec".to_vec(), b"rec".to_vec()]);
    }
}

#[test]
fn kept_session_resend_after_a_broker_caused_loss() {
    // 3.1.1: republications use up max_repubs, the connection is lost, the
    // next one resends the same id.
    let mut p = Pair::new(Config {
        max_repubs: 1,
        ..kept(Version::V311)
    });
    p.connect_ok();
    p.broker.replies.puback = Reply::Drop;
    let id = p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    p.advance(60_000);
    assert_eq!(p.lost().len(), 1);
    p.broker.replies = Default::default();
    assert!(p.connect_ok());
    p.pump();
    assert_eq!(publishes_on(&p, 2), vec![(Some(id), true, b"x".to_vec())]);
    assert_eq!(p.published(), vec![(id, 0)]);
    // One republication on the first connection, one resend on the second.
    assert_eq!(republished(&p), 2);
}

#[test]
fn lost_session_sends_stored_messages_as_new() {
    for v in VERSIONS {
        let mut p = Pair::new(kept(v));
        p.connect_ok();
        p.broker.replies.puback = Reply::Drop;
        p.broker.replies.pubrec = Reply::Drop;
        let a = p.publish("t", b"a", QoS::AtLeastOnce).unwrap();
        let b = p.publish("t", b"b", QoS::ExactlyOnce).unwrap();
        p.pump();
        p.cut();
        p.broker.replies = Default::default();
        p.broker.session_present = Some(false);
        assert!(!p.connect_ok(), "the broker lost the session");
        p.pump();
        let again = publishes_on(&p, 2);
        assert_eq!(again.len(), 2, "{v:?}: {again:?}");
        assert!(
            again.iter().all(|(_, dup, _)| !dup),
            "{v:?}: resent as new must clear DUP: {again:?}"
        );
        assert_eq!(republished(&p), 0, "{v:?}");
        assert_eq!(
            again.iter().map(|x| x.2.clone()).collect::<Vec<_>>(),
            vec![b"a".to_vec(), b"b".to_vec()]
        );
        let mut done: Vec<u16> = p.published().iter().map(|x| x.0).collect();
        done.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(done, want);
        assert_eq!(p.client.pending_publications(), 0);
    }
}

#[test]
fn inflight_window_limits_outstanding_publications() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            max_inflight: 3,
            ..config(v)
        });
        p.connect_ok();
        p.broker.replies.puback = Reply::Hold;
        p.broker.replies.pubcomp = Reply::Hold;
        let mut ids = Vec::new();
        for i in 0..10u8 {
            let qos = if i % 3 == 2 {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            };
            ids.push(p.publish("w", &[i], qos).unwrap());
        }
        p.pump();
        assert_eq!(p.broker.up_publishes().len(), 3, "{v:?}: window of 3");
        let mut sent = 3;
        while p.broker.held() > 0 {
            assert_eq!(p.broker.release(1), 1);
            p.pump();
            let now_sent = p.broker.up_publishes().len();
            assert!(
                now_sent <= sent + 1,
                "more than one went per completed publication"
            );
            sent = now_sent;
            assert!(p.lost().is_empty());
        }
        assert_eq!(p.broker.max_unacked_seen, 3);
        let order: Vec<_> = p
            .broker
            .up_publishes()
            .iter()
            .map(|(_, p)| p.payload[0])
            .collect();
        assert_eq!(order, (0..10).collect::<Vec<u8>>(), "sent in publish order");
        assert!(p.broker.up_publishes().iter().all(|(_, p)| !p.dup));
        let mut done: Vec<u16> = p.published().iter().map(|x| x.0).collect();
        done.sort();
        ids.sort();
        assert_eq!(done, ids);
    }
}

#[test]
fn window_does_not_time_out_queued_messages() {
    // Messages waiting for a window slot are not "awaiting a reply": only
    // the ones on the wire may time out.
    let mut p = Pair::new(Config {
        max_inflight: 1,
        response_time_ms: 10_000,
        ..v311()
    });
    p.connect_ok();
    p.broker.replies.puback = Reply::Delay(8_000);
    for i in 0..5u8 {
        p.publish("w", &[i], QoS::AtLeastOnce).unwrap();
    }
    p.advance(60_000);
    assert!(p.lost().is_empty(), "{:?}", p.lost());
    assert_eq!(p.published().len(), 5);
    assert_eq!(p.broker.up_publishes().len(), 5, "no republication");
}

#[test]
fn v5_receive_maximum_lowers_the_window() {
    let mut p = Pair::new(Config {
        max_inflight: 8,
        ..v5()
    });
    p.broker.connack_props = vec![Property::ReceiveMaximum(2)];
    p.connect_ok();
    p.broker.replies.puback = Reply::Hold;
    for i in 0..6u8 {
        p.publish("w", &[i], QoS::AtLeastOnce).unwrap();
    }
    p.pump();
    assert_eq!(p.broker.up_publishes().len(), 2);
    while p.broker.held() > 0 {
        p.broker.release(1);
        p.pump();
    }
    assert_eq!(p.broker.max_unacked_seen, 2);
    assert_eq!(p.published().len(), 6);
}

#[test]
fn v5_receive_maximum_applies_to_resends_after_reconnect() {
    let mut p = Pair::new(Config {
        max_inflight: 8,
        ..kept(Version::V5)
    });
    p.connect_ok();
    p.broker.replies.puback = Reply::Hold;
    for i in 0..6u8 {
        p.publish("w", &[i], QoS::AtLeastOnce).unwrap();
    }
    p.pump();
    assert_eq!(p.broker.up_publishes().len(), 6);
    p.cut();
    p.broker.connack_props = vec![Property::ReceiveMaximum(2)];
    assert!(p.connect_ok());
    p.pump();
    assert_eq!(
        publishes_on(&p, 2).len(),
        2,
        "only receive maximum resent at once"
    );
    while p.broker.held() > 0 {
        p.broker.release(1);
        p.pump();
    }
    assert_eq!(p.published().len(), 6);
    assert!(
        publishes_on(&p, 2).iter().all(|x| x.1),
        "all were sent before: DUP"
    );
}

#[test]
fn full_store_is_an_error_until_a_publication_completes() {
    for v in VERSIONS {
        let mut p = Pair::with(
            config(v),
            Sizes {
                store: 600,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        p.broker.replies.puback = Reply::Hold;
        let payload = [7u8; 100];
        let mut ok = Vec::new();
        let full = loop {
            match p.publish("store/t", &payload, QoS::AtLeastOnce) {
                Ok(id) => ok.push(id),
                Err(e) => break e,
            }
            assert!(ok.len() < 100, "a 600-byte store took 100 messages");
        };
        assert_eq!(full, Error::StoreFull, "{v:?}");
        assert!(
            !ok.is_empty(),
            "not even one 100-byte message fits in 600 bytes"
        );
        assert_eq!(p.client.pending_publications(), ok.len());
        p.pump();
        assert_eq!(
            p.broker.up_publishes().len(),
            ok.len(),
            "the refused publish queued nothing"
        );
        // Still full while nothing completes, whatever the time.
        p.advance(1_000);
        assert_eq!(
            p.publish("store/t", &payload, QoS::AtLeastOnce),
            Err(Error::StoreFull)
        );
        p.broker.release(1);
        p.pump();
        assert_eq!(p.published(), vec![(ok[0], 0)]);
        let id = p
            .publish("store/t", &payload, QoS::AtLeastOnce)
            .expect("room after Published");
        assert!(!ok[1..].contains(&id), "packet id {id} in use");
        p.broker.replies.puback = Reply::Answer;
        p.broker.release(usize::MAX);
        p.pump();
        assert_eq!(p.client.pending_publications(), 0);
        assert_eq!(p.published().len(), ok.len() + 1);
    }
}

#[test]
fn message_larger_than_the_store_is_too_large() {
    let mut p = Pair::with(
        v311(),
        Sizes {
            store: 256,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    assert_eq!(
        p.publish("t", &[0u8; 1000], QoS::AtLeastOnce),
        Err(Error::TooLarge)
    );
    assert_eq!(p.client.pending_publications(), 0);
    // With no store at all only QoS 0 works.
    let mut p = Pair::with(
        v311(),
        Sizes {
            store: 0,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    assert!(p.publish("t", b"x", QoS::AtLeastOnce).is_err());
    assert_eq!(p.publish("t", b"x", QoS::AtMostOnce), Ok(0));
}

#[test]
fn v5_broker_limits_refuse_publications() {
    let mut p = Pair::new(v5());
    p.broker.connack_props = vec![
        Property::MaximumPacketSize(200),
        Property::MaximumQoS(1),
        Property::RetainAvailable(0),
    ];
    p.connect_ok();
    assert_eq!(
        p.publish("t", &[0u8; 300], QoS::AtMostOnce),
        Err(Error::TooLarge)
    );
    assert_eq!(
        p.publish("t", &[0u8; 300], QoS::AtLeastOnce),
        Err(Error::TooLarge)
    );
    assert_eq!(
        p.publish("t", b"x", QoS::ExactlyOnce),
        Err(Error::QoSNotSupported)
    );
    assert_eq!(
        p.publish_with("t", b"x", QoS::AtMostOnce, true, &[]),
        Err(Error::RetainNotSupported)
    );
    assert_eq!(p.client.pending_publications(), 0);
    p.publish("t", &[0u8; 100], QoS::AtLeastOnce).unwrap();
    p.pump();
    assert_eq!(p.broker.up_publishes().len(), 1);
}

#[test]
fn v5_refusing_puback_and_pubrec_complete_the_publication() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    p.broker.puback_reason = 0x87;
    let a = p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    p.pump();
    p.broker.pubrec_reason = 0x80;
    let b = p.publish("t", b"y", QoS::ExactlyOnce).unwrap();
    p.pump();
    assert_eq!(p.published(), vec![(a, 0x87), (b, 0x80)]);
    assert!(
        pubrels_on(&p, 1).is_empty(),
        "no PUBREL after a failing PUBREC"
    );
    assert_eq!(p.client.pending_publications(), 0);
    // 0x10 "no matching subscribers" is a success.
    p.broker.puback_reason = 0x10;
    let c = p.publish("t", b"z", QoS::AtLeastOnce).unwrap();
    p.pump();
    assert_eq!(p.published().last(), Some(&(c, 0x10)));
}

#[test]
fn packet_ids_are_never_zero_nor_reused_while_in_flight() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    // One message stays unfinished the whole time.
    p.broker.replies.pubcomp = Reply::Drop;
    let stuck = p.publish("t", b"stuck", QoS::ExactlyOnce).unwrap();
    p.pump();
    p.broker.replies = Default::default();
    let mut seen = std::collections::HashSet::new();
    for i in 0..70_000u32 {
        let id = p.publish("t", &i.to_be_bytes(), QoS::AtLeastOnce).unwrap();
        assert_ne!(id, 0);
        assert_ne!(id, stuck, "id of an unfinished message reused");
        seen.insert(id);
        p.pump();
    }
    assert!(seen.len() > 60_000, "ids wrap through the whole space");
    assert_eq!(p.published().len(), 70_000);
    assert!(p.lost().is_empty());
    assert_eq!(p.client.pending_publications(), 1);
}

#[test]
fn qos1_puback_timeout_across_the_clock_wrap() {
    let mut p = Pair::with(v5(), Sizes::default(), u32::MAX - 3_000);
    p.connect_ok();
    p.broker.replies.puback = Reply::Drop;
    p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    p.advance(30_000);
    let lost = p.lost();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0], (10_000, LostReason::Timeout(Awaited::PubAck)));
}

#[test]
fn state_after_loss_and_reconnect_without_a_session() {
    // clean = true: nothing is resent, but stored messages are not lost.
    let mut p = Pair::new(Config {
        clean: true,
        ..v311()
    });
    p.connect_ok();
    p.broker.replies.puback = Reply::Drop;
    p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
    p.pump();
    p.cut();
    assert_eq!(p.state(), State::Disconnected);
    p.broker.replies = Default::default();
    assert!(!p.connect_ok());
    p.pump();
    assert_eq!(
        p.published().len(),
        1,
        "a stored message is sent again as new on a clean session"
    );
    assert!(!publishes_on(&p, 2)[0].1);
}

#[test]
fn pubrec_for_an_unknown_id_gets_pubrel() {
    use mqttas::wire::{Ack, Packet, Properties};
    use mqttas::ReasonCode;
    // 5.0 4.3.3 / 3.1.1 4.3.3: the broker awaits PUBREL for a PUBREC it
    // sent; one we do not know (sent before a restart that lost our store,
    // or a broker's mistake) is released all the same so the broker can
    // end the flow: 5.0 says why (0x92, packet identifier not found).
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.broker.strict = false;
        for (id, reason) in [(42u16, 0u8), (43, 0x80)] {
            p.broker.send(&Packet::PubRec(Ack {
                packet_id: id,
                reason: ReasonCode(if v == Version::V5 { reason } else { 0 }),
                properties: Properties::List(&[]),
            }));
            p.pump();
        }
        let rels: Vec<_> = p
            .broker
            .up()
            .filter_map(|r| match r.pkt {
                Pkt::PubRel { id, reason } => Some((id, reason)),
                _ => None,
            })
            .collect();
        let want = match v {
            // A PUBREC with an error code ends the flow: nothing to release.
            Version::V5 => vec![(42, 0x92)],
            // 3.1.1 has no error codes: both are released.
            Version::V311 => vec![(42, 0), (43, 0)],
        };
        assert_eq!(rels, want, "{v:?}");
        assert!(p.lost().is_empty(), "{v:?}");
        assert_eq!(p.state(), mqttas::session::State::Connected);
    }
}
