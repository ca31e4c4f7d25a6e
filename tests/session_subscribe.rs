//! SUBSCRIBE / UNSUBSCRIBE: acknowledgements, their timeouts, options,
//! routing through the broker, the pending request limit.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Awaited, LostReason, MAX_PENDING_REQUESTS};
use mqttas::wire::{PacketType, Property, QoS, SubOptions, Subscription};
use mqttas::{Config, Error};
use sim::{config, v311, v5, Ev, Pair, Pkt, Reply, VERSIONS};

#[test]
fn subscribe_and_unsubscribe_are_acknowledged() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        let subs = [
            Subscription {
                filter: "a/+",
                options: SubOptions::qos(QoS::AtMostOnce),
            },
            Subscription {
                filter: "b/#",
                options: SubOptions::qos(QoS::AtLeastOnce),
            },
            Subscription {
                filter: "c",
                options: SubOptions::qos(QoS::ExactlyOnce),
            },
        ];
        let s = p.client.subscribe(p.now, &subs, &[]).unwrap();
        p.pump();
        let evs = p.take_events();
        assert_eq!(evs.len(), 1);
        let Ev::Subscribed {
            packet_id, codes, ..
        } = &evs[0]
        else {
            panic!("{evs:?}")
        };
        assert_eq!((*packet_id, &codes[..]), (s, &[0u8, 1, 2][..]));
        let sent = p.broker.up_of(PacketType::Subscribe);
        let Pkt::Subscribe { id, subs: got, .. } = &sent[0].pkt else {
            unreachable!()
        };
        assert_eq!(*id, s);
        let got: Vec<_> = got.iter().map(|(f, o)| (f.as_str(), o.qos)).collect();
        assert_eq!(
            got,
            vec![
                ("a/+", QoS::AtMostOnce),
                ("b/#", QoS::AtLeastOnce),
                ("c", QoS::ExactlyOnce)
            ]
        );

        let u = p
            .client
            .unsubscribe(p.now, &["a/+", "nothing"], &[])
            .unwrap();
        assert_ne!(u, s);
        p.pump();
        let evs = p.take_events();
        let Ev::Unsubscribed {
            packet_id, codes, ..
        } = &evs[0]
        else {
            panic!("{evs:?}")
        };
        assert_eq!(*packet_id, u);
        match v {
            mqttas::Version::V311 => assert!(codes.is_empty()),
            mqttas::Version::V5 => assert_eq!(codes, &vec![0x00, 0x11]),
        }
    }
}

#[test]
fn refused_subscription_codes_are_reported() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    p.broker.suback_codes = Some(vec![0x87]);
    let s = p.subscribe("secret/#", QoS::AtLeastOnce).unwrap();
    p.pump();
    assert_eq!(
        p.take_events(),
        vec![Ev::Subscribed {
            packet_id: s,
            codes: vec![0x87],
            props: vec![]
        }]
    );
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.suback_codes = Some(vec![0x80]);
    let s = p.subscribe("secret/#", QoS::AtLeastOnce).unwrap();
    p.pump();
    assert_eq!(
        p.take_events(),
        vec![Ev::Subscribed {
            packet_id: s,
            codes: vec![0x80],
            props: vec![]
        }]
    );
}

#[test]
fn v5_subscription_options_and_identifier_are_sent() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    let subs = [Subscription {
        filter: "x/#",
        options: SubOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: 2,
        },
    }];
    let props = [
        Property::SubscriptionIdentifier(42),
        Property::UserProperty("a", "b"),
    ];
    p.client.subscribe(p.now, &subs, &props).unwrap();
    p.pump();
    let sent = p.broker.up_of(PacketType::Subscribe);
    let Pkt::Subscribe {
        subs: got,
        props: got_props,
        ..
    } = &sent[0].pkt
    else {
        unreachable!()
    };
    assert_eq!(got[0].1, subs[0].options);
    assert_eq!(got_props, &props.to_vec());
}

