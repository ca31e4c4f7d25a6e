//! Events as a flat C struct of borrowed pointers, and their text.

use core::ffi::c_char;
use core::ptr::{self, addr_of};

use super::property;
use crate::session::{Awaited, Event, LostReason};
use crate::text::Sink;
use crate::wire::{DecodeError, ReasonCode};

/// What a `mqttas_event` reports. The numbers are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_event_kind {
    /// No event is pending.
    MQTTAS_EVENT_NONE = 0,
    /// CONNACK accepted the connection: `session_present`, `properties`.
    MQTTAS_EVENT_CONNECTED = 1,
    /// A whole inbound message: `topic`, `payload`, `qos`, `retain`, `dup`,
    /// `packet_id`, `properties`.
    MQTTAS_EVENT_MESSAGE = 2,
    /// The start of an inbound message larger than the receive buffer:
    /// `topic`, `total_len`, `qos`, `retain`, `dup`, `packet_id`,
    /// `properties`; `MESSAGE_CHUNK`s follow, then `MESSAGE_END`.
    MQTTAS_EVENT_MESSAGE_START = 3,
    /// The next piece of a chunked message: `payload`.
    MQTTAS_EVENT_MESSAGE_CHUNK = 4,
    /// The last chunk has been delivered.
    MQTTAS_EVENT_MESSAGE_END = 5,
    /// An outbound QoS 1/2 message is complete (or refused by a 5.0 broker
    /// when `reason` >= 0x80): `packet_id`, `reason`.
    MQTTAS_EVENT_PUBLISHED = 6,
    /// SUBACK: `packet_id`, `codes` (granted QoS or reason code per filter),
    /// `properties`.
    MQTTAS_EVENT_SUBSCRIBED = 7,
    /// UNSUBACK: `packet_id`, `codes` (5.0; empty in 3.1.1), `properties`.
    MQTTAS_EVENT_UNSUBSCRIBED = 8,
    /// AUTH from the broker (5.0): `reason`, `properties`.
    MQTTAS_EVENT_AUTH = 9,
    /// The connection is lost: close the link, then reconnect. `lost` says
    /// why, with `reason`, `version`, `awaited`, `protocol_error`,
    /// `protocol_detail`; `mqttas_event_describe` gives a sentence. Stored
    /// QoS 1/2 messages are sent again on the next connection.
    MQTTAS_EVENT_CONNECTION_LOST = 10,
    /// Our DISCONNECT has been handed to `mqttas_poll_transmit`: send it,
    /// then close the link.
    MQTTAS_EVENT_DISCONNECTED = 11,
    /// An inbound message above `config.maximum_packet_size` from a 3.1.1
    /// broker (which cannot be told the limit) was skipped: not delivered,
    /// its bytes dropped, acknowledged so that it is not sent again.
    /// `topic`, `total_len` (bytes of the whole PUBLISH), `limit`, `qos`,
    /// `packet_id`. (A 5.0 broker is told the limit; a larger packet is a
    /// protocol error, DISCONNECT 0x95.)
    MQTTAS_EVENT_MESSAGE_SKIPPED = 12,
    /// The payload lent to `mqttas_publish_borrowed` for the QoS 2
    /// publication `packet_id` is the caller's again: PUBREC came, the
    /// broker has the message and its PUBLISH is never sent again. Given
    /// once no other event is waiting; `MQTTAS_EVENT_PUBLISHED` still
    /// follows (after PUBCOMP), and comes alone when PUBCOMP came first.
    /// Only for lent payloads; a caller may ignore it and keep the payload
    /// until `MQTTAS_EVENT_PUBLISHED`.
    MQTTAS_EVENT_PAYLOAD_RETURNED = 13,
}

/// Why the connection was lost (`mqttas_event.lost`). The numbers are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_lost_reason {
    /// Not a `MQTTAS_EVENT_CONNECTION_LOST` event.
    MQTTAS_LOST_NONE = 0,
    /// The caller reported the link down (`mqttas_handle_link_down`).
    MQTTAS_LOST_LINK_DOWN = 1,
    /// The broker refused the connection: CONNACK code in `reason`, its
    /// meaning depends on `version`; a 5.0 CONNACK's properties (reason
    /// string 0x1F, server reference 0x1C) are in `properties`, and
    /// `mqttas_event_describe` quotes them.
    MQTTAS_LOST_REFUSED = 2,
    /// No reply within `response_time_ms`: `awaited` says which.
    MQTTAS_LOST_TIMEOUT = 3,
    /// The broker broke the protocol: `protocol_error`, `protocol_detail`;
    /// `reason` is the 5.0 reason code of the DISCONNECT we queued.
    MQTTAS_LOST_PROTOCOL = 4,
    /// The broker sent more unreleased QoS 2 messages than the client
    /// tracks (`mqttas_buffers.inbound_qos2`) on a session it keeps: the
    /// excess was neither delivered nor acknowledged, and the client closed
    /// the connection on purpose (5.0: DISCONNECT 0x93) so the broker sends
    /// it again. Reconnect at once (`MQTTAS_RECONNECT_CAUSE_PLANNED`);
    /// nothing is lost. (On a session that ends with the connection the
    /// excess is delivered untracked instead, see `mqttas_qos2_stats`.)
    MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED = 5,
    /// The broker sent DISCONNECT (5.0) with the reason code in `reason`;
    /// its properties (reason string 0x1F, server reference 0x1C, user
    /// properties) are in `properties`, and `mqttas_event_describe` quotes
    /// its reason string and server reference.
    MQTTAS_LOST_SERVER_DISCONNECT = 6,
    /// The inbound topic alias table has no room for a new alias: give a
    /// larger alias buffer or a lower `topic_alias_maximum`.
    MQTTAS_LOST_ALIAS_TABLE_FULL = 7,
    /// A reason this version of the C API has no code for.
    MQTTAS_LOST_OTHER = 255,
}

