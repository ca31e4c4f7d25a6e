//! Owned summaries of packets (both directions) and of client events, so a
//! test can keep them after the client's buffers have moved on and compare
//! them with `assert_eq!`.

use mqttas::session::{LostReason, Message, MessageStart};
use mqttas::wire::{Packet, PacketType, Properties, Property, QoS, SubOptions};
use mqttas::Event;

/// Which way a packet went, or that the sim threw it away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dir {
    /// Client to broker, handled by the broker.
    Up,
    /// Broker to client (put on the link).
    Down,
    /// A client packet the sim dropped as if lost in transit.
    LostUp,
    /// A broker reply the sim's reply switches dropped.
    DroppedDown,
}

/// One packet seen by the broker sim.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Order among all records and events of the pair.
    pub seq: u64,
    /// Simulated milliseconds since the pair started.
    pub t: u64,
    /// Connection number (1 for the first link).
    pub conn: u32,
    /// Direction.
    pub dir: Dir,
    /// The packet.
    pub pkt: Pkt,
}

/// An owned PUBLISH.
#[derive(Clone, Debug, PartialEq)]
pub struct PubPkt {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    pub topic: String,
    pub id: Option<u16>,
    pub props: Vec<Property<'static>>,
    pub payload: Vec<u8>,
}

/// An owned will.
#[derive(Clone, Debug, PartialEq)]
pub struct WillRec {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub props: Vec<Property<'static>>,
}

/// An owned control packet.
#[derive(Clone, Debug, PartialEq)]
pub enum Pkt {
    Connect {
        level: u8,
        clean: bool,
        keep_alive: u16,
        client_id: String,
        username: Option<String>,
        password: Option<Vec<u8>>,
        will: Option<WillRec>,
        props: Vec<Property<'static>>,
    },
    ConnAck {
        session_present: bool,
        code: u8,
        props: Vec<Property<'static>>,
    },
    Publish(PubPkt),
    PubAck {
        id: u16,
        reason: u8,
    },
    PubRec {
        id: u16,
        reason: u8,
    },
    PubRel {
        id: u16,
        reason: u8,
    },
    PubComp {
        id: u16,
        reason: u8,
    },
    Subscribe {
        id: u16,
        subs: Vec<(String, SubOptions)>,
        props: Vec<Property<'static>>,
    },
    SubAck {
        id: u16,
        codes: Vec<u8>,
    },
    Unsubscribe {
        id: u16,
        filters: Vec<String>,
        props: Vec<Property<'static>>,
    },
    UnsubAck {
        id: u16,
        codes: Vec<u8>,
    },
    PingReq,
    PingResp,
    Disconnect {
        reason: u8,
        props: Vec<Property<'static>>,
    },
    Auth {
        reason: u8,
        props: Vec<Property<'static>>,
    },
    /// Bytes injected as they are (not necessarily a valid packet).
    Raw(Vec<u8>),
}

impl Pkt {
    /// The packet type, `None` for raw bytes.
    pub fn kind(&self) -> Option<PacketType> {
        Some(match self {
            Pkt::Connect { .. } => PacketType::Connect,
            Pkt::ConnAck { .. } => PacketType::ConnAck,
            Pkt::Publish(_) => PacketType::Publish,
            Pkt::PubAck { .. } => PacketType::PubAck,
            Pkt::PubRec { .. } => PacketType::PubRec,
            Pkt::PubRel { .. } => PacketType::PubRel,
            Pkt::PubComp { .. } => PacketType::PubComp,
            Pkt::Subscribe { .. } => PacketType::Subscribe,
            Pkt::SubAck { .. } => PacketType::SubAck,
            Pkt::Unsubscribe { .. } => PacketType::Unsubscribe,
            Pkt::UnsubAck { .. } => PacketType::UnsubAck,
            Pkt::PingReq => PacketType::PingReq,
            Pkt::PingResp => PacketType::PingResp,
            Pkt::Disconnect { .. } => PacketType::Disconnect,
            Pkt::Auth { .. } => PacketType::Auth,
            Pkt::Raw(_) => return None,
        })
    }

