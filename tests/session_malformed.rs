//! Every malformed-packet and protocol rule of MQTT 3.1.1 and 5.0 that a
//! client enforces on what the server sends, one table row each, run
//! through the session against the in-memory broker:
//!
//! - the client ends the connection (state Disconnected, link closed);
//! - 5.0: it sends DISCONNECT with the reason code the spec gives (0x81
//!   malformed packet, 0x82 protocol error, 0x94 topic alias invalid, 0x95
//!   packet too large, 0x93 receive maximum exceeded); 3.1.1 has no such
//!   DISCONNECT (it would be a clean close and drop the will);
//! - it reports `ConnectionLost(Protocol(error))` with the rule broken, and a
//!   Display text that names it;
//! - it never panics, and loses no stored message: a QoS 1 and a QoS 2
//!   publication awaiting acknowledgement are sent again on the next
//!   connection and complete there.
//!
//! Rows where the implementation and the spec disagree on the reason code
//! are in `disputed()`, checked by an ignored test (see its comment).

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{LostReason, State};
use mqttas::wire::{
    Connect, DecodeError, Packet, Properties, QoS, SubOptions, Subscribe, Subscription,
    Subscriptions, TopicFilters, Unsubscribe, Version,
};
use mqttas::Config;
use sim::{config, Pair, Pkt, Reply, Sizes, VERSIONS};

use DecodeError as E;
use Version::{V311, V5};

// ---- byte builders ----

fn varint(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let mut b = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            b |= 0x80;
        }
        out.push(b);
        if n == 0 {
            break;
        }
    }
}

/// A packet: first byte, remaining length, body.
fn pkt(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    varint(body.len(), &mut out);
    out.extend_from_slice(body);
    out
}

fn string(s: &[u8]) -> Vec<u8> {
    let mut out = (s.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(s);
    out
}

/// 5.0 properties with their length in front; nothing in 3.1.1.
fn props(v: Version, p: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    if v == V5 {
        varint(p.len(), &mut out);
        out.extend_from_slice(p);
    }
    out
}

/// PUBLISH with the given flags (low nibble), topic bytes, id, properties.
fn publish(v: Version, flags: u8, topic: &[u8], id: Option<u16>, p: &[u8]) -> Vec<u8> {
    let mut body = string(topic);
    if let Some(id) = id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend(props(v, p));
    body.extend_from_slice(b"payload");
    pkt(0x30 | flags, &body)
}

/// A PUBLISH with a 300-byte payload, larger than a 64-byte receive buffer.
fn big_publish(v: Version, flags: u8, topic: &[u8], id: Option<u16>, p: &[u8]) -> Vec<u8> {
    let mut body = string(topic);
    if let Some(id) = id {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend(props(v, p));
    body.extend_from_slice(&[0x42; 300]);
    pkt(0x30 | flags, &body)
}

fn connack(v: Version, flags: u8, code: u8, p: &[u8]) -> Vec<u8> {
    let mut body = vec![flags, code];
    body.extend(props(v, p));
    pkt(0x20, &body)
}

/// PUBACK/PUBREC/PUBREL/PUBCOMP (first byte given) with a 5.0 reason code.
fn ack(first: u8, id: u16, reason: Option<u8>) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(reason);
    pkt(first, &body)
}

/// SUBACK or UNSUBACK with codes (5.0: empty properties first).
fn suback(v: Version, first: u8, id: u16, codes: &[u8]) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    body.extend(props(v, &[]));
    body.extend_from_slice(codes);
    pkt(first, &body)
}

fn encode(v: Version, p: &Packet<'_>) -> Vec<u8> {
    let mut out = vec![0u8; p.encoded_len(v).unwrap()];
    let n = p.encode(v, &mut out).unwrap();
    out.truncate(n);
    out
}

// ---- the table ----

/// The state the client is in when the bytes arrive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Setup {
    /// Connected with a kept session.
    Connected,
    /// CONNECT sent (kept session), CONNACK not yet received.
    Connecting,
    /// CONNECT sent with clean session / clean start, CONNACK not yet received.
    ConnectingClean,
    /// 5.0, connected, topic alias maximum 2.
    Aliases,
    /// 5.0, connected, maximum packet size 128 announced.
    MaxPacket,
    /// Connected with a 64-byte receive buffer.
    SmallRx,
}

struct Case {
    name: &'static str,
    /// The version the rule belongs to; `None`: both.
    only: Option<Version>,
    setup: Setup,
    bytes: Box<dyn Fn(Version) -> Vec<u8>>,
    /// The error reported; `None`: any protocol error.
    want: Option<DecodeError>,
    /// 5.0 DISCONNECT reason code.
    code: u8,
}

