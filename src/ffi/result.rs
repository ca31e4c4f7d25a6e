//! Result codes and their text.

use core::ffi::c_char;

use crate::session::Error;
use crate::wire::EncodeError;

/// The result of a call. The numbers are fixed: a code keeps its number
/// for good and a number is never given to another code.
///
/// 0 is success; 1 to 99 are mistakes in the arguments of the call; 100 to
/// 199 are refusals of the session (mostly "wait, then retry"); 200 to 299
/// are values the packet encoder cannot put on the wire.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_result {
    /// Success.
    MQTTAS_OK = 0,
    /// A required pointer argument is NULL (or NULL with a non-zero length).
    MQTTAS_ERR_NULL_POINTER = 1,
    /// The storage of a client, radio or policy machine, or an output
    /// buffer, is shorter than needed.
    MQTTAS_ERR_BUFFER_TOO_SMALL = 2,
    /// The storage of a client, radio or policy machine is not aligned to
    /// its `mqttas_*_align()`.
    MQTTAS_ERR_MISALIGNED = 3,
    /// The client, radio or policy machine was not initialised by its
    /// `mqttas_*_init` (or was deinitialised).
    MQTTAS_ERR_NOT_INITIALIZED = 4,
    /// A string argument is not valid UTF-8.
    MQTTAS_ERR_INVALID_UTF8 = 5,
    /// An argument is out of range: QoS above 2, a length above `PTRDIFF_MAX`,
    /// a property value too large for its type.
    MQTTAS_ERR_INVALID_ARGUMENT = 6,
    /// More subscriptions or properties in one call than
    /// `MQTTAS_MAX_SUBSCRIPTIONS` / `MQTTAS_MAX_PROPERTIES`.
    MQTTAS_ERR_TOO_MANY_ITEMS = 7,
    /// Two of the buffers given to `mqttas_client_init` (or the client
    /// storage) overlap.
    MQTTAS_ERR_BUFFERS_OVERLAP = 8,
    /// A property identifier that MQTT 5.0 does not define.
    MQTTAS_ERR_UNKNOWN_PROPERTY = 9,
    /// A topic alias (5.0) the client cannot send: above the broker's
    /// Topic Alias Maximum (0 when its CONNACK gave none), with an empty
    /// topic before it was set with one, or no room in `out_aliases`. (An
    /// alias of 0 is `MQTTAS_ERR_INVALID_PROPERTY`.)
    MQTTAS_ERR_TOPIC_ALIAS = 10,
    /// `mqttas_poll_transmit` when the next packet is a PUBLISH whose
    /// payload was lent (`mqttas_publish_borrowed`): it is left queued;
    /// take it with `mqttas_poll_transmit_vectored`.
    MQTTAS_ERR_USE_VECTORED = 11,
    /// Not connected: QoS 0 publish, subscribe, unsubscribe, ping,
    /// disconnect and auth need a connection (QoS 1/2 publish does not).
    MQTTAS_ERR_NOT_CONNECTED = 100,
    /// `mqttas_connect` while connecting or connected.
    MQTTAS_ERR_ALREADY_CONNECTED = 101,
    /// The message store is full: wait for a `MQTTAS_EVENT_PUBLISHED` and
    /// retry.
    MQTTAS_ERR_STORE_FULL = 102,
    /// The transmit buffer has no room now: drain `mqttas_poll_transmit`
    /// and retry.
    MQTTAS_ERR_TX_FULL = 103,
    /// Too many SUBSCRIBE/UNSUBSCRIBE awaiting acknowledgement: wait for one
    /// and retry.
    MQTTAS_ERR_TOO_MANY_PENDING = 104,
    /// The packet can never fit: larger than the store or the transmit
    /// buffer, or than the broker's maximum packet size.
    MQTTAS_ERR_TOO_LARGE = 105,
    /// The broker does not support this QoS (5.0 maximum QoS).
    MQTTAS_ERR_QOS_NOT_SUPPORTED = 106,
    /// The broker does not support retained messages (5.0).
    MQTTAS_ERR_RETAIN_NOT_SUPPORTED = 107,
    /// A buffer below its minimum size or a configuration value out of
    /// range.
    MQTTAS_ERR_INVALID_CONFIG = 108,
    /// This build of the library leaves the feature out: MQTT 5.0 (cargo
    /// feature `v5`) or QoS 2 (`qos2`). The header is the same for every
    /// build; only the library knows what it was built with.
    MQTTAS_ERR_UNSUPPORTED = 109,
    /// A session refusal this version of the C API has no code for.
    MQTTAS_ERR_SESSION_OTHER = 199,
    /// A string or binary field longer than 65535 bytes.
    MQTTAS_ERR_STRING_TOO_LONG = 200,
    /// The packet is longer than MQTT allows.
    MQTTAS_ERR_PACKET_TOO_LARGE = 201,
    /// An empty topic name or filter.
    MQTTAS_ERR_EMPTY_TOPIC = 202,
    /// A wildcard in a topic name, a misplaced wildcard in a filter, or NUL.
    MQTTAS_ERR_INVALID_TOPIC = 203,
    /// An invalid packet identifier.
    MQTTAS_ERR_INVALID_PACKET_ID = 204,
    /// No topic filter in SUBSCRIBE/UNSUBSCRIBE.
    MQTTAS_ERR_EMPTY_FILTER_LIST = 205,
    /// A field the protocol version cannot carry (e.g. properties in 3.1.1).
    MQTTAS_ERR_NOT_IN_VERSION = 206,
    /// A property not allowed in this packet, or with an invalid value.
    MQTTAS_ERR_INVALID_PROPERTY = 207,
    /// A string (other than a topic) holding NUL, which MQTT forbids.
    MQTTAS_ERR_INVALID_STRING = 208,
    /// Invalid subscription options (retain handling 3, no local on a shared
    /// subscription).
    MQTTAS_ERR_INVALID_SUB_OPTIONS = 209,
    /// A reason code this packet cannot carry in this protocol version.
    MQTTAS_ERR_INVALID_REASON_CODE = 210,
    /// An encoding error this version of the C API has no code for.
    MQTTAS_ERR_ENCODE_OTHER = 299,
}

