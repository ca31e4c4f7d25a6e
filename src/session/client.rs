//! The client: its entry points (`handle_*` for what goes in, `poll_*` for
//! what comes out, the application's commands) over the connection
//! (`connection.rs`), the durable session (`durable.rs`), the inbound and
//! outbound flows (`inbound.rs`, `outbound.rs`) and the timers
//! (`timer.rs`).

use heapless::Vec;

use crate::time::Tick;
use crate::wire::{
    self, check_topic_filter, Auth, Connect, Disconnect, Packet, Properties, Property, QoS,
    ReasonCode, Subscribe, Subscription, Subscriptions, TopicFilters, Unsubscribe, Version,
};

use super::aliases::Aliases;
use super::connection::{Connection, Ping};
use super::desc::Desc;
use super::durable::Durable;
use super::event::{Awaited, LostReason};
use super::inbound::Step;
use super::outbound::{BorrowedPayload, Stored, Transmit, Tx};
use super::rx::Rx;
use super::stats::{Qos2Stats, Stats};
use super::store::Phase;
use super::{Config, ConfigError, ConnectOptions, Error, Event, Feature};

/// QoS 2 is compiled in (cargo feature `qos2`).
pub(super) const QOS2: bool = cfg!(feature = "qos2");

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

/// The caller-owned storage of a [`Client`]. `Default` is every buffer
/// empty: give at least `rx` and `tx` (`Buffers { rx, tx,
/// ..Default::default() }`).
#[derive(Default)]
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
    /// 5.0 outbound topic alias table: the topics the application set its
    /// aliases to (`publish` with a topic and a `TopicAlias`), so that a
    /// publication with an empty topic and an alias can be sent on any
    /// connection. Records of 5 bytes plus the topic. May be empty (then
    /// `publish` with a topic alias is refused).
    pub out_aliases: &'a mut [u8],
    /// Packet ids of the broker's QoS 2 messages between our PUBREC and its
    /// PUBREL, one `u16` each: at least `receive_maximum` (in a build with
    /// QoS 2). More lets the client take what brokers send beyond the
    /// receive maximum we announce (mosquitto 2.0.11 sends 84 to 153
    /// against 16: 256 covers it); see [`Qos2Stats`] for what happens when
    /// it is full.
    pub inbound_qos2: &'a mut [u16],
}

/// What [`Client::transmit`] found to send.
pub(crate) enum Next<'a> {
    /// These bytes.
    Send(Transmit<'a>),
    /// Nothing now.
    Nothing,
    /// A packet with a lent payload, left queued for `poll_transmit_vectored`.
    Lent,
}

/// Smallest receive and transmit buffers.
pub const MIN_BUFFER: usize = 64;

/// Extra CONNECT properties an application may give.
const MAX_CONNECT_PROPERTIES: usize = 12;

/// CONNECT properties: the application's and the four the session adds.
type ConnectProperties<'p> = Vec<Property<'p>, { MAX_CONNECT_PROPERTIES + 4 }>;

/// Everything but the receive buffer (split so a decoded packet can borrow
/// the receive buffer while the state changes).
pub(super) struct Core<'a> {
    pub cfg: Config,
    /// Latest time seen, the reference for comparing deadlines.
    pub now: Tick,
    pub tx: Tx<'a>,
    /// What outlives a connection.
    pub session: Durable<'a>,
    /// This connection, or how the last one ended.
    pub conn: Connection,
    /// The broker's topic aliases on this connection.
    pub aliases: Aliases<'a>,
}

/// An MQTT client session over caller-owned buffers.
///
/// The state itself is a few hundred bytes; all message data lives in the
/// [`Buffers`].
pub struct Client<'a> {
    pub(super) rx: Rx<'a>,
    pub(super) core: Core<'a>,
}

impl<'a> Client<'a> {
    /// A disconnected client. Fails when a buffer is below its minimum or a
    /// config value is out of range.
    pub fn new(config: Config, buffers: Buffers<'a>) -> Result<Self, Error> {
        Self::check(&config, &buffers)?;
        Ok(Self::build(config, buffers))
    }

