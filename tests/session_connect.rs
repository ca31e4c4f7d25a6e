//! CONNECT / CONNACK, refusal, CONNACK timeout, assigned client id, server
//! DISCONNECT, our DISCONNECT, commands while not connected.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Awaited, ConnectOptions, LostReason, State};
use mqttas::wire::{PacketType, Property, QoS, ReasonCode, Version};
use mqttas::{Config, Error};
use sim::{config, v311, v5, Ev, Pair, Pkt, Reply, VERSIONS};

fn connects(p: &Pair) -> Vec<Pkt> {
    p.broker
        .up_of(PacketType::Connect)
        .iter()
        .map(|r| r.pkt.clone())
        .collect()
}

#[test]
fn first_connect_uses_clean_init_later_ones_clean() {
    for v in VERSIONS {
        for (clean_init, clean) in [(true, false), (false, true)] {
            let mut p = Pair::new(Config {
                clean_init,
                clean,
                ..config(v)
            });
            assert_eq!(p.state(), State::Disconnected);
            p.connect_ok();
            assert_eq!(p.state(), State::Connected);
            p.cut();
            assert_eq!(
                p.take_events(),
                vec![Ev::ConnectionLost(LostReason::LinkDown)]
            );
            assert_eq!(p.state(), State::Disconnected);
            p.connect_ok();
            p.cut();
            p.connect_ok();
            let c = connects(&p);
            assert_eq!(c.len(), 3);
            let flags: Vec<bool> = c
                .iter()
                .map(|c| match c {
                    Pkt::Connect {
                        clean,
                        level,
                        keep_alive,
                        client_id,
                        ..
                    } => {
                        assert_eq!(*level, v as u8);
                        assert_eq!(*keep_alive, 60);
                        assert_eq!(client_id, "sim-client");
                        *clean
                    }
                    _ => unreachable!(),
                })
                .collect();
            assert_eq!(flags, vec![clean_init, clean, clean], "{v:?}");
        }
    }
}

#[test]
fn v311_connack_session_present_reported() {
    let mut p = Pair::new(Config {
        clean_init: false,
        clean: false,
        ..v311()
    });
    assert!(!p.connect_ok(), "a new session is not present");
    p.cut();
    assert!(p.connect_ok(), "the broker kept the session");
    p.cut();
    p.broker.session_present = Some(false);
    assert!(!p.connect_ok());
}

fn prop(props: &[Property<'static>], pick: impl Fn(&Property) -> Option<u32>) -> Option<u32> {
    props.iter().find_map(pick)
}

#[test]
fn v5_connect_announces_config() {
    let cfg = Config {
        clean_init: true,
        clean: false,
        receive_maximum: 12,
        maximum_packet_size: 3000,
        topic_alias_maximum: 5,
        ..v5()
    };
    let mut p = Pair::with(
        cfg,
        sim::Sizes {
            aliases: 256,
            ..Default::default()
        },
        0,
    );
    p.connect_ok();
    p.cut();
    p.connect_ok();
    let c = connects(&p);
    let expiry = |p: &Property| match p {
        Property::SessionExpiryInterval(e) => Some(*e),
        _ => None,
    };
    for (i, c) in c.iter().enumerate() {
        let Pkt::Connect { props, .. } = c else {
            unreachable!()
        };
        // Absent means 0 (a clean connection); None in Config means never
        // expire for a kept session.
        let want = if i == 0 { 0 } else { u32::MAX };
        assert_eq!(
            prop(props, expiry).unwrap_or(0),
            want,
            "session expiry of CONNECT {i}"
        );
        assert_eq!(
            prop(props, |p| match p {
                Property::ReceiveMaximum(m) => Some(*m as u32),
                _ => None,
            }),
            Some(12)
        );
        assert_eq!(
            prop(props, |p| match p {
                Property::MaximumPacketSize(m) => Some(*m),
                _ => None,
            }),
            Some(3000)
        );
        assert_eq!(
            prop(props, |p| match p {
                Property::TopicAliasMaximum(m) => Some(*m as u32),
                _ => None,
            }),
            Some(5)
        );
    }
}

#[test]
fn v5_explicit_session_expiry_is_sent() {
    let mut p = Pair::new(Config {
        session_expiry: Some(3600),
        clean_init: false,
        ..v5()
    });
    p.connect_ok();
    let Pkt::Connect { props, .. } = &connects(&p)[0] else {
        unreachable!()
    };
    assert!(
        props.contains(&Property::SessionExpiryInterval(3600)),
        "{props:?}"
    );
}

#[test]
fn connect_options_reach_the_broker() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        let will = mqttas::wire::Will {
            topic: "will/t",
            payload: b"gone",
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Default::default(),
        };
        let opts = ConnectOptions {
            client_id: "dev-1",
            username: Some("user"),
            password: Some(b"secret"),
            will: Some(will),
            properties: &[],
        };
        p.connect_with(&opts).unwrap();
        let Pkt::Connect {
            client_id,
            username,
            password,
            will,
            ..
        } = &connects(&p)[0]
        else {
            unreachable!()
        };
        assert_eq!(client_id, "dev-1");
        assert_eq!(username.as_deref(), Some("user"));
        assert_eq!(password.as_deref(), Some(&b"secret"[..]));
        let w = will.as_ref().expect("will");
        assert_eq!(
            (w.topic.as_str(), &w.payload[..], w.qos, w.retain),
            ("will/t", &b"gone"[..], QoS::AtLeastOnce, true)
        );
        assert!(matches!(p.take_events()[..], [Ev::Connected { .. }]));
    }
}

