//! The outage policy (src/reconnect.rs) with a jumping clock: hold-down,
//! backoff doubling to the cap, jitter bounds, link bounce after N failures,
//! attempt time limit, reset after a stable connection only, the causes
//! (broker DISCONNECTs that ask to back off, permanent refusals), wrap-around
//! of the ticks.

use mqttas::reconnect::{Action, Cause, Policy, PolicyError, Reconnect};
use mqttas::session::{Awaited, LostReason};
use mqttas::wire::DecodeError;
use mqttas::{ReasonCode, Version};

const OUTAGE: Cause = Cause::Outage;

fn no_jitter() -> Policy {
    Policy {
        jitter_percent: 0,
        ..Policy::default()
    }
}

/// Poll until Connect, returning the tick it came at; checks that every
/// action before it is a Wait/HoldDown/BounceLink pointing at that tick.
fn connect_time(r: &mut Reconnect, from: u32) -> u32 {
    let mut now = from;
    for _ in 0..10 {
        match r.poll_action(now) {
            Some(Action::Connect) => return now,
            Some(Action::Wait { until })
            | Some(Action::HoldDown { until })
            | Some(Action::BounceLink { until }) => {
                assert_eq!(r.poll_deadline(), Some(until));
                // One millisecond early: still waiting.
                let before = until.wrapping_sub(1);
                if before != now {
                    assert_eq!(r.poll_action(before), Some(Action::Wait { until }));
                }
                now = until;
            }
            None => panic!("no action at {now}"),
        }
    }
    panic!("no Connect")
}

#[test]
fn defaults_are_documented_values() {
    let p = Policy::default();
    assert_eq!(p.hold_down_ms, 1000);
    assert_eq!(p.tcp_attempts_before_bounce, 3);
    assert_eq!(p.backoff_base_ms, 500);
    assert_eq!(p.backoff_cap_ms, 30_000);
    assert_eq!(p.jitter_percent, 20);
    assert_eq!(p.attempt_timeout_ms, 30_000);
    assert_eq!(p.stable_ms, 60_000);
    assert_eq!(p.validate(), Ok(()));
}

#[test]
fn first_connect_is_immediate_then_nothing_while_up() {
    let mut r = Reconnect::new(Policy::default(), 1);
    assert_eq!(r.poll_deadline(), None);
    assert_eq!(r.poll_action(77), Some(Action::Connect));
    assert!(r.is_connecting());
    // While the attempt runs, nothing new (until its time limit).
    assert_eq!(r.poll_action(100), None);
    assert_eq!(r.poll_deadline(), Some(77 + 30_000));
    r.handle_connected(120);
    assert!(r.is_up());
    assert_eq!(r.poll_action(1_000_000), None);
    assert_eq!(r.poll_deadline(), None);
    assert_eq!(r.stats().attempts, 1);
    assert_eq!(r.stats().outages, 0);
}

#[test]
fn outage_holds_down_once_then_connects() {
    let mut r = Reconnect::new(no_jitter(), 1);
    assert_eq!(r.poll_action(0), Some(Action::Connect));
    r.handle_connected(10);
    r.handle_lost(5_000, OUTAGE);
    assert_eq!(
        r.poll_action(5_000),
        Some(Action::HoldDown { until: 6_000 })
    );
    // HoldDown is said once; later polls say Wait.
    assert_eq!(r.poll_action(5_001), Some(Action::Wait { until: 6_000 }));
    // A second loss report (link error after the session's timeout) is
    // part of the same outage.
    r.handle_lost(5_002, OUTAGE);
    assert_eq!(r.poll_action(5_500), Some(Action::Wait { until: 6_000 }));
    // The clock jumps far past the end: connect at once.
    assert_eq!(r.poll_action(60_000), Some(Action::Connect));
    assert_eq!(r.stats().outages, 1);
}