    /// What [`Client::new`] refuses.
    pub(crate) fn check(config: &Config, buffers: &Buffers<'_>) -> Result<(), Error> {
        check(config, buffers)
    }

    /// [`Client::new`] for what [`Client::check`] accepted: infallible, so
    /// that the C API can write it straight into its storage (no `Result`
    /// built on the stack and copied).
    pub(crate) fn build(config: Config, buffers: Buffers<'a>) -> Self {
        Client {
            rx: Rx::new(buffers.rx),
            core: Core {
                cfg: config,
                now: Tick::default(),
                tx: Tx::new(buffers.tx),
                session: Durable::new(buffers.store, buffers.inbound_qos2, buffers.out_aliases),
                conn: Connection::none(&config),
                aliases: Aliases::new(buffers.aliases),
            },
        }
    }

    /// Zero the free room of the client's fixed-capacity arrays, where it
    /// lies. The C API calls it on the client it has just written into its
    /// storage: a value moved there may carry, in room it does not use, the
    /// bytes of the stack it was built on (see `src/ffi/handle.rs`).
    #[cfg(feature = "ffi-min")]
    pub(crate) fn clear_free_room(&mut self) {
        for r in self.core.conn.requests.spare_capacity_mut() {
            *r = core::mem::MaybeUninit::zeroed();
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.cfg
    }

    /// Connection state.
    pub fn state(&self) -> State {
        self.core.conn.state
    }

    /// The client identifier the broker assigned (5.0), empty if none.
    pub fn assigned_client_id(&self) -> &str {
        &self.core.session.assigned_id
    }

    /// The properties of the DISCONNECT with which a 5.0 broker ended the
    /// last connection ([`LostReason::ServerDisconnect`]), or of the
    /// CONNACK with which it refused it ([`LostReason::Refused`]): its
    /// reason string ([`Properties::reason_string`]), server reference
    /// ([`Properties::server_reference`], MQTT 5.0 4.11), user properties.
    /// Empty when the connection ended otherwise; valid until the next
    /// [`Client::connect`]. [`LostReason::with_properties`] makes the text
    /// that quotes them.
    pub fn disconnect_properties(&self) -> Properties<'_> {
        Properties::Raw(self.rx.bytes(self.core.conn.end.disconnect_props))
    }

    /// What the broker's inbound QoS 2 flow looked like since the client was
    /// made: the most messages awaiting PUBREL at once, those beyond our
    /// receive maximum, those delivered untracked or withheld when the id
    /// table was full.
    pub fn qos2_stats(&self) -> Qos2Stats {
        self.core.session.qos2_stats
    }

    /// Counters of the outbound flow since the client was made: the
    /// republications (PUBLISH sent again with DUP).
    pub fn stats(&self) -> Stats {
        self.core.session.stats
    }

    /// QoS 1/2 publications in the store (sent or not, not yet complete).
    pub fn pending_publications(&self) -> usize {
        let store = &self.core.session.store;
        store.total() - store.count(Phase::Done)
    }

    /// Drop what the previous call handed out, and take the time. Every
    /// call into the client begins here, mostly with nothing to drop.
    #[inline(never)]
    fn settle(&mut self, now: Tick) {
        self.core.now = now;
        if self.rx.consume > 0 || self.core.tx.out > 0 {
            self.drop_handed_out();
        }
    }

    /// The work of [`Client::settle`], when there is some.
    #[cold]
    #[inline(never)]
    fn drop_handed_out(&mut self) {
        self.rx.settle();
        self.core.tx.settle();
    }

