//! Timers: HELLO and DATA retransmission, the delayed acknowledgement,
//! the keepalive probe and the silence that ends a session; one set of
//! deadline rules read by both `poll_deadline` and `handle_timeout`.

use crate::radio::DownReason;
use crate::time::Tick;

use super::{Radio, State, TxSlot, RESEND};

impl Radio<'_> {
    /// Run the timers due at `now`: HELLO and DATA retransmission,
    /// keepalive probe, silence.
    pub fn handle_timeout(&mut self, now: u32) {
        let now = Tick::from(now);
        self.now = now;
        match self.state {
            State::Idle => {}
            State::Opening => {
                if let Some(at) = self.hello_deadline {
                    if now.reached(at) {
                        if self.hello_retries >= self.cfg.max_retries {
                            self.down(DownReason::NoAck);
                        } else {
                            self.hello_retries += 1;
                            self.hello_due = true;
                            self.hello_deadline = None;
                        }
                    }
                }
            }
            State::Up => {
                if let Some(at) = self.silence_deadline() {
                    if now.reached(at) {
                        return self.down(DownReason::Silent);
                    }
                }
                if self.retransmission_timeout(now) {
                    return self.down(DownReason::NoAck);
                }
                if let Some(at) = self.ack_at {
                    if now.reached(at) {
                        self.ack_at = None;
                        self.ack_due = true;
                    }
                }
                if let Some(at) = self.probe_deadline() {
                    if now.reached(at) {
                        self.probe_due = true;
                    }
                }
            }
        }
    }

    /// Expired DATA timers: only the oldest expired frame is resent, as a
    /// probe, and the others wait for its answer, which shows which of them
    /// are missing (fast retransmission): a lost ACK costs one frame, not a
    /// window, and a dead link exhausts that one frame's retries. Returns
    /// true when it has used them up.
    pub(super) fn retransmission_timeout(&mut self, now: Tick) -> bool {
        let expired = |s: &TxSlot| s.timed() && now.reached(s.deadline);
        let Some(first) = self
            .in_flight()
            .find(|&seq| self.tx_slot(seq).is_some_and(expired))
        else {
            return false;
        };
        let busy = self.peer_busy;
        let max = self.cfg.max_retries;
        let mut retries = 0;
        // Karn: keep the backed-off timeout for the following frames too,
        // until one of them is acknowledged without a retransmission.
        self.rtt.timed_out();
        if let Some(slot) = self.tx_slot_mut(first) {
            // A busy peer is alive, its buffer full: keep probing without
            // counting.
            if !busy {
                if slot.retries >= max {
                    return true;
                }
                slot.retries += 1;
            }
            slot.flags |= RESEND;
            retries = slot.retries;
        }
        let wait = self.rtt.rto(retries);
        let until = now + wait;
        for slot in self.tx_slots.iter_mut() {
            if slot.timed() && until.reached(slot.deadline) {
                slot.deadline = until;
            }
        }
        false
    }

    /// When [`Radio::handle_timeout`] next has work, if any timer runs.
    pub fn poll_deadline(&self) -> Option<u32> {
        let now = self.now;
        match self.state {
            State::Idle => None,
            State::Opening => {
                if self.hello_due {
                    None
                } else {
                    self.hello_deadline.map(Tick::millis)
                }
            }
            State::Up => {
                let mut at = now.earliest(self.silence_deadline(), self.probe_deadline());
                at = now.earliest(at, self.ack_at);
                for slot in &self.tx_slots {
                    if slot.timed() {
                        at = now.earliest(at, Some(slot.deadline));
                    }
                }
                at.map(Tick::millis)
            }
        }
    }

    pub(super) fn silence_deadline(&self) -> Option<Tick> {
        if self.cfg.keepalive_ms == 0 {
            return None;
        }
        // keepalive_ms is at most 3_600_000 (validated): three of them fit,
        // and additions need no 64-bit multiply on a Cortex-M0.
        let k = self.cfg.keepalive_ms;
        Some(self.last_heard + k.saturating_add(k).saturating_add(k))
    }

    /// The node probes after one quiet keepalive period, the gateway after
    /// two (only if the node's probes stop arriving), so an idle link
    /// carries one probe and one answer per period. Unanswered probes are
    /// repeated every rto until the silence limit.
    pub(super) fn probe_deadline(&self) -> Option<Tick> {
        if self.cfg.keepalive_ms == 0 || self.probe_due {
            return None;
        }
        match self.last_probe {
            // The measured timeout (without backoff: probes are few, and
            // silence must see several of them) on a slow link, where a
            // probe repeated every rto_ms would not wait for its answer.
            Some(at) => Some(at + self.rtt.base().max(self.cfg.rto_ms)),
            None => {
                let k = self.cfg.keepalive_ms;
                let wait = if self.gateway() {
                    k.saturating_add(k)
                } else {
                    k
                };
                Some(self.last_heard + wait)
            }
        }
    }
}
