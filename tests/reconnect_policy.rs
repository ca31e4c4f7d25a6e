//! The outage policy (src/reconnect.rs) with a jumping clock: hold-down,
//! backoff doubling to the cap, jitter bounds, link bounce after N failures,
//! attempt time limit, reset on connection, wrap-around of the ticks.

use mqttas::reconnect::{Action, Policy, PolicyError, Reconnect};

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
    r.handle_lost(5_000);
    assert_eq!(
        r.poll_action(5_000),
        Some(Action::HoldDown { until: 6_000 })
    );
    // HoldDown is said once; later polls say Wait.
    assert_eq!(r.poll_action(5_001), Some(Action::Wait { until: 6_000 }));
    // A second loss report (link error after the session's timeout) is
    // part of the same outage.
    r.handle_lost(5_002);
    assert_eq!(r.poll_action(5_500), Some(Action::Wait { until: 6_000 }));
    // The clock jumps far past the end: connect at once.
    assert_eq!(r.poll_action(60_000), Some(Action::Connect));
    assert_eq!(r.stats().outages, 1);
}

#[test]
fn backoff_doubles_to_the_cap_and_resets_on_connect() {
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
        r.handle_attempt_failed(now);
        let next = connect_time(&mut r, now);
        waits.push(next - now);
        now = next;
    }
    assert_eq!(waits, [100, 200, 400, 800, 1_000, 1_000, 1_000]);
    assert_eq!(r.stats().bounces, 0, "0 means never bounce");
    r.handle_connected(now);
    assert_eq!(r.failures(), 0);
    // After the next outage: hold-down, then the backoff starts at base.
    r.handle_lost(now + 10);
    now = connect_time(&mut r, now + 10);
    r.handle_attempt_failed(now);
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
    r.handle_lost(1_000);
    assert_eq!(
        r.poll_action(1_000),
        Some(Action::HoldDown { until: 1_700 })
    );
    now = connect_time(&mut r, 1_000);
    let mut seen = Vec::new();
    for _ in 0..7 {
        r.handle_attempt_failed(now);
        let a = r.poll_action(now).expect("an action after a failure");
        seen.push(a);
        now = connect_time(&mut r, now);
    }
    // Failures 1, 2: backoff 100, 200; 3: bounce, held down max(400, 700);
    // 4, 5: 800, 1600; 6: bounce, max(3200, 700); 7: 6400.
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
    r.handle_attempt_failed(now);
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
    r.handle_lost(10_000);
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
            r.handle_attempt_failed(now);
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
            r.handle_attempt_failed(now);
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
    r.handle_lost(start);
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
    r.handle_attempt_failed(now);
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
    r.handle_planned(20);
    assert_eq!(r.poll_action(20), Some(Action::Connect));
    let s = r.stats();
    assert_eq!((s.planned, s.outages), (1, 0));
    // A planned close during an attempt is a failed attempt, as a loss is.
    r.handle_planned(25);
    assert_eq!(r.failures(), 1);
    assert!(matches!(r.poll_action(25), Some(Action::Wait { .. })));
    // A real outage still holds the link down.
    r.handle_connected(3_000);
    r.handle_lost(3_000);
    assert_eq!(
        r.poll_action(3_000),
        Some(Action::HoldDown {
            until: 3_000 + Policy::default().hold_down_ms
        })
    );
}