#[test]
fn subscribed_messages_are_routed_back() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.subscribe("echo/+", QoS::ExactlyOnce).unwrap();
        p.pump();
        p.publish("echo/1", b"q0", QoS::AtMostOnce).unwrap();
        p.publish("echo/2", b"q1", QoS::AtLeastOnce).unwrap();
        p.publish("echo/3", b"q2", QoS::ExactlyOnce).unwrap();
        p.publish("other", b"no", QoS::AtLeastOnce).unwrap();
        p.pump();
        let mut got: Vec<_> = p.messages().into_iter().map(|m| (m.topic, m.qos)).collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("echo/1".to_string(), QoS::AtMostOnce),
                ("echo/2".to_string(), QoS::AtLeastOnce),
                ("echo/3".to_string(), QoS::ExactlyOnce)
            ]
        );
        p.unsubscribe("echo/+").unwrap();
        p.pump();
        p.publish("echo/4", b"gone", QoS::AtLeastOnce).unwrap();
        p.pump();
        assert_eq!(p.messages().len(), 3);
        assert_eq!(p.client.pending_publications(), 0);
    }
}

#[test]
fn retained_message_arrives_after_suback() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.publish_with("cfg/led", b"on", QoS::AtLeastOnce, true, &[])
        .unwrap();
    p.pump();
    p.subscribe("cfg/#", QoS::AtLeastOnce).unwrap();
    p.pump();
    let evs = p.take_events();
    assert!(
        matches!(
            evs[..],
            [Ev::Published { .. }, Ev::Subscribed { .. }, Ev::Message(_)]
        ),
        "{evs:?}"
    );
    let m = p.messages();
    assert!(m[0].retain);
    assert_eq!(m[0].payload, b"on");
}

#[test]
fn missing_suback_is_connection_lost() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            response_time_ms: 5_000,
            ..config(v)
        });
        p.connect_ok();
        p.broker.replies.suback = Reply::Drop;
        p.advance(1_000);
        p.subscribe("a", QoS::AtMostOnce).unwrap();
        p.advance(60_000);
        let lost = p.lost();
        assert_eq!(
            lost,
            vec![(6_000, LostReason::Timeout(Awaited::SubAck))],
            "{v:?}"
        );
    }
}

#[test]
fn missing_unsuback_is_connection_lost() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            response_time_ms: 5_000,
            ..config(v)
        });
        p.connect_ok();
        p.broker.replies.unsuback = Reply::Drop;
        p.unsubscribe("a").unwrap();
        p.advance(60_000);
        assert_eq!(
            p.lost(),
            vec![(5_000, LostReason::Timeout(Awaited::UnsubAck))],
            "{v:?}"
        );
    }
}

#[test]
fn slow_suback_within_response_time_is_fine() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.replies.suback = Reply::Delay(9_000);
    let s = p.subscribe("a", QoS::AtMostOnce).unwrap();
    p.advance(60_000);
    assert!(p.lost().is_empty());
    assert!(matches!(p.take_events()[..], [Ev::Subscribed { packet_id, .. }] if packet_id == s));
}

#[test]
fn too_many_pending_requests() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.replies.suback = Reply::Hold;
    let mut ids = Vec::new();
    for i in 0..MAX_PENDING_REQUESTS {
        ids.push(p.subscribe(&format!("t/{i}"), QoS::AtMostOnce).unwrap());
    }
    assert_eq!(
        p.subscribe("one/more", QoS::AtMostOnce),
        Err(Error::TooManyPending)
    );
    assert_eq!(p.unsubscribe("t/0"), Err(Error::TooManyPending));
    p.pump();
    assert_eq!(
        p.broker.up_of(PacketType::Subscribe).len(),
        MAX_PENDING_REQUESTS
    );
    p.broker.release(1);
    p.pump();
    assert!(p.subscribe("one/more", QoS::AtMostOnce).is_ok());
    p.broker.replies.suback = Reply::Answer;
    p.broker.release(usize::MAX);
    p.pump();
    let mut done: Vec<u16> = p
        .all_events()
        .iter()
        .filter_map(|e| match e {
            Ev::Subscribed { packet_id, .. } => Some(*packet_id),
            _ => None,
        })
        .collect();
    assert_eq!(done.len(), MAX_PENDING_REQUESTS + 1);
    done.sort();
    done.dedup();
    assert_eq!(done.len(), MAX_PENDING_REQUESTS + 1, "distinct packet ids");
}

#[test]
fn invalid_filters_are_refused_before_sending() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    for bad in ["", "a/#/b", "a+/b", "#/x"] {
        assert!(
            matches!(p.subscribe(bad, QoS::AtMostOnce), Err(Error::Encode(_))),
            "{bad:?}"
        );
    }
    assert!(matches!(
        p.publish("a/+", b"x", QoS::AtMostOnce),
        Err(Error::Encode(_))
    ));
    assert!(matches!(
        p.publish("", b"x", QoS::AtLeastOnce),
        Err(Error::Encode(_))
    ));
    p.pump();
    assert_eq!(p.broker.up().count(), 1, "only CONNECT went out");
}

