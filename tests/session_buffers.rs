//! Caller-owned buffers: minimum sizes, a full transmit buffer, chunked
//! messages with aliases and properties, invalid configurations.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::Buffers;
use mqttas::wire::{Packet, PacketType, Properties, Property, Publish, QoS, ReasonCode};
use mqttas::{Client, Config, Error};
use sim::{v311, v5, Ev, Pair, Pkt, Sizes, VERSIONS};

fn client_with(config: Config, rx: usize, tx: usize, aliases: usize) -> Result<(), Error> {
    let mut rx = vec![0u8; rx];
    let mut tx = vec![0u8; tx];
    let mut store = vec![0u8; 1024];
    let mut al = vec![0u8; aliases];
    let mut ids = vec![0u16; 64];
    let buffers = Buffers {
        rx: &mut rx,
        tx: &mut tx,
        store: &mut store,
        aliases: &mut al,
        out_aliases: &mut [],
        inbound_qos2: &mut ids,
    };
    Client::new(config, buffers).map(|_| ())
}

#[test]
fn invalid_configurations_are_refused() {
    assert!(client_with(v311(), 64, 64, 0).is_ok());
    assert!(matches!(
        client_with(v311(), 63, 64, 0),
        Err(Error::InvalidConfig(_))
    ));
    assert!(matches!(
        client_with(v311(), 64, 63, 0),
        Err(Error::InvalidConfig(_))
    ));
    // Above the inbound QoS 2 id table (64 here).
    let too_many = Config {
        receive_maximum: 65,
        ..v5()
    };
    assert!(matches!(
        client_with(too_many, 1024, 1024, 0),
        Err(Error::InvalidConfig(_))
    ));
    let alias_no_buffer = Config {
        topic_alias_maximum: 4,
        ..v5()
    };
    assert!(matches!(
        client_with(alias_no_buffer, 1024, 1024, 0),
        Err(Error::InvalidConfig(_))
    ));
    assert!(client_with(alias_no_buffer, 1024, 1024, 128).is_ok());
}

#[test]
fn full_transmit_buffer_is_tx_full_until_drained() {
    for v in VERSIONS {
        let mut p = Pair::with(
            sim::config(v),
            Sizes {
                tx: 256,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        let mut sent = 0;
        let err = loop {
            match p.publish("t", &[1u8; 60], QoS::AtMostOnce) {
                Ok(_) => sent += 1,
                Err(e) => break e,
            }
            assert!(sent < 100);
        };
        assert_eq!(err, Error::TxFull, "{v:?}");
        assert!(sent >= 1);
        // Bigger than the whole buffer can never go.
        assert_eq!(
            p.publish("t", &[1u8; 400], QoS::AtMostOnce),
            Err(Error::TooLarge)
        );
        p.pump();
        assert_eq!(p.broker.received.len(), sent);
        assert!(p.publish("t", &[1u8; 60], QoS::AtMostOnce).is_ok());
    }
}

#[test]
fn acknowledgements_still_go_when_the_transmit_buffer_was_full() {
    for v in VERSIONS {
        let mut p = Pair::with(
            sim::config(v),
            Sizes {
                tx: 128,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        while p.publish("t", &[2u8; 30], QoS::AtMostOnce).is_ok() {}
        let a = p.broker.publish("in", b"1", QoS::AtLeastOnce);
        let b = p.broker.publish("in", b"2", QoS::ExactlyOnce);
        // Offer the inbound bytes before draining our transmit buffer.
        let bytes = std::mem::take(&mut p.broker.to_client);
        let mut rest = &bytes[..];
        let mut rounds = 0;
        while !rest.is_empty() {
            let n = p.client.handle_input(p.now, rest);
            rest = &rest[n..];
            while p.client.poll_event().is_some() {}
            if n == 0 {
                // The client waits for its transmit buffer to drain.
                p.pump();
            }
            rounds += 1;
            assert!(rounds < 100);
        }
        p.pump();
        let acks: Vec<_> = p
            .broker
            .up()
            .filter(|r| {
                matches!(
                    r.pkt,
                    Pkt::PubAck { .. } | Pkt::PubRec { .. } | Pkt::PubComp { .. }
                )
            })
            .map(|r| (r.pkt.kind().unwrap(), r.pkt.id().unwrap()))
            .collect();
        assert_eq!(
            acks,
            vec![
                (PacketType::PubAck, a),
                (PacketType::PubRec, b),
                (PacketType::PubComp, b)
            ],
            "{v:?}"
        );
        assert_eq!(p.broker.outbound_pending(), 0);
    }
}

#[test]
fn v5_chunked_message_with_topic_alias_and_properties() {
    let cfg = Config {
        topic_alias_maximum: 2,
        ..v5()
    };
    let mut p = Pair::with(
        cfg,
        Sizes {
            rx: 256,
            aliases: 128,
            ..Sizes::default()
        },
        0,
    );
    p.connect_ok();
    let payload: Vec<u8> = (0..5000u32).map(|i| i as u8).collect();
    let props1 = [Property::TopicAlias(2), Property::UserProperty("part", "1")];
    let props2 = [Property::TopicAlias(2), Property::ContentType("bin")];
    for (topic, props) in [("files/firmware.bin", &props1[..]), ("", &props2[..])] {
        p.broker.send(&Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic,
            packet_id: None,
            properties: Properties::List(props),
            payload: &payload,
        }));
    }
    p.pump();
    let starts: Vec<_> = p
        .all_events()
        .into_iter()
        .filter_map(|e| match e {
            Ev::MessageStart(s) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(starts.len(), 2);
    for (s, props) in starts.iter().zip([&props1[..], &props2[..]]) {
        assert_eq!(s.topic, "files/firmware.bin");
        assert_eq!(s.total_len, 5000);
        assert_eq!(s.props, props.to_vec());
    }
    let m = p.messages();
    assert_eq!(m.len(), 2);
    assert!(m.iter().all(|m| m.payload == payload && m.chunked));
}

#[test]
fn v5_disconnect_with_will_reason() {
    let mut p = Pair::new(v5());
    p.connect_ok();
    p.client
        .disconnect(
            p.now,
            ReasonCode::DISCONNECT_WITH_WILL,
            &[Property::SessionExpiryInterval(0)],
        )
        .unwrap();
    p.pump();
    let last = p.broker.up().last().unwrap();
    assert_eq!(
        last.pkt,
        Pkt::Disconnect {
            reason: 0x04,
            props: vec![Property::SessionExpiryInterval(0)]
        }
    );
    assert_eq!(p.take_events(), vec![Ev::Disconnected]);
}

#[test]
fn smallest_buffers_still_work() {
    for v in VERSIONS {
        let mut p = Pair::with(
            sim::config(v),
            Sizes {
                rx: 64,
                tx: 64,
                store: 256,
                aliases: 0,
                qos2: 256,
                out_aliases: 0,
            },
            0,
        );
        p.segment = 7;
        p.connect_ok();
        p.subscribe("s/#", QoS::ExactlyOnce).unwrap();
        p.pump();
        let id = p.publish("s/x", &[9u8; 40], QoS::ExactlyOnce).unwrap();
        p.pump();
        assert!(p.published().contains(&(id, 0)));
        p.broker.publish("s/big", &[3u8; 1000], QoS::AtLeastOnce);
        p.advance(60_000);
        let m = p.messages();
        assert_eq!(m.len(), 2, "{v:?}");
        assert_eq!(m[0].payload, vec![9u8; 40]);
        assert!(m[1].chunked && m[1].payload == vec![3u8; 1000]);
        assert!(p.lost().is_empty());
    }
}
