//! One small UTF-8 validator for the whole crate.
//!
//! `core::str::from_utf8` is written for long texts (an unrolled
//! word-at-a-time ASCII loop, a 256-byte class table) and costs about
//! 370 bytes of code on a Cortex-M, more once every caller inlines its
//! error handling. MQTT strings are short and nearly always ASCII
//! (topics, client identifiers, property values): a word-at-a-time ASCII
//! test first, then a byte loop when it fails, takes about 30 % of core's
//! instructions for a 7-byte topic on x86_64, 25 % for 20 bytes, and half
//! its flash. It accepts exactly what
//! `core::str::from_utf8` accepts (RFC 3629: no overlong forms, no
//! surrogates, nothing above U+10FFFF); the tests check that on every
//! input of up to 3 bytes, on every mix of edge bytes of 4 to 6 and on
//! random longer ones.

/// `b` as a string if it is well-formed UTF-8 and, unless `nul_ok`, free of
/// U+0000 (MQTT 1.5.4 forbids it in every string on the wire).
#[allow(unsafe_code)]
pub(crate) fn utf8(b: &[u8], nul_ok: bool) -> Option<&str> {
    // The smallest ASCII byte accepted: U+0000 is left to the match
    // below, which refuses it, unless `nul_ok`.
    let lo = u8::from(!nul_ok);
    if !ascii(b, lo) {
        let mut i = 0;
        while let Some(&c) = b.get(i) {
            i += 1;
            if c.wrapping_sub(lo) < 0x80 - lo {
                continue;
            }
            // Continuation bytes to come and the smallest code point
            // allowed for this length (anything below is an overlong form).
            let (n, min) = match c {
                0xc2..=0xdf => (1, 0x80),
                0xe0..=0xef => (2, 0x800),
                0xf0..=0xf4 => (3, 0x1_0000),
                _ => return None,
            };
            let mut cp = u32::from(c) & (0x3f >> n);
            for _ in 0..n {
                match b.get(i) {
                    Some(&x) if x & 0xc0 == 0x80 => cp = cp << 6 | u32::from(x & 0x3f),
                    _ => return None,
                }
                i += 1;
            }
            if cp < min || cp > 0x10_ffff || (0xd800..=0xdfff).contains(&cp) {
                return None;
            }
        }
    }
    // SAFETY: every byte of `b` was checked above to form well-formed
    // UTF-8 (the same rules as `core::str::from_utf8`, tested below).
    Some(unsafe { core::str::from_utf8_unchecked(b) })
}

/// Bytes in a machine word.
const W: usize = core::mem::size_of::<usize>();

