//! Invalid input from the application: each command refuses it with a
//! specific error (checked through its Display text) and sends nothing:
//! `poll_transmit` has nothing new, the broker sees no packet, the store
//! is unchanged, and the session goes on working afterwards.
//!
//! Bad configuration values are refused by `Client::new` the same way.
//! Invalid UTF-8 cannot reach the Rust API (topics are `&str`); QoS values
//! outside 0-2 cannot either (`QoS` is an enum): the wire conversion
//! `QoS::from_u8` refuses them.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Buffers, ConfigError, ConnectOptions, State};
use mqttas::wire::{EncodeError, Property, QoS, ReasonCode, SubOptions, Subscription, Will};
use mqttas::{Client, Config, Error, Version};
use sim::{config, Pair, Sizes, VERSIONS};

/// What the client has done so far, to check that a refused command
/// changed nothing.
struct Snapshot {
    up: usize,
    pending: usize,
    state: State,
}

fn snapshot(p: &mut Pair) -> Snapshot {
    p.pump();
    Snapshot {
        up: p.broker.up().count(),
        pending: p.client.pending_publications(),
        state: p.state(),
    }
}

/// The command was refused with an error whose Display holds `text`, and
/// nothing was queued, sent or stored.
fn refused<T: std::fmt::Debug>(
    p: &mut Pair,
    before: &Snapshot,
    r: Result<T, Error>,
    want: Error,
    text: &str,
    ctx: &str,
) {
    let e = match r {
        Err(e) => e,
        Ok(v) => panic!("{ctx}: accepted ({v:?}), want {want:?}"),
    };
    assert_eq!(e, want, "{ctx}");
    let shown = e.to_string();
    assert!(
        shown.contains(text),
        "{ctx}: Display {shown:?} does not say {text:?}"
    );
    assert!(
        p.client.poll_transmit(p.now).is_none(),
        "{ctx}: something was queued for sending"
    );
    assert_eq!(
        p.client.pending_publications(),
        before.pending,
        "{ctx}: store changed"
    );
    assert_eq!(p.state(), before.state, "{ctx}: state changed");
    p.pump();
    assert_eq!(
        p.broker.up().count(),
        before.up,
        "{ctx}: the broker got a packet"
    );
    assert!(p.lost().is_empty(), "{ctx}: {:?}", p.lost());
}

fn connected(v: Version) -> Pair {
    let mut p = Pair::new(config(v));
    p.connect_ok();
    p
}

/// The session still works: a QoS 1 message goes through.
fn still_works(p: &mut Pair, ctx: &str) {
    let id = p
        .publish("still/works", b"yes", QoS::AtLeastOnce)
        .unwrap_or_else(|e| panic!("{ctx}: {e}"));
    p.pump();
    assert!(
        p.published().contains(&(id, 0)),
        "{ctx}: {:?}",
        p.published()
    );
}

fn long(n: usize) -> String {
    "x".repeat(n)
}

#[test]
fn invalid_publish_topics_are_refused() {
    let too_long = long(65_536);
    let cases: [(&str, &str, Error, &str); 7] = [
        (
            "a/+",
            "+ in a topic",
            Error::Encode(EncodeError::InvalidTopic),
            "wildcard",
        ),
        (
            "+",
            "+ alone",
            Error::Encode(EncodeError::InvalidTopic),
            "wildcard",
        ),
        (
            "a/#",
            "# in a topic",
            Error::Encode(EncodeError::InvalidTopic),
            "wildcard",
        ),
        (
            "",
            "empty topic",
            Error::Encode(EncodeError::EmptyTopic),
            "empty topic",
        ),
        (
            "a\0b",
            "NUL in a topic",
            Error::Encode(EncodeError::InvalidTopic),
            "NUL",
        ),
        (
            &too_long,
            "topic of 65536 bytes",
            Error::Encode(EncodeError::StringTooLong),
            "65535",
        ),
        (
            "sp/#/x",
            "# not last",
            Error::Encode(EncodeError::InvalidTopic),
            "wildcard",
        ),
    ];
    for v in VERSIONS {
        let mut p = connected(v);
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            for (topic, what, want, text) in &cases {
                let ctx = format!("{v:?} {qos:?} {what}");
                let before = snapshot(&mut p);
                let r = p.publish(topic, b"payload", qos);
                refused(&mut p, &before, r, *want, text, &ctx);
            }
        }
        still_works(&mut p, &format!("{v:?}"));
    }
}

