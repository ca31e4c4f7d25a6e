//! Texts without `core::fmt`: the sentences of the reason codes, decode
//! errors and lost reasons written piece by piece into a [`Sink`].
//!
//! `core::fmt` (its `Formatter`, padding and integer code) costs about
//! 3.5 KiB of flash on a Cortex-M; the C API's describe functions write
//! through this instead, and the `Display` impls go through the same
//! code, so both print the same text.

use core::fmt;

/// Where a text goes: strings and numbers appended in order.
pub(crate) trait Sink {
    /// Append `s`.
    fn str(&mut self, s: &str);

    /// Append `v` in decimal.
    fn dec(&mut self, mut v: usize) {
        let mut buf = [0u8; 20];
        let mut i = buf.len();
        loop {
            i -= 1;
            if let Some(b) = buf.get_mut(i) {
                *b = b'0' + (v % 10) as u8;
            }
            v /= 10;
            if v == 0 || i == 0 {
                break;
            }
        }
        let digits = buf.get(i..).unwrap_or_default();
        // Only ASCII digits were written.
        self.str(crate::wire::utf8(digits, true).unwrap_or_default());
    }

    /// Append `v` as `0x` and two lowercase hex digits (`{:#04x}`).
    fn hex(&mut self, v: u8) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let hi = DIGITS.get(usize::from(v >> 4)).copied().unwrap_or(b'0');
        let lo = DIGITS.get(usize::from(v & 15)).copied().unwrap_or(b'0');
        let b = [b'0', b'x', hi, lo];
        self.str(crate::wire::utf8(&b, true).unwrap_or_default());
    }
}

/// The `n`-th of the NUL-terminated texts in `blob` ("" past the end).
///
/// Tables of texts are kept as one blob and a small index rather than a
/// `match` of string literals, each of which costs an address and a length
/// in the code.
pub(crate) fn nth(blob: &'static str, n: usize) -> &'static str {
    let mut start = 0;
    let mut k = 0;
    for (i, b) in blob.bytes().enumerate() {
        if b == 0 {
            if k == n {
                return blob.get(start..i).unwrap_or_default();
            }
            k += 1;
            start = i + 1;
        }
    }
    ""
}

/// A `Sink` over a `fmt::Formatter`, for the `Display` impls: keeps the
/// first error and writes nothing after it.
pub(crate) struct FmtSink<'a, 'b> {
    f: &'a mut fmt::Formatter<'b>,
    result: fmt::Result,
}

impl Sink for FmtSink<'_, '_> {
    fn str(&mut self, s: &str) {
        if self.result.is_ok() {
            self.result = self.f.write_str(s);
        }
    }
}

/// Run `text` into `f`: the body of a `Display` impl.
pub(crate) fn display(f: &mut fmt::Formatter<'_>, text: impl FnOnce(&mut dyn Sink)) -> fmt::Result {
    let mut s = FmtSink { f, result: Ok(()) };
    text(&mut s);
    s.result
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;

    struct S(std::string::String);
    impl Sink for S {
        fn str(&mut self, s: &str) {
            self.0.push_str(s);
        }
    }

    #[test]
    fn nth_text_of_a_blob() {
        const BLOB: &str = "zero\0\0two\u{e9}\0";
        assert_eq!(nth(BLOB, 0), "zero");
        assert_eq!(nth(BLOB, 1), "");
        assert_eq!(nth(BLOB, 2), "two\u{e9}");
        assert_eq!(nth(BLOB, 3), "");
        assert_eq!(nth("", 0), "");
    }

    #[test]
    fn numbers_match_core_fmt() {
        for v in [0usize, 1, 9, 10, 99, 100, 65535, 4_294_967_295, usize::MAX] {
            let mut s = S(std::string::String::new());
            s.dec(v);
            assert_eq!(s.0, std::format!("{v}"));
        }
        for v in 0..=255u8 {
            let mut s = S(std::string::String::new());
            s.hex(v);
            assert_eq!(s.0, std::format!("{v:#04x}"));
        }
    }
}