/// The reply that did not come in time (`mqttas_event.awaited`).
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_awaited {
    /// Not a timeout.
    MQTTAS_AWAITED_NONE = 0,
    /// CONNACK.
    MQTTAS_AWAITED_CONNACK = 1,
    /// PINGRESP.
    MQTTAS_AWAITED_PINGRESP = 2,
    /// PUBACK.
    MQTTAS_AWAITED_PUBACK = 3,
    /// PUBREC.
    MQTTAS_AWAITED_PUBREC = 4,
    /// PUBCOMP.
    MQTTAS_AWAITED_PUBCOMP = 5,
    /// SUBACK.
    MQTTAS_AWAITED_SUBACK = 6,
    /// UNSUBACK.
    MQTTAS_AWAITED_UNSUBACK = 7,
}

/// Which protocol rule the broker broke (`mqttas_event.protocol_error`).
/// The numbers are fixed. Where the rule concerns a value (a packet type,
/// a reason code, a property identifier), `protocol_detail` holds it.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_protocol_error {
    /// Not a protocol error.
    MQTTAS_PROTOCOL_NONE = 0,
    /// Malformed variable byte integer.
    MQTTAS_PROTOCOL_MALFORMED_VARINT = 1,
    /// Invalid packet type (detail: the type).
    MQTTAS_PROTOCOL_INVALID_PACKET_TYPE = 2,
    /// Invalid fixed header flags.
    MQTTAS_PROTOCOL_INVALID_FLAGS = 3,
    /// A field runs past the end of the packet.
    MQTTAS_PROTOCOL_TRUNCATED = 4,
    /// Bytes left over after the last field.
    MQTTAS_PROTOCOL_TRAILING_BYTES = 5,
    /// A string is not valid UTF-8 or holds U+0000.
    MQTTAS_PROTOCOL_INVALID_UTF8 = 6,
    /// Invalid QoS.
    MQTTAS_PROTOCOL_INVALID_QOS = 7,
    /// DUP set on a QoS 0 PUBLISH.
    MQTTAS_PROTOCOL_DUP_ON_QOS0 = 8,
    /// Packet identifier 0.
    MQTTAS_PROTOCOL_PACKET_ID_ZERO = 9,
    /// Invalid topic name.
    MQTTAS_PROTOCOL_INVALID_TOPIC = 10,
    /// Invalid CONNACK flags.
    MQTTAS_PROTOCOL_INVALID_CONNACK_FLAGS = 11,
    /// Reason code not allowed in the packet (detail: the code).
    MQTTAS_PROTOCOL_INVALID_REASON_CODE = 12,
    /// Unknown property identifier (detail: the identifier).
    MQTTAS_PROTOCOL_INVALID_PROPERTY_ID = 13,
    /// Property not allowed in the packet (detail: the identifier).
    MQTTAS_PROTOCOL_PROPERTY_NOT_ALLOWED = 14,
    /// Property given more than once (detail: the identifier).
    MQTTAS_PROTOCOL_DUPLICATE_PROPERTY = 15,
    /// Property value out of range (detail: the identifier).
    MQTTAS_PROTOCOL_INVALID_PROPERTY_VALUE = 16,
    /// Invalid topic alias.
    MQTTAS_PROTOCOL_INVALID_TOPIC_ALIAS = 17,
    /// No topic filter.
    MQTTAS_PROTOCOL_EMPTY_FILTER_LIST = 18,
    /// Invalid subscription options.
    MQTTAS_PROTOCOL_INVALID_SUB_OPTIONS = 19,
    /// Protocol name is not MQTT.
    MQTTAS_PROTOCOL_INVALID_PROTOCOL_NAME = 20,
    /// Unsupported protocol level (detail: the level).
    MQTTAS_PROTOCOL_UNSUPPORTED_PROTOCOL_LEVEL = 21,
    /// Invalid CONNECT flags.
    MQTTAS_PROTOCOL_INVALID_CONNECT_FLAGS = 22,
    /// Packet larger than the maximum packet size.
    MQTTAS_PROTOCOL_PACKET_TOO_LARGE = 23,
    /// A packet a server must not send (detail: the packet type).
    MQTTAS_PROTOCOL_UNEXPECTED_PACKET = 24,
    /// CONNACK with session present after a clean session request.
    MQTTAS_PROTOCOL_UNEXPECTED_SESSION_PRESENT = 25,
    /// PUBLISH with an empty topic name and no topic alias.
    MQTTAS_PROTOCOL_EMPTY_TOPIC = 26,
    /// SUBACK or UNSUBACK without one code per topic filter of the request.
    MQTTAS_PROTOCOL_CODE_COUNT_MISMATCH = 27,
    /// PUBLISH with an empty topic name and a topic alias not set on this
    /// connection.
    MQTTAS_PROTOCOL_UNKNOWN_TOPIC_ALIAS = 28,
    /// A rule this version of the C API has no code for.
    MQTTAS_PROTOCOL_OTHER = 255,
}

