//! Packet radio: a reliable byte stream over small, lossy frames.
//!
//! MQTT needs an ordered byte stream; a LoRa or NRF24L01 radio moves small
//! frames that get lost, corrupted, duplicated and reordered. [`Radio`] is
//! the framing + ARQ layer between the two, in the handle/poll style of
//! [`crate::Client`]: the caller feeds received frames
//! ([`Radio::handle_frame`]), time ([`Radio::handle_timeout`]) and stream
//! bytes ([`Radio::write`]), and takes frames to send ([`Radio::poll_frame`]),
//! received bytes ([`Radio::read`]), events ([`Radio::poll_event`]) and the
//! next deadline ([`Radio::poll_deadline`]). No I/O, no clock, no allocation:
//! the caller owns the transmit and receive buffers.
//!
//! A radio *session* plays the part of a TCP connection. The node (the MCU
//! with the radio) opens it with HELLO; the gateway accepts it with
//! HELLO_ACK and bridges the stream to one broker connection. Each side
//! names its session with an epoch, so a reboot on either side is noticed:
//! a HELLO with a new node epoch ends the gateway's old session
//! ([`DownReason::PeerRestarted`]), a restarted gateway answers the node's
//! frames with RESET ([`DownReason::PeerReset`]).
//!
//! Reliability is selective repeat: up to `window` (1..=8) DATA frames in
//! flight, a cumulative ack plus an 8-bit SACK bitmap on every frame,
//! duplicates dropped by sequence number. The sender asks for an immediate
//! ACK on the last frame of a burst (ACK_REQ flag); the receiver acks the
//! others with that one or after a quarter of the measured round trip (at
//! most `rto_ms / 4`), and every DATA frame carries the acknowledgement of
//! the other direction. A frame still missing when one sent after it is
//! acknowledged is sent again at once (fast retransmission); otherwise the
//! oldest unacknowledged frame is sent again after the retransmission
//! timeout. That timeout adapts to the link (RFC 6298): `rto_ms` until a
//! round trip has been measured, then SRTT + 4 * RTTVAR plus the peer's
//! ack delay, from frames acknowledged without a retransmission (Karn's
//! rule), never below `max(rto_ms / 8, 20 ms)` (nor above `rto_ms`) and
//! never above `8 * rto_ms`; it doubles per timeout up to that cap and
//! stays backed off until a clean measurement. A frame that timed out is
//! also resent as soon as the peer is heard again (an interference burst
//! ended), at most once per round trip. A receiver whose buffer is
//! full says so (BUSY flag) and the sender holds back without counting
//! retries, as TCP does with a zero window.
//!
//! When acknowledgements stop ([`DownReason::NoAck`]) or nothing is heard
//! for three keepalive periods ([`DownReason::Silent`]) the session goes
//! down and both buffers are emptied, as a closed TCP connection drops its
//! queues. An idle node sends an ACK probe after one keepalive period, the
//! gateway after two, repeated every `rto_ms` (or the measured timeout
//! when longer) until answered.
//!
//! Both sides of a session must use the same MTU. The frame layout is in
//! [`frame`].
//!
//! ```
//! use mqttas::radio::{Radio, RadioConfig, RadioEvent};
//!
//! let (mut ntx, mut nrx, mut gtx, mut grx) = ([0u8; 256], [0u8; 256], [0u8; 256], [0u8; 256]);
//! let mut node = Radio::new(RadioConfig::new(7, false, 0x1111), &mut ntx, &mut nrx).unwrap();
//! let mut gw = Radio::new(RadioConfig::new(7, true, 0x2222), &mut gtx, &mut grx).unwrap();
//! node.open(0);
//! let mut frame = [0u8; 32];
//! for now in 0..3 {
//!     while let Some(n) = node.poll_frame(now, &mut frame) {
//!         gw.handle_frame(now, &frame[..n]);
//!     }
//!     while let Some(n) = gw.poll_frame(now, &mut frame) {
//!         node.handle_frame(now, &frame[..n]);
//!     }
//! }
//! assert_eq!(node.poll_event(), Some(RadioEvent::Up));
//! assert_eq!(gw.poll_event(), Some(RadioEvent::Up));
//! assert_eq!(node.write(3, b"CONNECT"), 7);
//! while let Some(n) = node.poll_frame(3, &mut frame) {
//!     gw.handle_frame(3, &frame[..n]);
//! }
//! let mut got = [0u8; 16];
//! assert_eq!(gw.read(&mut got), 7);
//! assert_eq!(&got[..7], b"CONNECT");
//! ```

