//! Radio frame codec: golden bytes, CRC check values, demux peek, and
//! random input (garbage and well-formed frames with random fields) that
//! must never panic or break the buffers' bounds.

use mqttas::radio::frame::{self, FrameError, Header, Kind};
use mqttas::radio::{frame_node, Radio, RadioConfig, RadioEvent};
use proptest::prelude::*;

#[test]
fn crc16_ccitt_false_check_values() {
    // The catalogue check value of CRC-16/CCITT-FALSE.
    assert_eq!(frame::crc16(b"123456789"), 0x29B1);
    assert_eq!(frame::crc16(b""), 0xFFFF);
    assert_eq!(frame::crc16(&[0x00]), 0xE1F0);
}

#[test]
fn data_frame_golden_bytes() {
    let h = Header {
        node: 7,
        kind: Kind::Data,
        downlink: true,
        ack_req: false,
        busy: false,
        epoch: 0x1234,
        peer_epoch: 0xABCD,
        seq: 5,
        ack: 9,
        sack: 0x03,
    };
    let mut out = [0u8; 32];
    let n = frame::encode(&h, b"hi", &mut out).unwrap();
    assert_eq!(
        &out[..n],
        &[0x07, 0x83, 0x12, 0x34, 0xAB, 0xCD, 0x05, 0x09, 0x03, b'h', b'i', 0xFC, 0x4E]
    );
    let (d, payload) = frame::decode(&out[..n]).unwrap();
    assert_eq!(d, h);
    assert_eq!(payload, b"hi");
    assert_eq!(frame_node(&out[..n]), Some((7, true)));
    // Too small an output buffer: nothing written beyond, None returned.
    assert_eq!(frame::encode(&h, b"hi", &mut [0u8; 12]), None);
}

#[test]
fn handshake_golden_bytes() {
    let (mut a, mut b, mut c, mut d) = ([0u8; 64], [0u8; 64], [0u8; 64], [0u8; 64]);
    let mut node = Radio::new(RadioConfig::new(7, false, 0x1234), &mut a, &mut b).unwrap();
    let mut gw = Radio::new(RadioConfig::new(7, true, 0x5678), &mut c, &mut d).unwrap();
    // The HELLO carries a nonce from the open time: 0x0203 ^ 0x0001.
    node.open(0x0001_0203);
    let mut out = [0u8; 32];
    let n = node.poll_frame(0x0001_0203, &mut out).unwrap();
    let hello = [
        0x07, 0x01, 0x12, 0x34, 0x00, 0x00, 0x02, 0x02, 0x00, 0x98, 0xBD,
    ];
    assert_eq!(&out[..n], &hello);
    assert_eq!(node.poll_frame(0x0001_0203, &mut out), None);
    assert_eq!(frame_node(&hello), Some((7, false)));

    gw.handle_frame(5, &hello);
    assert_eq!(gw.poll_event(), Some(RadioEvent::Up));
    let n = gw.poll_frame(5, &mut out).unwrap();
    let hello_ack = [
        0x07, 0x82, 0x56, 0x78, 0x12, 0x34, 0x02, 0x02, 0x00, 0x76, 0x51,
    ];
    assert_eq!(&out[..n], &hello_ack);
    node.handle_frame(6, &hello_ack);
    assert_eq!(node.poll_event(), Some(RadioEvent::Up));
    assert!(node.is_up() && gw.is_up());

    // The gateway closes: a RESET naming the session.
    gw.close(7);
    let n = gw.poll_frame(7, &mut out).unwrap();
    let reset = [
        0x07, 0x85, 0x56, 0x78, 0x12, 0x34, 0x00, 0x00, 0x00, 0xB9, 0x4B,
    ];
    assert_eq!(&out[..n], &reset);
    node.handle_frame(8, &reset);
    assert_eq!(
        node.poll_event(),
        Some(RadioEvent::Down(mqttas::radio::DownReason::PeerReset))
    );
}

