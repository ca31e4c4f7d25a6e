//! The broker side of the pair: parses what the client sends with the
//! crate's own codec, answers as a broker would, and records every packet
//! both ways.
//!
//! Each reply kind has a switch ([`Reply`]) to answer, drop, hold or delay
//! it; a client packet can be lost in transit ([`Broker::lose_up`]) or cut
//! the link ([`Broker::cut_when`]). The broker keeps a session (its
//! subscriptions, its QoS 2 packet ids awaiting PUBREL, its unacknowledged
//! messages to the client) across connections as MQTT says, and checks the
//! client against the rules a real broker enforces (packet id reuse,
//! receive maximum, maximum packet size): a broken rule panics the test
//! with the reason, unless `strict` is off.

use std::collections::BTreeSet;

use mqttas::wire::{
    decode, Ack, ConnAck, Disconnect, Packet, Properties, Property, Publish, QoS, ReasonCode,
    SubAck, Version,
};

use super::record::{Dir, Pkt, PubPkt, Record};
use super::topic;

/// What the broker does with one kind of reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Send it at once.
    Answer,
    /// Never send it.
    Drop,
    /// Drop the next `n`, then answer.
    DropNext(u32),
    /// Keep it until [`Broker::release`].
    Hold,
    /// Send it this many simulated milliseconds later.
    Delay(u64),
}

/// A switch per reply kind.
#[derive(Clone, Copy, Debug)]
pub struct Replies {
    pub connack: Reply,
    pub suback: Reply,
    pub unsuback: Reply,
    pub pingresp: Reply,
    pub puback: Reply,
    pub pubrec: Reply,
    pub pubrel: Reply,
    pub pubcomp: Reply,
}

impl Default for Replies {
    fn default() -> Self {
        Replies {
            connack: Reply::Answer,
            suback: Reply::Answer,
            unsuback: Reply::Answer,
            pingresp: Reply::Answer,
            puback: Reply::Answer,
            pubrec: Reply::Answer,
            pubrel: Reply::Answer,
            pubcomp: Reply::Answer,
        }
    }
}

/// Whether a client packet cuts the link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// No.
    No,
    /// Yes, before the broker handles it (the packet is lost).
    Before,
    /// Yes, after the broker handled it (its reply is lost).
    After,
}

/// Decides per client packet whether it cuts the link.
pub type CutRule = Box<dyn FnMut(&Pkt) -> Cut>;

/// Decides per client packet whether it is lost in transit.
pub type LossRule = Box<dyn FnMut(&Pkt) -> bool>;

/// Where an outbound (broker to client) QoS 1/2 message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutState {
    /// Not sent yet (the client was offline).
    Unsent,
    /// QoS 1 PUBLISH sent, PUBACK awaited.
    AwaitAck,
    /// QoS 2 PUBLISH sent, PUBREC awaited.
    AwaitRec,
    /// PUBREL sent, PUBCOMP awaited.
    AwaitComp,
}

/// A broker-to-client QoS 1/2 message in the session.
#[derive(Clone, Debug)]
pub struct OutMsg {
    pub id: u16,
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub props: Vec<Property<'static>>,
    pub state: OutState,
}

/// The broker's session for the (single) client.
#[derive(Clone, Debug, Default)]
pub struct Session {
    /// Subscriptions: filter and granted QoS.
    pub subs: Vec<(String, QoS)>,
    /// Inbound QoS 2 ids for which PUBREC was sent and PUBREL is awaited.
    pub inbound_qos2: BTreeSet<u16>,
    /// Outbound QoS 1/2 messages not yet complete, in order.
    pub outbound: Vec<OutMsg>,
    /// Kept when the link closes (clean session 0 in 3.1.1, session
    /// expiry > 0 in 5.0).
    pub persistent: bool,
    next_id: u16,
}

/// An application message the broker accepted from the client.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    pub conn: u32,
    pub t: u64,
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub id: Option<u16>,
}

/// A reply kept back by [`Reply::Hold`] or [`Reply::Delay`].
struct Pending {
    conn: u32,
    due: Option<u64>,
    pkt: Pkt,
    bytes: Vec<u8>,
    /// Client packet id the reply completes (for the receive maximum count).
    completes: Option<u16>,
}

