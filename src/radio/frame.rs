//! The radio frame codec: a 9-byte header, the payload and a CRC.
//!
//! ```text
//! offset  field
//! 0       node id of the radio node (1..=254): the gateway demultiplexes on it
//! 1       kind (bits 0..=3: 1 HELLO, 2 HELLO_ACK, 3 DATA, 4 ACK, 5 RESET)
//!         | bit 5 BUSY: the sender dropped a DATA frame for want of receive space
//!         | bit 6 ACK_REQ: "please answer with an ACK" (keepalive probe)
//!         | bit 7 direction: 0 node -> gateway, 1 gateway -> node
//! 2..4    sender's epoch (u16 big-endian, nonzero)
//! 4..6    the peer's epoch as the sender knows it (0 in HELLO)
//! 6       seq: DATA frame sequence number mod 256
//!         (HELLO, HELLO_ACK: session nonce high byte)
//! 7       ack: cumulative, the next seq the sender expects
//!         (HELLO, HELLO_ACK: session nonce low byte)
//! 8       sack: bit i set when frame ack+1+i has already been received
//! 9..n-2  payload (DATA only, at least one byte)
//! n-2..n  CRC-16/CCITT-FALSE over bytes 0..n-2, big-endian
//! ```
//!
//! The node picks a nonce for each open (from its clock) and the HELLO_ACK
//! echoes it, so a node that reboots with an unchanged epoch is still told
//! apart from a repeated HELLO, and a late HELLO_ACK from an earlier session
//! is ignored. A RESET names the session it ends by both epochs (in answer
//! to a frame of an unknown session: that frame's epochs swapped); a RESET
//! for another session is ignored. Bit 4 is reserved: sent as 0, ignored.

/// Header bytes before the payload.
pub const HEADER_LEN: usize = 9;
/// CRC bytes after the payload.
pub const CRC_LEN: usize = 2;
/// Header plus CRC: a frame's bytes that are not payload.
pub const OVERHEAD: usize = HEADER_LEN + CRC_LEN;
/// Smallest configurable MTU (frame bytes including header and CRC).
pub const MIN_MTU: u16 = 16;
/// Largest configurable MTU (and largest frame ever accepted).
pub const MAX_MTU: u16 = 255;

/// Direction bit of byte 1: set on frames from the gateway to the node.
pub const FLAG_DOWNLINK: u8 = 0x80;
/// "Please answer with an ACK" bit of byte 1 (keepalive probe).
pub const FLAG_ACK_REQ: u8 = 0x40;
/// Receiver-busy bit of byte 1: the sender dropped an in-order DATA frame
/// because its receive buffer was full; the peer holds new data back and
/// does not count the retransmissions towards `max_retries`.
pub const FLAG_BUSY: u8 = 0x20;
/// Bits of byte 1 that carry the kind.
pub const KIND_MASK: u8 = 0x0F;

/// What a frame is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Node opens a session (repeated until answered).
    Hello = 1,
    /// Gateway accepts a session: echoes the node's epoch.
    HelloAck = 2,
    /// Stream bytes, with piggybacked acknowledgement.
    Data = 3,
    /// Acknowledgement only (or keepalive probe / answer).
    Ack = 4,
    /// The session named by the epochs is dead.
    Reset = 5,
}

impl Kind {
    /// The kind in the low four bits of `byte`, if it is a known one.
    pub fn from_bits(byte: u8) -> Option<Kind> {
        match byte & KIND_MASK {
            1 => Some(Kind::Hello),
            2 => Some(Kind::HelloAck),
            3 => Some(Kind::Data),
            4 => Some(Kind::Ack),
            5 => Some(Kind::Reset),
            _ => None,
        }
    }
}

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    /// Node id (1..=254).
    pub node: u8,
    /// Frame kind.
    pub kind: Kind,
    /// True on frames from the gateway to the node.
    pub downlink: bool,
    /// The sender asks for an ACK (keepalive probe).
    pub ack_req: bool,
    /// The sender's receive buffer is full.
    pub busy: bool,
    /// Sender's epoch (nonzero).
    pub epoch: u16,
    /// The peer's epoch as the sender knows it (0 in HELLO).
    pub peer_epoch: u16,
    /// Sequence number (DATA); nonce high byte (HELLO, HELLO_ACK).
    pub seq: u8,
    /// Cumulative acknowledgement; nonce low byte (HELLO, HELLO_ACK).
    pub ack: u8,
    /// Selective acknowledgement bitmap: bit i = frame `ack + 1 + i` received.
    pub sack: u8,
}

/// Why [`decode`] rejected a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameError {
    /// Shorter than [`OVERHEAD`] or longer than [`MAX_MTU`].
    Length,
    /// The CRC does not match: corrupted on the air.
    Crc,
    /// Node id 0 or 255.
    Node,
    /// Unknown kind.
    Kind,
    /// Sender's epoch is 0.
    Epoch,
    /// DATA without payload, or another kind with one.
    Payload,
}

/// CRC-16/CCITT-FALSE nibble table (polynomial 0x1021): 32 bytes of flash
/// instead of 512, two lookups per byte. Built at compile time, where an
/// out-of-range index is a build error, not a panic.
#[allow(clippy::indexing_slicing)]
const CRC_TABLE: [u16; 16] = {
    let mut table = [0u16; 16];
    let mut i = 0;
    while i < 16 {
        let mut crc = (i as u16) << 12;
        let mut bit = 0;
        while bit < 4 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

fn crc_nibble(crc: u16, nibble: u8) -> u16 {
    let index = usize::from(((crc >> 12) as u8 ^ nibble) & 0x0F);
    let entry = CRC_TABLE.get(index).copied().unwrap_or(0);
    (crc << 4) ^ entry
}

/// CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, no final
/// xor): `crc16(b"123456789") == 0x29B1`.
pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0xFFFF, |crc, &byte| {
        crc_nibble(crc_nibble(crc, byte >> 4), byte & 0x0F)
    })
}

