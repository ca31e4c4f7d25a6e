//! The radio session state machine: handshake, selective-repeat ARQ,
//! keepalive and session epochs.

use super::frame::{self, Header, Kind};
use super::ring;
use super::rtt::RttEstimator;
use super::{DownReason, RadioConfig, RadioError, RadioEvent, RadioStats};
use crate::time::Tick;

/// Sequence slots: the largest window, and the receiver's reorder window.
const SLOTS: usize = 8;
/// Events kept until polled; the oldest is dropped beyond this.
const EVENTS: usize = 4;
/// Smallest delayed-ack time, ms: a burst's frames that arrive a moment
/// apart share one ACK.
const MIN_ACK_DELAY_MS: u32 = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Node: closed. Gateway: listening for a HELLO.
    Idle,
    /// Node: HELLO sent, waiting for HELLO_ACK.
    Opening,
    /// Session up.
    Up,
}

/// [`TxSlot`] flag: sent at least once.
const SENT: u8 = 1;
/// [`TxSlot`] flag: selectively acknowledged (kept until the cumulative ack
/// passes it, because its bytes are freed in stream order).
const SACKED: u8 = 2;
/// [`TxSlot`] flag: due for (re)transmission.
const RESEND: u8 = 4;
/// [`TxSlot`] flag: sent more than once: its acknowledgement is no
/// round-trip sample.
const RESENT: u8 = 8;

/// A DATA frame in flight, in the slot `seq % SLOTS`.
#[derive(Clone, Copy, Debug)]
struct TxSlot {
    /// Physical index in the tx ring of its first byte.
    start: usize,
    /// Payload length (at most `mtu - 11` <= 244).
    len: u8,
    /// [`SENT`], [`SACKED`], [`RESEND`], [`RESENT`]: one byte, so that a
    /// test of several is one comparison.
    flags: u8,
    /// Timeouts so far (not fast retransmissions).
    retries: u8,
    /// Time of its first transmission.
    sent_at: Tick,
    /// Time of its last transmission.
    last_sent: Tick,
    /// Retransmission deadline, valid when sent and not resend.
    deadline: Tick,
    /// Transmission counter at its last send (a wrapping count, compared
    /// as ticks are): a frame acknowledged while an earlier-sent one is not
    /// means that one was lost.
    order: Tick,
}

impl TxSlot {
    /// Never sent, nothing due. A constant, so that an array of them is
    /// filled from it padding and all (the C API's storage then holds no
    /// stale bytes, see `src/ffi/handle.rs`).
    const EMPTY: TxSlot = TxSlot {
        start: 0,
        len: 0,
        flags: 0,
        retries: 0,
        sent_at: Tick::from_millis(0),
        last_sent: Tick::from_millis(0),
        deadline: Tick::from_millis(0),
        order: Tick::from_millis(0),
    };

    fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// Sent, not acknowledged, not due again: its timer runs.
    fn timed(&self) -> bool {
        self.flags & (SENT | SACKED | RESEND) == SENT
    }

    /// Sent and not selectively acknowledged.
    fn unacked(&self) -> bool {
        self.flags & (SENT | SACKED) == SENT
    }

    /// Due for (re)transmission and not selectively acknowledged.
    fn due(&self) -> bool {
        self.flags & (RESEND | SACKED) == RESEND
    }
}

