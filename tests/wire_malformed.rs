//! One test per malformed-packet rule of MQTT 3.1.1 and 5.0 that the codec
//! enforces, each asserting the exact error; then the encoder's refusals.

use mqttas::wire::{
    decode, decode_fixed_header, decode_publish_head, Ack, Auth, ConnAck, Connect, DecodeError,
    Disconnect, EncodeError, Packet, PacketType, Properties, Property, Publish, QoS, ReasonCode,
    SubAck, SubOptions, Subscribe, Subscription, Subscriptions, TopicFilters, Unsubscribe, Version,
    Will,
};

use DecodeError as E;
use Version::{V311, V5};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A packet from its first byte and body, with the remaining length filled in.
fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n > 0 { b | 0x80 } else { b });
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(body);
    out
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// A 5.0 property block: length, then the properties.
fn props(p: &str) -> Vec<u8> {
    let p = hex(p);
    assert!(p.len() < 128);
    cat(&[&[p.len() as u8], &p])
}

fn err(bytes: &[u8], v: Version) -> DecodeError {
    match decode(bytes, v) {
        Err(e) => e,
        other => panic!("expected an error for {bytes:02x?}, got {other:?}"),
    }
}

/// Decode a whole packet (the bytes are leaked so the packet can outlive them).
fn ok(bytes: &[u8], v: Version) -> Packet<'static> {
    let bytes: &'static [u8] = Box::leak(bytes.to_vec().into_boxed_slice());
    let (p, n) = decode(bytes, v).unwrap().expect("complete packet");
    assert_eq!(n, bytes.len());
    p
}

fn connack5(p: &str) -> Vec<u8> {
    pkt(0x20, &cat(&[&[0, 0], &props(p)]))
}

fn publish5(topic: &str, p: &str) -> Vec<u8> {
    let t = topic.as_bytes();
    pkt(0x30, &cat(&[&[0, t.len() as u8], t, &props(p), b"x"]))
}

fn connect_body(level: u8, flags: u8, rest: &[u8]) -> Vec<u8> {
    cat(&[&hex("00 04 4d 51 54 54"), &[level, flags, 0, 60], rest])
}

// ---- fixed header ----

#[test]
fn packet_type_zero() {
    assert_eq!(
        decode_fixed_header(&[0x00, 0x00]),
        Err(E::InvalidPacketType(0))
    );
    assert_eq!(err(&[0x00], V311), E::InvalidPacketType(0));
}

#[test]
fn auth_in_311() {
    assert_eq!(err(&[0xf0, 0x00], V311), E::InvalidPacketType(15));
    // ... and reported before the body has arrived.
    assert_eq!(err(&[0xf0, 0x05], V311), E::InvalidPacketType(15));
    assert!(
        ok(&[0xf0, 0x00], V5)
            == Packet::Auth(Auth {
                reason: ReasonCode::SUCCESS,
                properties: Properties::default()
            })
    );
}

#[test]
fn reserved_flags_per_type() {
    // Every type but PUBLISH has fixed flags: 0010 for PUBREL, SUBSCRIBE and
    // UNSUBSCRIBE, 0000 for the rest.
    for t in [1u8, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] {
        let fixed = if matches!(t, 6 | 8 | 10) { 2 } else { 0 };
        for flags in 0..16u8 {
            let r = decode_fixed_header(&[t << 4 | flags, 0]);
            if flags == fixed {
                assert!(r.unwrap().is_some(), "type {t} flags {flags}");
            } else {
                assert_eq!(r, Err(E::InvalidFlags), "type {t} flags {flags}");
            }
        }
    }
    assert_eq!(err(&hex("60 02 00 01"), V311), E::InvalidFlags);
    assert_eq!(err(&hex("80 00"), V5), E::InvalidFlags);
}

#[test]
fn remaining_length_longer_than_four_bytes() {
    assert_eq!(
        decode_fixed_header(&hex("30 ff ff ff ff 01")),
        Err(E::MalformedVarInt)
    );
    // Known to be wrong at the fourth byte already.
    assert_eq!(err(&hex("30 80 80 80 80"), V311), E::MalformedVarInt);
}

#[test]
fn remaining_length_not_shortest() {
    assert_eq!(
        decode_fixed_header(&hex("c0 80 00")),
        Err(E::MalformedVarInt)
    );
    assert_eq!(err(&hex("d0 80 80 00"), V5), E::MalformedVarInt);
}

#[test]
fn partial_fixed_header_needs_more() {
    assert_eq!(decode_fixed_header(&[]), Ok(None));
    assert_eq!(decode(&[], V5), Ok(None));
    assert_eq!(decode(&[0x30], V5), Ok(None));
    assert_eq!(decode(&[0x30, 0x80], V5), Ok(None));
    assert_eq!(decode(&[0x30, 0xff, 0xff, 0xff], V5), Ok(None));
    assert_eq!(decode(&hex("30 05 00 01 61"), V5), Ok(None));
}

#[test]
fn largest_remaining_length_does_not_overflow() {
    let h = decode_fixed_header(&hex("30 ff ff ff 7f"))
        .unwrap()
        .unwrap();
    assert_eq!((h.remaining_len, h.header_len), (268_435_455, 5));
    assert_eq!(decode(&hex("30 ff ff ff 7f 00 01 61"), V5), Ok(None));
}

