//! The client session: an MQTT state machine without I/O.
//!
//! In the handle/poll style of quinn-proto: the caller feeds bytes
//! ([`Client::handle_input`]), time ([`Client::handle_timeout`]), link loss
//! ([`Client::handle_link_down`]) and commands (connect, publish, ...), and
//! takes bytes to send ([`Client::poll_transmit`]), events
//! ([`Client::poll_event`]) and the next deadline ([`Client::poll_deadline`]).
//! Time is a `u32` millisecond tick from any monotonic clock; it may wrap
//! (see [`crate::time`]).

mod aliases;
mod client;
mod config;
mod error;
mod event;
mod qos2;
mod stats;
mod store;

pub use client::{Buffers, Client, State, MAX_PENDING_REQUESTS};
pub use config::{Config, ConnectOptions};
pub use error::Error;
pub use event::{Awaited, Event, LostReason, Message, MessageStart};
pub use stats::{Qos2Stats, Stats};
