//! MQTT 5.0 reason codes (and 3.1.1 CONNACK return codes / SUBACK codes).

use core::fmt;

use super::{PacketType, Version};
use crate::text::Sink;

/// A reason code as it appears on the wire.
///
/// A newtype rather than an enum: which values are valid depends on the
/// packet, and the decoder checks that per packet type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct ReasonCode(pub u8);

macro_rules! codes {
    ($($name:ident = $val:expr, $text:expr;)*) => {
        impl ReasonCode {
            $(
                #[doc = $text]
                pub const $name: ReasonCode = ReasonCode($val);
            )*
        }
        /// Text for a 5.0 reason code, `None` for unknown values: a key
        /// table and one blob of texts rather than a `match` that loads
        /// each text's address and length (half the flash).
        fn text5(v: u8) -> Option<&'static str> {
            static KEYS: [u8; [$($val),*].len()] = [$($val),*];
            const TEXTS: &str = concat!($($text, "\0"),*);
            let i = KEYS.iter().position(|&k| k == v)?;
            Some(crate::text::nth(TEXTS, i))
        }
    };
}

codes! {
    SUCCESS = 0x00, "success";
    GRANTED_QOS_1 = 0x01, "granted QoS 1";
    GRANTED_QOS_2 = 0x02, "granted QoS 2";
    DISCONNECT_WITH_WILL = 0x04, "disconnect with will message";
    NO_MATCHING_SUBSCRIBERS = 0x10, "no matching subscribers";
    NO_SUBSCRIPTION_EXISTED = 0x11, "no subscription existed";
    CONTINUE_AUTHENTICATION = 0x18, "continue authentication";
    REAUTHENTICATE = 0x19, "re-authenticate";
    UNSPECIFIED_ERROR = 0x80, "unspecified error";
    MALFORMED_PACKET = 0x81, "malformed packet";
    PROTOCOL_ERROR = 0x82, "protocol error";
    IMPLEMENTATION_SPECIFIC_ERROR = 0x83, "implementation specific error";
    UNSUPPORTED_PROTOCOL_VERSION = 0x84, "unsupported protocol version";
    CLIENT_IDENTIFIER_NOT_VALID = 0x85, "client identifier not valid";
    BAD_USER_NAME_OR_PASSWORD = 0x86, "bad user name or password";
    NOT_AUTHORIZED = 0x87, "not authorised";
    SERVER_UNAVAILABLE = 0x88, "server unavailable";
    SERVER_BUSY = 0x89, "server busy";
    BANNED = 0x8A, "banned";
    SERVER_SHUTTING_DOWN = 0x8B, "server shutting down";
    BAD_AUTHENTICATION_METHOD = 0x8C, "bad authentication method";
    KEEP_ALIVE_TIMEOUT = 0x8D, "keep alive timeout";
    SESSION_TAKEN_OVER = 0x8E, "session taken over";
    TOPIC_FILTER_INVALID = 0x8F, "topic filter invalid";
    TOPIC_NAME_INVALID = 0x90, "topic name invalid";
    PACKET_IDENTIFIER_IN_USE = 0x91, "packet identifier in use";
    PACKET_IDENTIFIER_NOT_FOUND = 0x92, "packet identifier not found";
    RECEIVE_MAXIMUM_EXCEEDED = 0x93, "receive maximum exceeded";
    TOPIC_ALIAS_INVALID = 0x94, "topic alias invalid";
    PACKET_TOO_LARGE = 0x95, "packet too large";
    MESSAGE_RATE_TOO_HIGH = 0x96, "message rate too high";
    QUOTA_EXCEEDED = 0x97, "quota exceeded";
    ADMINISTRATIVE_ACTION = 0x98, "administrative action";
    PAYLOAD_FORMAT_INVALID = 0x99, "payload format invalid";
    RETAIN_NOT_SUPPORTED = 0x9A, "retain not supported";
    QOS_NOT_SUPPORTED = 0x9B, "QoS not supported";
    USE_ANOTHER_SERVER = 0x9C, "use another server";
    SERVER_MOVED = 0x9D, "server moved";
    SHARED_SUBSCRIPTIONS_NOT_SUPPORTED = 0x9E, "shared subscriptions not supported";
    CONNECTION_RATE_EXCEEDED = 0x9F, "connection rate exceeded";
    MAXIMUM_CONNECT_TIME = 0xA0, "maximum connect time";
    SUBSCRIPTION_IDENTIFIERS_NOT_SUPPORTED = 0xA1, "subscription identifiers not supported";
    WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED = 0xA2, "wildcard subscriptions not supported";
}