// ---- PUBLISH ----

#[test]
fn publish_qos_3() {
    assert_eq!(err(&hex("36 05 00 01 61 00 01"), V311), E::InvalidQoS);
    // Reported from the fixed header, before the body arrives.
    assert_eq!(err(&hex("36 40 00"), V5), E::InvalidQoS);
    let h = decode_fixed_header(&hex("36 05")).unwrap().unwrap();
    assert_eq!(decode_publish_head(&h, &[], V5), Err(E::InvalidQoS));
}

#[test]
fn publish_dup_on_qos0() {
    assert_eq!(err(&hex("38 03 00 01 61"), V311), E::DupOnQos0);
    assert!(matches!(ok(&hex("3a 05 00 01 61 00 01"), V311), Packet::Publish(p) if p.dup));
}

#[test]
fn packet_id_zero() {
    assert_eq!(err(&hex("32 05 00 01 61 00 00"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("40 02 00 00"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("50 02 00 00"), V5), E::PacketIdZero);
    assert_eq!(err(&hex("62 02 00 00"), V5), E::PacketIdZero);
    assert_eq!(err(&hex("70 02 00 00"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("82 06 00 00 00 01 61 00"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("90 03 00 00 00"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("a2 05 00 00 00 01 61"), V311), E::PacketIdZero);
    assert_eq!(err(&hex("b0 02 00 00"), V311), E::PacketIdZero);
}

#[test]
fn topic_name_with_wildcards() {
    assert_eq!(err(&hex("30 05 00 03 61 2f 2b"), V311), E::InvalidTopic);
    assert_eq!(err(&hex("30 03 00 01 23"), V311), E::InvalidTopic);
    assert_eq!(err(&publish5("a/#", ""), V5), E::InvalidTopic);
}

#[test]
fn empty_topic_only_with_alias_in_5() {
    assert_eq!(err(&hex("30 03 00 00 78"), V311), E::EmptyTopic);
    assert_eq!(err(&publish5("", ""), V5), E::EmptyTopic);
    assert_eq!(
        err(&publish5("", "26 00 01 61 00 01 62"), V5),
        E::EmptyTopic
    );
    let p = publish5("", "23 00 05");
    let Packet::Publish(p) = ok(&p, V5) else {
        panic!()
    };
    assert_eq!((p.topic, p.properties.topic_alias()), ("", Some(5)));
}

#[test]
fn invalid_utf8() {
    // Bad continuation, overlong NUL, a UTF-16 surrogate, a lone 0xff.
    for bad in ["c3 28", "c0 80", "ed a0 80", "ff"] {
        let b = hex(bad);
        let body = cat(&[&[0, b.len() as u8], &b]);
        assert_eq!(err(&pkt(0x30, &body), V311), E::InvalidUtf8, "{bad}");
    }
}

#[test]
fn utf8_nul_character() {
    assert_eq!(err(&hex("30 05 00 03 61 00 62"), V311), E::InvalidUtf8);
    // Also in a client identifier and in a property string.
    let c = pkt(0x10, &connect_body(4, 0x02, &hex("00 02 61 00")));
    assert_eq!(err(&c, V311), E::InvalidUtf8);
    assert_eq!(err(&connack5("1f 00 02 00 61"), V5), E::InvalidUtf8);
}

#[test]
fn string_past_the_end() {
    assert_eq!(err(&hex("30 03 00 05 61"), V311), E::Truncated);
    assert_eq!(err(&hex("30 01 00"), V311), E::Truncated);
    assert_eq!(err(&hex("32 04 00 01 61 00"), V311), E::Truncated);
}

// ---- CONNACK ----

#[test]
fn connack_reserved_flags() {
    assert_eq!(err(&hex("20 02 02 00"), V311), E::InvalidConnAckFlags);
    assert_eq!(err(&hex("20 03 80 00 00"), V5), E::InvalidConnAckFlags);
}

#[test]
fn connack_session_present_with_refusal() {
    assert_eq!(err(&hex("20 03 01 87 00"), V5), E::InvalidConnAckFlags);
    assert_eq!(err(&hex("20 02 01 05"), V311), E::InvalidConnAckFlags);
    assert!(matches!(ok(&hex("20 03 01 00 00"), V5), Packet::ConnAck(c) if c.session_present));
}

#[test]
fn connack_311_return_code() {
    assert_eq!(err(&hex("20 02 00 06"), V311), E::InvalidReasonCode(6));
    assert_eq!(err(&hex("20 02 00 80"), V311), E::InvalidReasonCode(0x80));
}

#[test]
fn connack_5_reason_code() {
    assert_eq!(err(&hex("20 03 00 04 00"), V5), E::InvalidReasonCode(0x04));
    assert_eq!(err(&hex("20 03 00 8e 00"), V5), E::InvalidReasonCode(0x8e));
    assert!(matches!(ok(&hex("20 03 00 9f 00"), V5), Packet::ConnAck(_)));
}

#[test]
fn connack_length() {
    assert_eq!(err(&hex("20 03 00 00 00"), V311), E::TrailingBytes);
    assert_eq!(err(&hex("20 01 00"), V311), E::Truncated);
    // 5.0 CONNACK always has a property length.
    assert_eq!(err(&hex("20 02 00 00"), V5), E::Truncated);
    assert_eq!(err(&hex("20 04 00 00 00 00"), V5), E::TrailingBytes);
}

// ---- reason codes per packet ----

#[test]
fn ack_reason_codes() {
    // 0x92 (packet identifier not found) belongs to PUBREL/PUBCOMP only.
    assert_eq!(err(&hex("40 03 00 01 92"), V5), E::InvalidReasonCode(0x92));
    assert_eq!(err(&hex("50 03 00 01 92"), V5), E::InvalidReasonCode(0x92));
    assert_eq!(err(&hex("62 03 00 01 10"), V5), E::InvalidReasonCode(0x10));
    assert_eq!(err(&hex("70 03 00 01 87"), V5), E::InvalidReasonCode(0x87));
    assert_eq!(err(&hex("40 03 00 01 01"), V5), E::InvalidReasonCode(0x01));
    for (b, code) in [
        ("40 03 00 01 99", 0x99),
        ("50 03 00 01 91", 0x91),
        ("62 03 00 01 92", 0x92),
    ] {
        match ok(&hex(b), V5) {
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) => {
                assert_eq!(a.reason, ReasonCode(code))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn suback_codes_per_version() {
    assert_eq!(
        err(&hex("90 03 00 01 87"), V311),
        E::InvalidReasonCode(0x87)
    );
    assert_eq!(
        err(&hex("90 03 00 01 03"), V311),
        E::InvalidReasonCode(0x03)
    );
    assert_eq!(
        err(&hex("90 04 00 01 00 8e"), V5),
        E::InvalidReasonCode(0x8e)
    );
    assert_eq!(
        err(&hex("90 05 00 01 00 00 03"), V5),
        E::InvalidReasonCode(0x03)
    );
    assert!(matches!(
        ok(&hex("90 04 00 01 00 a2"), V5),
        Packet::SubAck(_)
    ));
}

#[test]
fn unsuback_codes() {
    assert_eq!(
        err(&hex("b0 04 00 01 00 01"), V5),
        E::InvalidReasonCode(0x01)
    );
    assert_eq!(
        err(&hex("b0 04 00 01 00 90"), V5),
        E::InvalidReasonCode(0x90)
    );
}

#[test]
fn disconnect_and_auth_reason_codes() {
    assert_eq!(err(&hex("e0 01 01"), V5), E::InvalidReasonCode(0x01));
    assert_eq!(err(&hex("e0 01 84"), V5), E::InvalidReasonCode(0x84));
    assert_eq!(err(&hex("f0 02 87 00"), V5), E::InvalidReasonCode(0x87));
    assert_eq!(err(&hex("f0 02 04 00"), V5), E::InvalidReasonCode(0x04));
}

// ---- properties ----

#[test]
fn unknown_property_id() {
    assert_eq!(err(&connack5("04 00"), V5), E::InvalidPropertyId(0x04));
    assert_eq!(err(&connack5("00"), V5), E::InvalidPropertyId(0x00));
    assert_eq!(err(&connack5("2b 00"), V5), E::InvalidPropertyId(0x2b));
    // A two-byte identifier is unknown too (all known ones are below 0x80).
    assert_eq!(err(&connack5("a6 00"), V5), E::InvalidPropertyId(0xa6));
}

#[test]
fn property_not_allowed_in_packet() {
    assert_eq!(err(&connack5("23 00 01"), V5), E::PropertyNotAllowed(0x23));
    assert_eq!(
        err(&publish5("a", "1f 00 01 61"), V5),
        E::PropertyNotAllowed(0x1f)
    );
    assert_eq!(
        err(&publish5("a", "11 00 00 00 01"), V5),
        E::PropertyNotAllowed(0x11)
    );
    // Will delay belongs in the will properties, not in CONNECT's.
    let c = pkt(
        0x10,
        &connect_body(5, 0x02, &cat(&[&props("18 00 00 00 05"), &hex("00 01 63")])),
    );
    assert_eq!(err(&c, V5), E::PropertyNotAllowed(0x18));
    // Session expiry belongs in CONNECT's, not the will's.
    let c = pkt(
        0x10,
        &connect_body(
            5,
            0x06,
            &cat(&[
                &[0],
                &hex("00 01 63"),
                &props("11 00 00 00 05"),
                &hex("00 01 77 00 00"),
            ]),
        ),
    );
    assert_eq!(err(&c, V5), E::PropertyNotAllowed(0x11));
    assert_eq!(
        err(&hex("a2 08 00 01 02 0b 01 00 01 61"), V5),
        E::PropertyNotAllowed(0x0b)
    );
    assert_eq!(
        err(&hex("40 07 00 01 00 03 23 00 01"), V5),
        E::PropertyNotAllowed(0x23)
    );
    assert_eq!(
        err(&hex("e0 07 00 05 12 00 02 61 62"), V5),
        E::PropertyNotAllowed(0x12)
    );
}

#[test]
fn duplicate_property() {
    assert_eq!(
        err(&connack5("21 00 05 21 00 06"), V5),
        E::DuplicateProperty(0x21)
    );
    assert_eq!(
        err(&publish5("a", "02 00 00 00 01 02 00 00 00 01"), V5),
        E::DuplicateProperty(0x02)
    );
    // One subscription identifier in SUBSCRIBE, several in PUBLISH.
    assert_eq!(
        err(&hex("82 0b 00 01 04 0b 01 0b 02 00 01 61 00"), V5),
        E::DuplicateProperty(0x0b)
    );
    let Packet::Publish(p) = ok(&publish5("a", "0b 01 0b 02"), V5) else {
        panic!()
    };
    assert_eq!(
        p.properties.subscription_identifiers().collect::<Vec<_>>(),
        [1, 2]
    );
    // User properties repeat anywhere.
    let Packet::ConnAck(c) = ok(&connack5("26 00 01 61 00 00 26 00 01 61 00 00"), V5) else {
        panic!()
    };
    assert_eq!(c.properties.user_properties().count(), 2);
}

#[test]
fn property_value_ranges() {
    assert_eq!(
        err(&connack5("21 00 00"), V5),
        E::InvalidPropertyValue(0x21)
    );
    assert_eq!(
        err(&connack5("27 00 00 00 00"), V5),
        E::InvalidPropertyValue(0x27)
    );
    assert_eq!(err(&connack5("24 02"), V5), E::InvalidPropertyValue(0x24));
    for id in ["25", "28", "29", "2a"] {
        let e = err(&connack5(&format!("{id} 02")), V5);
        assert_eq!(
            e,
            E::InvalidPropertyValue(u8::from_str_radix(id, 16).unwrap())
        );
    }
    assert_eq!(
        err(&publish5("a", "01 02"), V5),
        E::InvalidPropertyValue(0x01)
    );
    assert_eq!(
        err(&publish5("a", "0b 00"), V5),
        E::InvalidPropertyValue(0x0b)
    );
    assert_eq!(
        err(&publish5("a", "08 00 03 61 2f 23"), V5),
        E::InvalidPropertyValue(0x08)
    );
    let c = pkt(
        0x10,
        &connect_body(5, 0x02, &cat(&[&props("17 02"), &hex("00 01 63")])),
    );
    assert_eq!(err(&c, V5), E::InvalidPropertyValue(0x17));
    let c = pkt(
        0x10,
        &connect_body(5, 0x02, &cat(&[&props("19 05"), &hex("00 01 63")])),
    );
    assert_eq!(err(&c, V5), E::InvalidPropertyValue(0x19));
}

#[test]
fn topic_alias_zero() {
    assert_eq!(err(&publish5("a", "23 00 00"), V5), E::InvalidTopicAlias);
}

#[test]
fn subscription_identifier_malformed_varint() {
    assert_eq!(
        err(&publish5("a", "0b 80 80 80 80 01"), V5),
        E::MalformedVarInt
    );
    assert_eq!(err(&publish5("a", "0b 81 00"), V5), E::MalformedVarInt);
}

#[test]
fn property_length_past_the_packet() {
    assert_eq!(err(&hex("20 03 00 00 05"), V5), E::Truncated);
    assert_eq!(err(&hex("30 05 00 01 61 09 23"), V5), E::Truncated);
    // The property length itself malformed.
    assert_eq!(err(&hex("20 04 00 00 80 00"), V5), E::MalformedVarInt);
}

#[test]
fn property_value_past_property_length() {
    // Length 2 covers the id and one of the two bytes of a receive maximum.
    assert_eq!(err(&hex("20 06 00 00 02 21 00 14"), V5), E::Truncated);
    assert_eq!(err(&connack5("1f 00 09 61"), V5), E::Truncated);
}

#[test]
fn authentication_data_without_method() {
    assert_eq!(
        err(&connack5("16 00 01 61"), V5),
        E::PropertyNotAllowed(0x16)
    );
    assert!(matches!(
        ok(&connack5("15 00 01 61 16 00 01 61"), V5),
        Packet::ConnAck(_)
    ));
}

// ---- 5.0 short forms and lengths ----

#[test]
fn ack_short_forms_in_5() {
    let p = ok(&hex("40 02 00 01"), V5);
    assert_eq!(
        p,
        Packet::PubAck(Ack {
            packet_id: 1,
            reason: ReasonCode::SUCCESS,
            properties: Properties::default()
        })
    );
    let p = ok(&hex("70 03 00 01 92"), V5);
    assert_eq!(
        p,
        Packet::PubComp(Ack {
            packet_id: 1,
            reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            properties: Properties::default()
        })
    );
    assert_eq!(err(&hex("40 01 00"), V5), E::Truncated);
    assert_eq!(err(&hex("40 05 00 01 00 00 00"), V5), E::TrailingBytes);
}

#[test]
fn ack_length_in_311() {
    assert_eq!(err(&hex("40 03 00 01 00"), V311), E::TrailingBytes);
    assert_eq!(err(&hex("50 01 00"), V311), E::Truncated);
    assert_eq!(err(&hex("b0 03 00 01 00"), V311), E::TrailingBytes);
}

#[test]
fn disconnect_forms() {
    assert_eq!(
        ok(&hex("e0 00"), V5),
        Packet::Disconnect(Disconnect {
            reason: ReasonCode::SUCCESS,
            properties: Properties::default()
        })
    );
    assert_eq!(err(&hex("e0 01 00"), V311), E::TrailingBytes);
    assert_eq!(err(&hex("e0 03 00 00 00"), V5), E::TrailingBytes);
}

#[test]
fn auth_forms() {
    // Only remaining length 0 leaves out the property length (3.15.2.1).
    assert_eq!(err(&hex("f0 01 18"), V5), E::Truncated);
    assert!(
        matches!(ok(&hex("f0 02 18 00"), V5), Packet::Auth(a) if a.reason == ReasonCode::CONTINUE_AUTHENTICATION)
    );
}

#[test]
fn ping_with_body() {
    assert_eq!(err(&hex("c0 01 00"), V311), E::TrailingBytes);
    assert_eq!(err(&hex("d0 01 00"), V5), E::TrailingBytes);
}

#[test]
fn trailing_bytes_after_last_field() {
    assert_eq!(
        err(
            &hex("10 0e 00 04 4d 51 54 54 04 02 00 3c 00 01 63 ff"),
            V311
        ),
        E::TrailingBytes
    );
    assert_eq!(err(&hex("20 03 00 00 00"), V311), E::TrailingBytes);
}

// ---- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK ----

#[test]
fn subscribe_without_filters() {
    assert_eq!(err(&hex("82 02 00 01"), V311), E::EmptyFilterList);
    assert_eq!(err(&hex("82 03 00 01 00"), V5), E::EmptyFilterList);
}

#[test]
fn unsubscribe_without_filters() {
    assert_eq!(err(&hex("a2 02 00 01"), V311), E::EmptyFilterList);
    assert_eq!(err(&hex("a2 03 00 01 00"), V5), E::EmptyFilterList);
}

#[test]
fn suback_without_codes() {
    assert_eq!(err(&hex("90 02 00 01"), V311), E::Truncated);
    assert_eq!(err(&hex("90 03 00 01 00"), V5), E::Truncated);
    assert_eq!(err(&hex("b0 03 00 01 00"), V5), E::Truncated);
}

#[test]
fn invalid_topic_filters() {
    for f in ["a/#/b", "a+", "#a", "a/b#", ""] {
        let b = f.as_bytes();
        let body = cat(&[&[0, 1, 0, b.len() as u8], b, &[0]]);
        assert_eq!(err(&pkt(0x82, &body), V311), E::InvalidTopic, "{f:?}");
        let body = cat(&[&[0, 1, 0, b.len() as u8], b]);
        assert_eq!(err(&pkt(0xa2, &body), V311), E::InvalidTopic, "{f:?}");
    }
}

#[test]
fn subscribe_filter_without_options() {
    assert_eq!(err(&hex("82 05 00 01 00 01 61"), V311), E::Truncated);
}

#[test]
fn subscription_options_311() {
    // Bits 2-7 are reserved in 3.1.1; QoS 3 is invalid.
    for o in ["04", "80", "03"] {
        assert_eq!(
            err(&hex(&format!("82 06 00 01 00 01 61 {o}")), V311),
            E::InvalidSubOptions,
            "{o}"
        );
    }
}

#[test]
fn subscription_options_5() {
    // Bits 6-7 reserved, retain handling 3, QoS 3.
    for o in ["40", "80", "30", "03"] {
        assert_eq!(
            err(&hex(&format!("82 07 00 01 00 00 01 61 {o}")), V5),
            E::InvalidSubOptions,
            "{o}"
        );
    }
    let Packet::Subscribe(s) = ok(&hex("82 07 00 01 00 00 01 61 2e"), V5) else {
        panic!()
    };
    let o = s.subscriptions.iter().next().unwrap().options;
    assert_eq!(
        o,
        SubOptions {
            qos: QoS::ExactlyOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: 2
        }
    );
}

#[test]
fn no_local_on_shared_subscription() {
    let f = b"$share/g/a";
    let body = cat(&[&[0, 1, 0, 0, f.len() as u8], f, &[0x04]]);
    assert_eq!(err(&pkt(0x82, &body), V5), E::InvalidSubOptions);
    let body = cat(&[&[0, 1, 0, 0, f.len() as u8], f, &[0x01]]);
    assert!(matches!(ok(&pkt(0x82, &body), V5), Packet::Subscribe(_)));
}

// ---- CONNECT ----

#[test]
fn connect_protocol_name() {
    let c = pkt(
        0x10,
        &cat(&[&hex("00 06 4d 51 49 73 64 70 03 02 00 3c 00 01 63")]),
    );
    assert_eq!(err(&c, V311), E::InvalidProtocolName);
}

#[test]
fn connect_protocol_level() {
    assert_eq!(
        err(&pkt(0x10, &connect_body(3, 2, &hex("00 01 63"))), V311),
        E::UnsupportedProtocolLevel(3)
    );
    assert_eq!(
        err(&pkt(0x10, &connect_body(5, 2, &hex("00 00 01 63"))), V311),
        E::UnsupportedProtocolLevel(5)
    );
    assert_eq!(
        err(&pkt(0x10, &connect_body(4, 2, &hex("00 01 63"))), V5),
        E::UnsupportedProtocolLevel(4)
    );
}

#[test]
fn connect_reserved_flag() {
    assert_eq!(
        err(&pkt(0x10, &connect_body(4, 0x03, &hex("00 01 63"))), V311),
        E::InvalidConnectFlags
    );
}

#[test]
fn connect_will_flags_without_will() {
    assert_eq!(
        err(&pkt(0x10, &connect_body(4, 0x0a, &hex("00 01 63"))), V311),
        E::InvalidConnectFlags
    );
    assert_eq!(
        err(&pkt(0x10, &connect_body(4, 0x22, &hex("00 01 63"))), V311),
        E::InvalidConnectFlags
    );
}

#[test]
fn connect_will_qos_3() {
    let c = pkt(
        0x10,
        &connect_body(4, 0x1e, &hex("00 01 63 00 01 77 00 00")),
    );
    assert_eq!(err(&c, V311), E::InvalidQoS);
}

#[test]
fn connect_password_without_user_name() {
    let c = pkt(0x10, &connect_body(4, 0x42, &hex("00 01 63 00 01 70")));
    assert_eq!(err(&c, V311), E::InvalidConnectFlags);
    // 5.0 allows it.
    let c = pkt(0x10, &connect_body(5, 0x42, &hex("00 00 01 63 00 01 70")));
    let Packet::Connect(c) = ok(&c, V5) else {
        panic!()
    };
    assert_eq!((c.username, c.password), (None, Some(&b"p"[..])));
}

#[test]
fn connect_will_topic_with_wildcard() {
    let c = pkt(
        0x10,
        &connect_body(4, 0x06, &hex("00 01 63 00 01 2b 00 00")),
    );
    assert_eq!(err(&c, V311), E::InvalidTopic);
}

#[test]
fn connect_missing_payload_fields() {
    // User name flag set but no user name.
    assert_eq!(
        err(&pkt(0x10, &connect_body(4, 0x82, &hex("00 01 63"))), V311),
        E::Truncated
    );
}

// ---- partial input ----

#[test]
fn errors_before_the_whole_packet_arrives() {
    // Definitely wrong from the fixed header: do not wait for the body.
    assert_eq!(err(&hex("60 02"), V311), E::InvalidFlags);
    assert_eq!(err(&hex("38 10 00"), V311), E::DupOnQos0);
}

#[test]
fn publish_head_partial_and_wrong_header() {
    let bytes = publish5("a/b", "23 00 07");
    let h = decode_fixed_header(&bytes).unwrap().unwrap();
    let body = &bytes[h.header_len..];
    for cut in 0..body.len() - 1 {
        assert_eq!(
            decode_publish_head(&h, &body[..cut], V5),
            Ok(None),
            "cut {cut}"
        );
    }
    let (head, used) = decode_publish_head(&h, &body[..body.len() - 1], V5)
        .unwrap()
        .unwrap();
    assert_eq!(
        (head.topic, head.payload_len, used),
        ("a/b", 1, body.len() - 1)
    );
    // A wildcard is reported as soon as the topic is there.
    let h2 = decode_fixed_header(&hex("30 20")).unwrap().unwrap();
    assert_eq!(
        decode_publish_head(&h2, &hex("00 01 23"), V311),
        Err(E::InvalidTopic)
    );
    // A head that claims more than the packet holds is an error once it is all there.
    let h3 = decode_fixed_header(&hex("30 03")).unwrap().unwrap();
    assert_eq!(
        decode_publish_head(&h3, &hex("00 05 61"), V311),
        Err(E::Truncated)
    );
    let ack = decode_fixed_header(&hex("40 02")).unwrap().unwrap();
    assert_eq!(
        decode_publish_head(&ack, &hex("00 01"), V311),
        Err(E::InvalidPacketType(4))
    );
}

// ---- the encoder's refusals ----

fn pubp<'a>(topic: &'a str, qos: QoS, id: Option<u16>, props: Properties<'a>) -> Packet<'a> {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic,
        packet_id: id,
        properties: props,
        payload: b"x",
    })
}

#[test]
fn encode_buffer_too_small_writes_nothing() {
    let p = pubp("a/b", QoS::AtLeastOnce, Some(1), Properties::default());
    let n = p.encoded_len(V311).unwrap();
    let mut out = vec![0xaa; n - 1];
    assert_eq!(
        p.encode(V311, &mut out),
        Err(EncodeError::BufferTooSmall { needed: n })
    );
    assert!(out.iter().all(|&b| b == 0xaa));
    let mut out = vec![0; n];
    assert_eq!(p.encode(V311, &mut out), Ok(n));
}

#[test]
fn encode_topic_checks() {
    let none = Properties::default();
    assert_eq!(
        pubp("", QoS::AtMostOnce, None, none).encoded_len(V311),
        Err(EncodeError::EmptyTopic)
    );
    assert_eq!(
        pubp("", QoS::AtMostOnce, None, none).encoded_len(V5),
        Err(EncodeError::EmptyTopic)
    );
    assert_eq!(
        pubp("a/+", QoS::AtMostOnce, None, none).encoded_len(V5),
        Err(EncodeError::InvalidTopic)
    );
    assert_eq!(
        pubp("a\0", QoS::AtMostOnce, None, none).encoded_len(V5),
        Err(EncodeError::InvalidTopic)
    );
    let alias = [Property::TopicAlias(4)];
    assert!(pubp("", QoS::AtMostOnce, None, Properties::List(&alias))
        .encoded_len(V5)
        .is_ok());
    let subs = [Subscription {
        filter: "a/#/b",
        options: SubOptions::qos(QoS::AtMostOnce),
    }];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: none,
        subscriptions: Subscriptions::List(&subs),
    });
    assert_eq!(s.encoded_len(V311), Err(EncodeError::InvalidTopic));
    let f = [""];
    let u = Packet::Unsubscribe(Unsubscribe {
        packet_id: 1,
        properties: none,
        filters: TopicFilters::List(&f),
    });
    assert_eq!(u.encoded_len(V311), Err(EncodeError::EmptyTopic));
    let will = Will {
        topic: "w/#",
        payload: b"",
        qos: QoS::AtMostOnce,
        retain: false,
        properties: none,
    };
    let c = connect_with(Some(will), None, None, none);
    assert_eq!(c.encoded_len(V311), Err(EncodeError::InvalidTopic));
}

fn connect_with<'a>(
    will: Option<Will<'a>>,
    user: Option<&'a str>,
    pass: Option<&'a [u8]>,
    props: Properties<'a>,
) -> Packet<'a> {
    Packet::Connect(Connect {
        clean_start: true,
        keep_alive: 60,
        client_id: "c",
        will,
        username: user,
        password: pass,
        properties: props,
    })
}

#[test]
fn encode_string_limits() {
    let long = "a".repeat(65_536);
    let none = Properties::default();
    assert_eq!(
        connect_with(None, Some(&long), None, none).encoded_len(V311),
        Err(EncodeError::StringTooLong)
    );
    assert_eq!(
        pubp(&long, QoS::AtMostOnce, None, none).encoded_len(V311),
        Err(EncodeError::StringTooLong)
    );
    let ok = "a".repeat(65_535);
    assert!(connect_with(None, Some(&ok), None, none)
        .encoded_len(V311)
        .is_ok());
    assert_eq!(
        connect_with(None, Some("a\0"), None, none).encoded_len(V311),
        Err(EncodeError::InvalidString)
    );
}

#[test]
fn encode_packet_too_large() {
    // A payload just over the largest remaining length; the buffer is never
    // touched (calloc'd pages stay unmapped).
    let big = vec![0u8; 268_435_456];
    let p = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "a",
        packet_id: None,
        properties: Properties::default(),
        payload: &big,
    });
    assert_eq!(p.encoded_len(V311), Err(EncodeError::PacketTooLarge));
    let fits = Packet::Publish(Publish {
        payload: &big[..268_435_455 - 3],
        ..match p {
            Packet::Publish(p) => p,
            _ => unreachable!(),
        }
    });
    assert_eq!(fits.encoded_len(V311), Ok(268_435_455 + 5));
}

