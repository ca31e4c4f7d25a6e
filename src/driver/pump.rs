//! The pump shared by the blocking drivers: moving bytes, events and time
//! between a link and a [`Client`]. No I/O and no std here, so that both the
//! std TCP driver and the `embedded-io` adapter use the same code.

use crate::session::{Client, Event, State};
use crate::time::Tick;

/// Bytes read from the link that the client has not taken yet (it takes
/// fewer than offered while its receive buffer is full of undelivered
/// events). Indices into a buffer the driver owns.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Pending {
    start: usize,
    end: usize,
}

impl Pending {
    /// True when every byte read has been taken.
    pub(crate) fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Forget the bytes of a link that is gone.
    pub(crate) fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// `n` bytes were read into the start of the buffer (only read when
    /// empty, so nothing needs compacting).
    pub(crate) fn filled(&mut self, n: usize) {
        self.start = 0;
        self.end = n;
    }

    fn data<'b>(&self, buf: &'b [u8]) -> &'b [u8] {
        buf.get(self.start..self.end).unwrap_or(&[])
    }

    fn consume(&mut self, n: usize) {
        self.start = self.start.saturating_add(n).min(self.end);
    }
}

/// What a pass of the pump saw.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Outcome {
    /// The event handler asked to stop.
    pub(crate) stop: bool,
    /// The client reported the connection over: the link must be closed.
    pub(crate) close: bool,
    /// Events handed to the handler.
    pub(crate) delivered: usize,
}

impl Outcome {
    pub(crate) fn merge(&mut self, other: Outcome) {
        self.stop |= other.stop;
        self.close |= other.close;
        self.delivered = self.delivered.saturating_add(other.delivered);
    }
}

/// Milliseconds from `now` until `deadline`, 0 when it has passed.
pub(crate) fn until(deadline: u32, now: u32) -> u32 {
    Tick::from(deadline).saturating_since(Tick::from(now))
}

/// Call `handle_timeout` when the client's deadline has come.
pub(crate) fn timers(client: &mut Client<'_>, now: u32) {
    if client
        .poll_deadline()
        .is_some_and(|d| Tick::from(now).reached(Tick::from(d)))
    {
        client.handle_timeout(now);
    }
}

/// Hand every queued event to `on_event` until it returns true (then the
/// rest stay queued for the next pass).
pub(crate) fn drain_events<F>(client: &mut Client<'_>, on_event: &mut F) -> Outcome
where
    F: FnMut(&Event<'_>) -> bool,
{
    let mut out = Outcome::default();
    let mut ended = false;
    while !out.stop {
        let Some(event) = client.poll_event() else {
            break;
        };
        ended |= matches!(event, Event::ConnectionLost(_) | Event::Disconnected);
        out.delivered = out.delivered.saturating_add(1);
        out.stop = on_event(&event);
    }
    // A ConnectionLost still queued from an earlier link must not close a
    // link opened since: the current link is over only when the client
    // says it is disconnected.
    out.close = ended && client.state() == State::Disconnected;
    out
}

/// Offer the pending bytes to the client, delivering events as they come,
/// until all are taken, the handler stops, or the connection ends.
pub(crate) fn feed<F>(
    client: &mut Client<'_>,
    now: u32,
    buf: &[u8],
    pending: &mut Pending,
    on_event: &mut F,
) -> Outcome
where
    F: FnMut(&Event<'_>) -> bool,
{
    let mut out = Outcome::default();
    while !pending.is_empty() && !out.stop && !out.close {
        let taken = client.handle_input(now, pending.data(buf));
        pending.consume(taken);
        let events = drain_events(client, on_event);
        out.merge(events);
        if taken == 0 && events.delivered == 0 {
            // Nothing taken and nothing to report: offering the same bytes
            // again now would spin.
            break;
        }
    }
    out
}

/// Send everything the client has queued through `write`, which must send
/// the whole slice.
pub(crate) fn flush<E>(
    client: &mut Client<'_>,
    now: u32,
    mut write: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    while let Some(bytes) = client.poll_transmit(now) {
        if bytes.is_empty() {
            break;
        }
        write(bytes)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deadlines_across_the_wrap() {
        assert_eq!(until(5, 0xFFFF_FFF0), 21);
        assert_eq!(until(0xFFFF_FFF0, 5), 0);
        assert_eq!(until(1000, 400), 600);
    }

    #[test]
    fn pending_bytes_are_consumed_in_order() {
        let buf = *b"abcdef";
        let mut p = Pending::default();
        assert!(p.is_empty());
        p.filled(4);
        assert_eq!(p.data(&buf), b"abcd");
        p.consume(3);
        assert_eq!(p.data(&buf), b"d");
        p.consume(10);
        assert!(p.is_empty());
        assert_eq!(p.data(&buf), b"");
        p.filled(6);
        p.clear();
        assert!(p.is_empty());
    }
}