#[test]
fn a_topic_of_65535_bytes_is_accepted() {
    for v in VERSIONS {
        let mut p = Pair::with(
            config(v),
            Sizes {
                rx: 70_000,
                tx: 70_000,
                store: 70_000,
                aliases: 0,
                qos2: 256,
                out_aliases: 0,
            },
            0,
        );
        p.connect_ok();
        let topic = long(65_535);
        p.publish(&topic, b"edge", QoS::AtMostOnce).unwrap();
        let id = p.publish(&topic, b"edge", QoS::AtLeastOnce).unwrap();
        p.pump();
        assert!(p.published().contains(&(id, 0)), "{v:?}");
        let got: Vec<usize> = p
            .broker
            .up_publishes()
            .iter()
            .map(|(_, pp)| pp.topic.len())
            .collect();
        assert_eq!(got, vec![65_535, 65_535], "{v:?}");
    }
}

#[test]
fn invalid_filters_are_refused() {
    let too_long = long(65_536);
    let bad: [(&str, Error, &str); 8] = [
        (
            "a/#/b",
            Error::Encode(EncodeError::InvalidTopic),
            "misplaced wildcard",
        ),
        (
            "a#",
            Error::Encode(EncodeError::InvalidTopic),
            "misplaced wildcard",
        ),
        (
            "a+",
            Error::Encode(EncodeError::InvalidTopic),
            "misplaced wildcard",
        ),
        (
            "+a/b",
            Error::Encode(EncodeError::InvalidTopic),
            "misplaced wildcard",
        ),
        ("a/\0", Error::Encode(EncodeError::InvalidTopic), "NUL"),
        ("", Error::Encode(EncodeError::EmptyTopic), "empty topic"),
        (
            &too_long,
            Error::Encode(EncodeError::StringTooLong),
            "65535",
        ),
        (
            "#/",
            Error::Encode(EncodeError::InvalidTopic),
            "misplaced wildcard",
        ),
    ];
    for v in VERSIONS {
        let mut p = connected(v);
        for (filter, want, text) in &bad {
            let short: String = filter.chars().take(12).collect();
            let before = snapshot(&mut p);
            let r = p.subscribe(filter, QoS::AtLeastOnce);
            refused(
                &mut p,
                &before,
                r,
                *want,
                text,
                &format!("{v:?} subscribe {short:?}"),
            );
            let before = snapshot(&mut p);
            let r = p.unsubscribe(filter);
            refused(
                &mut p,
                &before,
                r,
                *want,
                text,
                &format!("{v:?} unsubscribe {short:?}"),
            );
            // One bad filter among good ones spoils the whole request.
            let subs = [
                Subscription {
                    filter: "good/+",
                    options: SubOptions::qos(QoS::AtMostOnce),
                },
                Subscription {
                    filter,
                    options: SubOptions::qos(QoS::AtMostOnce),
                },
            ];
            let before = snapshot(&mut p);
            let r = p.client.subscribe(p.now, &subs, &[]);
            refused(
                &mut p,
                &before,
                r,
                *want,
                text,
                &format!("{v:?} list {short:?}"),
            );
        }
        // No filter at all.
        let before = snapshot(&mut p);
        let r = p.client.subscribe(p.now, &[], &[]);
        let want = Error::Encode(EncodeError::EmptyFilterList);
        refused(
            &mut p,
            &before,
            r,
            want,
            "no topic filter",
            &format!("{v:?} empty subscribe"),
        );
        let before = snapshot(&mut p);
        let r = p.client.unsubscribe(p.now, &[], &[]);
        refused(
            &mut p,
            &before,
            r,
            want,
            "no topic filter",
            &format!("{v:?} empty unsubscribe"),
        );
        // Valid filters with wildcards pass.
        for f in ["#", "+", "a/+/b", "a/#", "+/+/#", "$share/g/a/+"] {
            p.subscribe(f, QoS::AtLeastOnce)
                .unwrap_or_else(|e| panic!("{v:?} {f}: {e}"));
        }
        still_works(&mut p, &format!("{v:?}"));
    }
}

