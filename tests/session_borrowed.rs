//! Publications whose payload the application lends (`publish_borrowed`):
//! only their head is kept (transmit buffer for QoS 0, store for QoS 1/2)
//! and `poll_transmit_vectored` asks for the payload by token each time it
//! goes out. The pair keeps each lent payload only as long as the documented
//! caller must, and fails if the client asks for one it is done with.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Awaited, LostReason, State};
use mqttas::wire::{Property, QoS};
use mqttas::{Config, Error, Version};
use sim::{config, kept, publishes_on, v311, v5, Pair, Reply, Sizes, VERSIONS};

/// The buffers of issue 14's small client: rx 256, tx 300, store 600.
fn small() -> Sizes {
    Sizes {
        rx: 256,
        tx: 300,
        store: 600,
        aliases: 0,
        qos2: 16,
        out_aliases: 0,
    }
}

/// A payload of `n` bytes that tells its bytes apart.
fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ seed).collect()
}

fn long_topic() -> String {
    let mut t = "t/".to_string();
    while t.len() < 200 {
        t.push_str("level/");
    }
    t.truncate(200);
    t
}

#[test]
fn qos0_1_2_lent_payloads_reach_the_broker_whole() {
    for v in VERSIONS {
        let mut p = Pair::connected(config(v));
        let ids: Vec<u16> = [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
            .into_iter()
            .enumerate()
            .map(|(i, q)| {
                let r = p.publish_borrowed("t/b", &payload(100 + i, i as u8), q);
                p.pump();
                r.unwrap()
            })
            .collect();
        assert_eq!(ids[0], 0);
        let got: Vec<(QoS, Vec<u8>)> = p
            .broker
            .received
            .iter()
            .map(|r| (r.qos, r.payload.clone()))
            .collect();
        assert_eq!(
            got,
            vec![
                (QoS::AtMostOnce, payload(100, 0)),
                (QoS::AtLeastOnce, payload(101, 1)),
                (QoS::ExactlyOnce, payload(102, 2)),
            ],
            "{v:?}"
        );
        assert_eq!(p.published_ids(), vec![ids[1], ids[2]], "{v:?}");
        assert!(p.lent.is_empty(), "{v:?}: every lent payload given back");
        assert_eq!(p.lent_sent, 3, "{v:?}: each payload asked for once");
        assert_eq!(p.client.pending_publications(), 0);
    }
}

#[test]
fn small_client_sends_and_receives_1_kib_under_a_200_byte_topic() {
    // Issue 14's heap target: rx 256, tx 300, store 600 carry a 1 KiB
    // message under a 200-byte topic both ways, at every QoS.
    let topic = long_topic();
    for v in VERSIONS {
        for q in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let mut p = Pair::with(config(v), small(), 0);
            p.connect_ok();
            p.subscribe(&topic, q).unwrap();
            p.pump();
            let body = payload(1024, 7);
            // Copied, it fits neither the transmit buffer nor the store.
            assert_eq!(
                p.publish(&topic, &body, q),
                Err(Error::TooLarge),
                "{v:?} {q:?}"
            );
            p.publish_borrowed(&topic, &body, q).unwrap();
            p.pump();
            assert_eq!(p.broker.received.len(), 1, "{v:?} {q:?}");
            assert_eq!(p.broker.received[0].payload, body);
            let msgs = p.messages();
            assert_eq!(msgs.len(), 1, "{v:?} {q:?}: {msgs:?}");
            assert_eq!(msgs[0].topic, topic);
            assert_eq!(msgs[0].payload, body);
            assert!(msgs[0].chunked, "1 KiB arrives in chunks through rx 256");
            assert!(p.lent.is_empty(), "{v:?} {q:?}");
            assert_eq!(p.client.pending_publications(), 0);
        }
    }
}

