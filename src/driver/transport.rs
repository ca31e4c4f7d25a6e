//! What a driver needs from a link and a clock: the [`Transport`] and
//! [`Ticks`] traits. No I/O and no std here: the std TCP driver and the
//! `embedded-io` adapter each implement them for their own link.

/// What [`Transport::receive`] brought.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    /// This many bytes, at the start of the buffer.
    Bytes(usize),
    /// Nothing within the wait.
    Nothing,
    /// The peer closed the stream.
    Closed,
}

/// A byte stream to the broker.
pub trait Transport {
    /// Why a read or a write failed (the link is then taken down).
    type Error;

    /// Take what has arrived into `buf`, waiting up to `wait_ms` for it
    /// (a transport that never blocks answers at once).
    fn receive(&mut self, buf: &mut [u8], wait_ms: u32) -> Result<Received, Self::Error>;

    /// Send all of `bytes`.
    fn send(&mut self, bytes: &[u8]) -> Result<(), Self::Error>;

    /// Push out what [`Transport::send`] buffered, after each batch.
    fn flush(&mut self) -> Result<(), Self::Error> {
        Ok(())
    }

    /// The client ended the connection (a DISCONNECT, a protocol error):
    /// close so that what was sent last still reaches the peer.
    fn close(&mut self) {}

    /// The link failed or is given up: drop it at once.
    fn abort(&mut self) {}
}

/// A millisecond clock, wrapping `u32` (see [`crate::time`]): any
/// `FnMut() -> u32`, or the std driver's [`Clock`](super::Clock).
pub trait Ticks {
    /// The current tick.
    fn ticks(&mut self) -> u32;
}

impl<F: FnMut() -> u32> Ticks for F {
    fn ticks(&mut self) -> u32 {
        self()
    }
}