#[test]
fn refused_connack_is_connection_lost_with_the_code() {
    for (v, code) in [
        (Version::V311, 5u8),
        (Version::V311, 2),
        (Version::V5, 0x87),
        (Version::V5, 0x8C),
    ] {
        let mut p = Pair::new(config(v));
        p.broker.connack_code = code;
        p.connect();
        assert_eq!(
            p.take_events(),
            vec![Ev::ConnectionLost(LostReason::Refused(v, ReasonCode(code)))],
            "{v:?} code {code}"
        );
        assert_eq!(p.state(), State::Disconnected);
        assert!(!p.link_up);
        // Nothing more to do until the next connect.
        assert_eq!(p.client.poll_deadline(), None);
        // And a later connection works.
        p.broker.connack_code = 0;
        p.connect_ok();
    }
}

#[test]
fn refused_message_says_what_happened() {
    let r = LostReason::Refused(Version::V311, ReasonCode(5));
    assert_eq!(
        r.to_string(),
        "broker refused the connection: not authorised (CONNACK 5)"
    );
}

#[test]
fn missing_connack_times_out_after_response_time() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            response_time_ms: 7_000,
            ..config(v)
        });
        p.broker.replies.connack = Reply::Drop;
        p.connect();
        assert_eq!(p.state(), State::Connecting);
        assert!(p.take_events().is_empty());
        p.advance(6_999);
        assert!(p.take_events().is_empty(), "lost before response_time");
        p.advance(60_000);
        assert_eq!(
            p.lost(),
            vec![(7_000, LostReason::Timeout(Awaited::ConnAck))],
            "{v:?}"
        );
        assert_eq!(p.state(), State::Disconnected);
        // No ping was sent while waiting for CONNACK.
        assert!(p.broker.ping_times().is_empty());
    }
}

#[test]
fn late_connack_within_response_time_connects() {
    let mut p = Pair::new(v311());
    p.broker.replies.connack = Reply::Delay(9_000);
    p.connect();
    p.advance(9_500);
    assert!(matches!(
        p.take_events()[..],
        [Ev::Connected {
            session_present: false,
            ..
        }]
    ));
    assert_eq!(p.state(), State::Connected);
}

#[test]
fn connect_twice_is_already_connected() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    let id = p.client_id.clone();
    let e = p.client.connect(
        p.now,
        &ConnectOptions {
            client_id: &id,
            ..Default::default()
        },
    );
    assert_eq!(e, Err(Error::AlreadyConnected));
    assert_eq!(p.broker.up_of(PacketType::Connect).len(), 1);
}

