//! mqttas-demo: connect, subscribe, publish at QoS 0, 1 and 2, print what
//! comes back.
//!
//! ```text
//! cargo run --bin mqttas-demo -- [--broker HOST:PORT] [--v5]
//! ```
//!
//! Without `--broker` it starts its own mosquitto on 127.0.0.1 on a free
//! port, with its own config in a temporary directory, and stops it at the
//! end.

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mqttas::driver::{Storage, TcpDriver};
use mqttas::session::ConnectOptions;
use mqttas::wire::{Property, SubOptions, Subscription};
use mqttas::{Client, Config, Event, QoS, ReasonCode, Version};

const USAGE: &str = "usage: mqttas-demo [--broker HOST:PORT] [--v5]

Connects to the broker (default: a mosquitto started for the demo on
127.0.0.1), subscribes to mqttas/demo/<pid>/#, publishes one message at each
QoS and prints the events.";

/// How long to wait for each step.
const STEP: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let mut broker = None;
    let mut version = Version::V311;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--broker" => match args.next() {
                Some(b) => broker = Some(b),
                None => return usage("--broker needs HOST:PORT"),
            },
            "--v5" => version = Version::V5,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage(&format!("unknown argument {other}")),
        }
    }

    // Kept alive until the end of main: dropping it stops the broker.
    let mut local = None;
    let addr = match broker {
        Some(addr) => addr,
        None => match LocalBroker::start() {
            Ok(b) => {
                println!(
                    "started mosquitto on 127.0.0.1:{} (config {})",
                    b.port,
                    b.dir.display()
                );
                let addr = format!("127.0.0.1:{}", b.port);
                local = Some(b);
                addr
            }
            Err(e) => {
                eprintln!("error: cannot start a local mosquitto: {e}");
                eprintln!("install it (apt-get install mosquitto) or give --broker HOST:PORT");
                return ExitCode::FAILURE;
            }
        },
    };

    let result = run(&addr, version);
    drop(local);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn usage(problem: &str) -> ExitCode {
    eprintln!("error: {problem}\n{USAGE}");
    ExitCode::from(2)
}

/// The demo proper: everything it does is printed as it happens.
fn run(addr: &str, version: Version) -> Result<(), String> {
    let pid = std::process::id();
    let client_id = format!("mqttas-demo-{pid}");
    let base = format!("mqttas/demo/{pid}");

    let mut storage = Storage::default();
    let config = Config {
        version,
        keep_alive: 30,
        ..Config::default()
    };
    let client = Client::new(config, storage.buffers()).map_err(|e| e.to_string())?;
    let mut driver = TcpDriver::new(client);

    println!(
        "connecting to {addr} as {client_id} (MQTT {})",
        version_name(version)
    );
    let options = ConnectOptions {
        client_id: &client_id,
        ..Default::default()
    };
    driver.connect(addr, &options).map_err(|e| e.to_string())?;
    wait_for(&mut driver, "CONNACK", |e| {
        matches!(e, Event::Connected { .. })
    })?;

    let filter = format!("{base}/#");
    let subs = [Subscription {
        filter: &filter,
        options: SubOptions::qos(QoS::ExactlyOnce),
    }];
    driver.subscribe(&subs, &[]).map_err(|e| e.to_string())?;
    println!("subscribing to {filter}");
    wait_for(&mut driver, "SUBACK", |e| {
        matches!(e, Event::Subscribed { .. })
    })?;

    let user = [Property::UserProperty("sent-by", "mqttas-demo")];
    let props: &[Property<'_>] = if version == Version::V5 { &user } else { &[] };
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let topic = format!("{base}/qos{}", qos as u8);
        let payload = format!("hello at QoS {}", qos as u8);
        let id = driver
            .publish(&topic, payload.as_bytes(), qos, false, props)
            .map_err(|e| e.to_string())?;
        match id {
            0 => println!("published {topic} {payload:?}"),
            id => println!("publishing {topic} {payload:?} (packet id {id})"),
        }
    }

    // Three messages come back through the subscription; QoS 1 and 2
    // each complete once.
    let (mut received, mut completed) = (0, 0);
    let all_done = driver.run_until(STEP, |e| {
        print_event(e);
        match e {
            Event::Message(_) | Event::MessageEnd => received += 1,
            Event::Published { .. } => completed += 1,
            _ => {}
        }
        matches!(e, Event::ConnectionLost(_)) || (received == 3 && completed == 2)
    });
    if !all_done || received != 3 || completed != 2 {
        return Err(format!(
            "after {} s: {received} of 3 messages received, {completed} of 2 publications complete",
            STEP.as_secs()
        ));
    }

    driver
        .disconnect(ReasonCode::SUCCESS, &[])
        .map_err(|e| e.to_string())?;
    wait_for(&mut driver, "the DISCONNECT to go out", |e| {
        matches!(e, Event::Disconnected)
    })?;
    println!("done: 3 messages received, 2 publications acknowledged");
    Ok(())
}