use mqttas_result::*;

// The wildcard arms below keep this building when the codec or the session
// grows a variant; it then reports the generic code until given its own.
impl From<EncodeError> for mqttas_result {
    #[allow(unreachable_patterns)]
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { .. } => MQTTAS_ERR_TOO_LARGE,
            EncodeError::StringTooLong => MQTTAS_ERR_STRING_TOO_LONG,
            EncodeError::PacketTooLarge => MQTTAS_ERR_PACKET_TOO_LARGE,
            EncodeError::EmptyTopic => MQTTAS_ERR_EMPTY_TOPIC,
            EncodeError::InvalidTopic => MQTTAS_ERR_INVALID_TOPIC,
            EncodeError::InvalidPacketId => MQTTAS_ERR_INVALID_PACKET_ID,
            EncodeError::EmptyFilterList => MQTTAS_ERR_EMPTY_FILTER_LIST,
            EncodeError::NotInVersion => MQTTAS_ERR_NOT_IN_VERSION,
            EncodeError::InvalidProperty(_) => MQTTAS_ERR_INVALID_PROPERTY,
            EncodeError::InvalidString => MQTTAS_ERR_INVALID_STRING,
            EncodeError::InvalidSubOptions => MQTTAS_ERR_INVALID_SUB_OPTIONS,
            EncodeError::InvalidReasonCode(_) => MQTTAS_ERR_INVALID_REASON_CODE,
            _ => MQTTAS_ERR_ENCODE_OTHER,
        }
    }
}

impl From<Error> for mqttas_result {
    #[allow(unreachable_patterns)]
    fn from(e: Error) -> Self {
        match e {
            Error::NotConnected => MQTTAS_ERR_NOT_CONNECTED,
            Error::AlreadyConnected => MQTTAS_ERR_ALREADY_CONNECTED,
            Error::StoreFull => MQTTAS_ERR_STORE_FULL,
            Error::TxFull => MQTTAS_ERR_TX_FULL,
            Error::TooManyPending => MQTTAS_ERR_TOO_MANY_PENDING,
            Error::TooLarge => MQTTAS_ERR_TOO_LARGE,
            Error::QoSNotSupported => MQTTAS_ERR_QOS_NOT_SUPPORTED,
            Error::RetainNotSupported => MQTTAS_ERR_RETAIN_NOT_SUPPORTED,
            Error::InvalidConfig(_) => MQTTAS_ERR_INVALID_CONFIG,
            Error::Encode(e) => e.into(),
            Error::Unsupported(_) => MQTTAS_ERR_UNSUPPORTED,
            Error::TopicAlias(_) => MQTTAS_ERR_TOPIC_ALIAS,
            _ => MQTTAS_ERR_SESSION_OTHER,
        }
    }
}

/// Whether `code` says that the call's input was wrong, so that the same
/// call fails again however long one waits: a mistake in the arguments
/// (codes 1 to 99), a value MQTT cannot carry (200 to 299), a packet that
/// can never fit (`MQTTAS_ERR_TOO_LARGE`), a configuration out of range
/// (`MQTTAS_ERR_INVALID_CONFIG`). False for `MQTTAS_OK` and for the
/// session's refusals of the moment (not connected, store or transmit
/// buffer full, a feature the broker or the build lacks), which a later
/// call may pass. A binding raises its "bad value" error for these
/// (Python: `ValueError`), so that it needs no table of codes.
#[no_mangle]
pub extern "C" fn mqttas_result_is_bad_input(code: u32) -> bool {
    // The one place the bands of `mqttas_result` are read as numbers.
    matches!(code, 1..=99 | 200..=299)
        || code == MQTTAS_ERR_TOO_LARGE as u32
        || code == MQTTAS_ERR_INVALID_CONFIG as u32
}

/// Turn a `Result<(), mqttas_result>` into the code returned to C.
pub(crate) fn code(r: Result<(), mqttas_result>) -> mqttas_result {
    match r {
        Ok(()) => MQTTAS_OK,
        Err(e) => e,
    }
}

