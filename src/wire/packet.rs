//! Control packets: fixed header, the packet types, decode and encode.

use super::rw::Reader;
use super::{
    decode as de, encode as en, DecodeError, EncodeError, Properties, QoS, ReasonCode, Version,
};

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

impl PacketType {
    /// The packet type for the high nibble of a first byte; `None` for 0
    /// and above 15.
    pub fn from_u8(v: u8) -> Option<PacketType> {
        use PacketType::*;
        Some(match v {
            1 => Connect,
            2 => ConnAck,
            3 => Publish,
            4 => PubAck,
            5 => PubRec,
            6 => PubRel,
            7 => PubComp,
            8 => Subscribe,
            9 => SubAck,
            10 => Unsubscribe,
            11 => UnsubAck,
            12 => PingReq,
            13 => PingResp,
            14 => Disconnect,
            15 => Auth,
            _ => return None,
        })
    }

    /// The flags the spec fixes for this type (MQTT-2.2.2-1): 0b0010 for
    /// PUBREL, SUBSCRIBE and UNSUBSCRIBE, 0 for the others but PUBLISH,
    /// whose flags are its own (see [`PublishFlags`]).
    pub const fn fixed_flags(self) -> u8 {
        match self {
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => 0b0010,
            _ => 0,
        }
    }

    /// The first byte of a packet of this type with these flags.
    pub const fn first_byte(self, flags: u8) -> u8 {
        (self as u8) << 4 | flags
    }
}

/// The flags of a PUBLISH (low nibble of its first byte): DUP, QoS and
/// RETAIN, read and written by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishFlags(pub u8);

impl PublishFlags {
    /// DUP: the packet has been sent before.
    pub const DUP: u8 = 0b1000;
    /// RETAIN.
    pub const RETAIN: u8 = 0b0001;
    /// Where the two QoS bits sit.
    const QOS_SHIFT: u8 = 1;

    /// The flags of a PUBLISH with these fields.
    pub const fn new(dup: bool, qos: QoS, retain: bool) -> Self {
        PublishFlags(
            (if dup { Self::DUP } else { 0 })
                | (qos as u8) << Self::QOS_SHIFT
                | (if retain { Self::RETAIN } else { 0 }),
        )
    }

    /// The flags in the first byte of an encoded PUBLISH.
    pub const fn of_first_byte(first: u8) -> Self {
        PublishFlags(first & 0x0f)
    }

    /// DUP.
    pub const fn dup(self) -> bool {
        self.0 & Self::DUP != 0
    }

    /// The QoS; `None` for the invalid value 3.
    pub fn qos(self) -> Option<QoS> {
        QoS::from_u8((self.0 >> Self::QOS_SHIFT) & 3)
    }

    /// RETAIN.
    pub const fn retain(self) -> bool {
        self.0 & Self::RETAIN != 0
    }

    /// Set or clear DUP in the first byte of an encoded PUBLISH.
    pub fn set_dup(first: &mut u8, dup: bool) {
        if dup {
            *first |= Self::DUP;
        } else {
            *first &= !Self::DUP;
        }
    }
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

impl FixedHeader {
    /// The QoS of a PUBLISH (`None` for another packet, and for the
    /// invalid QoS 3, which its decoder refuses).
    pub fn publish_qos(&self) -> Option<QoS> {
        match self.kind {
            PacketType::Publish => PublishFlags(self.flags).qos(),
            _ => None,
        }
    }
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
        SubOptions {
            qos,
            no_local: false,
            retain_as_published: false,
            retain_handling: 0,
        }
    }

    /// The options byte (5.0 layout; in 3.1.1 only the QoS bits are used).
    pub fn to_byte(&self) -> u8 {
        self.qos as u8
            | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | (self.retain_handling & 3) << 4
    }

    /// Options from a byte; `None` for QoS 3, retain handling 3 or a
    /// reserved bit set.
    pub fn from_byte(b: u8) -> Option<SubOptions> {
        let retain_handling = (b >> 4) & 3;
        if b & 0xc0 != 0 || retain_handling == 3 {
            return None;
        }
        Some(SubOptions {
            qos: QoS::from_u8(b & 3)?,
            no_local: b & 0x04 != 0,
            retain_as_published: b & 0x08 != 0,
            retain_handling,
        })
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
    de::fixed_header(buf)
}

/// Decode one whole packet at the start of `buf`.
///
/// `Ok(None)`: `buf` does not hold the whole packet yet. Otherwise the packet,
/// borrowing from `buf`, and the number of bytes it took.
///
/// Every packet type decodes (CONNECT, SUBSCRIBE, ... too, so that what
/// [`Packet::encode`] writes reads back), with each malformed-packet rule of
/// the version checked; an error is returned as soon as the bytes so far are
/// certainly wrong. Rules that need session state are the caller's: which
/// packets a server may send, a topic alias above the maximum we announced,
/// a packet above our maximum packet size (see [`decode_fixed_header`]).
pub fn decode(buf: &[u8], version: Version) -> Result<Option<(Packet<'_>, usize)>, DecodeError> {
    de::packet::<true>(buf, version)
}

/// [`decode`] for a client: only the packets a server sends. CONNECT,
/// SUBSCRIBE, UNSUBSCRIBE and PINGREQ are
/// [`DecodeError::UnexpectedPacket`] as soon as their fixed header is
/// complete, so a client's firmware carries no parser for them.
pub fn decode_from_server(
    buf: &[u8],
    version: Version,
) -> Result<Option<(Packet<'_>, usize)>, DecodeError> {
    de::packet::<false>(buf, version)
}

/// [`decode_from_server`] of a whole packet whose fixed header the caller
/// has decoded (with [`decode_fixed_header`]) and `body`, the
/// `header.remaining_len` bytes after it.
pub(crate) fn decode_body_from_server<'a>(
    header: &FixedHeader,
    body: &'a [u8],
    version: Version,
) -> Result<Packet<'a>, DecodeError> {
    de::body_from_server(header, body, version)
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
    de::publish_head_partial(header, body, version)
}