#[test]
fn small_client_keeps_two_qos1_messages_across_an_outage() {
    // Two 1 KiB QoS 1 messages under a 200-byte topic, unacknowledged when
    // the link drops, in a 600-byte store; resent with DUP on the kept
    // session from the application's bytes.
    let topic = long_topic();
    for v in VERSIONS {
        let mut p = Pair::with(kept(v), small(), 0);
        p.connect_ok();
        p.broker.replies.puback = Reply::Drop;
        let a = p.publish_borrowed(&topic, &payload(1024, 1), QoS::AtLeastOnce);
        let b = p.publish_borrowed(&topic, &payload(1024, 2), QoS::AtLeastOnce);
        let (a, b) = (a.unwrap(), b.unwrap());
        p.pump();
        assert_eq!(p.client.pending_publications(), 2);
        assert!(p.reconnect(), "{v:?}: session present");
        assert_eq!(
            publishes_on(&p, 2),
            vec![
                (Some(a), true, payload(1024, 1)),
                (Some(b), true, payload(1024, 2)),
            ],
            "{v:?}"
        );
        assert_eq!(p.published_ids(), vec![a.min(b), a.max(b)]);
        assert!(p.lent.is_empty());
        assert_eq!(p.client.stats().republished, 2);
    }
}

#[test]
fn qos2_lent_payload_is_not_asked_for_after_pubrec() {
    // After PUBREC the broker owns the message: the payload is the
    // application's again at once (poll_returned), long before PUBCOMP;
    // across an outage only PUBREL goes again, and the payload is never
    // asked for again; a QoS 2 message reaches the broker once.
    for v in VERSIONS {
        let mut p = Pair::connected(kept(v));
        p.broker.replies.pubcomp = Reply::Drop;
        let id = p
            .publish_borrowed("t/q2", &payload(300, 3), QoS::ExactlyOnce)
            .unwrap();
        p.pump();
        assert_eq!(p.lent_sent, 1);
        assert_eq!(
            p.returned,
            vec![id],
            "{v:?}: payload not returned at PUBREC"
        );
        assert!(p.lent.is_empty());
        assert!(p.published().is_empty());
        assert!(p.reconnect());
        assert_eq!(p.lent_sent, 1, "{v:?}: payload asked for after PUBREC");
        assert!(publishes_on(&p, 2).is_empty());
        assert_eq!(p.published(), vec![(id, 0)]);
        assert_eq!(p.broker.payloads(), vec![payload(300, 3)]);
        assert!(p.lent.is_empty());
    }
}

#[test]
fn qos2_lent_payload_resent_before_pubrec_with_dup() {
    for v in VERSIONS {
        let mut p = Pair::connected(kept(v));
        p.broker.replies.pubrec = Reply::Drop;
        let id = p
            .publish_borrowed("t/q2", &payload(50, 4), QoS::ExactlyOnce)
            .unwrap();
        p.pump();
        // No PUBREC: the payload is still needed.
        assert!(p.returned.is_empty());
        assert_eq!(p.lent.len(), 1);
        assert!(p.reconnect());
        assert_eq!(publishes_on(&p, 2), vec![(Some(id), true, payload(50, 4))]);
        assert_eq!(p.returned, vec![id], "{v:?}");
        assert_eq!(p.published(), vec![(id, 0)]);
        assert_eq!(p.broker.received.len(), 1, "{v:?}: exactly once");
        assert!(p.lent.is_empty());
    }
}

#[test]
fn v311_republication_on_the_same_connection_sends_the_lent_bytes_again() {
    let mut p = Pair::connected(Config {
        max_repubs: 2,
        ..v311()
    });
    p.broker.replies.puback = Reply::DropNext(2);
    let id = p
        .publish_borrowed("t", &payload(40, 5), QoS::AtLeastOnce)
        .unwrap();
    p.advance(5 * 60_000);
    assert_eq!(
        publishes_on(&p, 1),
        vec![
            (Some(id), false, payload(40, 5)),
            (Some(id), true, payload(40, 5)),
            (Some(id), true, payload(40, 5)),
        ]
    );
    assert_eq!(p.published(), vec![(id, 0)]);
    assert!(p.lost().is_empty());
    assert!(p.lent.is_empty());
}

#[test]
fn lost_session_sends_lent_messages_again_as_new() {
    for v in VERSIONS {
        let mut p = Pair::connected(kept(v));
        p.broker.replies.puback = Reply::Drop;
        let a = p
            .publish_borrowed("t", &payload(10, 6), QoS::AtLeastOnce)
            .unwrap();
        p.pump();
        assert!(!p.reconnect_with(|b| b.session_present = Some(false)));
        assert_eq!(publishes_on(&p, 2), vec![(Some(a), false, payload(10, 6))]);
        assert_eq!(p.published(), vec![(a, 0)]);
        assert!(p.lent.is_empty());
    }
}