/// An event from `mqttas_poll_event`.
///
/// Which fields are set depends on `kind` (see `mqttas_event_kind`); the
/// others are 0, false or NULL. Every pointer borrows from the client and
/// is valid until the next call that takes the client. Strings are UTF-8,
/// not NUL-terminated: print them with `"%.*s", (int)len, ptr`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_event {
    /// What happened.
    pub kind: mqttas_event_kind,
    /// Topic of a message.
    pub topic: *const c_char,
    /// Bytes at `topic`.
    pub topic_len: usize,
    /// Payload of a message, or the bytes of a message chunk.
    pub payload: *const u8,
    /// Bytes at `payload`.
    pub payload_len: usize,
    /// Payload bytes that will follow in chunks (`MESSAGE_START`).
    pub total_len: u32,
    /// Packet identifier (message, published, subscribed, unsubscribed).
    pub packet_id: u16,
    /// QoS of a message.
    pub qos: u8,
    /// RETAIN flag of a message.
    pub retain: bool,
    /// DUP flag of a message, as received.
    pub dup: bool,
    /// CONNACK session present flag.
    pub session_present: bool,
    /// Reason code (published, auth, connection lost).
    pub reason: u8,
    /// Protocol version the reason code of a refused connection belongs to
    /// (`MQTTAS_VERSION_311` or `MQTTAS_VERSION_5`).
    pub version: u8,
    /// One code per filter (subscribed, unsubscribed).
    pub codes: *const u8,
    /// Bytes at `codes`.
    pub codes_len: usize,
    /// Raw MQTT 5.0 properties, read them with `mqttas_property_next`.
    pub properties: *const u8,
    /// Bytes at `properties`.
    pub properties_len: usize,
    /// Why the connection was lost.
    pub lost: mqttas_lost_reason,
    /// The reply that did not come (`MQTTAS_LOST_TIMEOUT`).
    pub awaited: mqttas_awaited,
    /// The rule the broker broke (`MQTTAS_LOST_PROTOCOL`).
    pub protocol_error: mqttas_protocol_error,
    /// The value the broken rule concerns, when it has one.
    pub protocol_detail: u8,
    /// The maximum packet size a skipped message exceeded
    /// (`MESSAGE_SKIPPED`).
    pub limit: u32,
}

use mqttas_awaited::*;
use mqttas_event_kind::*;
use mqttas_lost_reason::*;
use mqttas_protocol_error::*;

impl mqttas_event {
    pub(crate) const NONE: mqttas_event = mqttas_event {
        kind: MQTTAS_EVENT_NONE,
        topic: ptr::null(),
        topic_len: 0,
        payload: ptr::null(),
        payload_len: 0,
        total_len: 0,
        packet_id: 0,
        qos: 0,
        retain: false,
        dup: false,
        session_present: false,
        reason: 0,
        version: 0,
        codes: ptr::null(),
        codes_len: 0,
        properties: ptr::null(),
        properties_len: 0,
        lost: MQTTAS_LOST_NONE,
        awaited: MQTTAS_AWAITED_NONE,
        protocol_error: MQTTAS_PROTOCOL_NONE,
        protocol_detail: 0,
        limit: 0,
    };
}

impl From<&Event<'_>> for mqttas_event {
    fn from(e: &Event<'_>) -> Self {
        let mut ev = mqttas_event::NONE;
        ev.fill(e);
        ev
    }
}

