//! MQTT 3.1.1 and 5.0 packet codec.
//!
//! Pure functions over byte slices, in the manner of smoltcp's `wire`: decoding
//! borrows from the input (zero copy) and validates every rule the specs give
//! for a packet a client receives; encoding writes into a caller's buffer and
//! reports a short buffer as an error. Nothing here knows about sessions,
//! timers or I/O.

mod decode;
mod encode;
mod error;
mod packet;
mod properties;
mod reason;
mod rw;
mod short;
mod utf8;

pub use error::{DecodeError, EncodeError};
pub(crate) use packet::decode_body_from_server;
pub use packet::{
    decode, decode_fixed_header, decode_from_server, decode_publish_head, Ack, Auth, ConnAck,
    Connect, Disconnect, FixedHeader, Packet, PacketType, Publish, PublishFlags, PublishHead,
    SubAck, SubOptions, Subscribe, Subscription, Subscriptions, TopicFilters, Unsubscribe, Will,
};
pub use properties::{Properties, Property, PropertyIter, PropertyKind, PropertyValue};
pub use reason::ReasonCode;
pub(crate) use short::{connack_v311_refusal, short_ack};
pub use short::{pubrel, PINGREQ};
pub(crate) use utf8::utf8;

/// Protocol level sent in CONNECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Version {
    /// MQTT 3.1.1 (protocol level 4).
    V311 = 4,
    /// MQTT 5.0 (protocol level 5).
    V5 = 5,
}

impl Version {
    /// True for 5.0 in a build with the `v5` feature, false otherwise.
    /// Every 5.0 path of the codec and the session tests this rather than
    /// comparing versions, so that without the feature the compiler drops
    /// them all (the 3.1.1-only build is that much smaller).
    #[inline(always)]
    pub fn is_v5(self) -> bool {
        cfg!(feature = "v5") && self == Version::V5
    }

    /// `Version::V5` in a build without the `v5` feature: the codec refuses
    /// to work in a version it was built without.
    #[inline(always)]
    pub(crate) fn unsupported(self) -> bool {
        !cfg!(feature = "v5") && self == Version::V5
    }
}

/// Quality of service of a publication or subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum QoS {
    /// At most once (fire and forget).
    AtMostOnce = 0,
    /// At least once (PUBACK).
    AtLeastOnce = 1,
    /// Exactly once (PUBREC, PUBREL, PUBCOMP).
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a wire value, `None` for 3.
    pub fn from_u8(v: u8) -> Option<QoS> {
        match v {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }
}

/// Largest value of a variable byte integer (remaining length, property lengths).
pub const MAX_VARINT: u32 = 268_435_455;

/// Check a topic name for PUBLISH: not empty, at most 65535 bytes, no
/// wildcards, no NUL (the string is valid UTF-8 by type).
pub fn check_topic_name(topic: &str) -> Result<(), EncodeError> {
    if topic.is_empty() {
        return Err(EncodeError::EmptyTopic);
    }
    if topic.len() > u16::MAX as usize {
        return Err(EncodeError::StringTooLong);
    }
    if topic.bytes().any(|b| b == b'+' || b == b'#' || b == 0) {
        return Err(EncodeError::InvalidTopic);
    }
    Ok(())
}

/// Check a topic filter for SUBSCRIBE/UNSUBSCRIBE: not empty, at most 65535
/// bytes, no NUL, `+` alone in its level, `#` alone in the last level.
pub fn check_topic_filter(filter: &str) -> Result<(), EncodeError> {
    if filter.is_empty() {
        return Err(EncodeError::EmptyTopic);
    }
    if filter.len() > u16::MAX as usize {
        return Err(EncodeError::StringTooLong);
    }
    // One pass over the bytes (no level splitting, which costs flash): a
    // wildcard is alone in its level when a separator (or an end) is on
    // each side of it.
    let mut prev = b'/';
    let mut bytes = filter.bytes().peekable();
    while let Some(c) = bytes.next() {
        let next = bytes.peek().copied();
        let alone = prev == b'/' && matches!(next, None | Some(b'/'));
        match c {
            0 => return Err(EncodeError::InvalidTopic),
            b'+' if !alone => return Err(EncodeError::InvalidTopic),
            b'#' if !alone || next.is_some() => return Err(EncodeError::InvalidTopic),
            _ => {}
        }
        prev = c;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rule as the spec words it, level by level.
    fn by_levels(filter: &str) -> Result<(), EncodeError> {
        if filter.is_empty() {
            return Err(EncodeError::EmptyTopic);
        }
        let mut levels = filter.split('/').peekable();
        while let Some(level) = levels.next() {
            let last = levels.peek().is_none();
            if level.contains('\0')
                || (level.contains('#') && (level != "#" || !last))
                || (level.contains('+') && level != "+")
            {
                return Err(EncodeError::InvalidTopic);
            }
        }
        Ok(())
    }

    #[test]
    fn topic_filter_check_agrees_with_the_levels() {
        // Every string of up to 6 bytes over the bytes that matter (4
        // under miri, which is slow).
        let alphabet = [b'a', b'/', b'+', b'#', 0];
        let mut buf = [0u8; 6];
        let max = if cfg!(miri) { 4 } else { buf.len() };
        for len in 0..=max {
            for mut n in 0..alphabet.len().pow(len as u32) {
                for b in buf.iter_mut().take(len) {
                    *b = alphabet[n % alphabet.len()];
                    n /= alphabet.len();
                }
                let s = core::str::from_utf8(&buf[..len]).unwrap();
                assert_eq!(check_topic_filter(s), by_levels(s), "{s:?}");
            }
        }
        assert_eq!(
            check_topic_filter(&"a".repeat(65536)),
            Err(EncodeError::StringTooLong)
        );
    }
}