#[test]
fn encode_packet_ids() {
    let none = Properties::default();
    assert_eq!(
        pubp("a", QoS::AtLeastOnce, None, none).encoded_len(V311),
        Err(EncodeError::InvalidPacketId)
    );
    assert_eq!(
        pubp("a", QoS::ExactlyOnce, Some(0), none).encoded_len(V311),
        Err(EncodeError::InvalidPacketId)
    );
    assert_eq!(
        pubp("a", QoS::AtMostOnce, Some(3), none).encoded_len(V311),
        Err(EncodeError::InvalidPacketId)
    );
    let a = Packet::PubAck(Ack {
        packet_id: 0,
        reason: ReasonCode::SUCCESS,
        properties: none,
    });
    assert_eq!(a.encoded_len(V5), Err(EncodeError::InvalidPacketId));
    let s = Packet::SubAck(SubAck {
        packet_id: 0,
        properties: none,
        codes: &[0],
    });
    assert_eq!(s.encoded_len(V311), Err(EncodeError::InvalidPacketId));
}

#[test]
fn encode_empty_filter_lists() {
    let none = Properties::default();
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: none,
        subscriptions: Subscriptions::List(&[]),
    });
    assert_eq!(s.encoded_len(V5), Err(EncodeError::EmptyFilterList));
    let u = Packet::Unsubscribe(Unsubscribe {
        packet_id: 1,
        properties: none,
        filters: TopicFilters::List(&[]),
    });
    assert_eq!(u.encoded_len(V311), Err(EncodeError::EmptyFilterList));
    let sa = Packet::SubAck(SubAck {
        packet_id: 1,
        properties: none,
        codes: &[],
    });
    assert_eq!(sa.encoded_len(V311), Err(EncodeError::EmptyFilterList));
}

