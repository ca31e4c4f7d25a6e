//! Keepalive over hours of simulated time: ping interval, the
//! "nothing received or nothing sent" rule, PINGRESP timeout, server keep
//! alive, and the clock wrapping through zero.

#[path = "sim/mod.rs"]
mod sim;

use mqttas::session::{Awaited, LostReason, State};
use mqttas::time::Tick;
use mqttas::wire::{PacketType, Property, QoS};
use mqttas::Config;
use sim::{config, v311, v5, Ev, Pair, Reply, Sizes, VERSIONS};

const HOUR: u64 = 3600 * 1000;

fn gaps(times: &[u64]) -> Vec<u64> {
    times.windows(2).map(|w| w[1] - w[0]).collect()
}

/// Every ping `interval` after the previous one (and the first `interval`
/// after `from`), to within `slack` ms.
fn assert_periodic(times: &[u64], from: u64, interval: u64, slack: u64) {
    assert!(!times.is_empty(), "no ping at all");
    let first = times[0] - from;
    assert!(
        (interval..=interval + slack).contains(&first),
        "first ping after {first} ms, want {interval}"
    );
    for (i, g) in gaps(times).iter().enumerate() {
        assert!(
            (interval..=interval + slack).contains(g),
            "ping {i}->{} {g} ms apart, want {interval} (times {:?}...)",
            i + 1,
            &times[..times.len().min(8)]
        );
    }
}

/// The longest the client stayed silent towards the broker.
fn longest_silence(p: &Pair) -> u64 {
    let mut times: Vec<u64> = p.broker.up().map(|r| r.t).collect();
    times.push(p.t);
    gaps(&times).into_iter().max().unwrap_or(0)
}

#[test]
fn idle_connection_pings_every_quarter_keepalive_for_hours() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        p.advance(3 * HOUR);
        let pings = p.broker.ping_times();
        assert_periodic(&pings, 0, 15_000, 100);
        assert!(
            (719..=720).contains(&pings.len()),
            "{} pings in 3 h",
            pings.len()
        );
        assert_eq!(p.take_events(), vec![], "{v:?}");
        assert_eq!(p.state(), State::Connected);
        assert!(longest_silence(&p) <= 60_000);
    }
}

#[test]
fn configured_ping_interval() {
    for (keep_alive, ping_interval_ms, want) in [
        (60u16, 5_000u32, 5_000u64),
        (600, 0, 150_000),
        (20, 0, 5_000),
    ] {
        let mut p = Pair::new(Config {
            keep_alive,
            ping_interval_ms,
            ..v311()
        });
        p.connect_ok();
        p.advance(2 * HOUR);
        let pings = p.broker.ping_times();
        assert_periodic(&pings, 0, want, 100);
        assert!(p.take_events().is_empty());
    }
}

#[test]
fn no_ping_while_traffic_flows_both_ways() {
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        for i in 0..720u32 {
            p.publish("up/x", &i.to_be_bytes(), QoS::AtMostOnce)
                .unwrap();
            p.advance(2_500);
            p.broker
                .publish("down/x", &i.to_be_bytes(), QoS::AtMostOnce);
            p.advance(2_500);
        }
        assert_eq!(
            p.broker.ping_times(),
            Vec::<u64>::new(),
            "{v:?}: pinged although traffic flowed both ways"
        );
        assert_eq!(p.messages().len(), 720);
        assert_eq!(p.broker.received.len(), 720);
    }
}

#[test]
fn inbound_qos1_traffic_is_two_way_so_no_ping() {
    // The client answers each message with PUBACK, so it sends too.
    let mut p = Pair::new(v311());
    p.connect_ok();
    for i in 0..360u32 {
        p.broker
            .publish("down/x", &i.to_be_bytes(), QoS::AtLeastOnce);
        p.advance(10_000);
    }
    assert!(p.broker.ping_times().is_empty());
    assert_eq!(p.broker.up_of(PacketType::PubAck).len(), 360);
}