#[test]
fn invalid_subscription_options_are_refused() {
    for v in VERSIONS {
        let mut p = connected(v);
        let mut opts = SubOptions::qos(QoS::AtLeastOnce);
        opts.retain_handling = 3;
        let s = [Subscription {
            filter: "a",
            options: opts,
        }];
        let before = snapshot(&mut p);
        let r = p.client.subscribe(p.now, &s, &[]);
        let (want, text) = match v {
            // 3.1.1 has no retain handling at all.
            Version::V311 => (
                EncodeError::NotInVersion,
                "not available in this MQTT version",
            ),
            Version::V5 => (
                EncodeError::InvalidSubOptions,
                "invalid subscription options",
            ),
        };
        refused(
            &mut p,
            &before,
            r,
            Error::Encode(want),
            text,
            &format!("{v:?} retain handling 3"),
        );

        let mut opts = SubOptions::qos(QoS::AtLeastOnce);
        opts.no_local = true;
        let s = [Subscription {
            filter: "$share/g/a",
            options: opts,
        }];
        let before = snapshot(&mut p);
        let r = p.client.subscribe(p.now, &s, &[]);
        let want = match v {
            Version::V311 => EncodeError::NotInVersion,
            Version::V5 => EncodeError::InvalidSubOptions,
        };
        refused(
            &mut p,
            &before,
            r,
            Error::Encode(want),
            "",
            &format!("{v:?} no local on shared"),
        );
        still_works(&mut p, &format!("{v:?}"));
    }
}

#[test]
fn qos_outside_0_to_2_is_not_representable() {
    for v in 3..=255u8 {
        assert_eq!(QoS::from_u8(v), None, "{v}");
    }
    assert_eq!(QoS::from_u8(0), Some(QoS::AtMostOnce));
    assert_eq!(QoS::from_u8(1), Some(QoS::AtLeastOnce));
    assert_eq!(QoS::from_u8(2), Some(QoS::ExactlyOnce));
    // The options byte with QoS bits 3 is refused too.
    assert_eq!(SubOptions::from_byte(3), None);
    assert_eq!(SubOptions::from_byte(0x30), None, "retain handling 3");
    assert_eq!(SubOptions::from_byte(0x40), None, "reserved bit");
}

#[test]
fn payload_larger_than_the_buffers_is_refused() {
    let sizes = Sizes {
        rx: 512,
        tx: 512,
        store: 1024,
        aliases: 0,
        qos2: 256,
        out_aliases: 0,
    };
    for v in VERSIONS {
        let mut p = Pair::with(config(v), sizes, 0);
        p.connect_ok();
        let big = vec![7u8; 2000];
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
            let before = snapshot(&mut p);
            let r = p.publish("big", &big, qos);
            refused(
                &mut p,
                &before,
                r,
                Error::TooLarge,
                "larger than the buffers",
                &format!("{v:?} {qos:?}"),
            );
        }
        // Fits the store but not while it holds others: StoreFull, and
        // the earlier ones are kept.
        p.broker.replies.puback = sim::Reply::Drop;
        let a = p.publish("fill", &[1u8; 400], QoS::AtLeastOnce).unwrap();
        let b = p.publish("fill", &[2u8; 400], QoS::AtLeastOnce).unwrap();
        let before = snapshot(&mut p);
        assert_eq!(before.pending, 2);
        let r = p.publish("fill", &[3u8; 400], QoS::AtLeastOnce);
        refused(
            &mut p,
            &before,
            r,
            Error::StoreFull,
            "store full",
            &format!("{v:?} store full"),
        );
        p.broker.replies = Default::default();
        p.cut();
        p.connect_ok();
        p.pump();
        let mut done: Vec<u16> = p.published().iter().map(|x| x.0).collect();
        done.sort_unstable();
        assert_eq!(done, vec![a, b], "{v:?}");
    }
}

#[test]
fn payload_over_the_broker_maximum_packet_size_is_refused() {
    let mut p = Pair::new(config(Version::V5));
    p.broker.connack_props = vec![
        Property::MaximumPacketSize(100),
        Property::MaximumQoS(1),
        Property::RetainAvailable(0),
    ];
    p.connect_ok();
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        let before = snapshot(&mut p);
        let r = p.publish("big", &[0u8; 200], qos);
        refused(
            &mut p,
            &before,
            r,
            Error::TooLarge,
            "maximum packet size",
            &format!("{qos:?}"),
        );
    }
    let before = snapshot(&mut p);
    let r = p.publish("q2", b"x", QoS::ExactlyOnce);
    refused(
        &mut p,
        &before,
        r,
        Error::QoSNotSupported,
        "QoS not supported",
        "maximum QoS 1",
    );
    let before = snapshot(&mut p);
    let r = p.publish_with("r", b"x", QoS::AtMostOnce, true, &[]);
    refused(
        &mut p,
        &before,
        r,
        Error::RetainNotSupported,
        "retain not supported",
        "retain",
    );
    still_works(&mut p, "5.0 limits");
}

