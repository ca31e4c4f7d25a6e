//! The client session: an MQTT state machine without I/O.
//!
//! In the handle/poll style of quinn-proto: the caller feeds bytes
//! ([`Client::handle_input`]), time ([`Client::handle_timeout`]), link loss
//! ([`Client::handle_link_down`]) and commands (connect, publish, ...), and
//! takes bytes to send ([`Client::poll_transmit`]), events
//! ([`Client::poll_event`]) and the next deadline ([`Client::poll_deadline`]).
//! Time is a `u32` millisecond tick from any monotonic clock; it may wrap
//! (see [`crate::time`]).
//!
//! Inside, as minimq splits its session: the client and its entry points
//! (`client.rs`); one connection's state, replaced whole on connect and on
//! link loss (`connection.rs`); the durable session that outlives it
//! (`durable.rs`: the store, packet ids, inbound QoS 2 ids, outbound
//! aliases); the inbound and outbound flows (`inbound.rs`, `outbound.rs`);
//! the timers, one table read by both the deadline and the expiry
//! (`timer.rs`).

mod aliases;
mod client;
mod config;
mod connection;
mod desc;
mod durable;
mod error;
mod event;
mod inbound;
mod outbound;
mod qos2;
mod rx;
mod shift;
mod stats;
mod store;
mod timer;

#[cfg(feature = "ffi-min")]
pub(crate) use client::Next;
pub use client::{Buffers, Client, State, MAX_PENDING_REQUESTS};
pub use config::{Config, ConnectOptions};
pub use error::{AliasError, ConfigError, Error, Feature};
pub use event::{Awaited, Event, Loss, LostReason, Message, MessageStart};
pub use outbound::{BorrowedPayload, Transmit};
pub use stats::{Qos2Stats, Stats};
