//! Arbitrary bytes into the codec's three entry points, in both versions.
//!
//! Beyond "never panic", it checks what the codec promises:
//! - a decoded packet took at most the bytes given, and decodes the same
//!   from exactly those bytes;
//! - every strict prefix of a valid packet is "need more bytes", never an
//!   error and never a different packet;
//! - a decoded packet encodes again (it passed every rule the encoder
//!   checks), `encoded_len` agrees with `encode`, the encoding decodes to
//!   the same packet, and encoding is a fixed point; where the wire form is
//!   unique (everything but the 5.0 acknowledgements, DISCONNECT and AUTH,
//!   whose reason code and properties may be left out) the bytes are the
//!   input's;
//! - the borrowed views iterate over everything that was validated: the
//!   same packet rebuilt from the collected properties, subscriptions and
//!   filters (`Properties::List`, ...) encodes to the same bytes;
//! - `decode_publish_head` agrees with `decode` on a PUBLISH, and on each
//!   prefix of its body answers "need more" or the same head.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mqttas::wire::{
    decode, decode_fixed_header, decode_publish_head, Packet, PacketType, Properties, Property,
    PublishHead, Subscription, Subscriptions, TopicFilters, Version, Will,
};

fuzz_target!(|data: &[u8]| {
    let header = decode_fixed_header(data);
    if let Ok(Some(h)) = header {
        assert!((2..=5).contains(&h.header_len), "{h:?}");
        assert!(h.header_len <= data.len());
    }
    for v in [Version::V311, Version::V5] {
        check(data, v);
    }
});

fn check(data: &[u8], v: Version) {
    let result = decode(data, v);
    // The fixed header decoder and the packet decoder agree on the header.
    match (decode_fixed_header(data), &result) {
        (Err(e), r) => assert_eq!(r.as_ref().err(), Some(&e), "{v:?}"),
        (Ok(None), r) => assert!(matches!(r, Ok(None)), "{v:?} {r:?}"),
        (Ok(Some(_)), _) => {}
    }
    match result {
        Ok(Some((p, n))) => {
            assert!(
                n <= data.len() && n >= 2,
                "{v:?} took {n} of {}",
                data.len()
            );
            let exact = &data[..n];
            match decode(exact, v) {
                Ok(Some((q, m))) => {
                    assert_eq!(m, n);
                    assert_eq!(p, q);
                }
                other => panic!("{v:?}: {p:?} from {n} bytes, then {other:?} from those bytes"),
            }
            prefixes(exact, n, v);
            roundtrip(&p, exact, v);
            as_lists(&p, exact, v);
            if let Packet::Publish(publish) = p {
                publish_head(exact, &publish, v);
            }
        }
        Ok(None) => {}
        Err(e) => {
            // Every error has a description and a reason code.
            assert!(!e.description().is_empty());
            let _ = e.reason_code();
            // The head decoder reports the same error for a PUBLISH that is
            // whole: the payload is never checked, so the head is at fault.
            if let Ok(Some(h)) = decode_fixed_header(data) {
                let total = h.header_len + h.remaining_len as usize;
                if h.kind == PacketType::Publish && total <= data.len() {
                    let body = &data[h.header_len..total];
                    let head = decode_publish_head(&h, body, v);
                    assert_eq!(head.err(), Some(e), "{v:?}: head vs packet");
                }
            }
        }
    }
}

/// Every strict prefix of a valid packet needs more bytes.
fn prefixes(exact: &[u8], n: usize, v: Version) {
    // All prefixes of small packets, a spread of them for larger ones.
    let step = (n / 64).max(1);
    let mut k = 0;
    while k < n {
        let r = decode(&exact[..k], v);
        assert!(matches!(r, Ok(None)), "{v:?}: prefix {k} of {n}: {r:?}");
        k += step;
    }
    let r = decode(&exact[..n - 1], v);
    assert!(
        matches!(r, Ok(None)),
        "{v:?}: prefix {} of {n}: {r:?}",
        n - 1
    );
}

/// 5.0 packets whose reason code and properties may be left out.
fn short_form(p: &Packet<'_>, v: Version) -> bool {
    v == Version::V5
        && matches!(
            p,
            Packet::PubAck(_)
                | Packet::PubRec(_)
                | Packet::PubRel(_)
                | Packet::PubComp(_)
                | Packet::Disconnect(_)
                | Packet::Auth(_)
        )
}

fn roundtrip(p: &Packet<'_>, exact: &[u8], v: Version) {
    let len = match p.encoded_len(v) {
        Ok(len) => len,
        Err(e) => panic!("{v:?}: decoded {p:?} from {exact:02x?} but encoded_len fails: {e:?}"),
    };
    let mut out = vec![0u8; len + 8];
    let written = match p.encode(v, &mut out) {
        Ok(n) => n,
        Err(e) => panic!("{v:?}: decoded {p:?} from {exact:02x?} but encode fails: {e:?}"),
    };
    assert_eq!(written, len, "{v:?}: encoded_len vs encode for {p:?}");
    // Too short a buffer: an error, and nothing written past it.
    if len > 0 {
        let mut short = vec![0xAAu8; len - 1];
        assert!(
            p.encode(v, &mut short).is_err(),
            "{v:?}: short buffer accepted"
        );
    }
    let encoded = &out[..written];
    match decode(encoded, v) {
        Ok(Some((q, m))) => {
            assert_eq!(m, written, "{v:?}: {encoded:02x?}");
            assert_eq!(*p, q, "{v:?}: {exact:02x?} -> {encoded:02x?}");
            let mut again = vec![0u8; len];
            let n2 = q.encode(v, &mut again).expect("re-encode");
            assert_eq!(
                &again[..n2],
                encoded,
                "{v:?}: encoding is not a fixed point"
            );
        }
        other => panic!("{v:?}: {p:?} encoded as {encoded:02x?} decodes as {other:?}"),
    }
    if !short_form(p, v) {
        assert_eq!(encoded, exact, "{v:?}: {p:?} has one wire form");
    } else {
        assert!(written <= exact.len(), "{v:?}: short form is longer");
    }
}

