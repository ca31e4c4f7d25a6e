//! Events as ranges of the buffers while the state machine works, turned
//! into borrowed [`Event`]s only when handed out (so the state can change
//! freely before).

use crate::wire::{Properties, QoS, ReasonCode};

use super::client::Client;
use super::event::{LostReason, Message, MessageStart};
use super::rx::Span;
use super::Event;

/// Where a topic lives: the receive buffer or the inbound alias table.
#[derive(Clone, Copy, Debug)]
pub(super) enum Topic {
    Rx(Span),
    Alias(Span),
}

/// An inbound PUBLISH described by ranges.
#[derive(Clone, Copy, Debug)]
pub(super) struct Publish {
    pub topic: Topic,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: u16,
    pub props: Span,
    pub what: Delivery,
}

/// How an inbound PUBLISH reaches the application.
#[derive(Clone, Copy, Debug)]
pub(super) enum Delivery {
    /// Whole, with this payload.
    Whole(Span),
    /// In chunks of this many bytes in all.
    Chunked(u32),
    /// Skipped: a packet of this size, above our maximum.
    Skipped(u32),
}

/// An event described by ranges.
#[derive(Clone, Copy, Debug)]
pub(super) enum Desc {
    Connected {
        session_present: bool,
        props: Span,
    },
    Publish(Publish),
    Chunk(Span),
    End,
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

impl Client<'_> {
    /// Turn a description into an event borrowing the buffers.
    pub(super) fn view(&self, d: Desc) -> Event<'_> {
        let rx = &self.rx;
        let props = |s: Span| Properties::Raw(rx.bytes(s));
        match d {
            Desc::Connected {
                session_present,
                props: p,
            } => Event::Connected {
                session_present,
                properties: props(p),
            },
            Desc::Publish(p) => self.view_publish(p),
            Desc::Chunk(s) => Event::MessageChunk(rx.bytes(s)),
            Desc::End => Event::MessageEnd,
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

    /// An inbound PUBLISH's event. (Out of line: inlined, the C API's
    /// `mqttas_poll_event` grew by 500 bytes on Cortex-M.)
    #[inline(never)]
    fn view_publish(&self, p: Publish) -> Event<'_> {
        let rx = &self.rx;
        let topic = match p.topic {
            Topic::Rx(s) => crate::wire::utf8(rx.bytes(s), true).unwrap_or(""),
            Topic::Alias(s) => self.core.aliases.topic(s),
        };
        let properties = Properties::Raw(rx.bytes(p.props));
        let (qos, retain, dup, packet_id) = (p.qos, p.retain, p.dup, p.packet_id);
        match p.what {
            Delivery::Whole(payload) => Event::Message(Message {
                topic,
                payload: rx.bytes(payload),
                qos,
                retain,
                dup,
                packet_id,
                properties,
            }),
            Delivery::Chunked(total_len) => Event::MessageStart(MessageStart {
                topic,
                total_len,
                qos,
                retain,
                dup,
                packet_id,
                properties,
            }),
            Delivery::Skipped(size) => Event::MessageSkipped {
                topic,
                size,
                limit: self.core.cfg.maximum_packet_size,
                qos,
                packet_id,
            },
        }
    }
}