    /// Packet identifier, where the packet has one.
    pub fn id(&self) -> Option<u16> {
        match self {
            Pkt::Publish(p) => p.id,
            Pkt::PubAck { id, .. }
            | Pkt::PubRec { id, .. }
            | Pkt::PubRel { id, .. }
            | Pkt::PubComp { id, .. }
            | Pkt::Subscribe { id, .. }
            | Pkt::SubAck { id, .. }
            | Pkt::Unsubscribe { id, .. }
            | Pkt::UnsubAck { id, .. } => Some(*id),
            _ => None,
        }
    }

    /// The PUBLISH, if this is one.
    pub fn publish(&self) -> Option<&PubPkt> {
        match self {
            Pkt::Publish(p) => Some(p),
            _ => None,
        }
    }

    /// The owned form of a decoded or to-be-encoded packet.
    pub fn from_packet(p: &Packet<'_>, level: u8) -> Pkt {
        match p {
            Packet::Connect(c) => Pkt::Connect {
                level,
                clean: c.clean_start,
                keep_alive: c.keep_alive,
                client_id: c.client_id.to_string(),
                username: c.username.map(str::to_string),
                password: c.password.map(<[u8]>::to_vec),
                will: c.will.map(|w| WillRec {
                    topic: w.topic.to_string(),
                    payload: w.payload.to_vec(),
                    qos: w.qos,
                    retain: w.retain,
                    props: own_props(&w.properties),
                }),
                props: own_props(&c.properties),
            },
            Packet::ConnAck(c) => Pkt::ConnAck {
                session_present: c.session_present,
                code: c.code.0,
                props: own_props(&c.properties),
            },
            Packet::Publish(p) => Pkt::Publish(PubPkt {
                dup: p.dup,
                qos: p.qos,
                retain: p.retain,
                topic: p.topic.to_string(),
                id: p.packet_id,
                props: own_props(&p.properties),
                payload: p.payload.to_vec(),
            }),
            Packet::PubAck(a) => Pkt::PubAck {
                id: a.packet_id,
                reason: a.reason.0,
            },
            Packet::PubRec(a) => Pkt::PubRec {
                id: a.packet_id,
                reason: a.reason.0,
            },
            Packet::PubRel(a) => Pkt::PubRel {
                id: a.packet_id,
                reason: a.reason.0,
            },
            Packet::PubComp(a) => Pkt::PubComp {
                id: a.packet_id,
                reason: a.reason.0,
            },
            Packet::Subscribe(s) => Pkt::Subscribe {
                id: s.packet_id,
                subs: s
                    .subscriptions
                    .iter()
                    .map(|s| (s.filter.to_string(), s.options))
                    .collect(),
                props: own_props(&s.properties),
            },
            Packet::SubAck(s) => Pkt::SubAck {
                id: s.packet_id,
                codes: s.codes.to_vec(),
            },
            Packet::Unsubscribe(u) => Pkt::Unsubscribe {
                id: u.packet_id,
                filters: u.filters.iter().map(str::to_string).collect(),
                props: own_props(&u.properties),
            },
            Packet::UnsubAck(s) => Pkt::UnsubAck {
                id: s.packet_id,
                codes: s.codes.to_vec(),
            },
            Packet::PingReq => Pkt::PingReq,
            Packet::PingResp => Pkt::PingResp,
            Packet::Disconnect(d) => Pkt::Disconnect {
                reason: d.reason.0,
                props: own_props(&d.properties),
            },
            Packet::Auth(a) => Pkt::Auth {
                reason: a.reason.0,
                props: own_props(&a.properties),
            },
        }
    }
}

/// An inbound message as the app saw it in one [`Event::Message`].
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: u16,
    pub props: Vec<Property<'static>>,
}

/// The head of a chunked message ([`Event::MessageStart`]).
#[derive(Clone, Debug, PartialEq)]
pub struct Start {
    pub topic: String,
    pub total_len: u32,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: u16,
    pub props: Vec<Property<'static>>,
}

