//! The client state machine.

use heapless::Vec;

use crate::wire::{
    check_topic_filter, check_topic_name, decode_body_from_server, decode_fixed_header,
    decode_publish_head, Ack, Auth, ConnAck, Connect, DecodeError, Disconnect, FixedHeader, Packet,
    PacketType, Properties, Property, Publish, QoS, ReasonCode, Subscribe, Subscription,
    Subscriptions, TopicFilters, Unsubscribe, Version,
};

use super::aliases::Aliases;
use super::event::{Awaited, LostReason, Message, MessageStart};
use super::qos2::{Qos2Ids, Qos2Stats};
use super::store::{Phase, Record, Store};
use super::time::{earliest, reached};
use super::{Config, ConnectOptions, Error, Event};

/// Longest client identifier a 5.0 broker may assign that is kept (none
/// without 5.0, which has no assigned identifiers).
const ASSIGNED_ID_CAPACITY: usize = if cfg!(feature = "v5") { 64 } else { 0 };

/// QoS 2 is compiled in (cargo feature `qos2`).
const QOS2: bool = cfg!(feature = "qos2");

/// What `Error::Unsupported` names for a QoS 2 request without the feature.
const NO_QOS2: &str = "QoS 2 (cargo feature qos2)";

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

/// Smallest receive and transmit buffers.
pub const MIN_BUFFER: usize = 64;

/// Room kept in the transmit buffer before taking a packet that may need an
/// answer (PUBACK, PUBREC, PUBREL or PUBCOMP: at most 4 bytes without
/// properties, and a 5.0 reason code).
const ACK_ROOM: usize = 5;

/// Extra CONNECT properties an application may give.
const MAX_CONNECT_PROPERTIES: usize = 12;

/// Properties besides the topic alias of a QoS 1/2 publication with one.
const MAX_ALIASED_PROPERTIES: usize = 16;

/// PINGREQ. A `static` so that its bytes get a section of their own: as a
/// constant ending in 0 they would land in the mergeable string section and
/// keep every text of the C API alive in programs that never use one.
static PINGREQ: [u8; 2] = [0xC0, 0];

/// A range of the receive buffer.
type Span = (usize, usize);

/// Where a topic lives: the receive buffer or the alias table.
#[derive(Clone, Copy, Debug)]
enum Topic {
    Rx(Span),
    Alias(Span),
}

/// An event described by ranges, turned into borrowed [`Event`]s at the end
/// of `poll_event` (so the state machine can mutate freely before).
#[derive(Clone, Copy, Debug)]
enum Desc {
    Connected {
        session_present: bool,
        props: Span,
    },
    Message {
        topic: Topic,
        payload: Span,
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: u16,
        props: Span,
    },
    Start {
        topic: Topic,
        total: u32,
        qos: QoS,
        retain: bool,
        dup: bool,
        packet_id: u16,
        props: Span,
    },
    Chunk(Span),
    End,
    Skipped {
        topic: Topic,
        size: u32,
        qos: QoS,
        packet_id: u16,
    },
    Published {
        packet_id: u16,
        reason: ReasonCode,
    },
    Subscribed {
        packet_id: u16,
        codes: Span,
        props: Span,
    },
    Unsubscribed {
        packet_id: u16,
        codes: Span,
        props: Span,
    },
    Auth {
        reason: ReasonCode,
        props: Span,
    },
    Lost(LostReason),
    Disconnected,
}

/// What one step of input processing produced.
enum Step {
    Event(Desc),
    /// A packet was handled without an event: look at the next one.
    Continue,
    /// Nothing more until more input arrives or the transmit buffer drains.
    Wait,
}

/// A chunked inbound PUBLISH being delivered.
#[derive(Clone, Copy, Debug)]
struct Chunked {
    remaining: u32,
    qos: QoS,
    packet_id: u16,
    fate: Fate,
}

/// What becomes of an inbound PUBLISH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Deliver and acknowledge.
    Deliver,
    /// A QoS 2 message already delivered: acknowledge again only.
    Duplicate,
    /// A QoS 2 message the id table cannot track on a session the broker
    /// resumes: neither deliver nor acknowledge, so the broker keeps it and
    /// sends it again on the next connection.
    Withhold,
    /// A QoS 2 message the id table cannot track on a session that ends
    /// with the connection, where nothing would be sent again: deliver and
    /// acknowledge it without keeping its id (a broker sends no PUBLISH
    /// again after our PUBREC on a connection).
    Untracked,
    /// A 3.1.1 message above our maximum packet size: read and drop its
    /// bytes, acknowledge it (so it is not sent again), report it skipped.
    Skip,
}

impl Fate {
    /// The application gets the message.
    fn delivers(self) -> bool {
        matches!(self, Fate::Deliver | Fate::Untracked)
    }
}

/// A packet from the store to send.
enum Stored {
    /// A PUBLISH, sent from the store itself.
    Publish(Record),
    /// A PUBREL, written to the scratch buffer.
    PubRel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ping {
    Idle,
    Queued,
    Outstanding(u32),
}

#[derive(Clone, Copy, Debug)]
struct Request {
    packet_id: u16,
    /// Topic filters asked for: the SUBACK or UNSUBACK has a code for each.
    filters: u16,
    kind: Awaited,
    sent_at: u32,
}

struct Rx<'a> {
    buf: &'a mut [u8],
    /// Received bytes not yet taken are `buf[start..len]`: taking a packet
    /// moves `start` only; what is left moves down when more bytes come.
    start: usize,
    len: usize,
    /// Bytes handed out by the last event, dropped at the next call.
    consume: usize,
    chunk: Option<Chunked>,
}

impl Rx<'_> {
    fn settle(&mut self) {
        if self.consume > 0 {
            self.start = self.len.min(self.start + self.consume);
            self.consume = 0;
            if self.start == self.len {
                self.start = 0;
                self.len = 0;
            }
        }
    }

    /// Bytes received and not yet taken.
    fn avail(&self) -> usize {
        self.len - self.start
    }

    fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
        self.consume = 0;
        self.chunk = None;
    }

    fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.len).unwrap_or(&[])
    }

    fn span(&self, part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(self.buf.as_ptr() as usize);
        (start, start.wrapping_add(part.len()))
    }

    fn props_span(&self, p: &Properties<'_>) -> Span {
        match p {
            Properties::Raw(b) => self.span(b),
            Properties::List(_) => (0, 0),
        }
    }

    fn bytes(&self, s: Span) -> &[u8] {
        self.buf.get(s.0..s.1).unwrap_or(&[])
    }
}