#[test]
fn decode_rejections() {
    let good = [
        0x07, 0x01, 0x12, 0x34, 0x00, 0x00, 0x02, 0x02, 0x00, 0x98, 0xBD,
    ];
    assert!(frame::decode(&good).is_ok());
    assert_eq!(frame::decode(&good[..10]), Err(FrameError::Length));
    assert_eq!(frame::decode(&[0u8; 256]), Err(FrameError::Length));
    let mut bad = good;
    bad[3] ^= 0x10;
    assert_eq!(frame::decode(&bad), Err(FrameError::Crc));
    assert_eq!(frame_node(&bad), None);

    let reseal = |mut f: Vec<u8>| {
        let body = f.len() - 2;
        frame::seal(&mut f, body).unwrap();
        f
    };
    let mut f = good.to_vec();
    f[0] = 0;
    assert_eq!(frame::decode(&reseal(f)), Err(FrameError::Node));
    let mut f = good.to_vec();
    f[1] = 0x09;
    assert_eq!(frame::decode(&reseal(f)), Err(FrameError::Kind));
    let mut f = good.to_vec();
    f[2] = 0;
    f[3] = 0;
    assert_eq!(frame::decode(&reseal(f)), Err(FrameError::Epoch));
    // DATA without payload, HELLO with one.
    let mut f = good.to_vec();
    f[1] = 0x03;
    assert_eq!(frame::decode(&reseal(f)), Err(FrameError::Payload));
    let mut f = good.to_vec();
    f.insert(9, 0xAA);
    assert_eq!(frame::decode(&reseal(f)), Err(FrameError::Payload));
}

#[test]
fn config_validation() {
    use mqttas::radio::RadioError;
    let mut tx = [0u8; 300];
    let mut rx = [0u8; 300];
    let bad = |f: fn(&mut RadioConfig)| {
        let mut c = RadioConfig::new(1, false, 1);
        f(&mut c);
        c.validate()
    };
    assert!(matches!(bad(|c| c.node = 0), Err(RadioError::BadConfig(_))));
    assert!(matches!(
        bad(|c| c.node = 255),
        Err(RadioError::BadConfig(_))
    ));
    assert!(matches!(bad(|c| c.mtu = 15), Err(RadioError::BadConfig(_))));
    assert!(matches!(
        bad(|c| c.mtu = 256),
        Err(RadioError::BadConfig(_))
    ));
    assert!(matches!(
        bad(|c| c.window = 0),
        Err(RadioError::BadConfig(_))
    ));
    assert!(matches!(
        bad(|c| c.window = 9),
        Err(RadioError::BadConfig(_))
    ));
    assert!(matches!(
        bad(|c| c.rto_ms = 0),
        Err(RadioError::BadConfig(_))
    ));
    assert!(matches!(
        bad(|c| c.epoch = 0),
        Err(RadioError::BadConfig(_))
    ));
    assert!(bad(|c| c.keepalive_ms = 0).is_ok());
    let mut c = RadioConfig::new(1, false, 1);
    c.mtu = 255;
    assert!(matches!(
        Radio::new(c, &mut tx[..243], &mut rx),
        Err(RadioError::BufferTooSmall)
    ));
    assert!(Radio::new(c, &mut tx[..244], &mut rx[..244]).is_ok());
}

// ---- random input ---------------------------------------------------------

const NODE: u8 = 9;

/// Node and gateway radios driven to an up session.
fn up_pair<'a>(bufs: &'a mut [[u8; 96]; 4], mtu: u16) -> (Radio<'a>, Radio<'a>) {
    let [a, b, c, d] = bufs;
    let mut nc = RadioConfig::new(NODE, false, 0x0101);
    nc.mtu = mtu;
    let mut gc = RadioConfig::new(NODE, true, 0x0202);
    gc.mtu = mtu;
    let mut node = Radio::new(nc, a, b).unwrap();
    let mut gw = Radio::new(gc, c, d).unwrap();
    node.open(0);
    let mut f = [0u8; 255];
    for _ in 0..3 {
        while let Some(n) = node.poll_frame(0, &mut f) {
            gw.handle_frame(0, &f[..n]);
        }
        while let Some(n) = gw.poll_frame(0, &mut f) {
            node.handle_frame(0, &f[..n]);
        }
    }
    assert!(node.is_up() && gw.is_up());
    node.write(0, b"abcdefghijklmnopqrstuvwxyz");
    gw.write(0, b"0123456789");
    (node, gw)
}