/// True when every byte of `b` is in `lo..0x80` (`lo` 0 or 1): ASCII, and
/// without NUL when `lo` is 1. False also for fewer than 4 bytes, which
/// the caller's byte loop takes. A word at a time, the last word
/// overlapping the one before: `v | (v - ones)` has no top bit set in any
/// byte exactly when every byte is in `lo..0x80` (a 0 byte borrows and
/// sets it when `ones` has a 1 in each byte).
#[inline(always)]
fn ascii(b: &[u8], lo: u8) -> bool {
    const ONES: usize = usize::MAX / 255;
    let ones = usize::from(lo) * ONES;
    let word = |w: &[u8]| match <[u8; W]>::try_from(w) {
        Ok(w) => {
            let v = usize::from_ne_bytes(w);
            (v | v.wrapping_sub(ones)) & (ONES << 7) == 0
        }
        Err(_) => false,
    };
    // Four bytes at a time, for strings shorter than a 64-bit word.
    let half = |w: &[u8]| match <[u8; 4]>::try_from(w) {
        Ok(w) => {
            let v = u32::from_ne_bytes(w);
            (v | v.wrapping_sub(ones as u32)) & 0x8080_8080 == 0
        }
        Err(_) => false,
    };
    let n = b.len();
    if n >= W {
        b.chunks_exact(W).all(word) && b.get(n - W..).is_some_and(word)
    } else if W > 4 && n >= 4 {
        b.get(..4).is_some_and(half) && b.get(n - 4..).is_some_and(half)
    } else {
        // Fewer than 4 bytes: the byte loop takes them.
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both validators on `b`, NUL allowed and not.
    fn agree(b: &[u8]) {
        let core = core::str::from_utf8(b).ok();
        assert_eq!(utf8(b, true), core, "{b:02x?}");
        let mqtt = core.filter(|_| !b.contains(&0));
        assert_eq!(utf8(b, false), mqtt, "{b:02x?}");
    }

    #[test]
    #[cfg_attr(miri, ignore = "millions of inputs: hours under miri")]
    fn agrees_with_core_on_every_input_of_up_to_three_bytes() {
        agree(&[]);
        for a in 0..=255u8 {
            agree(&[a]);
            for b in 0..=255u8 {
                agree(&[a, b]);
                for c in 0..=255u8 {
                    agree(&[a, b, c]);
                }
            }
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "millions of inputs: hours under miri")]
    fn agrees_with_core_on_every_mix_of_the_edge_bytes_of_four_to_six() {
        // The four-byte step sees every mix of the bytes at the edges of
        // its test (NUL, 1, 0x7f, 0x80) and of the character rules, at
        // every offset.
        let edges = [
            0, 1, b'a', 0x7f, 0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4, 0xff,
        ];
        let mut buf = [0u8; 6];
        for len in 4..=buf.len() {
            for mut n in 0..edges.len().pow(len as u32) {
                for b in buf.iter_mut().take(len) {
                    *b = edges[n % edges.len()];
                    n /= edges.len();
                }
                agree(&buf[..len]);
            }
        }
    }

    #[test]
    fn agrees_with_core_with_each_edge_byte_at_each_place_of_ascii_text() {
        // Every lane of the word test and of the overlapping last word.
        let edges = [0, 1, 0x7f, 0x80, 0xbf, 0xc2, 0xe0, 0xf4, 0xff];
        // Under miri (slow), up to a word and a half on 64-bit.
        let max = if cfg!(miri) { 12 } else { 24 };
        for len in 1..=max {
            for at in 0..len {
                for e in edges {
                    let mut b = [b'a'; 24];
                    b[at] = e;
                    agree(&b[..len]);
                    // And a well-formed two-byte character there.
                    if at + 1 < len {
                        b[at] = 0xc3;
                        b[at + 1] = 0xa9;
                        agree(&b[..len]);
                    }
                }
            }
        }
    }

    /// xorshift32: a small reproducible source of bytes.
    struct Rng(u32);

    impl Rng {
        fn next(&mut self) -> u32 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 17;
            self.0 ^= self.0 << 5;
            self.0
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "millions of inputs: hours under miri")]
    fn agrees_with_core_on_random_longer_inputs() {
        let mut rng = Rng(0x2545_f491);
        let mut buf = [0u8; 16];
        // Bytes drawn from the classes that matter (ASCII, NUL,
        // continuation, every lead byte, the invalid ones) so that most
        // inputs get deep into the checks, and well-formed characters
        // spliced in so that valid ones are common too.
        for _ in 0..2_000_000 {
            let len = 4 + rng.next() as usize % (buf.len() - 3);
            let mut i = 0;
            while i < len {
                let r = rng.next();
                if r & 3 == 0 {
                    // A well-formed character of 1 to 4 bytes.
                    let ch = loop {
                        let cp = match (r >> 2) & 3 {
                            0 => rng.next() % 0x80,
                            1 => rng.next() % 0x800,
                            2 => rng.next() % 0x1_0000,
                            _ => rng.next() % 0x11_0000,
                        };
                        if let Some(ch) = char::from_u32(cp) {
                            break ch;
                        }
                    };
                    let mut enc = [0u8; 4];
                    for &x in ch.encode_utf8(&mut enc).as_bytes() {
                        if i < len {
                            buf[i] = x;
                            i += 1;
                        }
                    }
                } else {
                    buf[i] = match (r >> 2) % 8 {
                        0 => 0,
                        1 | 2 => (r >> 8) as u8 & 0x7f,
                        3 | 4 => 0x80 | (r >> 8) as u8 & 0x3f,
                        _ => (r >> 8) as u8,
                    };
                    i += 1;
                }
            }
            agree(&buf[..len]);
        }
    }

    #[test]
    #[cfg_attr(miri, ignore = "millions of inputs: hours under miri")]
    fn fuzz_style_mutations_of_valid_text() {
        // Valid texts with one byte flipped, dropped or truncated: the
        // inputs a corrupted packet brings.
        let texts = [
            "a/b/c",
            "smörgåsbord",
            "温度/センサー",
            "🦀/x/𝄞",
            "\u{7ff}\u{800}\u{ffff}",
        ];
        let mut rng = Rng(7);
        for t in texts {
            let b = t.as_bytes();
            assert_eq!(utf8(b, false), Some(t));
            for cut in 0..=b.len() {
                agree(&b[..cut]);
                agree(&b[cut..]);
            }
            for _ in 0..20_000 {
                let mut m = [0u8; 32];
                m[..b.len()].copy_from_slice(b);
                let at = rng.next() as usize % b.len();
                m[at] ^= 1 << (rng.next() % 8);
                agree(&m[..b.len()]);
                m[at] = rng.next() as u8;
                agree(&m[..b.len()]);
            }
        }
    }

    #[test]
    fn boundaries() {
        // The edges of each rule, by hand.
        assert_eq!(utf8(b"\0", true), Some("\0"));
        assert_eq!(utf8(b"a\0", false), None);
        assert_eq!(utf8(&[0xc1, 0xbf], true), None); // overlong U+007F
        assert_eq!(utf8(&[0xe0, 0x9f, 0xbf], true), None); // overlong U+07FF
        assert_eq!(utf8(&[0xed, 0xa0, 0x80], true), None); // U+D800
        assert_eq!(utf8(&[0xed, 0x9f, 0xbf], true), Some("\u{d7ff}"));
        assert_eq!(utf8(&[0xf0, 0x8f, 0xbf, 0xbf], true), None); // overlong U+FFFF
        assert_eq!(utf8(&[0xf4, 0x8f, 0xbf, 0xbf], true), Some("\u{10ffff}"));
        assert_eq!(utf8(&[0xf4, 0x90, 0x80, 0x80], true), None); // U+110000
        assert_eq!(utf8(&[0xf5, 0x80, 0x80, 0x80], true), None);
    }
}
