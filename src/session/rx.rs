//! The receive buffer: bytes from the link, taken packet by packet, and the
//! ranges of it that events point into.

use crate::wire::Properties;

use super::inbound::Chunked;

/// A range of the receive buffer.
pub(super) type Span = (usize, usize);

pub(super) struct Rx<'a> {
    pub buf: &'a mut [u8],
    /// Received bytes not yet taken are `buf[start..len]`: taking a packet
    /// moves `start` only; what is left moves down when more bytes come.
    pub start: usize,
    pub len: usize,
    /// Bytes handed out by the last event, dropped at the next call.
    pub consume: usize,
    /// The PUBLISH being delivered in chunks, if any.
    pub chunk: Option<Chunked>,
}

impl<'a> Rx<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Rx {
            buf,
            start: 0,
            len: 0,
            consume: 0,
            chunk: None,
        }
    }

    /// Drop what the last event handed out.
    pub fn settle(&mut self) {
        if self.consume > 0 {
            self.start = self.len.min(self.start + self.consume);
            self.consume = 0;
            if self.start == self.len {
                self.start = 0;
                self.len = 0;
            }
        }
    }

    /// Take bytes from the link, moving what is left down first; returns
    /// how many fit.
    pub fn fill(&mut self, data: &[u8]) -> usize {
        if self.start > 0 {
            super::shift::down(self.buf, self.start, self.len);
            self.len -= self.start;
            self.start = 0;
        }
        let free = self.buf.get_mut(self.len..).unwrap_or(&mut []);
        let n = free.len().min(data.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), data.get(..n)) {
            dst.copy_from_slice(src);
        }
        self.len += n;
        n
    }

    /// Bytes received and not yet taken.
    pub fn avail(&self) -> usize {
        self.len - self.start
    }

    /// Forget the bytes of a connection that is gone.
    pub fn clear(&mut self) {
        self.start = 0;
        self.len = 0;
        self.consume = 0;
        self.chunk = None;
    }

    /// The bytes not yet taken.
    pub fn data(&self) -> &[u8] {
        self.buf.get(self.start..self.len).unwrap_or(&[])
    }

    /// Where `part`, a slice of the buffer, lies in it.
    pub fn span(&self, part: &[u8]) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(self.buf.as_ptr() as usize);
        (start, start.wrapping_add(part.len()))
    }

    /// Where raw properties lie (none for a list, which never comes from
    /// the buffer).
    pub fn props_span(&self, p: &Properties<'_>) -> Span {
        match p {
            Properties::Raw(b) => self.span(b),
            Properties::List(_) => (0, 0),
        }
    }

    pub fn bytes(&self, s: Span) -> &[u8] {
        self.buf.get(s.0..s.1).unwrap_or(&[])
    }
}