/// The in-memory broker.
pub struct Broker {
    /// Protocol version, taken from each CONNECT.
    pub version: Version,
    /// Reply switches.
    pub replies: Replies,
    /// CONNACK return/reason code; non-zero refuses the connection.
    pub connack_code: u8,
    /// CONNACK properties (5.0): receive maximum, topic alias maximum,
    /// server keep alive, assigned client identifier, maximum packet size...
    pub connack_props: Vec<Property<'static>>,
    /// Force the session present flag (`Some(false)` also forgets the
    /// session, as a broker that lost it).
    pub session_present: Option<bool>,
    /// 5.0 reason code in PUBACK / PUBREC.
    pub puback_reason: u8,
    pub pubrec_reason: u8,
    /// SUBACK codes instead of the granted QoS.
    pub suback_codes: Option<Vec<u8>>,
    /// Most QoS 1/2 messages outstanding towards the client (mosquitto's
    /// `max_inflight_messages`, default 20); in 5.0 also at most the
    /// client's receive maximum.
    pub max_inflight_out: usize,
    /// Receive maximum from the last 5.0 CONNECT (65 535 when absent).
    pub client_receive_max: usize,
    /// Decide per client packet whether it cuts the link.
    pub cut_when: Option<CutRule>,
    /// Decide per client packet whether it is lost in transit.
    pub lose_up: Option<LossRule>,
    /// Panic on a client protocol violation (else only record it).
    pub strict: bool,
    /// Every packet both ways, in order.
    pub log: Vec<Record>,
    /// Application messages accepted from the client (a QoS 2 message once).
    pub received: Vec<Received>,
    /// Violations of the protocol by the client.
    pub violations: Vec<String>,
    /// The session, if any.
    pub session: Option<Session>,
    /// Retained messages.
    pub retained: Vec<(String, Vec<u8>, QoS)>,
    /// Current connection number (0 before the first).
    pub conn: u32,
    /// Keep alive from the last CONNECT.
    pub keep_alive: u16,
    /// Client id from the last CONNECT.
    pub client_id: String,
    /// Most client QoS 1/2 PUBLISHes unacknowledged at once.
    pub max_unacked_seen: usize,
    /// Current simulated time (set by the pair).
    pub t: u64,
    /// The broker asks the pair to cut the link.
    pub cut_requested: bool,
    /// Bytes waiting for the client.
    pub to_client: Vec<u8>,

    open: bool,
    closing: bool,
    online: bool,
    rx: Vec<u8>,
    pending: Vec<Pending>,
    unacked: BTreeSet<u16>,
    aliases: Vec<(u16, String)>,
    seq: u64,
}

impl Default for Broker {
    fn default() -> Self {
        Broker::new()
    }
}

impl Broker {
    /// A broker that answers everything, keeps sessions and checks strictly.
    pub fn new() -> Self {
        Broker {
            version: Version::V311,
            replies: Replies::default(),
            connack_code: 0,
            connack_props: Vec::new(),
            session_present: None,
            puback_reason: 0,
            pubrec_reason: 0,
            suback_codes: None,
            max_inflight_out: 20,
            client_receive_max: 65_535,
            cut_when: None,
            lose_up: None,
            strict: true,
            log: Vec::new(),
            received: Vec::new(),
            violations: Vec::new(),
            session: None,
            retained: Vec::new(),
            conn: 0,
            keep_alive: 0,
            client_id: String::new(),
            max_unacked_seen: 0,
            t: 0,
            cut_requested: false,
            to_client: Vec::new(),
            open: false,
            closing: false,
            online: false,
            rx: Vec::new(),
            pending: Vec::new(),
            unacked: BTreeSet::new(),
            aliases: Vec::new(),
            seq: 0,
        }
    }

    // ---- link ----

    /// A new connection begins.
    pub fn open(&mut self) {
        self.conn += 1;
        self.open = true;
        self.closing = false;
        self.online = false;
        self.rx.clear();
        self.to_client.clear();
        self.unacked.clear();
        self.aliases.clear();
        self.cut_requested = false;
    }

