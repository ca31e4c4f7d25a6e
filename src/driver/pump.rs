//! The pump: one [`Driver`] moving bytes, events and time between a
//! [`Transport`] and a [`Client`]. No I/O and no std here: the std TCP
//! driver ([`TcpDriver`](super::TcpDriver)) and the `embedded-io` adapter
//! (`IoDriver`) are this driver over their own transport.

use core::fmt;

use crate::session::{Client, ConnectOptions, Event, State};
use crate::time::Tick;
use crate::Error;

use super::transport::{Received, Ticks, Transport};

/// Bytes read from the link that the client has not taken yet (it takes
/// fewer than offered while its receive buffer is full of undelivered
/// events). Indices into the driver's input buffer.
#[derive(Clone, Copy, Debug, Default)]
struct Pending {
    start: usize,
    end: usize,
}

impl Pending {
    /// True when every byte read has been taken.
    fn is_empty(&self) -> bool {
        self.start >= self.end
    }

    /// Forget the bytes of a link that is gone.
    fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
    }

    /// `n` bytes were read into the start of the buffer (only read when
    /// empty, so nothing needs compacting).
    fn filled(&mut self, n: usize) {
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

/// What a pass of the driver saw.
#[derive(Clone, Copy, Debug, Default)]
pub struct Outcome {
    /// The event handler asked to stop (the events after that one stay
    /// queued).
    pub stop: bool,
    /// The client ended the connection: the link was closed.
    pub close: bool,
    /// Events handed to the handler.
    pub delivered: usize,
}

impl Outcome {
    fn merge(&mut self, other: Outcome) {
        self.stop |= other.stop;
        self.close |= other.close;
        self.delivered = self.delivered.saturating_add(other.delivered);
    }
}

/// Why the driver took the link down, as [`Driver::link_end`] tells (the
/// client itself only hears "link down",
/// [`LostReason::LinkDown`](crate::session::LostReason::LinkDown)); `E` is
/// the transport's error.
#[derive(Debug)]
#[non_exhaustive]
pub enum LinkEnd<E> {
    /// The broker closed the connection (end of stream).
    ClosedByBroker,
    /// Reading failed (a reset, for instance).
    Read(E),
    /// Writing failed, or did not finish within the response time.
    Write(E),
    /// The outage policy gave up on a connection attempt (no CONNACK in
    /// time), or the application dropped the link.
    Dropped,
}

impl<E: fmt::Display> fmt::Display for LinkEnd<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LinkEnd::ClosedByBroker => f.write_str("the broker closed the connection"),
            LinkEnd::Read(e) => write!(f, "receive failed: {e}"),
            LinkEnd::Write(e) => write!(f, "send failed: {e}"),
            LinkEnd::Dropped => f.write_str("closed by the client"),
        }
    }
}

/// A [`Client`] over a [`Transport`] `T`, with an input buffer `B` and a
/// clock `C`: sends what the client queues, feeds it what arrives, fires
/// its timers and hands its events to a closure. It never sleeps: a
/// [`Driver::poll`] waits at most what it is told for input.
pub struct Driver<'a, T: Transport, B, C> {
    client: Client<'a>,
    clock: C,
    link: Option<T>,
    /// The link is in use: false before the first connection and once the
    /// connection ended (the transport, closed, stays until replaced or
    /// taken back).
    live: bool,
    inbuf: B,
    pending: Pending,
    /// Why the driver took the last link down, if it did.
    end: Option<LinkEnd<T::Error>>,
}

