//! The client session driven by a hostile broker, a jumping clock and a busy
//! application, over small buffers.
//!
//! The input is a config, buffer sizes, a start time and a list of steps:
//! raw broker bytes, well-formed broker packets (CONNACK, PUBLISH,
//! acknowledgements for the ids the client really used, ...) that may be
//! corrupted, time steps (small, to the deadline, big jumps, across the u32
//! wrap) and application commands. A driver plays the documented caller:
//! it feeds bytes in segments, offers the rest again when `handle_input`
//! takes fewer, drains events and transmissions, and closes the link after
//! `ConnectionLost`/`Disconnected`.
//!
//! Invariants checked (beyond "never panic"):
//! - after `handle_timeout(now)`, `poll_deadline` is never at or before `now`;
//! - every QoS 1/2 publication accepted by `publish` stays counted by
//!   `pending_publications` until exactly one `Published` event reports it;
//!   `publish` never hands out an id that is still in use;
//! - no QoS 2 message id is delivered twice while the client tracks it
//!   (between delivery and the PUBCOMP it sends after PUBREL, within one
//!   broker session);
//! - everything the client transmits is whole, valid packets of its
//!   version, in poll_transmit units; a 5.0 protocol error is followed by
//!   DISCONNECT with the error's reason code;
//! - `handle_input` never takes more than it was given, `poll_transmit`
//!   never returns an empty slice;
//! - a payload lent to `publish_borrowed` is asked for only while lent (QoS
//!   1/2 until `Published`, QoS 0 until handed out, `ConnectionLost` or the
//!   next connect), with its length, and only at the end of a PUBLISH head
//!   that with it makes one whole packet carrying those bytes.
#![no_main]

use std::collections::BTreeSet;

use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;

use mqttas::session::{BorrowedPayload, Buffers, ConnectOptions, LostReason, State};
use mqttas::wire::{
    decode, Ack, Auth, ConnAck, Disconnect, Packet, Properties, Property, Publish, QoS, ReasonCode,
    SubAck, SubOptions, Subscription, Version, Will,
};
use mqttas::{Client, Config, Event};

#[derive(Arbitrary, Debug)]
struct Input {
    v5: bool,
    rx: u16,
    tx: u16,
    store: u16,
    aliases: u8,
    keep_alive: u8,
    ping_interval: u16,
    response_time: u16,
    max_repubs: u8,
    clean_init: bool,
    clean: bool,
    max_inflight: u8,
    receive_maximum: u8,
    session_expiry: Option<u32>,
    maximum_packet_size: u16,
    topic_alias_maximum: u8,
    start: u32,
    /// Most bytes per `handle_input` (0: everything at once).
    segment: u8,
    steps: Vec<Step>,
}

#[derive(Arbitrary, Debug)]
enum Step {
    // ---- application ----
    Connect {
        id: u8,
        will: bool,
        user: bool,
        props: bool,
    },
    /// The payload is lent (`publish_borrowed`) when the top bit of
    /// `len` is set, copied otherwise.
    Publish {
        topic: u8,
        len: u16,
        qos: u8,
        retain: bool,
        props: bool,
    },
    Subscribe {
        filter: u8,
        qos: u8,
        two: bool,
    },
    Unsubscribe {
        filter: u8,
    },
    Ping,
    Disconnect {
        reason: u8,
    },
    Auth,
    LinkDown,
    // ---- broker ----
    Raw(Vec<u8>),
    /// Many QoS 1/2 messages at once, with consecutive packet ids (past the
    /// client's receive maximum and its QoS 2 id table).
    Flood {
        n: u8,
        qos2: bool,
        first: u16,
        len: u8,
    },
    /// PUBREL for every message the client sent PUBREC for.
    ReleaseAll,
    /// The right acknowledgement for everything the client awaits.
    AckAll,
    Packet(BrokerPacket),
    Corrupt {
        packet: BrokerPacket,
        at: u16,
        xor: u8,
    },
    /// Cut a packet short: the rest never arrives, then the link drops.
    Truncated {
        packet: BrokerPacket,
        keep: u16,
    },
    // ---- time ----
    Advance(u16),
    AdvanceLong(u32),
    ToDeadline,
    /// Call handle_timeout at whatever time it is, due or not.
    Timeout,
}

#[derive(Arbitrary, Debug)]
enum BrokerPacket {
    ConnAck {
        session_present: bool,
        code: u8,
        props: ConnAckProps,
    },
    Publish {
        topic: u8,
        len: u16,
        qos: u8,
        dup: bool,
        retain: bool,
        id: Id,
        alias: Option<u8>,
        user_props: u8,
    },
    PubAck(Id, u8),
    PubRec(Id, u8),
    PubRel(Id, u8),
    PubComp(Id, u8),
    SubAck(Id, Vec<u8>),
    UnsubAck(Id, Vec<u8>),
    PingResp,
    Disconnect(u8),
    Auth(u8),
}