/// A frame with a valid CRC and random fields, epochs picked from the ones
/// in use so that it reaches the session logic.
fn arb_frame() -> impl Strategy<Value = Vec<u8>> {
    (
        any::<bool>(),
        1u8..=6,
        any::<u8>(),
        prop::sample::select(vec![0u16, 0x0101, 0x0102, 0x0202, 0x0203, 0x7777]),
        prop::sample::select(vec![0u16, 0x0101, 0x0102, 0x0202, 0x0203, 0x7777]),
        (any::<u8>(), any::<u8>(), any::<u8>()),
        prop::collection::vec(any::<u8>(), 0..40),
    )
        .prop_map(|(down, kind, flags, e, p, (seq, ack, sack), payload)| {
            let mut f = vec![
                NODE,
                kind | (flags & 0x70) | if down { 0x80 } else { 0 },
                (e >> 8) as u8,
                e as u8,
                (p >> 8) as u8,
                p as u8,
                seq,
                ack,
                sack,
            ];
            f.extend_from_slice(&payload);
            f.extend_from_slice(&[0, 0]);
            let body = f.len() - 2;
            frame::seal(&mut f, body).unwrap();
            f
        })
}

fn check_invariants(r: &mut Radio<'_>, now: u32, mtu: u16) {
    assert!(r.readable() <= 96);
    assert!(r.writable() <= 96);
    let mut out = [0u8; 255];
    for _ in 0..64 {
        match r.poll_frame(now, &mut out) {
            Some(n) => {
                assert!(n <= usize::from(mtu), "frame of {n} bytes over mtu {mtu}");
                assert!(frame::decode(&out[..n]).is_ok());
            }
            None => break,
        }
    }
    let mut sink = [0u8; 200];
    let got = r.read(&mut sink);
    assert!(got <= 96);
    let _ = r.poll_deadline();
    while r.poll_event().is_some() {}
}

proptest! {
    // 500 cases by default; PROPTEST_CASES raises it for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|s| s.parse().ok()).unwrap_or(500)
    ))]

    #[test]
    fn garbage_never_panics(frames in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20)) {
        let mut bufs = [[0u8; 96]; 4];
        let (mut node, mut gw) = up_pair(&mut bufs, 32);
        let mut now = 10u32;
        for f in &frames {
            node.handle_frame(now, f);
            gw.handle_frame(now, f);
            node.handle_timeout(now);
            gw.handle_timeout(now);
            check_invariants(&mut node, now, 32);
            check_invariants(&mut gw, now, 32);
            now = now.wrapping_add(97);
        }
        prop_assert!(frame_node(&[]).is_none());
        for f in &frames {
            let _ = frame_node(f);
            let _ = frame::decode(f);
        }
    }

    #[test]
    fn well_formed_random_frames_never_panic(
        frames in prop::collection::vec(arb_frame(), 1..40),
        mtu in prop::sample::select(vec![16u16, 32, 64]),
        steps in prop::collection::vec(0u32..2000, 40),
    ) {
        let mut bufs = [[0u8; 96]; 4];
        let (mut node, mut gw) = up_pair(&mut bufs, mtu);
        let mut now = u32::MAX - 20_000;
        for (f, dt) in frames.iter().zip(steps.iter().cycle()) {
            node.handle_frame(now, f);
            gw.handle_frame(now, f);
            node.handle_timeout(now);
            gw.handle_timeout(now);
            node.write(now, b"more");
            check_invariants(&mut node, now, mtu);
            check_invariants(&mut gw, now, mtu);
            if !node.is_up() {
                node.open(now);
            }
            now = now.wrapping_add(*dt);
        }
    }
}