fn case(
    name: &'static str,
    only: Option<Version>,
    setup: Setup,
    want: Option<DecodeError>,
    code: u8,
    bytes: impl Fn(Version) -> Vec<u8> + 'static,
) -> Case {
    Case {
        name,
        only,
        setup,
        bytes: Box::new(bytes),
        want,
        code,
    }
}

const MALFORMED: u8 = 0x81;
const PROTOCOL: u8 = 0x82;
const ALIAS: u8 = 0x94;
const TOO_LARGE: u8 = 0x95;

use Setup::*;

fn cases() -> Vec<Case> {
    let both = None;
    let v5 = Some(V5);
    let v311 = Some(V311);
    let m = MALFORMED;
    vec![
        // -- fixed header: packet type and reserved flags (2.1.2/2.2.2) --
        case(
            "packet type 0",
            both,
            Connected,
            Some(E::InvalidPacketType(0)),
            m,
            |_| vec![0x00, 0x00],
        ),
        case(
            "AUTH in 3.1.1 (type 15 reserved)",
            v311,
            Connected,
            Some(E::InvalidPacketType(15)),
            m,
            |_| vec![0xF0, 0x00],
        ),
        case(
            "CONNACK flags 0001",
            both,
            Connecting,
            Some(E::InvalidFlags),
            m,
            |v| {
                let mut b = connack(v, 0, 0, &[]);
                b[0] |= 1;
                b
            },
        ),
        case(
            "PUBACK flags 0001",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0x41, 0x02, 0x00, 0x01],
        ),
        case(
            "PUBREC flags 1000",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0x58, 0x02, 0x00, 0x01],
        ),
        case(
            "PUBREL flags 0000 (must be 0010)",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0x60, 0x02, 0x00, 0x01],
        ),
        case(
            "PUBCOMP flags 0010",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0x72, 0x02, 0x00, 0x01],
        ),
        case(
            "SUBACK flags 0010",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0x92, 0x03, 0x00, 0x01, 0x00],
        ),
        case(
            "UNSUBACK flags 0100",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0xB4, 0x02, 0x00, 0x01],
        ),
        case(
            "PINGRESP flags 0001",
            both,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0xD1, 0x00],
        ),
        case(
            "DISCONNECT flags 0001",
            v5,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0xE1, 0x00],
        ),
        case(
            "AUTH flags 0001",
            v5,
            Connected,
            Some(E::InvalidFlags),
            m,
            |_| vec![0xF1, 0x00],
        ),
        // -- remaining length (2.2.3 / 1.5.5) --
        case(
            "remaining length over 4 bytes",
            both,
            Connected,
            Some(E::MalformedVarInt),
            m,
            |_| vec![0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F],
        ),
        case(
            "remaining length not in its shortest form",
            both,
            Connected,
            Some(E::MalformedVarInt),
            m,
            |_| vec![0xD0, 0x80, 0x00],
        ),
        case(
            "PUBACK shorter than its packet id",
            both,
            Connected,
            Some(E::Truncated),
            m,
            |_| vec![0x40, 0x01, 0x00],
        ),
        case(
            "topic length past the end of the packet",
            both,
            Connected,
            Some(E::Truncated),
            m,
            |_| vec![0x30, 0x03, 0x00, 0x09, b'a'],
        ),
        case(
            "PINGRESP with a body",
            both,
            Connected,
            Some(E::TrailingBytes),
            m,
            |_| vec![0xD0, 0x01, 0x00],
        ),
        case(
            "3.1.1 PUBACK longer than its packet id",
            v311,
            Connected,
            Some(E::TrailingBytes),
            m,
            |_| vec![0x40, 0x03, 0x00, 0x01, 0x00],
        ),
        case(
            "3.1.1 UNSUBACK with a payload",
            v311,
            Connected,
            Some(E::TrailingBytes),
            m,
            |_| vec![0xB0, 0x03, 0x00, 0x01, 0x00],
        ),
        case(
            "5.0 PUBACK bytes after the properties",
            v5,
            Connected,
            Some(E::TrailingBytes),
            m,
            |_| vec![0x40, 0x05, 0x00, 0x01, 0x00, 0x00, 0x00],
        ),
        case(
            "5.0 property length past the end",
            v5,
            Connected,
            Some(E::Truncated),
            m,
            |_| vec![0x40, 0x05, 0x00, 0x01, 0x00, 0x09, 0x1F],
        ),
        case(
            "SUBACK without a return code",
            both,
            Connected,
            Some(E::Truncated),
            m,
            |v| suback(v, 0x90, 1, &[]),
        ),
        case(
            "CONNACK of one byte",
            both,
            Connecting,
            Some(E::Truncated),
            m,
            |_| vec![0x20, 0x01, 0x00],
        ),
        // -- strings (1.5.3) --
        case(
            "topic not valid UTF-8",
            both,
            Connected,
            Some(E::InvalidUtf8),
            m,
            |v| publish(v, 0, &[0xC3, 0x28], None, &[]),
        ),
        case(
            "topic with U+0000",
            both,
            Connected,
            Some(E::InvalidUtf8),
            m,
            |v| publish(v, 0, b"a\0b", None, &[]),
        ),
        case(
            "topic with a UTF-16 surrogate",
            both,
            Connected,
            Some(E::InvalidUtf8),
            m,
            |v| publish(v, 0, &[b'a', 0xED, 0xA0, 0x80], None, &[]),
        ),
        case(
            "topic with an overlong encoding",
            both,
            Connected,
            Some(E::InvalidUtf8),
            m,
            |v| publish(v, 0, &[0xC0, 0xAF], None, &[]),
        ),
        case(
            "5.0 reason string not UTF-8",
            v5,
            Connected,
            Some(E::InvalidUtf8),
            m,
            |_| vec![0x40, 0x08, 0x00, 0x01, 0x10, 0x04, 0x1F, 0x00, 0x01, 0xFF],
        ),
        // -- PUBLISH (3.3) --
        case(
            "PUBLISH QoS 3",
            both,
            Connected,
            Some(E::InvalidQoS),
            m,
            |v| publish(v, 0b0110, b"a", Some(1), &[]),
        ),
        case(
            "PUBLISH DUP on QoS 0",
            both,
            Connected,
            Some(E::DupOnQos0),
            m,
            |v| publish(v, 0b1000, b"a", None, &[]),
        ),
        case(
            "PUBLISH QoS 1 packet id 0",
            both,
            Connected,
            Some(E::PacketIdZero),
            m,
            |v| publish(v, 0b0010, b"a", Some(0), &[]),
        ),
        case(
            "PUBLISH QoS 2 packet id 0",
            both,
            Connected,
            Some(E::PacketIdZero),
            m,
            |v| publish(v, 0b0100, b"a", Some(0), &[]),
        ),
        case(
            "PUBLISH topic with +",
            both,
            Connected,
            Some(E::InvalidTopic),
            m,
            |v| publish(v, 0, b"a/+/b", None, &[]),
        ),
        case(
            "PUBLISH topic with #",
            both,
            Connected,
            Some(E::InvalidTopic),
            m,
            |v| publish(v, 0, b"a/#", None, &[]),
        ),
        // 5.0 3.3.4: "It is a Protocol Error if the Topic Name is zero
        // length and no Topic Alias is present" (3.1.1 4.7.3: never empty).
        case(
            "PUBLISH empty topic without alias",
            both,
            Connected,
            Some(E::EmptyTopic),
            PROTOCOL,
            |v| publish(v, 0, b"", None, &[]),
        ),
        // 3.1.1 defines DISCONNECT from the client only.
        case(
            "3.1.1 DISCONNECT from the server",
            v311,
            Connected,
            Some(E::UnexpectedPacket(14)),
            m,
            |_| vec![0xE0, 0x00],
        ),
        case(
            "3.1.1 DISCONNECT from the server before CONNACK",
            v311,
            Connecting,
            Some(E::UnexpectedPacket(14)),
            m,
            |_| vec![0xE0, 0x00],
        ),
        // -- acknowledgements (3.4-3.7, 3.9, 3.11) --
        case(
            "PUBACK packet id 0",
            both,
            Connected,
            Some(E::PacketIdZero),
            m,
            |_| ack(0x40, 0, None),
        ),
        case(
            "PUBREL packet id 0",
            both,
            Connected,
            Some(E::PacketIdZero),
            m,
            |_| ack(0x62, 0, None),
        ),
        case(
            "SUBACK packet id 0",
            both,
            Connected,
            Some(E::PacketIdZero),
            m,
            |v| suback(v, 0x90, 0, &[0]),
        ),
        case(
            "SUBACK return code 3",
            both,
            Connected,
            Some(E::InvalidReasonCode(3)),
            m,
            |v| suback(v, 0x90, 1, &[3]),
        ),
        case(
            "5.0 UNSUBACK reason code 0x01",
            v5,
            Connected,
            Some(E::InvalidReasonCode(1)),
            m,
            |v| suback(v, 0xB0, 1, &[1]),
        ),
        case(
            "5.0 PUBACK reason code 0x01",
            v5,
            Connected,
            Some(E::InvalidReasonCode(1)),
            m,
            |_| ack(0x40, 1, Some(0x01)),
        ),
        case(
            "5.0 PUBREC reason code 0x92",
            v5,
            Connected,
            Some(E::InvalidReasonCode(0x92)),
            m,
            |_| ack(0x50, 1, Some(0x92)),
        ),
        case(
            "5.0 PUBREL reason code 0x10",
            v5,
            Connected,
            Some(E::InvalidReasonCode(0x10)),
            m,
            |_| ack(0x62, 1, Some(0x10)),
        ),
        case(
            "5.0 PUBCOMP reason code 0x80",
            v5,
            Connected,
            Some(E::InvalidReasonCode(0x80)),
            m,
            |_| ack(0x70, 1, Some(0x80)),
        ),
        case(
            "5.0 DISCONNECT reason code 0x05",
            v5,
            Connected,
            Some(E::InvalidReasonCode(5)),
            m,
            |_| vec![0xE0, 0x01, 0x05],
        ),
        case(
            "5.0 AUTH reason code 0x01",
            v5,
            Connected,
            Some(E::InvalidReasonCode(1)),
            m,
            |_| vec![0xF0, 0x02, 0x01, 0x00],
        ),
        // -- CONNACK (3.2) --
        case(
            "CONNACK reserved flag bits",
            both,
            Connecting,
            Some(E::InvalidConnAckFlags),
            m,
            |v| connack(v, 0x02, 0, &[]),
        ),
        case(
            "CONNACK session present with a refusal",
            both,
            Connecting,
            Some(E::InvalidConnAckFlags),
            m,
            |v| connack(v, 0x01, if v == V5 { 0x87 } else { 5 }, &[]),
        ),
        case(
            "3.1.1 CONNACK return code 6",
            v311,
            Connecting,
            Some(E::InvalidReasonCode(6)),
            m,
            |v| connack(v, 0, 6, &[]),
        ),
        case(
            "5.0 CONNACK reason code 0x01",
            v5,
            Connecting,
            Some(E::InvalidReasonCode(1)),
            m,
            |v| connack(v, 0, 1, &[]),
        ),
        case(
            "5.0 CONNACK reason code 0x8B",
            v5,
            Connecting,
            Some(E::InvalidReasonCode(0x8B)),
            m,
            |v| connack(v, 0, 0x8B, &[]),
        ),
        case(
            "second CONNACK",
            both,
            Connected,
            Some(E::UnexpectedPacket(2)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[]),
        ),
        // -- 5.0 properties (2.2.2) --
        case(
            "5.0 unknown property id",
            v5,
            Connected,
            Some(E::InvalidPropertyId(0x00)),
            m,
            |v| publish(v, 0, b"a", None, &[0x00, 0x01]),
        ),
        case(
            "5.0 property id 0x7F",
            v5,
            Connected,
            Some(E::InvalidPropertyId(0x7F)),
            m,
            |v| publish(v, 0, b"a", None, &[0x7F, 0x01]),
        ),
        case(
            "5.0 session expiry in PUBLISH",
            v5,
            Connected,
            Some(E::PropertyNotAllowed(0x11)),
            m,
            |v| publish(v, 0, b"a", None, &[0x11, 0, 0, 0, 1]),
        ),
        case(
            "5.0 topic alias in CONNACK",
            v5,
            Connecting,
            Some(E::PropertyNotAllowed(0x23)),
            m,
            |v| connack(v, 0, 0, &[0x23, 0, 1]),
        ),
        case(
            "5.0 reason string in PUBLISH",
            v5,
            Connected,
            Some(E::PropertyNotAllowed(0x1F)),
            m,
            |v| publish(v, 0, b"a", None, &[0x1F, 0, 1, b'x']),
        ),
        case(
            "5.0 payload format indicator twice",
            v5,
            Connected,
            Some(E::DuplicateProperty(1)),
            PROTOCOL,
            |v| publish(v, 0, b"a", None, &[0x01, 0x01, 0x01, 0x00]),
        ),
        case(
            "5.0 receive maximum twice in CONNACK",
            v5,
            Connecting,
            Some(E::DuplicateProperty(0x21)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x21, 0, 5, 0x21, 0, 6]),
        ),
        case(
            "5.0 reason string twice",
            v5,
            Connected,
            Some(E::DuplicateProperty(0x1F)),
            PROTOCOL,
            |_| {
                vec![
                    0x40, 0x0C, 0x00, 0x01, 0x00, 0x08, 0x1F, 0x00, 0x01, b'x', 0x1F, 0x00, 0x01,
                    b'y',
                ]
            },
        ),
        case(
            "5.0 payload format indicator 2",
            v5,
            Connected,
            Some(E::InvalidPropertyValue(1)),
            m,
            |v| publish(v, 0, b"a", None, &[0x01, 0x02]),
        ),
        case(
            "5.0 response topic with a wildcard",
            v5,
            Connected,
            Some(E::InvalidPropertyValue(8)),
            m,
            |v| publish(v, 0, b"a", None, &[0x08, 0x00, 0x01, b'#']),
        ),
        case(
            "5.0 user property value past the end",
            v5,
            Connected,
            Some(E::Truncated),
            m,
            |v| {
                publish(
                    v,
                    0,
                    b"a",
                    None,
                    &[0x26, 0x00, 0x01, b'k', 0x00, 0x05, b'v'],
                )
            },
        ),
        // -- 5.0 topic aliases (3.3.2.3.4) --
        case(
            "5.0 topic alias 0",
            v5,
            Aliases,
            Some(E::InvalidTopicAlias),
            ALIAS,
            |v| publish(v, 0, b"a", None, &[0x23, 0, 0]),
        ),
        case(
            "5.0 topic alias above our maximum",
            v5,
            Aliases,
            Some(E::InvalidTopicAlias),
            ALIAS,
            |v| publish(v, 0, b"a", None, &[0x23, 0, 3]),
        ),
        case(
            "5.0 topic alias when we allow none",
            v5,
            Connected,
            Some(E::InvalidTopicAlias),
            ALIAS,
            |v| publish(v, 0, b"a", None, &[0x23, 0, 1]),
        ),
        case(
            "5.0 unknown topic alias with empty topic",
            v5,
            Aliases,
            Some(E::UnknownTopicAlias),
            PROTOCOL,
            |v| publish(v, 0, b"", None, &[0x23, 0, 2]),
        ),
        // -- sizes --
        case(
            "5.0 packet over our maximum packet size",
            v5,
            MaxPacket,
            Some(E::PacketTooLarge),
            TOO_LARGE,
            |v| publish(v, 0, &[b'x'; 200], None, &[]),
        ),
        case(
            "non-PUBLISH larger than the receive buffer",
            both,
            SmallRx,
            Some(E::PacketTooLarge),
            TOO_LARGE,
            |v| suback(v, 0x90, 1, &[0; 100]),
        ),
        // -- a PUBLISH larger than the receive buffer is checked as its head
        // arrives (it would be delivered in chunks) --
        case(
            "chunked PUBLISH with a wildcard topic",
            both,
            SmallRx,
            Some(E::InvalidTopic),
            m,
            |v| big_publish(v, 0b0010, b"big/#", Some(1), &[]),
        ),
        case(
            "chunked PUBLISH topic not UTF-8",
            both,
            SmallRx,
            Some(E::InvalidUtf8),
            m,
            |v| big_publish(v, 0, &[b'b', 0xFF], None, &[]),
        ),
        case(
            "chunked PUBLISH QoS 3",
            both,
            SmallRx,
            Some(E::InvalidQoS),
            m,
            |v| big_publish(v, 0b0110, b"big", Some(1), &[]),
        ),
        case(
            "chunked PUBLISH packet id 0",
            both,
            SmallRx,
            Some(E::PacketIdZero),
            m,
            |v| big_publish(v, 0b0100, b"big", Some(0), &[]),
        ),
        case(
            "5.0 chunked PUBLISH duplicate property",
            v5,
            SmallRx,
            Some(E::DuplicateProperty(2)),
            PROTOCOL,
            |v| big_publish(v, 0, b"big", None, &[0x02, 0, 0, 0, 1, 0x02, 0, 0, 0, 2]),
        ),
        case(
            "5.0 chunked PUBLISH topic alias when we allow none",
            v5,
            SmallRx,
            Some(E::InvalidTopicAlias),
            ALIAS,
            |v| big_publish(v, 0, b"big", None, &[0x23, 0, 1]),
        ),
        // -- packets a server must not send (3.1, 3.8, 3.10, 3.12) --
        case(
            "CONNECT from the server",
            both,
            Connected,
            Some(E::UnexpectedPacket(1)),
            PROTOCOL,
            |v| {
                encode(
                    v,
                    &Packet::Connect(Connect {
                        clean_start: true,
                        keep_alive: 10,
                        client_id: "evil",
                        will: None,
                        username: None,
                        password: None,
                        properties: Properties::default(),
                    }),
                )
            },
        ),
        case(
            "SUBSCRIBE from the server",
            both,
            Connected,
            Some(E::UnexpectedPacket(8)),
            PROTOCOL,
            |v| {
                let s = [Subscription {
                    filter: "a",
                    options: SubOptions::qos(QoS::AtMostOnce),
                }];
                encode(
                    v,
                    &Packet::Subscribe(Subscribe {
                        packet_id: 1,
                        properties: Properties::default(),
                        subscriptions: Subscriptions::List(&s),
                    }),
                )
            },
        ),
        case(
            "UNSUBSCRIBE from the server",
            both,
            Connected,
            Some(E::UnexpectedPacket(10)),
            PROTOCOL,
            |v| {
                encode(
                    v,
                    &Packet::Unsubscribe(Unsubscribe {
                        packet_id: 1,
                        properties: Properties::default(),
                        filters: TopicFilters::List(&["a"]),
                    }),
                )
            },
        ),
        case(
            "PINGREQ from the server",
            both,
            Connected,
            Some(E::UnexpectedPacket(12)),
            PROTOCOL,
            |_| vec![0xC0, 0x00],
        ),
        // -- order (3.1.4: CONNACK comes first) --
        case(
            "PUBLISH before CONNACK",
            both,
            Connecting,
            None,
            PROTOCOL,
            |v| publish(v, 0, b"a", None, &[]),
        ),
        case(
            "PUBACK before CONNACK",
            both,
            Connecting,
            None,
            PROTOCOL,
            |_| ack(0x40, 1, None),
        ),
        case(
            "PINGRESP before CONNACK",
            both,
            Connecting,
            None,
            PROTOCOL,
            |_| vec![0xD0, 0x00],
        ),
        case(
            "SUBACK before CONNACK",
            both,
            Connecting,
            None,
            PROTOCOL,
            |v| suback(v, 0x90, 1, &[0]),
        ),
    ]
}