#[test]
fn lent_and_copied_messages_keep_their_order_across_an_outage() {
    for v in VERSIONS {
        let mut p = Pair::connected(kept(v));
        p.broker.replies.puback = Reply::Drop;
        p.broker.replies.pubrec = Reply::Drop;
        let mut want = Vec::new();
        for i in 0..6u8 {
            let body = payload(20 + usize::from(i), i);
            let q = if i % 3 == 2 {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            };
            let id = if i % 2 == 0 {
                p.publish_borrowed("t/mix", &body, q)
            } else {
                p.publish("t/mix", &body, q)
            }
            .unwrap();
            want.push((Some(id), true, body));
        }
        p.pump();
        assert!(p.reconnect());
        assert_eq!(publishes_on(&p, 2), want, "{v:?}");
        assert_eq!(p.published().len(), 6);
        assert!(p.lent.is_empty());
        // Each arrived, QoS 2 ones once.
        let mut got = p.broker.payloads();
        got.sort();
        got.dedup();
        let mut all: Vec<Vec<u8>> = want.into_iter().map(|w| w.2).collect();
        all.sort();
        assert_eq!(got, all, "{v:?}");
        let q2 = p
            .broker
            .received
            .iter()
            .filter(|r| r.qos == QoS::ExactlyOnce)
            .count();
        assert_eq!(q2, 2, "{v:?}: QoS 2 exactly once");
    }
}

#[test]
fn one_lent_qos0_payload_at_a_time() {
    let mut p = Pair::connected(v311());
    p.publish_borrowed("t", b"first", QoS::AtMostOnce).unwrap();
    // Not yet handed out: a second lent QoS 0 message waits.
    assert_eq!(
        p.publish_borrowed("t", b"second", QoS::AtMostOnce),
        Err(Error::TxFull)
    );
    // Copied ones and QoS 1 do not.
    p.publish("t", b"copied", QoS::AtMostOnce).unwrap();
    p.publish_borrowed("t", b"q1", QoS::AtLeastOnce).unwrap();
    p.pump();
    p.publish_borrowed("t", b"second", QoS::AtMostOnce).unwrap();
    p.pump();
    assert_eq!(
        p.broker.payloads(),
        vec![
            b"first".to_vec(),
            b"copied".to_vec(),
            b"q1".to_vec(),
            b"second".to_vec()
        ]
    );
    assert!(p.lent.is_empty());
}

#[test]
fn packets_queued_after_a_lent_qos0_message_follow_it() {
    // A PUBACK queued behind a lent QoS 0 head goes out after the payload.
    let mut p = Pair::connected(v311());
    p.subscribe("in", QoS::AtLeastOnce).unwrap();
    p.pump();
    p.publish_borrowed("t", &payload(64, 9), QoS::AtMostOnce)
        .unwrap();
    p.broker.publish("in", b"m", QoS::AtLeastOnce);
    p.pump();
    assert_eq!(p.broker.received[0].payload, payload(64, 9));
    assert_eq!(p.messages().len(), 1);
    // The broker saw the PUBACK: nothing left unacknowledged.
    assert_eq!(p.broker.outbound_pending(), 0);
    assert!(p.lent.is_empty());
}

#[test]
fn link_loss_drops_a_queued_lent_qos0_message() {
    let mut p = Pair::connected(v311());
    p.publish_borrowed("t", b"never", QoS::AtMostOnce).unwrap();
    // The link goes before the writer runs: the message goes with it, and
    // the client never asks for the payload after ConnectionLost.
    p.client.handle_link_down(p.now);
    p.cut();
    assert_eq!(p.lost().len(), 1);
    assert!(p.lent.is_empty());
    assert_eq!(p.lent_sent, 0);
    p.connect_ok();
    p.pump();
    assert!(p.broker.received.is_empty());
    assert_eq!(p.lent_sent, 0);
}