#[test]
fn v5_assigned_client_id_is_reused_on_reconnect() {
    let mut p = Pair::new(Config {
        clean: false,
        ..v5()
    });
    p.broker.connack_props = vec![Property::AssignedClientIdentifier("auto-4711")];
    p.client_id = String::new();
    p.connect();
    let ev = p.take_events();
    let Ev::Connected { props, .. } = &ev[0] else {
        panic!("{ev:?}")
    };
    assert!(props.contains(&Property::AssignedClientIdentifier("auto-4711")));
    p.cut();
    p.broker.connack_props.clear();
    p.connect_ok();
    let ids: Vec<String> = connects(&p)
        .iter()
        .map(|c| match c {
            Pkt::Connect { client_id, .. } => client_id.clone(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(ids, vec!["".to_string(), "auto-4711".to_string()]);
}

#[test]
fn v5_server_disconnect_is_connection_lost_with_its_code() {
    for code in [0x8Bu8, 0x8E, 0x98, 0x00] {
        let mut p = Pair::new(v5());
        p.connect_ok();
        p.broker.disconnect(code);
        p.pump();
        assert_eq!(
            p.take_events(),
            vec![Ev::ConnectionLost(LostReason::ServerDisconnect(
                ReasonCode(code)
            ))]
        );
        assert_eq!(p.state(), State::Disconnected);
        assert!(!p.link_up);
    }
}

#[test]
fn our_disconnect_sends_disconnect_then_reports_disconnected() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            clean: false,
            clean_init: false,
            ..config(v)
        });
        p.connect_ok();
        p.broker.replies.puback = Reply::Drop;
        let id = p.publish("a/b", b"kept", QoS::AtLeastOnce).unwrap();
        p.pump();
        assert_eq!(p.client.pending_publications(), 1);
        p.client
            .disconnect(p.now, ReasonCode::SUCCESS, &[])
            .unwrap();
        p.pump();
        assert_eq!(p.take_events(), vec![Ev::Disconnected]);
        let last = p.broker.up().last().unwrap();
        assert!(
            matches!(last.pkt, Pkt::Disconnect { reason: 0, .. }),
            "{:?}",
            last.pkt
        );
        assert_eq!(p.state(), State::Disconnected);
        assert!(!p.link_up);
        // The stored message stays for the next connection.
        assert_eq!(p.client.pending_publications(), 1);
        assert_eq!(
            p.client.disconnect(p.now, ReasonCode::SUCCESS, &[]),
            Err(Error::NotConnected)
        );
        // No timer runs while disconnected: nothing happens for hours.
        p.advance(3 * 3600 * 1000);
        assert!(p.take_events().is_empty());
        p.broker.replies.puback = Reply::Answer;
        assert!(p.connect_ok());
        p.pump();
        assert_eq!(p.published(), vec![(id, 0)]);
        assert_eq!(p.client.pending_publications(), 0);
    }
}

#[test]
fn commands_before_connecting() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        assert_eq!(
            p.publish("a", b"x", QoS::AtMostOnce),
            Err(Error::NotConnected)
        );
        assert_eq!(
            p.subscribe("a/#", QoS::AtLeastOnce),
            Err(Error::NotConnected)
        );
        assert_eq!(p.unsubscribe("a/#"), Err(Error::NotConnected));
        assert_eq!(p.client.ping(p.now), Err(Error::NotConnected));
        // QoS 1/2 is stored and goes once connected.
        let a = p.publish("a", b"one", QoS::AtLeastOnce).unwrap();
        let b = p.publish("a", b"two", QoS::ExactlyOnce).unwrap();
        assert_ne!(a, b);
        assert_eq!(p.client.pending_publications(), 2);
        assert_eq!(
            p.client.poll_transmit(p.now),
            None,
            "nothing to send without a connection"
        );
        p.connect_ok();
        p.pump();
        let got: Vec<_> = p
            .broker
            .received
            .iter()
            .map(|r| (r.payload.clone(), r.qos, r.dup))
            .collect();
        assert_eq!(
            got,
            vec![
                (b"one".to_vec(), QoS::AtLeastOnce, false),
                (b"two".to_vec(), QoS::ExactlyOnce, false)
            ]
        );
        assert_eq!(p.published(), vec![(a, 0), (b, 0)]);
    }
}