/// Poll, printing every event, until `done` accepts one; a lost
/// connection or a timeout is an error.
fn wait_for(
    driver: &mut TcpDriver<'_>,
    what: &str,
    mut done: impl FnMut(&Event<'_>) -> bool,
) -> Result<(), String> {
    let mut lost = None;
    let ok = driver.run_until(STEP, |e| {
        print_event(e);
        if let Event::ConnectionLost(reason) = e {
            lost = Some(reason.to_string());
            return true;
        }
        done(e)
    });
    match (ok, lost) {
        (_, Some(reason)) => Err(format!("connection lost waiting for {what}: {reason}")),
        (true, None) => Ok(()),
        (false, None) => Err(format!("no {what} within {} s", STEP.as_secs())),
    }
}

fn print_event(event: &Event<'_>) {
    match event {
        Event::Connected {
            session_present, ..
        } => {
            println!("  connected (session present: {session_present})")
        }
        Event::Message(m) => {
            let user: Vec<String> = m
                .properties
                .iter()
                .filter_map(|p| match p {
                    Property::UserProperty(k, v) => Some(format!("{k}={v}")),
                    _ => None,
                })
                .collect();
            println!(
                "  received {} {:?} at QoS {}{}{}",
                m.topic,
                String::from_utf8_lossy(m.payload),
                m.qos as u8,
                if m.retain { ", retained" } else { "" },
                if user.is_empty() {
                    String::new()
                } else {
                    format!(", user properties {}", user.join(" "))
                },
            )
        }
        Event::MessageStart(m) => println!("  receiving {} ({} bytes)", m.topic, m.total_len),
        Event::MessageChunk(c) => println!("    {} bytes", c.len()),
        Event::MessageEnd => println!("    complete"),
        Event::MessageSkipped {
            topic, size, limit, ..
        } => println!("  skipped {topic}: {size} bytes, above the maximum packet size ({limit})"),
        Event::Published { packet_id, reason } => {
            println!("  publication {packet_id} complete: {reason}")
        }
        Event::Subscribed {
            packet_id, codes, ..
        } => {
            println!("  subscription {packet_id} acknowledged, granted {codes:?}")
        }
        Event::Unsubscribed { packet_id, .. } => println!("  unsubscribed ({packet_id})"),
        Event::Auth { reason, .. } => println!("  AUTH {reason}"),
        Event::ConnectionLost(reason) => println!("  connection lost: {reason}"),
        Event::Disconnected => println!("  disconnected"),
    }
}

fn version_name(v: Version) -> &'static str {
    match v {
        Version::V311 => "3.1.1",
        Version::V5 => "5.0",
    }
}

/// A mosquitto of our own: config and log in a temporary directory,
/// listening on 127.0.0.1 only. Dropping it stops it and removes the
/// directory.
struct LocalBroker {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl LocalBroker {
    fn start() -> Result<Self, String> {
        let bin = ["mosquitto", "/usr/sbin/mosquitto"]
            .into_iter()
            .find(|b| {
                Command::new(b)
                    .arg("-h")
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .is_ok()
            })
            .ok_or("mosquitto not found in PATH nor /usr/sbin")?;
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| format!("no free port: {e}"))?
            .port();
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!("mqttas-demo-{}-{nanos}", std::process::id()));
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let conf = dir.join("mosquitto.conf");
        // `user root`: as root, mosquitto would otherwise switch to user
        // mosquitto, who may not read our directory; ignored otherwise.
        let text = format!(
            "listener {port} 127.0.0.1\nallow_anonymous true\nuser root\nlog_dest file {}\n",
            dir.join("mosquitto.log").display()
        );
        fs::write(&conf, text).map_err(|e| format!("{}: {e}", conf.display()))?;
        let child = Command::new(bin)
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{bin}: {e}"))?;
        let mut broker = LocalBroker { child, dir, port };
        broker.wait_ready()?;
        Ok(broker)
    }

    fn wait_ready(&mut self) -> Result<(), String> {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "mosquitto exited ({status}); see {}",
                    log(&self.dir)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "mosquitto not listening on port {} after 10 s",
            self.port
        ))
    }
}

fn log(dir: &Path) -> String {
    dir.join("mosquitto.log").display().to_string()
}

impl Drop for LocalBroker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = fs::remove_dir_all(&self.dir);
        println!("stopped the local mosquitto");
    }
}