impl mqttas_event {
    /// Make this event, [`mqttas_event::NONE`] on entry, the C form of
    /// `e`, in place: `mqttas_poll_event` fills the caller's struct rather
    /// than building one and copying it over (the copy alone was 140 bytes
    /// of code on a Cortex-M).
    pub(crate) fn fill(&mut self, e: &Event<'_>) {
        // One struct filled field by field: the arms share the stores
        // rather than each building a whole event.
        let ev = self;
        let mut props = None;
        let mut topic: Option<&str> = None;
        match *e {
            Event::Connected {
                session_present,
                properties,
            } => {
                ev.kind = MQTTAS_EVENT_CONNECTED;
                ev.session_present = session_present;
                props = Some(properties);
            }
            Event::Message(m) => {
                ev.kind = MQTTAS_EVENT_MESSAGE;
                topic = Some(m.topic);
                ev.payload = m.payload.as_ptr();
                ev.payload_len = m.payload.len();
                ev.qos = m.qos as u8;
                ev.retain = m.retain;
                ev.dup = m.dup;
                ev.packet_id = m.packet_id;
                props = Some(m.properties);
            }
            Event::MessageStart(m) => {
                ev.kind = MQTTAS_EVENT_MESSAGE_START;
                topic = Some(m.topic);
                ev.total_len = m.total_len;
                ev.qos = m.qos as u8;
                ev.retain = m.retain;
                ev.dup = m.dup;
                ev.packet_id = m.packet_id;
                props = Some(m.properties);
            }
            Event::MessageChunk(b) => {
                ev.kind = MQTTAS_EVENT_MESSAGE_CHUNK;
                ev.payload = b.as_ptr();
                ev.payload_len = b.len();
            }
            Event::MessageEnd => ev.kind = MQTTAS_EVENT_MESSAGE_END,
            Event::MessageSkipped {
                topic: t,
                size,
                limit,
                qos,
                packet_id,
            } => {
                ev.kind = MQTTAS_EVENT_MESSAGE_SKIPPED;
                topic = Some(t);
                ev.total_len = size;
                ev.limit = limit;
                ev.qos = qos as u8;
                ev.packet_id = packet_id;
            }
            Event::Published { packet_id, reason } => {
                ev.kind = MQTTAS_EVENT_PUBLISHED;
                ev.packet_id = packet_id;
                ev.reason = reason.0;
            }
            Event::Subscribed {
                packet_id,
                codes,
                properties,
            }
            | Event::Unsubscribed {
                packet_id,
                codes,
                properties,
            } => {
                ev.kind = if matches!(e, Event::Subscribed { .. }) {
                    MQTTAS_EVENT_SUBSCRIBED
                } else {
                    MQTTAS_EVENT_UNSUBSCRIBED
                };
                ev.packet_id = packet_id;
                ev.codes = codes.as_ptr();
                ev.codes_len = codes.len();
                props = Some(properties);
            }
            Event::Auth { reason, properties } => {
                ev.kind = MQTTAS_EVENT_AUTH;
                ev.reason = reason.0;
                props = Some(properties);
            }
            Event::ConnectionLost(why) => return lost(ev, why),
            Event::Disconnected => ev.kind = MQTTAS_EVENT_DISCONNECTED,
        }
        if let Some(t) = topic {
            ev.topic = t.as_ptr().cast();
            ev.topic_len = t.len();
        }
        if let Some(p) = props {
            (ev.properties, ev.properties_len) = property::raw(&p);
        }
    }
}

/// The fields of a connection-lost event.
// A wildcard arm keeps this building when the session grows a reason.
#[allow(unreachable_patterns)]
fn lost(e: &mut mqttas_event, why: LostReason) {
    e.kind = MQTTAS_EVENT_CONNECTION_LOST;
    e.lost = match why {
        LostReason::LinkDown => MQTTAS_LOST_LINK_DOWN,
        LostReason::Refused(v, code) => {
            e.version = v as u8;
            e.reason = code.0;
            MQTTAS_LOST_REFUSED
        }
        LostReason::Timeout(what) => {
            e.awaited = awaited_to_c(what);
            MQTTAS_LOST_TIMEOUT
        }
        LostReason::Protocol(err) => {
            (e.protocol_error, e.protocol_detail) = protocol_to_c(err);
            e.reason = err.reason_code().0;
            MQTTAS_LOST_PROTOCOL
        }
        LostReason::ReceiveMaximumExceeded => MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED,
        LostReason::ServerDisconnect(code) => {
            e.reason = code.0;
            MQTTAS_LOST_SERVER_DISCONNECT
        }
        LostReason::AliasTableFull => MQTTAS_LOST_ALIAS_TABLE_FULL,
        _ => MQTTAS_LOST_OTHER,
    };
}

/// Pairs of awaited replies in Rust and C, the one place they are matched.
const AWAITED: [(Awaited, mqttas_awaited); 7] = [
    (Awaited::ConnAck, MQTTAS_AWAITED_CONNACK),
    (Awaited::PingResp, MQTTAS_AWAITED_PINGRESP),
    (Awaited::PubAck, MQTTAS_AWAITED_PUBACK),
    (Awaited::PubRec, MQTTAS_AWAITED_PUBREC),
    (Awaited::PubComp, MQTTAS_AWAITED_PUBCOMP),
    (Awaited::SubAck, MQTTAS_AWAITED_SUBACK),
    (Awaited::UnsubAck, MQTTAS_AWAITED_UNSUBACK),
];

fn awaited_to_c(a: Awaited) -> mqttas_awaited {
    AWAITED
        .iter()
        .find(|(r, _)| *r == a)
        .map_or(MQTTAS_AWAITED_NONE, |(_, c)| *c)
}

