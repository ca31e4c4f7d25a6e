//! Waiting on several descriptors at once: poll(2), from the C library every
//! Rust program on Linux and the BSDs links with (std has no portable
//! readiness API, and one thread per connection would need locks around
//! each node's radio state).

use std::os::fd::RawFd;
use std::os::raw::{c_int, c_short, c_ulong};

/// Readable.
pub const POLLIN: c_short = 0x1;
/// Writable.
pub const POLLOUT: c_short = 0x4;

#[repr(C)]
struct PollFd {
    fd: c_int,
    events: c_short,
    revents: c_short,
}

extern "C" {
    fn poll(fds: *mut PollFd, nfds: c_ulong, timeout: c_int) -> c_int;
}

/// The descriptors of one wait.
#[derive(Default)]
pub struct Poller {
    fds: Vec<PollFd>,
}

impl Poller {
    /// Forget the previous wait's descriptors.
    pub fn clear(&mut self) {
        self.fds.clear();
    }

    /// Wait for `events` (POLLIN, POLLOUT) on `fd`.
    pub fn add(&mut self, fd: RawFd, events: c_short) {
        self.fds.push(PollFd {
            fd,
            events,
            revents: 0,
        });
    }

    /// Block until a descriptor is ready or `timeout_ms` passes. Errors
    /// (EINTR from a signal) end the wait early, which is harmless: the
    /// caller's loop looks at everything again.
    pub fn wait(&mut self, timeout_ms: u32) {
        let timeout = c_int::try_from(timeout_ms).unwrap_or(c_int::MAX);
        let n = c_ulong::try_from(self.fds.len()).unwrap_or(0);
        // SAFETY: `fds` points to `n` initialised PollFd structs laid out as
        // the C `struct pollfd`; poll only writes their `revents` fields.
        unsafe {
            poll(self.fds.as_mut_ptr(), n, timeout);
        }
    }
}