    /// The connection ends (either side closed it, or the link broke).
    pub fn close(&mut self) {
        self.open = false;
        self.closing = false;
        self.online = false;
        self.rx.clear();
        self.to_client.clear();
        self.unacked.clear();
        self.aliases.clear();
        if self.session.as_ref().is_some_and(|s| !s.persistent) {
            self.session = None;
        }
    }

    /// The link is up from the broker's side.
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// The broker has closed (or is closing) the connection: it takes no
    /// more bytes; the pair closes the link once `to_client` is delivered.
    pub fn is_closing(&self) -> bool {
        self.closing
    }

    /// CONNACK accepted has been sent on this connection.
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// Next sequence number shared by records and the pair's events.
    pub fn next_seq(&mut self) -> u64 {
        self.seq += 1;
        self.seq
    }

    // ---- receiving ----

    /// Bytes from the client.
    pub fn receive(&mut self, bytes: &[u8]) {
        if !self.open || self.closing || self.cut_requested {
            return;
        }
        self.rx.extend_from_slice(bytes);
        loop {
            if self.rx.is_empty() || !self.open || self.closing || self.cut_requested {
                break;
            }
            if let Some(level) = connect_level(&self.rx) {
                self.version = if level == 5 {
                    Version::V5
                } else {
                    Version::V311
                };
            }
            let (pkt, n, len) = match decode(&self.rx, self.version) {
                Ok(Some((p, n))) => (Pkt::from_packet(&p, self.version as u8), n, n),
                Ok(None) => break,
                Err(e) => {
                    let bytes = std::mem::take(&mut self.rx);
                    self.violation(format!(
                        "client sent bytes the codec rejects: {e} {bytes:02x?}"
                    ));
                    self.closing = true;
                    break;
                }
            };
            self.rx.drain(..n);
            self.check_size(&pkt, len);
            let cut = match self.cut_when.as_mut() {
                Some(f) => f(&pkt),
                None => Cut::No,
            };
            if cut == Cut::Before {
                self.record(Dir::LostUp, pkt);
                self.cut_requested = true;
                break;
            }
            let lost = match self.lose_up.as_mut() {
                Some(f) => f(&pkt),
                None => false,
            };
            if lost {
                self.record(Dir::LostUp, pkt);
                continue;
            }
            self.record(Dir::Up, pkt.clone());
            self.handle(pkt);
            if cut == Cut::After {
                self.cut_requested = true;
                break;
            }
        }
        if self.cut_requested {
            self.rx.clear();
        }
    }

    fn check_size(&mut self, pkt: &Pkt, len: usize) {
        let max = self.connack_props.iter().find_map(|p| match p {
            Property::MaximumPacketSize(m) => Some(*m as usize),
            _ => None,
        });
        if let Some(max) = max {
            if self.version == Version::V5 && len > max {
                self.violation(format!(
                    "{len}-byte packet above maximum packet size {max}: {pkt:?}"
                ));
            }
        }
    }

