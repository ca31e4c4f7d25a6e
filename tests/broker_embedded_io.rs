//! The `embedded-io` adapter against a real mosquitto, over a
//! non-blocking std socket dressed as an embedded-io transport.
#![cfg(feature = "embedded-io")]

mod common;

use std::io::{ErrorKind as StdKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{unique, Mosquitto, Options};
use embedded_io::{ErrorKind, ErrorType, Read, ReadReady, Write};
use mqttas::io::IoDriver;
use mqttas::session::{Buffers, ConnectOptions, State};
use mqttas::wire::{SubOptions, Subscription};
use mqttas::{Client, Config, Event, QoS, ReasonCode, Version};

/// A non-blocking TCP socket behind the embedded-io traits.
struct Link(TcpStream);

impl ErrorType for Link {
    type Error = ErrorKind;
}

impl ReadReady for Link {
    fn read_ready(&mut self) -> Result<bool, ErrorKind> {
        match self.0.peek(&mut [0u8; 1]) {
            // Ok(0) is end of stream: ready, read will say so.
            Ok(_) => Ok(true),
            Err(e) if e.kind() == StdKind::WouldBlock => Ok(false),
            Err(_) => Err(ErrorKind::ConnectionReset),
        }
    }
}

impl Read for Link {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, ErrorKind> {
        self.0.read(buf).map_err(|_| ErrorKind::ConnectionReset)
    }
}

impl Write for Link {
    fn write(&mut self, buf: &[u8]) -> Result<usize, ErrorKind> {
        loop {
            match self.0.write(buf) {
                Err(e) if e.kind() == StdKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                other => return other.map_err(|_| ErrorKind::ConnectionReset),
            }
        }
    }

    fn flush(&mut self) -> Result<(), ErrorKind> {
        Ok(())
    }
}

fn run(version: Version) {
    let broker = Mosquitto::start(Options::default());
    let id = unique("eio");
    let (mut rx, mut tx, mut store) = ([0u8; 2048], [0u8; 2048], [0u8; 4096]);
    let mut ids = [0u16; 16];
    let buffers = Buffers {
        rx: &mut rx,
        tx: &mut tx,
        store: &mut store,
        inbound_qos2: &mut ids,
        ..Default::default()
    };
    let config = Config {
        version,
        keep_alive: 1,
        ..Config::default()
    };
    let client = Client::new(config, buffers).expect("Client::new");
    let epoch = Instant::now();
    let mut inbuf = [0u8; 256];
    let mut driver = IoDriver::new(
        client,
        move || epoch.elapsed().as_millis() as u32,
        &mut inbuf,
    );

    let socket = TcpStream::connect(broker.addr()).expect("connect");
    socket.set_nonblocking(true).expect("non-blocking");
    driver
        .connect(
            Link(socket),
            &ConnectOptions {
                client_id: &id,
                ..Default::default()
            },
        )
        .expect("connect");

    // The caller's loop: poll, then sleep a little (a device would sleep
    // until idle_ms() or an interrupt).
    let poll_until = |driver: &mut IoDriver<'_, '_, Link, _>,
                      secs: u64,
                      want: &mut dyn FnMut(&Event<'_>) -> bool| {
        let end = Instant::now() + Duration::from_secs(secs);
        while Instant::now() < end {
            if driver.poll(|e| want(e)) {
                return true;
            }
            let idle = driver.idle_ms().unwrap_or(5).min(5);
            std::thread::sleep(Duration::from_millis(u64::from(idle.max(1))));
        }
        false
    };

    assert!(
        poll_until(&mut driver, 5, &mut |e| matches!(
            e,
            Event::Connected { .. }
        )),
        "no CONNACK"
    );
    let topic = format!("{id}/t");
    let subs = [Subscription {
        filter: &topic,
        options: SubOptions::qos(QoS::ExactlyOnce),
    }];
    driver.subscribe(&subs, &[]).expect("subscribe");
    assert!(
        poll_until(&mut driver, 5, &mut |e| matches!(
            e,
            Event::Subscribed { .. }
        )),
        "no SUBACK"
    );

    let pid = driver
        .publish(&topic, b"over embedded-io", QoS::ExactlyOnce, false, &[])
        .expect("publish");
    let (mut got, mut done) = (false, false);
    poll_until(&mut driver, 5, &mut |e| {
        match e {
            Event::Message(m) => got |= m.topic == topic && m.payload == b"over embedded-io",
            Event::Published { packet_id, reason } => {
                done |= *packet_id == pid && reason.is_success()
            }
            _ => {}
        }
        got && done
    });
    assert!(got && done, "message back: {got}, PUBCOMP: {done}");

    // Keep alive 1 s: the adapter's timers keep the connection up.
    let lost = poll_until(&mut driver, 3, &mut |e| {
        matches!(e, Event::ConnectionLost(_))
    });
    assert!(!lost, "connection lost while idle");
    assert_eq!(driver.client().state(), State::Connected);
    let pings = broker
        .log()
        .matches(&format!("Received PINGREQ from {id}"))
        .count();
    assert!(pings >= 3, "{pings} PINGREQs in 3 s with keep alive 1 s");

    driver
        .disconnect(ReasonCode::SUCCESS, &[])
        .expect("disconnect");
    assert!(
        poll_until(&mut driver, 5, &mut |e| matches!(e, Event::Disconnected)),
        "no Disconnected"
    );
    assert!(!driver.is_link_up());
    let Link(mut socket) = driver.take_link().expect("transport back");
    // The broker closes its side after our DISCONNECT.
    socket.set_nonblocking(false).expect("blocking");
    socket
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    assert_eq!(
        socket.read(&mut [0u8; 16]).expect("read"),
        0,
        "broker did not close"
    );
}

#[test]
fn v311_over_embedded_io() {
    run(Version::V311);
}

#[test]
fn v5_over_embedded_io() {
    run(Version::V5);
}