/// A packet id: one the client used recently, or any.
#[derive(Arbitrary, Debug, Clone, Copy)]
enum Id {
    Recent(u8),
    Inbound(u8),
    Any(u16),
}

#[derive(Arbitrary, Debug)]
struct ConnAckProps {
    receive_maximum: Option<u16>,
    maximum_packet_size: Option<u32>,
    maximum_qos: Option<u8>,
    retain_available: Option<u8>,
    server_keep_alive: Option<u16>,
    assigned_id: Option<u8>,
    topic_alias_maximum: Option<u16>,
}

const TOPICS: [&str; 6] = [
    "a",
    "a/b",
    "sensor/1/temperature",
    "",
    "with space/and/ünïcode",
    "a/very/long/topic/name/that/takes/up/quite/a/few/bytes/of/the/receive/buffer/0123456789",
];
const BAD_TOPICS: [&str; 3] = ["a/+", "#", "nul\0"];
const FILTERS: [&str; 6] = [
    "a",
    "a/+",
    "#",
    "sensor/+/temperature",
    "a/#/b",
    "$share/g/a",
];
const CLIENT_IDS: [&str; 3] = ["fuzz", "", "a-much-longer-client-identifier-for-the-fuzzer"];

fn topic(i: u8) -> &'static str {
    let i = usize::from(i);
    if i % 17 == 16 {
        BAD_TOPICS[i / 17 % BAD_TOPICS.len()]
    } else {
        TOPICS[i % TOPICS.len()]
    }
}

fn qos(q: u8) -> QoS {
    QoS::from_u8(q % 3).unwrap_or(QoS::AtMostOnce)
}

/// The driver and the model of what must hold.
struct Driver<'a> {
    client: Client<'a>,
    v: Version,
    now: u32,
    segment: usize,
    link_up: bool,
    /// Bytes from the broker not yet taken by the client.
    pending: Vec<u8>,
    /// QoS 1/2 publications accepted and not yet reported by `Published`.
    outstanding: BTreeSet<u16>,
    /// Inbound QoS 2 ids delivered and not yet completed by our PUBCOMP.
    tracked_qos2: BTreeSet<u16>,
    /// Those of them the client delivered untracked (its id table was
    /// full on a clean session), and its count of such deliveries so far.
    untracked_qos2: BTreeSet<u16>,
    untracked_seen: u32,
    /// Packet ids the client sent lately (for acknowledgements that match).
    recent: Vec<u16>,
    /// Inbound packet ids the client acknowledged lately (for PUBREL).
    inbound: Vec<u16>,
    /// Ids the client sent PUBREC for and has not completed (PUBCOMP).
    pubrecs: BTreeSet<u16>,
    /// The broker's bytes on this link, read as the client reads them, and
    /// the ids of the PUBRECs among them (a PUBREC for an id that is not
    /// ours still gets a PUBREL: 5.0 with 0x92).
    from_broker: Vec<u8>,
    broker_pubrecs: BTreeSet<u16>,
    /// What the client awaits from the broker on this link: (id, the
    /// acknowledgement's first byte, filter count).
    awaiting: Vec<(u16, u8, usize)>,
    /// Reason code of the 5.0 DISCONNECT that must follow a protocol error.
    expect_disconnect: Option<u8>,
    /// SUBSCRIBE and UNSUBSCRIBE ids accepted on this connection and not
    /// yet acknowledged.
    subscribing: BTreeSet<u16>,
    unsubscribing: BTreeSet<u16>,
    /// A chunked message is being delivered: its QoS, packet id and DUP.
    in_chunk: Option<(QoS, u16, bool)>,
    /// Payloads lent to the client, by token, while it may ask for them.
    lent: BTreeMap<usize, Vec<u8>>,
    /// The token of each QoS 1/2 publication with a lent payload.
    lent_ids: BTreeMap<u16, usize>,
    /// The lent QoS 0 payload, if any.
    lent_qos0: Option<usize>,
    next_token: usize,
}

fn remember(list: &mut Vec<u16>, id: u16) {
    if list.len() >= 16 {
        list.remove(0);
    }
    list.push(id);
}

