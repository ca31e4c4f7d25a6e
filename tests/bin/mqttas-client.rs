//! mqttas-client: the Rust twin of ports/unix/mqttas_client.c, on the TCP
//! driver and the outage policy (`TcpDriver::keep_connected`).
//!
//! Test code, not part of the library: built with `cargo build --bin
//! mqttas-client` (a bin target of the crate whose source is here).
//!
//! Same options, same output, same exit codes as the C client, so that the
//! fault-injection scenarios (tests/faults), the soak (tests/soak) and the
//! hostile broker (tests/hostile) run both the same way:
//!
//! ```text
//! mqttas-client -m sub -t test/# -q 2 -n 100 -c     print 100 messages
//! mqttas-client -m pub -t test/a -q 1 -n 100 -c     publish "1".."100"
//! ```
//!
//! Sub prints one line per message: `TOPIC QOS DUP PAYLOAD`.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use mqttas::driver::{Clock, Storage, TcpDriver};
use mqttas::reconnect::{Action, Cause, Policy};
use mqttas::session::{ConnectOptions, LostReason, State};
use mqttas::time::Tick;
use mqttas::wire::{SubOptions, Subscription};
use mqttas::{Client, Config, Error, Event, QoS, ReasonCode, Version};

const USAGE: &str = "usage: mqttas-client [options]
  -m pub|sub   publish numbered messages, or subscribe and print them (sub)
  -h HOST      broker host (127.0.0.1)
  -p PORT      broker port (1883)
  -i ID        client identifier (mqttas-PID)
  -t TOPIC     topic to publish to, or filter to subscribe to (mqttas/test)
  -q QOS       0, 1 or 2 (0)
  -n COUNT     messages to publish, or distinct messages to wait for (10);
               0 with sub: run until a signal
  -c           persistent session (clean session false): survive restarts
  -r           publish with the retain flag
  -V 4|5       MQTT 3.1.1 (4, default) or 5.0 (5)
  -k SECONDS   keep alive (60)
  -d MS        delay between publications (0)
  -S BYTES     message store size (65536)
  -M BYTES     maximum packet size (65536), 0 for none: announced in 5.0;
               in 3.1.1 a larger message is skipped (and acknowledged)
  -Q IDS       inbound QoS 2 messages tracked until released (256): more than
               a broker beyond our receive maximum (16) sends at once
  -A N         5.0: topic aliases the broker may set, topic alias maximum (0)
  -T SECONDS   give up (exit 1) after this long, 0 for never (0)
  -R FILE      create FILE once subscribed (sub), for scripts
  -O TICK      start the millisecond clock at TICK (tests wrap-around)
  -W MS        response time: wait this long for any reply (10000)
outage policy (mqttas::reconnect::Policy, defaults from Policy::default):
  -H MS        hold the link down this long after an outage (1000)
  -B N         failed attempts before the link is bounced, 0 never (3)
  -b MS        backoff after the first failed attempt (500)
  -X MS        backoff cap (30000)
  -j PERCENT   backoff jitter (20)
  -U MS        a connection up this long resets the backoff; one lost sooner
               counts as a failed attempt (keep alive, or 60000 with -k 0)
  -v           log every event to stderr
Sub prints one line per message: TOPIC QOS DUP PAYLOAD.";

// SIGINT/SIGTERM handling, the gateway's: one copy for both host programs.
#[path = "../../ports/gateway/stop.rs"]
mod stop;

struct Opts {
    host: String,
    port: u16,
    client_id: String,
    topic: String,
    ready_file: Option<String>,
    publish: bool,
    qos: QoS,
    version: Version,
    persistent: bool,
    retain: bool,
    verbose: bool,
    count: u64,
    delay_ms: u64,
    timeout_s: u64,
    keep_alive: u16,
    store_size: usize,
    max_packet: u32,
    qos2_ids: u16,
    alias_max: u16,
    clock_start: Option<u32>,
    response_ms: u32,
    policy: Policy,
    stable_set: bool,
}

