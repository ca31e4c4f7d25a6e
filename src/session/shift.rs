//! Moving bytes down within a buffer (the receive buffer, the store, the
//! alias table) without `memmove`.
//!
//! `copy_within` is a `memmove`, and Rust's own (compiler_builtins') takes
//! 1.5 KiB of flash on a Cortex-M, which a firmware carries beside its C
//! library's. Moving down by `gap` bytes is a series of copies of at most
//! `gap` bytes that do not overlap, each a `memcpy`, which the code needs
//! anyway.

/// Move `buf[from..to]` to `buf[at..]`, `at <= from`.
pub(super) fn down_to(buf: &mut [u8], at: usize, from: usize, to: usize) {
    let gap = from.saturating_sub(at);
    if gap == 0 {
        return;
    }
    let (mut dst, mut src) = (at, from);
    while src < to {
        let n = gap.min(to - src);
        let Some((lo, hi)) = buf.split_at_mut_checked(src) else {
            return;
        };
        if let (Some(d), Some(s)) = (lo.get_mut(dst..dst + n), hi.get(..n)) {
            d.copy_from_slice(s);
        }
        dst += n;
        src += n;
    }
}

/// Move `buf[from..to]` to the start of `buf`.
pub(super) fn down(buf: &mut [u8], from: usize, to: usize) {
    down_to(buf, 0, from, to);
}

/// Move `buf[from..to]` up by `by` bytes, to `buf[from + by..to + by]`.
pub(super) fn up(buf: &mut [u8], from: usize, to: usize, by: usize) {
    if by == 0 {
        return;
    }
    let mut end = to;
    while end > from {
        let n = by.min(end - from);
        let Some((lo, hi)) = buf.split_at_mut_checked(end) else {
            return;
        };
        if let (Some(d), Some(s)) = (hi.get_mut(by - n..by), lo.get(end - n..end)) {
            d.copy_from_slice(s);
        }
        end -= n;
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    /// Every buffer length below this; fewer under Miri, where each case
    /// costs thousands of times more (every case up to 24 took 5 minutes).
    const LENGTHS: usize = if cfg!(miri) { 12 } else { 24 };

    #[test]
    fn moves_like_copy_within() {
        for len in 0..LENGTHS {
            for at in 0..len {
                for from in at..=len {
                    for to in from..=len {
                        let mut a: std::vec::Vec<u8> = (0..len as u8).collect();
                        let mut b = a.clone();
                        down_to(&mut a, at, from, to);
                        b.copy_within(from..to, at);
                        assert_eq!(a, b, "len {len} at {at} from {from} to {to}");
                    }
                }
            }
        }
    }

    #[test]
    fn moves_up_like_copy_within() {
        for len in 0..LENGTHS {
            for from in 0..=len {
                for to in from..=len {
                    for by in 0..=len - to {
                        let mut a: std::vec::Vec<u8> = (0..len as u8).collect();
                        let mut b = a.clone();
                        up(&mut a, from, to, by);
                        b.copy_within(from..to, from + by);
                        assert_eq!(a, b, "len {len} from {from} to {to} by {by}");
                    }
                }
            }
        }
    }
}
