//! Property tests: decode(encode(x)) == x for valid packets of every type in
//! both versions; arbitrary and mutated bytes never panic the decoder, and
//! what it accepts encodes back consistently; truncation means "need more".

use proptest::prelude::*;

use mqttas::wire::{
    decode, decode_fixed_header, decode_publish_head, Ack, Auth, ConnAck, Connect, Disconnect,
    FixedHeader, Packet, PacketType, Properties, Property, Publish, QoS, ReasonCode, SubAck,
    SubOptions, Subscribe, Subscription, Subscriptions, TopicFilters, Unsubscribe, Version, Will,
    MAX_VARINT,
};

// ---- leaking helpers: generated packets borrow 'static data ----

fn leak_str(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

fn leak_bytes(b: Vec<u8>) -> &'static [u8] {
    Box::leak(b.into_boxed_slice())
}

fn leak_slice<T>(v: Vec<T>) -> &'static [T] {
    Box::leak(v.into_boxed_slice())
}

// ---- value strategies ----

fn text() -> impl Strategy<Value = &'static str> {
    "[^\u{0}]{0,10}".prop_map(leak_str)
}

fn bin() -> impl Strategy<Value = &'static [u8]> {
    prop::collection::vec(any::<u8>(), 0..12).prop_map(leak_bytes)
}

fn topic_name() -> impl Strategy<Value = &'static str> {
    "[^\u{0}+#]{1,12}".prop_map(leak_str)
}

fn topic_filter() -> impl Strategy<Value = &'static str> {
    (
        prop::collection::vec(prop_oneof![Just("+".to_string()), "[^\u{0}+#/]{0,5}"], 1..4),
        any::<bool>(),
    )
        .prop_map(|(levels, hash)| {
            let mut f = levels.join("/");
            if hash {
                f.push_str(if f.is_empty() { "#" } else { "/#" });
            }
            if f.is_empty() {
                f.push('a');
            }
            leak_str(f)
        })
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn flag() -> impl Strategy<Value = u8> {
    0u8..=1
}

fn packet_id() -> impl Strategy<Value = u16> {
    1u16..
}

/// Any property with a value in its valid range.
fn any_property() -> impl Strategy<Value = Property<'static>> {
    use Property::*;
    prop_oneof![
        flag().prop_map(PayloadFormatIndicator),
        any::<u32>().prop_map(MessageExpiryInterval),
        text().prop_map(ContentType),
        topic_name().prop_map(ResponseTopic),
        bin().prop_map(CorrelationData),
        (1..=MAX_VARINT).prop_map(SubscriptionIdentifier),
        any::<u32>().prop_map(SessionExpiryInterval),
        text().prop_map(AssignedClientIdentifier),
        any::<u16>().prop_map(ServerKeepAlive),
        text().prop_map(AuthenticationMethod),
        bin().prop_map(AuthenticationData),
        flag().prop_map(RequestProblemInformation),
        any::<u32>().prop_map(WillDelayInterval),
        flag().prop_map(RequestResponseInformation),
        text().prop_map(ResponseInformation),
        text().prop_map(ServerReference),
        text().prop_map(ReasonString),
        (1u16..).prop_map(ReceiveMaximum),
        any::<u16>().prop_map(TopicAliasMaximum),
        (1u16..).prop_map(TopicAlias),
        flag().prop_map(MaximumQoS),
        flag().prop_map(RetainAvailable),
        (text(), text()).prop_map(|(k, v)| UserProperty(k, v)),
        (1u32..).prop_map(MaximumPacketSize),
        flag().prop_map(WildcardSubscriptionAvailable),
        flag().prop_map(SubscriptionIdentifierAvailable),
        flag().prop_map(SharedSubscriptionAvailable),
    ]
}

/// Property identifiers each packet may carry (5.0 section 2.2.2.2), written
/// out here independently of the codec's table. Context 0 is the will.
fn allowed(ctx: u8) -> &'static [u8] {
    match ctx {
        0 => &[0x01, 0x02, 0x03, 0x08, 0x09, 0x18, 0x26],
        1 => &[0x11, 0x15, 0x16, 0x17, 0x19, 0x21, 0x22, 0x26, 0x27],
        2 => &[
            0x11, 0x12, 0x13, 0x15, 0x16, 0x1A, 0x1C, 0x1F, 0x21, 0x22, 0x24, 0x25, 0x26, 0x27,
            0x28, 0x29, 0x2A,
        ],
        3 => &[0x01, 0x02, 0x03, 0x08, 0x09, 0x0B, 0x23, 0x26],
        4..=7 | 9 | 11 => &[0x1F, 0x26],
        8 => &[0x0B, 0x26],
        10 => &[0x26],
        14 => &[0x11, 0x1C, 0x1F, 0x26],
        15 => &[0x15, 0x16, 0x1F, 0x26],
        _ => &[],
    }
}