/// Everything but the receive buffer (split so a decoded packet can borrow
/// the receive buffer while the state changes).
struct Core<'a> {
    cfg: Config,
    tx: &'a mut [u8],
    tx_len: usize,
    /// The transmit buffer was handed out by `poll_transmit`: empty it at the
    /// next call.
    tx_out: bool,
    scratch: [u8; 4],
    store: Store<'a>,
    aliases: Aliases<'a>,
    out_aliases: Aliases<'a>,
    /// The broker's Topic Alias Maximum (CONNACK; 0 when absent), kept
    /// from the last connection while disconnected.
    server_alias_max: u16,
    state: State,
    now: u32,
    connected_once: bool,
    /// Clean session / clean start asked for in the current CONNECT.
    clean_requested: bool,
    /// The broker sends again, on the next connection, what it did not
    /// have acknowledged on this one: the session outlives this connection
    /// (3.1.1 clean session 0, 5.0 session expiry above 0) and the next
    /// one resumes it (`clean` false).
    resumes: bool,
    /// A QoS 2 message was withheld on this connection (see [`Fate`]).
    withholding: bool,
    /// QoS 2 messages delivered untracked on this connection whose PUBREL
    /// has not come (a PUBREL for an id we do not know then gets PUBCOMP
    /// success rather than 5.0's 0x92).
    untracked_open: u16,
    qos2_stats: Qos2Stats,
    /// The current CONNECT named an authentication method (5.0 AUTH allowed).
    auth_method_sent: bool,
    next_packet_id: u16,
    /// `next_packet_id` went past 65535 once: an id may be in use again.
    ids_wrapped: bool,
    connect_sent: u32,
    last_rx: u32,
    last_tx: u32,
    ping: Ping,
    requests: Vec<Request, MAX_PENDING_REQUESTS>,
    inbound_qos2: Qos2Ids<'a>,
    /// Limits of the current connection (5.0 CONNACK).
    keep_alive: u16,
    server_receive_max: u16,
    server_max_packet: u32,
    server_max_qos: QoS,
    retain_available: bool,
    assigned_id: heapless::String<ASSIGNED_ID_CAPACITY>,
    lost: Option<LostReason>,
    /// The properties of the broker's DISCONNECT that ended the connection
    /// (5.0), in the receive buffer: nothing overwrites them until the next
    /// `connect`.
    disconnect_props: Span,
    /// `disconnect()` was called: report [`Event::Disconnected`] once the
    /// DISCONNECT has been handed out.
    disconnecting: bool,
}