    fn handle(&mut self, pkt: Pkt) {
        match pkt {
            Pkt::Connect {
                clean,
                keep_alive,
                client_id,
                props,
                ..
            } => self.on_connect(clean, keep_alive, client_id, &props),
            Pkt::Publish(p) => self.on_publish(p),
            Pkt::PubAck { id, .. } => match self.out_state(id) {
                Some(OutState::AwaitAck) => self.out_remove(id),
                s => self.violation(format!("PUBACK {id} for a message in state {s:?}")),
            },
            Pkt::PubRec { id, reason } => match self.out_state(id) {
                Some(OutState::AwaitRec) if reason >= 0x80 => self.out_remove(id),
                Some(OutState::AwaitRec) | Some(OutState::AwaitComp) => {
                    self.out_set(id, OutState::AwaitComp);
                    self.send_pubrel(id);
                }
                s => self.violation(format!("PUBREC {id} for a message in state {s:?}")),
            },
            Pkt::PubComp { id, .. } => match self.out_state(id) {
                Some(OutState::AwaitComp) => self.out_remove(id),
                s => self.violation(format!("PUBCOMP {id} for a message in state {s:?}")),
            },
            Pkt::PubRel { id, .. } => {
                // A PUBREL resent after a lost PUBCOMP finds no state;
                // like mosquitto, answer success all the same.
                self.session_mut().inbound_qos2.remove(&id);
                let bytes = self.encode(&Packet::PubComp(ack(id, ReasonCode::SUCCESS)));
                self.reply(|r| &mut r.pubcomp, bytes, Some(id));
            }
            Pkt::Subscribe { id, subs, .. } => {
                let codes: Vec<u8> = match &self.suback_codes {
                    Some(c) => c.clone(),
                    None => subs.iter().map(|(_, o)| o.qos as u8).collect(),
                };
                for ((filter, _), code) in subs.iter().zip(&codes) {
                    let Some(qos) = QoS::from_u8(*code) else {
                        continue;
                    };
                    let s = self.session_mut();
                    s.subs.retain(|(f, _)| f != filter);
                    s.subs.push((filter.clone(), qos));
                }
                let suback = Packet::SubAck(SubAck {
                    packet_id: id,
                    properties: Properties::List(&[]),
                    codes: &codes,
                });
                let bytes = self.encode(&suback);
                self.reply(|r| &mut r.suback, bytes, None);
                // Retained messages follow the SUBACK.
                for ((filter, _), code) in subs.iter().zip(&codes) {
                    let Some(granted) = QoS::from_u8(*code) else {
                        continue;
                    };
                    let matching: Vec<_> = self
                        .retained
                        .iter()
                        .filter(|(t, _, _)| topic::matches(filter, t))
                        .cloned()
                        .collect();
                    for (t, payload, q) in matching {
                        self.publish_with(&t, &payload, q.min(granted), true, Vec::new());
                    }
                }
            }
            Pkt::Unsubscribe { id, filters, .. } => {
                let mut codes = Vec::new();
                for f in &filters {
                    let s = self.session_mut();
                    let before = s.subs.len();
                    s.subs.retain(|(g, _)| g != f);
                    codes.push(if s.subs.len() < before { 0x00 } else { 0x11 });
                }
                if self.version == Version::V311 {
                    codes.clear();
                }
                let unsuback = Packet::UnsubAck(SubAck {
                    packet_id: id,
                    properties: Properties::List(&[]),
                    codes: &codes,
                });
                let bytes = self.encode(&unsuback);
                self.reply(|r| &mut r.unsuback, bytes, None);
            }
            Pkt::PingReq => {
                let bytes = self.encode(&Packet::PingResp);
                self.reply(|r| &mut r.pingresp, bytes, None);
            }
            Pkt::Disconnect { .. } => {
                // The client closes; the broker stops reading.
                self.closing = true;
            }
            Pkt::ConnAck { .. }
            | Pkt::SubAck { .. }
            | Pkt::UnsubAck { .. }
            | Pkt::PingResp
            | Pkt::Raw(_) => {
                self.violation(format!("client sent a server-only packet: {pkt:?}"));
            }
            Pkt::Auth { .. } => {}
        }
    }

    fn on_connect(&mut self, clean: bool, keep_alive: u16, client_id: String, props: &[Property]) {
        self.keep_alive = keep_alive;
        self.client_id = client_id;
        self.client_receive_max = props
            .iter()
            .find_map(|p| match p {
                Property::ReceiveMaximum(m) => Some(*m as usize),
                _ => None,
            })
            .unwrap_or(65_535);
        let expiry = props
            .iter()
            .find_map(|p| match p {
                Property::SessionExpiryInterval(e) => Some(*e),
                _ => None,
            })
            .unwrap_or(0);
        let persistent = match self.version {
            Version::V311 => !clean,
            Version::V5 => expiry > 0,
        };
        if self.connack_code != 0 {
            // A refusal may carry properties too (reason string, server
            // reference).
            let props = self.connack_props.clone();
            let connack = Packet::ConnAck(ConnAck {
                session_present: false,
                code: ReasonCode(self.connack_code),
                properties: Properties::List(&props),
            });
            let bytes = self.encode(&connack);
            self.reply(|r| &mut r.connack, bytes, None);
            self.closing = true;
            return;
        }
        let mut present = !clean && self.session.is_some();
        if self.session_present == Some(false) {
            present = false;
        }
        if !present {
            self.session = Some(Session::default());
        }
        if self.session_present == Some(true) {
            present = true;
        }
        self.session_mut().persistent = persistent;
        let props = self.connack_props.clone();
        let connack = Packet::ConnAck(ConnAck {
            session_present: present,
            code: ReasonCode::SUCCESS,
            properties: Properties::List(&props),
        });
        let bytes = self.encode(&connack);
        // Going online (in `emit`) sends the session's messages.
        self.reply(|r| &mut r.connack, bytes, None);
    }