#[test]
fn pings_when_only_receiving() {
    // Nothing sent for ping_interval: ping, even though messages arrive.
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        for i in 0..720u32 {
            p.broker
                .publish("down/x", &i.to_be_bytes(), QoS::AtMostOnce);
            p.advance(5_000);
        }
        assert_periodic(&p.broker.ping_times(), 0, 15_000, 100);
        assert!(longest_silence(&p) <= 15_100);
    }
}

#[test]
fn pings_when_only_sending() {
    // Nothing received for ping_interval: ping, even though we send.
    for v in VERSIONS {
        let mut p = Pair::new(config(v));
        p.connect_ok();
        for i in 0..720u32 {
            p.publish("up/x", &i.to_be_bytes(), QoS::AtMostOnce)
                .unwrap();
            p.advance(5_000);
        }
        let pings = p.broker.ping_times();
        assert_periodic(&pings, 0, 15_000, 100);
        assert_eq!(p.broker.received.len(), 720);
    }
}

#[test]
fn missing_pingresp_is_connection_lost_after_response_time() {
    for v in VERSIONS {
        let mut p = Pair::new(Config {
            response_time_ms: 10_000,
            ..config(v)
        });
        p.connect_ok();
        p.advance(HOUR);
        let before = p.broker.ping_times().len();
        p.broker.replies.pingresp = Reply::Drop;
        p.advance(HOUR);
        let pings = p.broker.ping_times();
        assert_eq!(pings.len(), before + 1, "one unanswered ping, then lost");
        let ping_t = *pings.last().unwrap();
        let lost = p.lost();
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].1, LostReason::Timeout(Awaited::PingResp));
        assert!(
            (ping_t + 10_000..=ping_t + 10_100).contains(&lost[0].0),
            "ping at {ping_t}, lost at {}",
            lost[0].0
        );
        assert_eq!(p.state(), State::Disconnected);
        assert_eq!(
            p.client.poll_deadline(),
            None,
            "{v:?}: timers keep running after the loss"
        );
    }
}

#[test]
fn slow_pingresp_within_response_time_is_fine() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.broker.replies.pingresp = Reply::Delay(9_000);
    p.advance(2 * HOUR);
    assert!(p.take_events().is_empty());
    assert!(p.broker.ping_times().len() > 300);
}

#[test]
fn explicit_ping_gets_pingresp() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    p.advance(1_000);
    p.client.ping(p.now).unwrap();
    p.pump();
    assert_eq!(p.broker.ping_times(), vec![1_000]);
    assert_eq!(
        p.broker
            .down()
            .filter(|r| r.pkt.kind() == Some(PacketType::PingResp))
            .count(),
        1
    );
    p.broker.replies.pingresp = Reply::Drop;
    p.client.ping(p.now).unwrap();
    p.advance(11_000);
    assert_eq!(
        p.lost().iter().map(|l| l.1).collect::<Vec<_>>(),
        vec![LostReason::Timeout(Awaited::PingResp)]
    );
}

#[test]
fn v5_server_keep_alive_overrides_ours() {
    let mut p = Pair::new(Config {
        keep_alive: 60,
        ..v5()
    });
    p.broker.connack_props = vec![Property::ServerKeepAlive(20)];
    p.connect_ok();
    p.advance(HOUR);
    assert_periodic(&p.broker.ping_times(), 0, 5_000, 100);
    assert!(longest_silence(&p) <= 20_000);

    // A longer server keep alive also wins over ours.
    let mut p = Pair::new(Config {
        keep_alive: 60,
        ..v5()
    });
    p.broker.connack_props = vec![Property::ServerKeepAlive(240)];
    p.connect_ok();
    p.advance(HOUR);
    assert_periodic(&p.broker.ping_times(), 0, 60_000, 100);
}

#[test]
fn keep_alive_zero_means_no_pings() {
    let mut p = Pair::new(Config {
        keep_alive: 0,
        ..v311()
    });
    p.connect_ok();
    p.advance(5 * HOUR);
    assert!(p.broker.ping_times().is_empty());
    assert!(p.take_events().is_empty());

    let mut p = Pair::new(v5());
    p.broker.connack_props = vec![Property::ServerKeepAlive(0)];
    p.connect_ok();
    p.advance(5 * HOUR);
    assert!(p.broker.ping_times().is_empty());
    assert!(p.take_events().is_empty());
}