    /// Queue CONNECT; the link must be up. Clean session is `clean_init` on
    /// the first connection and `clean` afterwards.
    pub fn connect(&mut self, now: u32, options: &ConnectOptions<'_>) -> Result<(), Error> {
        let now = Tick::from(now);
        self.settle(now);
        let c = &mut self.core;
        if c.conn.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        let (v, cfg) = (c.cfg.version, &c.cfg);
        let clean = if c.session.connected_once {
            cfg.clean
        } else {
            cfg.clean_init
        };
        let expiry = cfg
            .session_expiry
            .unwrap_or(if clean { 0 } else { u32::MAX });
        // Does the session outlive this connection?
        let kept = if v.is_v5() { expiry != 0 } else { !clean };
        let props = connect_properties(cfg, options, expiry)?;
        let assigned = c.session.assigned_id.clone();
        let client_id = if options.client_id.is_empty() {
            assigned.as_str()
        } else {
            options.client_id
        };
        let packet = Packet::Connect(Connect {
            clean_start: clean,
            keep_alive: cfg.keep_alive,
            client_id,
            will: options.will,
            username: options.username,
            password: options.password,
            properties: Properties::List(&props),
        });
        // A new connection starts from nothing but the durable session.
        c.tx.clear();
        c.tx_write(&packet)?;
        self.rx.clear();
        let c = &mut self.core;
        let auth = v.is_v5()
            && options
                .properties
                .iter()
                .any(|p| matches!(p, Property::AuthenticationMethod(_)));
        c.conn = Connection::new(&c.cfg, now, clean, kept && !c.cfg.clean, auth);
        c.aliases.clear();
        // The broker of the new connection knows none of our aliases.
        c.session.out_aliases.clear_synced();
        Ok(())
    }

    /// Publish. QoS 0 goes to the transmit buffer (needs a connection); QoS
    /// 1/2 is copied into the store (connected or not) and returns its packet
    /// id, later reported by [`Event::Published`]. Returns 0 for QoS 0.
    ///
    /// 5.0 topic aliases: with [`Property::TopicAlias`] among the
    /// properties, a topic sets the alias to it (in
    /// [`Buffers::out_aliases`], kept across connections) and an empty
    /// topic stands for the topic it was last set to. The alias must be
    /// within the broker's Topic Alias Maximum (its CONNACK's, the last
    /// one's while disconnected). A QoS 0 message goes with an empty topic
    /// when the broker has been sent the alias's topic on this connection,
    /// else with the topic and the alias (which sets it). A QoS 1/2 message
    /// is stored and may be sent again on a later connection, where the
    /// broker knows no alias: it goes with its whole topic and without the
    /// alias.
    pub fn publish(
        &mut self,
        now: u32,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        self.publish_any(now, topic, payload, None, qos, retain, properties)
    }

    /// [`Client::publish`] with a payload the application lends rather
    /// than has copied: only the PUBLISH's head (fixed header, topic,
    /// packet id, properties) goes to the transmit buffer (QoS 0) or the
    /// store (QoS 1/2, with the payload's token and length), and
    /// [`Client::poll_transmit_vectored`] asks for the payload by its token
    /// each time the PUBLISH goes out, straight from the application's
    /// object to the link. A message of any size then needs only room for
    /// its head; a client that lends payloads must take its bytes with
    /// [`Client::poll_transmit_vectored`].
    ///
    /// The application keeps the payload's bytes, unchanged, until the
    /// client is done with them:
    /// - QoS 1/2: until the [`Event::Published`] with the packet id
    ///   returned here (the store keeps the message across connections,
    ///   and sends it again, with DUP, from the same bytes), or for QoS 2
    ///   until [`Client::poll_returned`] gives that id (PUBREC came), if
    ///   that is sooner;
    /// - QoS 0: until `poll_transmit_vectored` hands it out, the next
    ///   [`Event::ConnectionLost`] (the client drops it unsent when the
    ///   connection is lost) or the next [`Client::connect`], whichever
    ///   comes first. At most one QoS 0 payload is lent at a time: while
    ///   it is, another QoS 0 `publish_borrowed` is [`Error::TxFull`]; so a
    ///   QoS 0 `publish_borrowed` that succeeds means that no earlier QoS 0
    ///   payload is lent any more.
    ///
    /// Everything else is as for [`Client::publish`].
    pub fn publish_borrowed(
        &mut self,
        now: u32,
        topic: &str,
        payload: BorrowedPayload,
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        self.publish_any(now, topic, &[], Some(payload), qos, retain, properties)
    }

