//! Control packets: fixed header, the packet types, decode and encode.

use super::{DecodeError, EncodeError, Properties, QoS, ReasonCode, Version};

/// Control packet type (high nibble of the first byte).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum PacketType {
    Connect = 1,
    ConnAck = 2,
    Publish = 3,
    PubAck = 4,
    PubRec = 5,
    PubRel = 6,
    PubComp = 7,
    Subscribe = 8,
    SubAck = 9,
    Unsubscribe = 10,
    UnsubAck = 11,
    PingReq = 12,
    PingResp = 13,
    Disconnect = 14,
    Auth = 15,
}

/// The fixed header of a packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FixedHeader {
    /// Packet type.
    pub kind: PacketType,
    /// Low nibble of the first byte.
    pub flags: u8,
    /// Remaining length: bytes after the fixed header.
    pub remaining_len: u32,
    /// Bytes of the fixed header itself (2 to 5).
    pub header_len: usize,
}

/// Last will, sent in CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Will<'a> {
    /// Will topic.
    pub topic: &'a str,
    /// Will payload.
    pub payload: &'a [u8],
    /// Will QoS.
    pub qos: QoS,
    /// Will retain flag.
    pub retain: bool,
    /// Will properties (5.0).
    pub properties: Properties<'a>,
}

/// CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Connect<'a> {
    /// Clean session (3.1.1) / clean start (5.0).
    pub clean_start: bool,
    /// Keep alive in seconds, 0 for none.
    pub keep_alive: u16,
    /// Client identifier, may be empty.
    pub client_id: &'a str,
    /// Last will.
    pub will: Option<Will<'a>>,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
    /// CONNECT properties (5.0).
    pub properties: Properties<'a>,
}

/// CONNACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConnAck<'a> {
    /// Session present flag.
    pub session_present: bool,
    /// 3.1.1 return code or 5.0 reason code.
    pub code: ReasonCode,
    /// CONNACK properties (5.0).
    pub properties: Properties<'a>,
}

/// PUBLISH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Publish<'a> {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name (empty in 5.0 when a topic alias stands for it).
    pub topic: &'a str,
    /// Packet identifier, present exactly when QoS > 0.
    pub packet_id: Option<u16>,
    /// PUBLISH properties (5.0).
    pub properties: Properties<'a>,
    /// Application message.
    pub payload: &'a [u8],
}

/// The head of a PUBLISH: everything but the payload. Used to deliver a
/// message larger than the receive buffer in chunks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishHead<'a> {
    /// DUP flag.
    pub dup: bool,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// Topic name (may be empty in 5.0 with a topic alias).
    pub topic: &'a str,
    /// Packet identifier, present exactly when QoS > 0.
    pub packet_id: Option<u16>,
    /// PUBLISH properties (5.0).
    pub properties: Properties<'a>,
    /// Bytes of payload that follow the head.
    pub payload_len: u32,
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (which one is given by [`Packet`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ack<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Reason code (5.0; always success in 3.1.1).
    pub reason: ReasonCode,
    /// Properties (5.0).
    pub properties: Properties<'a>,
}

/// Subscription options (5.0 section 3.8.3.1; 3.1.1 uses only the QoS).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No local (5.0).
    pub no_local: bool,
    /// Retain as published (5.0).
    pub retain_as_published: bool,
    /// Retain handling 0, 1 or 2 (5.0).
    pub retain_handling: u8,
}

impl SubOptions {
    /// Options with the given QoS and every 5.0 option at its default.
    pub const fn qos(qos: QoS) -> Self {
        SubOptions { qos, no_local: false, retain_as_published: false, retain_handling: 0 }
    }
}

/// One topic filter with its options.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscription<'a> {
    /// Topic filter.
    pub filter: &'a str,
    /// Options.
    pub options: SubOptions,
}

/// The topic filters of a SUBSCRIBE.
#[derive(Clone, Copy, Debug)]
pub enum Subscriptions<'a> {
    /// Validated wire bytes.
    Raw(&'a [u8]),
    /// Given by the application.
    List(&'a [Subscription<'a>]),
}