/// One side of a radio session over caller-owned buffers.
///
/// See the [module documentation](super) for the protocol and an example.
/// After every `handle_*`, `open`, `close`, `write` or `read` call, call
/// [`Radio::poll_frame`] until it returns `None` and send each frame, then
/// wait for a frame or [`Radio::poll_deadline`].
pub struct Radio<'a> {
    cfg: RadioConfig,
    max_payload: usize,
    tx: &'a mut [u8],
    /// Physical index of the oldest unacknowledged byte.
    tx_head: usize,
    /// Bytes held: unacknowledged plus not yet framed.
    tx_len: usize,
    /// Of those, bytes already assigned to a DATA frame.
    tx_framed: usize,
    rx: &'a mut [u8],
    rx_head: usize,
    /// In-order bytes waiting for `read`.
    rx_len: usize,
    state: State,
    /// My epoch for the current or next session.
    epoch: u16,
    /// Epoch of the last session started, so a reopen never reuses it.
    used_epoch: Option<u16>,
    /// Epoch from `set_epoch`, taken at the next session start.
    next_epoch: Option<u16>,
    /// The peer's epoch in this session (0 while opening).
    peer_epoch: u16,
    /// Node: nonce in the HELLO. Gateway: the session's HELLO nonce, to tell
    /// a repeated HELLO from a node that rebooted with the same epoch.
    nonce: u16,
    hello_due: bool,
    hello_deadline: Option<Tick>,
    hello_retries: u8,
    hello_ack_due: bool,
    /// RESET to send: (epoch field, peer-epoch field).
    reset_due: Option<(u16, u16)>,
    snd_una: u8,
    snd_nxt: u8,
    /// Slot `seq % SLOTS` for each seq in flight (`snd_una..snd_nxt`); the
    /// others are always `TxSlot::EMPTY` (never sent, nothing due), so
    /// a pass over all slots that looks only at sent or due ones sees
    /// exactly the frames in flight, without walking the sequence numbers.
    tx_slots: [TxSlot; SLOTS],
    /// Transmissions so far, wrapping: the next frame's `order`.
    tx_order: Tick,
    /// Round-trip estimate and retransmission timeout.
    rtt: RttEstimator,
    /// The peer's last frame said its receive buffer is full.
    peer_busy: bool,
    rcv_nxt: u8,
    /// Payload length of frame `rcv_nxt + k` in slot k, stored at
    /// `k * max_payload` bytes past the in-order data; 0 while it has not
    /// arrived (a DATA frame carries at least one byte, at most
    /// `mtu - 11` <= 244).
    rx_slots: [u8; SLOTS],
    ack_due: bool,
    /// Delayed acknowledgement: in-order DATA without ACK_REQ is acked by
    /// the next frame we send, or at this time, whichever comes first.
    ack_at: Option<Tick>,
    /// I dropped an in-order frame for want of space.
    busy: bool,
    last_heard: Tick,
    /// Last keepalive probe sent since `last_heard`.
    last_probe: Option<Tick>,
    probe_due: bool,
    /// Latest time seen, the reference for comparing deadlines.
    now: Tick,
    /// Events not yet polled, oldest first, `None` after the last: four
    /// bytes that shift, cheaper in code than a ring.
    events: [Option<RadioEvent>; EVENTS],
    stats: RadioStats,
}

fn next_epoch(epoch: u16) -> u16 {
    match epoch.wrapping_add(1) {
        0 => 1,
        e => e,
    }
}

impl<'a> Radio<'a> {
    /// A radio session endpoint over `tx` (unacknowledged and unsent stream
    /// bytes) and `rx` (received in-order bytes not yet read, plus room for
    /// frames received out of order). Each must hold at least one payload
    /// (`mtu - 11` bytes); `window * (mtu - 11)` or more keeps the window
    /// full.
    pub fn new(
        config: RadioConfig,
        tx: &'a mut [u8],
        rx: &'a mut [u8],
    ) -> Result<Self, RadioError> {
        config.validate()?;
        Self::check_buffers(&config, tx.len(), rx.len())?;
        Ok(Self::build(config, tx, rx))
    }

    /// What [`Radio::new`] refuses in buffers of these lengths (for a
    /// configuration known to be valid: the C API checks it without the
    /// texts of [`RadioConfig::validate`]).
    pub(crate) fn check_buffers(
        config: &RadioConfig,
        tx: usize,
        rx: usize,
    ) -> Result<(), RadioError> {
        let max_payload = config.max_payload();
        if tx < max_payload || rx < max_payload {
            return Err(RadioError::BufferTooSmall);
        }
        Ok(())
    }