fn parse() -> Result<Opts, String> {
    let mut o = Opts {
        host: "127.0.0.1".into(),
        port: 1883,
        client_id: format!("mqttas-{}", std::process::id()),
        topic: "mqttas/test".into(),
        ready_file: None,
        publish: false,
        qos: QoS::AtMostOnce,
        version: Version::V311,
        persistent: false,
        retain: false,
        verbose: false,
        count: 10,
        delay_ms: 0,
        timeout_s: 0,
        keep_alive: 60,
        store_size: 65536,
        max_packet: 65536,
        qos2_ids: 256,
        alias_max: 0,
        clock_start: None,
        response_ms: 0,
        policy: Policy::default(),
        stable_set: false,
    };
    let mut mode = None;
    let mut args = std::env::args().skip(1);
    fn num<T: std::str::FromStr>(flag: &str, v: Option<String>) -> Result<T, String> {
        let v = v.ok_or_else(|| format!("{flag} needs a value"))?;
        v.parse().map_err(|_| format!("{flag}: bad value {v}"))
    }
    while let Some(a) = args.next() {
        match a.as_str() {
            "-m" => mode = Some(args.next().ok_or("-m needs pub or sub")?),
            "-h" => o.host = args.next().ok_or("-h needs a host")?,
            "-p" => o.port = num("-p", args.next())?,
            "-i" => o.client_id = args.next().ok_or("-i needs an id")?,
            "-t" => o.topic = args.next().ok_or("-t needs a topic")?,
            "-q" => {
                o.qos = QoS::from_u8(num("-q", args.next())?).ok_or("-q: 0, 1 or 2")?;
            }
            "-n" => o.count = num("-n", args.next())?,
            "-c" => o.persistent = true,
            "-r" => o.retain = true,
            "-V" => {
                o.version = match num::<u8>("-V", args.next())? {
                    4 => Version::V311,
                    5 => Version::V5,
                    _ => return Err("-V: 4 or 5".into()),
                }
            }
            "-k" => o.keep_alive = num("-k", args.next())?,
            "-d" => o.delay_ms = num("-d", args.next())?,
            "-S" => o.store_size = num("-S", args.next())?,
            "-M" => o.max_packet = num("-M", args.next())?,
            "-Q" => o.qos2_ids = num("-Q", args.next())?,
            "-A" => o.alias_max = num("-A", args.next())?,
            "-T" => o.timeout_s = num("-T", args.next())?,
            "-R" => o.ready_file = Some(args.next().ok_or("-R needs a file")?),
            "-O" => o.clock_start = Some(num("-O", args.next())?),
            "-W" => o.response_ms = num("-W", args.next())?,
            "-H" => o.policy.hold_down_ms = num("-H", args.next())?,
            "-B" => o.policy.tcp_attempts_before_bounce = num("-B", args.next())?,
            "-b" => o.policy.backoff_base_ms = num("-b", args.next())?,
            "-X" => o.policy.backoff_cap_ms = num("-X", args.next())?,
            "-j" => o.policy.jitter_percent = num("-j", args.next())?,
            "-U" => {
                o.policy.stable_ms = num("-U", args.next())?;
                o.stable_set = true;
            }
            "-v" => o.verbose = true,
            other => return Err(format!("unknown option {other}")),
        }
    }
    o.publish = match mode.as_deref() {
        Some("pub") => true,
        Some("sub") => false,
        _ => return Err("-m pub or -m sub is required".into()),
    };
    if !o.stable_set && o.keep_alive != 0 {
        o.policy.stable_ms = u32::from(o.keep_alive) * 1000;
    }
    o.policy
        .validate()
        .map_err(|e| format!("outage policy: {e}"))?;
    Ok(o)
}

/// What the event handler saw, for the loop to act on (the handler cannot
/// call the driver that calls it).
#[derive(Default)]
struct Seen {
    connected: bool,
    session_present: bool,
    subscribed: bool,
    refused_subscription: bool,
    lost: Option<LostReason>,
    /// When the loss was seen: the policy's waits start then (the poll
    /// that saw it may have slept through them before returning).
    lost_at: u32,
    disconnected: bool,
}