    /// [`Client::publish`] with `payload`, or with the payload `lent`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn publish_any(
        &mut self,
        now: u32,
        topic: &str,
        payload: &[u8],
        lent: Option<BorrowedPayload>,
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        self.settle(Tick::from(now));
        let c = &mut self.core;
        let v = c.cfg.version;
        // (Alias 0 is no alias: the encoder refuses it as an invalid value.)
        let alias = if v.is_v5() {
            properties.iter().find_map(|p| match *p {
                Property::TopicAlias(a) if a != 0 => Some(a),
                _ => None,
            })
        } else {
            None
        };
        // (The topic is checked by the encoder, which writes nothing when
        // it refuses it, and before an alias is set to it.)
        let limits = &c.conn.limits;
        if qos == QoS::ExactlyOnce && !QOS2 {
            return Err(Error::Unsupported(Feature::Qos2));
        }
        if qos > limits.max_qos {
            return Err(Error::QoSNotSupported);
        }
        if retain && !limits.retain {
            return Err(Error::RetainNotSupported);
        }
        if !v.is_v5() && !properties.is_empty() {
            return Err(Error::Encode(wire::EncodeError::NotInVersion));
        }
        if qos == QoS::AtMostOnce && c.conn.state != State::Connected {
            // Nothing will be encoded: a bad topic is still said to be bad.
            if !(topic.is_empty() && alias.is_some()) {
                wire::check_topic_name(topic)?;
            }
            return Err(Error::NotConnected);
        }
        match alias {
            Some(alias) => c.publish_aliased(alias, topic, payload, lent, qos, retain, properties),
            None => c.publish_as_given(topic, payload, lent, qos, retain, properties),
        }
    }

    /// Queue SUBSCRIBE; returns its packet id, later reported by
    /// [`Event::Subscribed`].
    pub fn subscribe(
        &mut self,
        now: u32,
        subscriptions: &[Subscription<'_>],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = Tick::from(now);
        self.settle(now);
        for s in subscriptions {
            if s.options.qos == QoS::ExactlyOnce && !QOS2 {
                return Err(Error::Unsupported(Feature::Qos2));
            }
            check_topic_filter(s.filter)?;
        }
        let make = |packet_id| {
            Packet::Subscribe(Subscribe {
                packet_id,
                properties: Properties::List(properties),
                subscriptions: Subscriptions::List(subscriptions),
            })
        };
        self.core
            .request(now, Awaited::SubAck, subscriptions.len(), make)
    }

    /// Queue UNSUBSCRIBE; returns its packet id, later reported by
    /// [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: u32,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = Tick::from(now);
        self.settle(now);
        for f in filters {
            check_topic_filter(f)?;
        }
        let make = |packet_id| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                properties: Properties::List(properties),
                filters: TopicFilters::List(filters),
            })
        };
        self.core
            .request(now, Awaited::UnsubAck, filters.len(), make)
    }

    /// Queue PINGREQ now (the session also pings by itself).
    pub fn ping(&mut self, now: u32) -> Result<(), Error> {
        self.settle(Tick::from(now));
        let c = &mut self.core.conn;
        if c.state != State::Connected {
            return Err(Error::NotConnected);
        }
        if c.ping == Ping::Idle {
            c.ping = Ping::Queued;
        }
        Ok(())
    }

    /// Queue DISCONNECT (reason and properties in 5.0) after anything already
    /// queued; then [`Event::Disconnected`] tells the caller to close the
    /// link. Stored messages stay for the next connection.
    pub fn disconnect(
        &mut self,
        now: u32,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        self.settle(Tick::from(now));
        if self.core.conn.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        self.core.tx_write(&Packet::Disconnect(Disconnect {
            reason,
            properties: Properties::List(properties),
        }))?;
        self.go_down(None, true);
        Ok(())
    }

    /// Queue AUTH (5.0 enhanced authentication).
    pub fn auth(
        &mut self,
        now: u32,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        self.settle(Tick::from(now));
        let c = &mut self.core;
        if !c.cfg.version.is_v5() {
            return Err(Error::Encode(wire::EncodeError::NotInVersion));
        }
        if c.conn.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        c.tx_write(&Packet::Auth(Auth {
            reason,
            properties: Properties::List(properties),
        }))
    }

    /// Bytes received from the link. Returns how many were taken: fewer than
    /// given when the receive buffer is full (take events, then offer the
    /// rest again). Bytes arriving while disconnected are discarded.
    pub fn handle_input(&mut self, now: u32, data: &[u8]) -> usize {
        let now = Tick::from(now);
        self.settle(now);
        if self.core.conn.state == State::Disconnected {
            return data.len();
        }
        let n = self.rx.fill(data);
        if n > 0 {
            self.core.conn.last_rx = now;
        }
        n
    }

    /// Time has advanced: send pings, republish, declare timeouts.
    pub fn handle_timeout(&mut self, now: u32) {
        let now = Tick::from(now);
        self.settle(now);
        if let Some(reason) = self.core.expire_timers(now) {
            self.core.tx.clear();
            self.go_down(Some(reason), false);
        }
    }

    /// The link is down: the connection is lost (an
    /// [`Event::ConnectionLost`] follows if it was up).
    pub fn handle_link_down(&mut self, now: u32) {
        self.settle(Tick::from(now));
        if self.core.conn.state != State::Disconnected {
            self.core.tx.clear();
            self.go_down(Some(LostReason::LinkDown), false);
        }
    }

    /// Next bytes to send, valid until the next call into the client. The
    /// caller must send them all (or report the link down).
    ///
    /// For a client that publishes only with copied payloads: when the next
    /// packet has a lent payload ([`Client::publish_borrowed`]) this
    /// returns `None` and leaves it queued; take it with
    /// [`Client::poll_transmit_vectored`].
    pub fn poll_transmit(&mut self, now: u32) -> Option<&[u8]> {
        match self.transmit(now, false) {
            Next::Send(t) => Some(t.head),
            Next::Nothing | Next::Lent => None,
        }
    }

    /// Next bytes to send: the client's bytes in [`Transmit::head`], then
    /// those of the payload [`Transmit::payload`] names, if any, which the
    /// application lent to [`Client::publish_borrowed`]. The caller must
    /// send them all, in that order (or report the link down). The head is
    /// valid until the next call into the client.
    pub fn poll_transmit_vectored(&mut self, now: u32) -> Option<Transmit<'_>> {
        match self.transmit(now, true) {
            Next::Send(t) => Some(t),
            Next::Nothing | Next::Lent => None,
        }
    }

    /// The next bytes to send; one with a lent payload only if `vectored`.
    #[inline(always)]
    pub(crate) fn transmit(&mut self, now: u32, vectored: bool) -> Next<'_> {
        let now = Tick::from(now);
        self.settle(now);
        let c = &mut self.core;
        if c.tx.len > 0 {
            if c.tx.lent.is_some() && !vectored {
                return Next::Lent;
            }
            c.conn.last_tx = now;
            return Next::Send(c.tx.take());
        }
        if c.conn.state != State::Connected {
            return Next::Nothing;
        }
        let whole = |head| {
            Next::Send(Transmit {
                head,
                payload: None,
            })
        };
        if c.conn.ping == Ping::Queued {
            c.conn.ping = Ping::Outstanding(now);
            c.conn.last_tx = now;
            return whole(&wire::PINGREQ);
        }
        let Some(next) = c.next_stored(now, vectored) else {
            return Next::Nothing;
        };
        if !matches!(next, Stored::Lent) {
            c.conn.last_tx = now;
        }
        match next {
            Stored::Publish(r) => {
                let store = &c.session.store;
                Next::Send(Transmit {
                    head: store.packet(&r),
                    payload: store.lent(&r),
                })
            }
            Stored::PubRel => whole(&c.tx.scratch),
            Stored::Lent => Next::Lent,
        }
    }

    /// The packet id of a QoS 2 publication whose lent payload
    /// ([`Client::publish_borrowed`]) the client no longer needs, one per
    /// call, oldest first; `None` when there is none. A PUBREC came for
    /// it: the broker has the message, which is never sent again, so the
    /// application may free or reuse the payload now rather than at the
    /// [`Event::Published`] (after PUBCOMP) that still follows. Optional:
    /// an application that never asks keeps each lent payload until
    /// `Published`, as before.
    pub fn poll_returned(&mut self) -> Option<u16> {
        if !QOS2 {
            return None;
        }
        self.core.session.store.take_returned()
    }

    /// Next event, borrowing from the client until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.settle(self.core.now);
        let desc = self.next_desc()?;
        Some(self.view(desc))
    }

    /// When [`Client::handle_timeout`] must be called next, if at all.
    pub fn poll_deadline(&self) -> Option<u32> {
        self.core.next_deadline().map(Tick::millis)
    }

    /// The connection is over: keep the durable session (the store, to
    /// resend on the next connection, and the inbound QoS 2 ids), drop the
    /// rest but what is queued to send; `lost` and `disconnecting` are for
    /// the application to hear.
    fn go_down(&mut self, lost: Option<LostReason>, disconnecting: bool) {
        self.rx.clear();
        let c = &mut self.core;
        c.conn = c.conn.down(&c.cfg, lost, disconnecting);
        c.aliases.clear();
        // What awaited an answer is sent again.
        c.session.store.update_each(|r, _| {
            r.phase = match r.phase {
                Phase::AwaitAck => Phase::Unsent,
                Phase::AwaitComp => Phase::RelUnsent,
                p => p,
            };
            true
        });
    }

    /// The broker broke the protocol: queue a 5.0 DISCONNECT with the reason
    /// code, drop the connection and report why.
    pub(super) fn fail(&mut self, reason: LostReason) -> Step {
        // Acknowledgements already queued still go out before DISCONNECT;
        // a QoS 0 message whose payload is lent does not (the application
        // takes its payload back with the event).
        self.core.tx.drop_lent();
        self.go_down(None, false);
        let code = match reason {
            LostReason::Protocol(e) => Some(e.reason_code()),
            LostReason::ReceiveMaximumExceeded => Some(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
            LostReason::AliasTableFull => Some(ReasonCode::IMPLEMENTATION_SPECIFIC_ERROR),
            _ => None,
        };
        if let (Some(reason), true) = (code, self.core.cfg.version.is_v5()) {
            let d = Packet::Disconnect(Disconnect {
                reason,
                properties: Properties::default(),
            });
            if self.core.tx_write(&d).is_err() {
                // No room after the queued bytes: DISCONNECT alone (the
                // buffer is at least 64 bytes).
                self.core.tx.clear();
                let _ = self.core.tx_write(&d);
            }
        }
        Step::Event(Desc::Lost(reason))
    }

    fn next_desc(&mut self) -> Option<Desc> {
        let c = &mut self.core;
        if let Some(reason) = c.conn.end.lost.take() {
            return Some(Desc::Lost(reason));
        }
        if c.conn.end.disconnecting && c.tx.len == 0 {
            c.conn.end.disconnecting = false;
            return Some(Desc::Disconnected);
        }
        let store = &mut c.session.store;
        let done = match store.count(Phase::Done) {
            0 => None,
            _ => store.find_by(Phase::Done.bit(), None),
        };
        if let Some(r) = done {
            store.remove(&r);
            return Some(Desc::Published {
                packet_id: r.packet_id,
                reason: ReasonCode(r.reason),
            });
        }
        loop {
            match self.step() {
                Step::Event(d) => return Some(d),
                Step::Continue => self.rx.settle(),
                Step::Wait => return None,
            }
        }
    }
}

