//! The millisecond clock the drivers give the core.

use std::time::Instant;

/// Milliseconds since creation as a wrapping `u32`, from the monotonic
/// [`Instant`]: the time base the core expects.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    epoch: Instant,
    start: u32,
}

impl Clock {
    /// A clock reading 0 now.
    pub fn new() -> Self {
        Clock::starting_at(0)
    }

    /// A clock reading `start` now. A start just below `u32::MAX` makes the
    /// ticks wrap soon, to exercise wrap-around on a real connection.
    pub fn starting_at(start: u32) -> Self {
        Clock {
            epoch: Instant::now(),
            start,
        }
    }

    /// The current tick.
    pub fn now(&self) -> u32 {
        // Truncation to u32 is the wrap-around the core is built for.
        self.start
            .wrapping_add(self.epoch.elapsed().as_millis() as u32)
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}
