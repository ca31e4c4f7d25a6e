//! The Rust client of tests/interop: [`TcpDriver`] (the crate's host
//! driver, as `mqttas-client` uses it) driven by the command lines of
//! tests/interop/README.md on stdin, one event a line on stdout.
//!
//! One connection at a time and no reconnection of its own: each
//! `connect` makes a new client with that command's settings, as a device
//! restarting with the same client id would.

use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::sync::mpsc;
use std::time::Duration;

use mqttas::driver::{Storage, TcpDriver};
use mqttas::session::ConnectOptions;
use mqttas::wire::{Properties, Property, SubOptions, Subscription, Will};
use mqttas::{Client, Config, Event, QoS, ReasonCode, Version};

/// Bytes of each topic alias table: the inbound aliases we accept when a
/// connect asks for them, the outbound ones a publication sets.
const ALIAS_TABLE: usize = 4096;

fn out(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok())
        .collect()
}

/// A command line's `key=value` tokens, in order.
struct Args<'a>(Vec<(&'a str, &'a str)>);

impl<'a> Args<'a> {
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }
    fn num(&self, key: &str, default: u32) -> u32 {
        self.get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    }
}

fn qos(n: u32) -> QoS {
    match n {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

/// The 5.0 properties of an event, as ` key=value` tokens.
fn props(p: &Properties<'_>) -> String {
    let mut s = String::new();
    for prop in p.iter() {
        let _ = match prop {
            Property::MessageExpiryInterval(v) => write!(s, " expiry={v}"),
            Property::TopicAlias(v) => write!(s, " alias={v}"),
            Property::TopicAliasMaximum(v) => write!(s, " alias_max={v}"),
            Property::ReceiveMaximum(v) => write!(s, " recv_max={v}"),
            Property::MaximumQoS(v) => write!(s, " max_qos={v}"),
            Property::RetainAvailable(v) => write!(s, " retain_available={v}"),
            Property::UserProperty(k, v) => write!(s, " up={k}:{v}"),
            Property::ReasonString(v) => write!(s, " reason_string={v}"),
            other => write!(s, " prop={}", format!("{other:?}").replace(' ', "")),
        };
    }
    s
}

fn codes(c: &[u8]) -> String {
    c.iter().map(u8::to_string).collect::<Vec<_>>().join(",")
}

fn on_event(e: &Event<'_>) -> bool {
    match e {
        Event::Connected {
            session_present,
            properties,
        } => out(&format!(
            "connected sp={}{}",
            u8::from(*session_present),
            props(properties)
        )),
        Event::Message(m) => out(&format!(
            "msg topic={} payload={} qos={} retain={} dup={}{}",
            m.topic,
            hex(m.payload),
            m.qos as u8,
            u8::from(m.retain),
            u8::from(m.dup),
            props(&m.properties)
        )),
        Event::Published { packet_id, reason } => {
            out(&format!("published pid={packet_id} reason={}", reason.0))
        }
        Event::Subscribed { codes: c, .. } => out(&format!("suback codes={}", codes(c))),
        Event::Unsubscribed { codes: c, .. } => out(&format!("unsuback codes={}", codes(c))),
        Event::ConnectionLost(why) => out(&format!("lost why={why}")),
        Event::Disconnected => out("disconnected"),
        other => out(&format!("event what={other:?}")),
    }
    false
}

fn connect(a: &Args<'_>) -> Result<TcpDriver<'static>, String> {
    let v5 = a.num("v", 4) == 5;
    let clean = a.num("clean", 1) != 0;
    let config = Config {
        version: if v5 { Version::V5 } else { Version::V311 },
        keep_alive: a.num("ka", 30) as u16,
        response_time_ms: 5000,
        clean_init: clean,
        clean,
        session_expiry: a.get("expiry").and_then(|v| v.parse().ok()),
        topic_alias_maximum: if v5 { a.num("alias_max", 0) as u16 } else { 0 },
        ..Config::default()
    };
    // Each connect is a new client (a device restart): its buffers live
    // as long as the program.
    let storage = Box::leak(Box::new(
        Storage::new(65536, 16384, 65536, ALIAS_TABLE).with_out_aliases(ALIAS_TABLE),
    ));
    let client = Client::new(config, storage.buffers()).map_err(|e| e.to_string())?;
    let mut driver = TcpDriver::new(client);
    let will_payload = unhex(a.get("will_payload").unwrap_or(""));
    let will = a.get("will_topic").map(|topic| Will {
        topic,
        payload: &will_payload,
        qos: qos(a.num("will_qos", 0)),
        retain: a.num("will_retain", 0) != 0,
        properties: Properties::List(&[]),
    });
    let options = ConnectOptions {
        client_id: a.get("id").unwrap_or(""),
        will,
        ..Default::default()
    };
    driver
        .connect(("127.0.0.1", a.num("port", 1883) as u16), &options)
        .map_err(|e| format!("cannot connect: {e}"))?;
    Ok(driver)
}

fn publish(d: &mut TcpDriver<'_>, a: &Args<'_>) {
    let mut list = Vec::new();
    for (k, v) in &a.0 {
        match *k {
            "expiry" => list.push(Property::MessageExpiryInterval(v.parse().unwrap_or(0))),
            "alias" => list.push(Property::TopicAlias(v.parse().unwrap_or(0))),
            "up" => {
                if let Some((name, value)) = v.split_once(':') {
                    list.push(Property::UserProperty(name, value));
                }
            }
            _ => {}
        }
    }
    let payload = unhex(a.get("payload").unwrap_or(""));
    match d.publish(
        a.get("topic").unwrap_or(""),
        &payload,
        qos(a.num("qos", 0)),
        a.num("retain", 0) != 0,
        &list,
    ) {
        Ok(pid) => out(&format!("queued pid={pid}")),
        Err(e) => out(&format!("error what=publish:{e}")),
    }
}

/// Run one command; false for `quit`.
fn command(driver: &mut Option<TcpDriver<'static>>, line: &str) -> bool {
    let mut words = line.split(' ').filter(|w| !w.is_empty());
    let Some(name) = words.next() else {
        return true;
    };
    let a = Args(words.filter_map(|w| w.split_once('=')).collect());
    match (name, driver.as_mut()) {
        ("quit", _) => return false,
        ("ping", _) => out("pong"),
        ("connect", _) => {
            if let Some(mut old) = driver.take() {
                old.drop_link();
            }
            match connect(&a) {
                Ok(d) => *driver = Some(d),
                Err(e) => out(&format!("lost why={e}")),
            }
        }
        (_, None) => out(&format!("error what={name}:no client yet")),
        ("pub", Some(d)) => publish(d, &a),
        ("sub", Some(d)) => {
            let sub = [Subscription {
                filter: a.get("topic").unwrap_or(""),
                options: SubOptions::qos(qos(a.num("qos", 0))),
            }];
            if let Err(e) = d.subscribe(&sub, &[]) {
                out(&format!("error what=subscribe:{e}"));
            }
        }
        ("unsub", Some(d)) => {
            if let Err(e) = d.unsubscribe(&[a.get("topic").unwrap_or("")], &[]) {
                out(&format!("error what=unsubscribe:{e}"));
            }
        }
        ("disconnect", Some(d)) => {
            if let Err(e) = d.disconnect(ReasonCode::SUCCESS, &[]) {
                out(&format!("error what=disconnect:{e}"));
            }
        }
        ("drop", Some(d)) => {
            d.drop_link();
            out("dropped");
        }
        (other, Some(_)) => out(&format!("error what={other}:unknown command")),
    }
    true
}

fn main() {
    let (tx, rx) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut driver: Option<TcpDriver<'static>> = None;
    loop {
        // Commands first, then a short poll of the connection.
        loop {
            match rx.try_recv() {
                Ok(line) => {
                    if !command(&mut driver, &line) {
                        return;
                    }
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => return,
            }
        }
        match driver.as_mut() {
            // Without a link it just sleeps that long.
            Some(d) => {
                d.poll_once(Duration::from_millis(20), on_event);
            }
            None => match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(line) => {
                    if !command(&mut driver, &line) {
                        return;
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => return,
            },
        }
    }
}
