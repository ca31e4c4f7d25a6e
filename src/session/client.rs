//! The client state machine.

use crate::wire::{Property, QoS, ReasonCode, Subscription};

use super::{Config, ConnectOptions, Error, Event};

/// Inbound QoS 2 packet ids remembered between PUBREC and PUBREL (the most
/// a broker may have outstanding towards us).
pub const INBOUND_QOS2_CAPACITY: usize = 32;

/// SUBSCRIBE/UNSUBSCRIBE awaiting SUBACK/UNSUBACK at once.
pub const MAX_PENDING_REQUESTS: usize = 8;

/// Connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// No connection: call [`Client::connect`] once the link is up.
    Disconnected,
    /// CONNECT queued, waiting for CONNACK.
    Connecting,
    /// CONNACK accepted.
    Connected,
}

/// The caller-owned storage of a [`Client`].
pub struct Buffers<'a> {
    /// Receive buffer: the largest packet taken whole; larger PUBLISH
    /// payloads arrive in chunks. At least 64 bytes.
    pub rx: &'a mut [u8],
    /// Transmit buffer for control packets and QoS 0 publications. At
    /// least 64 bytes.
    pub tx: &'a mut [u8],
    /// Store of QoS 1/2 publications awaiting acknowledgement, kept across
    /// reconnections. May be empty (then only QoS 0 can be published).
    pub store: &'a mut [u8],
    /// 5.0 inbound topic alias table. May be empty (then
    /// `topic_alias_maximum` must be 0).
    pub aliases: &'a mut [u8],
}

/// An MQTT client session over caller-owned buffers.
pub struct Client<'a> {
    _b: Buffers<'a>,
    _c: Config,
}

impl<'a> Client<'a> {
    /// A disconnected client. Fails when a buffer is below its minimum or a
    /// config value is out of range.
    pub fn new(config: Config, buffers: Buffers<'a>) -> Result<Self, Error> {
        let _ = (config, buffers);
        todo!()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        todo!()
    }

    /// Connection state.
    pub fn state(&self) -> State {
        todo!()
    }

    /// Queue CONNECT; the link must be up. Clean session is `clean_init` on
    /// the first connection and `clean` afterwards.
    pub fn connect(&mut self, now: u32, options: &ConnectOptions<'_>) -> Result<(), Error> {
        let _ = (now, options);
        todo!()
    }

    /// Publish. QoS 0 goes to the transmit buffer (needs a connection); QoS
    /// 1/2 is copied into the store (connected or not) and returns its packet
    /// id, later reported by [`Event::Published`]. Returns 0 for QoS 0.
    pub fn publish(
        &mut self,
        now: u32,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let _ = (now, topic, payload, qos, retain, properties);
        todo!()
    }

    /// Queue SUBSCRIBE; returns its packet id, later reported by
    /// [`Event::Subscribed`].
    pub fn subscribe(
        &mut self,
        now: u32,
        subscriptions: &[Subscription<'_>],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let _ = (now, subscriptions, properties);
        todo!()
    }

    /// Queue UNSUBSCRIBE; returns its packet id, later reported by
    /// [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: u32,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let _ = (now, filters, properties);
        todo!()
    }

    /// Queue PINGREQ now (the session also pings by itself).
    pub fn ping(&mut self, now: u32) -> Result<(), Error> {
        let _ = now;
        todo!()
    }

    /// Queue DISCONNECT (reason and properties in 5.0); then
    /// [`Event::Disconnected`] tells the caller to close the link. Stored
    /// messages stay for the next connection.
    pub fn disconnect(
        &mut self,
        now: u32,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        let _ = (now, reason, properties);
        todo!()
    }

    /// Queue AUTH (5.0 enhanced authentication).
    pub fn auth(
        &mut self,
        now: u32,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        let _ = (now, reason, properties);
        todo!()
    }

    /// Bytes received from the link. Returns how many were taken: fewer than
    /// given when the receive buffer is full (take events, then offer the
    /// rest again).
    pub fn handle_input(&mut self, now: u32, data: &[u8]) -> usize {
        let _ = (now, data);
        todo!()
    }

    /// Time has advanced: send pings, republish, declare timeouts.
    pub fn handle_timeout(&mut self, now: u32) {
        let _ = now;
        todo!()
    }

    /// The link is down: the connection is lost (an
    /// [`Event::ConnectionLost`] follows if it was up).
    pub fn handle_link_down(&mut self, now: u32) {
        let _ = now;
        todo!()
    }

    /// Next bytes to send, valid until the next call into the client. The
    /// caller must send them all (or report the link down).
    pub fn poll_transmit(&mut self, now: u32) -> Option<&[u8]> {
        let _ = now;
        todo!()
    }

    /// Next event, borrowing from the client until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        todo!()
    }

    /// When [`Client::handle_timeout`] must be called next, if at all.
    pub fn poll_deadline(&self) -> Option<u32> {
        todo!()
    }

    /// QoS 1/2 publications in the store (sent or not, not yet complete).
    pub fn pending_publications(&self) -> usize {
        todo!()
    }
}