use core::fmt;

pub mod frame;
mod ring;
mod rtt;
mod session;

pub use session::Radio;

/// Configuration of one side of a radio session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RadioConfig {
    /// Node id, 1..=254: the node's own id, or on the gateway the node this
    /// session serves.
    pub node: u8,
    /// False: node side (opens the session). True: gateway side for `node`
    /// (accepts it); only with the cargo feature `radio-gateway`.
    pub gateway: bool,
    /// Bytes per frame including header and CRC, 16..=255 (NRF24L01: 32,
    /// LoRa: about 250). Payload per frame is `mtu - 11`.
    pub mtu: u16,
    /// DATA frames in flight, 1..=8.
    pub window: u8,
    /// Initial retransmission timeout in ms (1..=60000, default 400), used
    /// until a round trip has been measured; then the timeout follows the
    /// link between `max(rto_ms / 8, 20)` (at most `rto_ms`) and
    /// `8 * rto_ms`, doubling per retry up to that cap. Also the HELLO
    /// repeat interval and the shortest keepalive-probe repeat interval.
    pub rto_ms: u32,
    /// Retransmissions of one frame (or HELLOs) before Down(NoAck)
    /// (default 10).
    pub max_retries: u8,
    /// Nothing heard for this long: send an ACK probe (default 3000);
    /// nothing heard for 3x: Down(Silent). 0 disables both. At most
    /// 3_600_000.
    pub keepalive_ms: u32,
    /// Session epoch, nonzero: new on each boot (random or a persisted
    /// counter). A node that reopens with an unchanged epoch uses the next
    /// one; a gateway uses the next one for each new session.
    pub epoch: u16,
}

impl RadioConfig {
    /// A configuration with the defaults: MTU 32, window 4, rto 400 ms,
    /// 10 retries, keepalive 3000 ms.
    pub fn new(node: u8, gateway: bool, epoch: u16) -> Self {
        RadioConfig {
            node,
            gateway,
            mtu: 32,
            window: 4,
            rto_ms: 400,
            max_retries: 10,
            keepalive_ms: 3000,
            epoch,
        }
    }

    /// Payload bytes per DATA frame.
    pub fn max_payload(&self) -> usize {
        usize::from(self.mtu).saturating_sub(frame::OVERHEAD)
    }

    /// Check every field; the message says which one is wrong.
    pub fn validate(&self) -> Result<(), RadioError> {
        // A match rather than `text::nth`: a second caller would keep that
        // function out of line in every C program that prints texts.
        let why = match self.problem() {
            None => return Ok(()),
            Some(0) => "node id must be 1..=254",
            Some(1) => "mtu must be 16..=255",
            Some(2) => "window must be 1..=8",
            Some(3) => "rto_ms must be 1..=60000",
            Some(4) => "keepalive_ms must be 0 (off) or at most 3600000",
            Some(5) => "epoch must be nonzero",
            Some(_) => "the gateway side needs the cargo feature radio-gateway",
        };
        Err(RadioError::BadConfig(why))
    }

    /// The first invalid field, as the number of the check that failed (in
    /// the order of [`RadioConfig::validate`]'s texts); the C API's init
    /// needs no more, so a node's firmware carries no texts.
    pub(crate) fn problem(&self) -> Option<usize> {
        let problem = if self.node == 0 || self.node == 255 {
            0
        } else if self.mtu < frame::MIN_MTU || self.mtu > frame::MAX_MTU {
            1
        } else if self.window == 0 || self.window > 8 {
            2
        } else if self.rto_ms == 0 || self.rto_ms > 60_000 {
            3
        } else if self.keepalive_ms > 3_600_000 {
            4
        } else if self.epoch == 0 {
            5
        } else if self.gateway && !cfg!(feature = "radio-gateway") {
            6
        } else {
            return None;
        };
        Some(problem)
    }
}

