//! What the session counts for the application: figures a binding or a
//! test reads without looking at the bytes that go out.

/// Counters of the outbound flow since the client was made (from
/// [`crate::Client::stats`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// QoS 1/2 PUBLISH packets sent again with DUP set: republications on
    /// the same connection (3.1.1, `max_repubs`) and resends on a later
    /// connection of a kept session. (mqtt_as's `REPUB_COUNT`.)
    pub republished: u32,
}

/// What the broker's QoS 2 flow looked like, since the client was made
/// (from [`crate::Client::qos2_stats`]).
///
/// A broker may send no more unreleased QoS 2 messages than the receive
/// maximum we announce (5.0), yet some send more (mosquitto 2.0.11: 84 to
/// 153 against 16). The client takes them while its id table has room;
/// when it is full it withholds them (a kept session: the broker sends them
/// again on the next connection) or delivers them untracked (a clean
/// session, where nothing would be sent again).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Qos2Stats {
    /// Most inbound QoS 2 messages awaiting PUBREL at once.
    pub peak_unreleased: u16,
    /// 5.0: messages that came while `receive_maximum` or more were
    /// awaiting PUBREL (the broker's excess over our announced maximum).
    pub beyond_receive_maximum: u32,
    /// Messages delivered and acknowledged without their id kept, the id
    /// table being full on a clean session: a broker sends no PUBLISH again
    /// after PUBREC on a connection, and nothing on the next one.
    pub untracked: u32,
    /// Messages withheld (neither delivered nor acknowledged), the id table
    /// being full on a kept session: the client reconnects
    /// ([`crate::session::LostReason::ReceiveMaximumExceeded`]) and the
    /// broker sends them again.
    pub withheld: u32,
}