/// The C code and detail byte of a decode error.
// A wildcard arm keeps this building when the codec grows a variant.
#[allow(unreachable_patterns)]
fn protocol_to_c(e: DecodeError) -> (mqttas_protocol_error, u8) {
    use DecodeError as D;
    match e {
        D::MalformedVarInt => (MQTTAS_PROTOCOL_MALFORMED_VARINT, 0),
        D::InvalidPacketType(v) => (MQTTAS_PROTOCOL_INVALID_PACKET_TYPE, v),
        D::InvalidFlags => (MQTTAS_PROTOCOL_INVALID_FLAGS, 0),
        D::Truncated => (MQTTAS_PROTOCOL_TRUNCATED, 0),
        D::TrailingBytes => (MQTTAS_PROTOCOL_TRAILING_BYTES, 0),
        D::InvalidUtf8 => (MQTTAS_PROTOCOL_INVALID_UTF8, 0),
        D::InvalidQoS => (MQTTAS_PROTOCOL_INVALID_QOS, 0),
        D::DupOnQos0 => (MQTTAS_PROTOCOL_DUP_ON_QOS0, 0),
        D::PacketIdZero => (MQTTAS_PROTOCOL_PACKET_ID_ZERO, 0),
        D::InvalidTopic => (MQTTAS_PROTOCOL_INVALID_TOPIC, 0),
        D::InvalidConnAckFlags => (MQTTAS_PROTOCOL_INVALID_CONNACK_FLAGS, 0),
        D::InvalidReasonCode(v) => (MQTTAS_PROTOCOL_INVALID_REASON_CODE, v),
        D::InvalidPropertyId(v) => (MQTTAS_PROTOCOL_INVALID_PROPERTY_ID, v),
        D::PropertyNotAllowed(v) => (MQTTAS_PROTOCOL_PROPERTY_NOT_ALLOWED, v),
        D::DuplicateProperty(v) => (MQTTAS_PROTOCOL_DUPLICATE_PROPERTY, v),
        D::InvalidPropertyValue(v) => (MQTTAS_PROTOCOL_INVALID_PROPERTY_VALUE, v),
        D::InvalidTopicAlias => (MQTTAS_PROTOCOL_INVALID_TOPIC_ALIAS, 0),
        D::EmptyFilterList => (MQTTAS_PROTOCOL_EMPTY_FILTER_LIST, 0),
        D::InvalidSubOptions => (MQTTAS_PROTOCOL_INVALID_SUB_OPTIONS, 0),
        D::InvalidProtocolName => (MQTTAS_PROTOCOL_INVALID_PROTOCOL_NAME, 0),
        D::UnsupportedProtocolLevel(v) => (MQTTAS_PROTOCOL_UNSUPPORTED_PROTOCOL_LEVEL, v),
        D::InvalidConnectFlags => (MQTTAS_PROTOCOL_INVALID_CONNECT_FLAGS, 0),
        D::PacketTooLarge => (MQTTAS_PROTOCOL_PACKET_TOO_LARGE, 0),
        D::UnexpectedPacket(v) => (MQTTAS_PROTOCOL_UNEXPECTED_PACKET, v),
        D::UnexpectedSessionPresent => (MQTTAS_PROTOCOL_UNEXPECTED_SESSION_PRESENT, 0),
        D::EmptyTopic => (MQTTAS_PROTOCOL_EMPTY_TOPIC, 0),
        D::CodeCountMismatch => (MQTTAS_PROTOCOL_CODE_COUNT_MISMATCH, 0),
        D::UnknownTopicAlias => (MQTTAS_PROTOCOL_UNKNOWN_TOPIC_ALIAS, 0),
        _ => (MQTTAS_PROTOCOL_OTHER, 0),
    }
}

/// The fields of an event that its text needs, as C left them: read
/// without trusting that the enum and bool fields hold valid values (C may
/// have written anything).
pub(crate) struct Fields {
    kind: u32,
    topic: *const u8,
    topic_len: usize,
    payload_len: usize,
    total_len: u32,
    packet_id: u16,
    qos: u8,
    retain: bool,
    dup: bool,
    session_present: bool,
    reason: u8,
    codes: *const u8,
    codes_len: usize,
    limit: u32,
}

impl Fields {
    /// The fields of `*ev`, `None` when `ev` is NULL.
    ///
    /// # Safety
    /// `ev` is NULL or points to a readable `mqttas_event`.
    // One justification covers the field reads alike.
    #[allow(clippy::multiple_unsafe_ops_per_block)]
    pub(crate) unsafe fn read(ev: *const mqttas_event) -> Option<Fields> {
        if ev.is_null() {
            return None;
        }
        // SAFETY: every read is of a field of `*ev`, readable by the
        // caller's promise, as a type of the same size and alignment that
        // any bit pattern is valid for (u32 for the enum, u8 for the bools).
        unsafe {
            let bool_at = |p: *const bool| p.cast::<u8>().read() != 0;
            Some(Fields {
                kind: addr_of!((*ev).kind).cast::<u32>().read(),
                topic: addr_of!((*ev).topic).read().cast(),
                topic_len: addr_of!((*ev).topic_len).read(),
                payload_len: addr_of!((*ev).payload_len).read(),
                total_len: addr_of!((*ev).total_len).read(),
                packet_id: addr_of!((*ev).packet_id).read(),
                qos: addr_of!((*ev).qos).read(),
                retain: bool_at(addr_of!((*ev).retain)),
                dup: bool_at(addr_of!((*ev).dup)),
                session_present: bool_at(addr_of!((*ev).session_present)),
                reason: addr_of!((*ev).reason).read(),
                codes: addr_of!((*ev).codes).read(),
                codes_len: addr_of!((*ev).codes_len).read(),
                limit: addr_of!((*ev).limit).read(),
            })
        }
    }