impl<'a, T, B, C> Driver<'a, T, B, C>
where
    T: Transport,
    B: AsRef<[u8]> + AsMut<[u8]>,
    C: Ticks,
{
    /// A driver for `client` with no link yet; `inbuf` takes bytes from the
    /// transport (a few hundred are plenty: the client has its own receive
    /// buffer).
    pub fn new(client: Client<'a>, clock: C, inbuf: B) -> Self {
        Driver {
            client,
            clock,
            link: None,
            live: false,
            inbuf,
            pending: Pending::default(),
            end: None,
        }
    }

    /// The client, to inspect its state.
    pub fn client(&self) -> &Client<'a> {
        &self.client
    }

    /// The client, for commands; what they queue goes out at the next
    /// [`Driver::flush`] or [`Driver::poll`].
    pub fn client_mut(&mut self) -> &mut Client<'a> {
        &mut self.client
    }

    /// The clock.
    pub fn clock(&self) -> &C {
        &self.clock
    }

    /// The current tick of the clock.
    pub fn now(&mut self) -> u32 {
        self.clock.ticks()
    }

    /// True while the link is in use.
    pub fn is_link_up(&self) -> bool {
        self.live
    }

    /// Why the driver took the last link down, when it was not the
    /// client's own doing (a DISCONNECT, a protocol error): the broker
    /// closed it, a read or write failed, it was dropped. Say it along with
    /// the client's "link down"; `None` while connected and after the
    /// client ended the connection itself.
    pub fn link_end(&self) -> Option<&LinkEnd<T::Error>> {
        self.end.as_ref()
    }

    /// Use `link`, an open transport to the broker, and send CONNECT.
    pub fn open(&mut self, link: T, options: &ConnectOptions<'_>) -> Result<(), Error> {
        if self.live {
            return Err(Error::AlreadyConnected);
        }
        let now = self.clock.ticks();
        self.client.connect(now, options)?;
        self.link = Some(link);
        self.live = true;
        self.end = None;
        self.pending.clear();
        self.flush();
        Ok(())
    }

    /// Take the transport back: after the connection ended, or at any time
    /// (then the link is given up and the client told it is down).
    pub fn take_link(&mut self) -> Option<T> {
        self.drop_link();
        self.link.take()
    }

    /// Give the link up without DISCONNECT, as a crash or a lost network
    /// would (the broker then publishes the will); the client is told the
    /// link is down, and reports [`Event::ConnectionLost`] at the next poll.
    pub fn drop_link(&mut self) {
        if self.live {
            self.link_down(LinkEnd::Dropped);
        }
    }

    /// Send everything the client has queued. A failed write takes the
    /// link down.
    pub fn flush(&mut self) {
        let now = self.clock.ticks();
        let Some(link) = self.link.as_mut().filter(|_| self.live) else {
            return;
        };
        let mut sent = Ok(());
        while let Some(bytes) = self.client.poll_transmit(now) {
            if bytes.is_empty() {
                break;
            }
            sent = link.send(bytes);
            if sent.is_err() {
                break;
            }
        }
        if let Err(e) = sent.and_then(|()| link.flush()) {
            self.link_down(LinkEnd::Write(e));
        }
    }

    /// One pass: fire the timers that are due, send what is queued, hand
    /// queued events to `on_event`, read once if `wait_ms` is given
    /// (waiting up to that long for input) and nothing read before is left
    /// over, feed what was read and hand out what it brings, send the
    /// replies. When the client ends the connection the link is closed.
    pub fn poll<F>(&mut self, wait_ms: Option<u32>, on_event: &mut F) -> Outcome
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let now = self.clock.ticks();
        if self
            .client
            .poll_deadline()
            .is_some_and(|d| Tick::from(now).reached(Tick::from(d)))
        {
            self.client.handle_timeout(now);
        }
        self.flush();
        let mut out = self.drain_events(on_event);
        if let (Some(wait), false) = (wait_ms, out.stop || out.close) {
            self.receive(wait);
        }
        if !out.stop && !out.close {
            out.merge(self.feed(on_event));
        }
        // Replies to what was just taken (PUBACK, PUBREC, ...) go out now.
        self.flush();
        if out.close {
            self.close();
        }
        out
    }

    /// Read once, waiting up to `wait_ms`, unless bytes read before are
    /// still waiting for the client to take them (then reading more is no
    /// use) or the link is down.
    pub fn receive(&mut self, wait_ms: u32) {
        if !self.pending.is_empty() {
            return;
        }
        let Some(link) = self.link.as_mut().filter(|_| self.live) else {
            return;
        };
        match link.receive(self.inbuf.as_mut(), wait_ms) {
            Ok(Received::Bytes(n)) => self.pending.filled(n),
            Ok(Received::Nothing) => {}
            Ok(Received::Closed) => self.link_down(LinkEnd::ClosedByBroker),
            Err(e) => self.link_down(LinkEnd::Read(e)),
        }
    }

    /// True when bytes read are waiting for the client to take them.
    pub fn has_pending_input(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Hand every queued event to `on_event` until it returns true (then
    /// the rest stay queued for the next pass).
    fn drain_events<F>(&mut self, on_event: &mut F) -> Outcome
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let client = &mut self.client;
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
        // A ConnectionLost still queued from an earlier link must not close
        // a link opened since: the current link is over only when the
        // client says it is disconnected.
        out.close = ended && client.state() == State::Disconnected;
        out
    }

    /// Offer the pending bytes to the client, delivering events as they
    /// come, until all are taken, the handler stops, or the connection
    /// ends.
    fn feed<F>(&mut self, on_event: &mut F) -> Outcome
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let now = self.clock.ticks();
        let mut out = Outcome::default();
        while !self.pending.is_empty() && !out.stop && !out.close {
            let data = self.pending.data(self.inbuf.as_ref());
            let taken = self.client.handle_input(now, data);
            self.pending.consume(taken);
            let events = self.drain_events(on_event);
            out.merge(events);
            if taken == 0 && events.delivered == 0 {
                // Nothing taken and nothing to report: offering the same
                // bytes again now would spin.
                break;
            }
        }
        out
    }

    /// The link failed or is given up (`why`): tell the client.
    fn link_down(&mut self, why: LinkEnd<T::Error>) {
        self.live = false;
        self.end = Some(why);
        self.pending.clear();
        if let Some(link) = self.link.as_mut() {
            link.abort();
        }
        let now = self.clock.ticks();
        self.client.handle_link_down(now);
    }

    /// The client ended the connection: send what it queued last (a
    /// DISCONNECT, acknowledgements), then close the link.
    fn close(&mut self) {
        self.flush();
        if let Some(link) = self.link.as_mut().filter(|_| self.live) {
            link.close();
        }
        self.live = false;
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
