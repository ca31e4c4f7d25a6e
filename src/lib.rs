//! # mqttas: a sans-IO MQTT 3.1.1 and 5.0 client core
//!
//! `no_std`, no allocation, no I/O, no clock. Bytes, time and link state go
//! in; bytes to send, events and the next deadline come out. The caller owns
//! every buffer.
//!
//! - [`wire`]: the packet codec, zero-copy decode and encode into a buffer.
//! - [`session`]: the client state machine (`handle_*` / `poll_*`).
//! - [`time`]: the wrapping millisecond tick every timer compares through.
//! - [`radio`]: framing + ARQ turning a lossy packet radio into a byte stream
//!   (feature `radio`).
#![cfg_attr(not(feature = "std"), no_std)]
#![deny(missing_docs)]
// No unsafe code but in the C ABI (`ffi`) and the one UTF-8 fast path
// (`wire::utf8`), each `unsafe` there with its `SAFETY:` comment.
#![deny(unsafe_code)]
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

pub mod driver;
#[cfg(feature = "ffi-min")]
#[allow(unsafe_code)]
pub mod ffi;
#[cfg(feature = "embedded-io")]
pub mod io;
#[cfg(feature = "radio")]
pub mod radio;
pub mod reconnect;
pub mod session;
mod text;
pub mod time;
pub mod wire;

pub use session::{Client, Config, Error, Event};
pub use wire::{QoS, ReasonCode, Version};