/// Rows where the implementation's reason code (or reported error) differs
/// from what the 5.0 spec says. See `disputed_rows_follow_the_spec`.
fn disputed() -> Vec<Case> {
    let v5 = Some(V5);
    vec![
        // 3.2.2.3.3: "It is a Protocol Error to include the Receive Maximum
        // value more than once or for it to have the value 0."
        case(
            "5.0 CONNACK receive maximum 0",
            v5,
            Connecting,
            Some(E::InvalidPropertyValue(0x21)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x21, 0, 0]),
        ),
        // 3.2.2.3.4: Maximum QoS "other than 0 or 1" is a Protocol Error.
        case(
            "5.0 CONNACK maximum QoS 2",
            v5,
            Connecting,
            Some(E::InvalidPropertyValue(0x24)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x24, 2]),
        ),
        // 3.2.2.3.5: Retain Available other than 0 or 1: Protocol Error.
        case(
            "5.0 CONNACK retain available 2",
            v5,
            Connecting,
            Some(E::InvalidPropertyValue(0x25)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x25, 2]),
        ),
        // 3.2.2.3.6: Maximum Packet Size of zero: Protocol Error.
        case(
            "5.0 CONNACK maximum packet size 0",
            v5,
            Connecting,
            Some(E::InvalidPropertyValue(0x27)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x27, 0, 0, 0, 0]),
        ),
        // 3.2.2.3.11: Wildcard Subscription Available other than 0/1: Protocol Error.
        case(
            "5.0 CONNACK wildcard available 2",
            v5,
            Connecting,
            Some(E::InvalidPropertyValue(0x28)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x28, 2]),
        ),
        // 3.3.2.3.8: "It is a Protocol Error if the Subscription Identifier has a value of 0."
        case(
            "5.0 PUBLISH subscription identifier 0",
            v5,
            Connected,
            Some(E::InvalidPropertyValue(0x0B)),
            PROTOCOL,
            |v| publish(v, 0, b"a", None, &[0x0B, 0x00]),
        ),
        // 3.2.2.3.18: "It is a Protocol Error to include Authentication Data
        // if there is no Authentication Method."
        case(
            "5.0 CONNACK authentication data without method",
            v5,
            Connecting,
            Some(E::PropertyNotAllowed(0x16)),
            PROTOCOL,
            |v| connack(v, 0, 0, &[0x16, 0, 1, 9]),
        ),
        // 3.2.2.2 [MQTT-3.2.2-5]: session present with no session is a
        // protocol violation (the client closes).
        case(
            "session present after a clean session request",
            None,
            ConnectingClean,
            Some(E::UnexpectedSessionPresent),
            PROTOCOL,
            |v| connack(v, 1, 0, &[]),
        ),
        // A PUBLISH before CONNACK is reported as UnexpectedPacket(2) (the
        // type that was expected), so its text reads "packet a server must
        // not send (0x02)": CONNACK, which a server must send. The packet
        // that came was a PUBLISH (3).
        case(
            "PUBLISH before CONNACK names PUBLISH",
            None,
            Connecting,
            Some(E::UnexpectedPacket(3)),
            PROTOCOL,
            |v| publish(v, 0, b"a", None, &[]),
        ),
    ]
}

