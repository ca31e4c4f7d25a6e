//! Session configuration and connect options.

use crate::wire::{Property, Version, Will};

/// Settings fixed for the life of a [`crate::Client`]. Defaults follow mqtt_as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    /// Protocol version. Default 3.1.1.
    pub version: Version,
    /// Keep alive in seconds sent in CONNECT (mqtt_as `keepalive`). Default 60.
    pub keep_alive: u16,
    /// Ping when nothing was received or sent for this long (ms); 0 means a
    /// quarter of the keep alive (mqtt_as `ping_interval`). Default 0.
    pub ping_interval_ms: u32,
    /// How long to wait for any awaited reply before declaring the connection
    /// lost (mqtt_as `response_time`). Default 10 000 ms.
    ///
    /// A PINGRESP may wait behind a backlog of what the broker sends (TCP
    /// delivers in order): while bytes keep arriving, it is awaited until
    /// this long after the last of them, but no longer than this plus one
    /// and a half keep alive periods after the PINGREQ (the time a broker
    /// gives its client, MQTT 3.1.2.10), so that a broker that sends but
    /// never answers is still left. mqtt_as counts any packet received as
    /// a sign of life, without that bound.
    pub response_time_ms: u32,
    /// 3.1.1: times an unacknowledged QoS 1/2 PUBLISH is sent again on the
    /// same connection before the connection is declared lost. Default 4.
    /// (5.0 forbids resending on the same connection: it goes straight to
    /// connection lost.)
    pub max_repubs: u8,
    /// Clean session for the first connection. Default true.
    pub clean_init: bool,
    /// Clean session for later connections. Default true.
    pub clean: bool,
    /// Outbound in-flight window: QoS 1/2 publications outstanding at once
    /// (lowered to the broker's receive maximum in 5.0). Default 8.
    pub max_inflight: u16,
    /// Inbound QoS 1/2 messages the broker may have outstanding (5.0 receive
    /// maximum), at most the ids of the inbound QoS 2 table
    /// ([`crate::session::Buffers::inbound_qos2`]). Default 16. A broker
    /// that overshoots it is followed up to the table's size.
    pub receive_maximum: u16,
    /// 5.0 session expiry interval in seconds. `None`: 0 for a clean
    /// connection, never expire otherwise (the 3.1.1 meaning of clean).
    pub session_expiry: Option<u32>,
    /// Maximum packet size we accept, 0 for none. 5.0 announces it in
    /// CONNECT (property 0x27; a larger packet is a protocol error:
    /// DISCONNECT 0x95). 3.1.1 cannot announce it: a larger PUBLISH is
    /// skipped ([`crate::Event::MessageSkipped`]: read, dropped and
    /// acknowledged). Below it, a message larger than the receive buffer is
    /// delivered in chunks. Default 0: the core never holds a whole
    /// message, so the limit is the application's (the clients of this
    /// repository set 65536).
    pub maximum_packet_size: u32,
    /// 5.0 topic alias maximum we accept (needs alias storage). Default 0.
    pub topic_alias_maximum: u16,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            version: Version::V311,
            keep_alive: 60,
            ping_interval_ms: 0,
            response_time_ms: 10_000,
            max_repubs: 4,
            clean_init: true,
            clean: true,
            max_inflight: 8,
            receive_maximum: 16,
            session_expiry: None,
            maximum_packet_size: 0,
            topic_alias_maximum: 0,
        }
    }
}

/// What CONNECT carries besides the [`Config`]: given on each connect, copied
/// into the transmit buffer at once, so nothing here needs to outlive the call.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConnectOptions<'a> {
    /// Client identifier; empty lets a 5.0 broker assign one (kept for
    /// later connections) or a 3.1.1 broker accept a clean session.
    pub client_id: &'a str,
    /// User name.
    pub username: Option<&'a str>,
    /// Password.
    pub password: Option<&'a [u8]>,
    /// Last will.
    pub will: Option<Will<'a>>,
    /// Extra 5.0 CONNECT properties (user properties, authentication method
    /// and data, request problem/response information). The session adds
    /// session expiry, receive maximum, maximum packet size and topic alias
    /// maximum from the [`Config`].
    pub properties: &'a [Property<'a>],
}
