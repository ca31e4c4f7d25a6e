//! What the session reports to the application.

use core::fmt;

use super::client::QOS2;
use crate::text::Sink;
use crate::wire::{DecodeError, Properties, QoS, ReasonCode, Version};

/// An inbound application message that fits in the receive buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Message<'a> {
    /// Topic name (resolved from a topic alias where one was used).
    pub topic: &'a str,
    /// Payload.
    pub payload: &'a [u8],
    /// QoS it was delivered with.
    pub qos: QoS,
    /// RETAIN flag: a retained message sent on subscription.
    pub retain: bool,
    /// DUP flag as received.
    pub dup: bool,
    /// Packet identifier, 0 for QoS 0.
    pub packet_id: u16,
    /// PUBLISH properties (5.0).
    pub properties: Properties<'a>,
}

/// The start of an inbound message larger than the receive buffer: its
/// payload follows in [`Event::MessageChunk`]s, then [`Event::MessageEnd`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageStart<'a> {
    /// Topic name.
    pub topic: &'a str,
    /// Payload bytes that will follow in chunks.
    pub total_len: u32,
    /// QoS.
    pub qos: QoS,
    /// RETAIN flag.
    pub retain: bool,
    /// DUP flag.
    pub dup: bool,
    /// Packet identifier, 0 for QoS 0.
    pub packet_id: u16,
    /// PUBLISH properties (5.0).
    pub properties: Properties<'a>,
}

/// A reply the session was waiting for when `response_time` ran out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Awaited {
    ConnAck,
    PingResp,
    PubAck,
    PubRec,
    PubComp,
    SubAck,
    UnsubAck,
}

/// Why the connection is no longer usable.
///
/// After [`Event::ConnectionLost`] the caller closes the link; stored QoS 1
/// and 2 messages stay in the store and are sent again on the next
/// connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LostReason {
    /// The caller reported the link down ([`crate::Client::handle_link_down`]).
    LinkDown,
    /// The broker refused the connection: CONNACK return code (3.1.1) or
    /// reason code (5.0). A broker that answers a 5.0 CONNECT in 3.1.1
    /// ("unacceptable protocol version") is reported as 5.0's 0x84
    /// (unsupported protocol version): it does not support MQTT 5.0.
    Refused(Version, ReasonCode),
    /// No reply within `response_time` (after `max_repubs` republications for
    /// a PUBACK in 3.1.1).
    Timeout(Awaited),
    /// The broker sent a malformed packet or broke a protocol rule; in 5.0 a
    /// DISCONNECT with [`DecodeError::reason_code`] has been queued. (A
    /// DISCONNECT from a 3.1.1 broker, which that version does not define,
    /// is `UnexpectedPacket(14)`.)
    Protocol(DecodeError),
    /// The broker sent more unreleased QoS 2 messages than the client can
    /// track (its inbound QoS 2 id table, [`crate::session::Buffers`]) on
    /// a session it keeps and the next connection resumes. The ones over
    /// the limit were neither delivered nor acknowledged; once the others
    /// were released the client closes the connection (5.0: DISCONNECT
    /// 0x93) so that the broker sends them again on the next one. Nothing
    /// is lost. (On a session that ends with the connection they are
    /// delivered untracked instead: see [`crate::session::Qos2Stats`].)
    ReceiveMaximumExceeded,
    /// The broker sent DISCONNECT (5.0) with this reason code; its reason
    /// string and other properties are in
    /// [`crate::Client::disconnect_properties`].
    ServerDisconnect(ReasonCode),
    /// The inbound topic alias table has no room for a new alias: give
    /// a larger alias buffer or a lower `topic_alias_maximum`.
    AliasTableFull,
}

impl Awaited {
    /// The packet's name as `Debug` prints it ("ConnAck").
    fn name(self) -> &'static str {
        match self {
            Awaited::ConnAck => "ConnAck",
            Awaited::PingResp => "PingResp",
            Awaited::PubAck => "PubAck",
            Awaited::PubRec => "PubRec",
            Awaited::PubComp => "PubComp",
            Awaited::SubAck => "SubAck",
            Awaited::UnsubAck => "UnsubAck",
        }
    }
}

impl LostReason {
    /// The `Display` text, e.g. "broker refused the connection: not
    /// authorised (CONNACK 5)".
    pub(crate) fn text(&self, s: &mut dyn Sink) {
        match self {
            LostReason::LinkDown => s.str("link down"),
            // `is_v5()`: a build without MQTT 5.0 has no 5.0 refusals, nor
            // their texts.
            LostReason::Refused(v, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION) if v.is_v5() => {
                // Also what a 3.1.1 broker's "unacceptable protocol
                // version" (CONNACK 1) to our 5.0 CONNECT is reported as.
                s.str("broker does not support MQTT 5.0: connection refused, ");
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION.text(s);
            }
            LostReason::Refused(v, code) if v.is_v5() => {
                s.str("broker refused the connection: ");
                code.text(s);
            }
            LostReason::Refused(_, code) => {
                s.str("broker refused the connection: ");
                s.str(code.connack311_description());
                s.str(" (CONNACK ");
                s.dec(usize::from(code.0));
                s.str(")");
            }
            LostReason::Timeout(what) => {
                s.str("no ");
                s.str(what.name());
                s.str(" within response_time");
            }
            LostReason::Protocol(e @ DecodeError::UnexpectedPacket(14)) => {
                // Only 5.0 lets a server send DISCONNECT.
                s.str("broker sent DISCONNECT, which MQTT 3.1.1 does not define: ");
                e.text(s);
            }
            LostReason::Protocol(e) => {
                s.str("broker broke the protocol: ");
                e.text(s);
            }
            LostReason::ReceiveMaximumExceeded if QOS2 => {
                s.str("broker sent more unreleased QoS 2 messages than the client tracks; reconnecting so that the kept session sends the rest again")
            }
            LostReason::AliasTableFull if cfg!(feature = "v5") => {
                s.str("topic alias table full")
            }
            LostReason::ServerDisconnect(code) if cfg!(feature = "v5") => {
                s.str("broker closed the connection: ");
                code.disconnect_text(s);
            }
            // What a build without QoS 2 (the first) or MQTT 5.0 (the
            // others) never loses a connection for: it carries none of
            // their texts.
            _ => s.str("connection closed"),
        }
    }