#[test]
fn v5_protocol_error_drops_a_queued_lent_qos0_message_but_sends_disconnect() {
    let mut p = Pair::connected(v5());
    p.publish_borrowed("t", b"never", QoS::AtMostOnce).unwrap();
    // A second CONNACK arrives before the writer takes the message.
    p.broker.strict = false;
    let taken = p
        .client
        .handle_input(p.now, &[0x20, 0x03, 0x00, 0x00, 0x00]);
    assert_eq!(taken, 5);
    p.drain_events();
    p.pump();
    let lost = p.lost();
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert!(matches!(lost[0].1, LostReason::Protocol(_)));
    assert_eq!(p.lent_sent, 0, "lent payload asked for after the loss");
    assert!(p.lent.is_empty());
    assert!(p.broker.received.is_empty());
    let disconnects = p.broker.up_of(mqttas::wire::PacketType::Disconnect);
    assert_eq!(
        disconnects.len(),
        1,
        "DISCONNECT with the reason still goes"
    );
}

#[test]
fn timeout_drops_a_queued_lent_qos0_message() {
    let mut p = Pair::connected(Config {
        keep_alive: 10,
        ..v311()
    });
    p.broker.replies.pingresp = Reply::Drop;
    // Let the client ping, then queue a QoS 0 message the writer never
    // takes before the PINGRESP timeout.
    let start = p.t;
    assert!(p.run_until(60_000, |p| p.broker.ping_times().len() == 1));
    p.publish_borrowed("t", b"late", QoS::AtMostOnce).unwrap();
    let due = p.client.poll_deadline().unwrap();
    p.client.handle_timeout(due);
    assert_eq!(p.client.state(), State::Disconnected);
    assert!(p.client.poll_transmit_vectored(due).is_none());
    p.pump();
    assert!(
        matches!(p.lost()[0].1, LostReason::Timeout(Awaited::PingResp)),
        "{:?} after {} ms",
        p.lost(),
        p.t - start
    );
    assert!(p.lent.is_empty());
    assert_eq!(p.lent_sent, 0);
}

#[test]
fn poll_transmit_leaves_a_lent_payload_for_poll_transmit_vectored() {
    let mut p = Pair::connected(v311());
    let now = p.now;
    // QoS 0 in the transmit buffer, then QoS 1 from the store.
    p.publish_borrowed("t", b"zero", QoS::AtMostOnce).unwrap();
    assert_eq!(p.client.poll_transmit(now), None);
    assert_eq!(p.client.poll_transmit(now), None, "still queued");
    p.pump();
    assert_eq!(p.broker.received.len(), 1);
    let id = p.publish_borrowed("t", b"one", QoS::AtLeastOnce).unwrap();
    assert_eq!(p.client.poll_transmit(now), None);
    p.pump();
    assert_eq!(p.broker.received.len(), 2);
    assert_eq!(p.broker.received[1].payload, b"one");
    assert_eq!(p.published(), vec![(id, 0)]);
    assert!(p.lent.is_empty());
}

#[test]
fn lent_payload_is_counted_against_the_limits() {
    // The broker's maximum packet size counts the lent payload.
    let mut p = Pair::new(v5());
    p.broker.connack_props = vec![Property::MaximumPacketSize(100)];
    p.connect_ok();
    for q in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        assert_eq!(
            p.publish_borrowed("t", &payload(100, 0), q),
            Err(Error::TooLarge),
            "{q:?}"
        );
        p.publish_borrowed("t", &payload(90, 0), q).unwrap();
    }
    p.pump();
    assert_eq!(p.broker.received.len(), 2);
    // A head that can never fit the transmit buffer or the store.
    let mut p = Pair::with(
        v311(),
        Sizes {
            tx: 64,
            store: 64,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    let topic = "x".repeat(80);
    for q in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        assert_eq!(
            p.publish_borrowed(&topic, b"", q),
            Err(Error::TooLarge),
            "{q:?}"
        );
    }
    assert!(p.lent.is_empty());
}