fn setup_pair(setup: Setup, v: Version) -> Pair {
    let kept = Config {
        clean_init: false,
        clean: false,
        ..config(v)
    };
    let mut p = match setup {
        Connected | Connecting => Pair::new(kept),
        ConnectingClean => Pair::new(config(v)),
        Aliases => Pair::with(
            Config {
                topic_alias_maximum: 2,
                ..kept
            },
            Sizes {
                aliases: 128,
                ..Sizes::default()
            },
            0,
        ),
        MaxPacket => Pair::new(Config {
            maximum_packet_size: 128,
            ..kept
        }),
        SmallRx => Pair::with(
            kept,
            Sizes {
                rx: 64,
                ..Sizes::default()
            },
            0,
        ),
    };
    if matches!(setup, Connecting | ConnectingClean) {
        p.broker.replies.connack = Reply::Hold;
        p.connect();
        assert_eq!(p.state(), State::Connecting);
    } else {
        p.connect_ok();
    }
    p
}

/// Run one row in one version; `Err` describes the first mismatch.
fn run(c: &Case, v: Version) -> Result<(), String> {
    run_split(c, v, usize::MAX)
}

/// Run one row with the bytes arriving `segment` at a time.
fn run_split(c: &Case, v: Version, segment: usize) -> Result<(), String> {
    let ctx = format!("{v:?} {} (segments of {segment})", c.name);
    let mut p = setup_pair(c.setup, v);
    p.segment = segment;
    // A QoS 1 and a QoS 2 publication awaiting acknowledgement.
    p.broker.replies.puback = Reply::Drop;
    p.broker.replies.pubrec = Reply::Drop;
    let q1 = p.publish("keep/1", b"one", QoS::AtLeastOnce).unwrap();
    let q2 = p.publish("keep/2", b"two", QoS::ExactlyOnce).unwrap();
    p.pump();
    let bytes = (c.bytes)(v);
    p.broker.inject(&bytes);
    p.pump();

    let lost = p.lost();
    let [(_, reason)] = lost[..] else {
        return Err(format!("{ctx}: expected one ConnectionLost, got {lost:?}"));
    };
    let LostReason::Protocol(err) = reason else {
        return Err(format!("{ctx}: {reason:?} is not a protocol error"));
    };
    if let Some(want) = c.want {
        if err != want {
            return Err(format!("{ctx}: reported {err:?}, the rule is {want:?}"));
        }
    }
    let text = reason.to_string();
    if !text.contains(err.description()) {
        return Err(format!("{ctx}: Display {text:?} does not name the error"));
    }
    if p.state() != State::Disconnected || p.link_up {
        return Err(format!(
            "{ctx}: still {:?}, link up {}",
            p.state(),
            p.link_up
        ));
    }
    let disconnects: Vec<u8> = p
        .broker
        .up()
        .filter_map(|r| match r.pkt {
            Pkt::Disconnect { reason, .. } => Some(reason),
            _ => None,
        })
        .collect();
    let want_disconnects = if v == V5 { vec![c.code] } else { vec![] };
    if disconnects != want_disconnects {
        return Err(format!(
            "{ctx}: DISCONNECT reason codes sent {disconnects:02x?}, the spec wants {want_disconnects:02x?}"
        ));
    }
    if p.client.pending_publications() != 2 {
        return Err(format!(
            "{ctx}: {} stored publications left of 2",
            p.client.pending_publications()
        ));
    }

    // The next connection sends both again and completes them.
    p.broker.replies = Default::default();
    p.connect_ok();
    p.pump();
    let mut again: Vec<u16> = p
        .broker
        .up_publishes()
        .iter()
        .filter(|(r, _)| r.conn == 2)
        .filter_map(|(_, pp)| pp.id)
        .collect();
    again.sort_unstable();
    if again != vec![q1, q2] {
        return Err(format!(
            "{ctx}: sent again on the next connection: {again:?}"
        ));
    }
    let mut done = p.published();
    done.sort_unstable();
    if done != vec![(q1, 0), (q2, 0)] {
        return Err(format!("{ctx}: Published events {done:?}"));
    }
    if p.client.pending_publications() != 0 {
        return Err(format!("{ctx}: store not empty at the end"));
    }
    Ok(())
}