    /// Write the sentence for these fields; `lost` writes what follows
    /// `connection lost` (the client's record of why).
    ///
    /// # Safety
    /// `topic` and `codes` are valid for their lengths.
    pub(crate) unsafe fn describe(&self, w: &mut dyn Sink, lost: impl FnOnce(&mut dyn Sink)) {
        let k = |e: mqttas_event_kind| e as u32;
        // SAFETY: the caller vouches for the borrowed pointers.
        let topic = unsafe { super::args::array(self.topic, self.topic_len) }.unwrap_or_default();
        // SAFETY: as above.
        let codes = unsafe { super::args::array(self.codes, self.codes_len) }.unwrap_or_default();
        match self.kind {
            x if x == k(MQTTAS_EVENT_NONE) => w.str("no event"),
            x if x == k(MQTTAS_EVENT_CONNECTED) => {
                w.str(if self.session_present {
                    "connected (session present)"
                } else {
                    "connected (new session)"
                });
            }
            x if x == k(MQTTAS_EVENT_MESSAGE) || x == k(MQTTAS_EVENT_MESSAGE_START) => {
                let chunked = x == k(MQTTAS_EVENT_MESSAGE_START);
                w.str("message on \"");
                lossy(w, topic);
                w.str("\": ");
                if chunked {
                    w.dec(self.total_len as usize);
                    w.str(" bytes in chunks, QoS ");
                } else {
                    w.dec(self.payload_len);
                    w.str(" bytes, QoS ");
                }
                w.dec(usize::from(self.qos));
                if self.retain {
                    w.str(", retained");
                }
                if self.dup {
                    w.str(", duplicate");
                }
            }
            x if x == k(MQTTAS_EVENT_MESSAGE_CHUNK) => {
                w.str("message chunk: ");
                w.dec(self.payload_len);
                w.str(" bytes");
            }
            x if x == k(MQTTAS_EVENT_MESSAGE_END) => w.str("end of chunked message"),
            x if x == k(MQTTAS_EVENT_MESSAGE_SKIPPED) => {
                w.str("message on \"");
                lossy(w, topic);
                w.str("\" skipped: ");
                w.dec(self.total_len as usize);
                w.str(" bytes, above the maximum packet size (");
                w.dec(self.limit as usize);
                w.str("), QoS ");
                w.dec(usize::from(self.qos));
            }
            x if x == k(MQTTAS_EVENT_PUBLISHED) => {
                w.str("publication ");
                w.dec(usize::from(self.packet_id));
                w.str(if self.reason < 0x80 {
                    " complete: "
                } else {
                    " refused: "
                });
                ReasonCode(self.reason).text(w);
            }
            x if x == k(MQTTAS_EVENT_SUBSCRIBED) || x == k(MQTTAS_EVENT_UNSUBSCRIBED) => {
                w.str(if x == k(MQTTAS_EVENT_SUBSCRIBED) {
                    "subscribe "
                } else {
                    "unsubscribe "
                });
                w.dec(usize::from(self.packet_id));
                w.str(" acknowledged");
                for (i, &c) in codes.iter().enumerate() {
                    w.str(if i == 0 { ": " } else { ", " });
                    w.hex(c);
                }
            }
            x if x == k(MQTTAS_EVENT_AUTH) => {
                w.str("authentication: ");
                ReasonCode(self.reason).text(w);
            }
            x if x == k(MQTTAS_EVENT_CONNECTION_LOST) => {
                w.str("connection lost");
                lost(w);
            }
            x if x == k(MQTTAS_EVENT_DISCONNECTED) => w.str("disconnected: close the link"),
            x if x == k(MQTTAS_EVENT_PAYLOAD_RETURNED) => {
                w.str("payload of publication ");
                w.dec(usize::from(self.packet_id));
                w.str(" returned (PUBREC)");
            }
            _ => w.str("unknown event"),
        }
    }
}

/// Bytes shown as text, invalid UTF-8 replaced by U+FFFD.
fn lossy(w: &mut dyn Sink, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        w.str(chunk.valid());
        if !chunk.invalid().is_empty() {
            w.str("\u{fffd}");
        }
    }
}