#[test]
fn encode_not_in_version() {
    let up = [Property::UserProperty("a", "b")];
    let p = pubp("a", QoS::AtMostOnce, None, Properties::List(&up));
    assert_eq!(p.encoded_len(V311), Err(EncodeError::NotInVersion));
    assert!(p.encoded_len(V5).is_ok());
    assert_eq!(
        connect_with(None, None, Some(b"pw"), Properties::default()).encoded_len(V311),
        Err(EncodeError::NotInVersion)
    );
    assert!(connect_with(None, None, Some(b"pw"), Properties::default())
        .encoded_len(V5)
        .is_ok());
    let a = Packet::Auth(Auth {
        reason: ReasonCode::SUCCESS,
        properties: Properties::default(),
    });
    assert_eq!(a.encoded_len(V311), Err(EncodeError::NotInVersion));
    let d = Packet::Disconnect(Disconnect {
        reason: ReasonCode::SERVER_BUSY,
        properties: Properties::default(),
    });
    assert_eq!(d.encoded_len(V311), Err(EncodeError::NotInVersion));
    let subs = [Subscription {
        filter: "a",
        options: SubOptions {
            no_local: true,
            ..SubOptions::qos(QoS::AtMostOnce)
        },
    }];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::default(),
        subscriptions: Subscriptions::List(&subs),
    });
    assert_eq!(s.encoded_len(V311), Err(EncodeError::NotInVersion));
    let ua = Packet::UnsubAck(SubAck {
        packet_id: 1,
        properties: Properties::default(),
        codes: &[0],
    });
    assert_eq!(ua.encoded_len(V311), Err(EncodeError::NotInVersion));
}

