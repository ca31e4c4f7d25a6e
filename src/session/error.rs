//! Errors of application commands.

use core::fmt;

use crate::wire::EncodeError;

/// Why a command (connect, publish, subscribe, ...) was not accepted.
///
/// Nothing was queued for sending when a command returns an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// Not connected: QoS 0 publish, subscribe, unsubscribe, ping and
    /// disconnect need a connection (QoS 1/2 publish does not: it is stored).
    NotConnected,
    /// `connect` while connecting or connected.
    AlreadyConnected,
    /// The message store is full: wait for [`crate::Event::Published`] and retry.
    StoreFull,
    /// The transmit buffer has no room now: drain `poll_transmit` and retry.
    TxFull,
    /// Too many SUBSCRIBE/UNSUBSCRIBE awaiting their acknowledgement: wait
    /// for one and retry.
    TooManyPending,
    /// The packet can never fit: larger than the store or transmit buffer,
    /// or than the broker's maximum packet size.
    TooLarge,
    /// The broker does not support this QoS (5.0 maximum QoS).
    QoSNotSupported,
    /// The broker does not support retained messages (5.0).
    RetainNotSupported,
    /// A buffer is smaller than the minimum, or a config value is out of range.
    InvalidConfig(&'static str),
    /// The packet could not be encoded: invalid topic, string too long, ...
    Encode(EncodeError),
    /// This build of the library leaves out what the call needs (MQTT 5.0
    /// without the cargo feature `v5`, QoS 2 without `qos2`).
    Unsupported(&'static str),
    /// A PUBLISH topic alias (5.0) the client cannot send: above the
    /// broker's Topic Alias Maximum (0 when its CONNACK gave none), used
    /// with an empty topic before it was set with one, or no room for it
    /// in the outbound alias table.
    TopicAlias(&'static str),
}

impl From<EncodeError> for Error {
    fn from(e: EncodeError) -> Self {
        match e {
            EncodeError::BufferTooSmall { .. } => Error::TooLarge,
            e => Error::Encode(e),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::NotConnected => f.write_str("not connected"),
            Error::AlreadyConnected => f.write_str("already connected or connecting"),
            Error::StoreFull => {
                f.write_str("message store full: wait for a publication to complete")
            }
            Error::TxFull => f.write_str("transmit buffer full: send pending bytes first"),
            Error::TooManyPending => {
                f.write_str("too many subscribe/unsubscribe requests awaiting acknowledgement")
            }
            Error::TooLarge => {
                f.write_str("packet larger than the buffers or the broker's maximum packet size")
            }
            Error::QoSNotSupported => f.write_str("QoS not supported by the broker"),
            Error::RetainNotSupported => f.write_str("retain not supported by the broker"),
            Error::InvalidConfig(what) => write!(f, "invalid configuration: {what}"),
            Error::Encode(e) => write!(f, "{e}"),
            Error::Unsupported(what) => write!(f, "not supported by this build: {what}"),
            Error::TopicAlias(what) => write!(f, "topic alias refused: {what}"),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
