//! A blocking adapter over `embedded-io` transports (feature `embedded-io`).
//!
//! [`IoDriver`] runs a [`Client`] over any transport implementing
//! `embedded_io::{Read, Write, ReadReady}` (a UART, a TCP socket of an
//! embedded stack, ...) with a caller-given millisecond clock. It never
//! blocks waiting for input: [`IoDriver::poll`] reads only what
//! `read_ready` says is there, so the caller's loop decides how to sleep
//! (until [`IoDriver::deadline`] or an interrupt). No std, no allocation:
//! the read buffer is the caller's too.

use embedded_io::{Read, ReadReady, Write};

use crate::session::{Client, ConnectOptions};
use crate::wire::{Property, QoS, ReasonCode, Subscription};
use crate::{Error, Event};

// The pump is shared with the std TCP driver; without `std` (no driver
// module) it is compiled here from the same file.
#[cfg(feature = "std")]
use crate::driver::pump;
#[cfg(not(feature = "std"))]
#[path = "driver/pump.rs"]
mod pump;

use pump::Pending;

/// A [`Client`] over an `embedded-io` transport `T`, with clock `C`
/// (milliseconds, wrapping `u32`).
pub struct IoDriver<'a, 'b, T, C> {
    client: Client<'a>,
    clock: C,
    link: Option<T>,
    /// The link is in use: false before connect and once the connection
    /// ended, while the transport waits for take_link.
    live: bool,
    inbuf: &'b mut [u8],
    pending: Pending,
}

impl<'a, 'b, T, C> IoDriver<'a, 'b, T, C>
where
    T: Read + Write + ReadReady,
    C: FnMut() -> u32,
{
    /// A driver for `client` with no link yet. `inbuf` receives bytes from
    /// the transport (a few hundred bytes is plenty: the client has its own
    /// receive buffer).
    pub fn new(client: Client<'a>, clock: C, inbuf: &'b mut [u8]) -> Self {
        IoDriver {
            client,
            clock,
            link: None,
            live: false,
            inbuf,
            pending: Pending::default(),
        }
    }

    /// The client, to inspect its state.
    pub fn client(&self) -> &Client<'a> {
        &self.client
    }

    /// The client, for commands not passed through here; what they queue
    /// goes out on the next [`IoDriver::poll`].
    pub fn client_mut(&mut self) -> &mut Client<'a> {
        &mut self.client
    }

    /// True while the transport is in use.
    pub fn is_link_up(&self) -> bool {
        self.live
    }

    /// Take the transport back, to close it: after the connection ended,
    /// or at any time (then the client is told the link is down).
    pub fn take_link(&mut self) -> Option<T> {
        if self.live {
            self.link_down();
        }
        self.link.take()
    }

    /// Use `link`, an open transport to the broker, and send CONNECT.
    pub fn connect(&mut self, link: T, options: &ConnectOptions<'_>) -> Result<(), Error> {
        if self.live {
            return Err(Error::AlreadyConnected);
        }
        let now = (self.clock)();
        self.client.connect(now, options)?;
        self.link = Some(link);
        self.live = true;
        self.pending.clear();
        self.flush();
        Ok(())
    }

    /// When [`IoDriver::poll`] must run again at the latest, if input does
    /// not come first.
    pub fn deadline(&self) -> Option<u32> {
        self.client.poll_deadline()
    }

    /// How many milliseconds the caller may sleep before the next
    /// [`IoDriver::poll`] when no input arrives (0: poll now; `None`: no
    /// timer runs, sleep until input or a command).
    pub fn idle_ms(&mut self) -> Option<u32> {
        let now = (self.clock)();
        self.client.poll_deadline().map(|d| pump::until(d, now))
    }

    /// Publish (see [`Client::publish`]) and send it when connected.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = (self.clock)();
        let id = self
            .client
            .publish(now, topic, payload, qos, retain, properties)?;
        self.flush();
        Ok(id)
    }

    /// Subscribe (see [`Client::subscribe`]).
    pub fn subscribe(
        &mut self,
        subscriptions: &[Subscription<'_>],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = (self.clock)();
        let id = self.client.subscribe(now, subscriptions, properties)?;
        self.flush();
        Ok(id)
    }

    /// Unsubscribe (see [`Client::unsubscribe`]).
    pub fn unsubscribe(
        &mut self,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = (self.clock)();
        let id = self.client.unsubscribe(now, filters, properties)?;
        self.flush();
        Ok(id)
    }

    /// Send DISCONNECT; the transport is released (see
    /// [`IoDriver::take_link`]) when [`Event::Disconnected`] is handed out.
    pub fn disconnect(
        &mut self,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        let now = (self.clock)();
        self.client.disconnect(now, reason, properties)?;
        self.flush();
        Ok(())
    }

    /// One pass without blocking: fire due timers, send what is queued,
    /// read what the transport has ready, hand events to `on_event`.
    /// Returns true when `on_event` returned true (the events after it stay
    /// queued). A transport error takes the link down
    /// ([`Event::ConnectionLost`]); when the connection ends the transport
    /// stays here, unused, until [`IoDriver::take_link`].
    pub fn poll<F>(&mut self, mut on_event: F) -> bool
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let now = (self.clock)();
        pump::timers(&mut self.client, now);
        self.flush();
        let mut out = pump::drain_events(&mut self.client, &mut on_event);
        if !out.stop && !out.close && self.pending.is_empty() {
            self.read_ready_bytes();
        }
        if !out.stop && !out.close {
            let now = (self.clock)();
            out.merge(pump::feed(
                &mut self.client,
                now,
                self.inbuf,
                &mut self.pending,
                &mut on_event,
            ));
        }
        self.flush();
        if out.close {
            // Keep the transport for take_link, but stop using it.
            self.pending.clear();
            self.live = false;
        }
        out.stop
    }

    fn read_ready_bytes(&mut self) {
        let Some(link) = self.link.as_mut().filter(|_| self.live) else {
            return;
        };
        let result = match link.read_ready() {
            Ok(true) => link.read(self.inbuf),
            Ok(false) => return,
            Err(e) => Err(e),
        };
        match result {
            // Read returns 0 only at end of stream (or for an empty buffer).
            Ok(0) => self.link_down(),
            Ok(n) => self.pending.filled(n),
            Err(_) => self.link_down(),
        }
    }

    fn flush(&mut self) {
        let now = (self.clock)();
        let Some(link) = self.link.as_mut().filter(|_| self.live) else {
            return;
        };
        let sent = pump::flush(&mut self.client, now, |bytes| link.write_all(bytes))
            .and_then(|()| link.flush());
        if sent.is_err() {
            self.link_down();
        }
    }

    fn link_down(&mut self) {
        self.live = false;
        self.pending.clear();
        let now = (self.clock)();
        self.client.handle_link_down(now);
    }
}