impl Header {
    /// Byte 1: kind, flags and direction.
    fn kind_byte(&self) -> u8 {
        let mut b = self.kind as u8;
        if self.downlink {
            b |= FLAG_DOWNLINK;
        }
        if self.ack_req {
            b |= FLAG_ACK_REQ;
        }
        if self.busy {
            b |= FLAG_BUSY;
        }
        b
    }

    /// Write the 9 header bytes at the start of `out`; `None` when `out` is
    /// shorter than [`HEADER_LEN`].
    pub fn write(&self, out: &mut [u8]) -> Option<()> {
        let [e0, e1] = self.epoch.to_be_bytes();
        let [p0, p1] = self.peer_epoch.to_be_bytes();
        let bytes = [
            self.node,
            self.kind_byte(),
            e0,
            e1,
            p0,
            p1,
            self.seq,
            self.ack,
            self.sack,
        ];
        out.get_mut(..HEADER_LEN)?.copy_from_slice(&bytes);
        Some(())
    }
}

/// Append the CRC after the first `body_len` bytes of `out` (header and
/// payload already written) and return the frame length.
pub fn seal(out: &mut [u8], body_len: usize) -> Option<usize> {
    let total = body_len.checked_add(CRC_LEN)?;
    if total > usize::from(MAX_MTU) {
        return None;
    }
    let (body, rest) = out.split_at_mut_checked(body_len)?;
    let crc = crc16(body).to_be_bytes();
    rest.get_mut(..CRC_LEN)?.copy_from_slice(&crc);
    Some(total)
}

/// Encode a whole frame into `out`; returns its length, or `None` when it
/// does not fit in `out` or would exceed [`MAX_MTU`].
pub fn encode(header: &Header, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    let body_len = HEADER_LEN.checked_add(payload.len())?;
    header.write(out)?;
    out.get_mut(HEADER_LEN..body_len)?.copy_from_slice(payload);
    seal(out, body_len)
}

/// Check length and CRC; returns the frame without its CRC.
fn checked_body(frame: &[u8]) -> Result<&[u8], FrameError> {
    if frame.len() < OVERHEAD || frame.len() > usize::from(MAX_MTU) {
        return Err(FrameError::Length);
    }
    let (body, crc) = frame
        .split_at_checked(frame.len() - CRC_LEN)
        .ok_or(FrameError::Length)?;
    let expected = crc16(body).to_be_bytes();
    if crc != expected {
        return Err(FrameError::Crc);
    }
    Ok(body)
}

/// Decode and validate a received frame: header and payload.
pub fn decode(frame: &[u8]) -> Result<(Header, &[u8]), FrameError> {
    let body = checked_body(frame)?;
    let (head, payload) = body
        .split_at_checked(HEADER_LEN)
        .ok_or(FrameError::Length)?;
    let [node, kind_byte, e0, e1, p0, p1, seq, ack, sack] =
        <[u8; HEADER_LEN]>::try_from(head).map_err(|_| FrameError::Length)?;
    if node == 0 || node == 255 {
        return Err(FrameError::Node);
    }
    let kind = Kind::from_bits(kind_byte).ok_or(FrameError::Kind)?;
    let epoch = u16::from_be_bytes([e0, e1]);
    if epoch == 0 {
        return Err(FrameError::Epoch);
    }
    if (kind == Kind::Data) == payload.is_empty() {
        return Err(FrameError::Payload);
    }
    let header = Header {
        node,
        kind,
        downlink: kind_byte & FLAG_DOWNLINK != 0,
        ack_req: kind_byte & FLAG_ACK_REQ != 0,
        busy: kind_byte & FLAG_BUSY != 0,
        epoch,
        peer_epoch: u16::from_be_bytes([p0, p1]),
        seq,
        ack,
        sack,
    };
    Ok((header, payload))
}

/// CRC-checked peek at a frame's node id and direction (true: gateway to
/// node), for a gateway demultiplexing frames to per-node sessions.
pub fn peek_node(frame: &[u8]) -> Option<(u8, bool)> {
    let body = checked_body(frame).ok()?;
    let node = *body.first()?;
    let kind_byte = *body.get(1)?;
    if node == 0 || node == 255 {
        return None;
    }
    Some((node, kind_byte & FLAG_DOWNLINK != 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_check_value() {
        assert_eq!(crc16(b"123456789"), 0x29B1);
        assert_eq!(crc16(b""), 0xFFFF);
    }

    #[test]
    fn round_trip() {
        let h = Header {
            node: 9,
            kind: Kind::Data,
            downlink: true,
            ack_req: true,
            busy: false,
            epoch: 0xBEEF,
            peer_epoch: 7,
            seq: 200,
            ack: 3,
            sack: 0b101,
        };
        let mut buf = [0u8; 64];
        let n = encode(&h, b"hello", &mut buf).unwrap();
        assert_eq!(n, OVERHEAD + 5);
        let (d, p) = decode(&buf[..n]).unwrap();
        assert_eq!(d, h);
        assert_eq!(p, b"hello");
        assert_eq!(peek_node(&buf[..n]), Some((9, true)));
        buf[4] ^= 1;
        assert_eq!(decode(&buf[..n]), Err(FrameError::Crc));
        assert_eq!(peek_node(&buf[..n]), None);
    }
}
