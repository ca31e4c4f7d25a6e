//! The TCP driver following the outage policy (`TcpDriver::keep_connected`)
//! against a real mosquitto: hold-down after a loss, reconnection, backoff,
//! link bounce after N failed attempts, stored QoS 1 messages sent again;
//! and against a fake broker on 127.0.0.1 that drops every connection
//! after CONNACK, asks to back off, or refuses for good: the intervals
//! between connections grow.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{Mosquitto, Options};
use mqttas::driver::{Storage, TcpDriver};
use mqttas::reconnect::{Action, Policy, Stats};
use mqttas::session::ConnectOptions;
use mqttas::{Client, Config, Event, QoS, Version};

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

/// A fake broker on 127.0.0.1: it reads each connection's CONNECT, then
/// `answer(n, stream)` does what the test wants with connection `n` (from
/// 0); it records when each connection came.
struct FakeBroker {
    addr: String,
    came: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeBroker {
    fn start(answer: impl Fn(usize, &mut TcpStream) + Send + 'static) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let came = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, st) = (came.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::SeqCst) {
                let mut stream = match listener.accept() {
                    Ok((s, _)) => s,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                };
                let n = {
                    let mut c = c.lock().unwrap();
                    c.push(Instant::now());
                    c.len() - 1
                };
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(2)))
                    .unwrap();
                if read_packet(&mut stream).is_some_and(|first| first == 0x10) {
                    answer(n, &mut stream);
                }
                let _ = stream.shutdown(Shutdown::Both);
            }
        });
        FakeBroker {
            addr,
            came,
            stop,
            thread: Some(thread),
        }
    }

    /// The intervals between the connections so far, in ms.
    fn intervals(&self) -> Vec<u64> {
        let c = self.came.lock().unwrap();
        c.windows(2)
            .map(|w| (w[1] - w[0]).as_millis() as u64)
            .collect()
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Read one MQTT packet; its first byte.
fn read_packet(s: &mut TcpStream) -> Option<u8> {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).ok()?;
    let first = b[0];
    let (mut len, mut shift) = (0usize, 0);
    loop {
        s.read_exact(&mut b).ok()?;
        len |= usize::from(b[0] & 0x7f) << shift;
        shift += 7;
        if b[0] & 0x80 == 0 || shift > 21 {
            break;
        }
    }
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).ok()?;
    Some(first)
}

const CONNACK_311_OK: [u8; 4] = [0x20, 2, 0, 0];
const CONNACK_311_NOT_AUTHORISED: [u8; 4] = [0x20, 2, 0, 5];
const CONNACK_5_OK: [u8; 5] = [0x20, 3, 0, 0, 0];
const DISCONNECT_5_SERVER_BUSY: [u8; 4] = [0xE0, 2, 0x89, 0];

/// A client for `version` named `id` kept connected to `b` by the driver
/// following `policy` for `time`: what it saw and the policy's counters.
fn run_against(
    b: &FakeBroker,
    version: Version,
    policy: Policy,
    id: &str,
    time: Duration,
) -> (Log, Stats) {
    let (log, stats, _) = run_against_until(b, version, policy, id, time, |_| false);
    (log, stats)
}

/// [`run_against`] until `done(log)` too; also why the driver closed the
/// last link ([`TcpDriver::link_end`]).
fn run_against_until(
    b: &FakeBroker,
    version: Version,
    policy: Policy,
    id: &str,
    time: Duration,
    done: impl FnMut(&Log) -> bool,
) -> (Log, Stats, Option<String>) {
    let config = Config {
        version,
        keep_alive: 30,
        response_time_ms: 1_000,
        ..Config::default()
    };
    let mut storage = Storage::default();
    let client = Client::new(config, storage.buffers()).unwrap();
    let mut d = TcpDriver::new(client);
    d.set_broker(b.addr.as_str()).unwrap();
    d.set_reconnect_policy(policy, 3);
    let opts = ConnectOptions {
        client_id: id,
        ..Default::default()
    };
    let mut log = Log::default();
    drive(&mut d, &opts, &mut log, time, done);
    let end = d.link_end().map(|e| e.to_string());
    (log, d.reconnect_state().unwrap().stats(), end)
}

/// Small policy values so that the growth shows within seconds.
fn quick_policy() -> Policy {
    Policy {
        hold_down_ms: 100,
        tcp_attempts_before_bounce: 0,
        backoff_base_ms: 100,
        backoff_cap_ms: 800,
        jitter_percent: 0,
        ..Policy::default()
    }
}

/// True when each interval is at least `fixed` plus the policy's doubling
/// backoff (`quick_policy`: 100 ms doubling to 800 ms, no jitter), less
/// 20 ms of clock granularity. Only lower bounds: a loaded machine makes
/// intervals longer, never shorter, so this holds however busy it is.
fn backs_off(v: &[u64], fixed: u64) -> bool {
    v.iter()
        .enumerate()
        .all(|(k, &i)| i + 20 >= fixed + (100u64 << k.min(3)))
}