impl Driver<'_> {
    fn id(&self, id: Id) -> u16 {
        let pick = |l: &Vec<u16>, i: u8| l.get(usize::from(i) % l.len().max(1)).copied();
        match id {
            Id::Recent(i) => pick(&self.recent, i).unwrap_or(1),
            Id::Inbound(i) => pick(&self.inbound, i).unwrap_or(1),
            Id::Any(n) => n,
        }
    }

    fn deadline_after_timeout(&self) {
        if let Some(d) = self.client.poll_deadline() {
            let ahead = d.wrapping_sub(self.now) as i32;
            assert!(
                ahead > 0,
                "after handle_timeout({:#x}) the deadline {d:#x} is {ahead} ms away (state {:?})",
                self.now,
                self.client.state()
            );
        }
    }

    fn timeout(&mut self) {
        self.client.handle_timeout(self.now);
        self.deadline_after_timeout();
        self.pump();
    }

    /// Time passes in steps no larger than the deadlines (as a driver that
    /// sleeps until `poll_deadline` would see it), then jumps if `jump`.
    fn advance(&mut self, ms: u32) {
        let mut left = ms;
        for _ in 0..64 {
            let due = self
                .client
                .poll_deadline()
                .map(|d| d.wrapping_sub(self.now) as i32)
                .filter(|&a| a >= 0)
                .map(|a| a as u32);
            match due {
                Some(a) if a <= left => {
                    self.now = self.now.wrapping_add(a);
                    left -= a;
                    self.timeout();
                }
                _ => break,
            }
        }
        self.now = self.now.wrapping_add(left);
        if let Some(d) = self.client.poll_deadline() {
            if (self.now.wrapping_sub(d) as i32) >= 0 {
                self.timeout();
            }
        }
    }

    /// The connection is gone: requests die with it.
    fn connection_gone(&mut self) {
        self.subscribing.clear();
        self.unsubscribing.clear();
        assert_eq!(self.client.state(), State::Disconnected);
        assert_eq!(
            self.client.poll_deadline(),
            None,
            "a deadline without a connection"
        );
    }

    fn close_link(&mut self) {
        self.awaiting.clear();
        self.from_broker.clear();
        self.broker_pubrecs.clear();
        self.link_up = false;
        self.pending.clear();
        self.in_chunk = None;
    }

    /// The QoS 0 payload is the application's again.
    fn release_qos0(&mut self) {
        if let Some(t) = self.lent_qos0.take() {
            self.lent.remove(&t);
        }
    }

    /// Take what the client sends and check it is whole, valid packets.
    fn transmit(&mut self) -> bool {
        let mut any = false;
        for _ in 0..10_000 {
            let Some(t) = self.client.poll_transmit_vectored(self.now) else {
                break;
            };
            assert!(!t.head.is_empty(), "poll_transmit returned an empty slice");
            any = true;
            let mut bytes = t.head.to_vec();
            // Where the lent payload, if any, starts.
            let lent_at = t.payload.map(|_| bytes.len());
            if let Some(p) = t.payload {
                let Some(body) = self.lent.get(&p.token) else {
                    panic!("the client asked for lent payload {} it is done with", p.token);
                };
                assert_eq!(body.len(), p.len, "length of lent payload {}", p.token);
                bytes.extend_from_slice(body);
                if self.lent_qos0 == Some(p.token) {
                    self.release_qos0();
                }
            }
            let mut at = 0;
            while at < bytes.len() {
                let (p, n) = match decode(&bytes[at..], self.v) {
                    Ok(Some(x)) => x,
                    other => panic!(
                        "client sent {other:?} at {at} of {:02x?} ({:?})",
                        bytes, self.v
                    ),
                };
                at += n;
                if let (Some(from), true) = (lent_at, at == bytes.len()) {
                    // The lent bytes are the whole payload of the last
                    // packet, a PUBLISH whose head the client handed out
                    // (both end the bytes: equal, they start together).
                    let tail = &bytes[from..];
                    assert!(
                        matches!(&p, Packet::Publish(x) if x.payload == tail),
                        "lent payload is not the payload of the last PUBLISH: {p:?}"
                    );
                }
                self.sent(&p);
            }
        }
        if let Some(code) = self.expect_disconnect.take() {
            panic!("no DISCONNECT {code:#04x} after a protocol error");
        }
        any
    }

    fn sent(&mut self, p: &Packet<'_>) {
        if let Some(code) = self.expect_disconnect {
            if let Packet::Disconnect(d) = p {
                assert_eq!(d.reason.0, code, "DISCONNECT reason after a protocol error");
                self.expect_disconnect = None;
            }
        }
        match p {
            Packet::Publish(p) => {
                if let Some(id) = p.packet_id {
                    assert!(
                        self.outstanding.contains(&id),
                        "client sent PUBLISH {id} that is not outstanding"
                    );
                    remember(&mut self.recent, id);
                    let first = if p.qos == QoS::AtLeastOnce {
                        0x40
                    } else {
                        0x50
                    };
                    self.awaiting.push((id, first, 0));
                }
            }
            Packet::PubRel(a) => {
                let ours = self.outstanding.contains(&a.packet_id);
                assert!(
                    ours || self.broker_pubrecs.contains(&a.packet_id),
                    "PUBREL {} neither outstanding nor answering a PUBREC",
                    a.packet_id
                );
                if !ours && self.v == Version::V5 {
                    assert_eq!(a.reason, ReasonCode(0x92), "PUBREL for an unknown id");
                }
                remember(&mut self.recent, a.packet_id);
                self.awaiting.push((a.packet_id, 0x70, 0));
            }
            Packet::Subscribe(s) => {
                remember(&mut self.recent, s.packet_id);
                let n = s.subscriptions.iter().count();
                self.awaiting.push((s.packet_id, 0x90, n));
            }
            Packet::Unsubscribe(u) => {
                remember(&mut self.recent, u.packet_id);
                let n = u.filters.iter().count();
                self.awaiting.push((u.packet_id, 0xB0, n));
            }
            Packet::PubAck(a) => remember(&mut self.inbound, a.packet_id),
            Packet::PubRec(a) => {
                remember(&mut self.inbound, a.packet_id);
                self.pubrecs.insert(a.packet_id);
            }
            Packet::PubComp(a) => {
                self.tracked_qos2.remove(&a.packet_id);
                self.untracked_qos2.remove(&a.packet_id);
                self.pubrecs.remove(&a.packet_id);
            }
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp => {
                panic!("client sent a server packet {p:?}")
            }
            _ => {}
        }
    }

    /// A message starts being delivered; `whole` when it is complete too
    /// (a chunked one is tracked from its end on: cut short, it may come
    /// again); `dup` as received.
    ///
    /// The one case a client cannot catch: a message it delivered
    /// untracked (id table full on a clean session) sent again without
    /// DUP, which MQTT-3.3.1-1 forbids. Sent again with DUP it must not be
    /// delivered twice, tracked or not.
    fn delivered(&mut self, qos: QoS, packet_id: u16, whole: bool, dup: bool) {
        assert_eq!(
            qos == QoS::AtMostOnce,
            packet_id == 0,
            "packet id {packet_id} at {qos:?}"
        );
        if qos == QoS::ExactlyOnce {
            // A chunked message is counted at its start and recorded at its
            // end, with nothing delivered in between.
            let untracked = self.client.qos2_stats().untracked;
            let now_untracked = untracked != self.untracked_seen;
            if whole {
                self.untracked_seen = untracked;
            }
            let unseen_resend = !dup && self.untracked_qos2.contains(&packet_id);
            assert!(
                !self.tracked_qos2.contains(&packet_id) || unseen_resend,
                "QoS 2 message {packet_id} delivered twice while tracked"
            );
            if whole {
                self.tracked_qos2.insert(packet_id);
                if now_untracked {
                    self.untracked_qos2.insert(packet_id);
                }
            }
        }
    }

    fn events(&mut self) -> bool {
        let mut any = false;
        for _ in 0..100_000 {
            let Some(e) = self.client.poll_event() else {
                return any;
            };
            any = true;
            match e {
                Event::Connected {
                    session_present, ..
                } => {
                    if !session_present {
                        self.tracked_qos2.clear();
                        self.untracked_qos2.clear();
                    }
                }
                Event::Message(m) => {
                    assert!(self.in_chunk.is_none(), "Message inside a chunked message");
                    assert!(!m.topic.is_empty(), "empty topic delivered");
                    let (q, id, dup) = (m.qos, m.packet_id, m.dup);
                    self.delivered(q, id, true, dup);
                }
                Event::MessageStart(m) => {
                    assert!(
                        self.in_chunk.is_none(),
                        "MessageStart inside a chunked message"
                    );
                    assert!(!m.topic.is_empty(), "empty topic delivered");
                    let (q, id, dup) = (m.qos, m.packet_id, m.dup);
                    self.in_chunk = Some((q, id, dup));
                    self.delivered(q, id, false, dup);
                }
                Event::MessageChunk(c) => {
                    assert!(self.in_chunk.is_some(), "chunk outside a chunked message");
                    assert!(!c.is_empty(), "empty chunk");
                }
                Event::MessageEnd => {
                    let Some((q, id, dup)) = self.in_chunk.take() else {
                        panic!("end outside a chunked message");
                    };
                    self.delivered(q, id, true, dup);
                }
                Event::Published { packet_id, .. } => {
                    assert!(
                        self.outstanding.remove(&packet_id),
                        "Published {packet_id} for nothing outstanding"
                    );
                    if let Some(t) = self.lent_ids.remove(&packet_id) {
                        self.lent.remove(&t);
                    }
                }
                Event::ConnectionLost(reason) => {
                    if let (LostReason::Protocol(e), Version::V5) = (reason, self.v) {
                        self.expect_disconnect = Some(e.reason_code().0);
                    }
                    assert!(!reason.to_string().is_empty());
                    self.connection_gone();
                    self.close_link();
                    self.release_qos0();
                }
                Event::Disconnected => {
                    // Everything queued before went out first.
                    assert_eq!(self.lent_qos0, None, "Disconnected with a lent QoS 0 payload queued");
                    self.connection_gone();
                    self.close_link();
                }
                Event::Subscribed { packet_id, .. } => {
                    assert!(
                        self.subscribing.remove(&packet_id),
                        "Subscribed {packet_id} for no pending SUBSCRIBE"
                    );
                }
                Event::Unsubscribed { packet_id, .. } => {
                    assert!(
                        self.unsubscribing.remove(&packet_id),
                        "Unsubscribed {packet_id} for no pending UNSUBSCRIBE"
                    );
                }
                Event::Auth { .. } => {}
                Event::MessageSkipped { topic, .. } => {
                    assert!(
                        self.in_chunk.is_none(),
                        "MessageSkipped inside a chunked message"
                    );
                    assert!(!topic.is_empty(), "empty topic skipped");
                }
            }
        }
        panic!("poll_event never returns None");
    }

    /// Move bytes and events until nothing moves.
    fn pump(&mut self) {
        for _ in 0..100_000 {
            let mut progress = self.events();
            progress |= self.transmit();
            if self.link_up && !self.pending.is_empty() {
                let n = self.pending.len().min(self.segment);
                let taken = self.client.handle_input(self.now, &self.pending[..n]);
                assert!(taken <= n, "handle_input took {taken} of {n}");
                self.pending.drain(..taken);
                progress |= taken > 0;
            }
            if !progress {
                break;
            }
        }
        // Quiet: nothing is half reported, so the store and the model agree.
        assert_eq!(
            self.client.pending_publications(),
            self.outstanding.len(),
            "store and Published events disagree: outstanding {:?}",
            self.outstanding
        );
    }

    fn broker_sends(&mut self, bytes: &[u8]) {
        if self.link_up {
            self.pending.extend_from_slice(bytes);
            self.from_broker.extend_from_slice(bytes);
            loop {
                match decode(&self.from_broker, self.v) {
                    Ok(Some((p, n))) => {
                        if let Packet::PubRec(a) = p {
                            self.broker_pubrecs.insert(a.packet_id);
                        }
                        self.from_broker.drain(..n);
                    }
                    Ok(None) => break,
                    // The client closes on it: nothing after it counts.
                    Err(_) => {
                        self.from_broker.clear();
                        break;
                    }
                }
            }
        }
        self.pump();
    }

    fn encode(&self, p: &BrokerPacket) -> Option<Vec<u8>> {
        let mut props_buf: Vec<Property<'static>> = Vec::new();
        let payload = vec![0x5Au8; 4096];
        let codes_buf: Vec<u8>;
        let packet = match p {
            BrokerPacket::ConnAck {
                session_present,
                code,
                props,
            } => {
                if self.v == Version::V5 {
                    let c = props;
                    if let Some(n) = c.receive_maximum {
                        props_buf.push(Property::ReceiveMaximum(n.max(1)));
                    }
                    if let Some(n) = c.maximum_packet_size {
                        props_buf.push(Property::MaximumPacketSize(n.max(1)));
                    }
                    if let Some(n) = c.maximum_qos {
                        props_buf.push(Property::MaximumQoS(n % 2));
                    }
                    if let Some(n) = c.retain_available {
                        props_buf.push(Property::RetainAvailable(n % 2));
                    }
                    if let Some(n) = c.server_keep_alive {
                        props_buf.push(Property::ServerKeepAlive(n));
                    }
                    if let Some(n) = c.assigned_id {
                        props_buf.push(Property::AssignedClientIdentifier(
                            CLIENT_IDS[usize::from(n) % CLIENT_IDS.len()],
                        ));
                    }
                    if let Some(n) = c.topic_alias_maximum {
                        props_buf.push(Property::TopicAliasMaximum(n));
                    }
                }
                // Mostly success: refusals are one code among many.
                let code = if code % 4 != 0 { 0 } else { *code / 4 };
                Packet::ConnAck(ConnAck {
                    session_present: *session_present && code == 0,
                    code: ReasonCode(code),
                    properties: Properties::List(&props_buf),
                })
            }
            BrokerPacket::Publish {
                topic: t,
                len,
                qos: q,
                dup,
                retain,
                id,
                alias,
                user_props,
            } => {
                let q = qos(*q);
                if self.v == Version::V5 {
                    if let Some(a) = alias {
                        props_buf.push(Property::TopicAlias(u16::from(*a).max(1)));
                    }
                    for _ in 0..(user_props % 4) {
                        props_buf.push(Property::UserProperty("k", "v"));
                    }
                }
                let n = usize::from(*len) % payload.len();
                Packet::Publish(Publish {
                    dup: *dup && q != QoS::AtMostOnce,
                    qos: q,
                    retain: *retain,
                    topic: TOPICS[usize::from(*t) % TOPICS.len()],
                    packet_id: (q != QoS::AtMostOnce).then(|| self.id(*id).max(1)),
                    properties: Properties::List(&props_buf),
                    payload: &payload[..n],
                })
            }
            BrokerPacket::PubAck(id, r)
            | BrokerPacket::PubRec(id, r)
            | BrokerPacket::PubRel(id, r)
            | BrokerPacket::PubComp(id, r) => {
                let a = Ack {
                    packet_id: self.id(*id).max(1),
                    reason: ReasonCode(if self.v == Version::V5 && r % 4 == 0 {
                        *r
                    } else {
                        0
                    }),
                    properties: Properties::default(),
                };
                match p {
                    BrokerPacket::PubAck(..) => Packet::PubAck(a),
                    BrokerPacket::PubRec(..) => Packet::PubRec(a),
                    BrokerPacket::PubRel(..) => Packet::PubRel(a),
                    _ => Packet::PubComp(a),
                }
            }
            BrokerPacket::SubAck(id, codes) | BrokerPacket::UnsubAck(id, codes) => {
                codes_buf = codes.iter().take(8).map(|c| c % 3).collect();
                let s = SubAck {
                    packet_id: self.id(*id).max(1),
                    properties: Properties::default(),
                    codes: &codes_buf,
                };
                if matches!(p, BrokerPacket::SubAck(..)) {
                    Packet::SubAck(s)
                } else {
                    Packet::UnsubAck(SubAck {
                        codes: if self.v == Version::V311 {
                            &[]
                        } else {
                            &codes_buf
                        },
                        ..s
                    })
                }
            }
            BrokerPacket::PingResp => Packet::PingResp,
            BrokerPacket::Disconnect(r) => Packet::Disconnect(Disconnect {
                reason: ReasonCode(*r),
                properties: Properties::default(),
            }),
            BrokerPacket::Auth(r) => Packet::Auth(Auth {
                reason: ReasonCode(*r),
                properties: Properties::default(),
            }),
        };
        let len = packet.encoded_len(self.v).ok()?;
        let mut out = vec![0u8; len];
        let n = packet.encode(self.v, &mut out).ok()?;
        out.truncate(n);
        Some(out)
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Connect {
                id,
                will,
                user,
                props,
            } => {
                if self.client.state() != State::Disconnected {
                    // Must refuse, and change nothing.
                    let before = self.client.pending_publications();
                    let r = self.client.connect(self.now, &ConnectOptions::default());
                    assert!(r.is_err(), "connect while {:?}", self.client.state());
                    assert_eq!(before, self.client.pending_publications());
                    self.pump();
                    return;
                }
                let extra = [
                    Property::UserProperty("fuzz", "yes"),
                    Property::RequestProblemInformation(1),
                ];
                let opts = ConnectOptions {
                    client_id: CLIENT_IDS[usize::from(*id) % CLIENT_IDS.len()],
                    username: user.then_some("user"),
                    password: user.then_some(&b"secret"[..]),
                    will: will.then_some(Will {
                        topic: "will/topic",
                        payload: b"gone",
                        qos: QoS::AtLeastOnce,
                        retain: false,
                        properties: Properties::default(),
                    }),
                    properties: if *props { &extra } else { &[] },
                };
                // A new link: nothing left over from the previous one.
                self.close_link();
                if self.client.connect(self.now, &opts).is_ok() {
                    self.link_up = true;
                    self.release_qos0();
                }
                self.pump();
            }
            Step::Publish {
                topic: t,
                len,
                qos: q,
                retain,
                props,
            } => {
                let lend = len & 0x8000 != 0;
                let token = self.next_token;
                self.next_token += 1;
                let payload = vec![token as u8; usize::from(*len & 0x7fff) % 3000];
                let p = [Property::UserProperty("k", "v")];
                let q = qos(*q);
                let before = self.client.pending_publications();
                let props: &[Property<'_>] = if *props { &p } else { &[] };
                let r = if lend {
                    let lent = BorrowedPayload {
                        token,
                        len: payload.len(),
                    };
                    let r = self
                        .client
                        .publish_borrowed(self.now, topic(*t), lent, q, *retain, props);
                    if let Ok(id) = r {
                        if q == QoS::AtMostOnce {
                            // Accepted: no earlier QoS 0 payload is lent.
                            self.release_qos0();
                            self.lent_qos0 = Some(token);
                        } else {
                            self.lent_ids.insert(id, token);
                        }
                        self.lent.insert(token, payload.clone());
                    }
                    r
                } else {
                    self.client
                        .publish(self.now, topic(*t), &payload, q, *retain, props)
                };
                match r {
                    Ok(id) if q == QoS::AtMostOnce => assert_eq!(id, 0),
                    Ok(id) => {
                        assert_ne!(id, 0);
                        assert!(self.outstanding.insert(id), "publish reused id {id}");
                        assert!(
                            !self.subscribing.contains(&id) && !self.unsubscribing.contains(&id),
                            "publish reused request id {id}"
                        );
                        assert_eq!(self.client.pending_publications(), before + 1);
                    }
                    Err(e) => {
                        assert!(!e.to_string().is_empty());
                        assert_eq!(self.client.pending_publications(), before);
                    }
                }
                self.pump();
            }
            Step::Subscribe {
                filter,
                qos: q,
                two,
            } => {
                let f = |i: u8| FILTERS[usize::from(i) % FILTERS.len()];
                let subs = [
                    Subscription {
                        filter: f(*filter),
                        options: SubOptions::qos(qos(*q)),
                    },
                    Subscription {
                        filter: f(filter.wrapping_add(1)),
                        options: SubOptions::qos(qos(q / 3)),
                    },
                ];
                let n = if *two { 2 } else { 1 };
                if let Ok(id) = self.client.subscribe(self.now, &subs[..n], &[]) {
                    assert!(self.subscribing.insert(id), "SUBSCRIBE id {id} in use");
                    assert!(!self.unsubscribing.contains(&id), "id {id} in use");
                    assert!(!self.outstanding.contains(&id), "id {id} in use");
                }
                self.pump();
            }
            Step::Unsubscribe { filter } => {
                let f = [FILTERS[usize::from(*filter) % FILTERS.len()]];
                if let Ok(id) = self.client.unsubscribe(self.now, &f, &[]) {
                    assert!(self.unsubscribing.insert(id), "UNSUBSCRIBE id {id} in use");
                    assert!(!self.subscribing.contains(&id), "id {id} in use");
                    assert!(!self.outstanding.contains(&id), "id {id} in use");
                }
                self.pump();
            }
            Step::Ping => {
                let _ = self.client.ping(self.now);
                self.pump();
            }
            Step::Disconnect { reason } => {
                let code = if self.v == Version::V5 {
                    *reason % 8
                } else {
                    0
                };
                if self
                    .client
                    .disconnect(self.now, ReasonCode(code), &[])
                    .is_ok()
                {
                    self.subscribing.clear();
                    self.unsubscribing.clear();
                }
                self.pump();
            }
            Step::Auth => {
                let p = [Property::AuthenticationMethod("fuzz")];
                let _ = self.client.auth(self.now, ReasonCode(0x19), &p);
                self.pump();
            }
            Step::LinkDown => {
                self.client.handle_link_down(self.now);
                self.subscribing.clear();
                self.unsubscribing.clear();
                self.pump();
                self.close_link();
                // Whatever is queued now goes nowhere, but must still be valid.
                self.transmit();
            }
            Step::Raw(bytes) => self.broker_sends(bytes),
            Step::Flood {
                n,
                qos2,
                first,
                len,
            } => {
                let q = if *qos2 {
                    QoS::ExactlyOnce
                } else {
                    QoS::AtLeastOnce
                };
                let payload = vec![0x33u8; usize::from(*len)];
                let mut bytes = Vec::new();
                for i in 0..u16::from(*n % 100) {
                    let id = first.wrapping_add(i).max(1);
                    let p = Packet::Publish(Publish {
                        dup: false,
                        qos: q,
                        retain: false,
                        topic: "flood",
                        packet_id: Some(id),
                        properties: Properties::default(),
                        payload: &payload,
                    });
                    let mut out = vec![0u8; p.encoded_len(self.v).unwrap_or(0)];
                    if let Ok(k) = p.encode(self.v, &mut out) {
                        bytes.extend_from_slice(&out[..k]);
                    }
                }
                self.broker_sends(&bytes);
            }
            Step::ReleaseAll => {
                let mut bytes = Vec::new();
                for id in &self.pubrecs {
                    bytes.extend_from_slice(&[0x62, 0x02]);
                    bytes.extend_from_slice(&id.to_be_bytes());
                }
                self.broker_sends(&bytes);
            }
            Step::AckAll => {
                let mut bytes = Vec::new();
                for (id, first, n) in self.awaiting.drain(..) {
                    let [hi, lo] = id.to_be_bytes();
                    let v5 = self.v == Version::V5;
                    match first {
                        0x90 | 0xB0 => {
                            let codes = if first == 0xB0 && !v5 { 0 } else { n };
                            let body = 2 + usize::from(v5) + codes;
                            bytes.extend_from_slice(&[first, body as u8, hi, lo]);
                            if v5 {
                                bytes.push(0);
                            }
                            bytes.extend(std::iter::repeat_n(0u8, codes));
                        }
                        _ => bytes.extend_from_slice(&[first, 2, hi, lo]),
                    }
                }
                self.broker_sends(&bytes);
            }
            Step::Packet(p) => {
                if let Some(b) = self.encode(p) {
                    self.broker_sends(&b);
                }
            }
            Step::Corrupt { packet, at, xor } => {
                if let Some(mut b) = self.encode(packet) {
                    let i = usize::from(*at) % b.len();
                    b[i] ^= xor | 1;
                    self.broker_sends(&b);
                }
            }
            Step::Truncated { packet, keep } => {
                if let Some(b) = self.encode(packet) {
                    let k = usize::from(*keep) % b.len();
                    self.broker_sends(&b[..k]);
                    self.client.handle_link_down(self.now);
                    self.subscribing.clear();
                    self.unsubscribing.clear();
                    self.pump();
                    self.close_link();
                    self.transmit();
                }
            }
            Step::Advance(ms) => {
                self.advance(u32::from(*ms));
                self.pump();
            }
            Step::AdvanceLong(ms) => {
                // Up to ~12 days: wrapping time is only ordered within 2^31 ms.
                self.advance(ms % (1 << 30));
                self.pump();
            }
            Step::ToDeadline => {
                if let Some(d) = self.client.poll_deadline() {
                    let ahead = d.wrapping_sub(self.now) as i32;
                    if ahead > 0 {
                        self.now = d;
                    }
                    self.timeout();
                }
            }
            Step::Timeout => self.timeout(),
        }
    }
}