    /// [`Radio::new`] for what it accepts: infallible, so that the C API
    /// can write it straight into its storage (no `Result` built on the
    /// stack and copied).
    pub(crate) fn build(config: RadioConfig, tx: &'a mut [u8], rx: &'a mut [u8]) -> Self {
        let max_payload = config.max_payload();
        Radio {
            cfg: config,
            max_payload,
            tx,
            tx_head: 0,
            tx_len: 0,
            tx_framed: 0,
            rx,
            rx_head: 0,
            rx_len: 0,
            state: State::Idle,
            epoch: config.epoch,
            used_epoch: None,
            next_epoch: None,
            peer_epoch: 0,
            nonce: 0,
            hello_due: false,
            hello_deadline: None,
            hello_retries: 0,
            hello_ack_due: false,
            reset_due: None,
            snd_una: 0,
            snd_nxt: 0,
            tx_slots: [TxSlot::EMPTY; SLOTS],
            tx_order: Tick::default(),
            rtt: RttEstimator::new(config.rto_ms),
            peer_busy: false,
            rcv_nxt: 0,
            rx_slots: [0; SLOTS],
            ack_due: false,
            ack_at: None,
            busy: false,
            last_heard: Tick::default(),
            last_probe: None,
            probe_due: false,
            now: Tick::default(),
            events: [None; EVENTS],
            stats: RadioStats::default(),
        }
    }

    /// Node: start opening a session (HELLO until HELLO_ACK, at most
    /// `max_retries` repeats, then Down(NoAck)). No-op while opening or up,
    /// and on the gateway, which accepts HELLOs whenever it is not up.
    pub fn open(&mut self, now: u32) {
        let now = Tick::from(now);
        self.now = now;
        if self.gateway() || self.state != State::Idle {
            return;
        }
        self.clear_session();
        self.take_epoch();
        self.state = State::Opening;
        let t = now.millis();
        self.nonce = (t as u16) ^ ((t >> 16) as u16);
        self.hello_due = true;
        self.hello_retries = 0;
        self.hello_deadline = None;
    }

    /// End the session: a RESET tells the peer, [`DownReason::Closed`] is
    /// reported and both buffers are emptied. No-op when not open.
    pub fn close(&mut self, now: u32) {
        let now = Tick::from(now);
        self.now = now;
        if self.state == State::Idle {
            return;
        }
        self.reset_due = Some((self.epoch, self.peer_epoch));
        self.down(DownReason::Closed);
    }

    /// Set the epoch for the next session (node: call before `open`); a
    /// session already open keeps its own. Ignored when 0.
    pub fn set_epoch(&mut self, epoch: u16) {
        if epoch != 0 {
            self.next_epoch = Some(epoch);
        }
    }

    /// True while the session is up.
    pub fn is_up(&self) -> bool {
        self.state == State::Up
    }

    /// Queue stream bytes; returns how many were taken (0 when the tx
    /// buffer is full or the session is not up).
    pub fn write(&mut self, now: u32, data: &[u8]) -> usize {
        self.now = Tick::from(now);
        let n = data.len().min(self.writable());
        if let Some(chunk) = data.get(..n) {
            let cap = self.tx.len();
            ring::write(self.tx, ring::add(self.tx_head, self.tx_len, cap), chunk);
            self.tx_len += chunk.len();
            chunk.len()
        } else {
            0
        }
    }

