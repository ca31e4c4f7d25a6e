//! Text for C: the library version and a writer of NUL-terminated strings
//! into caller buffers.

use core::ffi::c_char;

use super::args;
use super::mqttas_result::{self, *};
use crate::text::Sink;
use crate::wire::ReasonCode;

/// A text [`Sink`] into a C buffer that always leaves room for the NUL,
/// truncates at a character boundary and counts the whole length.
pub(crate) struct CBuf<'a> {
    buf: &'a mut [u8],
    pos: usize,
    total: usize,
}

impl<'a> CBuf<'a> {
    /// A writer into `buf` (may be empty: then it only counts).
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        CBuf {
            buf,
            pos: 0,
            total: 0,
        }
    }

    /// NUL-terminate and report: the full length of the text (without the
    /// NUL) and whether it all fitted.
    pub(crate) fn finish(self) -> (usize, bool) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = 0;
        }
        (
            self.total,
            self.total == self.pos && self.pos < self.buf.len(),
        )
    }
}

impl Sink for CBuf<'_> {
    fn str(&mut self, s: &str) {
        self.total = self.total.saturating_add(s.len());
        // Bytes left before the one kept for the NUL.
        let room = self.buf.len().saturating_sub(1).saturating_sub(self.pos);
        if room == 0 || self.pos < self.total - s.len() {
            // Already truncated: later text must not follow a gap.
            return;
        }
        let mut n = s.len().min(room);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        let src = s.as_bytes().get(..n).unwrap_or_default();
        if let Some(dst) = self.buf.get_mut(self.pos..self.pos + n) {
            dst.copy_from_slice(src);
            self.pos += n;
        }
    }
}

/// Static C texts keyed by number, as one `static` blob of NUL-terminated
/// strings and a `static` table of keys: `c_texts!(NAME: [(key, "text"),
/// ...], "fallback")` defines `NAME`, a [`CTexts`].
///
/// Not C string literals: LLVM files those (and any small constant that
/// looks like one) into one mergeable string section that the linker keeps
/// or drops whole, so a program that calls none of the text functions
/// carried every text. A `static` is its own section, dropped when unused.
macro_rules! c_texts {
    ($name:ident: [$(($key:expr, $text:literal)),* $(,)?], $fallback:literal) => {
        static $name: $crate::ffi::text::CTexts = {
            const KEYS: &[u16] = &[$($key as u16),*];
            const BLOB: &str = concat!($($text, "\0",)* $fallback, "\0");
            static KEY_TABLE: [u16; KEYS.len()] = $crate::ffi::text::array(KEYS);
            static BLOB_BYTES: [u8; BLOB.len()] = $crate::ffi::text::array(BLOB.as_bytes());
            $crate::ffi::text::CTexts {
                keys: &KEY_TABLE,
                blob: &BLOB_BYTES,
            }
        };
    };
}
pub(crate) use c_texts;

/// A copy of `src` as an array, at compile time (where an index out of
/// range is a build error, not a panic).
#[allow(clippy::indexing_slicing)]
pub(crate) const fn array<T: Copy, const N: usize>(src: &[T]) -> [T; N] {
    assert!(src.len() == N);
    let mut out = [src[0]; N];
    let mut i = 0;
    while i < N {
        out[i] = src[i];
        i += 1;
    }
    out
}

/// Texts made by [`c_texts!`]: the `i`-th key's text is the `i`-th string
/// of the blob; the one after the last is the fallback.
pub(crate) struct CTexts {
    pub(crate) keys: &'static [u16],
    pub(crate) blob: &'static [u8],
}

impl CTexts {
    /// The NUL-terminated text for `key`, or the fallback.
    pub(crate) fn get(&self, key: u32) -> *const c_char {
        let n = self
            .keys
            .iter()
            .position(|&k| u32::from(k) == key)
            .unwrap_or(self.keys.len());
        let start = self
            .blob
            .split(|&b| b == 0)
            .take(n)
            .fold(0, |at, s| at + s.len() + 1);
        self.blob.get(start..).unwrap_or_default().as_ptr().cast()
    }
}

/// Write the text produced by `f` into the C buffer `buf` of `len` bytes,
/// with the conventions every `*_describe` function shares.
///
/// # Safety
/// Unless NULL, `buf` points to `len` writable bytes; `out_len` is NULL or
/// writable.
pub(crate) unsafe fn describe_into(
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    f: impl FnOnce(&mut CBuf<'_>),
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    let bytes = match unsafe { args::bytes_mut(buf.cast::<u8>(), len) } {
        Ok(b) => b,
        Err(e) => return e,
    };
    let mut w = CBuf::new(bytes);
    f(&mut w);
    let (total, fitted) = w.finish();
    // SAFETY: forwarded from the caller.
    if let Some(o) = unsafe { args::opt_out(out_len) } {
        o.put(total);
    }
    if fitted {
        MQTTAS_OK
    } else {
        MQTTAS_ERR_BUFFER_TOO_SMALL
    }
}

/// The library version, e.g. "0.1.0": a static NUL-terminated string,
/// valid for the life of the program.
#[no_mangle]
pub extern "C" fn mqttas_version() -> *const c_char {
    const V: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    // A static, not the literal: see `c_texts!`.
    static VERSION: [u8; V.len()] = array(V.as_bytes());
    VERSION.as_ptr().cast()
}

/// Describe an MQTT 5.0 reason code (e.g. "not authorised (0x87)") into
/// `buf`.
///
/// The text is NUL-terminated whenever `buf_len > 0`. `*out_len` (when
/// `out_len` is not NULL) receives the length of the whole text without the
/// NUL. Returns `MQTTAS_ERR_BUFFER_TOO_SMALL` when the text was cut (give
/// at least `*out_len + 1` bytes), `MQTTAS_ERR_NULL_POINTER` when `buf` is
/// NULL and `buf_len` is not 0. `buf` may be NULL with `buf_len` 0 to learn
/// the length.
///
/// # Safety
/// `buf` points to `buf_len` writable bytes; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reason_code_describe(
    code: u8,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { describe_into(buf, buf_len, out_len, |w| ReasonCode(code).text(w)) }
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_char_boundary_and_counts() {
        let mut buf = [0xAAu8; 6];
        let mut w = CBuf::new(&mut buf);
        w.str("ab\u{e9}cd"); // é is 2 bytes
        w.str("xyz");
        assert_eq!(w.finish(), (9, false));
        assert_eq!(&buf[..5], b"ab\xc3\xa9c");
        assert_eq!(buf[5], 0);

        let mut buf = [0xAAu8; 4];
        let mut w = CBuf::new(&mut buf);
        w.str("a\u{e9}");
        w.str("b");
        // "aé" fits exactly in 3, "b" does not and must not follow a gap.
        assert_eq!(w.finish(), (4, false));
        assert_eq!(&buf, b"a\xc3\xa9\0");

        let mut buf = [0xAAu8; 4];
        let mut w = CBuf::new(&mut buf);
        w.str("abc");
        assert_eq!(w.finish(), (3, true));
        assert_eq!(&buf, b"abc\0");

        let mut w = CBuf::new(&mut []);
        w.str("abc");
        assert_eq!(w.finish(), (3, false));
    }
}
