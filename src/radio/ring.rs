//! Byte copies into, out of and within a caller-owned ring buffer.
//!
//! Positions are physical indices into the slice; every copy wraps at its
//! end. The callers keep positions below the capacity and lengths within
//! it; out-of-range values are clamped into range instead of panicking (no
//! division: a Cortex-M0 has none, and the library routine costs 0.4 KiB).
//! Results are always below the capacity.

/// `pos` clamped below `cap` (0 when `cap` is 0): the identity for the
/// positions the callers pass.
fn clamp(pos: usize, cap: usize) -> usize {
    pos.min(cap.saturating_sub(1))
}

/// `pos + n` wrapped at `cap`, for `pos < cap` and `n <= cap` (others are
/// clamped first); 0 when `cap` is 0. Not inlined: it is called in a
/// dozen places.
#[inline(never)]
pub(crate) fn add(pos: usize, n: usize, cap: usize) -> usize {
    let a = clamp(pos, cap);
    let b = n.min(cap);
    // a < cap and b <= cap: no overflow, at most one wrap.
    if a >= cap - b {
        a - (cap - b)
    } else {
        a + b
    }
}

/// Copy `min(dst.len(), src.len())` bytes.
fn copy(dst: &mut [u8], src: &[u8]) {
    let n = dst.len().min(src.len());
    if let (Some(d), Some(s)) = (dst.get_mut(..n), src.get(..n)) {
        d.copy_from_slice(s);
    }
}

/// Write `src` into `buf` from `pos`, wrapping at the end.
pub(crate) fn write(buf: &mut [u8], pos: usize, src: &[u8]) {
    let cap = buf.len();
    let pos = clamp(pos, cap);
    let src = src.get(..src.len().min(cap)).unwrap_or(&[]);
    let first = src.len().min(cap - pos);
    let (a, b) = src.split_at(first);
    if let Some(dst) = buf.get_mut(pos..pos + first) {
        copy(dst, a);
    }
    copy(buf, b);
}

/// Fill `dst` from `buf` starting at `pos`, wrapping at the end.
pub(crate) fn read(buf: &[u8], pos: usize, dst: &mut [u8]) {
    let cap = buf.len();
    let pos = clamp(pos, cap);
    let len = dst.len().min(cap);
    let first = len.min(cap - pos);
    let (a, b) = dst.split_at_mut(first);
    if let Some(src) = buf.get(pos..pos + first) {
        copy(a, src);
    }
    copy(b, buf);
}

/// Move `len` bytes from `from` to `to`, where `to` lies at most `len`
/// bytes *before* `from` in ring order: a forward byte copy never reads a
/// byte it has already overwritten.
pub(crate) fn move_back(buf: &mut [u8], from: usize, to: usize, len: usize) {
    let cap = buf.len();
    let mut src = from;
    let mut dst = to;
    for _ in 0..len.min(cap) {
        if let Some(&byte) = buf.get(src) {
            if let Some(d) = buf.get_mut(dst) {
                *d = byte;
            }
        }
        src = add(src, 1, cap);
        dst = add(dst, 1, cap);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wraps() {
        assert_eq!(add(5, 3, 7), 1);
        assert_eq!(add(9, 10, 10), 9);
        assert_eq!(add(9, 1, 10), 0);
        assert_eq!(add(0, 0, 0), 0);
        // Out of range: clamped, still below the capacity, no panic.
        assert_eq!(add(usize::MAX - 1, usize::MAX, 10), 9);
        assert_eq!(add(12, 3, 10), 2);
        let mut buf = [0u8; 5];
        write(&mut buf, 3, b"abcd");
        assert_eq!(&buf, b"cd\0ab");
        let mut out = [0u8; 4];
        read(&buf, 3, &mut out);
        assert_eq!(&out, b"abcd");
        // "ab" at 3..5, move to 1..3
        move_back(&mut buf, 3, 1, 2);
        assert_eq!(&buf[1..3], b"ab");
        let mut buf = *b"xyz12";
        // "z12x" starting at 2 (wrapping) moves to 1
        move_back(&mut buf, 2, 1, 4);
        assert_eq!(&buf, b"xz12x");
    }
}
