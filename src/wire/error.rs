//! Codec errors.

use core::fmt;

use crate::text::Sink;

use super::ReasonCode;

/// Why bytes from the network are not a valid MQTT packet.
///
/// Every variant is a rule of MQTT 3.1.1 or 5.0 that a client enforces on what
/// it receives. [`DecodeError::reason_code`] gives the 5.0 reason code to send
/// in the DISCONNECT that closes the connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// Remaining length or another variable byte integer longer than 4 bytes
    /// or not in its shortest form where the spec requires it.
    MalformedVarInt,
    /// Packet type 0, or 15 in MQTT 3.1.1.
    InvalidPacketType(u8),
    /// Fixed header flags that the spec reserves (e.g. PUBREL without 0b0010).
    InvalidFlags,
    /// A field runs past the end of the packet.
    Truncated,
    /// Bytes left over after the last field of a packet.
    TrailingBytes,
    /// A string is not well-formed UTF-8 or holds U+0000.
    InvalidUtf8,
    /// QoS 3 in a PUBLISH, or invalid QoS bits elsewhere.
    InvalidQoS,
    /// DUP set on a QoS 0 PUBLISH.
    DupOnQos0,
    /// A packet identifier of 0 where one is required.
    PacketIdZero,
    /// A PUBLISH topic name with `+` or `#`.
    InvalidTopic,
    /// A PUBLISH with an empty topic name and no topic alias (a protocol
    /// error in 5.0 3.3.2.3.4; 3.1.1 4.7.3 has no empty topic at all).
    EmptyTopic,
    /// CONNACK flags other than session present, or session present with a refusal.
    InvalidConnAckFlags,
    /// A reason or return code that the spec does not allow in this packet.
    InvalidReasonCode(u8),
    /// A property identifier unknown to MQTT 5.0.
    InvalidPropertyId(u8),
    /// A property that is not allowed in this packet.
    PropertyNotAllowed(u8),
    /// A property given twice that may appear only once.
    DuplicateProperty(u8),
    /// A property value outside its range (e.g. receive maximum 0).
    InvalidPropertyValue(u8),
    /// A topic alias of 0 or above our topic alias maximum (5.0 3.3.4:
    /// DISCONNECT 0x94, Topic Alias invalid).
    InvalidTopicAlias,
    /// SUBSCRIBE/UNSUBSCRIBE without any topic filter.
    EmptyFilterList,
    /// Invalid subscription options byte.
    InvalidSubOptions,
    /// Protocol name in CONNECT is not "MQTT".
    InvalidProtocolName,
    /// Protocol level in CONNECT is neither 4 nor 5.
    UnsupportedProtocolLevel(u8),
    /// Reserved CONNECT flag set or inconsistent will/password flags.
    InvalidConnectFlags,
    /// A packet larger than the limit we announced or can hold.
    PacketTooLarge,
    /// A packet a server never sends to a client (CONNECT, SUBSCRIBE, ...),
    /// or one it may not send now (anything before CONNACK, a second
    /// CONNACK, AUTH when CONNECT named no authentication method). The
    /// value is the type of the packet that came.
    UnexpectedPacket(u8),
    /// CONNACK says the session is present although CONNECT asked for a
    /// clean one (5.0 3.2.2.2, 3.1.1 3.2.2.2).
    UnexpectedSessionPresent,
    /// A SUBACK or UNSUBACK whose codes are not one per topic filter of
    /// the request it acknowledges (5.0 3.9.3, 3.11.3; 3.1.1 3.9.3).
    CodeCountMismatch,
    /// A PUBLISH with an empty topic name and a topic alias that no PUBLISH
    /// of this connection has set (5.0 3.3.4: a Protocol Error, 0x82).
    UnknownTopicAlias,
}