#[test]
fn keepalive_across_the_clock_wrap() {
    for v in VERSIONS {
        let mut p = Pair::with(config(v), Sizes::default(), 0xFFFF_0000);
        p.connect_ok();
        p.advance(2 * HOUR);
        assert!(p.now < 0xFFFF_0000, "the clock wrapped");
        assert_periodic(&p.broker.ping_times(), 0, 15_000, 100);
        assert!(p.take_events().is_empty());
    }
}

#[test]
fn pingresp_timeout_across_the_clock_wrap() {
    // Ping at u32::MAX - 5 s, lost 10 s later, after the wrap.
    let mut p = Pair::with(v311(), Sizes::default(), u32::MAX - 20_000);
    p.connect_ok();
    p.broker.replies.pingresp = Reply::Drop;
    p.advance(60_000);
    assert_eq!(p.broker.ping_times(), vec![15_000]);
    let lost = p.lost();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].1, LostReason::Timeout(Awaited::PingResp));
    assert!(
        (25_000..=25_100).contains(&lost[0].0),
        "lost at {}",
        lost[0].0
    );
}

#[test]
fn deadline_is_never_in_the_past_after_handle_timeout() {
    // Drive the client by hand: after handle_timeout(now) the deadline is
    // later than now (a driver would spin otherwise).
    let mut p = Pair::with(v311(), Sizes::default(), 0xFFFF_F000);
    p.connect_ok();
    for _ in 0..500 {
        let d = p
            .client
            .poll_deadline()
            .expect("a connected client has a deadline");
        let delta = Tick::from(p.now).until(Tick::from(d));
        assert!(delta > 0, "deadline {d:#x} not after now {:#x}", p.now);
        p.advance(delta as u64);
    }
    assert!(p.take_events().is_empty());
}

#[test]
fn a_lost_connection_reconnects_and_keeps_pinging() {
    let mut p = Pair::new(v311());
    p.connect_ok();
    for round in 0..10 {
        p.advance(HOUR / 4);
        p.cut();
        assert_eq!(
            p.take_events(),
            vec![Ev::ConnectionLost(LostReason::LinkDown)],
            "round {round}"
        );
        p.advance(30_000);
        p.connect_ok();
    }
    p.advance(HOUR);
    let conn = p.broker.conn;
    let pings: Vec<u64> = p
        .broker
        .up_of(PacketType::PingReq)
        .iter()
        .filter(|r| r.conn == conn)
        .map(|r| r.t)
        .collect();
    let connected_at = p.broker.up_of(PacketType::Connect).last().unwrap().t;
    assert_periodic(&pings, connected_at, 15_000, 100);
}

// ---- a PINGRESP behind a backlog (hostile suite, pingresp-behind-backlog) ----

/// Keep alive 20 s (a ping every 5 s), response time 2 s: the PINGRESP is
/// overdue 2 s after the PINGREQ or after the last byte received since,
/// and 2 s + 1.5 × 20 s = 32 s after the PINGREQ at the latest.
fn backlog_config(v: mqttas::Version) -> Config {
    Config {
        keep_alive: 20,
        response_time_ms: 2_000,
        ..config(v)
    }
}

/// The one loss so far is a PINGRESP timeout at a time within `at` ms.
fn lost_for_pingresp_within(p: &Pair, at: std::ops::RangeInclusive<u64>, what: &str) {
    let lost = p.lost();
    assert_eq!(lost.len(), 1, "{what}: {lost:?}");
    assert_eq!(lost[0].1, LostReason::Timeout(Awaited::PingResp), "{what}");
    assert!(at.contains(&lost[0].0), "{what}: lost at {} ms", lost[0].0);
}

/// The broker sends a QoS 0 message every `every` ms for `ms` ms.
fn broker_sends(p: &mut Pair, ms: u64, every: u64) -> u32 {
    let mut n = 0u32;
    let mut left = ms;
    while left > 0 {
        let step = every.min(left);
        p.broker
            .publish("down/backlog", &n.to_be_bytes(), QoS::AtMostOnce);
        n += 1;
        p.advance(step);
        left -= step;
        if p.state() != State::Connected {
            break;
        }
    }
    n
}