/// An owned [`Event`].
#[derive(Clone, Debug, PartialEq)]
pub enum Ev {
    Connected {
        session_present: bool,
        props: Vec<Property<'static>>,
    },
    Message(Msg),
    MessageStart(Start),
    MessageChunk(Vec<u8>),
    MessageEnd,
    MessageSkipped {
        topic: String,
        size: u32,
        limit: u32,
        qos: QoS,
        packet_id: u16,
    },
    Published {
        packet_id: u16,
        reason: u8,
    },
    Subscribed {
        packet_id: u16,
        codes: Vec<u8>,
        props: Vec<Property<'static>>,
    },
    Unsubscribed {
        packet_id: u16,
        codes: Vec<u8>,
        props: Vec<Property<'static>>,
    },
    Auth {
        reason: u8,
        props: Vec<Property<'static>>,
    },
    ConnectionLost(LostReason),
    Disconnected,
}

impl Ev {
    /// The owned form of an event.
    pub fn from_event(e: &Event<'_>) -> Ev {
        match e {
            Event::Connected {
                session_present,
                properties,
            } => Ev::Connected {
                session_present: *session_present,
                props: own_props(properties),
            },
            Event::Message(m) => Ev::Message(own_message(m)),
            Event::MessageStart(s) => Ev::MessageStart(own_start(s)),
            Event::MessageChunk(c) => Ev::MessageChunk(c.to_vec()),
            Event::MessageEnd => Ev::MessageEnd,
            Event::MessageSkipped {
                topic,
                size,
                limit,
                qos,
                packet_id,
            } => Ev::MessageSkipped {
                topic: topic.to_string(),
                size: *size,
                limit: *limit,
                qos: *qos,
                packet_id: *packet_id,
            },
            Event::Published { packet_id, reason } => Ev::Published {
                packet_id: *packet_id,
                reason: reason.0,
            },
            Event::Subscribed {
                packet_id,
                codes,
                properties,
            } => Ev::Subscribed {
                packet_id: *packet_id,
                codes: codes.to_vec(),
                props: own_props(properties),
            },
            Event::Unsubscribed {
                packet_id,
                codes,
                properties,
            } => Ev::Unsubscribed {
                packet_id: *packet_id,
                codes: codes.to_vec(),
                props: own_props(properties),
            },
            Event::Auth { reason, properties } => Ev::Auth {
                reason: reason.0,
                props: own_props(properties),
            },
            Event::ConnectionLost(r) => Ev::ConnectionLost(*r),
            Event::Disconnected => Ev::Disconnected,
        }
    }

    /// True for the events after which the link is to be closed.
    pub fn ends_link(&self) -> bool {
        matches!(self, Ev::ConnectionLost(_) | Ev::Disconnected)
    }
}

fn own_message(m: &Message<'_>) -> Msg {
    Msg {
        topic: m.topic.to_string(),
        payload: m.payload.to_vec(),
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        packet_id: m.packet_id,
        props: own_props(&m.properties),
    }
}

fn own_start(s: &MessageStart<'_>) -> Start {
    Start {
        topic: s.topic.to_string(),
        total_len: s.total_len,
        qos: s.qos,
        retain: s.retain,
        dup: s.dup,
        packet_id: s.packet_id,
        props: own_props(&s.properties),
    }
}

/// A whole inbound message, assembled from either one `Message` event or a
/// `MessageStart`, its chunks and `MessageEnd`.
#[derive(Clone, Debug, PartialEq)]
pub struct Delivered {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: u16,
    /// Delivered in chunks.
    pub chunked: bool,
    /// Sizes of the chunks (empty when not chunked).
    pub chunks: Vec<usize>,
}

