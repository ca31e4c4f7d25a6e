//! What the broker sends: packets taken from the receive buffer one at a
//! time, each answered (PUBACK, PUBREC, PUBCOMP, PUBREL) and turned into
//! at most one event; a PUBLISH larger than the buffer streamed in chunks.

use crate::wire::{
    self, decode_body_from_server, decode_fixed_header, decode_publish_head, Ack, ConnAck,
    DecodeError, FixedHeader, Packet, PacketType, Properties, Property, Publish, QoS, ReasonCode,
    SubAck, Version,
};

use super::client::{Client, Core, State, QOS2};
use super::connection::Ping;
use super::desc::{self, Delivery, Desc, Topic};
use super::event::{Awaited, LostReason};
use super::rx::Rx;
use super::store::Phase;

/// Room kept in the transmit buffer before taking a packet that may need an
/// answer (PUBACK, PUBREC, PUBREL or PUBCOMP: at most 4 bytes without
/// properties, and a 5.0 reason code).
const ACK_ROOM: usize = 5;

/// What one step of input processing produced.
pub(super) enum Step {
    Event(Desc),
    /// A packet was handled without an event: look at the next one.
    Continue,
    /// Nothing more until more input arrives or the transmit buffer drains.
    Wait,
}

/// A chunked inbound PUBLISH being delivered.
#[derive(Clone, Copy, Debug)]
pub(super) struct Chunked {
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

impl Client<'_> {
    /// Take the next inbound packet (or chunk) from the receive buffer.
    #[inline(never)]
    pub(super) fn step(&mut self) -> Step {
        if self.core.conn.state == State::Disconnected {
            return Step::Wait;
        }
        if let Some(ch) = self.rx.chunk {
            return self.step_chunk(ch);
        }
        let header = match decode_fixed_header(self.rx.data()) {
            Ok(Some(h)) => h,
            Ok(None) => return Step::Wait,
            Err(e) => return self.fail(LostReason::Protocol(e)),
        };
        let total = header
            .header_len
            .saturating_add(header.remaining_len as usize);
        let too_large = match self.screen(&header, total) {
            Ok(too_large) => too_large,
            Err(step) => return step,
        };
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
        self.take_whole(&header, total)
    }

    /// What the fixed header alone decides: a packet above our maximum
    /// packet size (true), a protocol error, or no room for the answer yet.
    /// (This and `take_whole` are parts of `step`, one function in the
    /// binary as before they were split out.)
    #[inline(always)]
    fn screen(&mut self, header: &FixedHeader, total: usize) -> Result<bool, Step> {
        let limit = self.core.cfg.maximum_packet_size as usize;
        // Above our maximum: 5.0 announced it, so the broker broke the
        // protocol; a 3.1.1 broker could not know it, so its message is
        // skipped (other 3.1.1 packets carry no data: taken if they fit).
        let too_large = limit != 0 && total > limit;
        if too_large && self.core.cfg.version.is_v5() {
            return Err(self.fail(LostReason::Protocol(DecodeError::PacketTooLarge)));
        }
        if !QOS2 && header.publish_qos() == Some(QoS::ExactlyOnce) {
            // We never subscribe at QoS 2 without the feature.
            return Err(self.fail(LostReason::Protocol(DecodeError::InvalidQoS)));
        }
        // PUBLISH at QoS 1/2 and PUBREL are answered; so is a PUBREC for
        // an id we do not know.
        let needs_ack = match header.kind {
            PacketType::Publish => header.publish_qos() != Some(QoS::AtMostOnce),
            PacketType::PubRel => true,
            PacketType::PubRec => QOS2,
            _ => false,
        };
        if needs_ack && self.core.tx.free() < ACK_ROOM {
            return Err(Step::Wait);
        }
        Ok(too_large)
    }