// Every code with its text, the one place the two are paired.
super::text::c_texts!(
    TEXTS: [
        (MQTTAS_OK, "success"),
        (MQTTAS_ERR_NULL_POINTER, "a required pointer argument is NULL"),
        (MQTTAS_ERR_BUFFER_TOO_SMALL, "storage or output buffer too small"),
        (MQTTAS_ERR_MISALIGNED, "storage misaligned (see mqttas_*_align)"),
        (MQTTAS_ERR_NOT_INITIALIZED, "not initialised (see mqttas_*_init)"),
        (MQTTAS_ERR_INVALID_UTF8, "string argument is not valid UTF-8"),
        (MQTTAS_ERR_INVALID_ARGUMENT, "argument out of range"),
        (MQTTAS_ERR_TOO_MANY_ITEMS, "too many subscriptions or properties"),
        (MQTTAS_ERR_BUFFERS_OVERLAP, "buffers overlap"),
        (MQTTAS_ERR_UNKNOWN_PROPERTY, "unknown property identifier"),
        (MQTTAS_ERR_TOPIC_ALIAS, "topic alias refused: above the broker's maximum, not yet set, or no room in out_aliases"),
        (MQTTAS_ERR_USE_VECTORED, "borrowed payload: use mqttas_poll_transmit_vectored"),
        (MQTTAS_ERR_NOT_CONNECTED, "not connected"),
        (MQTTAS_ERR_ALREADY_CONNECTED, "already connected or connecting"),
        (MQTTAS_ERR_STORE_FULL, "message store full: wait for a publication"),
        (MQTTAS_ERR_TX_FULL, "transmit buffer full: send first"),
        (MQTTAS_ERR_TOO_MANY_PENDING, "too many (un)subscribes awaiting acknowledgement"),
        (MQTTAS_ERR_TOO_LARGE, "packet larger than the buffers or the broker's maximum"),
        (MQTTAS_ERR_QOS_NOT_SUPPORTED, "QoS not supported by the broker"),
        (MQTTAS_ERR_RETAIN_NOT_SUPPORTED, "retain not supported by the broker"),
        (MQTTAS_ERR_INVALID_CONFIG, "invalid configuration: a buffer or value out of range"),
        (MQTTAS_ERR_UNSUPPORTED, "left out of this build (MQTT 5.0 or QoS 2)"),
        (MQTTAS_ERR_SESSION_OTHER, "refused by the session"),
        (MQTTAS_ERR_STRING_TOO_LONG, "string longer than 65535 bytes"),
        (MQTTAS_ERR_PACKET_TOO_LARGE, "packet larger than MQTT allows"),
        (MQTTAS_ERR_EMPTY_TOPIC, "empty topic"),
        (MQTTAS_ERR_INVALID_TOPIC, "invalid topic (wildcard in a topic name, misplaced wildcard, or NUL)"),
        (MQTTAS_ERR_INVALID_PACKET_ID, "invalid packet identifier"),
        (MQTTAS_ERR_EMPTY_FILTER_LIST, "no topic filter"),
        (MQTTAS_ERR_NOT_IN_VERSION, "field not available in this MQTT version"),
        (MQTTAS_ERR_INVALID_PROPERTY, "property not allowed here or invalid"),
        (MQTTAS_ERR_INVALID_STRING, "string holds NUL"),
        (MQTTAS_ERR_INVALID_SUB_OPTIONS, "invalid subscription options"),
        (MQTTAS_ERR_INVALID_REASON_CODE, "reason code not allowed in this packet"),
        (MQTTAS_ERR_ENCODE_OTHER, "packet could not be encoded"),
    ],
    "unknown result code"
);

/// The text of a result code: a static NUL-terminated string, valid for
/// the life of the program, saying what happened and what to do. Never
/// NULL: an unknown code gives "unknown result code".
#[no_mangle]
pub extern "C" fn mqttas_strerror(code: u32) -> *const c_char {
    TEXTS.get(code)
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_have_text() {
        for (i, a) in TEXTS.keys.iter().enumerate() {
            for b in TEXTS.keys.iter().skip(i + 1) {
                assert_ne!(a, b);
            }
        }
        assert_eq!(TEXTS.keys.len(), 35);
        // One text per code and the fallback, each NUL-terminated.
        assert_eq!(TEXTS.blob.iter().filter(|&&b| b == 0).count(), 36);
        let text = |c: u32| {
            // SAFETY: the texts are static and NUL-terminated.
            unsafe { core::ffi::CStr::from_ptr(mqttas_strerror(c)) }
                .to_str()
                .unwrap()
        };
        assert_eq!(text(0), "success");
        assert_eq!(text(1), "a required pointer argument is NULL");
        assert_eq!(text(299), "packet could not be encoded");
        assert_eq!(text(98), "unknown result code");
        assert_eq!(text(u32::MAX), "unknown result code");
        for &k in TEXTS.keys {
            assert!(!text(k.into()).is_empty());
        }
    }
}
