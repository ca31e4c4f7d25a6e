//! The radio session state machine: handshake, selective-repeat ARQ,
//! keepalive and session epochs. Here the state and the entry points; the
//! receiving side in `session/receive.rs`, the sending side in
//! `session/send.rs`, the timers in `session/timers.rs`.

use super::frame;
use super::ring;
use super::rtt::RttEstimator;
use super::{DownReason, RadioConfig, RadioError, RadioEvent, RadioStats};
use crate::time::Tick;

mod receive;
mod send;
mod timers;

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

/// Drop the first element of `a`, move the others down one and put `fill`
/// last: `rotate_left(1)` and a write, without the `memmove` that
/// `rotate_left` calls (1.5 KiB of flash on a Cortex-M, which nothing else
/// in the library needs).
pub(super) fn pop_front<T: Copy, const N: usize>(a: &mut [T; N], fill: T) {
    let old = *a;
    *a = core::array::from_fn(|k| old.get(k + 1).copied().unwrap_or(fill));
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
        pop_front(&mut self.events, None);
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

    /// The next frame to send, written into `out` (give it `mtu` bytes);
    /// returns its length, or `None` when there is nothing to send.
    pub fn poll_frame(&mut self, now: u32, out: &mut [u8]) -> Option<usize> {
        let now = Tick::from(now);
        self.now = now;
        let n = self.next_frame(now, out)?;
        self.stats.frames_sent = self.stats.frames_sent.wrapping_add(1);
        Some(n)
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
            pop_front(&mut self.events, Some(event));
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