    fn on_publish(&mut self, p: PubPkt) {
        // Resolve a topic alias the client used (5.0).
        let mut topic = p.topic.clone();
        if let Some(alias) = p.props.iter().find_map(|x| match x {
            Property::TopicAlias(a) => Some(*a),
            _ => None,
        }) {
            let max = self
                .connack_props
                .iter()
                .find_map(|x| match x {
                    Property::TopicAliasMaximum(m) => Some(*m),
                    _ => None,
                })
                .unwrap_or(0);
            if alias == 0 || alias > max {
                self.violation(format!(
                    "client topic alias {alias} above our maximum {max}"
                ));
            }
            if topic.is_empty() {
                match self.aliases.iter().find(|(a, _)| *a == alias) {
                    Some((_, t)) => topic = t.clone(),
                    None => self.violation(format!("client used unknown topic alias {alias}")),
                }
            } else {
                self.aliases.retain(|(a, _)| *a != alias);
                self.aliases.push((alias, topic.clone()));
            }
        }
        let deliver = |b: &mut Broker| {
            b.received.push(Received {
                conn: b.conn,
                t: b.t,
                topic: topic.clone(),
                payload: p.payload.clone(),
                qos: p.qos,
                retain: p.retain,
                dup: p.dup,
                id: p.id,
            });
            if p.retain {
                b.retained.retain(|(t, _, _)| *t != topic);
                if !p.payload.is_empty() {
                    b.retained.push((topic.clone(), p.payload.clone(), p.qos));
                }
            }
            let subs = b
                .session
                .as_ref()
                .map(|s| s.subs.clone())
                .unwrap_or_default();
            for (filter, granted) in subs {
                if topic::matches(&filter, &topic) {
                    b.publish_with(&topic, &p.payload, p.qos.min(granted), false, Vec::new());
                }
            }
        };
        match (p.qos, p.id) {
            (QoS::AtMostOnce, _) => deliver(self),
            (QoS::AtLeastOnce, Some(id)) => {
                self.count_unacked(id, p.dup);
                deliver(self);
                let bytes = self.encode(&Packet::PubAck(ack(id, ReasonCode(self.puback_reason))));
                self.reply(|r| &mut r.puback, bytes, Some(id));
            }
            (QoS::ExactlyOnce, Some(id)) => {
                self.count_unacked(id, p.dup);
                let first = self.session_mut().inbound_qos2.insert(id);
                if first {
                    deliver(self);
                } else if !p.dup {
                    self.violation(format!(
                        "QoS 2 PUBLISH {id} without DUP while that id awaits PUBREL"
                    ));
                }
                let reason = ReasonCode(self.pubrec_reason);
                if reason.0 >= 0x80 {
                    self.session_mut().inbound_qos2.remove(&id);
                }
                let bytes = self.encode(&Packet::PubRec(ack(id, reason)));
                let completes = (reason.0 >= 0x80).then_some(id);
                self.reply(|r| &mut r.pubrec, bytes, completes);
            }
            _ => self.violation(format!("QoS>0 PUBLISH without a packet id: {p:?}")),
        }
    }

    /// Count an unacknowledged client PUBLISH against the receive maximum.
    fn count_unacked(&mut self, id: u16, dup: bool) {
        if !self.unacked.insert(id) && !dup {
            self.violation(format!("packet id {id} reused while still unacknowledged"));
        }
        self.max_unacked_seen = self.max_unacked_seen.max(self.unacked.len());
        if self.version == Version::V5 {
            let max = self
                .connack_props
                .iter()
                .find_map(|p| match p {
                    Property::ReceiveMaximum(m) => Some(*m as usize),
                    _ => None,
                })
                .unwrap_or(65_535);
            if self.unacked.len() > max {
                self.violation(format!(
                    "{} QoS 1/2 PUBLISHes unacknowledged, receive maximum is {max}",
                    self.unacked.len()
                ));
            }
        }
    }