/// A valid property list for a packet context, or none in 3.1.1.
fn properties(ctx: u8, v: Version) -> BoxedStrategy<Properties<'static>> {
    if v == Version::V311 {
        return Just(Properties::default()).boxed();
    }
    prop::collection::vec(any_property(), 0..6)
        .prop_map(move |list| {
            let mut out: Vec<Property<'static>> = Vec::new();
            for p in list {
                let id = p.id();
                let repeatable = id == 0x26 || (id == 0x0B && ctx == 3);
                if allowed(ctx).contains(&id) && (repeatable || !out.iter().any(|q| q.id() == id)) {
                    out.push(p);
                }
            }
            // Authentication data needs a method.
            if !out.iter().any(|p| p.id() == 0x15) {
                out.retain(|p| p.id() != 0x16);
            }
            Properties::List(leak_slice(out))
        })
        .boxed()
}

/// Reason codes each packet may carry, from the tables of the 5.0 spec.
fn reasons(kind: PacketType, v: Version) -> &'static [u8] {
    use PacketType as T;
    match (v, kind) {
        (Version::V311, T::ConnAck) => &[0, 1, 2, 3, 4, 5],
        (Version::V311, T::SubAck) => &[0, 1, 2, 0x80],
        (Version::V311, _) => &[0],
        (_, T::ConnAck) => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90,
            0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
        ],
        (_, T::PubAck | T::PubRec) => &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        (_, T::PubRel | T::PubComp) => &[0x00, 0x92],
        (_, T::SubAck) => &[
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ],
        (_, T::UnsubAck) => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        (_, T::Disconnect) => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93,
            0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1,
            0xA2,
        ],
        (_, T::Auth) => &[0x00, 0x18, 0x19],
        _ => &[0],
    }
}

fn reason(kind: PacketType, v: Version) -> impl Strategy<Value = ReasonCode> {
    prop::sample::select(reasons(kind, v)).prop_map(ReasonCode)
}

fn codes(kind: PacketType, v: Version) -> impl Strategy<Value = &'static [u8]> {
    prop::collection::vec(prop::sample::select(reasons(kind, v)), 1..5).prop_map(leak_bytes)
}

fn sub_options(v: Version) -> BoxedStrategy<SubOptions> {
    match v {
        Version::V311 => qos().prop_map(SubOptions::qos).boxed(),
        Version::V5 => (qos(), any::<bool>(), any::<bool>(), 0u8..=2)
            .prop_map(
                |(qos, no_local, retain_as_published, retain_handling)| SubOptions {
                    qos,
                    no_local,
                    retain_as_published,
                    retain_handling,
                },
            )
            .boxed(),
    }
}

// ---- packet strategies ----

fn connect(v: Version) -> impl Strategy<Value = Packet<'static>> {
    let will = (topic_name(), bin(), qos(), any::<bool>(), properties(0, v)).prop_map(
        |(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        },
    );
    (
        any::<bool>(),
        any::<u16>(),
        text(),
        prop::option::of(will),
        prop::option::of(text()),
        prop::option::of(bin()),
        properties(1, v),
    )
        .prop_map(
            move |(clean_start, keep_alive, client_id, will, username, password, properties)| {
                // 3.1.1 has no password without a user name.
                let password = if v == Version::V311 && username.is_none() {
                    None
                } else {
                    password
                };
                Packet::Connect(Connect {
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                })
            },
        )
}

fn connack(v: Version) -> impl Strategy<Value = Packet<'static>> {
    (
        any::<bool>(),
        reason(PacketType::ConnAck, v),
        properties(2, v),
    )
        .prop_map(|(sp, code, properties)| {
            Packet::ConnAck(ConnAck {
                session_present: sp && code.0 == 0,
                code,
                properties,
            })
        })
}

