//! Wrapping millisecond ticks.
//!
//! Time is a `u32` count of milliseconds that wraps after about 49.7 days
//! (MicroPython's `ticks_ms()` wraps sooner on some ports). Two instants are
//! compared through their wrapping difference, which is correct while they
//! are less than about 24.8 days apart.

/// True when `deadline` has been reached at `now`.
pub(crate) fn reached(now: u32, deadline: u32) -> bool {
    (now.wrapping_sub(deadline) as i32) >= 0
}

/// The earlier of two optional deadlines, seen from `now`.
pub(crate) fn earliest(now: u32, a: Option<u32>, b: Option<u32>) -> Option<u32> {
    match (a, b) {
        (Some(a), Some(b)) => {
            let da = a.wrapping_sub(now) as i32;
            let db = b.wrapping_sub(now) as i32;
            Some(if da <= db { a } else { b })
        }
        (a, None) => a,
        (None, b) => b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert!(reached(5, 0xFFFF_FFF0));
        assert!(!reached(0xFFFF_FFF0, 5));
        assert!(reached(7, 7));
        assert_eq!(
            earliest(0xFFFF_FF00, Some(3), Some(0xFFFF_FFF0)),
            Some(0xFFFF_FFF0)
        );
        assert_eq!(earliest(0, None, Some(9)), Some(9));
        assert_eq!(earliest(0, None, None), None);
    }
}