/// Check a configuration and buffers for [`Client::new`].
fn check(config: &Config, buffers: &Buffers<'_>) -> Result<(), Error> {
    if config.version.unsupported() {
        return Err(Error::Unsupported(Feature::V5));
    }
    if buffers.rx.len() < MIN_BUFFER {
        return Err(Error::InvalidConfig(ConfigError::RxBuffer));
    }
    if buffers.tx.len() < MIN_BUFFER {
        return Err(Error::InvalidConfig(ConfigError::TxBuffer));
    }
    if config.response_time_ms == 0 || config.response_time_ms > i32::MAX as u32 / 2 {
        return Err(Error::InvalidConfig(ConfigError::ResponseTime));
    }
    if config.ping_interval_ms > i32::MAX as u32 / 2 {
        return Err(Error::InvalidConfig(ConfigError::PingInterval));
    }
    if config.max_inflight == 0 {
        return Err(Error::InvalidConfig(ConfigError::MaxInflight));
    }
    if config.receive_maximum == 0 {
        return Err(Error::InvalidConfig(ConfigError::ReceiveMaximum));
    }
    if QOS2 && buffers.inbound_qos2.len() < usize::from(config.receive_maximum) {
        return Err(Error::InvalidConfig(ConfigError::InboundQos2));
    }
    if config.topic_alias_maximum > 0
        && (config.version != Version::V5 || buffers.aliases.len() < 8)
    {
        return Err(Error::InvalidConfig(ConfigError::TopicAliasMaximum));
    }
    Ok(())
}