    /// A whole packet of `total` bytes, in the receive buffer.
    #[inline(always)]
    fn take_whole(&mut self, header: &FixedHeader, total: usize) -> Step {
        let v = self.core.cfg.version;
        let at = self.rx.start;
        let data = self.rx.buf.get(at..at + total).unwrap_or(&[]);
        if let Some(code) = wire::connack_v311_refusal(data) {
            if v.is_v5() && self.core.conn.state == State::Connecting {
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
        // The usual packet, a PUBACK, PUBREC or PUBCOMP in its short form,
        // read straight from its bytes (the fixed header was checked
        // above). Id 0 takes the long way, to its error.
        let packet = match (header.kind, wire::short_ack(data)) {
            (PacketType::PubAck, Some(a)) => Packet::PubAck(a),
            (PacketType::PubRec, Some(a)) => Packet::PubRec(a),
            (PacketType::PubComp, Some(a)) => Packet::PubComp(a),
            _ => {
                let body = data.get(header.header_len..).unwrap_or_default();
                match decode_body_from_server(header, body, v) {
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
            c.fate(head.qos, packet_id, head.dup)
        };
        self.rx.consume = header.header_len + used;
        self.rx.chunk = Some(Chunked {
            remaining: head.payload_len,
            qos: head.qos,
            packet_id,
            fate,
        });
        let what = if fate == Fate::Skip {
            let size = header.remaining_len;
            Delivery::Skipped(size.saturating_add(header.header_len as u32))
        } else if fate.delivers() {
            Delivery::Chunked(head.payload_len)
        } else {
            return Step::Continue;
        };
        Step::Event(Desc::Publish(desc::Publish {
            topic,
            qos: head.qos,
            retain: head.retain,
            dup: head.dup,
            packet_id,
            props: self.rx.props_span(&head.properties),
            what,
        }))
    }

    /// The next chunk of a chunked PUBLISH, or its end.
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
        if ch.qos != QoS::AtMostOnce && self.core.tx.free() < ACK_ROOM {
            return Step::Wait;
        }
        self.rx.chunk = None;
        let c = &mut self.core;
        if ch.fate == Fate::Deliver && ch.qos == QoS::ExactlyOnce {
            let _ = c.session.inbound_qos2.push(ch.packet_id);
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
}

impl Core<'_> {
    /// Decide what to do with an inbound PUBLISH, and count it. Beyond the
    /// receive maximum we announced, a QoS 2 message is taken while the id
    /// table has room; then withheld when the broker will send it again
    /// (once one is withheld, every later new one is too, so none
    /// overtakes it), else delivered untracked.
    ///
    /// A message delivered untracked is known again by its DUP flag: on a
    /// connection that began without a session, a QoS 2 PUBLISH with DUP
    /// set whose id the table lacks, while untracked ones await their
    /// PUBREL, is the broker sending one of those again (MQTT-3.3.1-1: a
    /// re-delivery has DUP set; 5.0 forbids it within a connection, 3.1.1
    /// brokers may resend before our PUBREC reaches them): acknowledged,
    /// not delivered twice.
    fn fate(&mut self, qos: QoS, packet_id: u16, dup: bool) -> Fate {
        if qos != QoS::ExactlyOnce {
            return Fate::Deliver;
        }
        let ids = &self.session.inbound_qos2;
        let c = &mut self.conn;
        if ids.contains(packet_id) || (dup && c.fresh_session && c.untracked_open > 0) {
            return Fate::Duplicate;
        }
        let unreleased = ids.len() + usize::from(c.untracked_open);
        let s = &mut self.session.qos2_stats;
        if self.cfg.version.is_v5() && unreleased >= usize::from(self.cfg.receive_maximum) {
            s.beyond_receive_maximum = s.beyond_receive_maximum.saturating_add(1);
        }
        let fate = if !c.withholding && !ids.is_full() {
            Fate::Deliver
        } else if c.resumes {
            c.withholding = true;
            s.withheld = s.withheld.saturating_add(1);
            return Fate::Withhold;
        } else {
            c.untracked_open = c.untracked_open.saturating_add(1);
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
        let _ = self.tx_write(&packet);
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
        let alias = if self.cfg.version.is_v5() {
            props.iter().find_map(|p| match p {
                Property::TopicAlias(a) => Some(a),
                _ => None,
            })
        } else {
            None
        };
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
            // 5.0 3.3.4: an alias with no mapping yet and no topic to set
            // it to is a Protocol Error (0x82), not an invalid alias.
            return self
                .aliases
                .get(alias)
                .map(Topic::Alias)
                .ok_or(LostReason::Protocol(DecodeError::UnknownTopicAlias));
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
        if self.conn.state == State::Connecting {
            match packet {
                Packet::ConnAck(a) => return self.on_connack(rx, &a),
                Packet::Auth(_) | Packet::Disconnect(_) => {}
                _ => return unexpected(packet.kind()),
            }
        }
        if let (Packet::Auth(_), false) = (&packet, self.conn.auth_method_sent) {
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
            Packet::PubRel(a) => self.on_pubrel(&a).map(|()| None),
            Packet::SubAck(ref a) | Packet::UnsubAck(ref a) => {
                // One call (inlined), not one per kind.
                let kind = if matches!(packet, Packet::SubAck(_)) {
                    Awaited::SubAck
                } else {
                    Awaited::UnsubAck
                };
                self.on_suback(rx, kind, a)
            }
            Packet::PingResp => {
                if let Ping::Outstanding(_) = self.conn.ping {
                    self.conn.ping = Ping::Idle;
                }
                Ok(None)
            }
            // 3.1.1 defines no DISCONNECT from the server.
            Packet::Disconnect(_) if !self.cfg.version.is_v5() => {
                unexpected(PacketType::Disconnect)
            }
            Packet::Disconnect(d) => {
                self.conn.end.disconnect_props = rx.props_span(&d.properties);
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
            // Its reason string and server reference, for the report.
            self.conn.end.disconnect_props = rx.props_span(&a.properties);
            return Err(LostReason::Refused(self.cfg.version, a.code));
        }
        if a.session_present && self.conn.clean_requested {
            // MQTT-3.2.2-4 (5.0) / 3.2.2.2 (3.1.1): a session we did not ask
            // to keep cannot be present.
            return Err(LostReason::Protocol(DecodeError::UnexpectedSessionPresent));
        }
        // Only 5.0 CONNACKs carry properties.
        if self.cfg.version.is_v5() {
            self.take_connack_properties(&a.properties);
        }
        self.conn.state = State::Connected;
        let s = &mut self.session;
        s.connected_once = true;
        let present = a.session_present;
        self.conn.fresh_session = !present;
        if !present {
            // The broker has no session: nothing it owes us, nothing we owe
            // it but the messages it never acknowledged, sent again as new.
            s.inbound_qos2.clear();
        }
        s.store.update_each(|r, _| {
            r.repubs = 0;
            if !present {
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
            true
        });
        Ok(Some(Desc::Connected {
            session_present: present,
            props: rx.props_span(&a.properties),
        }))
    }

    /// The broker's word in a 5.0 CONNACK.
    fn take_connack_properties(&mut self, props: &Properties<'_>) {
        let c = &mut self.conn;
        let s = &mut self.session;
        s.server_alias_max = 0;
        for p in props.iter() {
            match p {
                Property::ReceiveMaximum(n) => c.receive_max = n,
                Property::TopicAliasMaximum(n) => s.server_alias_max = n,
                Property::MaximumPacketSize(n) => c.limits.max_packet = n,
                Property::ServerKeepAlive(k) => c.keep_alive = k,
                // The broker's word on how long it keeps the session.
                Property::SessionExpiryInterval(0) => c.resumes = false,
                Property::MaximumQoS(q) => {
                    c.limits.max_qos = QoS::from_u8(q).unwrap_or(QoS::ExactlyOnce)
                }
                Property::RetainAvailable(r) => c.limits.retain = r != 0,
                Property::AssignedClientIdentifier(id) => {
                    s.assigned_id.clear();
                    // Longer ids cannot be kept: the next connection gets a new one.
                    let _ = s.assigned_id.push_str(id);
                }
                _ => {}
            }
        }
    }

    fn on_publish(&mut self, rx: &Rx<'_>, p: &Publish<'_>) -> Result<Option<Desc>, LostReason> {
        let packet_id = p.packet_id.unwrap_or(0);
        let topic = self.resolve_topic(rx, p.topic, &p.properties)?;
        let fate = self.fate(p.qos, packet_id, p.dup);
        match fate {
            Fate::Deliver | Fate::Untracked => {}
            Fate::Duplicate => {
                self.ack_publish(p.qos, packet_id);
                return Ok(None);
            }
            Fate::Withhold | Fate::Skip => return Ok(None),
        }
        if fate == Fate::Deliver && p.qos == QoS::ExactlyOnce {
            let _ = self.session.inbound_qos2.push(packet_id);
        }
        self.ack_publish(p.qos, packet_id);
        Ok(Some(Desc::Publish(desc::Publish {
            topic,
            qos: p.qos,
            retain: p.retain,
            dup: p.dup,
            packet_id,
            props: rx.props_span(&p.properties),
            what: Delivery::Whole(rx.span(p.payload)),
        })))
    }

    /// PUBREL for one of the broker's QoS 2 messages: PUBCOMP.
    fn on_pubrel(&mut self, a: &Ack<'_>) -> Result<(), LostReason> {
        let c = &mut self.conn;
        let ids = &mut self.session.inbound_qos2;
        let reason = if ids.remove(a.packet_id) {
            ReasonCode::SUCCESS
        } else if c.untracked_open > 0 {
            // One of the messages delivered untracked, we may presume:
            // released all the same.
            c.untracked_open -= 1;
            ReasonCode::SUCCESS
        } else if self.cfg.version.is_v5() {
            ReasonCode::PACKET_IDENTIFIER_NOT_FOUND
        } else {
            ReasonCode::SUCCESS
        };
        let rest = ids.is_empty();
        self.ack(PacketType::PubComp, a.packet_id, reason);
        if self.conn.withholding && rest {
            // Every tracked message is released: reconnect, so the broker
            // sends the withheld ones again.
            return Err(LostReason::ReceiveMaximumExceeded);
        }
        Ok(())
    }

    /// SUBACK or UNSUBACK (`kind`) for one of our requests.
    fn on_suback(
        &mut self,
        rx: &Rx<'_>,
        kind: Awaited,
        a: &SubAck<'_>,
    ) -> Result<Option<Desc>, LostReason> {
        let requests = &mut self.conn.requests;
        let Some(i) = requests
            .iter()
            .position(|r| r.packet_id == a.packet_id && r.kind == kind)
        else {
            return Ok(None);
        };
        // `swap_remove` by hand: heapless's moves the last request with a
        // `memmove`, which nothing else in the client needs.
        let Some(request) = requests.get(i).copied() else {
            return Ok(None);
        };
        if let Some(last) = requests.pop() {
            if let Some(slot) = requests.get_mut(i) {
                *slot = last;
            }
        }
        let sub = kind == Awaited::SubAck;
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

    /// PUBACK, PUBREC or PUBCOMP for one of our publications.
    fn on_ack(&mut self, kind: PacketType, a: &Ack<'_>) -> Option<Desc> {
        let store = &mut self.session.store;
        let Some(mut r) = store.find(a.packet_id) else {
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
        match (kind, r.phase, r.qos2(store)) {
            (PacketType::PubAck, Phase::AwaitAck, false) => {
                store.remove(&r);
                done
            }
            (PacketType::PubRec, Phase::AwaitAck, true) => {
                if !a.reason.is_success() {
                    store.remove(&r);
                    return done;
                }
                store.drop_packet(&mut r);
                r.phase = Phase::RelUnsent;
                r.repubs = 0;
                store.update(&r);
                None
            }
            (PacketType::PubComp, Phase::AwaitComp | Phase::RelUnsent, _) => {
                store.remove(&r);
                done
            }
            // A late or duplicate acknowledgement: nothing to do.
            _ => None,
        }
    }
}