#[test]
fn properties_in_3_1_1_are_refused() {
    let mut p = connected(Version::V311);
    let props = [Property::UserProperty("k", "v")];
    let not = Error::Encode(EncodeError::NotInVersion);
    let text = "not available in this MQTT version";
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let before = snapshot(&mut p);
        let r = p.publish_with("t", b"x", qos, false, &props);
        refused(&mut p, &before, r, not, text, &format!("publish {qos:?}"));
    }
    let s = [Subscription {
        filter: "a",
        options: SubOptions::qos(QoS::AtMostOnce),
    }];
    let before = snapshot(&mut p);
    let r = p.client.subscribe(p.now, &s, &props);
    refused(&mut p, &before, r, not, text, "subscribe");
    let before = snapshot(&mut p);
    let r = p.client.unsubscribe(p.now, &["a"], &props);
    refused(&mut p, &before, r, not, text, "unsubscribe");
    let before = snapshot(&mut p);
    let r = p.client.auth(p.now, ReasonCode::REAUTHENTICATE, &[]);
    refused(&mut p, &before, r, not, text, "auth");
    let before = snapshot(&mut p);
    let r = p.client.disconnect(p.now, ReasonCode::SUCCESS, &props);
    refused(&mut p, &before, r, not, text, "disconnect with properties");
    let before = snapshot(&mut p);
    let r = p.client.disconnect(p.now, ReasonCode(0x04), &[]);
    refused(&mut p, &before, r, not, text, "disconnect with a reason");
    still_works(&mut p, "3.1.1");

    // CONNECT properties.
    let mut p = Pair::new(config(Version::V311));
    p.link_up = true;
    p.broker.open();
    let opts = ConnectOptions {
        client_id: "c",
        properties: &props,
        ..ConnectOptions::default()
    };
    let before = snapshot(&mut p);
    let r = p.client.connect(p.now, &opts);
    refused(&mut p, &before, r, not, text, "connect");
}

#[test]
fn invalid_5_0_properties_are_refused() {
    let mut p = connected(Version::V5);
    let cases: [(&[Property<'_>], u8); 5] = [
        (&[Property::SessionExpiryInterval(5)], 0x11),
        (&[Property::TopicAlias(0)], 0x23),
        (
            &[
                Property::PayloadFormatIndicator(1),
                Property::PayloadFormatIndicator(0),
            ],
            0x01,
        ),
        (&[Property::PayloadFormatIndicator(2)], 0x01),
        (&[Property::ResponseTopic("a/#")], 0x08),
    ];
    for (props, id) in cases {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            let before = snapshot(&mut p);
            let r = p.publish_with("t", b"x", qos, false, props);
            let want = Error::Encode(EncodeError::InvalidProperty(id));
            refused(
                &mut p,
                &before,
                r,
                want,
                &format!("({id:#04x})"),
                &format!("{props:?} {qos:?}"),
            );
        }
    }
    // A reason code DISCONNECT cannot carry: refused, and still connected.
    let before = snapshot(&mut p);
    let r = p.client.disconnect(p.now, ReasonCode(0x01), &[]);
    let want = Error::Encode(EncodeError::InvalidReasonCode(1));
    refused(
        &mut p,
        &before,
        r,
        want,
        "reason code not allowed",
        "disconnect 0x01",
    );
    assert_eq!(p.state(), State::Connected);
    still_works(&mut p, "5.0");
}

#[test]
fn commands_that_need_a_connection_are_refused_without_one() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        let ctx = format!("{v:?}");
        let before = snapshot(&mut p);
        let r = p.publish("t", b"x", QoS::AtMostOnce);
        refused(
            &mut p,
            &before,
            r,
            Error::NotConnected,
            "not connected",
            &ctx,
        );
        // A bad topic is said to be bad, connected or not.
        let r = p.publish("a/#", b"x", QoS::AtMostOnce);
        refused(
            &mut p,
            &before,
            r,
            Error::Encode(EncodeError::InvalidTopic),
            "invalid topic",
            &ctx,
        );
        let r = p.subscribe("t", QoS::AtMostOnce);
        refused(
            &mut p,
            &before,
            r,
            Error::NotConnected,
            "not connected",
            &ctx,
        );
        let r = p.unsubscribe("t");
        refused(
            &mut p,
            &before,
            r,
            Error::NotConnected,
            "not connected",
            &ctx,
        );
        let r = p.client.ping(p.now);
        refused(
            &mut p,
            &before,
            r,
            Error::NotConnected,
            "not connected",
            &ctx,
        );
        let r = p.client.disconnect(p.now, ReasonCode::SUCCESS, &[]);
        refused(
            &mut p,
            &before,
            r,
            Error::NotConnected,
            "not connected",
            &ctx,
        );
        // QoS 1/2 is stored while offline, and goes out on connection.
        let id = p.publish("t", b"x", QoS::AtLeastOnce).unwrap();
        assert_eq!(p.client.pending_publications(), 1);
        p.connect_ok();
        p.pump();
        assert_eq!(p.published(), vec![(id, 0)], "{ctx}");
        // connect while connected.
        let before = snapshot(&mut p);
        let r = p.client.connect(p.now, &ConnectOptions::default());
        refused(
            &mut p,
            &before,
            r,
            Error::AlreadyConnected,
            "already connected",
            &ctx,
        );
    }
}

