//! Stop on SIGINT or SIGTERM: the handler sets a flag the main loop reads.
//!
//! Shared by the gateway and the test client (tests/bin/mqttas-client.rs
//! includes this file with `#[path]`): host programs only, no part of the
//! library.

use std::sync::atomic::{AtomicBool, Ordering};

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_sig: i32) {
    STOP.store(true, Ordering::SeqCst);
}

extern "C" {
    // From the C library every Rust program on Linux links with; no libc
    // crate needed for one call.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

const SIGINT: i32 = 2;
const SIGTERM: i32 = 15;

/// Installs the handler for SIGINT and SIGTERM.
pub fn install() {
    // SAFETY: the handler only stores to an atomic.
    unsafe {
        signal(SIGINT, on_signal);
        signal(SIGTERM, on_signal);
    }
}

/// Whether SIGINT or SIGTERM has come since [`install`].
pub fn requested() -> bool {
    STOP.load(Ordering::SeqCst)
}
