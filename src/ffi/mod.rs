//! The C ABI: a thin layer over [`crate::Client`], in the manner of
//! rustls-ffi.
//!
//! Every item is named as C callers write it (`mqttas_` prefix, C case) and
//! is described in the generated header `include/mqttas.h`. The rules the
//! whole layer keeps:
//!
//! - Memory is the caller's: the client, the radio and the outage policy
//!   each live in caller storage (`mqttas_X_size()` bytes aligned to
//!   `mqttas_X_align()`, one mechanism for all three: `handle.rs`) and
//!   borrow the caller's buffers until `mqttas_X_deinit`. Nothing is
//!   allocated and there is no global mutable state.
//! - Every fallible call returns a [`mqttas_result`] whose numbers are fixed
//!   and never reused; [`mqttas_strerror`] gives its text.
//! - A NULL pointer or a short buffer is reported, never dereferenced; inputs
//!   come before outputs.
//! - Pointers handed out (events, bytes to send) borrow from the client and
//!   stay valid until the next call that takes the client.
//! - Time is a `uint32_t` millisecond tick that may wrap around.
//!
//!
//! No logic lives here beyond converting C values to Rust ones and back.
//! This is where the crate's `unsafe` is: every `unsafe` block holds one
//! unsafe operation, preceded by a `SAFETY:` comment that says why it is
//! sound, and an `unsafe fn`'s body is no unsafe block of its own (the lints
//! below hold every change to that).
#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]
#![warn(
    clippy::undocumented_unsafe_blocks,
    clippy::multiple_unsafe_ops_per_block
)]

mod args;
mod client;
mod config;
mod event;
mod handle;
mod property;
mod radio;
mod reconnect;
mod result;
mod text;

pub use client::*;
pub use config::*;
pub use event::*;
pub use property::*;
pub use radio::*;
pub use reconnect::*;
pub use result::*;
pub use text::*;

/// The no_std C library has no standard library to print a panic: stop
/// here. The release profile aborts on panic anyway, and the core does not
/// panic on any input; this only makes the `no_std` staticlib link.
#[cfg(all(not(feature = "std"), not(test)))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