impl DecodeError {
    /// MQTT 5.0 reason code for the DISCONNECT sent on this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::PacketTooLarge => ReasonCode::PACKET_TOO_LARGE,
            DecodeError::InvalidTopicAlias => ReasonCode::TOPIC_ALIAS_INVALID,
            DecodeError::UnexpectedPacket(_)
            | DecodeError::UnexpectedSessionPresent
            | DecodeError::EmptyTopic
            | DecodeError::CodeCountMismatch
            | DecodeError::UnknownTopicAlias
            | DecodeError::DuplicateProperty(_) => ReasonCode::PROTOCOL_ERROR,
            // The values the 5.0 spec calls a Protocol Error rather than
            // a malformed packet: subscription identifier 0, request
            // problem/response information, receive maximum 0, maximum QoS,
            // the "available" flags, maximum packet size 0; and
            // authentication data without an authentication method.
            DecodeError::InvalidPropertyValue(
                0x0B | 0x17 | 0x19 | 0x21 | 0x24 | 0x25 | 0x27 | 0x28 | 0x29 | 0x2A,
            )
            | DecodeError::PropertyNotAllowed(0x16) => ReasonCode::PROTOCOL_ERROR,
            _ => ReasonCode::MALFORMED_PACKET,
        }
    }

    /// A short sentence for logs and exceptions. A build without MQTT 5.0
    /// (cargo feature `v5`), where the rules of 5.0 properties and topic
    /// aliases cannot be broken, carries none of their texts.
    pub fn description(&self) -> &'static str {
        self.description_in(cfg!(feature = "v5"))
    }

    /// The errors only MQTT 5.0 defines: its properties and topic aliases.
    #[cfg(test)]
    fn v5_only(&self) -> bool {
        self.index() >= BASE_TEXTS
    }

    /// The number of this error's text: those of 3.1.1 first, then the
    /// [`BASE_TEXTS`]-th on those only MQTT 5.0 defines.
    // The number (a byte table) and one blob of texts rather than a
    // `match` of literals, each of which costs an address and a length in
    // the code (see `crate::text::nth`).
    fn index(&self) -> usize {
        use DecodeError as D;
        match self {
            D::MalformedVarInt => 0,
            D::InvalidPacketType(_) => 1,
            D::InvalidFlags => 2,
            D::Truncated => 3,
            D::TrailingBytes => 4,
            D::InvalidUtf8 => 5,
            D::InvalidQoS => 6,
            D::DupOnQos0 => 7,
            D::PacketIdZero => 8,
            D::InvalidTopic => 9,
            D::EmptyTopic => 10,
            D::InvalidConnAckFlags => 11,
            D::UnexpectedSessionPresent => 12,
            D::InvalidReasonCode(_) => 13,
            D::EmptyFilterList => 14,
            D::InvalidSubOptions => 15,
            D::InvalidProtocolName => 16,
            D::UnsupportedProtocolLevel(_) => 17,
            D::InvalidConnectFlags => 18,
            D::PacketTooLarge => 19,
            D::UnexpectedPacket(_) => 20,
            D::CodeCountMismatch => 21,
            D::InvalidPropertyId(_) => 22,
            D::PropertyNotAllowed(_) => 23,
            D::DuplicateProperty(_) => 24,
            D::InvalidPropertyValue(_) => 25,
            D::InvalidTopicAlias => 26,
            D::UnknownTopicAlias => 27,
        }
    }

    /// [`DecodeError::description`] in a build with (`v5`) or without MQTT
    /// 5.0.
    fn description_in(&self, v5: bool) -> &'static str {
        const TEXTS: &str = concat!(
            "malformed variable byte integer\0",
            "invalid packet type\0",
            "invalid fixed header flags\0",
            "field runs past the end of the packet\0",
            "bytes left over after the last field\0",
            "string is not valid UTF-8 or holds U+0000\0",
            "invalid QoS\0",
            "DUP flag set on a QoS 0 PUBLISH\0",
            "packet identifier 0\0",
            "invalid topic name\0",
            "empty topic name without a topic alias\0",
            "invalid CONNACK flags\0",
            "session present although a clean session was asked for\0",
            "reason code not allowed in this packet\0",
            "no topic filter\0",
            "invalid subscription options\0",
            "protocol name is not MQTT\0",
            "unsupported protocol level\0",
            "invalid CONNECT flags\0",
            "packet larger than the maximum packet size\0",
            "packet a server must not send\0",
            "SUBACK/UNSUBACK codes are not one per topic filter of the request\0",
        );
        const TEXTS5: &str = concat!(
            "unknown property identifier\0",
            "property not allowed in this packet\0",
            "property given more than once\0",
            "property value out of range\0",
            "invalid topic alias\0",
            "empty topic name with a topic alias not set on this connection\0",
        );
        let i = self.index();
        if i < BASE_TEXTS {
            crate::text::nth(TEXTS, i)
        } else if v5 {
            crate::text::nth(TEXTS5, i - BASE_TEXTS)
        } else {
            "MQTT 5.0 rule broken"
        }
    }
}

/// How many [`DecodeError`] texts are not MQTT 5.0's alone.
const BASE_TEXTS: usize = 22;

impl DecodeError {
    /// The `Display` text: the description, then the value it concerns.
    pub(crate) fn text(&self, s: &mut dyn Sink) {
        s.str(self.description());
        match self {
            DecodeError::InvalidPacketType(v)
            | DecodeError::InvalidReasonCode(v)
            | DecodeError::InvalidPropertyId(v)
            | DecodeError::PropertyNotAllowed(v)
            | DecodeError::DuplicateProperty(v)
            | DecodeError::InvalidPropertyValue(v)
            | DecodeError::UnsupportedProtocolLevel(v)
            | DecodeError::UnexpectedPacket(v) => {
                s.str(" (");
                s.hex(*v);
                s.str(")");
            }
            _ => {}
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::display(f, |s| self.text(s))
    }
}

/// Why a packet could not be encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// The output buffer is shorter than `needed` bytes.
    BufferTooSmall {
        /// Bytes the packet takes.
        needed: usize,
    },
    /// A string or binary field longer than 65535 bytes.
    StringTooLong,
    /// The packet is longer than MQTT's largest remaining length.
    PacketTooLarge,
    /// An empty topic name or filter.
    EmptyTopic,
    /// Wildcards in a topic name, a misplaced wildcard in a filter, or U+0000.
    InvalidTopic,
    /// A packet identifier of 0 where one is required, or one given with QoS 0.
    InvalidPacketId,
    /// No topic filter in SUBSCRIBE/UNSUBSCRIBE.
    EmptyFilterList,
    /// A field that the chosen protocol version cannot carry (e.g. properties in 3.1.1).
    NotInVersion,
    /// A property not allowed in this packet or with an invalid value.
    InvalidProperty(u8),
    /// A string (other than a topic) holding U+0000, which MQTT forbids.
    InvalidString,
    /// Subscription options with retain handling 3, or no local on a shared
    /// subscription.
    InvalidSubOptions,
    /// A reason or return code that this packet cannot carry in this version.
    InvalidReasonCode(u8),
}