#[test]
fn qos0_publish_after_connection_lost_is_not_connected() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.publish("a", b"x", QoS::AtMostOnce).unwrap();
    p.cut();
    assert_eq!(
        p.publish("a", b"x", QoS::AtMostOnce),
        Err(Error::NotConnected)
    );
    // While CONNECT is out but CONNACK not yet in, QoS 0 is refused too.
    p.broker.replies.connack = Reply::Hold;
    p.connect();
    assert_eq!(p.state(), State::Connecting);
    assert_eq!(
        p.publish("a", b"x", QoS::AtMostOnce),
        Err(Error::NotConnected)
    );
}

#[test]
fn link_down_while_waiting_for_connack() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.broker.replies.connack = Reply::Hold;
        p.connect();
        assert_eq!(p.state(), State::Connecting);
        p.cut();
        assert_eq!(p.state(), State::Disconnected);
        let evs = p.take_events();
        assert!(
            evs.is_empty() || evs == vec![Ev::ConnectionLost(LostReason::LinkDown)],
            "{v:?}: {evs:?}"
        );
        // Nothing fires later for the dead attempt.
        p.advance(3_600_000);
        assert!(p.take_events().is_empty());
        p.broker.replies.connack = Reply::Answer;
        p.connect_ok();
        assert_eq!(p.state(), State::Connected);
    }
}

#[test]
fn v5_server_disconnect_reason_string_is_available() {
    use mqttas::wire::{Disconnect, Packet, Properties};
    let mut p = Pair::new(v5());
    p.connect_ok();
    let props = [
        Property::ReasonString("too many connections from this host"),
        Property::UserProperty("retry-after", "30"),
    ];
    p.broker.send(&Packet::Disconnect(Disconnect {
        reason: ReasonCode::SERVER_BUSY,
        properties: Properties::List(&props),
    }));
    p.pump();
    assert_eq!(
        p.take_events(),
        vec![Ev::ConnectionLost(LostReason::ServerDisconnect(
            ReasonCode::SERVER_BUSY
        ))]
    );
    let got = p.client.disconnect_properties();
    assert_eq!(
        got.reason_string(),
        Some("too many connections from this host")
    );
    assert_eq!(
        got.user_properties().collect::<Vec<_>>(),
        vec![("retry-after", "30")]
    );
    // Gone with the next connection.
    p.connect_ok();
    assert!(p.client.disconnect_properties().is_empty());
    // A loss of another kind has none.
    p.cut();
    assert!(p.client.disconnect_properties().is_empty());
}

#[test]
fn v311_server_disconnect_is_reported_as_undefined_not_success() {
    use mqttas::wire::DecodeError;
    // 3.1.1 has no DISCONNECT from the server: it is not "success (0x00)".
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.inject(&[0xE0, 0x00]);
    p.pump();
    let lost = p.lost();
    assert_eq!(
        lost.iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Protocol(DecodeError::UnexpectedPacket(14))]
    );
    let text = lost[0].1.to_string();
    assert!(
        text.starts_with("broker sent DISCONNECT, which MQTT 3.1.1 does not define"),
        "{text}"
    );
    assert!(!text.contains("success"), "{text}");
    assert!(!p.link_up);
}

