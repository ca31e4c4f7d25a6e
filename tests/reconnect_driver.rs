//! The TCP driver following the outage policy (`TcpDriver::keep_connected`)
//! against a real mosquitto: hold-down after a loss, reconnection, backoff,
//! link bounce after N failed attempts, stored QoS 1 messages sent again.

mod common;

use std::time::{Duration, Instant};

use common::{Mosquitto, Options};
use mqttas::driver::{Storage, TcpDriver};
use mqttas::reconnect::{Action, Policy};
use mqttas::session::ConnectOptions;
use mqttas::{Client, Config, Event, QoS};

/// What the loop saw, with when.
#[derive(Debug, Default)]
struct Log {
    actions: Vec<(Instant, Action)>,
    connected: Vec<Instant>,
    lost: Vec<(Instant, String)>,
    published: usize,
}

/// Drive `d` with `keep_connected` until `done(log)` or `limit`.
fn drive(
    d: &mut TcpDriver<'_>,
    opts: &ConnectOptions<'_>,
    log: &mut Log,
    limit: Duration,
    mut done: impl FnMut(&Log) -> bool,
) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if let Some(a) = d.keep_connected(opts).expect("keep_connected") {
            log.actions.push((Instant::now(), a));
        }
        d.poll_once(Duration::from_millis(20), |e| {
            match e {
                Event::Connected { .. } => log.connected.push(Instant::now()),
                Event::ConnectionLost(r) => log.lost.push((Instant::now(), r.to_string())),
                Event::Published { .. } => log.published += 1,
                _ => {}
            }
            false
        });
        if done(log) {
            return true;
        }
    }
    false
}

fn config() -> Config {
    Config {
        keep_alive: 1,
        response_time_ms: 600,
        clean_init: false,
        clean: false,
        ..Config::default()
    }
}

#[test]
fn holds_down_then_reconnects_after_a_broker_restart_and_resends() {
    let mut broker = Mosquitto::start(Options::persistent());
    let mut storage = Storage::default();
    let client = Client::new(config(), storage.buffers()).unwrap();
    let mut d = TcpDriver::new(client);
    let policy = Policy {
        hold_down_ms: 400,
        tcp_attempts_before_bounce: 0,
        backoff_base_ms: 100,
        backoff_cap_ms: 300,
        jitter_percent: 0,
        ..Policy::default()
    };
    d.set_reconnect_policy(policy, 7);
    d.set_broker(broker.addr()).unwrap();
    let opts = ConnectOptions {
        client_id: "reconnect-restart",
        ..Default::default()
    };
    let mut log = Log::default();
    assert!(drive(
        &mut d,
        &opts,
        &mut log,
        Duration::from_secs(5),
        |l| !l.connected.is_empty()
    ));
    assert_eq!(log.actions.first().map(|a| a.1), Some(Action::Connect));

    broker.stop();
    assert!(
        drive(&mut d, &opts, &mut log, Duration::from_secs(5), |l| !l
            .lost
            .is_empty()),
        "the loss was not reported"
    );
    // Published while down: stored, sent after the reconnection.
    d.publish("reconnect/q1", b"kept", QoS::AtLeastOnce, false, &[])
        .expect("QoS 1 publish while down is stored");
    // Down for 1.5 s: the hold-down, then failed attempts backing off.
    drive(&mut d, &opts, &mut log, Duration::from_millis(1500), |_| {
        false
    });
    let lost_at = log.lost[0].0;
    let held: Vec<_> = log
        .actions
        .iter()
        .filter(|(t, a)| *t >= lost_at && matches!(a, Action::HoldDown { .. }))
        .collect();
    assert_eq!(held.len(), 1, "one HoldDown per outage: {:?}", log.actions);
    let first_attempt = log
        .actions
        .iter()
        .find(|(t, a)| *t > lost_at && *a == Action::Connect)
        .expect("an attempt while the broker is down")
        .0;
    let held_for = first_attempt - lost_at;
    assert!(
        held_for >= Duration::from_millis(390),
        "reconnected after {held_for:?}, before the 400 ms hold-down ended"
    );
    let r = d.reconnect_state().unwrap();
    assert!(r.stats().failures >= 2, "{:?}", r.stats());
    assert_eq!(r.stats().outages, 1);

    broker.restart();
    let restarted = Instant::now();
    let connects = log.connected.len();
    assert!(
        drive(&mut d, &opts, &mut log, Duration::from_secs(5), |l| {
            l.connected.len() > connects && l.published > 0
        }),
        "not reconnected, or the stored message not acknowledged: {log:?}"
    );
    // Backoff capped at 300 ms: back within cap + connection time.
    let back = *log.connected.last().unwrap() - restarted;
    assert!(
        back < Duration::from_millis(1500),
        "reconnected {back:?} after the restart"
    );
    assert!(d.reconnect_state().unwrap().is_up());
}

#[test]
fn frozen_broker_is_detected_and_the_link_bounces_after_n_failures() {
    let broker = Mosquitto::start(Options::default());
    let mut storage = Storage::default();
    let client = Client::new(config(), storage.buffers()).unwrap();
    let mut d = TcpDriver::new(client);
    let policy = Policy {
        hold_down_ms: 200,
        tcp_attempts_before_bounce: 2,
        backoff_base_ms: 100,
        backoff_cap_ms: 200,
        jitter_percent: 10,
        ..Policy::default()
    };
    d.set_reconnect_policy(policy, 99);
    d.set_broker(broker.addr()).unwrap();
    let opts = ConnectOptions {
        client_id: "reconnect-frozen",
        ..Default::default()
    };
    let mut log = Log::default();
    assert!(drive(
        &mut d,
        &opts,
        &mut log,
        Duration::from_secs(5),
        |l| !l.connected.is_empty()
    ));

    // SIGSTOP: the socket stays open, nothing is answered. The session's
    // ping goes unanswered; attempts connect (the kernel accepts) but get
    // no CONNACK; after 2 of them the link is bounced.
    broker.freeze();
    let frozen = Instant::now();
    let bounced = drive(&mut d, &opts, &mut log, Duration::from_secs(8), |l| {
        l.actions
            .iter()
            .any(|(_, a)| matches!(a, Action::BounceLink { .. }))
    });
    broker.thaw();
    assert!(bounced, "no link bounce: {log:?}");
    let first_loss = &log.lost[0];
    assert!(first_loss.1.contains("PingResp"), "lost: {}", first_loss.1);
    assert!(
        first_loss.0 - frozen < Duration::from_millis(1500),
        "outage detected only after {:?}",
        first_loss.0 - frozen
    );
    let timeouts = log
        .lost
        .iter()
        .filter(|(_, why)| why.contains("ConnAck"))
        .count();
    assert!(
        timeouts >= 2,
        "attempts not failed by CONNACK timeouts: {:?}",
        log.lost
    );
    let connects = log.connected.len();
    assert!(
        drive(&mut d, &opts, &mut log, Duration::from_secs(6), |l| l
            .connected
            .len()
            > connects),
        "not reconnected after the thaw"
    );
    let s = d.reconnect_state().unwrap().stats();
    assert_eq!(s.outages, 1);
    assert!(s.bounces >= 1 && s.failures >= 2, "{s:?}");
}
