//! Drivers: a [`Client`](crate::Client) over a link, with a clock.
//!
//! The core does no I/O and reads no clock. [`Driver`] is the one pump
//! that supplies both: over any [`Transport`] (a byte stream to the
//! broker) and [`Ticks`] (a millisecond clock) it sends what the client
//! queues, feeds it what arrives, fires its timers and hands its events to
//! a closure, never waiting longer than it is told. It needs no std; the
//! drivers are it over their link:
//!
//! - [`TcpDriver`] (feature `std`): a plain `std::net::TcpStream`, read
//!   with a timeout taken from
//!   [`Client::poll_deadline`](crate::Client::poll_deadline), an
//!   [`Instant`](std::time::Instant)-based millisecond [`Clock`], and the
//!   outage policy ([`crate::reconnect`]). Enough for the demo, the
//!   integration tests and simple host programs.
//! - `IoDriver` (feature `embedded-io`, in [`crate::io`]): any
//!   `embedded_io::{Read, Write, ReadReady}` transport, read only when
//!   ready.
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

#[cfg(feature = "std")]
mod clock;
mod pump;
#[cfg(feature = "std")]
mod storage;
#[cfg(feature = "std")]
mod tcp;
mod transport;

#[cfg(feature = "std")]
pub use clock::Clock;
pub use pump::{Driver, LinkEnd, Outcome};
#[cfg(feature = "std")]
pub use storage::{Storage, HOST_INBOUND_QOS2_IDS};
#[cfg(feature = "std")]
pub use tcp::{Error, TcpDriver};
pub use transport::{Received, Ticks, Transport};
