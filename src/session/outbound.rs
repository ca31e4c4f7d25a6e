//! What the client sends: publications into the transmit buffer (QoS 0) or
//! the store (QoS 1/2), subscription requests, and the next stored packet
//! to (re)send.

use heapless::Vec;

use crate::time::Tick;
use crate::wire::{self, Packet, Properties, Property, Publish, QoS, ReasonCode, Version};

use super::client::{Core, State, QOS2};
use super::connection::Request;
use super::event::Awaited;
use super::store::{Phase, Record, Store};
use super::{AliasError, Error};

/// Properties besides the topic alias of a QoS 1/2 publication with one.
const MAX_ALIASED_PROPERTIES: usize = 16;

/// A payload the application lends to the client instead of having it
/// copied ([`super::Client::publish_borrowed`]): `len` bytes that the
/// application keeps, unchanged, under `token` (any value it likes: an
/// index, a pointer) until the client is done with them.
/// [`super::Client::poll_transmit_vectored`] asks for them by token each
/// time the PUBLISH goes out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BorrowedPayload {
    /// The application's name for the payload.
    pub token: usize,
    /// Its length in bytes.
    pub len: usize,
}

/// Bytes to send, from [`super::Client::poll_transmit_vectored`]: `head`,
/// then, if given, the lent payload's bytes, in that order and all of
/// them (one packet may span both).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transmit<'a> {
    /// Bytes of the client's, valid until the next call into it.
    pub head: &'a [u8],
    /// The payload of a PUBLISH whose head ends `head`: the application's
    /// bytes under this token.
    pub payload: Option<BorrowedPayload>,
}

/// The transmit buffer: control packets and QoS 0 publications.
pub(super) struct Tx<'a> {
    pub buf: &'a mut [u8],
    pub len: usize,
    /// Bytes at the start of the buffer handed out by `poll_transmit`:
    /// dropped at the next call.
    pub out: usize,
    /// A QoS 0 PUBLISH whose payload is lent: its head is at this range of
    /// the buffer, and the payload goes out after it. One at a time.
    pub lent: Option<(usize, usize, BorrowedPayload)>,
    /// A PUBREL from the store, written here to be handed out.
    pub scratch: [u8; 4],
}