fn publish(v: Version) -> impl Strategy<Value = Packet<'static>> {
    (
        any::<bool>(),
        qos(),
        any::<bool>(),
        topic_name(),
        packet_id(),
        properties(3, v),
        bin(),
        any::<bool>(),
    )
        .prop_map(
            |(dup, qos, retain, topic, id, properties, payload, use_alias)| {
                let has_alias = properties
                    .iter()
                    .any(|p| matches!(p, Property::TopicAlias(_)));
                let at_most_once = qos == QoS::AtMostOnce;
                Packet::Publish(Publish {
                    dup: dup && !at_most_once,
                    qos,
                    retain,
                    topic: if has_alias && use_alias { "" } else { topic },
                    packet_id: if at_most_once { None } else { Some(id) },
                    properties,
                    payload,
                })
            },
        )
}

fn ack(kind: PacketType, v: Version) -> impl Strategy<Value = Packet<'static>> {
    (packet_id(), reason(kind, v), properties(kind as u8, v)).prop_map(
        move |(packet_id, reason, properties)| {
            let a = Ack {
                packet_id,
                reason,
                properties,
            };
            match kind {
                PacketType::PubAck => Packet::PubAck(a),
                PacketType::PubRec => Packet::PubRec(a),
                PacketType::PubRel => Packet::PubRel(a),
                _ => Packet::PubComp(a),
            }
        },
    )
}

fn subscribe(v: Version) -> impl Strategy<Value = Packet<'static>> {
    let sub = (topic_filter(), sub_options(v))
        .prop_map(|(filter, options)| Subscription { filter, options });
    (
        packet_id(),
        properties(8, v),
        prop::collection::vec(sub, 1..4),
    )
        .prop_map(|(packet_id, properties, subs)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                properties,
                subscriptions: Subscriptions::List(leak_slice(subs)),
            })
        })
}

fn suback(kind: PacketType, v: Version) -> impl Strategy<Value = Packet<'static>> {
    let codes = if kind == PacketType::UnsubAck && v == Version::V311 {
        Just(&[][..]).boxed()
    } else {
        codes(kind, v).boxed()
    };
    (packet_id(), properties(kind as u8, v), codes).prop_map(
        move |(packet_id, properties, codes)| {
            let s = SubAck {
                packet_id,
                properties,
                codes,
            };
            if kind == PacketType::SubAck {
                Packet::SubAck(s)
            } else {
                Packet::UnsubAck(s)
            }
        },
    )
}

fn unsubscribe(v: Version) -> impl Strategy<Value = Packet<'static>> {
    (
        packet_id(),
        properties(10, v),
        prop::collection::vec(topic_filter(), 1..4),
    )
        .prop_map(|(packet_id, properties, filters)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties,
                filters: TopicFilters::List(leak_slice(filters)),
            })
        })
}

fn disconnect(v: Version) -> impl Strategy<Value = Packet<'static>> {
    (reason(PacketType::Disconnect, v), properties(14, v))
        .prop_map(|(reason, properties)| Packet::Disconnect(Disconnect { reason, properties }))
}

fn auth() -> impl Strategy<Value = Packet<'static>> {
    (
        reason(PacketType::Auth, Version::V5),
        properties(15, Version::V5),
    )
        .prop_map(|(reason, properties)| Packet::Auth(Auth { reason, properties }))
}

/// Any valid packet of the version.
fn packet(v: Version) -> BoxedStrategy<Packet<'static>> {
    use PacketType as T;
    let common = prop_oneof![
        connect(v),
        connack(v),
        publish(v),
        ack(T::PubAck, v),
        ack(T::PubRec, v),
        ack(T::PubRel, v),
        ack(T::PubComp, v),
        subscribe(v),
        suback(T::SubAck, v),
        unsubscribe(v),
        suback(T::UnsubAck, v),
        Just(Packet::PingReq),
        Just(Packet::PingResp),
        disconnect(v),
    ];
    match v {
        Version::V311 => common.boxed(),
        Version::V5 => prop_oneof![14 => common, 1 => auth()].boxed(),
    }
}

fn version() -> impl Strategy<Value = Version> {
    prop_oneof![Just(Version::V311), Just(Version::V5)]
}

fn versioned_packet() -> impl Strategy<Value = (Version, Packet<'static>)> {
    version().prop_flat_map(|v| (Just(v), packet(v)))
}

fn encode(p: &Packet<'_>, v: Version) -> Vec<u8> {
    let n = p
        .encoded_len(v)
        .unwrap_or_else(|e| panic!("{e:?} for {p:?}"));
    let mut out = vec![0u8; n];
    assert_eq!(p.encode(v, &mut out), Ok(n));
    out
}

