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
    InvalidConfig(ConfigError),
    /// The packet could not be encoded: invalid topic, string too long, ...
    Encode(EncodeError),
    /// This build of the library leaves out what the call needs (MQTT 5.0
    /// without the cargo feature `v5`, QoS 2 without `qos2`).
    Unsupported(Feature),
    /// A PUBLISH topic alias (5.0) the client cannot send: above the
    /// broker's Topic Alias Maximum (0 when its CONNACK gave none), used
    /// with an empty topic before it was set with one, or no room for it
    /// in the outbound alias table.
    TopicAlias(AliasError),
}

// The three details below are codes whose texts only `Display` reads, so
// that a program that never prints an error (the C library maps each to
// a number) carries none of them.

/// What [`Error::InvalidConfig`] found out of range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigError {
    /// The receive buffer is below 64 bytes.
    RxBuffer,
    /// The transmit buffer is below 64 bytes.
    TxBuffer,
    /// `response_time_ms` is 0 or above 2^30.
    ResponseTime,
    /// `ping_interval_ms` is above 2^30.
    PingInterval,
    /// `max_inflight` is 0.
    MaxInflight,
    /// `receive_maximum` is 0.
    ReceiveMaximum,
    /// The inbound QoS 2 id table holds fewer than `receive_maximum` ids.
    InboundQos2,
    /// `topic_alias_maximum` without MQTT 5.0 or an alias buffer.
    TopicAliasMaximum,
    /// More extra CONNECT properties than the session's list holds.
    ConnectProperties,
}

impl ConfigError {
    /// What is wrong, e.g. "receive buffer below 64 bytes".
    pub fn description(self) -> &'static str {
        match self {
            ConfigError::RxBuffer => "receive buffer below 64 bytes",
            ConfigError::TxBuffer => "transmit buffer below 64 bytes",
            ConfigError::ResponseTime => "response_time out of range",
            ConfigError::PingInterval => "ping_interval out of range",
            ConfigError::MaxInflight => "max_inflight must be at least 1",
            ConfigError::ReceiveMaximum => "receive_maximum must be at least 1",
            ConfigError::InboundQos2 => "inbound QoS 2 id table below receive_maximum ids",
            ConfigError::TopicAliasMaximum => {
                "topic_alias_maximum needs MQTT 5.0 and an alias buffer"
            }
            ConfigError::ConnectProperties => "too many CONNECT properties",
        }
    }
}

/// A protocol feature a build may leave out ([`Error::Unsupported`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Feature {
    /// MQTT 5.0, cargo feature `v5`.
    V5,
    /// QoS 2, cargo feature `qos2`.
    Qos2,
}

impl Feature {
    /// The feature and its cargo feature, e.g. "QoS 2 (cargo feature qos2)".
    pub fn description(self) -> &'static str {
        match self {
            Feature::V5 => "MQTT 5.0 (cargo feature v5)",
            Feature::Qos2 => "QoS 2 (cargo feature qos2)",
        }
    }
}

/// Why a topic alias was refused ([`Error::TopicAlias`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AliasError {
    /// The broker takes no alias (Topic Alias Maximum 0 or absent).
    NoneAllowed,
    /// Above the broker's Topic Alias Maximum.
    AboveMaximum,
    /// More than 16 other properties with a QoS 1/2 alias.
    TooManyProperties,
    /// An empty topic with an alias never set with a topic.
    NeverSet,
    /// No room in the outbound alias table (`out_aliases`).
    TableFull,
}

impl AliasError {
    /// Why, e.g. "above the broker's Topic Alias Maximum".
    pub fn description(self) -> &'static str {
        match self {
            AliasError::NoneAllowed => {
                "the broker accepts no topic alias (Topic Alias Maximum 0 or absent)"
            }
            AliasError::AboveMaximum => "above the broker's Topic Alias Maximum",
            AliasError::TooManyProperties => "more than 16 other properties with a topic alias",
            AliasError::NeverSet => "an empty topic with an alias that was never set with a topic",
            AliasError::TableFull => "no room in the outbound alias table (out_aliases)",
        }
    }
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
            Error::InvalidConfig(what) => {
                write!(f, "invalid configuration: {}", what.description())
            }
            Error::Encode(e) => write!(f, "{e}"),
            Error::Unsupported(what) => {
                write!(f, "not supported by this build: {}", what.description())
            }
            Error::TopicAlias(what) => write!(f, "topic alias refused: {}", what.description()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}