impl<'a> Tx<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Tx {
            buf,
            len: 0,
            out: 0,
            lent: None,
            scratch: [0; 4],
        }
    }

    pub fn free(&self) -> usize {
        self.buf.len().saturating_sub(self.len)
    }

    /// Drop everything queued (a lent payload is the application's again).
    pub fn clear(&mut self) {
        self.len = 0;
        self.out = 0;
        self.lent = None;
    }

    /// Drop a QoS 0 PUBLISH with a lent payload and what was queued after
    /// it, keeping what came before: the connection is over, and the
    /// application is told so (it may reuse the payload from then on).
    pub fn drop_lent(&mut self) {
        if let Some((start, _, _)) = self.lent.take() {
            self.len = start;
        }
    }

    /// Drop what the last `poll_transmit` handed out, moving what follows
    /// it (queued after a PUBLISH with a lent payload) down.
    pub fn settle(&mut self) {
        if self.out > 0 {
            if self.out < self.len {
                super::shift::down(self.buf, self.out, self.len);
            }
            self.len -= self.out;
            self.out = 0;
        }
    }

    /// Hand out what is queued: up to the end of a lent payload's head (and
    /// that payload), else everything.
    pub fn take(&mut self) -> Transmit<'_> {
        let (end, payload) = match self.lent.take() {
            Some((_, end, p)) => (end, Some(p)),
            None => (self.len, None),
        };
        self.out = end;
        Transmit {
            head: self.buf.get(..end).unwrap_or(&[]),
            payload,
        }
    }

    /// Encode a packet at the end of the buffer, followed on the wire by
    /// the payload `lent`, if given (a QoS 0 PUBLISH whose `payload` is
    /// empty); writes nothing when it does not fit or is above `limit`
    /// bytes (0: no limit).
    pub fn write(
        &mut self,
        v: Version,
        packet: &Packet<'_>,
        limit: u32,
        lent: Option<BorrowedPayload>,
    ) -> Result<(), Error> {
        let capacity = self.buf.len();
        let extra = lent.map_or(0, |p| p.len);
        if lent.is_some() && self.lent.is_some() {
            // One lent QoS 0 payload at a time: the first goes out first.
            return Err(Error::TxFull);
        }
        let out = self.buf.get_mut(self.len..).unwrap_or(&mut []);
        match packet.encode_from_client(v, out, extra) {
            Ok(n) => {
                check_server_size(limit, n.saturating_add(extra))?;
                let start = self.len;
                self.len += n;
                if let Some(p) = lent {
                    self.lent = Some((start, self.len, p));
                }
                Ok(())
            }
            Err(wire::EncodeError::BufferTooSmall { needed }) => {
                check_server_size(limit, needed.saturating_add(extra))?;
                Err(if needed <= capacity {
                    Error::TxFull
                } else {
                    Error::TooLarge
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// A packet from the store to send.
pub(super) enum Stored {
    /// A PUBLISH, sent from the store itself (and the payload the
    /// application lent, if it did).
    Publish(Record),
    /// A PUBREL, written to the scratch buffer.
    PubRel,
    /// A PUBLISH with a lent payload, left queued for a caller that cannot
    /// send one (`poll_transmit` rather than `poll_transmit_vectored`).
    Lent,
}

impl Core<'_> {
    /// Encode a packet at the end of the transmit buffer, without a size
    /// limit.
    pub(super) fn tx_write(&mut self, packet: &Packet<'_>) -> Result<(), Error> {
        self.tx.write(self.cfg.version, packet, 0, None)
    }

    /// A PUBLISH as the application gave it: QoS 0 to the transmit
    /// buffer, QoS 1/2 to the store; `payload` empty when `lent`.
    pub(super) fn publish_as_given(
        &mut self,
        topic: &str,
        payload: &[u8],
        lent: Option<BorrowedPayload>,
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
        let limit = self.conn.limits.max_packet;
        let Some(id) = packet_id else {
            self.tx.write(self.cfg.version, &packet, limit, lent)?;
            return Ok(0);
        };
        store_publish(
            &mut self.session.store,
            self.cfg.version,
            limit,
            id,
            &packet,
            lent,
        )?;
        self.session.next_packet_id = id;
        Ok(id)
    }

    /// A 5.0 PUBLISH with a topic alias (see [`super::Client::publish`]):
    /// what is sent is valid on the connection it is sent on.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn publish_aliased(
        &mut self,
        alias: u16,
        topic: &str,
        payload: &[u8],
        lent: Option<BorrowedPayload>,
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        // An empty topic stands for the alias's; any other is checked
        // before the alias is set to it.
        if !topic.is_empty() {
            wire::check_topic_name(topic)?;
        }
        let max = self.session.server_alias_max;
        if alias > max {
            return Err(Error::TopicAlias(if max == 0 {
                AliasError::NoneAllowed
            } else {
                AliasError::AboveMaximum
            }));
        }
        // QoS 1/2: the other properties, without the alias.
        let mut others: Vec<Property<'_>, MAX_ALIASED_PROPERTIES> = Vec::new();
        if qos != QoS::AtMostOnce {
            for p in properties {
                if !matches!(p, Property::TopicAlias(_)) && others.push(*p).is_err() {
                    return Err(Error::TopicAlias(AliasError::TooManyProperties));
                }
            }
        }
        let aliases = &mut self.session.out_aliases;
        let range = if topic.is_empty() {
            aliases
                .get(alias)
                .ok_or(Error::TopicAlias(AliasError::NeverSet))?
        } else {
            aliases
                .set(alias, topic)
                .ok_or(Error::TopicAlias(AliasError::TableFull))?
        };
        let v = self.cfg.version;
        let limit = self.conn.limits.max_packet;
        if qos == QoS::AtMostOnce {
            let aliases = &mut self.session.out_aliases;
            let synced = aliases.synced(alias);
            let full = aliases.topic(range);
            let packet = Packet::Publish(Publish {
                dup: false,
                qos,
                retain,
                topic: if synced { "" } else { full },
                packet_id: None,
                properties: Properties::List(properties),
                payload,
            });
            self.tx.write(v, &packet, limit, lent)?;
            aliases.mark_synced(alias);
            return Ok(0);
        }
        let id = self.alloc_packet_id();
        let s = &mut self.session;
        let packet = Packet::Publish(Publish {
            dup: false,
            qos,
            retain,
            topic: s.out_aliases.topic(range),
            packet_id: Some(id),
            properties: Properties::List(&others),
            payload,
        });
        store_publish(&mut s.store, v, limit, id, &packet, lent)?;
        s.next_packet_id = id;
        Ok(id)
    }

    /// A packet id not used by a stored publication or a pending request.
    pub(super) fn alloc_packet_id(&mut self) -> u16 {
        self.session.alloc_packet_id(&self.conn.requests)
    }

    /// Queue SUBSCRIBE or UNSUBSCRIBE and remember it until acknowledged.
    pub(super) fn request<'p>(
        &mut self,
        now: Tick,
        kind: Awaited,
        filters: usize,
        make: impl Fn(u16) -> Packet<'p>,
    ) -> Result<u16, Error> {
        if self.conn.state != State::Connected {
            return Err(Error::NotConnected);
        }
        if self.conn.requests.is_full() {
            return Err(Error::TooManyPending);
        }
        let filters = u16::try_from(filters).map_err(|_| Error::TooLarge)?;
        let id = self.alloc_packet_id();
        self.tx_write(&make(id))?;
        self.session.next_packet_id = id;
        let _ = self.conn.requests.push(Request {
            packet_id: id,
            filters,
            kind,
            sent_at: now,
        });
        Ok(id)
    }

    /// The next stored packet to send, marked as sent; a PUBLISH with a
    /// lent payload only if `vectored` (else left queued: [`Stored::Lent`]).
    #[inline(always)]
    pub(super) fn next_stored(&mut self, now: Tick, vectored: bool) -> Option<Stored> {
        let window = if self.cfg.version.is_v5() {
            self.cfg.max_inflight.min(self.conn.receive_max)
        } else {
            self.cfg.max_inflight
        } as usize;
        let store = &mut self.session.store;
        loop {
            let inflight = store.count(Phase::AwaitAck)
                + store.count(Phase::RelUnsent)
                + store.count(Phase::AwaitComp);
            let rel = QOS2 && store.count(Phase::RelUnsent) > 0;
            let publish = store.count(Phase::Unsent) > 0 && inflight < window;
            if !rel && !publish {
                return None;
            }
            let phases = if rel { Phase::RelUnsent.bit() } else { 0 }
                | if publish { Phase::Unsent.bit() } else { 0 };
            let mut r = store.find_by(phases, None)?;
            if QOS2 && r.phase == Phase::RelUnsent {
                r.phase = Phase::AwaitComp;
                r.sent_at = now;
                store.update(&r);
                // Stored ids are never 0.
                self.tx.scratch = wire::pubrel(r.packet_id);
                return Some(Stored::PubRel);
            }
            let limit = self.conn.limits.max_packet;
            if limit != 0 && store.wire_len(&r) > limit as usize {
                // This connection's broker can never take it.
                r.phase = Phase::Done;
                r.reason = ReasonCode::PACKET_TOO_LARGE.0;
                store.update(&r);
                continue;
            }
            if r.borrowed && !vectored {
                return Some(Stored::Lent);
            }
            store.set_dup(&r, r.sent_once);
            if r.sent_once {
                let n = &mut self.session.stats.republished;
                *n = n.saturating_add(1);
            }
            r.sent_once = true;
            r.phase = Phase::AwaitAck;
            r.sent_at = now;
            store.update(&r);
            return Some(Stored::Publish(r));
        }
    }
}

/// Copy a QoS 1/2 PUBLISH into the store as packet `id` (its head alone
/// when its payload is `lent`), unless it is above the broker's maximum
/// packet size `limit` (0: none).
fn store_publish(
    store: &mut Store<'_>,
    v: Version,
    limit: u32,
    id: u16,
    packet: &Packet<'_>,
    lent: Option<BorrowedPayload>,
) -> Result<(), Error> {
    let extra = lent.map_or(0, |p| p.len);
    store.push(
        id,
        lent,
        |buf| packet.encode_from_client(v, buf, extra),
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