/// The properties of a CONNECT: the application's (5.0 only) after those
/// the session adds from the configuration, with session expiry `expiry`.
fn connect_properties<'p>(
    cfg: &Config,
    options: &ConnectOptions<'p>,
    expiry: u32,
) -> Result<ConnectProperties<'p>, Error> {
    let mut props = ConnectProperties::new();
    if !cfg.version.is_v5() {
        if !options.properties.is_empty() {
            return Err(Error::Encode(wire::EncodeError::NotInVersion));
        }
        return Ok(props);
    }
    if expiry != 0 {
        let _ = props.push(Property::SessionExpiryInterval(expiry));
    }
    if cfg.receive_maximum != u16::MAX {
        let _ = props.push(Property::ReceiveMaximum(cfg.receive_maximum));
    }
    if cfg.maximum_packet_size != 0 {
        let _ = props.push(Property::MaximumPacketSize(cfg.maximum_packet_size));
    }
    if cfg.topic_alias_maximum != 0 {
        let _ = props.push(Property::TopicAliasMaximum(cfg.topic_alias_maximum));
    }
    for p in options.properties {
        props
            .push(*p)
            .map_err(|_| Error::InvalidConfig(ConfigError::ConnectProperties))?;
    }
    Ok(props)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packet_ids_skip_those_in_use_once_they_wrap() {
        let (mut rx, mut tx, mut store) = ([0u8; 64], [0u8; 64], [0u8; 256]);
        let mut ids = [0u16; 16];
        let buffers = Buffers {
            rx: &mut rx,
            tx: &mut tx,
            store: &mut store,
            inbound_qos2: &mut ids,
            ..Default::default()
        };
        let mut c = Client::new(Config::default(), buffers).unwrap();
        // Stored, unacknowledged: ids 1 and 2.
        assert_eq!(c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]), Ok(1));
        assert_eq!(c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]), Ok(2));
        assert!(!c.core.session.ids_wrapped);
        // Before the ids wrap, the next one is free without a look.
        c.core.session.next_packet_id = 65534;
        assert_eq!(
            c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]),
            Ok(65535)
        );
        // After: 1 and 2 are still in use.
        assert_eq!(c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]), Ok(3));
        assert!(c.core.session.ids_wrapped);
        assert_eq!(c.pending_publications(), 4);
    }
}