impl Packet<'_> {
    /// Bytes the packet takes on the wire. Validates the packet as
    /// [`Packet::encode`] does.
    pub fn encoded_len(&self, version: Version) -> Result<usize, EncodeError> {
        en::encoded_len::<true>(self, version)
    }

    /// Encode into `out`, returning the bytes written.
    ///
    /// Validates what the application gave (topics, string lengths,
    /// properties for this packet and version, packet ids, reason codes)
    /// and writes nothing when it fails or when `out` is shorter than the
    /// packet. 5.0 acknowledgements, DISCONNECT and AUTH take their shortest
    /// form (reason code and properties left out when success and empty).
    /// DUP is written as 0 on a QoS 0 PUBLISH, as the spec requires.
    pub fn encode(&self, version: Version, out: &mut [u8]) -> Result<usize, EncodeError> {
        en::encode::<true>(self, version, out, 0)
    }

    /// [`Packet::encode`] for the packets a client sends: CONNACK, SUBACK,
    /// UNSUBACK and PINGRESP are refused ([`EncodeError::NotInVersion`]),
    /// so the session's firmware carries no writer for them.
    ///
    /// `extra` bytes of payload follow what is written: counted in the
    /// remaining length, written by whoever holds them (a PUBLISH with
    /// an empty `payload` whose payload the application lends; 0
    /// otherwise). The length returned, or needed, is what is written here.
    pub(crate) fn encode_from_client(
        &self,
        version: Version,
        out: &mut [u8],
        extra: usize,
    ) -> Result<usize, EncodeError> {
        en::encode::<false>(self, version, out, extra)
    }

    /// The packet type.
    pub fn kind(&self) -> PacketType {
        match self {
            Packet::Connect(_) => PacketType::Connect,
            Packet::ConnAck(_) => PacketType::ConnAck,
            Packet::Publish(_) => PacketType::Publish,
            Packet::PubAck(_) => PacketType::PubAck,
            Packet::PubRec(_) => PacketType::PubRec,
            Packet::PubRel(_) => PacketType::PubRel,
            Packet::PubComp(_) => PacketType::PubComp,
            Packet::Subscribe(_) => PacketType::Subscribe,
            Packet::SubAck(_) => PacketType::SubAck,
            Packet::Unsubscribe(_) => PacketType::Unsubscribe,
            Packet::UnsubAck(_) => PacketType::UnsubAck,
            Packet::PingReq => PacketType::PingReq,
            Packet::PingResp => PacketType::PingResp,
            Packet::Disconnect(_) => PacketType::Disconnect,
            Packet::Auth(_) => PacketType::Auth,
        }
    }
}

impl<'a> Subscriptions<'a> {
    /// Iterate over the subscriptions in order.
    pub fn iter(&self) -> impl Iterator<Item = Subscription<'a>> + 'a {
        let (mut raw, mut list) = match *self {
            Subscriptions::Raw(b) => (b, [].iter()),
            Subscriptions::List(l) => (&[][..], l.iter()),
        };
        core::iter::from_fn(move || {
            if let Some(s) = list.next() {
                return Some(*s);
            }
            // Raw bytes were validated when decoded; anything that does not
            // parse ends the iteration.
            let mut r = Reader::new(raw);
            let filter = r.str().ok()?;
            let options = SubOptions::from_byte(r.u8().ok()?)?;
            raw = r.buf;
            Some(Subscription { filter, options })
        })
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
        let (mut raw, mut list) = match *self {
            TopicFilters::Raw(b) => (b, [].iter()),
            TopicFilters::List(l) => (&[][..], l.iter()),
        };
        core::iter::from_fn(move || {
            if let Some(s) = list.next() {
                return Some(*s);
            }
            let mut r = Reader::new(raw);
            let filter = r.str().ok()?;
            raw = r.buf;
            Some(filter)
        })
    }
}

impl PartialEq for TopicFilters<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for TopicFilters<'_> {}