fuzz_target!(|input: Input| {
    let v = if input.v5 { Version::V5 } else { Version::V311 };
    let config = Config {
        version: v,
        keep_alive: u16::from(input.keep_alive),
        ping_interval_ms: u32::from(input.ping_interval),
        response_time_ms: u32::from(input.response_time),
        max_repubs: input.max_repubs % 6,
        clean_init: input.clean_init,
        clean: input.clean,
        max_inflight: u16::from(input.max_inflight % 10),
        receive_maximum: u16::from(input.receive_maximum % 70),
        session_expiry: input.session_expiry,
        maximum_packet_size: u32::from(input.maximum_packet_size),
        topic_alias_maximum: u16::from(input.topic_alias_maximum % 8),
    };
    let mut rx = vec![0u8; usize::from(input.rx % 1100)];
    let mut tx = vec![0u8; usize::from(input.tx % 1100)];
    let mut store = vec![0u8; usize::from(input.store % 4000)];
    let mut aliases = vec![0u8; usize::from(input.aliases)];
    let mut ids =
        vec![0u16; usize::from(input.receive_maximum % 70) + usize::from(input.aliases % 4)];
    let buffers = Buffers {
        rx: &mut rx,
        tx: &mut tx,
        store: &mut store,
        aliases: &mut aliases,
        out_aliases: &mut [],
        inbound_qos2: &mut ids,
    };
    // Invalid configs must be refused with an error, never a panic.
    let Ok(client) = Client::new(config, buffers) else {
        return;
    };
    let mut d = Driver {
        client,
        v,
        now: input.start,
        segment: if input.segment == 0 {
            usize::MAX
        } else {
            usize::from(input.segment)
        },
        link_up: false,
        pending: Vec::new(),
        outstanding: BTreeSet::new(),
        tracked_qos2: BTreeSet::new(),
        untracked_qos2: BTreeSet::new(),
        untracked_seen: 0,
        from_broker: Vec::new(),
        broker_pubrecs: BTreeSet::new(),
        recent: Vec::new(),
        inbound: Vec::new(),
        pubrecs: BTreeSet::new(),
        awaiting: Vec::new(),
        subscribing: BTreeSet::new(),
        unsubscribing: BTreeSet::new(),
        expect_disconnect: None,
        in_chunk: None,
        lent: BTreeMap::new(),
        lent_ids: BTreeMap::new(),
        lent_qos0: None,
        next_token: 1,
    };
    for s in input.steps.iter().take(256) {
        d.step(s);
    }
});