    /// Take received stream bytes, in order, into `out`; returns the count.
    pub fn read(&mut self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.rx_len);
        if let Some(dst) = out.get_mut(..n) {
            ring::read(self.rx, self.rx_head, dst);
        }
        self.rx_head = ring::add(self.rx_head, n, self.rx.len());
        self.rx_len -= n;
        if self.busy && self.rx_free() >= self.max_payload {
            // Tell the peer at once that it may send again.
            self.busy = false;
            self.ack_due = true;
        }
        n
    }

    /// Free space in the tx buffer (0 when the session is not up).
    pub fn writable(&self) -> usize {
        if self.state == State::Up {
            self.tx.len().saturating_sub(self.tx_len)
        } else {
            0
        }
    }

    /// Received bytes waiting for [`Radio::read`].
    pub fn readable(&self) -> usize {
        self.rx_len
    }

    /// The counters.
    pub fn stats(&self) -> RadioStats {
        self.stats
    }

    /// The next session event, oldest first.
    pub fn poll_event(&mut self) -> Option<RadioEvent> {
        let first = self.events.first().copied().flatten();
        self.events.rotate_left(1);
        if let Some(last) = self.events.last_mut() {
            *last = None;
        }
        first
    }

    /// Feed one received frame (any bytes: corrupted, foreign and malformed
    /// frames are counted and dropped).
    pub fn handle_frame(&mut self, now: u32, bytes: &[u8]) {
        let now = Tick::from(now);
        self.now = now;
        let (h, payload) = match frame::decode(bytes) {
            Ok(decoded) => decoded,
            Err(frame::FrameError::Length | frame::FrameError::Crc) => {
                self.stats.bad_crc = self.stats.bad_crc.wrapping_add(1);
                return;
            }
            Err(_) => return self.drop_frame(),
        };
        // The gateway takes uplink frames, the node downlink ones.
        if h.node != self.cfg.node || h.downlink == self.gateway() {
            return self.drop_frame();
        }
        self.stats.frames_received = self.stats.frames_received.wrapping_add(1);
        if self.gateway() {
            self.gateway_frame(now, &h, payload);
        } else {
            self.node_frame(now, &h, payload);
        }
    }

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
    fn retransmission_timeout(&mut self, now: Tick) -> bool {
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

    /// The next frame to send, written into `out` (give it `mtu` bytes);
    /// returns its length, or `None` when there is nothing to send.
    pub fn poll_frame(&mut self, now: u32, out: &mut [u8]) -> Option<usize> {
        let now = Tick::from(now);
        self.now = now;
        let n = self.next_frame(now, out)?;
        self.stats.frames_sent = self.stats.frames_sent.wrapping_add(1);
        Some(n)
    }

    // ---- receiving -------------------------------------------------------

    fn drop_frame(&mut self) {
        self.stats.dropped = self.stats.dropped.wrapping_add(1);
    }

    fn gateway_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
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

    fn node_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
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
    fn reset_reply(&mut self, h: &Header) {
        let mine = if h.peer_epoch != 0 {
            h.peer_epoch
        } else {
            self.epoch
        };
        self.reset_due = Some((mine, h.epoch));
    }

    fn heard(&mut self, now: Tick) {
        self.last_heard = now;
        self.last_probe = None;
        self.probe_due = false;
    }

    /// A DATA or ACK frame of the current session.
    fn session_frame(&mut self, now: Tick, h: &Header, payload: &[u8]) {
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

    fn process_ack(&mut self, now: Tick, ack: u8, sack: u8) {
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
    fn resend_timed_out(&mut self, now: Tick) {
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

    fn rx_free(&self) -> usize {
        self.rx.len().saturating_sub(self.rx_len)
    }

    /// Physical rx index `offset` bytes past the in-order data.
    fn rx_pos(&self, offset: usize) -> usize {
        let cap = self.rx.len();
        ring::add(ring::add(self.rx_head, self.rx_len, cap), offset, cap)
    }

    fn receive(&mut self, now: Tick, seq: u8, payload: &[u8]) {
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
    fn ack_later(&mut self, now: Tick) {
        if !self.ack_due && self.ack_at.is_none() {
            self.ack_at = Some(now + self.ack_delay());
        }
    }

    /// How long an acknowledgement may wait: a quarter of the measured
    /// round trip, or before any measurement (a side that only receives
    /// never measures) half the smallest timeout the peer may use, so that
    /// it stays well inside the peer's timeout on a fast link; at most
    /// `rto_ms / 4`.
    fn ack_delay(&self) -> u32 {
        let most = (self.cfg.rto_ms / 4).max(1);
        let delay = match self.rtt.srtt_ms() {
            Some(srtt) => srtt / 4,
            None => self.rtt.floor() / 2,
        };
        delay.max(MIN_ACK_DELAY_MS).min(most)
    }

    /// Append the frames that are now in order to the readable data and
    /// pull the waiting ones up to their new offsets.
    fn deliver(&mut self) {
        while let Some(first) = self
            .rx_slots
            .first()
            .map(|&l| usize::from(l))
            .filter(|&l| l != 0)
        {
            self.rx_len += first;
            self.rcv_nxt = self.rcv_nxt.wrapping_add(1);
            self.rx_slots.rotate_left(1);
            if let Some(last) = self.rx_slots.last_mut() {
                *last = 0;
            }
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

    // ---- sending ---------------------------------------------------------

    fn next_frame(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
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
    fn header(&self, kind: Kind) -> Header {
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

    fn sack(&self) -> u8 {
        self.rx_slots
            .iter()
            .skip(1)
            .enumerate()
            .filter(|(_, &len)| len != 0)
            .fold(0u8, |bits, (i, _)| bits | (1u8 << i))
    }

    fn probe_sent(&mut self, now: Tick) {
        self.probe_due = false;
        self.last_probe = Some(now);
    }

    /// Encode DATA frame `seq` from its slot; marks it sent.
    fn send_slot(&mut self, now: Tick, seq: u8, out: &mut [u8]) -> Option<usize> {
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
    fn more_to_send(&self) -> bool {
        let resend = self.tx_slots.iter().any(TxSlot::due);
        let flight = usize::from(self.snd_nxt.wrapping_sub(self.snd_una));
        resend
            || (!self.peer_busy
                && flight < usize::from(self.cfg.window)
                && self.tx_len > self.tx_framed)
    }

    fn resend(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
        let seq = self
            .in_flight()
            .find(|&seq| self.tx_slot(seq).is_some_and(TxSlot::due))?;
        self.send_slot(now, seq, out)
    }

    fn new_data(&mut self, now: Tick, out: &mut [u8]) -> Option<usize> {
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

    // ---- timers ----------------------------------------------------------

    fn silence_deadline(&self) -> Option<Tick> {
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
    fn probe_deadline(&self) -> Option<Tick> {
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

    // ---- session state ---------------------------------------------------

    /// The gateway side. Always false without the cargo feature
    /// `radio-gateway` (`RadioConfig::validate` refuses a gateway
    /// configuration there), which lets the compiler leave the gateway's
    /// code out of a node's firmware.
    fn gateway(&self) -> bool {
        cfg!(feature = "radio-gateway") && self.cfg.gateway
    }

    fn in_flight(&self) -> impl Iterator<Item = u8> {
        let una = self.snd_una;
        (0..self.snd_nxt.wrapping_sub(una)).map(move |i| una.wrapping_add(i))
    }

    fn tx_slot(&self, seq: u8) -> Option<&TxSlot> {
        self.tx_slots.get(usize::from(seq) % SLOTS)
    }

    fn tx_slot_mut(&mut self, seq: u8) -> Option<&mut TxSlot> {
        self.tx_slots.get_mut(usize::from(seq) % SLOTS)
    }

    /// Use a fresh epoch for a new session: never the last one again.
    fn take_epoch(&mut self) {
        if let Some(epoch) = self.next_epoch.take() {
            self.epoch = epoch;
        }
        if self.used_epoch == Some(self.epoch) {
            self.epoch = next_epoch(self.epoch);
        }
        self.used_epoch = Some(self.epoch);
    }

    fn push_event(&mut self, event: RadioEvent) {
        if let Some(free) = self.events.iter_mut().find(|e| e.is_none()) {
            *free = Some(event);
        } else {
            // Full: the oldest is dropped.
            self.events.rotate_left(1);
            if let Some(last) = self.events.last_mut() {
                *last = Some(event);
            }
        }
    }

    fn up(&mut self, now: Tick) {
        self.state = State::Up;
        self.heard(now);
        self.push_event(RadioEvent::Up);
    }

    fn down(&mut self, reason: DownReason) {
        self.clear_session();
        self.state = State::Idle;
        self.push_event(RadioEvent::Down(reason));
    }

    /// Forget the session's stream state and buffered bytes.
    fn clear_session(&mut self) {
        self.tx_head = 0;
        self.tx_len = 0;
        self.tx_framed = 0;
        self.rx_head = 0;
        self.rx_len = 0;
        self.peer_epoch = 0;
        self.hello_due = false;
        self.hello_deadline = None;
        self.hello_retries = 0;
        self.hello_ack_due = false;
        self.snd_una = 0;
        self.snd_nxt = 0;
        self.tx_slots = [TxSlot::EMPTY; SLOTS];
        self.rtt.reset();
        self.peer_busy = false;
        self.rcv_nxt = 0;
        self.rx_slots = [0; SLOTS];
        self.ack_due = false;
        self.ack_at = None;
        self.busy = false;
        self.last_probe = None;
        self.probe_due = false;
    }
}
