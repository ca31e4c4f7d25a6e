//! Byte cursors: a bounds-checked [`Reader`] for decoding and a [`Writer`]
//! that also counts, so one encoder body gives both the length and the bytes.

use super::{DecodeError, EncodeError, MAX_VARINT};

/// Decode a variable byte integer at the start of `buf`.
///
/// `Ok(None)`: `buf` ends before the last byte. Errors on a fifth byte and on
/// a longer form than needed (MQTT 5.0 [MQTT-1.5.5-1]; no 3.1.1 sender makes
/// one, so both versions share the rule).
pub(crate) fn read_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    // One byte, the common case (every acknowledgement).
    if let Some(&b) = buf.first() {
        if b < 0x80 {
            return Ok(Some((u32::from(b), 1)));
        }
    }
    let mut value = 0u32;
    for (i, &b) in buf.iter().enumerate().take(4) {
        value |= u32::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // A zero last byte after a continuation is a padded, longer form.
            if i > 0 && b == 0 {
                return Err(DecodeError::MalformedVarInt);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        return Err(DecodeError::MalformedVarInt);
    }
    Ok(None)
}

/// Bytes a variable byte integer takes.
pub(crate) fn varint_len(v: usize) -> usize {
    match v {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Reads fields from a slice that holds a whole packet body (or a part of it).
#[derive(Clone, Copy)]
pub(crate) struct Reader<'a> {
    pub(crate) buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Error unless every byte was read.
    pub(crate) fn end(&self) -> Result<(), DecodeError> {
        if self.buf.is_empty() {
            Ok(())
        } else {
            Err(DecodeError::TrailingBytes)
        }
    }

    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        let (head, tail) = self.buf.split_at_checked(n).ok_or(DecodeError::Truncated)?;
        self.buf = tail;
        Ok(head)
    }

    /// Everything left.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        core::mem::take(&mut self.buf)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let (&b, tail) = self.buf.split_first().ok_or(DecodeError::Truncated)?;
        self.buf = tail;
        Ok(b)
    }

    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        let (&b, tail) = self
            .buf
            .split_first_chunk::<2>()
            .ok_or(DecodeError::Truncated)?;
        self.buf = tail;
        Ok(u16::from_be_bytes(b))
    }

    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from(self.u16()?) << 16 | u32::from(self.u16()?))
    }

    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let (v, n) = read_varint(self.buf)?.ok_or(DecodeError::Truncated)?;
        self.take(n)?;
        Ok(v)
    }

    /// A packet identifier, which is never 0.
    pub(crate) fn packet_id(&mut self) -> Result<u16, DecodeError> {
        match self.u16()? {
            0 => Err(DecodeError::PacketIdZero),
            id => Ok(id),
        }
    }

    /// Binary data: two length bytes, then the data.
    pub(crate) fn bin(&mut self) -> Result<&'a [u8], DecodeError> {
        let n = self.u16()?;
        self.take(usize::from(n))
    }

    /// A UTF-8 encoded string: well-formed and without U+0000 (MQTT 1.5.4).
    pub(crate) fn str(&mut self) -> Result<&'a str, DecodeError> {
        super::utf8(self.bin()?, false).ok_or(DecodeError::InvalidUtf8)
    }
}

/// Writes fields into a buffer; bytes past its end are counted, not written.
///
/// Encoders of the rarer packets run once over an empty writer to learn the
/// length (and validate), then over the caller's buffer, which is known to
/// be long enough by then.
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pub(crate) pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    /// A writer that only counts.
    pub(crate) fn counter() -> Writer<'static> {
        Writer {
            buf: &mut [],
            pos: 0,
        }
    }

    pub(crate) fn bytes(&mut self, src: &[u8]) {
        let end = self.pos.saturating_add(src.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(src);
        }
        self.pos = end;
    }

    /// One byte, stored directly rather than through a slice copy.
    pub(crate) fn u8(&mut self, v: u8) {
        if let Some(b) = self.buf.get_mut(self.pos) {
            *b = v;
        }
        self.pos += 1;
    }

    /// A few bytes, stored directly rather than through a slice copy.
    fn array<const N: usize>(&mut self, a: [u8; N]) {
        if let Some(dst) = self
            .buf
            .get_mut(self.pos..)
            .and_then(|b| b.first_chunk_mut::<N>())
        {
            *dst = a;
        }
        self.pos += N;
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.array(v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.array(v.to_be_bytes());
    }

    /// A variable byte integer; errors above [`MAX_VARINT`].
    pub(crate) fn varint(&mut self, v: usize) -> Result<(), EncodeError> {
        if v > MAX_VARINT as usize {
            return Err(EncodeError::PacketTooLarge);
        }
        let mut v = v;
        loop {
            let b = (v & 0x7f) as u8;
            v >>= 7;
            if v == 0 {
                self.u8(b);
                return Ok(());
            }
            self.u8(b | 0x80);
        }
    }

    /// Binary data with its two length bytes.
    pub(crate) fn bin(&mut self, b: &[u8]) -> Result<(), EncodeError> {
        let n = u16::try_from(b.len()).map_err(|_| EncodeError::StringTooLong)?;
        self.u16(n);
        self.bytes(b);
        Ok(())
    }

    /// A UTF-8 encoded string: at most 65535 bytes, no U+0000.
    pub(crate) fn str(&mut self, s: &str) -> Result<(), EncodeError> {
        // A plain loop rather than `<[u8]>::contains` (memchr, 160 bytes
        // of flash): MQTT strings are short.
        if s.bytes().any(|b| b == 0) {
            return Err(EncodeError::InvalidString);
        }
        self.bin(s.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_spec_boundaries() {
        // MQTT 5.0 table 1-1 / 3.1.1 table 2.4.
        let cases: [(&[u8], u32); 8] = [
            (&[0x00], 0),
            (&[0x7f], 127),
            (&[0x80, 0x01], 128),
            (&[0xff, 0x7f], 16_383),
            (&[0x80, 0x80, 0x01], 16_384),
            (&[0xff, 0xff, 0x7f], 2_097_151),
            (&[0x80, 0x80, 0x80, 0x01], 2_097_152),
            (&[0xff, 0xff, 0xff, 0x7f], 268_435_455),
        ];
        for (bytes, v) in cases {
            assert_eq!(read_varint(bytes), Ok(Some((v, bytes.len()))));
            let mut out = [0u8; 4];
            let mut w = Writer::new(&mut out);
            w.varint(v as usize).unwrap();
            let n = w.pos;
            assert_eq!(&out[..n], bytes);
            assert_eq!(varint_len(v as usize), bytes.len());
        }
    }

    #[test]
    fn varint_partial_and_malformed() {
        assert_eq!(read_varint(&[]), Ok(None));
        assert_eq!(read_varint(&[0x80]), Ok(None));
        assert_eq!(read_varint(&[0xff, 0xff, 0xff]), Ok(None));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::MalformedVarInt)
        );
        assert_eq!(
            read_varint(&[0x80, 0x00]),
            Err(DecodeError::MalformedVarInt)
        );
        let mut w = Writer::counter();
        assert_eq!(
            w.varint(MAX_VARINT as usize + 1),
            Err(EncodeError::PacketTooLarge)
        );
    }

    #[test]
    fn counter_counts_without_writing() {
        let mut w = Writer::counter();
        w.str("abc").unwrap();
        w.u32(7);
        assert_eq!(w.pos, 9);
        assert_eq!(w.str("a\0b"), Err(EncodeError::InvalidString));
        let long = [b'a'; 65536];
        assert_eq!(w.bin(&long), Err(EncodeError::StringTooLong));
    }
}