#[test]
fn invalid_connect_options_are_refused() {
    let too_long = long(65_536);
    for v in VERSIONS {
        let will = |topic| Will {
            topic,
            payload: b"bye",
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        };
        let cases: Vec<(&str, ConnectOptions<'_>, Error, &str)> = vec![
            (
                "NUL in the client id",
                ConnectOptions {
                    client_id: "a\0b",
                    ..ConnectOptions::default()
                },
                Error::Encode(EncodeError::InvalidString),
                "U+0000",
            ),
            (
                "client id over 65535 bytes",
                ConnectOptions {
                    client_id: &too_long,
                    ..ConnectOptions::default()
                },
                Error::Encode(EncodeError::StringTooLong),
                "65535",
            ),
            (
                "wildcard in the will topic",
                ConnectOptions {
                    client_id: "c",
                    will: Some(will("w/#")),
                    ..ConnectOptions::default()
                },
                Error::Encode(EncodeError::InvalidTopic),
                "wildcard",
            ),
            (
                "empty will topic",
                ConnectOptions {
                    client_id: "c",
                    will: Some(will("")),
                    ..ConnectOptions::default()
                },
                Error::Encode(EncodeError::EmptyTopic),
                "empty topic",
            ),
            (
                "NUL in the user name",
                ConnectOptions {
                    client_id: "c",
                    username: Some("u\0"),
                    ..ConnectOptions::default()
                },
                Error::Encode(EncodeError::InvalidString),
                "U+0000",
            ),
        ];
        for (what, opts, want, text) in cases {
            let mut p = Pair::new(config(v));
            p.link_up = true;
            p.broker.open();
            let before = snapshot(&mut p);
            let r = p.client.connect(p.now, &opts);
            refused(&mut p, &before, r, want, text, &format!("{v:?} {what}"));
            assert_eq!(p.state(), State::Disconnected);
        }
    }
    // 3.1.1 has no password without a user name.
    let mut p = Pair::new(config(Version::V311));
    p.link_up = true;
    p.broker.open();
    let before = snapshot(&mut p);
    let opts = ConnectOptions {
        client_id: "c",
        password: Some(b"pw"),
        ..ConnectOptions::default()
    };
    let r = p.client.connect(p.now, &opts);
    let want = Error::Encode(EncodeError::NotInVersion);
    refused(
        &mut p,
        &before,
        r,
        want,
        "not available",
        "3.1.1 password alone",
    );
    // Too many extra CONNECT properties for the session's list.
    let mut p = Pair::new(config(Version::V5));
    p.link_up = true;
    p.broker.open();
    let many = [Property::UserProperty("k", "v"); 20];
    let opts = ConnectOptions {
        client_id: "c",
        properties: &many,
        ..ConnectOptions::default()
    };
    let before = snapshot(&mut p);
    let r = p.client.connect(p.now, &opts);
    let want = Error::InvalidConfig(ConfigError::ConnectProperties);
    refused(
        &mut p,
        &before,
        r,
        want,
        "too many CONNECT properties",
        "5.0 20 properties",
    );
}

