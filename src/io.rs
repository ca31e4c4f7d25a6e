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

use crate::driver::{Driver, Received, Transport};
use crate::session::{Client, ConnectOptions};
use crate::time::Tick;
use crate::wire::{Property, QoS, ReasonCode, Subscription};
use crate::{Error, Event};

/// A [`Client`] over an `embedded-io` transport `T`, with clock `C`
/// (milliseconds, wrapping `u32`): the crate's one [`Driver`] over `T`.
pub struct IoDriver<'a, 'b, T: Read + Write + ReadReady, C> {
    driver: Driver<'a, Io<T>, &'b mut [u8], C>,
}

/// An `embedded-io` transport as a [`Transport`]: read only when ready,
/// never waiting; closing it leaves it to [`IoDriver::take_link`].
struct Io<T>(T);

impl<T: Read + Write + ReadReady> Transport for Io<T> {
    type Error = T::Error;

    fn receive(&mut self, buf: &mut [u8], _wait_ms: u32) -> Result<Received, T::Error> {
        if !self.0.read_ready()? {
            return Ok(Received::Nothing);
        }
        // Read returns 0 only at end of stream (or for an empty buffer).
        Ok(match self.0.read(buf)? {
            0 => Received::Closed,
            n => Received::Bytes(n),
        })
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), T::Error> {
        self.0.write_all(bytes)
    }

    fn flush(&mut self) -> Result<(), T::Error> {
        self.0.flush()
    }
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
            driver: Driver::new(client, clock, inbuf),
        }
    }

    /// The client, to inspect its state.
    pub fn client(&self) -> &Client<'a> {
        self.driver.client()
    }

    /// The client, for commands not passed through here; what they queue
    /// goes out on the next [`IoDriver::poll`].
    pub fn client_mut(&mut self) -> &mut Client<'a> {
        self.driver.client_mut()
    }

    /// True while the transport is in use.
    pub fn is_link_up(&self) -> bool {
        self.driver.is_link_up()
    }

    /// Take the transport back, to close it: after the connection ended,
    /// or at any time (then the client is told the link is down).
    pub fn take_link(&mut self) -> Option<T> {
        self.driver.take_link().map(|Io(link)| link)
    }

    /// Use `link`, an open transport to the broker, and send CONNECT.
    pub fn connect(&mut self, link: T, options: &ConnectOptions<'_>) -> Result<(), Error> {
        self.driver.open(Io(link), options)
    }

    /// When [`IoDriver::poll`] must run again at the latest, if input does
    /// not come first.
    pub fn deadline(&self) -> Option<u32> {
        self.client().poll_deadline()
    }

    /// How many milliseconds the caller may sleep before the next
    /// [`IoDriver::poll`] when no input arrives (0: poll now; `None`: no
    /// timer runs, sleep until input or a command).
    pub fn idle_ms(&mut self) -> Option<u32> {
        let now = Tick::from(self.driver.now());
        self.client()
            .poll_deadline()
            .map(|d| Tick::from(d).saturating_since(now))
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
        let now = self.driver.now();
        let id = self
            .client_mut()
            .publish(now, topic, payload, qos, retain, properties)?;
        self.driver.flush();
        Ok(id)
    }

    /// Subscribe (see [`Client::subscribe`]).
    pub fn subscribe(
        &mut self,
        subscriptions: &[Subscription<'_>],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = self.driver.now();
        let id = self
            .client_mut()
            .subscribe(now, subscriptions, properties)?;
        self.driver.flush();
        Ok(id)
    }

    /// Unsubscribe (see [`Client::unsubscribe`]).
    pub fn unsubscribe(
        &mut self,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let now = self.driver.now();
        let id = self.client_mut().unsubscribe(now, filters, properties)?;
        self.driver.flush();
        Ok(id)
    }

    /// Send DISCONNECT; the transport is released (see
    /// [`IoDriver::take_link`]) when [`Event::Disconnected`] is handed out.
    pub fn disconnect(
        &mut self,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        let now = self.driver.now();
        self.client_mut().disconnect(now, reason, properties)?;
        self.driver.flush();
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
        self.driver.poll(Some(0), &mut on_event).stop
    }
}