// Reason codes each packet may carry in 5.0 (the table in each packet's
// section of the spec).
const CONNACK5: &[u8] = &[
    0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97,
    0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F,
];
const PUBACK5: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL5: &[u8] = &[0x00, 0x92];
const SUBACK5: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
];
const UNSUBACK5: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91];
const DISCONNECT5: &[u8] = &[
    0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95,
    0x96, 0x97, 0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
];
const AUTH5: &[u8] = &[0x00, 0x18, 0x19];
// 3.1.1: CONNACK return codes 0..=5, SUBACK 0, 1, 2 and 0x80 (failure);
// the other packets carry no code, which the codec treats as success.
const CONNACK311: &[u8] = &[0, 1, 2, 3, 4, 5];
const SUBACK311: &[u8] = &[0x00, 0x01, 0x02, 0x80];
// A `static`, not a constant: LLVM files a constant [0] as an empty C
// string into the one mergeable string section the linker cannot take
// apart, which then keeps every text of the C API in every program.
static SUCCESS_ONLY: [u8; 1] = [0x00];

impl ReasonCode {
    /// True when a packet of type `kind` may carry this code in `version`
    /// (for SUBACK and UNSUBACK: each code of the list).
    // `iter().any()` on purpose: see below.
    #[allow(clippy::manual_contains)]
    pub fn allowed_in(self, kind: PacketType, version: Version) -> bool {
        let table = if !version.is_v5() {
            match kind {
                PacketType::ConnAck => CONNACK311,
                PacketType::SubAck => SUBACK311,
                _ => &SUCCESS_ONLY,
            }
        } else {
            match kind {
                PacketType::ConnAck => CONNACK5,
                PacketType::PubAck | PacketType::PubRec => PUBACK5,
                PacketType::PubRel | PacketType::PubComp => PUBREL5,
                PacketType::SubAck => SUBACK5,
                PacketType::UnsubAck => UNSUBACK5,
                PacketType::Disconnect => DISCONNECT5,
                PacketType::Auth => AUTH5,
                _ => &SUCCESS_ONLY,
            }
        };
        // A plain loop: `<[u8]>::contains` brings in a word-at-a-time
        // memchr, 160 bytes of flash for tables of a dozen codes.
        table.iter().any(|&c| c == self.0)
    }

    /// True for codes below 0x80 (success or a non-error outcome).
    pub fn is_success(self) -> bool {
        self.0 < 0x80
    }

    /// Text of a MQTT 5.0 reason code. A build without MQTT 5.0 (cargo
    /// feature `v5`) knows only the codes 3.1.1 has besides its CONNACK
    /// return codes (success, the granted QoS and SUBACK's failure 0x80),
    /// and carries none of the other texts.
    pub fn description(self) -> &'static str {
        self.description_in(cfg!(feature = "v5"))
    }

    /// [`ReasonCode::description`] in a build with (`v5`) or without MQTT
    /// 5.0.
    fn description_in(self, v5: bool) -> &'static str {
        let text = if v5 {
            text5(self.0)
        } else {
            match self.0 {
                0x00 => Some("success"),
                0x01 => Some("granted QoS 1"),
                0x02 => Some("granted QoS 2"),
                0x80 => Some("unspecified error"),
                _ => None,
            }
        };
        text.unwrap_or("unknown reason code")
    }

    /// Text of a MQTT 3.1.1 CONNACK return code.
    pub fn connack311_description(self) -> &'static str {
        match self.0 {
            0 => "connection accepted",
            1 => "unacceptable protocol version",
            2 => "identifier rejected",
            3 => "server unavailable",
            4 => "bad user name or password",
            5 => "not authorised",
            _ => "unknown return code",
        }
    }
}

impl ReasonCode {
    /// The `Display` text, e.g. "not authorised (0x87)".
    pub(crate) fn text(self, s: &mut dyn Sink) {
        s.str(self.description());
        s.str(" (");
        s.hex(self.0);
        s.str(")");
    }
}

impl ReasonCode {
    /// The text of this code in a DISCONNECT, where 0x00 is "normal
    /// disconnection" (MQTT 5.0 3.14.2.1) rather than "success", e.g.
    /// "normal disconnection (0x00)".
    pub(crate) fn disconnect_text(self, s: &mut dyn Sink) {
        if self == ReasonCode::SUCCESS {
            s.str("normal disconnection (0x00)");
        } else {
            self.text(s);
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::text::display(f, |s| self.text(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_follow_the_table() {
        assert_eq!(ReasonCode::SUCCESS.description(), "success");
        assert_eq!(ReasonCode::NOT_AUTHORIZED.description(), "not authorised");
        assert_eq!(
            ReasonCode::WILDCARD_SUBSCRIPTIONS_NOT_SUPPORTED.description(),
            "wildcard subscriptions not supported"
        );
        assert_eq!(ReasonCode(0x03).description(), "unknown reason code");
        assert_eq!(ReasonCode(0xff).description(), "unknown reason code");
        let known = (0..=255u8).filter(|&c| text5(c).is_some()).count();
        assert_eq!(known, 43);
    }

    #[test]
    fn a_build_without_v5_knows_the_codes_of_3_1_1() {
        for c in 0..=255u8 {
            let code = ReasonCode(c);
            let want = match c {
                0x00 | 0x01 | 0x02 | 0x80 => code.description_in(true),
                _ => "unknown reason code",
            };
            assert_eq!(code.description_in(false), want, "{c:#04x}");
        }
    }
}
