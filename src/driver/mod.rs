//! A small blocking TCP driver for the host (feature `std`).
//!
//! The core does no I/O and reads no clock; [`TcpDriver`] supplies both for
//! a plain `std::net::TcpStream`: it reads with a timeout taken from
//! [`Client::poll_deadline`](crate::Client::poll_deadline), feeds the bytes
//! in, sends what the client queues, fires its timers from an
//! [`Instant`](std::time::Instant)-based millisecond [`Clock`], and hands
//! events to a closure. Enough for the demo, the integration tests and
//! simple host programs.
//!
//! ```no_run
//! use std::time::Duration;
//! use mqttas::driver::{Storage, TcpDriver};
//! use mqttas::session::ConnectOptions;
//! use mqttas::wire::{SubOptions, Subscription};
//! use mqttas::{Client, Config, Event, QoS};
//!
//! # fn main() -> Result<(), mqttas::driver::Error> {
//! let mut storage = Storage::default();
//! let client = Client::new(Config::default(), storage.buffers())?;
//! let mut driver = TcpDriver::new(client);
//! driver.connect("127.0.0.1:1883", &ConnectOptions { client_id: "demo", ..Default::default() })?;
//! driver.run_until(Duration::from_secs(5), |e| matches!(e, Event::Connected { .. }));
//! let sub = [Subscription { filter: "demo/#", options: SubOptions::qos(QoS::AtLeastOnce) }];
//! driver.subscribe(&sub, &[])?;
//! driver.publish("demo/hello", b"hi", QoS::AtLeastOnce, false, &[])?;
//! driver.run_until(Duration::from_secs(5), |e| {
//!     if let Event::Message(m) = e {
//!         println!("{}: {:?}", m.topic, m.payload);
//!     }
//!     matches!(e, Event::Published { .. })
//! });
//! # Ok(())
//! # }
//! ```

mod clock;
pub(crate) mod pump;
mod storage;
mod tcp;

pub use clock::Clock;
pub use storage::{Storage, HOST_INBOUND_QOS2_IDS};
pub use tcp::{Error, LinkEnd, TcpDriver};