    fn violation(&mut self, what: String) {
        if self.strict {
            panic!(
                "broker sim: client broke the protocol at t={} ms: {what}",
                self.t
            );
        }
        self.violations.push(what);
    }

    // ---- sending ----

    /// Encode a packet in the current version.
    pub fn encode(&self, p: &Packet<'_>) -> Vec<u8> {
        let len = p.encoded_len(self.version).expect("sim packet encodes");
        let mut out = vec![0u8; len];
        let n = p
            .encode(self.version, &mut out)
            .expect("sim packet encodes");
        assert_eq!(n, len, "encoded_len and encode disagree for {p:?}");
        out
    }

    fn reply(
        &mut self,
        which: fn(&mut Replies) -> &mut Reply,
        bytes: Vec<u8>,
        completes: Option<u16>,
    ) {
        let pkt = self.decode_own(&bytes);
        let mode = which(&mut self.replies);
        let action = match mode {
            Reply::DropNext(n) if *n > 0 => {
                *n -= 1;
                Reply::Drop
            }
            Reply::DropNext(_) => Reply::Answer,
            m => *m,
        };
        match action {
            Reply::Answer | Reply::DropNext(_) => self.emit(pkt, bytes, completes),
            Reply::Drop => self.record(Dir::DroppedDown, pkt),
            Reply::Hold => self.pending.push(Pending {
                conn: self.conn,
                due: None,
                pkt,
                bytes,
                completes,
            }),
            Reply::Delay(ms) => self.pending.push(Pending {
                conn: self.conn,
                due: Some(self.t + ms),
                pkt,
                bytes,
                completes,
            }),
        }
    }

    fn decode_own(&self, bytes: &[u8]) -> Pkt {
        match decode(bytes, self.version) {
            Ok(Some((p, n))) if n == bytes.len() => Pkt::from_packet(&p, self.version as u8),
            r => panic!("codec cannot decode what it encoded: {bytes:02x?} -> {r:?}"),
        }
    }

    fn emit(&mut self, pkt: Pkt, bytes: Vec<u8>, completes: Option<u16>) {
        if !self.open {
            return;
        }
        if let Some(id) = completes {
            self.unacked.remove(&id);
        }
        self.to_client.extend_from_slice(&bytes);
        let accepted = matches!(pkt, Pkt::ConnAck { code: 0, .. });
        self.record(Dir::Down, pkt);
        if accepted && !self.online {
            self.online = true;
            // The unacknowledged messages go again (DUP) when the session
            // was kept, the queued ones for the first time.
            self.resend_inflight();
        }
    }

    fn record(&mut self, dir: Dir, pkt: Pkt) {
        let seq = self.next_seq();
        self.log.push(Record {
            seq,
            t: self.t,
            conn: self.conn,
            dir,
            pkt,
        });
    }

    /// Send held replies of this connection (the oldest `n`, or all for
    /// `usize::MAX`). Returns how many went.
    pub fn release(&mut self, n: usize) -> usize {
        let conn = self.conn;
        self.pending.retain(|p| p.conn == conn);
        let mut sent = 0;
        while sent < n {
            let Some(i) = self.pending.iter().position(|p| p.due.is_none()) else {
                break;
            };
            let p = self.pending.remove(i);
            self.emit(p.pkt, p.bytes, p.completes);
            sent += 1;
        }
        sent
    }

    /// Replies held back (not delayed) on this connection.
    pub fn held(&self) -> usize {
        self.pending
            .iter()
            .filter(|p| p.conn == self.conn && p.due.is_none())
            .count()
    }

    /// Earliest delayed reply.
    pub fn next_due(&self) -> Option<u64> {
        self.pending
            .iter()
            .filter(|p| p.conn == self.conn)
            .filter_map(|p| p.due)
            .min()
    }