#[test]
fn encode_property_rules() {
    let check = |p: &[Property<'_>], id: u8| {
        let pk = pubp("a", QoS::AtMostOnce, None, Properties::List(p));
        assert_eq!(
            pk.encoded_len(V5),
            Err(EncodeError::InvalidProperty(id)),
            "{p:?}"
        );
    };
    check(&[Property::ReasonString("x")], 0x1f); // not allowed in PUBLISH
    check(&[Property::TopicAlias(0)], 0x23);
    check(&[Property::PayloadFormatIndicator(2)], 0x01);
    check(&[Property::SubscriptionIdentifier(268_435_456)], 0x0b);
    check(
        &[Property::ContentType("a"), Property::ContentType("b")],
        0x03,
    );
    check(&[Property::ResponseTopic("a/+")], 0x08);
    let c =
        |p: &[Property<'_>]| connect_with(None, None, None, Properties::List(p)).encoded_len(V5);
    assert_eq!(
        c(&[Property::ReceiveMaximum(0)]),
        Err(EncodeError::InvalidProperty(0x21))
    );
    assert_eq!(
        c(&[Property::AuthenticationData(b"x")]),
        Err(EncodeError::InvalidProperty(0x16))
    );
    assert_eq!(
        c(&[Property::ReasonString("a\0")]),
        Err(EncodeError::InvalidProperty(0x1f))
    );
    assert_eq!(
        c(&[Property::UserProperty("a\0", "b")]),
        Err(EncodeError::InvalidString)
    );
    assert!(c(&[
        Property::UserProperty("a", "b"),
        Property::UserProperty("a", "c")
    ])
    .is_ok());
    // Raw bytes are checked with the decoder's rules too.
    let raw = [0x23, 0x00, 0x01];
    let pk = Packet::ConnAck(ConnAck {
        session_present: false,
        code: ReasonCode::SUCCESS,
        properties: Properties::Raw(&raw),
    });
    assert_eq!(pk.encoded_len(V5), Err(EncodeError::InvalidProperty(0x23)));
}

#[test]
fn encode_sub_options_and_reason_codes() {
    let subs = [Subscription {
        filter: "a",
        options: SubOptions {
            retain_handling: 3,
            ..SubOptions::qos(QoS::AtMostOnce)
        },
    }];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::default(),
        subscriptions: Subscriptions::List(&subs),
    });
    assert_eq!(s.encoded_len(V5), Err(EncodeError::InvalidSubOptions));
    let subs = [Subscription {
        filter: "$share/g/a",
        options: SubOptions {
            no_local: true,
            ..SubOptions::qos(QoS::AtMostOnce)
        },
    }];
    let s = Packet::Subscribe(Subscribe {
        packet_id: 1,
        properties: Properties::default(),
        subscriptions: Subscriptions::List(&subs),
    });
    assert_eq!(s.encoded_len(V5), Err(EncodeError::InvalidSubOptions));
    let a = Packet::PubAck(Ack {
        packet_id: 1,
        reason: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
        properties: Properties::default(),
    });
    assert_eq!(a.encoded_len(V5), Err(EncodeError::InvalidReasonCode(0x92)));
    let sa = Packet::SubAck(SubAck {
        packet_id: 1,
        properties: Properties::default(),
        codes: &[0x87],
    });
    assert_eq!(
        sa.encoded_len(V311),
        Err(EncodeError::InvalidReasonCode(0x87))
    );
    assert!(sa.encoded_len(V5).is_ok());
    let ca = Packet::ConnAck(ConnAck {
        session_present: true,
        code: ReasonCode(5),
        properties: Properties::default(),
    });
    assert_eq!(ca.encoded_len(V311), Err(EncodeError::InvalidReasonCode(5)));
}

#[test]
fn decode_error_reason_codes() {
    assert_eq!(
        E::InvalidTopicAlias.reason_code(),
        ReasonCode::TOPIC_ALIAS_INVALID
    );
    assert_eq!(
        E::DuplicateProperty(0x21).reason_code(),
        ReasonCode::PROTOCOL_ERROR
    );
    assert_eq!(E::InvalidQoS.reason_code(), ReasonCode::MALFORMED_PACKET);
    assert_eq!(PacketType::from_u8(15), Some(PacketType::Auth));
    assert_eq!(PacketType::from_u8(0), None);
}
