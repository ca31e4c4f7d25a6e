//! mqttas-gateway: packet radio nodes to an MQTT broker.
//!
//! Radio nodes (MCUs running mqtt_as over `links/radio.py`) open radio
//! sessions: the framing + ARQ layer of the core (`mqttas::radio`) turns
//! their lossy frames into a reliable byte stream. The gateway keeps one
//! gateway-side [`Radio`](mqttas::radio::Radio) per node id and, for each
//! session, one TCP connection to the broker, and copies bytes both ways.
//! It speaks no MQTT: the node's client and the broker talk end to end.
//!
//! ```text
//! mqttas-gateway --radio 127.0.0.1:7000 --air 127.0.0.1:7001 --broker 127.0.0.1:1883
//! ```
//!
//! Frames come and go through a [`FrameIo`]; the one here is UDP (the
//! simulated radio of tests/links). One thread runs everything with poll(2);
//! a thread per connection attempt keeps a slow broker from stalling the
//! radios. See ports/gateway/README.md.
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::unreachable,
        clippy::todo,
        clippy::unimplemented
    )
)]

mod bridge;
mod frame_io;
mod poll;
mod stop;

use std::collections::hash_map::RandomState;
use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::Instant;

use mqttas::radio;
use mqttas::time::Tick;

use bridge::{stats_text, Node};
use frame_io::{FrameIo, UdpAir};
use poll::{Poller, POLLIN};

const USAGE: &str = "usage: mqttas-gateway [options]
  --radio ADDR        UDP address to receive radio frames on (127.0.0.1:1885)
  --air ADDR          where to send downlink frames (the air relay); default:
                      back to the address each node's frames come from
  --broker HOST:PORT  the MQTT broker (127.0.0.1:1883)
  --mtu N             frame size, header and CRC included, 16..=255 (32);
                      the nodes must use the same
  --window N          DATA frames in flight, 1..=8 (4)
  --rto-ms MS         retransmission timeout, doubling per retry (400)
  --max-retries N     retransmissions before a session is given up (10)
  --keepalive-ms MS   idle probe interval; 3x silent ends a session (3000)
  --tx-size N         per-node transmit buffer, bytes (2048)
  --rx-size N         per-node receive buffer, bytes (2048)
  --stats-ms MS       log every node's counters this often (0: never)
Logs to stderr. SIGINT/SIGTERM: reset every session, log the counters, exit.";

/// The radio and broker settings shared by every node.
pub struct Settings {
    /// Frame size.
    pub mtu: u16,
    /// Frames in flight.
    pub window: u8,
    /// Retransmission timeout.
    pub rto_ms: u32,
    /// Retransmissions before Down(NoAck).
    pub max_retries: u8,
    /// Keepalive probe interval.
    pub keepalive_ms: u32,
    /// Transmit buffer per node.
    pub tx_size: usize,
    /// Receive buffer per node.
    pub rx_size: usize,
    /// The broker, HOST:PORT.
    pub broker: String,
}

struct Opts {
    radio: SocketAddr,
    air: Option<SocketAddr>,
    stats_ms: u32,
    settings: Settings,
}

static START: OnceLock<Instant> = OnceLock::new();

fn elapsed_ms() -> u64 {
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// The wrapping millisecond clock the radio layer wants.
fn now() -> u32 {
    (elapsed_ms() & 0xFFFF_FFFF) as u32
}

/// One log line on stderr, with the seconds since start.
pub fn log(msg: std::fmt::Arguments) {
    let t = elapsed_ms();
    eprintln!("gateway {}.{:03}: {msg}", t / 1000, t % 1000);
}

fn value<T: std::str::FromStr>(name: &str, v: Option<String>) -> Result<T, String> {
    let v = v.ok_or_else(|| format!("{name} needs a value"))?;
    v.parse().map_err(|_| format!("{name}: bad value {v:?}"))
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        radio: SocketAddr::from(([127, 0, 0, 1], 1885)),
        air: None,
        stats_ms: 0,
        settings: Settings {
            mtu: 32,
            window: 4,
            rto_ms: 400,
            max_retries: 10,
            keepalive_ms: 3000,
            tx_size: 2048,
            rx_size: 2048,
            broker: "127.0.0.1:1883".into(),
        },
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let s = &mut o.settings;
        match a.as_str() {
            "--radio" => o.radio = value(&a, args.next())?,
            "--air" => o.air = Some(value(&a, args.next())?),
            "--broker" => s.broker = value(&a, args.next())?,
            "--mtu" => s.mtu = value(&a, args.next())?,
            "--window" => s.window = value(&a, args.next())?,
            "--rto-ms" => s.rto_ms = value(&a, args.next())?,
            "--max-retries" => s.max_retries = value(&a, args.next())?,
            "--keepalive-ms" => s.keepalive_ms = value(&a, args.next())?,
            "--tx-size" => s.tx_size = value(&a, args.next())?,
            "--rx-size" => s.rx_size = value(&a, args.next())?,
            "--stats-ms" => o.stats_ms = value(&a, args.next())?,
            "-h" | "--help" => return Err(String::new()),
            _ => return Err(format!("unknown option {a}")),
        }
    }
    // Check the radio settings once, up front, rather than at each node.
    let mut c = radio::RadioConfig::new(1, true, 1);
    c.mtu = o.settings.mtu;
    c.window = o.settings.window;
    c.rto_ms = o.settings.rto_ms;
    c.max_retries = o.settings.max_retries;
    c.keepalive_ms = o.settings.keepalive_ms;
    c.validate().map_err(|e| e.to_string())?;
    Ok(o)
}