fn run_table(table: &[Case]) -> (usize, Vec<String>) {
    let mut ran = 0;
    let mut failures = Vec::new();
    for c in table {
        for v in VERSIONS {
            if c.only.is_some_and(|o| o != v) {
                continue;
            }
            for segment in [usize::MAX, 1] {
                ran += 1;
                if let Err(e) = run_split(c, v, segment) {
                    failures.push(e);
                }
            }
        }
    }
    (ran, failures)
}

#[test]
fn every_malformed_packet_ends_the_connection_with_the_right_reason() {
    let table = cases();
    let (ran, failures) = run_table(&table);
    assert!(ran >= 200, "only {ran} rows ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The rows where the 5.0 spec says "Protocol Error" (0x82) for a property
/// value or a session rule, not "Malformed Packet" (0x81), and a packet
/// before CONNACK reported with the type that came.
#[test]
fn disputed_rows_follow_the_spec() {
    let (ran, failures) = run_table(&disputed());
    assert!(
        failures.is_empty(),
        "{} of {ran} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The disputed rows still close the connection, send a DISCONNECT and keep
/// the store; only the code (or error value) is in question.
#[test]
fn disputed_rows_still_close_and_keep_the_store() {
    let mut table = disputed();
    for c in &mut table {
        c.want = None;
        c.code = 0;
    }
    for c in &table {
        for v in VERSIONS {
            if c.only.is_some_and(|o| o != v) {
                continue;
            }
            match run(c, v) {
                Ok(()) => {}
                // Only a different DISCONNECT reason code is tolerated here.
                Err(e) if v == V5 && e.contains("DISCONNECT reason codes sent") => {}
                Err(e) if v == V311 => panic!("{e}"),
                Err(e) => panic!("{e}"),
            }
        }
    }
}

/// 5.0 [MQTT-3.3.4-9]: more unacknowledged QoS 2 messages than the client
/// can track: it withholds the excess, and once the tracked ones are
/// released it closes with DISCONNECT 0x93 (receive maximum exceeded), so
/// the broker sends the withheld ones again. None is delivered twice and
/// none is lost; stored publications stay.
#[test]
fn receive_maximum_exceeded() {
    const IDS: usize = 64;
    for v in VERSIONS {
        let mut p = Pair::with(
            Config {
                clean_init: false,
                clean: false,
                ..config(v)
            },
            Sizes {
                qos2: IDS,
                ..Sizes::default()
            },
            0,
        );
        p.connect_ok();
        // The injected messages are not the broker sim's own.
        p.broker.strict = false;
        p.broker.replies.puback = Reply::Drop;
        let q1 = p.publish("keep/1", b"one", QoS::AtLeastOnce).unwrap();
        p.pump();
        let n = IDS as u16 + 1;
        for id in 1..=n {
            p.broker
                .inject(&publish(v, 0b0100, b"in/qos2", Some(id), &[]));
        }
        p.pump();
        let delivered: Vec<u16> = p.messages().iter().map(|m| m.packet_id).collect();
        assert_eq!(delivered, (1..n).collect::<Vec<_>>(), "{v:?}");
        assert!(p.lost().is_empty(), "{v:?}: {:?}", p.lost());
        for id in 1..n {
            p.broker.inject(&ack(0x62, id, None));
        }
        p.pump();
        assert_eq!(
            p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
            vec![LostReason::ReceiveMaximumExceeded],
            "{v:?}"
        );
        let disconnects: Vec<u8> = p
            .broker
            .up()
            .filter_map(|r| match r.pkt {
                Pkt::Disconnect { reason, .. } => Some(reason),
                _ => None,
            })
            .collect();
        assert_eq!(
            disconnects,
            if v == V5 { vec![0x93] } else { vec![] },
            "{v:?}"
        );
        // The withheld one was neither delivered nor acknowledged.
        let recs: Vec<u16> = p
            .broker
            .up()
            .filter_map(|r| match r.pkt {
                Pkt::PubRec { id, .. } => Some(id),
                _ => None,
            })
            .collect();
        assert!(!recs.contains(&n), "{v:?}: PUBREC for the withheld {n}");
        assert_eq!(p.client.pending_publications(), 1, "{v:?}");
        p.broker.replies = Default::default();
        p.connect_ok();
        p.pump();
        assert_eq!(p.published(), vec![(q1, 0)], "{v:?}");
    }
}

/// 5.0 section 4.12: "If the Client does not include an Authentication
/// Method in the CONNECT, the Server MUST NOT send an AUTH packet". A
/// client that enforces it closes with a protocol error (0x82); the
/// session instead hands the AUTH to the application as `Event::Auth` and
/// stays connected. Reported to the lead.
#[test]
fn auth_without_an_authentication_method_is_a_protocol_error() {
    let c = case(
        "5.0 AUTH without an authentication method in CONNECT",
        Some(V5),
        Connected,
        Some(E::UnexpectedPacket(15)),
        PROTOCOL,
        |_| vec![0xF0, 0x02, 0x18, 0x00],
    );
    run(&c, V5).unwrap();
}