/// An MQTT client session over caller-owned buffers.
///
/// The state itself is a few hundred bytes; all message data lives in the
/// [`Buffers`].
pub struct Client<'a> {
    rx: Rx<'a>,
    core: Core<'a>,
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
        if config.version.unsupported() {
            return Err(Error::Unsupported("MQTT 5.0 (cargo feature v5)"));
        }
        if buffers.rx.len() < MIN_BUFFER {
            return Err(Error::InvalidConfig("receive buffer below 64 bytes"));
        }
        if buffers.tx.len() < MIN_BUFFER {
            return Err(Error::InvalidConfig("transmit buffer below 64 bytes"));
        }
        if config.response_time_ms == 0 || config.response_time_ms > i32::MAX as u32 / 2 {
            return Err(Error::InvalidConfig("response_time out of range"));
        }
        if config.ping_interval_ms > i32::MAX as u32 / 2 {
            return Err(Error::InvalidConfig("ping_interval out of range"));
        }
        if config.max_inflight == 0 {
            return Err(Error::InvalidConfig("max_inflight must be at least 1"));
        }
        if config.receive_maximum == 0 {
            return Err(Error::InvalidConfig("receive_maximum must be at least 1"));
        }
        if QOS2 && buffers.inbound_qos2.len() < usize::from(config.receive_maximum) {
            return Err(Error::InvalidConfig(
                "inbound QoS 2 id table below receive_maximum ids",
            ));
        }
        if config.topic_alias_maximum > 0
            && (config.version != Version::V5 || buffers.aliases.len() < 8)
        {
            return Err(Error::InvalidConfig(
                "topic_alias_maximum needs MQTT 5.0 and an alias buffer",
            ));
        }
        Ok(())
    }

    /// [`Client::new`] for what [`Client::check`] accepted: infallible, so
    /// that the C API can write it straight into its storage (no `Result`
    /// built on the stack and copied).
    pub(crate) fn build(config: Config, buffers: Buffers<'a>) -> Self {
        Client {
            rx: Rx {
                buf: buffers.rx,
                start: 0,
                len: 0,
                consume: 0,
                chunk: None,
            },
            core: Core {
                cfg: config,
                tx: buffers.tx,
                tx_len: 0,
                tx_out: false,
                scratch: [0; 4],
                store: Store::new(buffers.store),
                aliases: Aliases::new(buffers.aliases),
                out_aliases: Aliases::new(buffers.out_aliases),
                server_alias_max: 0,
                state: State::Disconnected,
                now: 0,
                connected_once: false,
                clean_requested: true,
                resumes: false,
                withholding: false,
                untracked_open: 0,
                qos2_stats: Qos2Stats::default(),
                auth_method_sent: false,
                next_packet_id: 0,
                ids_wrapped: false,
                connect_sent: 0,
                last_rx: 0,
                last_tx: 0,
                ping: Ping::Idle,
                requests: Vec::new(),
                inbound_qos2: Qos2Ids::new(buffers.inbound_qos2),
                keep_alive: config.keep_alive,
                server_receive_max: u16::MAX,
                server_max_packet: 0,
                server_max_qos: QoS::ExactlyOnce,
                retain_available: true,
                assigned_id: heapless::String::new(),
                lost: None,
                disconnect_props: (0, 0),
                disconnecting: false,
            },
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.core.cfg
    }

    /// Connection state.
    pub fn state(&self) -> State {
        self.core.state
    }

    /// The client identifier the broker assigned (5.0), empty if none.
    pub fn assigned_client_id(&self) -> &str {
        &self.core.assigned_id
    }

    /// The properties of the DISCONNECT with which a 5.0 broker ended the
    /// last connection ([`LostReason::ServerDisconnect`]): its reason string
    /// ([`Properties::reason_string`]), server reference, user properties.
    /// Empty when the connection ended otherwise; valid until the next
    /// [`Client::connect`].
    pub fn disconnect_properties(&self) -> Properties<'_> {
        Properties::Raw(self.rx.bytes(self.core.disconnect_props))
    }

    /// What the broker's inbound QoS 2 flow looked like since the client was
    /// made: the most messages awaiting PUBREL at once, those beyond our
    /// receive maximum, those delivered untracked or withheld when the id
    /// table was full.
    pub fn qos2_stats(&self) -> Qos2Stats {
        self.core.qos2_stats
    }

    /// QoS 1/2 publications in the store (sent or not, not yet complete).
    pub fn pending_publications(&self) -> usize {
        self.core.store.total() - self.core.store.count(Phase::Done)
    }

    /// Drop what the previous call handed out.
    fn settle(&mut self) {
        self.rx.settle();
        if self.core.tx_out {
            self.core.tx_len = 0;
            self.core.tx_out = false;
        }
    }

    /// Queue CONNECT; the link must be up. Clean session is `clean_init` on
    /// the first connection and `clean` afterwards.
    pub fn connect(&mut self, now: u32, options: &ConnectOptions<'_>) -> Result<(), Error> {
        self.settle();
        let c = &mut self.core;
        c.now = now;
        if c.state != State::Disconnected {
            return Err(Error::AlreadyConnected);
        }
        let v = c.cfg.version;
        let clean = if c.connected_once {
            c.cfg.clean
        } else {
            c.cfg.clean_init
        };
        let mut props: Vec<Property<'_>, { MAX_CONNECT_PROPERTIES + 4 }> = Vec::new();
        let expiry = c
            .cfg
            .session_expiry
            .unwrap_or(if clean { 0 } else { u32::MAX });
        // Does the session outlive this connection?
        let kept = if v.is_v5() { expiry != 0 } else { !clean };
        if v.is_v5() {
            if expiry != 0 {
                let _ = props.push(Property::SessionExpiryInterval(expiry));
            }
            if c.cfg.receive_maximum != u16::MAX {
                let _ = props.push(Property::ReceiveMaximum(c.cfg.receive_maximum));
            }
            if c.cfg.maximum_packet_size != 0 {
                let _ = props.push(Property::MaximumPacketSize(c.cfg.maximum_packet_size));
            }
            if c.cfg.topic_alias_maximum != 0 {
                let _ = props.push(Property::TopicAliasMaximum(c.cfg.topic_alias_maximum));
            }
            for p in options.properties {
                props
                    .push(*p)
                    .map_err(|_| Error::InvalidConfig("too many CONNECT properties"))?;
            }
        } else if !options.properties.is_empty() {
            return Err(Error::Encode(crate::wire::EncodeError::NotInVersion));
        }
        let assigned = c.assigned_id.clone();
        let client_id = if options.client_id.is_empty() {
            assigned.as_str()
        } else {
            options.client_id
        };
        let packet = Packet::Connect(Connect {
            clean_start: clean,
            keep_alive: c.cfg.keep_alive,
            client_id,
            will: options.will,
            username: options.username,
            password: options.password,
            properties: Properties::List(&props),
        });
        // A new connection starts from nothing but the store and, with a
        // kept session, the inbound QoS 2 ids.
        c.tx_len = 0;
        c.tx_write(&packet, 0)?;
        self.rx.clear();
        let c = &mut self.core;
        c.state = State::Connecting;
        c.clean_requested = clean;
        c.resumes = kept && !c.cfg.clean;
        c.withholding = false;
        c.untracked_open = 0;
        c.auth_method_sent = v.is_v5()
            && options
                .properties
                .iter()
                .any(|p| matches!(p, Property::AuthenticationMethod(_)));
        c.connect_sent = now;
        c.last_rx = now;
        c.last_tx = now;
        c.ping = Ping::Idle;
        c.requests.clear();
        c.aliases.clear();
        // The broker of the new connection knows none of our aliases.
        c.out_aliases.clear_synced();
        c.keep_alive = c.cfg.keep_alive;
        c.server_receive_max = u16::MAX;
        c.server_max_packet = 0;
        c.server_max_qos = QoS::ExactlyOnce;
        c.retain_available = true;
        c.lost = None;
        c.disconnect_props = (0, 0);
        c.disconnecting = false;
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
        self.settle();
        let c = &mut self.core;
        c.now = now;
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
        // An empty topic stands for an alias's.
        if alias.is_none() || !topic.is_empty() {
            check_topic_name(topic)?;
        }
        if qos == QoS::ExactlyOnce && !QOS2 {
            return Err(Error::Unsupported(NO_QOS2));
        }
        if qos > c.server_max_qos {
            return Err(Error::QoSNotSupported);
        }
        if retain && !c.retain_available {
            return Err(Error::RetainNotSupported);
        }
        if !v.is_v5() && !properties.is_empty() {
            return Err(Error::Encode(crate::wire::EncodeError::NotInVersion));
        }
        if qos == QoS::AtMostOnce && c.state != State::Connected {
            return Err(Error::NotConnected);
        }
        match alias {
            Some(alias) => c.publish_aliased(alias, topic, payload, qos, retain, properties),
            None => c.publish_as_given(topic, payload, qos, retain, properties),
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
        self.settle();
        let c = &mut self.core;
        c.now = now;
        for s in subscriptions {
            if s.options.qos == QoS::ExactlyOnce && !QOS2 {
                return Err(Error::Unsupported(NO_QOS2));
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
        c.request(now, Awaited::SubAck, subscriptions.len(), make)
    }

    /// Queue UNSUBSCRIBE; returns its packet id, later reported by
    /// [`Event::Unsubscribed`].
    pub fn unsubscribe(
        &mut self,
        now: u32,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        self.settle();
        let c = &mut self.core;
        c.now = now;
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
        c.request(now, Awaited::UnsubAck, filters.len(), make)
    }

    /// Queue PINGREQ now (the session also pings by itself).
    pub fn ping(&mut self, now: u32) -> Result<(), Error> {
        self.settle();
        let c = &mut self.core;
        c.now = now;
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
        self.settle();
        let c = &mut self.core;
        c.now = now;
        if c.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        c.tx_write(
            &Packet::Disconnect(Disconnect {
                reason,
                properties: Properties::List(properties),
            }),
            0,
        )?;
        let keep = c.tx_len;
        self.go_down();
        self.core.tx_len = keep;
        self.core.disconnecting = true;
        Ok(())
    }

    /// Queue AUTH (5.0 enhanced authentication).
    pub fn auth(
        &mut self,
        now: u32,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        self.settle();
        let c = &mut self.core;
        c.now = now;
        if !c.cfg.version.is_v5() {
            return Err(Error::Encode(crate::wire::EncodeError::NotInVersion));
        }
        if c.state == State::Disconnected {
            return Err(Error::NotConnected);
        }
        c.tx_write(
            &Packet::Auth(Auth {
                reason,
                properties: Properties::List(properties),
            }),
            0,
        )
    }

    /// Bytes received from the link. Returns how many were taken: fewer than
    /// given when the receive buffer is full (take events, then offer the
    /// rest again). Bytes arriving while disconnected are discarded.
    pub fn handle_input(&mut self, now: u32, data: &[u8]) -> usize {
        self.settle();
        self.core.now = now;
        if self.core.state == State::Disconnected {
            return data.len();
        }
        let rx = &mut self.rx;
        if rx.start > 0 {
            rx.buf.copy_within(rx.start..rx.len, 0);
            rx.len -= rx.start;
            rx.start = 0;
        }
        let free = self.rx.buf.get_mut(self.rx.len..).unwrap_or(&mut []);
        let n = free.len().min(data.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.rx.len += n;
        if n > 0 {
            self.core.last_rx = now;
        }
        n
    }

    /// Time has advanced: send pings, republish, declare timeouts.
    pub fn handle_timeout(&mut self, now: u32) {
        self.settle();
        self.core.now = now;
        if let Some(reason) = self.core.timeout(now) {
            self.go_down();
            self.core.lost = Some(reason);
        }
    }

    /// The link is down: the connection is lost (an
    /// [`Event::ConnectionLost`] follows if it was up).
    pub fn handle_link_down(&mut self, now: u32) {
        self.settle();
        self.core.now = now;
        if self.core.state != State::Disconnected {
            self.go_down();
            self.core.lost = Some(LostReason::LinkDown);
        }
    }

    /// Next bytes to send, valid until the next call into the client. The
    /// caller must send them all (or report the link down).
    pub fn poll_transmit(&mut self, now: u32) -> Option<&[u8]> {
        self.settle();
        let c = &mut self.core;
        c.now = now;
        if c.tx_len > 0 {
            c.tx_out = true;
            c.last_tx = now;
            return c.tx.get(..c.tx_len);
        }
        if c.state != State::Connected {
            return None;
        }
        if c.ping == Ping::Queued {
            c.ping = Ping::Outstanding(now);
            c.last_tx = now;
            return Some(&PINGREQ);
        }
        let next = c.next_stored(now)?;
        c.last_tx = now;
        match next {
            Stored::Publish(r) => Some(c.store.packet(&r)),
            Stored::PubRel => Some(&c.scratch),
        }
    }

    /// Next event, borrowing from the client until the next call.
    pub fn poll_event(&mut self) -> Option<Event<'_>> {
        self.settle();
        let desc = self.next_desc()?;
        Some(self.view(desc))
    }

    /// When [`Client::handle_timeout`] must be called next, if at all.
    pub fn poll_deadline(&self) -> Option<u32> {
        let c = &self.core;
        let rt = c.cfg.response_time_ms;
        match c.state {
            State::Disconnected => None,
            State::Connecting => Some(c.connect_sent.wrapping_add(rt)),
            State::Connected => {
                let now = c.now;
                let mut d = match c.ping {
                    Ping::Outstanding(t) => Some(t.wrapping_add(rt)),
                    Ping::Queued => None,
                    Ping::Idle => c.ping_interval().map(|i| {
                        let rx = c.last_rx.wrapping_add(i);
                        let tx = c.last_tx.wrapping_add(i);
                        earliest(now, Some(rx), Some(tx)).unwrap_or(rx)
                    }),
                };
                for r in &c.requests {
                    d = earliest(now, d, Some(r.sent_at.wrapping_add(rt)));
                }
                for r in c.store.awaiting() {
                    d = earliest(now, d, Some(r.sent_at.wrapping_add(rt)));
                }
                d
            }
        }
    }

    /// The connection is gone: keep the store (to resend on the next
    /// connection) and the inbound QoS 2 ids, drop everything else.
    fn go_down(&mut self) {
        self.rx.clear();
        let c = &mut self.core;
        c.state = State::Disconnected;
        c.tx_len = 0;
        c.tx_out = false;
        c.ping = Ping::Idle;
        c.requests.clear();
        c.aliases.clear();
        let mut at = c.store.first();
        while let Some(mut r) = c.store.record_at(at) {
            at += r.len;
            r.phase = match r.phase {
                Phase::AwaitAck => Phase::Unsent,
                Phase::AwaitComp => Phase::RelUnsent,
                p => p,
            };
            c.store.update(&r);
        }
    }

    /// The broker broke the protocol: queue a 5.0 DISCONNECT with the reason
    /// code, drop the connection and report why.
    fn fail(&mut self, reason: LostReason) -> Step {
        // Acknowledgements already queued still go out before DISCONNECT.
        let queued = self.core.tx_len;
        self.go_down();
        self.core.tx_len = queued;
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
            if self.core.tx_write(&d, 0).is_err() {
                // No room after the queued bytes: DISCONNECT alone (the
                // buffer is at least 64 bytes).
                self.core.tx_len = 0;
                let _ = self.core.tx_write(&d, 0);
            }
        }
        Step::Event(Desc::Lost(reason))
    }

    fn next_desc(&mut self) -> Option<Desc> {
        if let Some(reason) = self.core.lost.take() {
            return Some(Desc::Lost(reason));
        }
        if self.core.disconnecting && self.core.tx_len == 0 {
            self.core.disconnecting = false;
            return Some(Desc::Disconnected);
        }
        let done = match self.core.store.count(Phase::Done) {
            0 => None,
            _ => self.core.store.find_by(Phase::Done.bit(), None),
        };
        if let Some(r) = done {
            self.core.store.remove(&r);
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

    /// Take the next inbound packet (or chunk) from the receive buffer.
    #[inline(never)]
    fn step(&mut self) -> Step {
        if self.core.state == State::Disconnected {
            return Step::Wait;
        }
        if let Some(ch) = self.rx.chunk {
            return self.step_chunk(ch);
        }
        let v = self.core.cfg.version;
        let header = match decode_fixed_header(self.rx.data()) {
            Ok(Some(h)) => h,
            Ok(None) => return Step::Wait,
            Err(e) => return self.fail(LostReason::Protocol(e)),
        };
        let total = header
            .header_len
            .saturating_add(header.remaining_len as usize);
        let limit = self.core.cfg.maximum_packet_size as usize;
        // Above our maximum: 5.0 announced it, so the broker broke the
        // protocol; a 3.1.1 broker could not know it, so its message is
        // skipped (other 3.1.1 packets carry no data: taken if they fit).
        let too_large = limit != 0 && total > limit;
        if too_large && v.is_v5() {
            return self.fail(LostReason::Protocol(DecodeError::PacketTooLarge));
        }
        if !QOS2 && header.kind == PacketType::Publish && header.flags & 0x06 == 0x04 {
            // We never subscribe at QoS 2 without the feature.
            return self.fail(LostReason::Protocol(DecodeError::InvalidQoS));
        }
        // PUBLISH at QoS 1/2 and PUBREL are answered; so is a PUBREC for
        // an id we do not know.
        let needs_ack = match header.kind {
            PacketType::Publish => header.flags & 0x06 != 0,
            PacketType::PubRel => true,
            PacketType::PubRec => QOS2,
            _ => false,
        };
        if needs_ack && self.core.tx_free() < ACK_ROOM {
            return Step::Wait;
        }
        let skip = too_large && header.kind == PacketType::Publish;
        if skip || total > self.rx.buf.len() {
            if header.kind != PacketType::Publish {
                return self.fail(LostReason::Protocol(DecodeError::PacketTooLarge));
            }
            return self.start_chunked(&header, skip);
        }
        if total > self.rx.avail() {
            return Step::Wait;
        }
        let at = self.rx.start;
        let data = self.rx.buf.get(at..at + total).unwrap_or(&[]);
        if let [0x20, 2, _, code @ 1..=5] = *data {
            if v.is_v5() && self.core.state == State::Connecting {
                // A 3.1.1 CONNACK (no properties, a 3.1.1 return code): the
                // broker does not speak 5.0. Return code 1 is its "unacceptable
                // protocol version", 5.0's 0x84.
                self.rx.consume = total;
                return self.fail(if code == 1 {
                    LostReason::Refused(Version::V5, ReasonCode::UNSUPPORTED_PROTOCOL_VERSION)
                } else {
                    LostReason::Refused(Version::V311, ReasonCode(code))
                });
            }
        }
        // The usual packet, a PUBACK, PUBREC or PUBCOMP in its short form
        // (a packet id, no reason code: success), read straight from its
        // bytes (the fixed header was checked above). Id 0 takes the long
        // way, to its error.
        let short = match *data {
            [_, 2, hi, lo] if hi | lo != 0 => Some(Ack {
                packet_id: u16::from_be_bytes([hi, lo]),
                reason: ReasonCode::SUCCESS,
                properties: Properties::default(),
            }),
            _ => None,
        };
        let packet = match (header.kind, short) {
            (PacketType::PubAck, Some(a)) => Packet::PubAck(a),
            (PacketType::PubRec, Some(a)) => Packet::PubRec(a),
            (PacketType::PubComp, Some(a)) => Packet::PubComp(a),
            _ => {
                let body = data.get(header.header_len..).unwrap_or_default();
                match decode_body_from_server(&header, body, v) {
                    Ok(p) => p,
                    Err(e) => return self.fail(LostReason::Protocol(e)),
                }
            }
        };
        self.rx.consume = total;
        match self.core.on_packet(&self.rx, packet) {
            Ok(Some(d)) => Step::Event(d),
            Ok(None) => Step::Continue,
            Err(reason) => self.fail(reason),
        }
    }

    /// A PUBLISH larger than the receive buffer: report its head, then
    /// stream its payload. Or one to `skip` (above our maximum packet
    /// size, 3.1.1): report it skipped, then drop its payload.
    fn start_chunked(&mut self, header: &FixedHeader, skip: bool) -> Step {
        let v = self.core.cfg.version;
        let body = self
            .rx
            .buf
            .get(self.rx.start + header.header_len..self.rx.len)
            .unwrap_or(&[]);
        let (head, used) = match decode_publish_head(header, body, v) {
            Ok(Some(h)) => h,
            Ok(None) if self.rx.avail() < self.rx.buf.len() => return Step::Wait,
            Ok(None) => return self.fail(LostReason::Protocol(DecodeError::PacketTooLarge)),
            Err(e) => return self.fail(LostReason::Protocol(e)),
        };
        let packet_id = head.packet_id.unwrap_or(0);
        let c = &mut self.core;
        let topic = match c.resolve_topic(&self.rx, head.topic, &head.properties) {
            Ok(t) => t,
            Err(reason) => return self.fail(reason),
        };
        let fate = if skip {
            Fate::Skip
        } else {
            c.fate(head.qos, packet_id)
        };
        self.rx.consume = header.header_len + used;
        self.rx.chunk = Some(Chunked {
            remaining: head.payload_len,
            qos: head.qos,
            packet_id,
            fate,
        });
        if fate == Fate::Skip {
            return Step::Event(Desc::Skipped {
                topic,
                size: header
                    .remaining_len
                    .saturating_add(header.header_len as u32),
                qos: head.qos,
                packet_id,
            });
        }
        if !fate.delivers() {
            return Step::Continue;
        }
        Step::Event(Desc::Start {
            topic,
            total: head.payload_len,
            qos: head.qos,
            retain: head.retain,
            dup: head.dup,
            packet_id,
            props: self.rx.props_span(&head.properties),
        })
    }

    fn step_chunk(&mut self, mut ch: Chunked) -> Step {
        if ch.remaining > 0 {
            if self.rx.avail() == 0 {
                return Step::Wait;
            }
            let n = self.rx.avail().min(ch.remaining as usize);
            ch.remaining -= n as u32;
            self.rx.chunk = Some(ch);
            self.rx.consume = n;
            return if ch.fate.delivers() {
                Step::Event(Desc::Chunk((self.rx.start, self.rx.start + n)))
            } else {
                Step::Continue
            };
        }
        if ch.qos != QoS::AtMostOnce && self.core.tx_free() < ACK_ROOM {
            return Step::Wait;
        }
        self.rx.chunk = None;
        let c = &mut self.core;
        if ch.fate == Fate::Deliver && ch.qos == QoS::ExactlyOnce {
            let _ = c.inbound_qos2.push(ch.packet_id);
        }
        if ch.fate != Fate::Withhold {
            c.ack_publish(ch.qos, ch.packet_id);
        }
        if ch.fate.delivers() {
            Step::Event(Desc::End)
        } else {
            Step::Continue
        }
    }

    /// Turn a description into an event borrowing the buffers.
    fn view(&self, d: Desc) -> Event<'_> {
        let rx = &self.rx;
        // The topic looked up once for the two arms that have one (rather
        // than inlined in each).
        let topic = match d {
            Desc::Message { topic, .. }
            | Desc::Start { topic, .. }
            | Desc::Skipped { topic, .. } => match topic {
                Topic::Rx(s) => crate::wire::utf8(rx.bytes(s), true).unwrap_or(""),
                Topic::Alias(s) => self.core.aliases.topic(s),
            },
            _ => "",
        };
        let props = |s: Span| Properties::Raw(rx.bytes(s));
        match d {
            Desc::Connected {
                session_present,
                props: p,
            } => Event::Connected {
                session_present,
                properties: props(p),
            },
            Desc::Message {
                topic: _,
                payload,
                qos,
                retain,
                dup,
                packet_id,
                props: p,
            } => Event::Message(Message {
                topic,
                payload: rx.bytes(payload),
                qos,
                retain,
                dup,
                packet_id,
                properties: props(p),
            }),
            Desc::Start {
                topic: _,
                total,
                qos,
                retain,
                dup,
                packet_id,
                props: p,
            } => Event::MessageStart(MessageStart {
                topic,
                total_len: total,
                qos,
                retain,
                dup,
                packet_id,
                properties: props(p),
            }),
            Desc::Chunk(s) => Event::MessageChunk(rx.bytes(s)),
            Desc::End => Event::MessageEnd,
            Desc::Skipped {
                topic: _,
                size,
                qos,
                packet_id,
            } => Event::MessageSkipped {
                topic,
                size,
                limit: self.core.cfg.maximum_packet_size,
                qos,
                packet_id,
            },
            Desc::Published { packet_id, reason } => Event::Published { packet_id, reason },
            Desc::Subscribed {
                packet_id,
                codes,
                props: p,
            } => Event::Subscribed {
                packet_id,
                codes: rx.bytes(codes),
                properties: props(p),
            },
            Desc::Unsubscribed {
                packet_id,
                codes,
                props: p,
            } => Event::Unsubscribed {
                packet_id,
                codes: rx.bytes(codes),
                properties: props(p),
            },
            Desc::Auth { reason, props: p } => Event::Auth {
                reason,
                properties: props(p),
            },
            Desc::Lost(reason) => Event::ConnectionLost(reason),
            Desc::Disconnected => Event::Disconnected,
        }
    }
}

impl Core<'_> {
    fn tx_free(&self) -> usize {
        self.tx.len().saturating_sub(self.tx_len)
    }

    /// Encode a packet at the end of the transmit buffer; writes nothing
    /// when it does not fit or is above `limit` bytes (0: no limit).
    fn tx_write(&mut self, packet: &Packet<'_>, limit: u32) -> Result<(), Error> {
        tx_append(self.tx, &mut self.tx_len, self.cfg.version, packet, limit)
    }

    /// A PUBLISH as the application gave it: QoS 0 to the transmit
    /// buffer, QoS 1/2 to the store.
    fn publish_as_given(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let packet_id = (qos != QoS::AtMostOnce).then(|| self.alloc_packet_id());
        let packet = Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic,
            packet_id,
            properties: Properties::List(properties),
            payload,
        });
        let limit = self.server_max_packet;
        let Some(id) = packet_id else {
            self.tx_write(&packet, limit)?;
            return Ok(0);
        };
        store_publish(&mut self.store, self.cfg.version, limit, id, &packet)?;
        self.next_packet_id = id;
        Ok(id)
    }

    /// A 5.0 PUBLISH with a topic alias (see [`Client::publish`]): what is
    /// sent is valid on the connection it is sent on.
    fn publish_aliased(
        &mut self,
        alias: u16,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        if alias > self.server_alias_max {
            return Err(Error::TopicAlias(if self.server_alias_max == 0 {
                "the broker accepts no topic alias (Topic Alias Maximum 0 or absent)"
            } else {
                "above the broker's Topic Alias Maximum"
            }));
        }
        // QoS 1/2: the other properties, without the alias.
        let mut others: Vec<Property<'_>, MAX_ALIASED_PROPERTIES> = Vec::new();
        if qos != QoS::AtMostOnce {
            for p in properties {
                if !matches!(p, Property::TopicAlias(_)) && others.push(*p).is_err() {
                    return Err(Error::TopicAlias(
                        "more than 16 other properties with a topic alias",
                    ));
                }
            }
        }
        let range = if topic.is_empty() {
            self.out_aliases.get(alias).ok_or(Error::TopicAlias(
                "an empty topic with an alias that was never set with a topic",
            ))?
        } else {
            self.out_aliases.set(alias, topic).ok_or(Error::TopicAlias(
                "no room in the outbound alias table (out_aliases)",
            ))?
        };
        let v = self.cfg.version;
        let limit = self.server_max_packet;
        if qos == QoS::AtMostOnce {
            let synced = self.out_aliases.synced(alias);
            let full = self.out_aliases.topic(range);
            let packet = Packet::Publish(Publish {
                dup: false,
                qos,
                retain,
                topic: if synced { "" } else { full },
                packet_id: None,
                properties: Properties::List(properties),
                payload,
            });
            tx_append(self.tx, &mut self.tx_len, v, &packet, limit)?;
            self.out_aliases.mark_synced(alias);
            return Ok(0);
        }
        let id = self.alloc_packet_id();
        let packet = Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic: self.out_aliases.topic(range),
            packet_id: Some(id),
            properties: Properties::List(&others),
            payload,
        });
        store_publish(&mut self.store, v, limit, id, &packet)?;
        self.next_packet_id = id;
        Ok(id)
    }

    /// A packet id not used by a stored publication or a pending request.
    fn alloc_packet_id(&mut self) -> u16 {
        let mut id = self.next_packet_id;
        loop {
            id = id.wrapping_add(1);
            if id == 0 {
                id = 1;
                self.ids_wrapped = true;
            }
            // Until the ids wrap, every id above the last one handed out is
            // free: no need to look.
            if !self.ids_wrapped {
                return id;
            }
            let used =
                self.store.find(id).is_some() || self.requests.iter().any(|r| r.packet_id == id);
            if !used || id == self.next_packet_id {
                return id;
            }
        }
    }

    /// Queue SUBSCRIBE or UNSUBSCRIBE and remember it until acknowledged.
    fn request<'p>(
        &mut self,
        now: u32,
        kind: Awaited,
        filters: usize,
        make: impl Fn(u16) -> Packet<'p>,
    ) -> Result<u16, Error> {
        if self.state != State::Connected {
            return Err(Error::NotConnected);
        }
        if self.requests.is_full() {
            return Err(Error::TooManyPending);
        }
        let filters = u16::try_from(filters).map_err(|_| Error::TooLarge)?;
        let id = self.alloc_packet_id();
        self.tx_write(&make(id), 0)?;
        self.next_packet_id = id;
        let _ = self.requests.push(Request {
            packet_id: id,
            filters,
            kind,
            sent_at: now,
        });
        Ok(id)
    }

    fn ping_interval(&self) -> Option<u32> {
        let i = if self.cfg.ping_interval_ms != 0 {
            self.cfg.ping_interval_ms
        } else {
            u32::from(self.keep_alive) * 250
        };
        (i != 0).then_some(i)
    }

    /// Decide what to do with an inbound PUBLISH, and count it. Beyond the
    /// receive maximum we announced, a QoS 2 message is taken while the id
    /// table has room; then withheld when the broker will send it again
    /// (once one is withheld, every later new one is too, so none
    /// overtakes it), else delivered untracked.
    fn fate(&mut self, qos: QoS, packet_id: u16) -> Fate {
        if qos != QoS::ExactlyOnce {
            return Fate::Deliver;
        }
        if self.inbound_qos2.contains(packet_id) {
            return Fate::Duplicate;
        }
        let unreleased = self.inbound_qos2.len() + usize::from(self.untracked_open);
        let s = &mut self.qos2_stats;
        if self.cfg.version.is_v5() && unreleased >= usize::from(self.cfg.receive_maximum) {
            s.beyond_receive_maximum = s.beyond_receive_maximum.saturating_add(1);
        }
        let fate = if !self.withholding && !self.inbound_qos2.is_full() {
            Fate::Deliver
        } else if self.resumes {
            self.withholding = true;
            s.withheld = s.withheld.saturating_add(1);
            return Fate::Withhold;
        } else {
            self.untracked_open = self.untracked_open.saturating_add(1);
            s.untracked = s.untracked.saturating_add(1);
            Fate::Untracked
        };
        let now = u16::try_from(unreleased + 1).unwrap_or(u16::MAX);
        s.peak_unreleased = s.peak_unreleased.max(now);
        fate
    }

    fn ack(&mut self, kind: PacketType, packet_id: u16, reason: ReasonCode) {
        let ack = Ack {
            packet_id,
            reason,
            properties: Properties::default(),
        };
        let packet = match kind {
            PacketType::PubAck => Packet::PubAck(ack),
            PacketType::PubRec => Packet::PubRec(ack),
            PacketType::PubRel => Packet::PubRel(ack),
            _ => Packet::PubComp(ack),
        };
        // Room was checked before the packet was taken (ACK_ROOM).
        let _ = self.tx_write(&packet, 0);
    }

    fn ack_publish(&mut self, qos: QoS, packet_id: u16) {
        match qos {
            QoS::AtMostOnce => {}
            QoS::AtLeastOnce => self.ack(PacketType::PubAck, packet_id, ReasonCode::SUCCESS),
            QoS::ExactlyOnce => self.ack(PacketType::PubRec, packet_id, ReasonCode::SUCCESS),
        }
    }

    /// The topic of an inbound PUBLISH, through the 5.0 topic alias if any.
    fn resolve_topic(
        &mut self,
        rx: &Rx<'_>,
        topic: &str,
        props: &Properties<'_>,
    ) -> Result<Topic, LostReason> {
        if !self.cfg.version.is_v5() {
            if topic.is_empty() {
                return Err(LostReason::Protocol(DecodeError::EmptyTopic));
            }
            return Ok(Topic::Rx(rx.span(topic.as_bytes())));
        }
        let alias = props.iter().find_map(|p| match p {
            Property::TopicAlias(a) => Some(a),
            _ => None,
        });
        let Some(alias) = alias else {
            if topic.is_empty() {
                return Err(LostReason::Protocol(DecodeError::EmptyTopic));
            }
            return Ok(Topic::Rx(rx.span(topic.as_bytes())));
        };
        if alias == 0 || alias > self.cfg.topic_alias_maximum {
            return Err(LostReason::Protocol(DecodeError::InvalidTopicAlias));
        }
        if topic.is_empty() {
            return self
                .aliases
                .get(alias)
                .map(Topic::Alias)
                .ok_or(LostReason::Protocol(DecodeError::InvalidTopicAlias));
        }
        self.aliases
            .set(alias, topic)
            .ok_or(LostReason::AliasTableFull)?;
        Ok(Topic::Rx(rx.span(topic.as_bytes())))
    }

    /// React to one whole inbound packet.
    fn on_packet(&mut self, rx: &Rx<'_>, packet: Packet<'_>) -> Result<Option<Desc>, LostReason> {
        let unexpected =
            |t: PacketType| Err(LostReason::Protocol(DecodeError::UnexpectedPacket(t as u8)));
        if self.state == State::Connecting {
            match packet {
                Packet::ConnAck(a) => return self.on_connack(rx, &a),
                Packet::Auth(_) | Packet::Disconnect(_) => {}
                _ => return unexpected(packet.kind()),
            }
        }
        if let (Packet::Auth(_), false) = (&packet, self.auth_method_sent) {
            // 5.0 4.12: AUTH only follows a CONNECT with an authentication method.
            return unexpected(PacketType::Auth);
        }
        match packet {
            Packet::Publish(p) => self.on_publish(rx, &p),
            Packet::PubAck(a) => Ok(self.on_ack(PacketType::PubAck, &a)),
            // Without QoS 2 none of ours awaits these, and no message of the
            // broker's can be released.
            Packet::PubRec(_) | Packet::PubComp(_) if !QOS2 => Ok(None),
            Packet::PubRel(_) if !QOS2 => unexpected(PacketType::PubRel),
            Packet::PubRec(a) => Ok(self.on_ack(PacketType::PubRec, &a)),
            Packet::PubComp(a) => Ok(self.on_ack(PacketType::PubComp, &a)),
            Packet::PubRel(a) => {
                let reason = if self.inbound_qos2.remove(a.packet_id) {
                    ReasonCode::SUCCESS
                } else if self.untracked_open > 0 {
                    // One of the messages delivered untracked, we may
                    // presume: released all the same.
                    self.untracked_open -= 1;
                    ReasonCode::SUCCESS
                } else if self.cfg.version.is_v5() {
                    ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
                } else {
                    ReasonCode::SUCCESS
                };
                self.ack(PacketType::PubComp, a.packet_id, reason);
                if self.withholding && self.inbound_qos2.is_empty() {
                    // Every tracked message is released: reconnect, so the
                    // broker sends the withheld ones again.
                    return Err(LostReason::ReceiveMaximumExceeded);
                }
                Ok(None)
            }
            Packet::SubAck(a) | Packet::UnsubAck(a) => {
                let sub = matches!(packet, Packet::SubAck(_));
                let kind = if sub {
                    Awaited::SubAck
                } else {
                    Awaited::UnsubAck
                };
                let Some(i) = self
                    .requests
                    .iter()
                    .position(|r| r.packet_id == a.packet_id && r.kind == kind)
                else {
                    return Ok(None);
                };
                let request = self.requests.swap_remove(i);
                // One code per filter (a 3.1.1 UNSUBACK has none).
                let coded = sub || self.cfg.version.is_v5();
                if coded && a.codes.len() != usize::from(request.filters) {
                    return Err(LostReason::Protocol(DecodeError::CodeCountMismatch));
                }
                let (packet_id, codes, props) =
                    (a.packet_id, rx.span(a.codes), rx.props_span(&a.properties));
                Ok(Some(if sub {
                    Desc::Subscribed {
                        packet_id,
                        codes,
                        props,
                    }
                } else {
                    Desc::Unsubscribed {
                        packet_id,
                        codes,
                        props,
                    }
                }))
            }
            Packet::PingResp => {
                if let Ping::Outstanding(_) = self.ping {
                    self.ping = Ping::Idle;
                }
                Ok(None)
            }
            // 3.1.1 defines no DISCONNECT from the server.
            Packet::Disconnect(_) if !self.cfg.version.is_v5() => {
                unexpected(PacketType::Disconnect)
            }
            Packet::Disconnect(d) => {
                self.disconnect_props = rx.props_span(&d.properties);
                Err(LostReason::ServerDisconnect(d.reason))
            }
            Packet::Auth(a) => Ok(Some(Desc::Auth {
                reason: a.reason,
                props: rx.props_span(&a.properties),
            })),
            Packet::ConnAck(_) => unexpected(PacketType::ConnAck),
            Packet::Connect(_) => unexpected(PacketType::Connect),
            Packet::Subscribe(_) => unexpected(PacketType::Subscribe),
            Packet::Unsubscribe(_) => unexpected(PacketType::Unsubscribe),
            Packet::PingReq => unexpected(PacketType::PingReq),
        }
    }

    fn on_connack(&mut self, rx: &Rx<'_>, a: &ConnAck<'_>) -> Result<Option<Desc>, LostReason> {
        if a.code.0 != 0 {
            return Err(LostReason::Refused(self.cfg.version, a.code));
        }
        if a.session_present && self.clean_requested {
            // MQTT-3.2.2-4 (5.0) / 3.2.2.2 (3.1.1): a session we did not ask
            // to keep cannot be present.
            return Err(LostReason::Protocol(DecodeError::UnexpectedSessionPresent));
        }
        // Only 5.0 CONNACKs carry properties.
        if self.cfg.version.is_v5() {
            self.server_alias_max = 0;
            for p in a.properties.iter() {
                match p {
                    Property::ReceiveMaximum(n) => self.server_receive_max = n,
                    Property::TopicAliasMaximum(n) => self.server_alias_max = n,
                    Property::MaximumPacketSize(n) => self.server_max_packet = n,
                    Property::ServerKeepAlive(k) => self.keep_alive = k,
                    // The broker's word on how long it keeps the session.
                    Property::SessionExpiryInterval(0) => self.resumes = false,
                    Property::MaximumQoS(q) => {
                        self.server_max_qos = QoS::from_u8(q).unwrap_or(QoS::ExactlyOnce)
                    }
                    Property::RetainAvailable(r) => self.retain_available = r != 0,
                    Property::AssignedClientIdentifier(id) => {
                        self.assigned_id.clear();
                        // Longer ids cannot be kept: the next connection gets a new one.
                        let _ = self.assigned_id.push_str(id);
                    }
                    _ => {}
                }
            }
        }
        self.state = State::Connected;
        self.connected_once = true;
        if !a.session_present {
            // The broker has no session: nothing it owes us, nothing we owe
            // it but the messages it never acknowledged, sent again as new.
            self.inbound_qos2.clear();
        }
        let mut at = self.store.first();
        while let Some(mut r) = self.store.record_at(at) {
            at += r.len;
            r.repubs = 0;
            if !a.session_present {
                match r.phase {
                    Phase::Unsent | Phase::AwaitAck => {
                        r.phase = Phase::Unsent;
                        r.sent_once = false;
                    }
                    // PUBREC came: the broker had taken the message.
                    Phase::RelUnsent | Phase::AwaitComp => r.phase = Phase::Done,
                    Phase::Done => {}
                }
            }
            self.store.update(&r);
        }
        Ok(Some(Desc::Connected {
            session_present: a.session_present,
            props: rx.props_span(&a.properties),
        }))
    }

    fn on_publish(&mut self, rx: &Rx<'_>, p: &Publish<'_>) -> Result<Option<Desc>, LostReason> {
        let packet_id = p.packet_id.unwrap_or(0);
        let topic = self.resolve_topic(rx, p.topic, &p.properties)?;
        let fate = self.fate(p.qos, packet_id);
        match fate {
            Fate::Deliver | Fate::Untracked => {}
            Fate::Duplicate => {
                self.ack_publish(p.qos, packet_id);
                return Ok(None);
            }
            Fate::Withhold | Fate::Skip => return Ok(None),
        }
        if fate == Fate::Deliver && p.qos == QoS::ExactlyOnce {
            let _ = self.inbound_qos2.push(packet_id);
        }
        self.ack_publish(p.qos, packet_id);
        Ok(Some(Desc::Message {
            topic,
            payload: rx.span(p.payload),
            qos: p.qos,
            retain: p.retain,
            dup: p.dup,
            packet_id,
            props: rx.props_span(&p.properties),
        }))
    }

    /// PUBACK, PUBREC or PUBCOMP for one of our publications.
    fn on_ack(&mut self, kind: PacketType, a: &Ack<'_>) -> Option<Desc> {
        let Some(mut r) = self.store.find(a.packet_id) else {
            if kind == PacketType::PubRec && a.reason.is_success() {
                // Not ours (any more): release it all the same, so the
                // broker can end the flow (5.0 4.3.3: PUBREL 0x92, packet
                // identifier not found; 3.1.1 has no codes).
                let reason = if self.cfg.version.is_v5() {
                    ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
                } else {
                    ReasonCode::SUCCESS
                };
                self.ack(PacketType::PubRel, a.packet_id, reason);
            }
            return None;
        };
        let done = Some(Desc::Published {
            packet_id: a.packet_id,
            reason: a.reason,
        });
        match (kind, r.phase, r.qos2(&self.store)) {
            (PacketType::PubAck, Phase::AwaitAck, false) => {
                self.store.remove(&r);
                done
            }
            (PacketType::PubRec, Phase::AwaitAck, true) => {
                if !a.reason.is_success() {
                    self.store.remove(&r);
                    return done;
                }
                self.store.drop_packet(&mut r);
                r.phase = Phase::RelUnsent;
                r.repubs = 0;
                self.store.update(&r);
                None
            }
            (PacketType::PubComp, Phase::AwaitComp | Phase::RelUnsent, _) => {
                self.store.remove(&r);
                done
            }
            // A late or duplicate acknowledgement: nothing to do.
            _ => None,
        }
    }

    /// The next stored packet to send, marked as sent.
    fn next_stored(&mut self, now: u32) -> Option<Stored> {
        let window = if self.cfg.version.is_v5() {
            self.cfg.max_inflight.min(self.server_receive_max)
        } else {
            self.cfg.max_inflight
        } as usize;
        loop {
            let st = &self.store;
            let inflight =
                st.count(Phase::AwaitAck) + st.count(Phase::RelUnsent) + st.count(Phase::AwaitComp);
            let rel = QOS2 && st.count(Phase::RelUnsent) > 0;
            let publish = st.count(Phase::Unsent) > 0 && inflight < window;
            if !rel && !publish {
                return None;
            }
            let phases = if rel { Phase::RelUnsent.bit() } else { 0 }
                | if publish { Phase::Unsent.bit() } else { 0 };
            let pick = st.find_by(phases, None);
            let mut r = pick?;
            if QOS2 && r.phase == Phase::RelUnsent {
                r.phase = Phase::AwaitComp;
                r.sent_at = now;
                self.store.update(&r);
                // PUBREL, success without properties: the same four bytes
                // in both versions (stored ids are never 0).
                let [hi, lo] = r.packet_id.to_be_bytes();
                self.scratch = [0x62, 2, hi, lo];
                return Some(Stored::PubRel);
            }
            if self.server_max_packet != 0
                && self.store.packet(&r).len() > self.server_max_packet as usize
            {
                // This connection's broker can never take it.
                r.phase = Phase::Done;
                r.reason = ReasonCode::PACKET_TOO_LARGE.0;
                self.store.update(&r);
                continue;
            }
            self.store.set_dup(&r, r.sent_once);
            r.sent_once = true;
            r.phase = Phase::AwaitAck;
            r.sent_at = now;
            self.store.update(&r);
            return Some(Stored::Publish(r));
        }
    }

    /// Check timers; `Some(reason)` when the connection is lost.
    fn timeout(&mut self, now: u32) -> Option<LostReason> {
        let rt = self.cfg.response_time_ms;
        match self.state {
            State::Disconnected => None,
            State::Connecting => reached(now, self.connect_sent.wrapping_add(rt))
                .then_some(LostReason::Timeout(Awaited::ConnAck)),
            State::Connected => {
                if let Ping::Outstanding(t) = self.ping {
                    if reached(now, t.wrapping_add(rt)) {
                        return Some(LostReason::Timeout(Awaited::PingResp));
                    }
                }
                if let Some(r) = self
                    .requests
                    .iter()
                    .find(|r| reached(now, r.sent_at.wrapping_add(rt)))
                {
                    return Some(LostReason::Timeout(r.kind));
                }
                let mut at = self.store.first();
                let mut awaiting =
                    self.store.count(Phase::AwaitAck) + self.store.count(Phase::AwaitComp);
                while awaiting > 0 {
                    let Some(mut r) = self.store.record_at(at) else {
                        break;
                    };
                    at += r.len;
                    let awaited = match r.phase {
                        Phase::AwaitAck if r.qos2(&self.store) => Awaited::PubRec,
                        Phase::AwaitAck => Awaited::PubAck,
                        Phase::AwaitComp => Awaited::PubComp,
                        _ => continue,
                    };
                    awaiting -= 1;
                    if !reached(now, r.sent_at.wrapping_add(rt)) {
                        continue;
                    }
                    // 3.1.1 allows resending on the same connection (mqtt_as's
                    // max_repubs); 5.0 forbids it.
                    if self.cfg.version.is_v5() || r.repubs >= self.cfg.max_repubs {
                        return Some(LostReason::Timeout(awaited));
                    }
                    r.repubs += 1;
                    r.phase = if r.phase == Phase::AwaitComp {
                        Phase::RelUnsent
                    } else {
                        Phase::Unsent
                    };
                    self.store.update(&r);
                }
                if self.ping == Ping::Idle {
                    if let Some(i) = self.ping_interval() {
                        if reached(now, self.last_rx.wrapping_add(i))
                            || reached(now, self.last_tx.wrapping_add(i))
                        {
                            self.ping = Ping::Queued;
                        }
                    }
                }
                None
            }
        }
    }
}