fn same_head(head: &PublishHead<'_>, p: &mqttas::wire::Publish<'_>) -> bool {
    head.dup == p.dup
        && head.qos == p.qos
        && head.retain == p.retain
        && head.topic == p.topic
        && head.packet_id == p.packet_id
        && head.properties == p.properties
        && head.payload_len as usize == p.payload.len()
}

fn publish_head(exact: &[u8], p: &mqttas::wire::Publish<'_>, v: Version) {
    let h = decode_fixed_header(exact)
        .expect("header of a valid packet")
        .expect("whole header");
    let body = &exact[h.header_len..];
    let whole = decode_publish_head(&h, body, v);
    let Ok(Some((head, used))) = whole else {
        panic!("{v:?}: head of a valid PUBLISH: {whole:?}");
    };
    assert!(same_head(&head, p), "{v:?}: {head:?} vs {p:?}");
    assert_eq!(used + p.payload.len(), body.len(), "{v:?}");
    for k in 0..body.len() {
        match decode_publish_head(&h, &body[..k], v) {
            Ok(None) => assert!(k < used, "{v:?}: need more at {k} with head of {used}"),
            Ok(Some((hk, uk))) => {
                assert!(k >= used, "{v:?}: head at {k} < {used}");
                assert_eq!(uk, used, "{v:?}");
                assert!(same_head(&hk, p), "{v:?}");
            }
            Err(e) => panic!("{v:?}: prefix {k} of a valid PUBLISH body: {e:?}"),
        }
    }
}

fn list<'a>(p: &Properties<'a>) -> Vec<Property<'a>> {
    p.iter().collect()
}

/// Rebuild the packet from owned lists of what its iterators yield and
/// check it encodes to the same bytes as the packet itself.
fn as_lists(p: &Packet<'_>, exact: &[u8], v: Version) {
    let mut expect = vec![0u8; exact.len() + 8];
    let n = p.encode(v, &mut expect).expect("encodes (checked before)");
    let expect = &expect[..n];
    let props;
    let props2;
    let subs: Vec<Subscription<'_>>;
    let filters: Vec<&str>;
    let rebuilt = match *p {
        Packet::Connect(c) => {
            props = list(&c.properties);
            props2 = c.will.map(|w| list(&w.properties)).unwrap_or_default();
            Packet::Connect(mqttas::wire::Connect {
                properties: Properties::List(&props),
                will: c.will.map(|w| Will {
                    properties: Properties::List(&props2),
                    ..w
                }),
                ..c
            })
        }
        Packet::ConnAck(a) => {
            props = list(&a.properties);
            Packet::ConnAck(mqttas::wire::ConnAck {
                properties: Properties::List(&props),
                ..a
            })
        }
        Packet::Publish(x) => {
            props = list(&x.properties);
            Packet::Publish(mqttas::wire::Publish {
                properties: Properties::List(&props),
                ..x
            })
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            props = list(&a.properties);
            let a = mqttas::wire::Ack {
                properties: Properties::List(&props),
                ..a
            };
            match p {
                Packet::PubAck(_) => Packet::PubAck(a),
                Packet::PubRec(_) => Packet::PubRec(a),
                Packet::PubRel(_) => Packet::PubRel(a),
                _ => Packet::PubComp(a),
            }
        }
        Packet::Subscribe(x) => {
            props = list(&x.properties);
            subs = x.subscriptions.iter().collect();
            Packet::Subscribe(mqttas::wire::Subscribe {
                properties: Properties::List(&props),
                subscriptions: Subscriptions::List(&subs),
                ..x
            })
        }
        Packet::SubAck(a) | Packet::UnsubAck(a) => {
            props = list(&a.properties);
            let a = mqttas::wire::SubAck {
                properties: Properties::List(&props),
                ..a
            };
            if matches!(p, Packet::SubAck(_)) {
                Packet::SubAck(a)
            } else {
                Packet::UnsubAck(a)
            }
        }
        Packet::Unsubscribe(x) => {
            props = list(&x.properties);
            filters = x.filters.iter().collect();
            Packet::Unsubscribe(mqttas::wire::Unsubscribe {
                properties: Properties::List(&props),
                filters: TopicFilters::List(&filters),
                ..x
            })
        }
        Packet::Disconnect(d) => {
            props = list(&d.properties);
            Packet::Disconnect(mqttas::wire::Disconnect {
                properties: Properties::List(&props),
                ..d
            })
        }
        Packet::Auth(a) => {
            props = list(&a.properties);
            Packet::Auth(mqttas::wire::Auth {
                properties: Properties::List(&props),
                ..a
            })
        }
        Packet::PingReq | Packet::PingResp => return,
    };
    assert_eq!(rebuilt, *p, "{v:?}: lists compare equal to the raw views");
    let len = rebuilt
        .encoded_len(v)
        .unwrap_or_else(|e| panic!("{v:?}: {rebuilt:?} from lists: {e:?}"));
    let mut out = vec![0u8; len];
    let m = rebuilt
        .encode(v, &mut out)
        .unwrap_or_else(|e| panic!("{v:?}: {rebuilt:?} from lists: {e:?}"));
    assert_eq!(&out[..m], expect, "{v:?}: {p:?} rebuilt from lists");
}