#[test]
fn backoff_doubles_to_the_cap_and_resets_after_a_stable_connection() {
    let p = Policy {
        tcp_attempts_before_bounce: 0,
        backoff_base_ms: 100,
        backoff_cap_ms: 1_000,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    let mut now = connect_time(&mut r, 0);
    let mut waits = Vec::new();
    for _ in 0..7 {
        r.handle_attempt_failed(now, OUTAGE);
        let next = connect_time(&mut r, now);
        waits.push(next - now);
        now = next;
    }
    assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    assert_eq!(r.stats().bounces, 0, "0 means never bounce");
    r.handle_connected(now);
    // Connected is not enough: the count stays until the connection has
    // proved stable.
    assert_eq!(r.failures(), 7);
    // Lost after stable_ms: hold-down, then the backoff starts at base.
    let lost = now + p.stable_ms;
    r.handle_lost(lost, OUTAGE);
    assert_eq!(r.failures(), 0);
    assert_eq!(
        r.poll_action(lost),
        Some(Action::HoldDown {
            until: lost + p.hold_down_ms
        })
    );
    now = connect_time(&mut r, lost);
    r.handle_attempt_failed(now, OUTAGE);
    assert_eq!(connect_time(&mut r, now) - now, 100);
}

#[test]
fn link_bounces_after_n_failed_attempts_in_a_row() {
    let p = Policy {
        tcp_attempts_before_bounce: 3,
        hold_down_ms: 700,
        backoff_base_ms: 100,
        backoff_cap_ms: 10_000,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    let mut now = connect_time(&mut r, 0);
    r.handle_connected(now);
    r.handle_lost(1_000, OUTAGE);
    assert_eq!(
        r.poll_action(1_000),
        Some(Action::HoldDown { until: 1_700 })
    );
    now = connect_time(&mut r, 1_000);
    let mut seen = Vec::new();
    for _ in 0..7 {
        r.handle_attempt_failed(now, OUTAGE);
        let a = r.poll_action(now).expect("an action after a failure");
        seen.push(a);
        now = connect_time(&mut r, now);
    }
    // The connection lost after 1 s was not stable (one failure); then
    // attempts 1, 2 back off, 3 bounces, 4, 5 back off, 6 bounces, 7
    // backs off: the bounce counts attempts since the connection.
    let kinds: String = seen
        .iter()
        .map(|a| match a {
            Action::Wait { .. } => 'W',
            Action::BounceLink { .. } => 'B',
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, "WWBWWBW");
    assert_eq!(r.stats().bounces, 2);
    assert_eq!(r.stats().failures, 7);
    assert_eq!(r.stats().attempts, 9);
}

#[test]
fn bounce_is_held_down_at_least_hold_down_ms() {
    let p = Policy {
        tcp_attempts_before_bounce: 1,
        hold_down_ms: 2_000,
        backoff_base_ms: 100,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    let now = connect_time(&mut r, 0);
    r.handle_attempt_failed(now, OUTAGE);
    assert_eq!(
        r.poll_action(now),
        Some(Action::BounceLink { until: now + 2_000 })
    );
    assert_eq!(
        r.poll_action(now + 1_999),
        Some(Action::Wait { until: now + 2_000 })
    );
    assert_eq!(r.poll_action(now + 2_000), Some(Action::Connect));
}

#[test]
fn loss_during_an_attempt_counts_as_a_failed_attempt() {
    let p = Policy {
        backoff_base_ms: 250,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    assert_eq!(r.poll_action(0), Some(Action::Connect));
    // The session's CONNACK timer fired: ConnectionLost before Connected.
    r.handle_lost(10_000, OUTAGE);
    assert_eq!(r.stats().outages, 0);
    assert_eq!(r.poll_action(10_000), Some(Action::Wait { until: 10_250 }));
    assert_eq!(r.failures(), 1);
}

#[test]
fn an_attempt_never_reported_times_out() {
    let p = Policy {
        attempt_timeout_ms: 5_000,
        backoff_base_ms: 100,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    assert_eq!(r.poll_action(0), Some(Action::Connect));
    assert_eq!(r.poll_action(4_999), None);
    assert_eq!(r.poll_deadline(), Some(5_000));
    assert_eq!(r.poll_action(5_000), Some(Action::Wait { until: 5_100 }));
    assert_eq!(r.stats().failures, 1);
    // 0 disables the limit.
    let mut r = Reconnect::new(
        Policy {
            attempt_timeout_ms: 0,
            ..p
        },
        1,
    );
    assert_eq!(r.poll_action(0), Some(Action::Connect));
    assert_eq!(r.poll_action(u32::MAX / 4), None);
    assert_eq!(r.poll_deadline(), None);
}

#[test]
fn jitter_stays_within_bounds_and_spreads() {
    let p = Policy {
        tcp_attempts_before_bounce: 0,
        backoff_base_ms: 1_000,
        backoff_cap_ms: 1_000,
        jitter_percent: 30,
        ..Policy::default()
    };
    let mut waits = std::collections::BTreeSet::new();
    for seed in 0..200u32 {
        let mut r = Reconnect::new(p, seed);
        let mut now = connect_time(&mut r, 0);
        for _ in 0..5 {
            r.handle_attempt_failed(now, OUTAGE);
            let next = connect_time(&mut r, now);
            let w = next - now;
            assert!((700..=1_000).contains(&w), "wait {w} outside 700..=1000");
            waits.insert(w);
            now = next;
        }
    }
    // 1000 waits drawn from 301 values: a fixed or barely varying wait
    // would fail this.
    assert!(waits.len() > 150, "only {} distinct waits", waits.len());
    assert!(*waits.first().unwrap() < 720 && *waits.last().unwrap() > 980);
}

#[test]
fn same_seed_same_waits_different_seed_different_waits() {
    let run = |seed| {
        let mut r = Reconnect::new(Policy::default(), seed);
        let mut now = connect_time(&mut r, 0);
        let mut v = Vec::new();
        for _ in 0..6 {
            r.handle_attempt_failed(now, OUTAGE);
            let next = connect_time(&mut r, now);
            v.push(next - now);
            now = next;
        }
        v
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn deadlines_work_across_the_wrap() {
    let mut r = Reconnect::new(no_jitter(), 9);
    let start = u32::MAX - 300;
    assert_eq!(r.poll_action(start), Some(Action::Connect));
    r.handle_connected(start);
    r.handle_lost(start, OUTAGE);
    let until = start.wrapping_add(1_000);
    assert!(until < start, "the hold-down ends after the wrap");
    assert_eq!(r.poll_action(start), Some(Action::HoldDown { until }));
    // Just after the wrap, still before the end.
    assert_eq!(r.poll_action(100), Some(Action::Wait { until }));
    assert_eq!(r.poll_action(until), Some(Action::Connect));
}

#[test]
fn invalid_policies_are_refused_or_clamped() {
    let bad_jitter = Policy {
        jitter_percent: 101,
        ..Policy::default()
    };
    assert_eq!(bad_jitter.validate(), Err(PolicyError::Jitter));
    let bad_cap = Policy {
        backoff_base_ms: 10,
        backoff_cap_ms: 5,
        ..Policy::default()
    };
    assert_eq!(bad_cap.validate(), Err(PolicyError::Cap));
    let too_long = Policy {
        hold_down_ms: u32::MAX,
        ..Policy::default()
    };
    assert_eq!(too_long.validate(), Err(PolicyError::TooLong));
    // Clamped by new: waits stay within the documented bounds.
    let mut r = Reconnect::new(
        Policy {
            backoff_base_ms: 10,
            backoff_cap_ms: 5,
            jitter_percent: 255,
            ..Policy::default()
        },
        3,
    );
    assert_eq!(r.policy().jitter_percent, 100);
    assert_eq!(r.policy().backoff_base_ms, 5);
    let now = connect_time(&mut r, 0);
    r.handle_attempt_failed(now, OUTAGE);
    let next = connect_time(&mut r, now);
    assert!(next - now <= 5);
}

#[test]
fn backoff_ms_saturates() {
    let p = Policy {
        backoff_base_ms: 3,
        backoff_cap_ms: 1 << 30,
        ..Policy::default()
    };
    assert_eq!(p.backoff_ms(0), 3);
    assert_eq!(p.backoff_ms(1), 3);
    assert_eq!(p.backoff_ms(2), 6);
    assert_eq!(p.backoff_ms(1_000), 1 << 30);
}

#[test]
fn planned_reconnection_skips_the_hold_down() {
    let mut r = Reconnect::new(no_jitter(), 1);
    assert_eq!(r.poll_action(0), Some(Action::Connect));
    r.handle_connected(10);
    // The session closed a working link on purpose: connect again at once.
    r.handle_lost(20, Cause::Planned);
    assert_eq!(r.poll_action(20), Some(Action::Connect));
    let s = r.stats();
    assert_eq!((s.planned, s.outages), (1, 0));
    // A planned close during an attempt is a failed attempt, as a loss is.
    r.handle_lost(25, Cause::Planned);
    assert_eq!(r.failures(), 1);
    assert!(matches!(r.poll_action(25), Some(Action::Wait { .. })));
    // A real outage still holds the link down.
    r.handle_connected(3_000);
    r.handle_lost(3_000, OUTAGE);
    assert_eq!(
        r.poll_action(3_000),
        Some(Action::HoldDown {
            until: 3_000 + Policy::default().hold_down_ms
        })
    );
}

/// Connect, then lose the connection `up_ms` later with `cause`, `n` times,
/// from `*clock` on; the waits from each loss to the next attempt.
fn flap_at(r: &mut Reconnect, clock: &mut u32, n: usize, up_ms: u32, cause: Cause) -> Vec<u32> {
    let mut now = if r.is_connecting() {
        *clock
    } else {
        connect_time(r, *clock)
    };
    let mut waits = Vec::new();
    for _ in 0..n {
        r.handle_connected(now);
        assert_eq!(r.poll_action(now), None);
        let lost = now + up_ms;
        r.handle_lost(lost, cause);
        assert!(
            matches!(r.poll_action(lost), Some(Action::HoldDown { .. })),
            "every loss of a connection holds the link down"
        );
        now = connect_time(r, lost);
        waits.push(now - lost);
    }
    *clock = now;
    waits
}

/// [`flap_at`] from tick 0.
fn flap(r: &mut Reconnect, n: usize, up_ms: u32, cause: Cause) -> Vec<u32> {
    flap_at(r, &mut 0, n, up_ms, cause)
}

#[test]
fn connections_lost_right_after_connack_back_off_to_the_cap() {
    // Defect 2: a broker that accepts and drops every connection at once
    // (or another device with our client id) was retried after the same
    // 1 s hold-down forever: 30 connections in 30 s.
    let p = no_jitter();
    let waits = flap(&mut Reconnect::new(p, 1), 30, 5, OUTAGE);
    assert_eq!(
        waits[..8],
        [1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
    );
    assert!(waits[6..].iter().all(|&w| w == p.backoff_cap_ms));
    // 30 such connections now take more than 11 minutes, not 30 s.
    assert!(waits.iter().sum::<u32>() > 11 * 60_000);

    // With jitter: each wait within its bounds, never below the hold-down,
    // and the sequence grows (within the jitter) until it is at the cap.
    let p = Policy::default();
    for seed in 1..50 {
        let mut r = Reconnect::new(p, seed);
        let waits = flap(&mut r, 30, 5, OUTAGE);
        for (i, &w) in waits.iter().enumerate() {
            let full = p.backoff_ms(i as u32 + 1).max(p.hold_down_ms);
            let low = (p.backoff_ms(i as u32 + 1) * 4 / 5).max(p.hold_down_ms);
            assert!(
                (low..=full).contains(&w),
                "wait {i}: {w} not in {low}..={full}"
            );
        }
        assert!(waits[10..].iter().all(|&w| w >= p.backoff_cap_ms * 4 / 5));
        let s = r.stats();
        assert_eq!((s.outages, s.unstable, s.failures), (30, 30, 0));
        assert_eq!(r.failures(), 30);
    }
}

#[test]
fn a_connection_that_stayed_up_resets_the_backoff() {
    let p = Policy {
        stable_ms: 2_000,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    let t = &mut 0;
    let waits = flap_at(&mut r, t, 5, 10, OUTAGE);
    assert_eq!(waits, [1_000, 1_000, 2_000, 4_000, 8_000]);
    // Up for 1999 ms: not yet stable, the backoff grows on.
    assert_eq!(flap_at(&mut r, t, 1, 1_999, OUTAGE), [16_000]);
    // Up for 2000 ms: stable; the loss is a plain outage.
    assert_eq!(flap_at(&mut r, t, 1, 2_000, OUTAGE), [1_000]);
    assert_eq!(r.failures(), 0);
    // And the next short ones start from the bottom again.
    assert_eq!(flap_at(&mut r, t, 3, 10, OUTAGE), [1_000, 1_000, 2_000]);
    assert_eq!(r.stats().unstable, 9);
    // 0: every connection is stable (the behaviour before stable_ms).
    let mut r = Reconnect::new(
        Policy {
            stable_ms: 0,
            ..no_jitter()
        },
        1,
    );
    assert_eq!(flap(&mut r, 5, 1, OUTAGE), [1_000; 5]);
}

#[test]
fn a_connection_seen_stable_stays_stable_across_the_tick_wrap() {
    let p = Policy {
        stable_ms: 1_000,
        ..no_jitter()
    };
    let mut r = Reconnect::new(p, 1);
    let t = &mut 0;
    flap_at(&mut r, t, 4, 1, OUTAGE);
    assert_eq!(r.failures(), 4);
    let now = *t;
    r.handle_connected(now);
    // The application polls while connected: the connection is seen up
    // for stable_ms...
    assert_eq!(r.poll_action(now + 1_500), None);
    // ... so a loss 2^32 + 10 ms after it connected, which the wrapping
    // tick shows as 10 ms, is that of a stable connection.
    let lost = now.wrapping_add(10);
    r.handle_lost(lost, OUTAGE);
    assert_eq!(r.failures(), 0);
    assert_eq!(
        r.poll_action(lost),
        Some(Action::HoldDown {
            until: lost + 1_000
        })
    );
}

/// DISCONNECT reason codes by which a 5.0 broker asks to come back later.
const BACK_OFF_DISCONNECTS: [u8; 7] = [0x89, 0x8E, 0x96, 0x97, 0x98, 0x9C, 0x9F];

#[test]
fn each_back_off_disconnect_grows_the_backoff_whatever_the_uptime() {
    for code in BACK_OFF_DISCONNECTS {
        let why = LostReason::ServerDisconnect(ReasonCode(code));
        assert_eq!(Cause::of(&why), Cause::BackOff, "{why}");
        // Connections that each stayed up far longer than stable_ms, each
        // ended by this DISCONNECT: the waits still grow to the cap.
        let p = no_jitter();
        let mut r = Reconnect::new(p, 1);
        let waits = flap(&mut r, 9, 10 * p.stable_ms, Cause::of(&why));
        assert_eq!(
            waits,
            [1_000, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000],
            "{why}"
        );
        let s = r.stats();
        assert_eq!((s.back_offs, s.unstable, s.outages), (9, 0, 9), "{why}");
    }
}

#[test]
fn other_disconnects_are_outages_and_server_moved_is_permanent() {
    // Normal, unspecified, a packet of ours refused, shutting down, keep
    // alive timeout, maximum connect time, ...: the uptime decides.
    for code in [
        0x00, 0x80, 0x81, 0x82, 0x83, 0x87, 0x8B, 0x8D, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x99, 0x9A,
        0x9B, 0x9E, 0xA0, 0xA1, 0xA2,
    ] {
        let why = LostReason::ServerDisconnect(ReasonCode(code));
        assert_eq!(Cause::of(&why), Cause::Outage, "{why}");
    }
    let moved = LostReason::ServerDisconnect(ReasonCode::SERVER_MOVED);
    assert_eq!(Cause::of(&moved), Cause::Permanent);
    // A stable connection ended by "server moved": the next try after the
    // cap, not after the hold-down.
    let p = no_jitter();
    let waits = flap(
        &mut Reconnect::new(p, 1),
        2,
        2 * p.stable_ms,
        Cause::of(&moved),
    );
    assert_eq!(waits, [p.backoff_cap_ms; 2]);
    // A stable connection ended by an ordinary DISCONNECT: hold-down only.
    let normal = LostReason::ServerDisconnect(ReasonCode::SUCCESS);
    let waits = flap(
        &mut Reconnect::new(p, 1),
        3,
        2 * p.stable_ms,
        Cause::of(&normal),
    );
    assert_eq!(waits, [p.hold_down_ms; 3]);
}

#[test]
fn a_v311_broker_disconnect_is_an_outage_like_a_normal_disconnection() {
    use mqttas::wire::DecodeError;
    // 3.1.1 defines no DISCONNECT from the server; the session reports one
    // as a protocol error. The policy reads it as 5.0's normal
    // disconnection (whose waits the test above checks): the uptime
    // decides, so a broker that sends it right after every CONNACK is
    // retried ever more slowly, and one that sends it after a stable
    // connection gets the hold-down only.
    let v311 = LostReason::Protocol(DecodeError::UnexpectedPacket(14));
    let normal = LostReason::ServerDisconnect(ReasonCode::SUCCESS);
    assert_eq!(Cause::of(&v311), Cause::of(&normal));
    assert_eq!(Cause::of(&v311), Cause::Outage);
}

/// CONNACK refusals that retrying does not cure.
const PERMANENT_311: [u8; 4] = [1, 2, 4, 5];
const PERMANENT_5: [u8; 15] = [
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C, 0x90, 0x95, 0x99, 0x9A, 0x9B, 0x9D,
];
/// CONNACK refusals that are worth another try soon.
const TRANSIENT_5: [u8; 6] = [0x80, 0x88, 0x89, 0x97, 0x9C, 0x9F];

/// A machine that had a connection, lost it at once, and now fails every
/// attempt with `cause`: the waits between the attempts.
fn refused(p: Policy, n: usize, cause: Cause) -> (Vec<u32>, Reconnect) {
    let mut r = Reconnect::new(p, 7);
    let mut now = connect_time(&mut r, 0);
    r.handle_connected(now);
    r.handle_lost(now + 5 * p.stable_ms, OUTAGE);
    now = connect_time(&mut r, now + 5 * p.stable_ms);
    let mut waits = Vec::new();
    for _ in 0..n {
        r.handle_attempt_failed(now, cause);
        let next = connect_time(&mut r, now);
        waits.push(next - now);
        now = next;
    }
    (waits, r)
}

#[test]
fn each_permanent_refusal_is_retried_only_at_the_cap() {
    // Defect 3: refusals such as "not authorised" were retried with the
    // ordinary backoff (500 ms, 1 s, 2 s, ...) for ever.
    let mut all = Vec::new();
    for code in PERMANENT_311 {
        all.push(LostReason::Refused(Version::V311, ReasonCode(code)));
    }
    for code in PERMANENT_5 {
        all.push(LostReason::Refused(Version::V5, ReasonCode(code)));
    }
    let p = Policy {
        tcp_attempts_before_bounce: 1,
        ..no_jitter()
    };
    for why in all {
        assert_eq!(Cause::of(&why), Cause::Permanent, "{why}");
        let (waits, r) = refused(p, 4, Cause::of(&why));
        // Every wait is the longest one; and a refusal came over a link
        // that works: no bounce, even with a bounce after each failure.
        assert_eq!(waits, [p.backoff_cap_ms; 4], "{why}");
        let s = r.stats();
        assert_eq!((s.permanent, s.bounces, s.failures), (4, 0, 4), "{why}");
    }
    // With jitter the wait is the cap less up to jitter_percent.
    let p = Policy::default();
    let (waits, _) = refused(p, 20, Cause::Permanent);
    assert!(
        waits.iter().all(|&w| (24_000..=30_000).contains(&w)),
        "{waits:?}"
    );
}

#[test]
fn transient_refusals_back_off_as_usual_without_bouncing_the_link() {
    let mut all = vec![LostReason::Refused(Version::V311, ReasonCode(3))];
    for code in TRANSIENT_5 {
        all.push(LostReason::Refused(Version::V5, ReasonCode(code)));
    }
    // Codes no version defines are taken as transient.
    all.push(LostReason::Refused(Version::V5, ReasonCode(0xF0)));
    all.push(LostReason::Refused(Version::V311, ReasonCode(9)));
    let p = Policy {
        tcp_attempts_before_bounce: 2,
        ..no_jitter()
    };
    for why in all {
        assert_eq!(Cause::of(&why), Cause::BackOff, "{why}");
        let (waits, r) = refused(p, 6, Cause::of(&why));
        // The stable connection before reset the count: the attempts
        // back off from the base.
        assert_eq!(waits, [500, 1_000, 2_000, 4_000, 8_000, 16_000], "{why}");
        assert_eq!(r.stats().bounces, 0, "{why}");
        assert_eq!(r.stats().back_offs, 6, "{why}");
    }
    // The same attempts failing without an answer bounce the link.
    let (_, r) = refused(p, 6, OUTAGE);
    assert_eq!(r.stats().bounces, 3);
}

#[test]
fn other_losses_are_outages_and_the_planned_close_reconnects_at_once() {
    for why in [
        LostReason::LinkDown,
        LostReason::Timeout(Awaited::ConnAck),
        LostReason::Timeout(Awaited::PingResp),
        LostReason::Protocol(DecodeError::MalformedVarInt),
        LostReason::AliasTableFull,
    ] {
        assert_eq!(Cause::of(&why), Cause::Outage, "{why}");
    }
    assert_eq!(
        Cause::of(&LostReason::ReceiveMaximumExceeded),
        Cause::Planned
    );
    for c in [
        Cause::Outage,
        Cause::BackOff,
        Cause::Permanent,
        Cause::Planned,
    ] {
        assert!(!c.to_string().is_empty());
    }
    assert_eq!(Cause::Permanent.to_string(), "permanent refusal");
}