#[test]
fn pending_subscribe_is_not_resent_after_reconnect_but_times_out_never() {
    // A SUBSCRIBE lost with the link is reported by ConnectionLost; the
    // next connection does not wait for its SUBACK.
    let mut p = Pair::new(Config {
        clean: false,
        clean_init: false,
        ..v311()
    });
    p.connect_ok();
    p.broker.replies.suback = Reply::Drop;
    p.subscribe("a", QoS::AtMostOnce).unwrap();
    p.pump();
    p.cut();
    p.broker.replies.suback = Reply::Answer;
    p.connect_ok();
    p.advance(3_600_000);
    assert_eq!(p.lost().len(), 1, "only the link cut: {:?}", p.lost());
}

/// The reason codes of the DISCONNECTs the client sent.
fn disconnects(p: &Pair) -> Vec<u8> {
    p.broker
        .up()
        .filter_map(|r| match r.pkt {
            Pkt::Disconnect { reason, .. } => Some(reason),
            _ => None,
        })
        .collect()
}

#[test]
fn suback_with_more_or_fewer_codes_than_filters_is_a_protocol_error() {
    use mqttas::wire::DecodeError;
    // 3.9.3: one return/reason code per topic filter, in order. A SUBACK
    // that answers a different list cannot be matched to the request.
    for v in VERSIONS {
        for codes in [vec![1u8, 1, 1], vec![1u8], vec![0u8, 1]] {
            let mut p = Pair::new(config(v));
            p.connect_ok();
            p.broker.suback_codes = Some(codes.clone());
            let subs = [
                Subscription {
                    filter: "a",
                    options: SubOptions::qos(QoS::AtLeastOnce),
                },
                Subscription {
                    filter: "b",
                    options: SubOptions::qos(QoS::AtLeastOnce),
                },
            ];
            p.client.subscribe(p.now, &subs, &[]).unwrap();
            p.pump();
            let ctx = format!("{v:?} {codes:?}");
            if codes.len() == subs.len() {
                assert!(p.lost().is_empty(), "{ctx}");
                continue;
            }
            assert_eq!(
                p.take_events(),
                vec![Ev::ConnectionLost(LostReason::Protocol(
                    DecodeError::CodeCountMismatch
                ))],
                "{ctx}: no Subscribed event"
            );
            assert!(!p.link_up, "{ctx}");
            let want: Vec<u8> = if v == mqttas::Version::V5 {
                vec![0x82]
            } else {
                vec![]
            };
            assert_eq!(
                disconnects(&p),
                want,
                "{ctx}: 5.0 DISCONNECT protocol error"
            );
        }
    }
}

#[test]
fn unsuback_with_more_or_fewer_codes_than_filters_is_a_protocol_error() {
    use mqttas::wire::{DecodeError, Packet, Properties, SubAck};
    // 5.0 3.11.3: one reason code per filter. A 3.1.1 UNSUBACK has none.
    for (v, codes, ok) in [
        (mqttas::Version::V5, vec![0u8], false),
        (mqttas::Version::V5, vec![0u8, 0x11, 0], false),
        (mqttas::Version::V5, vec![0u8, 0x11], true),
        (mqttas::Version::V311, vec![], true),
    ] {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.broker.replies.unsuback = Reply::Drop;
        let id = p.client.unsubscribe(p.now, &["a", "b"], &[]).unwrap();
        p.pump();
        p.broker.send(&Packet::UnsubAck(SubAck {
            packet_id: id,
            properties: Properties::List(&[]),
            codes: &codes,
        }));
        p.pump();
        let evs = p.take_events();
        if ok {
            assert!(
                matches!(&evs[..], [Ev::Unsubscribed { packet_id, .. }] if *packet_id == id),
                "{v:?} {codes:?}: {evs:?}"
            );
            continue;
        }
        assert_eq!(
            evs,
            vec![Ev::ConnectionLost(LostReason::Protocol(
                DecodeError::CodeCountMismatch
            ))],
            "{v:?} {codes:?}"
        );
        assert_eq!(disconnects(&p), vec![0x82]);
    }
}