/// Why [`Radio::new`] refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RadioError {
    /// A configuration value is out of range: the message names it.
    BadConfig(&'static str),
    /// The tx or rx buffer cannot hold one frame's payload (`mtu - 11`
    /// bytes); a few frames' worth (`window * (mtu - 11)`) is advised.
    BufferTooSmall,
}

impl fmt::Display for RadioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RadioError::BadConfig(what) => write!(f, "invalid radio configuration: {what}"),
            RadioError::BufferTooSmall => {
                f.write_str("radio tx or rx buffer smaller than one frame payload (mtu - 11)")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for RadioError {}

/// Why a session went down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DownReason {
    /// A frame (or the HELLO) was retransmitted `max_retries` times without
    /// an acknowledgement.
    NoAck,
    /// Nothing heard from the peer for three keepalive periods.
    Silent,
    /// The peer reset the session: it closed it, or restarted and no longer
    /// knows it (RESET, or a HELLO_ACK from a new gateway epoch).
    PeerReset,
    /// Gateway side: the node opened a new session (it rebooted or
    /// reconnected); an [`RadioEvent::Up`] for the new one follows.
    PeerRestarted,
    /// Closed locally by [`Radio::close`].
    Closed,
}

impl fmt::Display for DownReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DownReason::NoAck => "no acknowledgement from the peer",
            DownReason::Silent => "nothing heard from the peer for three keepalive periods",
            DownReason::PeerReset => "the peer reset the session",
            DownReason::PeerRestarted => "the node opened a new session",
            DownReason::Closed => "closed locally",
        })
    }
}

/// A change of the session's state, from [`Radio::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RadioEvent {
    /// The session is up: the stream can be written and read.
    Up,
    /// The session is down; both buffers were emptied.
    Down(DownReason),
}

/// Counters since [`Radio::new`], for figures and diagnosis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RadioStats {
    /// Frames returned by [`Radio::poll_frame`].
    pub frames_sent: u32,
    /// Frames with a good CRC for this node and direction.
    pub frames_received: u32,
    /// Frames sent again (DATA and HELLO).
    pub retransmissions: u32,
    /// Frames with a bad length or CRC.
    pub bad_crc: u32,
    /// Good frames not used: other node or direction, unknown session,
    /// outside the window, no receive space, malformed.
    pub dropped: u32,
    /// DATA frames received again.
    pub duplicates: u32,
}

/// CRC-checked peek at a frame's node id and direction (true: gateway to
/// node), for a gateway demultiplexing received frames to per-node
/// [`Radio`]s. `None` for a frame too short, too long or corrupted.
pub fn frame_node(frame: &[u8]) -> Option<(u8, bool)> {
    frame::peek_node(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_problem_has_its_text() {
        let bad = |f: fn(&mut RadioConfig)| {
            let mut c = RadioConfig::new(1, false, 1);
            f(&mut c);
            c.validate()
        };
        let text = |why| Err(RadioError::BadConfig(why));
        assert_eq!(bad(|_| {}), Ok(()));
        assert_eq!(bad(|c| c.node = 255), text("node id must be 1..=254"));
        assert_eq!(bad(|c| c.mtu = 256), text("mtu must be 16..=255"));
        assert_eq!(bad(|c| c.window = 9), text("window must be 1..=8"));
        assert_eq!(bad(|c| c.rto_ms = 0), text("rto_ms must be 1..=60000"));
        assert_eq!(
            bad(|c| c.keepalive_ms = 3_600_001),
            text("keepalive_ms must be 0 (off) or at most 3600000")
        );
        assert_eq!(bad(|c| c.epoch = 0), text("epoch must be nonzero"));
        // The first problem is the one reported.
        assert_eq!(
            bad(|c| {
                c.window = 0;
                c.epoch = 0;
            }),
            text("window must be 1..=8")
        );
    }
}