    /// This reason with what the broker said along with it: the reason
    /// string and server reference of its DISCONNECT or refusing CONNACK
    /// (5.0; [`crate::Client::disconnect_properties`]), e.g. `broker closed
    /// the connection: server moved (0x9d): "maintenance"; server
    /// reference: other.example:1883`.
    pub fn with_properties<'a>(&self, properties: Properties<'a>) -> Loss<'a> {
        Loss {
            reason: *self,
            properties,
        }
    }
}

/// A [`LostReason`] with the properties of the broker's DISCONNECT or
/// refusing CONNACK, from [`LostReason::with_properties`]: its `Display`
/// quotes the reason string and names the server reference (MQTT 5.0 4.11,
/// server redirection), which the clients print when a connection ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Loss<'a> {
    /// Why the connection ended.
    pub reason: LostReason,
    /// The properties the broker sent with it (empty if none).
    pub properties: Properties<'a>,
}

impl Loss<'_> {
    pub(crate) fn text(&self, s: &mut dyn Sink) {
        self.reason.text(s);
        broker_said(&self.properties, s);
    }
}

/// What a broker's DISCONNECT or CONNACK says besides its code: `: "reason
/// string"; server reference: HOST`, each only when present.
pub(crate) fn broker_said(properties: &Properties<'_>, s: &mut dyn Sink) {
    if !cfg!(feature = "v5") {
        // Only 5.0 brokers say anything (and a build without it reads no
        // properties).
        return;
    }
    if let Some(why) = properties.reason_string() {
        s.str(": \"");
        s.str(why);
        s.str("\"");
    }
    if let Some(to) = properties.server_reference() {
        s.str("; server reference: ");
        s.str(to);
    }
}

impl fmt::Display for Loss<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::display(f, |s| self.text(s))
    }
}

impl fmt::Display for LostReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::display(f, |s| self.text(s))
    }
}

/// An event for the application, from [`crate::Client::poll_event`].
///
/// Borrowed data stays valid until the next call into the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event<'a> {
    /// CONNACK accepted the connection.
    Connected {
        /// The broker kept our session.
        session_present: bool,
        /// CONNACK properties (5.0): assigned client id, server keep alive, ...
        properties: Properties<'a>,
    },
    /// A whole inbound message.
    Message(Message<'a>),
    /// The start of an inbound message delivered in chunks.
    MessageStart(MessageStart<'a>),
    /// The next piece of payload of a chunked message.
    MessageChunk(&'a [u8]),
    /// The last chunk has been delivered.
    MessageEnd,
    /// An inbound message above [`crate::Config::maximum_packet_size`]
    /// from a 3.1.1 broker (which cannot be told the limit): not
    /// delivered. Its bytes are read and dropped as they come, and it is
    /// acknowledged once they have all come, so that the broker does not
    /// send it again. (A 5.0 broker is told the limit in CONNECT; a packet
    /// above it ends the connection with DISCONNECT 0x95.)
    MessageSkipped {
        /// Topic name.
        topic: &'a str,
        /// Bytes of the whole PUBLISH packet.
        size: u32,
        /// The maximum packet size it exceeds.
        limit: u32,
        /// QoS it came with.
        qos: QoS,
        /// Packet identifier, 0 for QoS 0.
        packet_id: u16,
    },
    /// An outbound QoS 1 or 2 message is complete (PUBACK or PUBCOMP), or
    /// the broker refused it (5.0 reason code >= 0x80).
    Published {
        /// Packet identifier returned by `publish`.
        packet_id: u16,
        /// Reason code (success in 3.1.1).
        reason: ReasonCode,
    },
    /// SUBACK.
    Subscribed {
        /// Packet identifier returned by `subscribe`.
        packet_id: u16,
        /// One granted QoS or reason code per filter.
        codes: &'a [u8],
        /// SUBACK properties (5.0).
        properties: Properties<'a>,
    },
    /// UNSUBACK.
    Unsubscribed {
        /// Packet identifier returned by `unsubscribe`.
        packet_id: u16,
        /// One reason code per filter (5.0; empty in 3.1.1).
        codes: &'a [u8],
        /// UNSUBACK properties (5.0).
        properties: Properties<'a>,
    },
    /// AUTH from the broker (5.0 enhanced authentication).
    Auth {
        /// Reason code.
        reason: ReasonCode,
        /// Properties (authentication method and data).
        properties: Properties<'a>,
    },
    /// The connection is lost; close the link, then reconnect.
    ConnectionLost(LostReason),
    /// Our DISCONNECT has been handed to `poll_transmit`; close the link.
    Disconnected,
}