    /// Send delayed replies that are due.
    pub fn run_due(&mut self) {
        let conn = self.conn;
        self.pending.retain(|p| p.conn == conn);
        while let Some(i) = self
            .pending
            .iter()
            .position(|p| p.due.is_some_and(|d| d <= self.t))
        {
            let p = self.pending.remove(i);
            self.emit(p.pkt, p.bytes, p.completes);
        }
    }

    /// Encode and send any packet as it is (no session bookkeeping).
    pub fn send(&mut self, p: &Packet<'_>) {
        let bytes = self.encode(p);
        let pkt = Pkt::from_packet(p, self.version as u8);
        self.emit(pkt, bytes, None);
    }

    /// Put raw bytes on the link to the client.
    pub fn inject(&mut self, bytes: &[u8]) {
        if self.open {
            self.to_client.extend_from_slice(bytes);
            self.record(Dir::Down, Pkt::Raw(bytes.to_vec()));
        }
    }

    /// Send DISCONNECT (5.0) with a reason and close.
    pub fn disconnect(&mut self, reason: u8) {
        self.send(&Packet::Disconnect(Disconnect {
            reason: ReasonCode(reason),
            properties: Properties::List(&[]),
        }));
        self.closing = true;
    }

    /// Publish to the client as if another client published on a topic it
    /// subscribed to. QoS 1/2 messages are kept in the session until
    /// acknowledged (queued while the client is offline). Returns the
    /// packet id (0 for QoS 0).
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> u16 {
        self.publish_with(topic, payload, qos, false, Vec::new())
    }