#[test]
fn stored_lent_message_above_a_new_brokers_limit_completes_unsent() {
    let mut p = Pair::connected(kept(Version::V5));
    p.broker.replies.puback = Reply::Drop;
    let id = p
        .publish_borrowed("t", &payload(200, 1), QoS::AtLeastOnce)
        .unwrap();
    p.pump();
    assert_eq!(p.lent_sent, 1);
    assert!(p.reconnect_with(|b| b.connack_props = vec![Property::MaximumPacketSize(150)]));
    assert_eq!(p.published(), vec![(id, 0x95)]);
    assert_eq!(p.lent_sent, 1, "never sent to a broker that cannot take it");
    assert!(p.lent.is_empty());
}

#[test]
fn v5_lent_payload_with_a_topic_alias() {
    let mut p = Pair::new(v5());
    p.broker.connack_props = vec![Property::TopicAliasMaximum(4)];
    p.connect_ok();
    let alias = [Property::TopicAlias(2)];
    for (topic, q) in [
        ("t/long/topic", QoS::AtMostOnce),
        ("", QoS::AtMostOnce),
        ("", QoS::AtLeastOnce),
    ] {
        p.publish_borrowed_with(topic, &payload(30, 2), q, false, &alias)
            .unwrap();
        p.pump();
    }
    let got: Vec<(String, Vec<u8>)> = p
        .broker
        .received
        .iter()
        .map(|r| (r.topic.clone(), r.payload.clone()))
        .collect();
    assert_eq!(got, vec![("t/long/topic".to_string(), payload(30, 2)); 3]);
    assert!(p.lent.is_empty());
}

#[test]
fn qos1_lent_messages_survive_repeated_outages_with_the_clock_wrapping() {
    // Many short outages while messages are in flight, the clock starting
    // just before the u32 wrap: every message arrives, none is asked for
    // after its Published.
    let mut p = Pair::with(kept(Version::V311), small(), u32::MAX - 30_000);
    p.connect_ok();
    let mut ids = Vec::new();
    for round in 0..20u8 {
        for i in 0..2u8 {
            let body = payload(300, round.wrapping_mul(2).wrapping_add(i));
            match p.publish_borrowed("t/r", &body, QoS::AtLeastOnce) {
                Ok(id) => ids.push(id),
                Err(Error::StoreFull) => {}
                Err(e) => panic!("{e:?}"),
            }
        }
        p.broker.replies.puback = if round % 2 == 0 {
            Reply::Drop
        } else {
            Reply::Answer
        };
        p.pump();
        p.advance(3_000);
        p.reconnect();
        p.advance(3_000);
    }
    p.advance(60_000);
    ids.sort();
    assert_eq!(p.published_ids(), ids);
    assert!(p.lent.is_empty());
    let mut got = p.broker.payloads();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), ids.len(), "every message arrived");
}

#[test]
fn store_full_of_one_qos2_message_takes_another_after_pubrec() {
    // After PUBREC the store keeps only what PUBREL needs: a store that one
    // QoS 2 message filled takes another as large once PUBREC came (and
    // not before); across an outage the first gets only PUBREL again, the
    // second, which got no PUBREC, its PUBLISH with DUP.
    for v in VERSIONS {
        let sizes = sim::Sizes {
            store: 200,
            ..sim::Sizes::default()
        };
        let mut p = Pair::with(kept(v), sizes, 0);
        p.connect_ok();
        p.broker.replies.pubcomp = Reply::Drop;
        let first = p
            .publish("t/q2", &payload(150, 7), QoS::ExactlyOnce)
            .unwrap();
        assert_eq!(
            p.publish("t/q2", &payload(150, 8), QoS::ExactlyOnce),
            Err(Error::StoreFull),
            "{v:?}"
        );
        p.pump();
        assert!(p.published().is_empty());
        p.broker.replies.pubrec = Reply::Drop;
        let second = p
            .publish("t/q2", &payload(150, 8), QoS::ExactlyOnce)
            .unwrap_or_else(|e| panic!("{v:?}: store still full after PUBREC: {e:?}"));
        p.pump();
        assert!(p.reconnect());
        assert_eq!(
            publishes_on(&p, 2),
            vec![(Some(second), true, payload(150, 8))],
            "{v:?}"
        );
        let mut done = p.published();
        done.sort();
        assert_eq!(done, vec![(first, 0), (second, 0)], "{v:?}");
        assert_eq!(
            p.broker.payloads(),
            vec![payload(150, 7), payload(150, 8)],
            "{v:?}: each once"
        );
    }
}
