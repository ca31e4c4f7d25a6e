//! Time: a wrapping 32-bit tick.
//!
//! The core reads no clock: the caller passes the time in, as a `u32` count
//! of milliseconds from any monotonic source (MicroPython's
//! `time.ticks_ms()`, a 32-bit MCU counter, [`std::time::Instant`] through
//! the driver's clock). Such a count wraps, after about 49.7 days or sooner,
//! so two instants are compared through their wrapping difference, which
//! is right while they are less than 2^31 ms (about 24.8 days) apart, as in
//! smoltcp's `time.rs` and its TCP sequence numbers. [`Tick`] is that
//! count; every timer of the session, the outage policy, the radio and the
//! drivers compares through it, and nothing compares raw `u32` times.
//!
//! The public API keeps plain `u32` milliseconds where time goes in or
//! comes out (`handle_timeout(now: u32)`, `poll_deadline() ->
//! Option<u32>`): a [`Tick`] converts both ways with `From`/`Into` (and
//! [`Tick::from_millis`], [`Tick::millis`]), without any change to the
//! value. Durations are plain `u32` milliseconds.

use core::cmp::Ordering;
use core::ops::Add;

/// A point on a wrapping 32-bit count: milliseconds for every clock of the
/// crate (the radio also counts its transmissions with one).
///
/// `a < b` means `a` comes before `b` on the circle: `b - a`, wrapping, is
/// below 2^31. The order is that of the instants while they are less than
/// 2^31 apart; it is not total (`Tick` is `PartialOrd` only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Tick(u32);

impl Tick {
    /// The tick `ms`.
    #[inline(always)]
    pub const fn from_millis(ms: u32) -> Tick {
        Tick(ms)
    }

    /// The count, in milliseconds.
    #[inline(always)]
    pub const fn millis(self) -> u32 {
        self.0
    }

    /// True when `deadline` has come at `self`: at or after it.
    #[inline(always)]
    pub fn reached(self, deadline: Tick) -> bool {
        self >= deadline
    }

    /// Milliseconds from `earlier` to `self`, 0 when `earlier` is in fact
    /// after `self` (time never runs backwards: a negative span is a
    /// wrapped zero).
    #[inline]
    pub fn saturating_since(self, earlier: Tick) -> u32 {
        if self > earlier {
            self.0.wrapping_sub(earlier.0)
        } else {
            0
        }
    }

    /// Milliseconds from `earlier` to `self`, wrapping: what a `u32` clock
    /// shows as elapsed.
    #[inline(always)]
    pub const fn wrapping_since(self, earlier: Tick) -> u32 {
        self.0.wrapping_sub(earlier.0)
    }

    /// Milliseconds from `self` (now) until `deadline`, negative once it
    /// has passed: the wrapping difference, right while the two are less
    /// than 2^31 ms apart. Deadlines compared through it are compared with
    /// now rather than with each other (see [`Tick::earliest`]).
    #[inline(always)]
    pub const fn until(self, deadline: Tick) -> i32 {
        deadline.0.wrapping_sub(self.0) as i32
    }

    /// The earlier of two optional deadlines, each compared with `self`
    /// (now) rather than with each other: the right one while both are
    /// less than 2^31 ms from now, even when they are further apart.
    pub fn earliest(self, a: Option<Tick>, b: Option<Tick>) -> Option<Tick> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if self.until(a) <= self.until(b) { a } else { b }),
            (a, None) => a,
            (None, b) => b,
        }
    }
}

impl PartialOrd for Tick {
    #[inline(always)]
    fn partial_cmp(&self, other: &Tick) -> Option<Ordering> {
        Some((self.0.wrapping_sub(other.0) as i32).cmp(&0))
    }
}

/// `ms` milliseconds later, wrapping.
impl Add<u32> for Tick {
    type Output = Tick;

    #[inline(always)]
    fn add(self, ms: u32) -> Tick {
        Tick(self.0.wrapping_add(ms))
    }
}

impl From<u32> for Tick {
    #[inline(always)]
    fn from(ms: u32) -> Tick {
        Tick(ms)
    }
}

impl From<Tick> for u32 {
    #[inline(always)]
    fn from(t: Tick) -> u32 {
        t.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn t(ms: u32) -> Tick {
        Tick::from_millis(ms)
    }

    #[test]
    fn comparisons_wrap() {
        assert!(t(5).reached(t(0xFFFF_FFF0)), "5 is 21 ms after 0xFFFF_FFF0");
        assert!(!t(0xFFFF_FFF0).reached(t(5)));
        assert!(t(7).reached(t(7)));
        assert!(t(0xFFFF_FFF0) < t(5) && t(5) > t(0xFFFF_FFF0));
        assert!(t(0x7FFF_FFFF) > t(0), "2^31 - 1 ahead");
        assert!(t(0x8000_0001) < t(0), "2^31 + 1 ahead is 2^31 - 1 behind");
        assert_eq!(t(0xFFFF_FFFF) + 2, t(1));
    }

    #[test]
    fn spans() {
        assert_eq!(t(5).saturating_since(t(0xFFFF_FFF0)), 21);
        assert_eq!(t(0xFFFF_FFF0).saturating_since(t(5)), 0);
        assert_eq!(t(1000).saturating_since(t(400)), 600);
        assert_eq!(t(400).saturating_since(t(400)), 0);
        assert_eq!(t(400).wrapping_since(t(1000)), 0u32.wrapping_sub(600));
        assert_eq!(t(5).wrapping_since(t(0xFFFF_FFF0)), 21);
    }

    #[test]
    fn until_is_signed() {
        assert_eq!(t(0xFFFF_FFF0).until(t(5)), 21);
        assert_eq!(t(5).until(t(0xFFFF_FFF0)), -21);
        assert_eq!(t(7).until(t(7)), 0);
    }

    #[test]
    fn earliest_is_seen_from_now() {
        let now = t(0xFFFF_FF00);
        assert_eq!(
            now.earliest(Some(t(3)), Some(t(0xFFFF_FFF0))),
            Some(t(0xFFFF_FFF0))
        );
        assert_eq!(t(0).earliest(None, Some(t(9))), Some(t(9)));
        assert_eq!(t(0).earliest(Some(t(9)), None), Some(t(9)));
        assert_eq!(t(0).earliest(None, None), None);
        // One deadline long past, one far ahead: more than 2^31 apart, yet
        // the past one is the earlier, seen from now.
        let past = t(0u32.wrapping_sub(0x4000_0010));
        let ahead = t(0x4000_0010);
        assert_eq!(t(0).earliest(Some(ahead), Some(past)), Some(past));
        assert_eq!(t(0).earliest(Some(past), Some(ahead)), Some(past));
    }

    #[test]
    fn converts_without_change() {
        assert_eq!(u32::from(Tick::from(0xDEAD_BEEF)), 0xDEAD_BEEF);
        assert_eq!(t(42).millis(), 42);
    }
}