struct Sub {
    seen: HashMap<String, Vec<u64>>,
    distinct: u64,
    received: u64,
    duplicates: u64,
}

fn main() -> ExitCode {
    let o = match parse() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    stop::install();
    let clock = o.clock_start.map_or_else(Clock::new, Clock::starting_at);
    let name = o.client_id.clone();
    let log = |msg: &str| eprintln!("[{name} {:10}] {msg}", clock.now());

    let config = Config {
        version: o.version,
        keep_alive: o.keep_alive,
        clean_init: !o.persistent,
        clean: !o.persistent,
        session_expiry: (o.version == Version::V5 && o.persistent).then_some(3600),
        response_time_ms: if o.response_ms > 0 {
            o.response_ms
        } else {
            Config::default().response_time_ms
        },
        maximum_packet_size: o.max_packet,
        topic_alias_maximum: o.alias_max,
        ..Config::default()
    };
    // A message up to the maximum packet size is taken whole.
    let rx_size = (o.max_packet as usize).max(4096);
    // Each inbound alias: a 5-byte record head and a topic of up to 123
    // bytes, as the C client and mqtt_as size it.
    let aliases = usize::from(o.alias_max) * 128;
    let mut storage =
        Storage::new(rx_size, 4096, o.store_size, aliases).with_inbound_qos2(o.qos2_ids.into());
    let client = match Client::new(config, storage.buffers()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("client: {e}");
            return ExitCode::from(1);
        }
    };
    let mut driver = TcpDriver::with_clock(client, clock);
    if let Err(e) = driver.set_broker((o.host.as_str(), o.port)) {
        eprintln!("broker address: {e}");
        return ExitCode::from(1);
    }
    let seed = std::process::id() ^ clock.now().rotate_left(7);
    driver.set_reconnect_policy(o.policy, seed);
    let options = ConnectOptions {
        client_id: &o.client_id,
        ..Default::default()
    };
    if o.verbose {
        log(&format!(
            "mqttas-client, {} to {}:{} topic {} QoS {}",
            if o.publish {
                "publishing"
            } else {
                "subscribing"
            },
            o.host,
            o.port,
            o.topic,
            o.qos as u8
        ));
    }

    let start = Instant::now();
    let mut exit = 0u8;
    let mut next_seq = 1u64;
    let mut next_publish_at = Instant::now();
    let mut completed = 0u64;
    let mut subscribed_once = false;
    let mut disconnecting = false;
    let mut stopping = false;
    let mut lost_at = None;
    let mut sub = Sub {
        seen: HashMap::new(),
        distinct: 0,
        received: 0,
        duplicates: 0,
    };
    let stdout = std::io::stdout();
    loop {
        if o.timeout_s > 0 && start.elapsed() >= Duration::from_secs(o.timeout_s) {
            log("timed out");
            exit = 1;
            break;
        }
        if stop::requested() && !stopping {
            stopping = true;
            log("signal: shutting down");
            if driver.client().state() == State::Connected && !disconnecting {
                disconnecting = driver.disconnect(ReasonCode::SUCCESS, &[]).is_ok();
            }
            if !disconnecting {
                break;
            }
        }
        if !stopping {
            match driver.keep_connected(&options) {
                Ok(Some(Action::HoldDown { until })) => log(&format!(
                    "outage: link held down for {} ms",
                    Tick::from(lost_at.take().unwrap_or_else(|| driver.now())).until(until.into())
                )),
                Ok(Some(Action::BounceLink { until })) => log(&format!(
                    "link bounce: held down for {} ms",
                    Tick::from(lost_at.take().unwrap_or_else(|| driver.now())).until(until.into())
                )),
                Ok(_) => {}
                Err(e) => {
                    log(&format!("connect: {e}"));
                    exit = 1;
                    break;
                }
            }
        }
        // Publish what the delay and the store allow, then send the batch
        // at once (one write, not one per message).
        let mut flushed = false;
        while o.publish && next_seq <= o.count && !disconnecting {
            if o.delay_ms > 0 && Instant::now() < next_publish_at {
                break;
            }
            let connected = driver.client().state() == State::Connected;
            if o.qos == QoS::AtMostOnce && !connected {
                break;
            }
            let payload = next_seq.to_string();
            let now = driver.now();
            match driver.client_mut().publish(
                now,
                &o.topic,
                payload.as_bytes(),
                o.qos,
                o.retain,
                &[],
            ) {
                Ok(_) => {
                    flushed = false;
                    if o.qos == QoS::AtMostOnce {
                        completed += 1;
                    }
                    next_seq += 1;
                    next_publish_at = Instant::now() + Duration::from_millis(o.delay_ms);
                }
                // Send what the transmit buffer holds and try again.
                Err(Error::TxFull) if !flushed && driver.is_link_up() => {
                    driver.flush();
                    flushed = true;
                }
                Err(Error::StoreFull | Error::TxFull | Error::NotConnected) => break,
                Err(e) => {
                    log(&format!("publish: {e}"));
                    exit = 1;
                    break;
                }
            }
        }
        driver.flush();
        if exit != 0 {
            break;
        }
        // Sleep until data, a timer, or the next publication.
        let mut wait = Duration::from_millis(100);
        if o.publish && next_seq <= o.count && o.delay_ms > 0 {
            wait = wait.min(next_publish_at.saturating_duration_since(Instant::now()));
        }
        let mut seen = Seen::default();
        let want = o.count;
        let mut out = stdout.lock();
        driver.poll_once(wait, |e| {
            match e {
                Event::Connected {
                    session_present, ..
                } => {
                    seen.connected = true;
                    seen.session_present = *session_present;
                }
                Event::Subscribed { codes, .. } => {
                    if codes.first().map_or(true, |c| *c >= 0x80) {
                        seen.refused_subscription = true;
                    } else {
                        seen.subscribed = true;
                    }
                }
                Event::Message(m) => {
                    let payload = String::from_utf8_lossy(m.payload);
                    let _ = writeln!(
                        out,
                        "{} {} {} {}",
                        m.topic, m.qos as u8, m.dup as u8, payload
                    );
                    let _ = out.flush();
                    sub.received += 1;
                    if let Ok(n) = payload.parse::<u64>() {
                        let bits = sub.seen.entry(m.topic.to_string()).or_default();
                        let (word, bit) = ((n / 64) as usize, 1u64 << (n % 64));
                        if bits.len() <= word {
                            bits.resize(word + 1, 0);
                        }
                        if bits[word] & bit != 0 {
                            sub.duplicates += 1;
                        } else {
                            bits[word] |= bit;
                            if n >= 1 && (want == 0 || n <= want) {
                                sub.distinct += 1;
                            }
                        }
                    }
                }
                Event::MessageStart(m) => {
                    eprintln!(
                        "message on {} too large for the receive buffer, skipped",
                        m.topic
                    )
                }
                Event::MessageSkipped {
                    topic,
                    size,
                    limit,
                    qos,
                    ..
                } => eprintln!(
                    "[{} {:10}] message on \"{topic}\" skipped: {size} bytes, above the maximum packet size ({limit}), QoS {}",
                    o.client_id,
                    clock.now(),
                    *qos as u8
                ),
                Event::Published { reason, .. } => {
                    if reason.0 >= 0x80 {
                        eprintln!("publication refused: {reason}");
                    }
                    completed += 1;
                }
                Event::ConnectionLost(reason) => {
                    seen.lost = Some(*reason);
                    seen.lost_at = clock.now();
                }
                Event::Disconnected => seen.disconnected = true,
                _ => {}
            }
            if o.verbose {
                eprintln!("[{} {:10}] event {e:?}", o.client_id, clock.now());
            }
            false
        });
        drop(out);
        if let Some(reason) = seen.lost {
            // A 5.0 broker's DISCONNECT or refusal may say why and where to
            // go; a link the driver closed, why (the broker closed it, a
            // reset): as the C client shows.
            let loss = reason.with_properties(driver.client().disconnect_properties());
            match (reason, driver.link_end()) {
                (LostReason::LinkDown, Some(end)) => {
                    log(&format!("connection lost: {loss}: {end}"))
                }
                _ => log(&format!("connection lost: {loss}")),
            }
            let cause = Cause::of(&reason);
            disconnecting = false;
            if stopping {
                break;
            }
            // What the broker said decides the wait: say so.
            let next = driver.reconnect_state().and_then(|r| r.poll_deadline());
            if let (Cause::BackOff | Cause::Permanent, Some(at)) = (cause, next) {
                log(&format!(
                    "{cause}: next try in {} ms",
                    Tick::from(seen.lost_at).until(at.into())
                ));
            }
            lost_at = Some(seen.lost_at);
        }
        if seen.disconnected {
            break;
        }
        if seen.refused_subscription {
            log("the broker refused the subscription");
            exit = 1;
            break;
        }
        if seen.connected
            && !o.publish
            && !(seen.session_present && subscribed_once)
            && driver.client().state() == State::Connected
        {
            let filters = [Subscription {
                filter: &o.topic,
                options: SubOptions::qos(o.qos),
            }];
            if let Err(e) = driver.subscribe(&filters, &[]) {
                log(&format!("subscribe: {e}"));
                exit = 1;
                break;
            }
        }
        if seen.subscribed {
            subscribed_once = true;
            if let Some(f) = &o.ready_file {
                let _ = std::fs::File::create(f);
            }
        }
        let connected = driver.client().state() == State::Connected;
        if !o.publish && o.count > 0 && sub.distinct >= o.count && !disconnecting && connected {
            log(&format!(
                "received {} distinct messages ({} in all)",
                sub.distinct, sub.received
            ));
            disconnecting = driver.disconnect(ReasonCode::SUCCESS, &[]).is_ok();
            if !disconnecting {
                break;
            }
        }
        if o.publish
            && next_seq > o.count
            && driver.client().pending_publications() == 0
            && connected
            && !disconnecting
        {
            log(&format!(
                "published {} messages at QoS {}",
                o.count, o.qos as u8
            ));
            disconnecting = driver.disconnect(ReasonCode::SUCCESS, &[]).is_ok();
        }
    }
    driver.drop_link();
    if let Some(r) = driver.reconnect_state() {
        let s = r.stats();
        log(&format!(
            "outages {}, attempts {}, failed {}, link bounces {}, planned {}, \
             unstable {}, backed off {}, permanent refusals {}",
            s.outages,
            s.attempts,
            s.failures,
            s.bounces,
            s.planned,
            s.unstable,
            s.back_offs,
            s.permanent
        ));
    }
    // What a broker beyond our receive maximum did, if anything.
    let q = driver.client().qos2_stats();
    if q.beyond_receive_maximum > 0 {
        log(&format!(
            "broker exceeded our Receive Maximum ({}): up to {} unreleased QoS 2 messages, {} beyond it",
            config.receive_maximum, q.peak_unreleased, q.beyond_receive_maximum
        ));
    }
    if q.untracked > 0 {
        log(&format!(
            "inbound QoS 2: {} delivered untracked (id table of {} full, clean session)",
            q.untracked, o.qos2_ids
        ));
    }
    if q.withheld > 0 {
        log(&format!(
            "inbound QoS 2: {} withheld for the next connection (id table of {} full)",
            q.withheld, o.qos2_ids
        ));
    }
    let stopped = stop::requested();
    if o.publish {
        let pending = driver.client().pending_publications();
        log(&format!(
            "published {} of {}, {} complete, {} pending",
            next_seq - 1,
            o.count,
            completed,
            pending
        ));
        if !stopped && (completed < o.count || pending > 0) {
            exit = 1;
        }
    } else {
        log(&format!(
            "received {} messages, {} distinct, {} duplicates",
            sub.received, sub.distinct, sub.duplicates
        ));
        if !stopped && o.count > 0 && sub.distinct < o.count {
            exit = 1;
        }
    }
    ExitCode::from(exit)
}
