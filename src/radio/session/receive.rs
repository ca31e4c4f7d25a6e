//! Receiving: each frame checked, the HELLO/RESET handshake of each side,
//! acknowledgements (cumulative and selective) freeing the frames in flight
//! and measuring the round trip, DATA reordered into the stream.

use crate::radio::frame::{Header, Kind};
use crate::radio::{ring, DownReason};
use crate::time::Tick;

use super::{Radio, State, TxSlot, MIN_ACK_DELAY_MS, RESEND, RESENT, SACKED, SENT, SLOTS};

impl Radio<'_> {
    pub(super) fn drop_frame(&mut self) {
        self.stats.dropped = self.stats.dropped.wrapping_add(1);
    }

    pub(super) fn gateway_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
        match h.kind {
            Kind::Hello => {
                let nonce = u16::from_be_bytes([h.seq, h.ack]);
                if self.state == State::Up && h.epoch == self.peer_epoch && nonce == self.nonce {
                    // Our HELLO_ACK was lost (or this is a late copy).
                    self.heard(now);
                    self.hello_ack_due = true;
                    return;
                }
                if self.state == State::Up {
                    self.down(DownReason::PeerRestarted);
                }
                self.clear_session();
                self.take_epoch();
                self.peer_epoch = h.epoch;
                self.nonce = nonce;
                self.hello_ack_due = true;
                self.up(now);
            }
            Kind::Data | Kind::Ack => {
                if self.state == State::Up
                    && h.epoch == self.peer_epoch
                    && h.peer_epoch == self.epoch
                {
                    self.session_frame(now, h, payload);
                } else {
                    // A session we do not know (we restarted, or it ended):
                    // tell the node it is dead.
                    self.reset_reply(h);
                    self.drop_frame();
                }
            }
            Kind::Reset => {
                if self.state == State::Up
                    && h.epoch == self.peer_epoch
                    && (h.peer_epoch == self.epoch || h.peer_epoch == 0)
                {
                    self.down(DownReason::PeerReset);
                } else {
                    self.drop_frame();
                }
            }
            Kind::HelloAck => self.drop_frame(),
        }
    }

    pub(super) fn node_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
        match h.kind {
            Kind::HelloAck => {
                // It must echo our epoch and HELLO nonce: a late HELLO_ACK of
                // an earlier session (even one with the same epoch, after a
                // careless reboot) is not an answer to this HELLO.
                let nonce = u16::from_be_bytes([h.seq, h.ack]);
                if h.peer_epoch != self.epoch || nonce != self.nonce {
                    return self.drop_frame();
                }
                match self.state {
                    State::Idle => self.drop_frame(),
                    State::Opening => {
                        self.peer_epoch = h.epoch;
                        self.hello_due = false;
                        self.hello_deadline = None;
                        self.up(now);
                    }
                    State::Up => {
                        if h.epoch == self.peer_epoch {
                            // A repeated answer to a repeated HELLO.
                            self.heard(now);
                        } else {
                            // A restarted gateway saw a late copy of our
                            // HELLO: our session is gone there.
                            self.down(DownReason::PeerReset);
                        }
                    }
                }
            }
            Kind::Data | Kind::Ack => {
                if self.state == State::Up
                    && h.epoch == self.peer_epoch
                    && h.peer_epoch == self.epoch
                {
                    self.session_frame(now, h, payload);
                } else {
                    // A session we no longer have: say so, unless we are
                    // opening (the HELLO ends it on the gateway anyway).
                    if self.state != State::Opening {
                        self.reset_reply(h);
                    }
                    self.drop_frame();
                }
            }
            Kind::Reset => {
                if self.state == State::Up
                    && h.epoch == self.peer_epoch
                    && h.peer_epoch == self.epoch
                {
                    self.down(DownReason::PeerReset);
                } else {
                    self.drop_frame();
                }
            }
            Kind::Hello => self.drop_frame(),
        }
    }

    /// Answer a frame of an unknown session with a RESET naming it: its
    /// epochs swapped, so only that session's owner accepts it.
    pub(super) fn reset_reply(&mut self, h: &Header) {
        let mine = if h.peer_epoch != 0 {
            h.peer_epoch
        } else {
            self.epoch
        };
        self.reset_due = Some((mine, h.epoch));
    }

    pub(super) fn heard(&mut self, now: Tick) {
        self.last_heard = now;
        self.last_probe = None;
        self.probe_due = false;
    }

    /// A DATA or ACK frame of the current session.
    pub(super) fn session_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
        self.heard(now);
        if self.peer_busy && !h.busy {
            // The peer has room again: resend what it dropped now.
            for slot in self.tx_slots.iter_mut() {
                if slot.unacked() {
                    slot.flags |= RESEND;
                }
            }
        }
        self.peer_busy = h.busy;
        self.process_ack(now, h.ack, h.sack);
        self.resend_timed_out(now);
        if h.ack_req {
            self.ack_due = true;
        }
        if h.kind == Kind::Data {
            self.receive(now, h.seq, payload);
        }
    }

    pub(super) fn process_ack(&mut self, now: Tick, ack: u8, sack: u8) {
        let flight = self.snd_nxt.wrapping_sub(self.snd_una);
        let advance = ack.wrapping_sub(self.snd_una);
        if advance > flight {
            // Older than what we already know (reordered), or nonsense.
            return;
        }
        // The last-sent frame known to have arrived: any frame sent before
        // it and still missing was lost (the air keeps frames in order).
        let mut latest: Option<Tick> = None;
        let mut note = |order: Tick| {
            if latest.map_or(true, |l| order > l) {
                latest = Some(order);
            }
        };
        // The round-trip sample: the frame sent last of those this frame
        // acknowledges for the first time, whose arrival made the peer
        // answer. None when that one was sent more than once (Karn: either
        // copy may have been answered), which also keeps out the frames
        // whose acks were lost and that a retransmission's ack now covers
        // seconds later.
        let mut sample: Option<(Tick, Option<Tick>)> = None;
        let mut candidate = |slot: &TxSlot| {
            if slot.unacked() && sample.map_or(true, |(o, _)| slot.order > o) {
                sample = Some((slot.order, (!slot.has(RESENT)).then_some(slot.sent_at)));
            }
        };
        // One pass over the frames in flight: those the cumulative ack
        // covers are freed, the others may be selectively acknowledged
        // (bit i of `sack`: frame `ack + 1 + i`).
        let una = self.snd_una;
        let sacks = u32::from(sack) << 1;
        let mut freed = 0usize;
        for seq in self.in_flight() {
            let Some(slot) = self.tx_slot_mut(seq) else {
                continue;
            };
            if seq.wrapping_sub(una) < advance {
                if slot.has(SENT) {
                    note(slot.order);
                    candidate(slot);
                }
                freed = freed.saturating_add(usize::from(slot.len));
                *slot = TxSlot::EMPTY;
            } else {
                let bit = sacks
                    .checked_shr(u32::from(seq.wrapping_sub(ack)))
                    .unwrap_or(0);
                if bit & 1 != 0 {
                    candidate(slot);
                    slot.flags |= SACKED;
                }
                if slot.flags & (SACKED | SENT) == SACKED | SENT {
                    note(slot.order);
                }
            }
        }
        // Bytes are freed in stream order, never more than were framed.
        let freed = freed.min(self.tx_framed);
        self.tx_head = ring::add(self.tx_head, freed, self.tx.len());
        self.tx_len -= freed;
        self.tx_framed -= freed;
        self.snd_una = ack;
        if let Some((_, Some(sent_at))) = sample {
            // Time never runs backwards: a negative age is a wrapped zero.
            self.rtt.sample(now.saturating_since(sent_at));
        }
        // Fast retransmission of those.
        if let Some(latest) = latest {
            for slot in self.tx_slots.iter_mut() {
                if slot.timed() && slot.order < latest {
                    slot.flags |= RESEND;
                }
            }
        }
    }

    /// A frame from the peer while our oldest frame is still unanswered
    /// after timing out: the link works again (an interference burst is
    /// over), so resend it now rather than at its backed-off deadline. At
    /// most once per round trip, and not counted as a retry.
    pub(super) fn resend_timed_out(&mut self, now: Tick) {
        let rtt = self.rtt.srtt_ms().unwrap_or(self.cfg.rto_ms);
        let una = self.snd_una;
        // A busy peer answers every probe: its answers are no news.
        if self.snd_nxt == una || self.peer_busy {
            return;
        }
        if let Some(slot) = self.tx_slot_mut(una) {
            if slot.timed()
                && slot.retries > 0
                && now > slot.last_sent
                && now.wrapping_since(slot.last_sent) >= rtt
            {
                slot.flags |= RESEND;
            }
        }
    }

    pub(super) fn rx_free(&self) -> usize {
        self.rx.len().saturating_sub(self.rx_len)
    }

    /// Physical rx index `offset` bytes past the in-order data.
    pub(super) fn rx_pos(&self, offset: usize) -> usize {
        let cap = self.rx.len();
        ring::add(ring::add(self.rx_head, self.rx_len, cap), offset, cap)
    }

    pub(super) fn receive(&mut self, now: Tick, seq: u8, payload: &[u8]) {
        let k = usize::from(seq.wrapping_sub(self.rcv_nxt));
        if k >= 128 {
            // Already delivered: our ack was lost, say it again.
            self.ack_later(now);
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
            return;
        }
        if k >= SLOTS || payload.len() > self.max_payload {
            return self.drop_frame();
        }
        if self.rx_slots.get(k).is_some_and(|&len| len != 0) {
            self.ack_later(now);
            self.stats.duplicates = self.stats.duplicates.wrapping_add(1);
            return;
        }
        let offset = k * self.max_payload;
        if offset + payload.len() > self.rx_free() {
            if k == 0 {
                self.busy = true;
            }
            self.ack_due = true;
            return self.drop_frame();
        }
        let pos = self.rx_pos(offset);
        ring::write(self.rx, pos, payload);
        if let Some(slot) = self.rx_slots.get_mut(k) {
            // At most max_payload (checked above), so it fits.
            *slot = u8::try_from(payload.len()).unwrap_or(u8::MAX);
        }
        self.ack_later(now);
        if k == 0 {
            self.busy = false;
            self.deliver();
        }
    }

    /// Acknowledge received DATA with the next frame we send, at the
    /// latest after the ack delay: the sender sets ACK_REQ on the last
    /// frame of a burst (which makes the ACK immediate), so one ACK covers
    /// a burst, and the timer covers a lost last frame.
    pub(super) fn ack_later(&mut self, now: Tick) {
        if !self.ack_due && self.ack_at.is_none() {
            self.ack_at = Some(now + self.ack_delay());
        }
    }

    /// How long an acknowledgement may wait: a quarter of the measured
    /// round trip, or before any measurement (a side that only receives
    /// never measures) half the smallest timeout the peer may use, so that
    /// it stays well inside the peer's timeout on a fast link; at most
    /// `rto_ms / 4`.
    pub(super) fn ack_delay(&self) -> u32 {
        let most = (self.cfg.rto_ms / 4).max(1);
        let delay = match self.rtt.srtt_ms() {
            Some(srtt) => srtt / 4,
            None => self.rtt.floor() / 2,
        };
        delay.max(MIN_ACK_DELAY_MS).min(most)
    }

    /// Append the frames that are now in order to the readable data and
    /// pull the waiting ones up to their new offsets.
    pub(super) fn deliver(&mut self) {
        while let Some(first) = self
            .rx_slots
            .first()
            .map(|&l| usize::from(l))
            .filter(|&l| l != 0)
        {
            self.rx_len += first;
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            super::pop_front(&mut self.rx_slots, 0);
            let gap = self.max_payload.saturating_sub(first);
            if gap == 0 {
                continue;
            }
            for k in 0..SLOTS {
                let len = self.rx_slots.get(k).map_or(0, |&l| usize::from(l));
                if len != 0 {
                    let to = self.rx_pos(k * self.max_payload);
                    let from = ring::add(to, gap, self.rx.len());
                    ring::move_back(self.rx, from, to, len);
                }
            }
        }
    }
}