/// A fresh session epoch: random, nonzero, so that nodes notice a gateway
/// restart (their frames then name an epoch the new gateway never had).
fn random_epoch(node: u8) -> u16 {
    let mut h = RandomState::new().build_hasher();
    h.write_u8(node);
    h.write_u64(elapsed_ms());
    h.write_u32(std::process::id());
    let e = (h.finish() & 0xFFFF) as u16;
    if e == 0 {
        1
    } else {
        e
    }
}

struct Gateway {
    io: UdpAir,
    settings: Settings,
    nodes: BTreeMap<u8, Node>,
    bad_frames: u64,
    other_frames: u64,
}

impl Gateway {
    fn dispatch(&mut self, now: u32, frame: &[u8]) {
        let id = match radio::frame_node(frame) {
            None => {
                self.bad_frames += 1;
                return;
            }
            // Our own downlink, or another gateway's: not for us.
            Some((_, true)) => {
                self.other_frames += 1;
                return;
            }
            Some((id, false)) => id,
        };
        if !self.nodes.contains_key(&id) {
            match Node::new(id, &self.settings, random_epoch(id)) {
                Ok(n) => {
                    log(format_args!("node {id}: first frame heard"));
                    self.nodes.insert(id, n);
                }
                Err(e) => {
                    log(format_args!("node {id}: cannot serve it: {e}"));
                    self.bad_frames += 1;
                    return;
                }
            }
        }
        if let Some(node) = self.nodes.get_mut(&id) {
            node.handle_frame(now, frame);
            node.flush(now, &mut self.io);
        }
    }

    fn log_stats(&self) {
        log(format_args!(
            "frames with a bad CRC or length {}, downlink frames heard {}",
            self.bad_frames, self.other_frames
        ));
        for (id, n) in &self.nodes {
            log(format_args!(
                "node {id}: sessions {}, {}",
                n.sessions,
                stats_text(&n.stats())
            ));
        }
    }
}

fn run(o: Opts) -> std::io::Result<()> {
    let io = UdpAir::bind(o.radio, o.air)?;
    log(format_args!(
        "radio frames on udp {}, downlink to {}, broker {}, mtu {} window {} rto {} ms",
        io.local_addr()?,
        o.air
            .map_or_else(|| "each node's address".to_string(), |a| a.to_string()),
        o.settings.broker,
        o.settings.mtu,
        o.settings.window,
        o.settings.rto_ms
    ));
    let mut gw = Gateway {
        io,
        settings: o.settings,
        nodes: BTreeMap::new(),
        bad_frames: 0,
        other_frames: 0,
    };
    let mut poller = Poller::default();
    let mut frame = [0u8; 512];
    let mut next_stats = Tick::from(now()) + o.stats_ms;
    while !stop::requested() {
        let t = now();
        while let Some(n) = gw.io.recv(&mut frame)? {
            if let Some(f) = frame.get(..n) {
                gw.dispatch(t, f);
            }
        }
        let mut wait: u32 = 1000;
        let mut poll_fast = false;
        for node in gw.nodes.values_mut() {
            node.service(t);
            node.flush(t, &mut gw.io);
            if let Some(at) = node.deadline() {
                wait = wait.min(Tick::from(at).saturating_since(now().into()));
            }
            poll_fast |= node.connecting();
        }
        if o.stats_ms > 0 && Tick::from(now()).reached(next_stats) {
            gw.log_stats();
            next_stats = Tick::from(now()) + o.stats_ms;
        }
        poller.clear();
        match gw.io.wait_fd() {
            Some(fd) => poller.add(fd, POLLIN),
            None => poll_fast = true,
        }
        for node in gw.nodes.values() {
            node.register(&mut poller);
        }
        if poll_fast {
            wait = wait.min(5);
        }
        poller.wait(wait);
    }
    let t = now();
    for node in gw.nodes.values_mut() {
        node.shutdown(t, &mut gw.io);
    }
    gw.log_stats();
    log(format_args!("stopped"));
    Ok(())
}

fn main() -> ExitCode {
    START.get_or_init(Instant::now);
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("mqttas-gateway: {e}");
            }
            eprintln!("{USAGE}");
            return if e.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    stop::install();
    match run(o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format_args!("radio I/O failed: {e}"));
            ExitCode::FAILURE
        }
    }
}
