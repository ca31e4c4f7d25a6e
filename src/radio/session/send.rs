//! Sending: the next frame (handshake, acknowledgement, probe, DATA
//! resent or new), each within the window and the peer's room.

use crate::radio::frame::{self, Header, Kind};
use crate::radio::ring;
use crate::time::Tick;

use super::{Radio, State, TxSlot, RESEND, RESENT, SENT};

impl Radio<'_> {
    pub(super) fn next_frame(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
        // DATA frames are built by `send_slot`; the others carry no payload
        // and share one encoding, then the bookkeeping of their kind.
        let mut h = self.header(Kind::Ack);
        if let Some((mine, theirs)) = self.reset_due {
            h.kind = Kind::Reset;
            h.epoch = mine;
            h.peer_epoch = theirs;
        } else {
            match self.state {
                State::Idle => return None,
                State::Opening => {
                    if !self.hello_due {
                        return None;
                    }
                    h.kind = Kind::Hello;
                    h.peer_epoch = 0;
                    [h.seq, h.ack] = self.nonce.to_be_bytes();
                }
                State::Up => {
                    if self.hello_ack_due {
                        h.kind = Kind::HelloAck;
                        [h.seq, h.ack] = self.nonce.to_be_bytes();
                    } else {
                        if let Some(n) = self.resend(now, out) {
                            return Some(n);
                        }
                        if let Some(n) = self.new_data(now, out) {
                            return Some(n);
                        }
                        if !(self.ack_due || self.probe_due) {
                            return None;
                        }
                        h.ack_req = self.probe_due;
                        h.seq = self.snd_nxt;
                        h.ack = self.rcv_nxt;
                        h.sack = self.sack();
                    }
                }
            }
        }
        let n = frame::encode(&h, &[], out)?;
        match h.kind {
            Kind::Reset => self.reset_due = None,
            Kind::Hello => {
                if self.hello_retries > 0 {
                    self.stats.retransmissions = self.stats.retransmissions.wrapping_add(1);
                }
                self.hello_due = false;
                self.hello_deadline = Some(now + self.cfg.rto_ms);
            }
            Kind::HelloAck => self.hello_ack_due = false,
            Kind::Ack | Kind::Data => {
                self.ack_due = false;
                self.ack_at = None;
                if h.ack_req {
                    self.probe_sent(now);
                }
            }
        }
        Some(n)
    }

    /// A header of this session with zero seq, ack and sack.
    pub(super) fn header(&self, kind: Kind) -> Header {
        Header {
            node: self.cfg.node,
            kind,
            downlink: self.gateway(),
            ack_req: false,
            busy: self.busy,
            epoch: self.epoch,
            peer_epoch: self.peer_epoch,
            seq: 0,
            ack: 0,
            sack: 0,
        }
    }

    pub(super) fn sack(&self) -> u8 {
        self.rx_slots
            .iter()
            .skip(1)
            .enumerate()
            .filter(|(_, &len)| len != 0)
            .fold(0u8, |bits, (i, _)| bits | (1u8 << i))
    }

    pub(super) fn probe_sent(&mut self, now: Tick) {
        self.probe_due = false;
        self.last_probe = Some(now);
    }

    /// Encode DATA frame `seq` from its slot; marks it sent.
    pub(super) fn send_slot(&mut self, now: Tick, seq: u8, out: &mut [u8]) -> Option<usize> {
        let slot = self.tx_slot(seq).copied()?;
        let body_len = frame::HEADER_LEN + usize::from(slot.len);
        if out.len() < body_len + frame::CRC_LEN {
            return None;
        }
        let order = self.tx_order;
        self.tx_order = self.tx_order + 1;
        let rto = self.rtt.rto(slot.retries);
        if slot.has(SENT) {
            self.stats.retransmissions = self.stats.retransmissions.wrapping_add(1);
        }
        if let Some(s) = self.tx_slot_mut(seq) {
            if s.has(SENT) {
                s.flags |= RESENT;
            } else {
                s.sent_at = now;
            }
            s.flags = (s.flags | SENT) & !RESEND;
            s.last_sent = now;
            s.order = order;
            s.deadline = now + rto;
        }
        let mut header = self.header(Kind::Data);
        header.seq = seq;
        header.ack = self.rcv_nxt;
        header.sack = self.sack();
        // Ask for an ACK at once on the last frame of a burst and on
        // probes; the others are acked with it.
        header.ack_req = self.probe_due || !self.more_to_send();
        header.write(out)?;
        ring::read(
            self.tx,
            slot.start,
            out.get_mut(frame::HEADER_LEN..body_len)?,
        );
        let n = frame::seal(out, body_len)?;
        self.ack_due = false;
        self.ack_at = None;
        // Every DATA frame is acknowledged: it serves as a probe too.
        if self.probe_due {
            self.probe_sent(now);
        }
        Some(n)
    }

    /// Whether another DATA frame could be sent right now.
    pub(super) fn more_to_send(&self) -> bool {
        let resend = self.tx_slots.iter().any(TxSlot::due);
        let flight = usize::from(self.snd_nxt.wrapping_sub(self.snd_una));
        resend
            || (!self.peer_busy
                && flight < usize::from(self.cfg.window)
                && self.tx_len > self.tx_framed)
    }

    pub(super) fn resend(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
        let seq = self
            .in_flight()
            .find(|&seq| self.tx_slot(seq).is_some_and(TxSlot::due))?;
        self.send_slot(now, seq, out)
    }

    pub(super) fn new_data(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
        let flight = usize::from(self.snd_nxt.wrapping_sub(self.snd_una));
        let unframed = self.tx_len.saturating_sub(self.tx_framed);
        if self.peer_busy || flight >= usize::from(self.cfg.window) || unframed == 0 {
            return None;
        }
        let room = out.len().min(usize::from(self.cfg.mtu));
        let len = unframed
            .min(self.max_payload)
            .min(room.checked_sub(frame::OVERHEAD)?);
        // At most max_payload <= 244: the conversion always succeeds.
        let Ok(len) = u8::try_from(len) else {
            return None;
        };
        if len == 0 {
            return None;
        }
        let seq = self.snd_nxt;
        let start = ring::add(self.tx_head, self.tx_framed, self.tx.len());
        if let Some(slot) = self.tx_slot_mut(seq) {
            // Marked due so a frame that does not fit `out` now goes later.
            *slot = TxSlot {
                start,
                len,
                flags: RESEND,
                ..TxSlot::EMPTY
            };
        }
        self.tx_framed += usize::from(len);
        self.snd_nxt = seq.wrapping_add(1);
        self.send_slot(now, seq, out)
    }
}