/// A short static text for a `mqttas_lost_reason` value (e.g. "link down",
/// "broker refused the connection"), NUL-terminated and valid for the life
/// of the program; never NULL ("unknown" for other values). For the whole
/// story with codes, use `mqttas_event_describe`.
#[no_mangle]
pub extern "C" fn mqttas_lost_reason_str(lost: u32) -> *const c_char {
    super::text::c_texts!(
        TEXTS: [
            (MQTTAS_LOST_NONE, "connection not lost"),
            (MQTTAS_LOST_LINK_DOWN, "link down"),
            (MQTTAS_LOST_REFUSED, "broker refused the connection"),
            (MQTTAS_LOST_TIMEOUT, "no reply within response_time"),
            (MQTTAS_LOST_PROTOCOL, "broker broke the protocol"),
            (MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED, "broker exceeded our receive maximum"),
            (MQTTAS_LOST_SERVER_DISCONNECT, "broker closed the connection"),
            (MQTTAS_LOST_ALIAS_TABLE_FULL, "topic alias table full"),
        ],
        "unknown"
    );
    TEXTS.get(lost)
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    extern crate std;
    use super::*;
    use crate::wire::Version;

    #[test]
    fn protocol_codes_are_fixed_and_distinct() {
        use DecodeError as D;
        let v = 7;
        let all = [
            D::MalformedVarInt,
            D::InvalidPacketType(v),
            D::InvalidFlags,
            D::Truncated,
            D::TrailingBytes,
            D::InvalidUtf8,
            D::InvalidQoS,
            D::DupOnQos0,
            D::PacketIdZero,
            D::InvalidTopic,
            D::InvalidConnAckFlags,
            D::InvalidReasonCode(v),
            D::InvalidPropertyId(v),
            D::PropertyNotAllowed(v),
            D::DuplicateProperty(v),
            D::InvalidPropertyValue(v),
            D::InvalidTopicAlias,
            D::EmptyFilterList,
            D::InvalidSubOptions,
            D::InvalidProtocolName,
            D::UnsupportedProtocolLevel(v),
            D::InvalidConnectFlags,
            D::PacketTooLarge,
            D::UnexpectedPacket(v),
            D::UnexpectedSessionPresent,
            D::EmptyTopic,
            D::CodeCountMismatch,
            D::UnknownTopicAlias,
        ];
        // In the order of their numbers, 1 to 28; a valued rule keeps its
        // value as the detail.
        for (i, e) in all.into_iter().enumerate() {
            let (code, detail) = protocol_to_c(e);
            assert_eq!(code as usize, i + 1, "{e:?}");
            let valued = std::format!("{e:?}").contains('(');
            assert_eq!(detail, if valued { v } else { 0 }, "{e:?}");
        }
    }

    /// The texts as `core::fmt` wrote them before the `Sink` rewrite.
    fn old_reason(c: u8) -> std::string::String {
        std::format!("{} ({:#04x})", ReasonCode(c).description(), c)
    }

    fn old_decode(e: DecodeError) -> std::string::String {
        use DecodeError as D;
        let d = e.description();
        match e {
            D::InvalidPacketType(v)
            | D::InvalidReasonCode(v)
            | D::InvalidPropertyId(v)
            | D::PropertyNotAllowed(v)
            | D::DuplicateProperty(v)
            | D::InvalidPropertyValue(v)
            | D::UnsupportedProtocolLevel(v)
            | D::UnexpectedPacket(v) => std::format!("{d} ({v:#04x})"),
            _ => d.into(),
        }
    }

    fn old_lost(r: LostReason) -> std::string::String {
        match r {
            LostReason::LinkDown => "link down".into(),
            LostReason::Refused(Version::V311, code) => std::format!(
                "broker refused the connection: {} (CONNACK {})",
                code.connack311_description(),
                code.0
            ),
            LostReason::Refused(Version::V5, ReasonCode(0x84)) => {
                "broker does not support MQTT 5.0: connection refused, unsupported protocol version (0x84)".into()
            }
            LostReason::Refused(Version::V5, code) => {
                std::format!("broker refused the connection: {}", old_reason(code.0))
            }
            LostReason::Timeout(what) => std::format!("no {what:?} within response_time"),
            LostReason::Protocol(e) => {
                std::format!("broker broke the protocol: {}", old_decode(e))
            }
            LostReason::ReceiveMaximumExceeded => "broker sent more unreleased QoS 2 messages than the client tracks; reconnecting so that the kept session sends the rest again".into(),
            LostReason::AliasTableFull => "topic alias table full".into(),
            // DISCONNECT names 0x00 "normal disconnection" (5.0 3.14.2.1).
            LostReason::ServerDisconnect(ReasonCode(0)) => {
                "broker closed the connection: normal disconnection (0x00)".into()
            }
            LostReason::ServerDisconnect(code) => {
                std::format!("broker closed the connection: {}", old_reason(code.0))
            }
        }
    }

    /// Whether this build can lose a connection for `r`: one without MQTT
    /// 5.0 or QoS 2 has no text for the losses only they bring.
    fn possible(r: &LostReason) -> bool {
        match r {
            LostReason::Refused(Version::V5, _)
            | LostReason::ServerDisconnect(_)
            | LostReason::AliasTableFull => cfg!(feature = "v5"),
            LostReason::ReceiveMaximumExceeded => cfg!(feature = "qos2"),
            _ => true,
        }
    }

    /// The text of `ev`, with `lost` as the client's record of its last
    /// lost connection.
    fn describe_lost(ev: &mqttas_event, lost: Option<LostReason>) -> std::string::String {
        let mut buf = [0u8; 512];
        let mut w = super::super::text::CBuf::new(&mut buf);
        // SAFETY: `ev` is valid; its pointers are NULL or to live locals.
        let f = unsafe { Fields::read(ev) }.unwrap();
        // SAFETY: as above.
        unsafe {
            f.describe(&mut w, |w| {
                if let Some(r) = lost {
                    w.str(": ");
                    r.text(w);
                }
            })
        };
        let (n, fitted) = w.finish();
        assert!(fitted);
        std::string::String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn describe(ev: &mqttas_event) -> std::string::String {
        describe_lost(ev, None)
    }

    #[test]
    fn payload_returned_is_described() {
        let ev = mqttas_event {
            kind: MQTTAS_EVENT_PAYLOAD_RETURNED,
            packet_id: 513,
            ..mqttas_event::NONE
        };
        assert_eq!(
            describe(&ev),
            "payload of publication 513 returned (PUBREC)"
        );
    }

    #[test]
    fn texts_match_the_core_fmt_ones() {
        // Every code; under miri (slow) the edges and a few known ones.
        let sample = |c: &u8| !cfg!(miri) || matches!(c, 0 | 1 | 0x7f | 0x80 | 0x87 | 0xa2 | 0xff);
        for c in (0..=255u8).filter(sample) {
            assert_eq!(std::format!("{}", ReasonCode(c)), old_reason(c));
            let ev = mqttas_event {
                kind: MQTTAS_EVENT_PUBLISHED,
                packet_id: u16::from(c) * 257,
                reason: c,
                ..mqttas_event::NONE
            };
            let verb = if c < 0x80 { "complete" } else { "refused" };
            let want = std::format!(
                "publication {} {verb}: {}",
                u16::from(c) * 257,
                old_reason(c)
            );
            assert_eq!(describe(&ev), want);
            let ev = mqttas_event {
                kind: MQTTAS_EVENT_AUTH,
                reason: c,
                ..mqttas_event::NONE
            };
            assert_eq!(
                describe(&ev),
                std::format!("authentication: {}", old_reason(c))
            );
            for e in [
                DecodeError::InvalidPacketType(c),
                DecodeError::UnexpectedPacket(c),
                DecodeError::InvalidPropertyValue(c),
                DecodeError::Truncated,
                DecodeError::UnexpectedSessionPresent,
            ] {
                assert_eq!(std::format!("{e}"), old_decode(e));
            }
            for r in [
                LostReason::Refused(Version::V311, ReasonCode(c)),
                LostReason::Refused(Version::V5, ReasonCode(c)),
                LostReason::ServerDisconnect(ReasonCode(c)),
                LostReason::Protocol(DecodeError::DuplicateProperty(c)),
            ]
            .into_iter()
            .filter(possible)
            {
                assert_eq!(std::format!("{r}"), old_lost(r));
                let ev = mqttas_event::from(&Event::ConnectionLost(r));
                assert_eq!(
                    describe_lost(&ev, Some(r)),
                    std::format!("connection lost: {}", old_lost(r))
                );
            }
        }
        for a in [
            Awaited::ConnAck,
            Awaited::PingResp,
            Awaited::PubAck,
            Awaited::PubRec,
            Awaited::PubComp,
            Awaited::SubAck,
            Awaited::UnsubAck,
        ] {
            let r = LostReason::Timeout(a);
            assert_eq!(std::format!("{r}"), old_lost(r));
        }
        for r in [
            LostReason::LinkDown,
            LostReason::ReceiveMaximumExceeded,
            LostReason::AliasTableFull,
        ]
        .into_iter()
        .filter(possible)
        {
            assert_eq!(std::format!("{r}"), old_lost(r));
        }
        let topic = b"a/\xffb\xc3";
        for (kind, qos, retain, dup) in [
            (MQTTAS_EVENT_MESSAGE, 0, false, false),
            (MQTTAS_EVENT_MESSAGE, 1, true, false),
            (MQTTAS_EVENT_MESSAGE_START, 2, true, true),
            (MQTTAS_EVENT_MESSAGE_START, 1, false, true),
        ] {
            let ev = mqttas_event {
                kind,
                topic: topic.as_ptr().cast(),
                topic_len: topic.len(),
                payload_len: 123_456,
                total_len: u32::MAX,
                qos,
                retain,
                dup,
                ..mqttas_event::NONE
            };
            let t = std::string::String::from_utf8_lossy(topic);
            let mut want = if kind == MQTTAS_EVENT_MESSAGE {
                std::format!("message on \"{t}\": 123456 bytes, QoS {qos}")
            } else {
                std::format!(
                    "message on \"{t}\": {} bytes in chunks, QoS {qos}",
                    u32::MAX
                )
            };
            if retain {
                want.push_str(", retained");
            }
            if dup {
                want.push_str(", duplicate");
            }
            assert_eq!(describe(&ev), want);
        }
        let codes = [0u8, 1, 0x80, 0x11];
        let ev = mqttas_event {
            kind: MQTTAS_EVENT_UNSUBSCRIBED,
            packet_id: 65535,
            codes: codes.as_ptr(),
            codes_len: codes.len(),
            ..mqttas_event::NONE
        };
        assert_eq!(
            describe(&ev),
            "unsubscribe 65535 acknowledged: 0x00, 0x01, 0x80, 0x11"
        );
        let ev = mqttas_event {
            kind: MQTTAS_EVENT_MESSAGE_CHUNK,
            payload_len: 0,
            ..mqttas_event::NONE
        };
        assert_eq!(describe(&ev), "message chunk: 0 bytes");
    }
}