#[test]
fn a_pingresp_behind_a_backlog_keeps_the_connection() {
    // The PINGRESP comes 7.9 s after the PINGREQ (four response times),
    // after a message every 20 ms all along: the broker is plainly alive.
    for v in VERSIONS {
        let mut p = Pair::new(backlog_config(v));
        p.connect_ok();
        p.advance(4_999);
        p.broker.replies.pingresp = Reply::Delay(7_900);
        p.advance(1);
        assert_eq!(p.broker.ping_times(), vec![5_000], "{v:?}");
        let n = broker_sends(&mut p, 7_880, 20);
        // Later pings are answered at once.
        p.broker.replies.pingresp = Reply::Answer;
        p.advance(HOUR);
        assert_eq!(p.lost(), vec![], "{v:?}: a working connection dropped");
        assert_eq!(p.state(), State::Connected);
        assert_eq!(p.messages().len(), n as usize);
        // The pings go on as before once the late PINGRESP came.
        assert!(p.broker.ping_times().len() > 700, "{v:?}");
    }
}

#[test]
fn silence_after_the_backlog_is_a_lost_pingresp_response_time_after_the_last_byte() {
    for v in VERSIONS {
        let mut p = Pair::new(backlog_config(v));
        p.connect_ok();
        p.advance(5_000);
        p.broker.replies.pingresp = Reply::Drop;
        p.advance(5_000); // The second PINGREQ, at 10 s.
        let ping_t = *p.broker.ping_times().last().unwrap();
        assert_eq!(ping_t, 10_000, "{v:?}");
        broker_sends(&mut p, 6_000, 100); // 10.0 .. 15.9 s, the last at 15.9 s.
        p.advance(HOUR);
        let what = format!("{v:?}: last byte at 15.9 s, lost 2 s later");
        lost_for_pingresp_within(&p, 17_900..=18_000, &what);
    }
}

#[test]
fn a_broker_that_sends_but_never_answers_is_dropped_one_and_a_half_keep_alives_late() {
    // A message every 100 ms for ever, no PINGRESP: lost 2 s + 30 s after
    // the PINGREQ, not never (and not after 2 s, as before).
    for v in VERSIONS {
        let mut p = Pair::new(backlog_config(v));
        p.connect_ok();
        p.broker.replies.pingresp = Reply::Drop;
        broker_sends(&mut p, 60_000, 100);
        let pings = p.broker.ping_times();
        assert_eq!(
            pings,
            vec![5_000],
            "{v:?}: one PINGREQ outstanding at a time"
        );
        let what = format!("{v:?}: PINGREQ at 5 s, lost at 37 s");
        lost_for_pingresp_within(&p, 37_000..=37_100, &what);
    }
}

#[test]
fn the_longest_wait_for_a_pingresp_follows_the_server_keep_alive() {
    // 5.0 Server Keep Alive 4 s: the bound is 2 s + 6 s after the PINGREQ.
    let mut p = Pair::new(Config {
        keep_alive: 60,
        response_time_ms: 2_000,
        ..v5()
    });
    p.broker.connack_props = vec![Property::ServerKeepAlive(4)];
    p.connect_ok();
    p.broker.replies.pingresp = Reply::Drop;
    broker_sends(&mut p, 20_000, 100);
    assert_eq!(p.broker.ping_times(), vec![1_000]);
    lost_for_pingresp_within(&p, 9_000..=9_100, "PINGREQ at 1 s, lost at 9 s");
}

#[test]
fn the_pingresp_bound_across_the_clock_wrap() {
    // PINGREQ 5 s after the start, 10 s before the wrap; the deadline
    // moves with every byte, and the bound falls after the wrap.
    let mut p = Pair::with(
        backlog_config(mqttas::Version::V311),
        Sizes::default(),
        u32::MAX - 15_000,
    );
    p.connect_ok();
    p.broker.replies.pingresp = Reply::Drop;
    broker_sends(&mut p, 60_000, 100);
    assert!(p.now < 0x8000_0000, "the clock wrapped");
    lost_for_pingresp_within(&p, 37_000..=37_100, "PINGREQ at 5 s, lost at 37 s");
}