    /// [`Broker::publish`] with retain and properties.
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        props: Vec<Property<'static>>,
    ) -> u16 {
        if qos == QoS::AtMostOnce {
            if self.online {
                self.send(&Packet::Publish(Publish {
                    dup: false,
                    qos,
                    retain,
                    topic,
                    packet_id: None,
                    properties: Properties::List(&props),
                    payload,
                }));
            }
            return 0;
        }
        let online = self.online;
        let s = self.session_mut();
        let id = next_free_id(s);
        s.outbound.push(OutMsg {
            id,
            topic: topic.to_string(),
            payload: payload.to_vec(),
            qos,
            retain,
            props: props.clone(),
            state: OutState::Unsent,
        });
        if online {
            self.send_out(id, false);
        }
        id
    }

    fn send_out(&mut self, id: u16, dup: bool) {
        let Some(m) = self
            .session
            .as_ref()
            .and_then(|s| s.outbound.iter().find(|m| m.id == id))
            .cloned()
        else {
            return;
        };
        if m.state == OutState::Unsent && self.inflight_out() >= self.window_out() {
            return; // waits for a slot
        }
        match m.state {
            OutState::AwaitComp => self.send_pubrel(id),
            OutState::Unsent | OutState::AwaitAck | OutState::AwaitRec => {
                let dup = dup && m.state != OutState::Unsent;
                self.send(&Packet::Publish(Publish {
                    dup,
                    qos: m.qos,
                    retain: m.retain,
                    topic: &m.topic,
                    packet_id: Some(id),
                    properties: Properties::List(&m.props),
                    payload: &m.payload,
                }));
                let next = if m.qos == QoS::AtLeastOnce {
                    OutState::AwaitAck
                } else {
                    OutState::AwaitRec
                };
                self.out_set(id, next);
            }
        }
    }

    fn send_pubrel(&mut self, id: u16) {
        let bytes = self.encode(&Packet::PubRel(ack(id, ReasonCode::SUCCESS)));
        self.reply(|r| &mut r.pubrel, bytes, None);
    }

    /// Send every unfinished outbound message again: PUBLISH with DUP
    /// (unsent ones without), PUBREL where PUBREC came.
    pub fn resend_inflight(&mut self) {
        let ids: Vec<u16> = self
            .session
            .as_ref()
            .map(|s| s.outbound.iter().map(|m| m.id).collect())
            .unwrap_or_default();
        for id in ids {
            self.send_out(id, true);
        }
    }

    /// Forget the session (the broker lost it).
    pub fn forget_session(&mut self) {
        self.session = None;
    }

    fn session_mut(&mut self) -> &mut Session {
        self.session.get_or_insert_with(Session::default)
    }

    fn out_state(&self, id: u16) -> Option<OutState> {
        self.session
            .as_ref()?
            .outbound
            .iter()
            .find(|m| m.id == id)
            .map(|m| m.state)
    }

    fn out_set(&mut self, id: u16, state: OutState) {
        if let Some(m) = self.session_mut().outbound.iter_mut().find(|m| m.id == id) {
            m.state = state;
        }
    }

    fn out_remove(&mut self, id: u16) {
        self.session_mut().outbound.retain(|m| m.id != id);
        // A slot is free: the next queued message goes.
        if self.online {
            let next = self
                .session
                .as_ref()
                .and_then(|s| s.outbound.iter().find(|m| m.state == OutState::Unsent))
                .map(|m| m.id);
            if let Some(id) = next {
                self.send_out(id, false);
            }
        }
    }

    /// Outbound messages sent and not complete.
    fn inflight_out(&self) -> usize {
        self.session.as_ref().map_or(0, |s| {
            s.outbound
                .iter()
                .filter(|m| m.state != OutState::Unsent)
                .count()
        })
    }

    fn window_out(&self) -> usize {
        match self.version {
            Version::V5 => self.max_inflight_out.min(self.client_receive_max),
            Version::V311 => self.max_inflight_out,
        }
    }

    /// Outbound QoS 1/2 messages not yet complete.
    pub fn outbound_pending(&self) -> usize {
        self.session.as_ref().map_or(0, |s| s.outbound.len())
    }

    // ---- queries for assertions ----

    /// Client packets the broker handled, on every connection.
    pub fn up(&self) -> impl Iterator<Item = &Record> {
        self.log.iter().filter(|r| r.dir == Dir::Up)
    }

    /// Packets the broker put on the link.
    pub fn down(&self) -> impl Iterator<Item = &Record> {
        self.log.iter().filter(|r| r.dir == Dir::Down)
    }

    /// Client PUBLISHes the broker handled (with their records).
    pub fn up_publishes(&self) -> Vec<(&Record, &PubPkt)> {
        self.up()
            .filter_map(|r| r.pkt.publish().map(|p| (r, p)))
            .collect()
    }

    /// The payloads of the messages received, in order.
    pub fn payloads(&self) -> Vec<Vec<u8>> {
        self.received.iter().map(|r| r.payload.clone()).collect()
    }

    /// Client packets of a kind the broker handled.
    pub fn up_of(&self, kind: mqttas::wire::PacketType) -> Vec<&Record> {
        self.up().filter(|r| r.pkt.kind() == Some(kind)).collect()
    }

    /// Client packets handled on connection `conn`.
    pub fn up_on(&self, conn: u32) -> Vec<&Pkt> {
        self.up()
            .filter(|r| r.conn == conn)
            .map(|r| &r.pkt)
            .collect()
    }

    /// Times (ms) of the client's PINGREQs.
    pub fn ping_times(&self) -> Vec<u64> {
        self.up_of(mqttas::wire::PacketType::PingReq)
            .iter()
            .map(|r| r.t)
            .collect()
    }
}

fn ack(packet_id: u16, reason: ReasonCode) -> Ack<'static> {
    Ack {
        packet_id,
        reason,
        properties: Properties::List(&[]),
    }
}

fn next_free_id(s: &mut Session) -> u16 {
    loop {
        s.next_id = s.next_id.wrapping_add(1);
        if s.next_id == 0 {
            continue;
        }
        if !s.outbound.iter().any(|m| m.id == s.next_id) {
            return s.next_id;
        }
    }
}

/// The protocol level of a CONNECT at the start of `buf`, if it is one and
/// long enough to tell.
fn connect_level(buf: &[u8]) -> Option<u8> {
    if buf.first()? >> 4 != 1 {
        return None;
    }
    let mut i = 1;
    while buf.get(i)? & 0x80 != 0 {
        i += 1;
    }
    // Protocol name "MQTT" (2-byte length + 4 bytes), then the level.
    buf.get(i + 1 + 6).copied()
}