#[test]
fn a_broker_that_drops_each_connection_after_connack_is_retried_ever_more_slowly() {
    // Defect 2: the hold-down after every loss, the backoff reset by every
    // CONNACK: one connection per hold-down, for ever.
    let b = FakeBroker::start(|_, s| {
        let _ = s.write_all(&CONNACK_311_OK);
    });
    let (_, s) = run_against(
        &b,
        Version::V311,
        quick_policy(),
        "drop-after-connack",
        Duration::from_secs(4),
    );
    let iv = b.intervals();
    // Waits 100, 200, 400, 800, 800, ...: about 8 connections in 4 s (a
    // hold-down each time would make 30 or more).
    assert!(
        iv.len() <= 10,
        "{} connections in 4 s: {iv:?}",
        iv.len() + 1
    );
    assert!(iv.len() >= 5, "too few connections to judge: {iv:?}");
    assert!(backs_off(&iv, 0), "intervals below the backoff: {iv:?}");
    assert!(s.unstable as usize >= iv.len() - 1, "{s:?}");
}

#[test]
fn a_server_busy_disconnect_backs_off_even_after_a_stable_connection() {
    // Each connection stays up 400 ms, longer than stable_ms, then the
    // broker says "server busy" (0x89): that is a request to back off, not
    // an outage after which the backoff starts over.
    let b = FakeBroker::start(|_, s| {
        let _ = s.write_all(&CONNACK_5_OK);
        std::thread::sleep(Duration::from_millis(400));
        let _ = s.write_all(&DISCONNECT_5_SERVER_BUSY);
    });
    let policy = Policy {
        stable_ms: 200,
        ..quick_policy()
    };
    let (log, s) = run_against(
        &b,
        Version::V5,
        policy,
        "server-busy",
        Duration::from_secs(6),
    );
    let iv = b.intervals();
    assert!(
        log.lost.iter().all(|(_, why)| why.contains("server busy")),
        "{:?}",
        log.lost
    );
    // Up 400 ms, then waits 100, 200, 400, 800, 800: intervals 500, 600,
    // 800, 1200, 1200 (always 500 if the uptime reset the backoff).
    assert!(iv.len() >= 4, "too few connections to judge: {iv:?}");
    assert!(backs_off(&iv, 400), "intervals below the backoff: {iv:?}");
    assert!(s.back_offs >= 4 && s.unstable == 0, "{s:?}");
}

#[test]
fn a_permanent_refusal_after_a_good_session_is_retried_at_the_cap() {
    // Defect 3: after a first good session the broker says "not
    // authorised" (CONNACK 5) to every attempt: retried at the longest
    // interval, not with the ordinary backoff from 100 ms.
    let b = FakeBroker::start(|n, s| {
        if n == 0 {
            let _ = s.write_all(&CONNACK_311_OK);
            std::thread::sleep(Duration::from_millis(300));
        } else {
            let _ = s.write_all(&CONNACK_311_NOT_AUTHORISED);
        }
    });
    let policy = Policy {
        backoff_cap_ms: 1_000,
        ..quick_policy()
    };
    let (log, s) = run_against(
        &b,
        Version::V311,
        policy,
        "refused-later",
        Duration::from_millis(4_500),
    );
    let iv = b.intervals();
    assert!(
        log.lost[1..]
            .iter()
            .all(|(_, why)| why.contains("not authorised (CONNACK 5)")),
        "{:?}",
        log.lost
    );
    // The first good session, then attempts 1 s apart (the cap): 0.4,
    // 1.4, 2.4, 3.4 s.
    assert!(iv.len() >= 3, "too few attempts to judge: {iv:?}");
    assert!(
        iv[1..].iter().all(|&i| i >= 950),
        "refusals retried before the cap: {iv:?}"
    );
    assert!(s.permanent as usize >= iv.len() - 1, "{s:?}");
}

#[test]
fn the_driver_tells_a_broker_close_from_its_own() {
    // The broker reads CONNECT and closes: the client hears "link down",
    // the driver knows the broker closed it (hostile suite N1).
    let b = FakeBroker::start(|_, _| {});
    let (log, _, end) = run_against_until(
        &b,
        Version::V311,
        quick_policy(),
        "closed-by-broker",
        Duration::from_secs(5),
        |l| !l.lost.is_empty(),
    );
    assert_eq!(log.lost[0].1, "link down");
    assert_eq!(end.as_deref(), Some("the broker closed the connection"));
}

#[test]
fn the_rust_client_says_the_broker_closed_the_connection() {
    // What mqttas-client prints when the broker closes right after CONNECT
    // (as the C client and mqtt_as say), not just "link down".
    let b = FakeBroker::start(|_, _| {});
    let port = b.addr.rsplit(':').next().unwrap().to_string();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mqttas-client"))
        .args([
            "-m", "sub", "-p", &port, "-H", "100", "-b", "100", "-X", "200",
        ])
        .args(["-B", "0", "-j", "0", "-T", "2"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    child.wait().unwrap();
    let lost: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("connection lost"))
        .collect();
    assert!(!lost.is_empty(), "{err}");
    assert!(
        lost.iter()
            .all(|l| l.ends_with("connection lost: link down: the broker closed the connection")),
        "{err}"
    );
}
