//! The short packets a client sends and takes most often, as fixed bytes:
//! no measuring, no encoder, no buffer of the caller's.

use super::packet::{Ack, PacketType};
use super::{Properties, ReasonCode};

/// PINGREQ. A `static` so that its bytes get a section of their own: as a
/// constant ending in 0 they would land in the mergeable string section and
/// keep every text of the C API alive in programs that never use one.
pub static PINGREQ: [u8; 2] = [PacketType::PingReq.first_byte(0), 0];

/// PUBREL for `packet_id` (not 0), success without properties: the same
/// four bytes in 3.1.1 and 5.0.
pub const fn pubrel(packet_id: u16) -> [u8; 4] {
    let [hi, lo] = packet_id.to_be_bytes();
    let kind = PacketType::PubRel;
    [kind.first_byte(kind.fixed_flags()), 2, hi, lo]
}

/// The usual acknowledgement, a PUBACK, PUBREC or PUBCOMP in its short form
/// (a packet id, no reason code: success), read straight from its whole
/// packet `bytes` whose fixed header the caller has checked. `None` for any
/// other form, and for packet id 0 (which the decoder refuses).
pub(crate) fn short_ack(bytes: &[u8]) -> Option<Ack<'static>> {
    match *bytes {
        [_, 2, hi, lo] if hi | lo != 0 => Some(Ack {
            packet_id: u16::from_be_bytes([hi, lo]),
            reason: ReasonCode::SUCCESS,
            properties: Properties::default(),
        }),
        _ => None,
    }
}

/// The return code of a 3.1.1 CONNACK refusing the connection (1 to 5, no
/// properties), from its whole packet `bytes`: what a 3.1.1 broker answers
/// a 5.0 CONNECT.
pub(crate) fn connack_v311_refusal(bytes: &[u8]) -> Option<u8> {
    match *bytes {
        [first, 2, _, code @ 1..=5] if first == PacketType::ConnAck.first_byte(0) => Some(code),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Packet, Version};
    use super::*;

    #[test]
    fn short_packets_are_what_the_encoder_writes() {
        for v in [Version::V311, Version::V5] {
            let mut buf = [0u8; 8];
            let n = Packet::PingReq.encode(v, &mut buf).unwrap();
            assert_eq!(&buf[..n], &PINGREQ);
            let rel = Ack {
                packet_id: 0x1234,
                reason: ReasonCode::SUCCESS,
                properties: Properties::default(),
            };
            let n = Packet::PubRel(rel).encode(v, &mut buf).unwrap();
            assert_eq!(&buf[..n], &pubrel(0x1234));
            for p in [
                Packet::PubAck(rel),
                Packet::PubRec(rel),
                Packet::PubComp(rel),
            ] {
                let n = p.encode(v, &mut buf).unwrap();
                assert_eq!(short_ack(&buf[..n]), Some(rel));
            }
        }
        assert_eq!(short_ack(&[0x40, 2, 0, 0]), None);
        assert_eq!(short_ack(&[0x40, 3, 0, 1, 0x10]), None);
        assert_eq!(connack_v311_refusal(&[0x20, 2, 0, 5]), Some(5));
        assert_eq!(connack_v311_refusal(&[0x20, 2, 0, 0]), None);
        assert_eq!(connack_v311_refusal(&[0x20, 3, 0, 0x80, 0]), None);
    }
}