impl EncodeError {
    /// A short sentence for logs and exceptions.
    pub fn description(&self) -> &'static str {
        match self {
            EncodeError::BufferTooSmall { .. } => "buffer too small for the packet",
            EncodeError::StringTooLong => "string longer than 65535 bytes",
            EncodeError::PacketTooLarge => "packet larger than MQTT allows",
            EncodeError::EmptyTopic => "empty topic",
            EncodeError::InvalidTopic => {
                "invalid topic (wildcard in a topic name, misplaced wildcard, or NUL)"
            }
            EncodeError::InvalidPacketId => "invalid packet identifier",
            EncodeError::EmptyFilterList => "no topic filter",
            EncodeError::NotInVersion => "field not available in this MQTT version",
            EncodeError::InvalidProperty(_) => "property not allowed here or invalid",
            EncodeError::InvalidString => "string holds U+0000",
            EncodeError::InvalidSubOptions => "invalid subscription options",
            EncodeError::InvalidReasonCode(_) => "reason code not allowed in this packet",
        }
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())?;
        match self {
            EncodeError::BufferTooSmall { needed } => write!(f, " (needs {needed} bytes)"),
            EncodeError::InvalidProperty(v) | EncodeError::InvalidReasonCode(v) => {
                write!(f, " ({v:#04x})")
            }
            _ => Ok(()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError {}
#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_build_without_v5_has_no_texts_of_5_0_rules() {
        let all = [
            DecodeError::Truncated,
            DecodeError::EmptyTopic,
            DecodeError::InvalidReasonCode(3),
            DecodeError::InvalidPropertyId(0x30),
            DecodeError::PropertyNotAllowed(1),
            DecodeError::DuplicateProperty(1),
            DecodeError::InvalidPropertyValue(0x21),
            DecodeError::InvalidTopicAlias,
            DecodeError::UnknownTopicAlias,
        ];
        for e in all {
            let without = e.description_in(false);
            if e.v5_only() {
                assert_eq!(without, "MQTT 5.0 rule broken", "{e:?}");
                assert_ne!(e.description_in(true), without, "{e:?}");
            } else {
                assert_eq!(without, e.description_in(true), "{e:?}");
            }
        }
    }

    #[test]
    fn every_error_has_its_text() {
        use DecodeError as D;
        let all = [
            (D::MalformedVarInt, "malformed variable byte integer"),
            (D::InvalidPacketType(1), "invalid packet type"),
            (D::InvalidFlags, "invalid fixed header flags"),
            (D::Truncated, "field runs past the end of the packet"),
            (D::TrailingBytes, "bytes left over after the last field"),
            (D::InvalidUtf8, "string is not valid UTF-8 or holds U+0000"),
            (D::InvalidQoS, "invalid QoS"),
            (D::DupOnQos0, "DUP flag set on a QoS 0 PUBLISH"),
            (D::PacketIdZero, "packet identifier 0"),
            (D::InvalidTopic, "invalid topic name"),
            (D::EmptyTopic, "empty topic name without a topic alias"),
            (D::InvalidConnAckFlags, "invalid CONNACK flags"),
            (
                D::UnexpectedSessionPresent,
                "session present although a clean session was asked for",
            ),
            (
                D::InvalidReasonCode(1),
                "reason code not allowed in this packet",
            ),
            (D::InvalidPropertyId(1), "unknown property identifier"),
            (
                D::PropertyNotAllowed(1),
                "property not allowed in this packet",
            ),
            (D::DuplicateProperty(1), "property given more than once"),
            (D::InvalidPropertyValue(1), "property value out of range"),
            (D::InvalidTopicAlias, "invalid topic alias"),
            (D::EmptyFilterList, "no topic filter"),
            (D::InvalidSubOptions, "invalid subscription options"),
            (D::InvalidProtocolName, "protocol name is not MQTT"),
            (D::UnsupportedProtocolLevel(1), "unsupported protocol level"),
            (D::InvalidConnectFlags, "invalid CONNECT flags"),
            (
                D::PacketTooLarge,
                "packet larger than the maximum packet size",
            ),
            (D::UnexpectedPacket(1), "packet a server must not send"),
            (
                D::CodeCountMismatch,
                "SUBACK/UNSUBACK codes are not one per topic filter of the request",
            ),
            (
                D::UnknownTopicAlias,
                "empty topic name with a topic alias not set on this connection",
            ),
        ];
        for (e, text) in all {
            assert_eq!(e.description_in(true), text, "{e:?}");
        }
    }
}