#[test]
fn bad_config_values_are_refused_by_new() {
    let ok = Config::default();
    let v5 = Config {
        version: Version::V5,
        ..ok
    };
    let cases: Vec<(&str, Config, [usize; 4], &str)> = vec![
        ("rx 63", ok, [63, 64, 0, 0], "receive buffer below 64"),
        ("tx 63", ok, [64, 63, 0, 0], "transmit buffer below 64"),
        ("rx 0", ok, [0, 64, 0, 0], "receive buffer"),
        (
            "response_time 0",
            Config {
                response_time_ms: 0,
                ..ok
            },
            [64, 64, 0, 0],
            "response_time",
        ),
        (
            "response_time beyond the wrap",
            Config {
                response_time_ms: u32::MAX,
                ..ok
            },
            [64, 64, 0, 0],
            "response_time",
        ),
        (
            "ping_interval beyond the wrap",
            Config {
                ping_interval_ms: u32::MAX,
                ..ok
            },
            [64, 64, 0, 0],
            "ping_interval",
        ),
        (
            "max_inflight 0",
            Config {
                max_inflight: 0,
                ..ok
            },
            [64, 64, 0, 0],
            "max_inflight",
        ),
        (
            "receive_maximum 0",
            Config {
                receive_maximum: 0,
                ..ok
            },
            [64, 64, 0, 0],
            "receive_maximum",
        ),
        (
            "receive_maximum above the inbound QoS 2 id table (64)",
            Config {
                receive_maximum: 65,
                ..ok
            },
            [64, 64, 0, 0],
            "receive_maximum",
        ),
        (
            "topic alias maximum in 3.1.1",
            Config {
                topic_alias_maximum: 4,
                ..ok
            },
            [64, 64, 0, 64],
            "topic_alias_maximum",
        ),
        (
            "topic alias maximum without an alias buffer",
            Config {
                topic_alias_maximum: 4,
                ..v5
            },
            [64, 64, 0, 0],
            "topic_alias_maximum",
        ),
    ];
    for (what, cfg, [rx, tx, store, aliases], text) in cases {
        let (mut a, mut b, mut c, mut d) = (
            vec![0u8; rx],
            vec![0u8; tx],
            vec![0u8; store],
            vec![0u8; aliases],
        );
        let mut ids = [0u16; 64];
        let r = Client::new(
            cfg,
            Buffers {
                rx: &mut a,
                tx: &mut b,
                store: &mut c,
                aliases: &mut d,
                out_aliases: &mut [],
                inbound_qos2: &mut ids,
            },
        );
        let Err(e) = r else {
            panic!("{what}: accepted")
        };
        assert!(matches!(e, Error::InvalidConfig(_)), "{what}: {e:?}");
        let shown = e.to_string();
        assert!(
            shown.starts_with("invalid configuration: ") && shown.contains(text),
            "{what}: {shown:?} does not say {text:?}"
        );
    }
    // The limits themselves are accepted.
    let edge = Config {
        receive_maximum: 64,
        max_inflight: 1,
        response_time_ms: 1,
        topic_alias_maximum: 1,
        ..v5
    };
    let (mut a, mut b, mut d) = (vec![0u8; 64], vec![0u8; 64], vec![0u8; 8]);
    let mut ids = [0u16; 64];
    let c = Client::new(
        edge,
        Buffers {
            rx: &mut a,
            tx: &mut b,
            store: &mut [],
            aliases: &mut d,
            out_aliases: &mut [],
            inbound_qos2: &mut ids,
        },
    );
    assert!(c.is_ok(), "{:?}", c.err());
}

#[test]
fn qos_1_without_a_store_is_refused() {
    for v in VERSIONS {
        let mut p = Pair::with(
            config(v),
            Sizes {
                store: 0,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        let before = snapshot(&mut p);
        let r = p.publish("t", b"x", QoS::AtLeastOnce);
        refused(
            &mut p,
            &before,
            r,
            Error::TooLarge,
            "larger than the buffers",
            &format!("{v:?}"),
        );
        p.publish("t", b"x", QoS::AtMostOnce).unwrap();
    }
}
