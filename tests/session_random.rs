//! Randomized: many QoS 1/2 publications both ways, random link cuts at
//! random points (before or after the broker handles a packet, inside a
//! packet on the way down), reconnections with a kept session, jumps of
//! the clock. At the end nothing is lost and no QoS 2 message arrived twice
//! on either side. Seeded, so a failure replays exactly.

#[path = "sim/mod.rs"]
mod sim;

use std::collections::HashMap;

use mqttas::session::{LostReason, State};
use mqttas::wire::QoS;
use mqttas::{Config, Error, Version};
use sim::{Cut, Pair, Rng, Sizes};

/// What one run saw, for the assertions.
struct Run {
    /// tag -> QoS of every message the client published (accepted).
    up: HashMap<String, QoS>,
    /// tag -> QoS of every message the broker published to the client.
    down: HashMap<String, QoS>,
    cuts: usize,
    store_full: usize,
}

fn payload(rng: &mut Rng, tag: &str, max: u64) -> Vec<u8> {
    let mut p = format!("{tag}:").into_bytes();
    let filler = if rng.chance(100) {
        rng.range(500, max)
    } else {
        rng.range(0, 60)
    };
    p.extend(rng.bytes(filler as usize));
    p
}

fn tag_of(payload: &[u8]) -> String {
    let end = payload
        .iter()
        .position(|&b| b == b':')
        .expect("tagged payload");
    String::from_utf8(payload[..end].to_vec()).unwrap()
}

fn reconnect(p: &mut Pair, rng: &mut Rng) {
    assert_eq!(
        p.state(),
        State::Disconnected,
        "link down but client not disconnected"
    );
    p.segment = if rng.chance(300) {
        rng.range(1, 40) as usize
    } else {
        rng.range(100, 5000) as usize
    };
    p.connect();
}

fn arm_cut(p: &mut Pair, rng: &mut Rng) {
    match rng.below(3) {
        0 => p.cut(),
        1 => {
            let mut left = rng.range(1, 6);
            let mode = if rng.chance(500) {
                Cut::Before
            } else {
                Cut::After
            };
            p.broker.cut_when = Some(Box::new(move |_| {
                if left == 0 {
                    return Cut::No;
                }
                left -= 1;
                if left == 0 {
                    mode
                } else {
                    Cut::No
                }
            }));
        }
        _ => p.cut_after_down_bytes = Some(rng.range(1, 300) as usize),
    }
}

fn run(version: Version, seed: u64, steps: usize, start: Option<u32>) -> (Pair, Run) {
    let mut rng = Rng::new(seed);
    let cfg = Config {
        version,
        clean_init: false,
        clean: false,
        max_inflight: rng.range(1, 10) as u16,
        receive_maximum: 16,
        ..Config::default()
    };
    let sizes = Sizes {
        rx: 512,
        tx: 1024,
        store: 2048,
        aliases: 0,
        qos2: 64,
        out_aliases: 0,
    };
    let start = start.unwrap_or(rng.next_u64() as u32);
    let mut p = Pair::with(cfg, sizes, start);
    let mut run = Run {
        up: HashMap::new(),
        down: HashMap::new(),
        cuts: 0,
        store_full: 0,
    };
    reconnect(&mut p, &mut rng);
    let qos = |rng: &mut Rng| {
        if rng.chance(500) {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        }
    };
    for step in 0..steps {
        match rng.below(100) {
            0..=29 => {
                let tag = format!("c{step}");
                let q = qos(&mut rng);
                // The store (2 KiB) must hold a few at once.
                let pl = payload(&mut rng, &tag, 900);
                match p.publish(&format!("up/{step}"), &pl, q) {
                    Ok(id) => {
                        assert_ne!(id, 0);
                        run.up.insert(tag, q);
                    }
                    Err(Error::StoreFull) => run.store_full += 1,
                    Err(e) => panic!("seed {seed} step {step}: publish: {e:?}"),
                }
            }
            30..=59 => {
                let tag = format!("b{step}");
                let q = qos(&mut rng);
                // Larger than the 512-byte receive buffer: chunked.
                let pl = payload(&mut rng, &tag, 3000);
                p.broker.publish(&format!("down/{step}"), &pl, q);
                run.down.insert(tag, q);
            }
            60..=89 => {
                let ms = if rng.chance(20) {
                    rng.range(0, 2 * 3600 * 1000)
                } else {
                    rng.range(0, 3000)
                };
                p.advance(ms);
            }
            90..=94 => {
                if p.link_up {
                    arm_cut(&mut p, &mut rng);
                }
            }
            _ => {
                // A burst without pumping: fills the window and the store.
                for i in 0..rng.range(5, 30) {
                    let tag = format!("c{step}.{i}");
                    let q = qos(&mut rng);
                    let pl = payload(&mut rng, &tag, 900);
                    match p.publish("up/burst", &pl, q) {
                        Ok(_) => {
                            run.up.insert(tag, q);
                        }
                        Err(Error::StoreFull) => run.store_full += 1,
                        Err(e) => panic!("seed {seed} step {step}: publish: {e:?}"),
                    }
                }
            }
        }
        p.pump();
        if !p.link_up {
            run.cuts += 1;
            p.broker.cut_when = None;
            p.cut_after_down_bytes = None;
            if rng.chance(300) {
                reconnect(&mut p, &mut rng);
            }
        }
    }
    // Settle: a calm link until both sides have nothing outstanding.
    p.broker.cut_when = None;
    p.cut_after_down_bytes = None;
    for _ in 0..20 {
        if !p.link_up {
            reconnect(&mut p, &mut rng);
        }
        let done = p.run_until(10 * 60_000, |p| {
            p.client.pending_publications() == 0 && p.broker.outbound_pending() == 0
        });
        if done {
            break;
        }
    }
    (p, run)
}