#[test]
fn v311_connack_to_a_v5_connect_is_broker_does_not_support_v5() {
    // A 3.1.1-only broker answers a level-5 CONNECT with a 3.1.1 CONNACK,
    // return code 1 "unacceptable protocol version" (3.1.1 3.1.2.2); it
    // is a refusal (5.0's 0x84, unsupported protocol version), not a
    // malformed 5.0 CONNACK. Other 3.1.1 return codes keep their meaning.
    for (code, want) in [
        (
            1u8,
            LostReason::Refused(Version::V5, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION),
        ),
        (5, LostReason::Refused(Version::V311, ReasonCode(5))),
    ] {
        let mut p = Pair::new(v5());
        p.broker.replies.connack = Reply::Drop;
        p.connect();
        p.broker.inject(&[0x20, 0x02, 0x00, code]);
        p.pump();
        assert_eq!(p.take_events(), vec![Ev::ConnectionLost(want)], "{code}");
        assert!(!p.link_up);
        // A refusal: no DISCONNECT (the broker closes).
        assert!(
            !p.broker
                .up()
                .any(|r| matches!(r.pkt, Pkt::Disconnect { .. })),
            "{code}"
        );
        if code == 1 {
            assert_eq!(
                want.to_string(),
                "broker does not support MQTT 5.0: connection refused, unsupported protocol version (0x84)"
            );
        }
    }
    // A 5.0 broker's own refusal with 0x84 reads the same.
    let mut p = Pair::new(v5());
    p.broker.connack_code = 0x84;
    p.connect();
    assert_eq!(
        p.lost()[0].1.to_string(),
        "broker does not support MQTT 5.0: connection refused, unsupported protocol version (0x84)"
    );
}

#[test]
fn v5_server_disconnect_0x00_reads_normal_disconnection() {
    // MQTT 5.0 3.14.2.1: DISCONNECT 0x00 is "normal disconnection", not
    // "success" (the name of 0x00 in CONNACK and the acknowledgements).
    let mut p = Pair::new(v5());
    p.connect_ok();
    p.broker.disconnect(0x00);
    p.pump();
    let text = p.lost()[0].1.to_string();
    assert_eq!(
        text,
        "broker closed the connection: normal disconnection (0x00)"
    );
}

#[test]
fn v5_server_redirection_names_the_server_reference() {
    use mqttas::wire::{Disconnect, Packet, Properties};
    // 5.0 4.11: DISCONNECT 0x9C (use another server) or 0x9D (server moved)
    // with a Server Reference: the loss text names it, after the reason
    // string.
    for (code, name) in [(0x9Cu8, "use another server"), (0x9D, "server moved")] {
        let mut p = Pair::new(v5());
        p.connect_ok();
        let props = [
            Property::ReasonString("maintenance"),
            Property::ServerReference("other.example:1884"),
        ];
        p.broker.send(&Packet::Disconnect(Disconnect {
            reason: ReasonCode(code),
            properties: Properties::List(&props),
        }));
        p.pump();
        let lost = p.lost();
        assert_eq!(lost.len(), 1, "{lost:?}");
        let text = lost[0]
            .1
            .with_properties(p.client.disconnect_properties())
            .to_string();
        assert_eq!(
            text,
            format!(
                "broker closed the connection: {name} ({code:#04x}): \"maintenance\"; server reference: other.example:1884"
            )
        );
    }
    // Without properties the text is the reason's alone.
    let mut p = Pair::new(v5());
    p.connect_ok();
    p.broker.disconnect(0x9D);
    p.pump();
    let lost = p.lost();
    assert_eq!(
        lost[0]
            .1
            .with_properties(p.client.disconnect_properties())
            .to_string(),
        lost[0].1.to_string()
    );
}

#[test]
fn v5_refusal_keeps_its_reason_string_and_server_reference() {
    // A CONNACK 0x9C / 0x9D may carry a Server Reference (5.0 3.2.2.3.16):
    // kept with the refusal like a DISCONNECT's properties, gone with the
    // next connection.
    let mut p = Pair::new(v5());
    p.broker.connack_code = 0x9D;
    p.broker.connack_props = vec![
        Property::ReasonString("moved for good"),
        Property::ServerReference("new.example"),
    ];
    p.connect();
    let lost = p.lost();
    assert_eq!(
        lost.iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Refused(Version::V5, ReasonCode::SERVER_MOVED)]
    );
    let props = p.client.disconnect_properties();
    assert_eq!(props.server_reference(), Some("new.example"));
    assert_eq!(
        lost[0].1.with_properties(props).to_string(),
        "broker refused the connection: server moved (0x9d): \"moved for good\"; server reference: new.example"
    );
    p.broker.connack_code = 0;
    p.broker.connack_props.clear();
    p.connect_ok();
    assert!(p.client.disconnect_properties().is_empty());
}