/// Encode a packet at `tx[*tx_len..]` and count it; writes nothing when it
/// does not fit or is above `limit` bytes (0: no limit). (A function of the
/// fields rather than a method, so that a topic borrowed from another field
/// of the client can go in.)
fn tx_append(
    tx: &mut [u8],
    tx_len: &mut usize,
    v: Version,
    packet: &Packet<'_>,
    limit: u32,
) -> Result<(), Error> {
    let capacity = tx.len();
    let out = tx.get_mut(*tx_len..).unwrap_or(&mut []);
    match packet.encode_from_client(v, out) {
        Ok(n) => {
            check_server_size(limit, n)?;
            *tx_len += n;
            Ok(())
        }
        Err(crate::wire::EncodeError::BufferTooSmall { needed }) => {
            check_server_size(limit, needed)?;
            Err(if needed <= capacity {
                Error::TxFull
            } else {
                Error::TooLarge
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// Copy a QoS 1/2 PUBLISH into the store as packet `id`, unless it is above
/// the broker's maximum packet size `limit` (0: none).
fn store_publish(
    store: &mut Store<'_>,
    v: Version,
    limit: u32,
    id: u16,
    packet: &Packet<'_>,
) -> Result<(), Error> {
    store.push(
        id,
        |buf| packet.encode_from_client(v, buf),
        |len| check_server_size(limit, len),
    )
}

/// A PUBLISH of `len` bytes against the broker's maximum packet size
/// (`limit`, 0 for none).
fn check_server_size(limit: u32, len: usize) -> Result<(), Error> {
    if limit != 0 && len > limit as usize {
        return Err(Error::TooLarge);
    }
    Ok(())
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
        assert!(!c.core.ids_wrapped);
        // Before the ids wrap, the next one is free without a look.
        c.core.next_packet_id = 65534;
        assert_eq!(
            c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]),
            Ok(65535)
        );
        // After: 1 and 2 are still in use.
        assert_eq!(c.publish(0, "t", b"", QoS::AtLeastOnce, false, &[]), Ok(3));
        assert!(c.core.ids_wrapped);
        assert_eq!(c.pending_publications(), 4);
    }
}