fn check(version: Version, seed: u64, steps: usize, start: Option<u32>) {
    let (p, run) = run(version, seed, steps, start);
    let ctx = format!("{version:?} seed {seed:#x}");
    assert_eq!(
        p.client.pending_publications(),
        0,
        "{ctx}: client store not empty at the end"
    );
    assert_eq!(
        p.broker.outbound_pending(),
        0,
        "{ctx}: broker still has messages for the client"
    );

    // Client -> broker: every message arrived; QoS 2 exactly once.
    let mut at_broker: HashMap<String, usize> = HashMap::new();
    for r in &p.broker.received {
        *at_broker.entry(tag_of(&r.payload)).or_default() += 1;
    }
    for (tag, q) in &run.up {
        let n = at_broker.get(tag).copied().unwrap_or(0);
        match q {
            QoS::ExactlyOnce => assert_eq!(n, 1, "{ctx}: QoS 2 {tag} reached the broker {n} times"),
            _ => assert!(n >= 1, "{ctx}: QoS 1 {tag} lost"),
        }
    }
    assert_eq!(
        at_broker.len(),
        run.up.len(),
        "{ctx}: broker got messages nobody published"
    );
    assert_eq!(
        p.published().len(),
        run.up.len(),
        "{ctx}: one Published per publication"
    );

    // Broker -> client: every message reached the app; QoS 2 exactly once.
    let mut at_app: HashMap<String, usize> = HashMap::new();
    for m in p.messages() {
        *at_app.entry(tag_of(&m.payload)).or_default() += 1;
    }
    for (tag, q) in &run.down {
        let n = at_app.get(tag).copied().unwrap_or(0);
        match q {
            QoS::ExactlyOnce => assert_eq!(n, 1, "{ctx}: QoS 2 {tag} reached the app {n} times"),
            _ => assert!(n >= 1, "{ctx}: QoS 1 {tag} lost"),
        }
    }
    assert_eq!(
        at_app.len(),
        run.down.len(),
        "{ctx}: app got messages nobody sent"
    );

    // Only the cuts ended connections: no timeout, no protocol error.
    for (t, r) in p.lost() {
        assert_eq!(r, LostReason::LinkDown, "{ctx}: connection lost at {t} ms");
    }
    assert!(run.cuts > 20, "{ctx}: only {} cuts", run.cuts);
    assert!(run.store_full > 0, "{ctx}: the store never filled");
    assert!(
        run.up.len() > 100 && run.down.len() > 100,
        "{ctx}: too little traffic"
    );
    let dups = p
        .broker
        .up_publishes()
        .iter()
        .filter(|(_, x)| x.dup)
        .count();
    let down_dups = p
        .broker
        .down()
        .filter_map(|r| r.pkt.publish())
        .filter(|x| x.dup)
        .count();
    let chunked = p.messages().iter().filter(|m| m.chunked).count();
    eprintln!("{ctx}: {} up, {} down, {} cuts, {} store full, {dups} DUP up, {down_dups} DUP down, {chunked} chunked", run.up.len(), run.down.len(), run.cuts, run.store_full);
}

#[test]
fn random_traffic_with_link_cuts_v311() {
    for seed in 1..=6u64 {
        check(Version::V311, seed * 0x9E37_79B9, 3000, None);
    }
}

#[test]
fn random_traffic_with_link_cuts_v5() {
    for seed in 1..=6u64 {
        check(Version::V5, seed * 0x7F4A_7C15, 3000, None);
    }
}

#[test]
fn random_traffic_across_the_clock_wrap() {
    // 20 minutes before the u32 millisecond clock wraps.
    for (v, seed) in [(Version::V311, 0xA11CE), (Version::V5, 0xB0B)] {
        check(v, seed, 3000, Some(u32::MAX - 20 * 60_000));
    }
}