/// Assemble messages from events. Panics on a chunk sequence that breaks
/// the documented order (chunk without start, start inside a message, wrong
/// total length).
pub fn assemble<'e>(events: impl IntoIterator<Item = &'e Ev>) -> Vec<Delivered> {
    let mut out = Vec::new();
    let mut open: Option<(Start, Delivered)> = None;
    for e in events {
        match e {
            Ev::Message(m) => {
                assert!(open.is_none(), "Message event inside a chunked message");
                out.push(Delivered {
                    topic: m.topic.clone(),
                    payload: m.payload.clone(),
                    qos: m.qos,
                    retain: m.retain,
                    dup: m.dup,
                    packet_id: m.packet_id,
                    chunked: false,
                    chunks: Vec::new(),
                });
            }
            Ev::MessageStart(s) => {
                assert!(open.is_none(), "MessageStart inside a chunked message");
                let d = Delivered {
                    topic: s.topic.clone(),
                    payload: Vec::new(),
                    qos: s.qos,
                    retain: s.retain,
                    dup: s.dup,
                    packet_id: s.packet_id,
                    chunked: true,
                    chunks: Vec::new(),
                };
                open = Some((s.clone(), d));
            }
            Ev::MessageChunk(c) => {
                let (_, d) = open.as_mut().expect("MessageChunk without MessageStart");
                d.payload.extend_from_slice(c);
                d.chunks.push(c.len());
            }
            Ev::MessageEnd => {
                let (s, d) = open.take().expect("MessageEnd without MessageStart");
                assert_eq!(
                    d.payload.len(),
                    s.total_len as usize,
                    "chunks of {:?} do not add up to total_len",
                    s.topic
                );
                out.push(d);
            }
            Ev::ConnectionLost(_) | Ev::Disconnected => {
                // A message cut by the link is not delivered whole.
                open = None;
            }
            _ => {}
        }
    }
    out
}

/// Owned copies of properties. Strings are leaked: tests are short-lived
/// and this lets them compare with `Property` literals directly.
pub fn own_props(p: &Properties<'_>) -> Vec<Property<'static>> {
    p.iter().map(own_prop).collect()
}

fn leak(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

fn leak_bytes(b: &[u8]) -> &'static [u8] {
    Box::leak(b.to_vec().into_boxed_slice())
}

/// An owned copy of one property.
pub fn own_prop(p: Property<'_>) -> Property<'static> {
    use Property::*;
    match p {
        PayloadFormatIndicator(v) => PayloadFormatIndicator(v),
        MessageExpiryInterval(v) => MessageExpiryInterval(v),
        ContentType(s) => ContentType(leak(s)),
        ResponseTopic(s) => ResponseTopic(leak(s)),
        CorrelationData(b) => CorrelationData(leak_bytes(b)),
        SubscriptionIdentifier(v) => SubscriptionIdentifier(v),
        SessionExpiryInterval(v) => SessionExpiryInterval(v),
        AssignedClientIdentifier(s) => AssignedClientIdentifier(leak(s)),
        ServerKeepAlive(v) => ServerKeepAlive(v),
        AuthenticationMethod(s) => AuthenticationMethod(leak(s)),
        AuthenticationData(b) => AuthenticationData(leak_bytes(b)),
        RequestProblemInformation(v) => RequestProblemInformation(v),
        WillDelayInterval(v) => WillDelayInterval(v),
        RequestResponseInformation(v) => RequestResponseInformation(v),
        ResponseInformation(s) => ResponseInformation(leak(s)),
        ServerReference(s) => ServerReference(leak(s)),
        ReasonString(s) => ReasonString(leak(s)),
        ReceiveMaximum(v) => ReceiveMaximum(v),
        TopicAliasMaximum(v) => TopicAliasMaximum(v),
        TopicAlias(v) => TopicAlias(v),
        MaximumQoS(v) => MaximumQoS(v),
        RetainAvailable(v) => RetainAvailable(v),
        UserProperty(k, v) => UserProperty(leak(k), leak(v)),
        MaximumPacketSize(v) => MaximumPacketSize(v),
        WildcardSubscriptionAvailable(v) => WildcardSubscriptionAvailable(v),
        SubscriptionIdentifierAvailable(v) => SubscriptionIdentifierAvailable(v),
        SharedSubscriptionAvailable(v) => SharedSubscriptionAvailable(v),
    }
}
