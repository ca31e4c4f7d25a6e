//! Outbound topic aliases (MQTT 5.0): the application's alias as mqtt_as
//! allows it (a topic sets it, an empty topic uses it), within the broker's
//! Topic Alias Maximum, valid on whichever connection it is sent: a broker
//! knows no alias of an earlier connection, so what goes out after a
//! reconnection carries the topic again (issue 12, defect 8). The broker
//! sim checks every alias the client sends against its maximum and its
//! mappings of the connection, and panics on a violation.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::wire::{Property, QoS};
use mqttas::{Config, Error};
use sim::{v5, Pair, Sizes};

/// A 5.0 pair whose broker accepts aliases up to `max`, connected.
fn pair(max: u16) -> Pair {
    let mut p = Pair::new(Config {
        clean_init: false,
        clean: false,
        ..v5()
    });
    p.broker.connack_props = vec![Property::TopicAliasMaximum(max)];
    p.connect_ok();
    p
}

const A1: &[Property<'static>] = &[Property::TopicAlias(1)];
const A2: &[Property<'static>] = &[Property::TopicAlias(2)];

/// PUBLISHes on the wire on connection `conn`: (topic as sent, alias).
fn wire(p: &Pair, conn: u32) -> Vec<(String, Option<u16>)> {
    p.broker
        .up_publishes()
        .iter()
        .filter(|(r, _)| r.conn == conn)
        .map(|(_, m)| {
            let alias = m.props.iter().find_map(|x| match x {
                Property::TopicAlias(a) => Some(*a),
                _ => None,
            });
            (m.topic.clone(), alias)
        })
        .collect()
}

/// Topics the broker resolved, in order, with payloads.
fn received(p: &Pair) -> Vec<(String, Vec<u8>)> {
    p.broker
        .received
        .iter()
        .map(|r| (r.topic.clone(), r.payload.clone()))
        .collect()
}

#[test]
fn qos0_sets_an_alias_then_sends_it_alone() {
    let mut p = pair(10);
    p.publish_with("sensors/kitchen/temp", b"1", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.publish_with("", b"2", QoS::AtMostOnce, false, A1)
        .unwrap();
    // The same topic with the alias again: the broker knows it.
    p.publish_with("sensors/kitchen/temp", b"3", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.pump();
    assert_eq!(
        wire(&p, 1),
        vec![
            ("sensors/kitchen/temp".into(), Some(1)),
            ("".into(), Some(1)),
            ("".into(), Some(1)),
        ]
    );
    let t = "sensors/kitchen/temp".to_string();
    assert_eq!(
        received(&p),
        vec![
            (t.clone(), b"1".to_vec()),
            (t.clone(), b"2".to_vec()),
            (t, b"3".to_vec())
        ]
    );
    assert!(p.broker.violations.is_empty(), "{:?}", p.broker.violations);
}

#[test]
fn an_alias_set_to_another_topic_follows_it() {
    let mut p = pair(10);
    p.publish_with("a", b"1", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.publish_with("b", b"2", QoS::AtMostOnce, false, A2)
        .unwrap();
    p.publish_with("c", b"3", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.publish_with("", b"4", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.publish_with("", b"5", QoS::AtMostOnce, false, A2)
        .unwrap();
    p.pump();
    let topics: Vec<String> = received(&p).into_iter().map(|r| r.0).collect();
    assert_eq!(topics, ["a", "b", "c", "c", "b"]);
    assert_eq!(
        wire(&p, 1),
        vec![
            ("a".into(), Some(1)),
            ("b".into(), Some(2)),
            ("c".into(), Some(1)),
            ("".into(), Some(1)),
            ("".into(), Some(2)),
        ]
    );
}

#[test]
fn aliases_are_sent_again_with_their_topic_after_a_reconnection() {
    let mut p = pair(10);
    p.publish_with("x/y", b"1", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.pump();
    p.cut();
    p.connect_ok();
    // The broker of connection 2 knows no alias: the topic goes again,
    // with the alias, then the alias alone.
    p.publish_with("", b"2", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.publish_with("", b"3", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.pump();
    assert_eq!(
        wire(&p, 2),
        vec![("x/y".into(), Some(1)), ("".into(), Some(1))]
    );
    let topics: Vec<String> = received(&p).into_iter().map(|r| r.0).collect();
    assert_eq!(topics, ["x/y", "x/y", "x/y"]);
}

#[test]
fn qos1_and_qos2_go_with_their_topic_on_any_connection() {
    // Stored, perhaps sent again on a later connection: the whole topic,
    // without the alias (the alias still sets the application's mapping).
    let mut p = pair(10);
    p.broker.replies.puback = sim::Reply::Drop;
    p.broker.replies.pubrec = sim::Reply::Drop;
    p.publish_with("q/topic", b"1", QoS::AtLeastOnce, false, A1)
        .unwrap();
    p.publish_with("", b"2", QoS::AtLeastOnce, false, A1)
        .unwrap();
    p.publish_with("", b"3", QoS::ExactlyOnce, false, A1)
        .unwrap();
    p.pump();
    assert_eq!(wire(&p, 1), vec![("q/topic".into(), None); 3]);
    // Unacknowledged: sent again on the next connection, as they are.
    p.cut();
    p.broker.replies = Default::default();
    p.connect_ok();
    p.pump();
    assert_eq!(wire(&p, 2), vec![("q/topic".into(), None); 3]);
    assert_eq!(p.client.pending_publications(), 0);
    // QoS 0 with the alias after them: the broker was never sent it.
    p.publish_with("", b"4", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.pump();
    assert_eq!(wire(&p, 2).last(), Some(&("q/topic".into(), Some(1))));
}

#[test]
fn qos1_with_an_alias_while_offline_is_stored_with_its_topic() {
    let mut p = pair(10);
    p.publish_with("off/line", b"0", QoS::AtMostOnce, false, A1)
        .unwrap();
    p.pump();
    p.cut();
    // Offline: checked against the last connection's maximum, stored.
    p.publish_with("", b"1", QoS::AtLeastOnce, false, A1)
        .unwrap();
    p.connect_ok();
    p.pump();
    assert_eq!(wire(&p, 2), vec![("off/line".into(), None)]);
    assert_eq!(p.client.pending_publications(), 0);
}

#[test]
fn bad_aliases_are_refused_before_anything_is_sent() {
    let mut p = pair(2);
    let before = p.broker.up().count();
    let refused = |p: &mut Pair, topic: &str, props: &[Property<'_>], qos: QoS, what: &str| match p
        .publish_with(topic, b"x", qos, false, props)
    {
        Err(Error::TopicAlias(why)) => assert!(
            why.description().contains(what),
            "{topic:?} {props:?}: {why:?} does not say {what:?}"
        ),
        r => panic!("{topic:?} {props:?} {qos:?}: {r:?}"),
    };
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
        refused(
            &mut p,
            "t",
            &[Property::TopicAlias(3)],
            qos,
            "above the broker's",
        );
        assert!(matches!(
            p.publish_with("t", b"x", qos, false, &[Property::TopicAlias(0)]),
            Err(Error::Encode(mqttas::wire::EncodeError::InvalidProperty(
                0x23
            )))
        ));
        refused(&mut p, "", A2, qos, "never set");
    }
    // Without an alias an empty topic stays an error.
    assert!(matches!(
        p.publish_with("", b"x", QoS::AtMostOnce, false, &[]),
        Err(Error::Encode(mqttas::wire::EncodeError::EmptyTopic))
    ));
    p.pump();
    assert_eq!(p.broker.up().count(), before, "nothing was sent");
    assert_eq!(p.client.pending_publications(), 0, "nothing was stored");

    // A broker that gives no Topic Alias Maximum accepts none.
    let mut p = pair(0);
    p.broker.connack_props.clear();
    refused(&mut p, "t", A1, QoS::AtMostOnce, "accepts no topic alias");

    // No outbound alias table: nowhere to keep the topic.
    let mut p = Pair::with(
        v5(),
        Sizes {
            out_aliases: 0,
            ..Sizes::default()
        },
        0,
    );
    p.broker.connack_props = vec![Property::TopicAliasMaximum(10)];
    p.connect_ok();
    refused(&mut p, "t", A1, QoS::AtMostOnce, "no room");
}