/// The topic filters of an UNSUBSCRIBE.
#[derive(Clone, Copy, Debug)]
pub enum TopicFilters<'a> {
    /// Validated wire bytes.
    Raw(&'a [u8]),
    /// Given by the application.
    List(&'a [&'a str]),
}

/// SUBSCRIBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Subscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Properties (5.0).
    pub properties: Properties<'a>,
    /// Topic filters and options.
    pub subscriptions: Subscriptions<'a>,
}

/// SUBACK or UNSUBACK.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SubAck<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Properties (5.0).
    pub properties: Properties<'a>,
    /// One reason code per filter (empty for a 3.1.1 UNSUBACK).
    pub codes: &'a [u8],
}

/// UNSUBSCRIBE.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsubscribe<'a> {
    /// Packet identifier.
    pub packet_id: u16,
    /// Properties (5.0).
    pub properties: Properties<'a>,
    /// Topic filters.
    pub filters: TopicFilters<'a>,
}

/// DISCONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Disconnect<'a> {
    /// Reason code (5.0).
    pub reason: ReasonCode,
    /// Properties (5.0).
    pub properties: Properties<'a>,
}

/// AUTH (5.0 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Auth<'a> {
    /// Reason code.
    pub reason: ReasonCode,
    /// Properties.
    pub properties: Properties<'a>,
}

/// Any control packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Packet<'a> {
    Connect(Connect<'a>),
    ConnAck(ConnAck<'a>),
    Publish(Publish<'a>),
    PubAck(Ack<'a>),
    PubRec(Ack<'a>),
    PubRel(Ack<'a>),
    PubComp(Ack<'a>),
    Subscribe(Subscribe<'a>),
    SubAck(SubAck<'a>),
    Unsubscribe(Unsubscribe<'a>),
    UnsubAck(SubAck<'a>),
    PingReq,
    PingResp,
    Disconnect(Disconnect<'a>),
    Auth(Auth<'a>),
}

// ---- entry points (contract for the implementation) ----

/// Decode the fixed header at the start of `buf`.
///
/// `Ok(None)`: more bytes are needed. Checks the packet type and the flags
/// the spec fixes for each type (PUBLISH flags are checked by the decoder of
/// PUBLISH: QoS 3 and DUP on QoS 0).
pub fn decode_fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let _ = buf;
    todo!()
}

/// Decode one whole packet at the start of `buf`.
///
/// `Ok(None)`: `buf` does not hold the whole packet yet. Otherwise the packet,
/// borrowing from `buf`, and the number of bytes it took.
pub fn decode(buf: &[u8], version: Version) -> Result<Option<(Packet<'_>, usize)>, DecodeError> {
    let _ = (buf, version);
    todo!()
}

/// Decode the head of a PUBLISH (topic, packet id, properties) from `body`,
/// the bytes after its fixed header that have arrived so far.
///
/// `Ok(None)`: the head is not complete yet. Otherwise the head and the bytes
/// of `body` it took; `payload_len` bytes of payload follow.
pub fn decode_publish_head<'a>(
    header: &FixedHeader,
    body: &'a [u8],
    version: Version,
) -> Result<Option<(PublishHead<'a>, usize)>, DecodeError> {
    let _ = (header, body, version);
    todo!()
}

impl Packet<'_> {
    /// Bytes the packet takes on the wire.
    pub fn encoded_len(&self, version: Version) -> Result<usize, EncodeError> {
        let _ = version;
        todo!()
    }

    /// Encode into `out`, returning the bytes written.
    pub fn encode(&self, version: Version, out: &mut [u8]) -> Result<usize, EncodeError> {
        let _ = (version, out);
        todo!()
    }
}

impl<'a> Subscriptions<'a> {
    /// Iterate over the subscriptions in order.
    pub fn iter(&self) -> impl Iterator<Item = Subscription<'a>> + 'a {
        todo!();
        #[allow(unreachable_code)]
        core::iter::empty()
    }
}

impl PartialEq for Subscriptions<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Subscriptions<'_> {}

impl<'a> TopicFilters<'a> {
    /// Iterate over the filters in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + 'a {
        todo!();
        #[allow(unreachable_code)]
        core::iter::empty()
    }
}

impl PartialEq for TopicFilters<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for TopicFilters<'_> {}