/// What must hold whenever the decoder accepts bytes: the length is within
/// the input, and the packet encodes to a form that decodes to itself and
/// is never longer than the input (only the 5.0 short forms may differ).
fn check_accepted(bytes: &[u8], v: Version) -> Result<(), TestCaseError> {
    if let Ok(Some((p, n))) = decode(bytes, v) {
        prop_assert!(n <= bytes.len());
        let again = encode(&p, v);
        prop_assert!(again.len() <= n, "{p:?}");
        prop_assert_eq!(decode(&again, v), Ok(Some((p, again.len()))));
        prop_assert_eq!(encode(&p, v), again.clone());
        if again.len() == n {
            prop_assert_eq!(&again[..], &bytes[..n]);
        }
    }
    Ok(())
}

fn fixed_header() -> impl Strategy<Value = FixedHeader> {
    (0u8..16, any::<u32>(), 2usize..6).prop_map(|(flags, remaining_len, header_len)| FixedHeader {
        kind: PacketType::Publish,
        flags,
        remaining_len,
        header_len,
    })
}

proptest! {
    // 2000 cases by default; PROPTEST_CASES raises it for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(2000)
    ))]

    #[test]
    fn roundtrip((v, p) in versioned_packet()) {
        let bytes = encode(&p, v);
        let (back, n) = decode(&bytes, v).unwrap().unwrap();
        prop_assert_eq!(n, bytes.len());
        prop_assert_eq!(back, p);
        // What was decoded encodes to the same bytes.
        prop_assert_eq!(encode(&back, v), bytes.clone());
        // A PUBLISH read head first gives the same fields.
        if let Packet::Publish(p) = p {
            let h = decode_fixed_header(&bytes).unwrap().unwrap();
            let body = &bytes[h.header_len..];
            let (head, used) = decode_publish_head(&h, body, v).unwrap().unwrap();
            prop_assert_eq!((head.topic, head.packet_id, head.properties), (p.topic, p.packet_id, p.properties));
            prop_assert_eq!(&body[used..], p.payload);
            prop_assert_eq!(head.payload_len as usize, p.payload.len());
        }
    }

    #[test]
    fn truncation_needs_more((v, p) in versioned_packet()) {
        let bytes = encode(&p, v);
        for cut in 0..bytes.len() {
            prop_assert_eq!(decode(&bytes[..cut], v), Ok(None), "cut at {}", cut);
        }
        // Trailing bytes of the next packet do not matter.
        let mut more = bytes.clone();
        more.extend_from_slice(&[0xff, 0x00, 0x12]);
        prop_assert_eq!(decode(&more, v).unwrap().unwrap().1, bytes.len());
    }

    #[test]
    fn short_buffer_is_reported((v, p) in versioned_packet(), short in 1usize..8) {
        let n = p.encoded_len(v).unwrap();
        let mut out = vec![0u8; n.saturating_sub(short)];
        prop_assert_eq!(p.encode(v, &mut out), Err(mqttas::wire::EncodeError::BufferTooSmall { needed: n }));
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64), v in version()) {
        let _ = decode_fixed_header(&bytes);
        check_accepted(&bytes, v)?;
        if let Ok(Some(h)) = decode_fixed_header(&bytes) {
            if h.kind == PacketType::Publish {
                let _ = decode_publish_head(&h, &bytes[h.header_len..], v);
            }
        }
    }

    #[test]
    fn plausible_headers_never_panic(first in 0u8..=255, body in prop::collection::vec(any::<u8>(), 0..48), v in version()) {
        // A valid fixed header over random bytes reaches every body decoder.
        let mut bytes = vec![first, body.len() as u8];
        bytes.extend_from_slice(&body);
        check_accepted(&bytes, v)?;
    }

    #[test]
    fn publish_head_never_panics(h in fixed_header(), body in prop::collection::vec(any::<u8>(), 0..48), v in version()) {
        if let Ok(Some((head, used))) = decode_publish_head(&h, &body, v) {
            prop_assert!(used <= body.len());
            prop_assert_eq!(u64::from(head.payload_len) + used as u64, u64::from(h.remaining_len));
        }
    }

    #[test]
    fn mutated_packets_never_panic(
        (v, p) in versioned_packet(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut bytes = encode(&p, v);
        for (at, byte, op) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match op {
                0 => bytes[i] = byte,
                1 => { bytes.remove(i); }
                _ => bytes.insert(i, byte),
            }
        }
        check_accepted(&bytes, v)?;
    }
}
