//! [`TcpDriver`]: a [`Client`] over a blocking `std::net::TcpStream`.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use crate::reconnect::{Action, Cause, Policy, Reconnect};
use crate::session::{Client, ConnectOptions};
use crate::time::Tick;
use crate::wire::{Property, QoS, ReasonCode, Subscription};
use crate::Event;

use super::pump::{Driver, LinkEnd, Outcome};
use super::transport::{Received, Ticks, Transport};
use super::Clock;

/// Bytes read from the socket at once.
const READ_CHUNK: usize = 4096;

/// Why a driver call failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Opening the TCP connection failed (or the address did not resolve).
    Io(io::Error),
    /// The client refused the command.
    Client(crate::Error),
    /// [`TcpDriver::reconnect`] before any [`TcpDriver::connect`].
    NoAddress,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "cannot reach the broker: {e}"),
            Error::Client(e) => write!(f, "{e}"),
            Error::NoAddress => f.write_str("reconnect before connect: no broker address known"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io(e) => Some(e),
            Error::Client(e) => Some(e),
            Error::NoAddress => None,
        }
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Self {
        Error::Io(e)
    }
}

impl From<crate::Error> for Error {
    fn from(e: crate::Error) -> Self {
        Error::Client(e)
    }
}

/// A [`Client`] driven over a blocking TCP connection.
///
/// Commands go straight to the client and what they queue is sent at once.
/// [`TcpDriver::poll_once`] and [`TcpDriver::run_until`] do the rest: read,
/// fire timers, hand events to a closure. When the client reports the
/// connection over ([`Event::ConnectionLost`], [`Event::Disconnected`]) the
/// driver closes the socket; [`TcpDriver::reconnect`] opens a new one to the
/// same broker, and the session sends its stored messages again.
///
/// Or let the driver follow the outage policy ([`crate::reconnect`]):
/// call [`TcpDriver::keep_connected`] in the loop (or use
/// [`TcpDriver::run_connected_until`]); after a loss the link is held down,
/// then reconnected with backoff and jitter, exactly as the C and Python
/// clients do.
pub struct TcpDriver<'a> {
    driver: Driver<'a, Tcp, Box<[u8]>, Clock>,
    clock: Clock,
    addr: Option<SocketAddr>,
    reconnect: Option<Reconnect>,
}

/// A TCP connection as a [`Transport`]: what [`Transport::send`] is given
/// is gathered and written in one call at [`Transport::flush`] (the pump
/// flushes after each batch), so the packets of a batch leave in one
/// segment; closing it shuts the socket down and drops it.
struct Tcp {
    stream: Option<TcpStream>,
    /// Bytes sent but not yet written.
    out: Vec<u8>,
    /// The socket's read timeout as last set, to set it only when it must
    /// change.
    read_timeout: Option<Duration>,
}

/// Gathered bytes written before the batch is over once they reach this.
const WRITE_GATHER: usize = 16 * 1024;

impl Tcp {
    fn new(stream: TcpStream) -> Self {
        Tcp {
            stream: Some(stream),
            out: Vec::new(),
            read_timeout: None,
        }
    }
}

/// The read timeout to set for a wait of `wanted` when `current` is set,
/// or `None` to keep `current`. A read may return earlier than the caller
/// asked (the caller then reads again), never later: `current` is kept
/// while it is between half of `wanted` and `wanted`; otherwise the largest
/// power of two milliseconds not above `wanted` is set, so that a wait that
/// shrinks by a millisecond at each pass does not cost a system call each
/// time.
fn read_timeout_for(current: Option<Duration>, wanted: Duration) -> Option<Duration> {
    // Zero means "block forever" to std: wait at least 1 ms.
    let wanted = wanted.max(Duration::from_millis(1));
    if current.is_some_and(|c| c <= wanted && c.saturating_mul(2) >= wanted) {
        return None;
    }
    let ms = u64::try_from(wanted.as_millis()).unwrap_or(u64::MAX);
    Some(Duration::from_millis(1u64 << (63 - ms.leading_zeros())))
}

impl Transport for Tcp {
    type Error = io::Error;

    fn receive(&mut self, buf: &mut [u8], wait_ms: u32) -> Result<Received, io::Error> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(Received::Closed);
        };
        let wanted = Duration::from_millis(u64::from(wait_ms));
        if let Some(t) = read_timeout_for(self.read_timeout, wanted) {
            stream.set_read_timeout(Some(t))?;
            self.read_timeout = Some(t);
        }
        match stream.read(buf) {
            Ok(0) => Ok(Received::Closed),
            Ok(n) => Ok(Received::Bytes(n)),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(Received::Nothing)
            }
            Err(e) => Err(e),
        }
    }

    fn send(&mut self, bytes: &[u8]) -> Result<(), io::Error> {
        if self.stream.is_none() {
            return Err(io::ErrorKind::NotConnected.into());
        }
        self.out.extend_from_slice(bytes);
        if self.out.len() >= WRITE_GATHER {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), io::Error> {
        let result = match self.stream.as_mut() {
            Some(stream) => stream.write_all(&self.out),
            None if self.out.is_empty() => Ok(()),
            None => Err(io::ErrorKind::NotConnected.into()),
        };
        self.out.clear();
        result
    }

    fn close(&mut self) {
        self.out.clear();
        if let Some(mut stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Write);
            drain(&mut stream, CLOSE_DRAIN);
        }
    }

    fn abort(&mut self) {
        self.out.clear();
        if let Some(stream) = self.stream.take() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }
}

impl Ticks for Clock {
    fn ticks(&mut self) -> u32 {
        self.now()
    }
}

impl<'a> TcpDriver<'a> {
    /// A driver for `client`, with no connection yet.
    pub fn new(client: Client<'a>) -> Self {
        TcpDriver::with_clock(client, Clock::new())
    }

    /// A driver using `clock` (for instance one about to wrap).
    pub fn with_clock(client: Client<'a>, clock: Clock) -> Self {
        let inbuf = vec![0; READ_CHUNK].into_boxed_slice();
        TcpDriver {
            driver: Driver::new(client, clock, inbuf),
            clock,
            addr: None,
            reconnect: None,
        }
    }

    /// The client, to inspect its state.
    pub fn client(&self) -> &Client<'a> {
        self.driver.client()
    }

    /// The client, for commands the driver does not pass through. Call
    /// [`TcpDriver::flush`] after queueing something.
    pub fn client_mut(&mut self) -> &mut Client<'a> {
        self.driver.client_mut()
    }

    /// The current tick of the driver's clock.
    pub fn now(&self) -> u32 {
        self.clock.now()
    }

    /// True while a TCP connection is open.
    pub fn is_link_up(&self) -> bool {
        self.driver.is_link_up()
    }

    /// Why the driver closed the last TCP connection, when it was not the
    /// client's own doing (a DISCONNECT, a protocol error): the broker
    /// closed it, a read or write failed. Say it along with the client's
    /// "link down"; `None` while connected and after the client ended the
    /// connection itself.
    pub fn link_end(&self) -> Option<&LinkEnd<io::Error>> {
        self.driver.link_end()
    }

    /// Open a TCP connection to `addr` and queue CONNECT. The
    /// [`Event::Connected`] (or [`Event::ConnectionLost`] with the refusal)
    /// comes from a later poll.
    pub fn connect(
        &mut self,
        addr: impl ToSocketAddrs,
        options: &ConnectOptions<'_>,
    ) -> Result<(), Error> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        })?;
        self.addr = Some(addr);
        self.open(addr, options)
    }

    /// Follow `policy` from now on in [`TcpDriver::keep_connected`]
    /// (otherwise the default [`Policy`] with [`Policy::stable_ms`] set to
    /// the client's keep alive); `seed` seeds its jitter. The policy's
    /// state starts over: its first action is to connect.
    pub fn set_reconnect_policy(&mut self, policy: Policy, seed: u32) {
        self.reconnect = Some(Reconnect::new(policy, seed));
    }

    /// The outage policy's state, once [`TcpDriver::set_reconnect_policy`]
    /// or [`TcpDriver::keep_connected`] created it.
    pub fn reconnect_state(&self) -> Option<&Reconnect> {
        self.reconnect.as_ref()
    }

    /// Set the broker address for [`TcpDriver::keep_connected`] without
    /// connecting.
    pub fn set_broker(&mut self, addr: impl ToSocketAddrs) -> Result<(), Error> {
        let addr = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidInput, "address resolved to nothing")
        })?;
        self.addr = Some(addr);
        Ok(())
    }

    /// Do what the outage policy says now: connect (first connection or
    /// reconnection, to the broker of [`TcpDriver::set_broker`] or the last
    /// [`TcpDriver::connect`]), or keep the link closed while it is held
    /// down, bounced or backing off. Returns the action taken, `None` while
    /// connected or while an attempt is under way. The policy learns of
    /// connections and losses from the events the driver hands out, so
    /// call this between polls. A failed TCP connect is reported to the
    /// policy, not returned; errors are only [`Error::NoAddress`] and the
    /// client's refusals.
    pub fn keep_connected(
        &mut self,
        options: &ConnectOptions<'_>,
    ) -> Result<Option<Action>, Error> {
        let addr = self.addr.ok_or(Error::NoAddress)?;
        let now = self.clock.now();
        let keep_alive = self.client().config().keep_alive;
        let action = self
            .reconnect
            .get_or_insert_with(|| {
                let mut policy = Policy::default();
                if keep_alive != 0 {
                    policy.stable_ms = u32::from(keep_alive) * 1000;
                }
                Reconnect::new(policy, seed_from(now))
            })
            .poll_action(now);
        match action {
            Some(Action::Connect) => {
                self.driver.drop_link();
                match self.open(addr, options) {
                    Ok(()) => {}
                    Err(Error::Io(_)) => {
                        let now = self.clock.now();
                        if let Some(r) = self.reconnect.as_mut() {
                            r.handle_attempt_failed(now, Cause::Outage);
                        }
                    }
                    Err(e) => return Err(e),
                }
            }
            // The link stays closed while held down, bounced or backing
            // off; an attempt the policy gave up on is ended here (the
            // client then reports it lost).
            Some(Action::HoldDown { .. } | Action::BounceLink { .. } | Action::Wait { .. }) => {
                self.driver.drop_link();
            }
            _ => {}
        }
        Ok(action)
    }

    /// Like [`TcpDriver::run_until`], following the outage policy
    /// ([`TcpDriver::keep_connected`]) all along: the link is reconnected
    /// whenever it is lost, until `on_event` returns true (then true) or
    /// `timeout` has passed (then false).
    pub fn run_connected_until<F>(
        &mut self,
        timeout: Duration,
        options: &ConnectOptions<'_>,
        mut on_event: F,
    ) -> Result<bool, Error>
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let end = Instant::now() + timeout;
        loop {
            self.keep_connected(options)?;
            if self.service(&mut on_event).stop {
                return Ok(true);
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(false);
            }
            // A loss seen in this pass: act on it before sleeping.
            if self
                .reconnect
                .as_ref()
                .is_some_and(|r| !r.is_up() && !r.is_connecting())
            {
                let now = self.clock.now();
                if self
                    .reconnect
                    .as_ref()
                    .and_then(Reconnect::poll_deadline)
                    .map_or(true, |d| Tick::from(now).reached(Tick::from(d)))
                {
                    continue;
                }
            }
            self.wait_for_input(left);
        }
    }

    /// Open a new TCP connection to the broker of the last
    /// [`TcpDriver::connect`] and queue CONNECT (after
    /// [`Event::ConnectionLost`]).
    pub fn reconnect(&mut self, options: &ConnectOptions<'_>) -> Result<(), Error> {
        let addr = self.addr.ok_or(Error::NoAddress)?;
        self.open(addr, options)
    }

    fn open(&mut self, addr: SocketAddr, options: &ConnectOptions<'_>) -> Result<(), Error> {
        if self.driver.is_link_up() {
            return Err(Error::Client(crate::Error::AlreadyConnected));
        }
        let patience =
            Duration::from_millis(u64::from(self.client().config().response_time_ms.max(1)));
        let stream = TcpStream::connect_timeout(&addr, patience)?;
        // MQTT packets are small and each is awaited: no Nagle delay.
        stream.set_nodelay(true)?;
        stream.set_write_timeout(Some(patience))?;
        Ok(self.driver.open(Tcp::new(stream), options)?)
    }

    /// Drop the TCP connection without DISCONNECT, as a crash or a lost
    /// network would (the broker then publishes our will). The client is
    /// told the link is down; its [`Event::ConnectionLost`] comes from the
    /// next poll.
    pub fn drop_link(&mut self) {
        self.driver.drop_link();
    }

    /// Send everything the client has queued. A failed write takes the
    /// link down (reported as [`Event::ConnectionLost`]).
    pub fn flush(&mut self) {
        self.driver.flush();
    }

    /// Publish (see [`Client::publish`]) and send it at once when connected.
    /// Returns the packet id, 0 for QoS 0.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let id = self
            .retry_when_tx_full(|c, now| c.publish(now, topic, payload, qos, retain, properties))?;
        self.flush();
        Ok(id)
    }

    /// Subscribe (see [`Client::subscribe`]); returns the packet id.
    pub fn subscribe(
        &mut self,
        subscriptions: &[Subscription<'_>],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let id = self.retry_when_tx_full(|c, now| c.subscribe(now, subscriptions, properties))?;
        self.flush();
        Ok(id)
    }

    /// Unsubscribe (see [`Client::unsubscribe`]); returns the packet id.
    pub fn unsubscribe(
        &mut self,
        filters: &[&str],
        properties: &[Property<'_>],
    ) -> Result<u16, Error> {
        let id = self.retry_when_tx_full(|c, now| c.unsubscribe(now, filters, properties))?;
        self.flush();
        Ok(id)
    }

    /// Send DISCONNECT; the socket is closed when the poll that follows
    /// hands over [`Event::Disconnected`].
    pub fn disconnect(
        &mut self,
        reason: ReasonCode,
        properties: &[Property<'_>],
    ) -> Result<(), Error> {
        self.retry_when_tx_full(|c, now| c.disconnect(now, reason, properties))?;
        self.flush();
        Ok(())
    }

    /// A command that found the transmit buffer full gets one more try
    /// once the buffer has been sent.
    fn retry_when_tx_full<T>(
        &mut self,
        mut command: impl FnMut(&mut Client<'a>, u32) -> Result<T, crate::Error>,
    ) -> Result<T, Error> {
        let now = self.clock.now();
        match command(self.driver.client_mut(), now) {
            Err(crate::Error::TxFull) => {
                self.flush();
                let now = self.clock.now();
                Ok(command(self.driver.client_mut(), now)?)
            }
            other => Ok(other?),
        }
    }

    /// Fire timers, send, take pending input and hand out events; then wait
    /// up to `timeout` (less when a timer is due sooner) for bytes from the
    /// broker and process them. Returns true when `on_event` returned true
    /// for an event; the events after it stay queued for the next call.
    pub fn poll_once<F>(&mut self, timeout: Duration, mut on_event: F) -> bool
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        if self.service(&mut on_event).stop {
            return true;
        }
        self.wait_for_input(timeout);
        self.service(&mut on_event).stop
    }

    /// Poll until `on_event` returns true (then true), or `timeout` has
    /// passed or the link is down with no timer left (then false).
    pub fn run_until<F>(&mut self, timeout: Duration, mut on_event: F) -> bool
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        let end = Instant::now() + timeout;
        loop {
            if self.service(&mut on_event).stop {
                return true;
            }
            let left = end.saturating_duration_since(Instant::now());
            // Without a link or a timer nothing can happen any more.
            if left.is_zero() || (!self.is_link_up() && self.client().poll_deadline().is_none()) {
                return false;
            }
            self.wait_for_input(left);
        }
    }

    /// One pass without waiting: timers, transmit, pending input, events.
    fn service<F>(&mut self, on_event: &mut F) -> Outcome
    where
        F: FnMut(&Event<'_>) -> bool,
    {
        // The outage policy learns of connections and losses from the
        // events as they are handed out.
        let reconnect = &mut self.reconnect;
        let clock = self.clock;
        let mut on_event = |e: &Event<'_>| {
            if let Some(r) = reconnect.as_mut() {
                match e {
                    Event::Connected { .. } => r.handle_connected(clock.now()),
                    Event::ConnectionLost(why) => r.handle_lost(clock.now(), Cause::of(why)),
                    _ => {}
                }
            }
            on_event(e)
        };
        self.driver.poll(None, &mut on_event)
    }

    /// Read once, waiting at most `timeout` or until the client's next
    /// deadline; with no link, just sleep that long.
    fn wait_for_input(&mut self, timeout: Duration) {
        let now = Tick::from(self.clock.now());
        let until = |d: u32| Duration::from_millis(u64::from(Tick::from(d).saturating_since(now)));
        let mut wait = match self.client().poll_deadline() {
            Some(d) => timeout.min(until(d)),
            None => timeout,
        };
        if let Some(d) = self.reconnect.as_ref().and_then(Reconnect::poll_deadline) {
            wait = wait.min(until(d));
        }
        if self.driver.has_pending_input() {
            // Bytes the client could not take yet: no point reading more.
            return;
        }
        if !self.driver.is_link_up() {
            std::thread::sleep(wait);
            return;
        }
        let wait_ms = u32::try_from(wait.as_millis()).unwrap_or(u32::MAX);
        self.driver.receive(wait_ms);
    }
}

/// How long a graceful close reads (and discards) what the broker still
/// sends after our FIN.
const CLOSE_DRAIN: Duration = Duration::from_millis(150);

/// Read and discard until the peer closes, an error, or `budget` is spent.
/// Closing a socket with unread bytes makes the kernel send RST, and an RST
/// can destroy our last packets (PUBACKs, PUBCOMPs, DISCONNECT) before the
/// broker has read them: QoS 1 messages come again, the will is published.
fn drain(stream: &mut TcpStream, budget: Duration) {
    let end = Instant::now() + budget;
    let mut buf = [0u8; 1024];
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            return;
        }
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return,
        }
    }
}

/// A jitter seed for a policy created without one: the process id and the
/// clock, so that clients started together still spread their retries.
fn seed_from(now: u32) -> u32 {
    std::process::id().rotate_left(16) ^ now ^ 0x5bd1_e995
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;

    #[test]
    #[cfg_attr(miri, ignore = "real sockets: not under Miri's isolation")]
    fn sends_are_gathered_until_flush() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut tcp = Tcp::new(TcpStream::connect(listener.local_addr().unwrap()).unwrap());
        let (mut peer, _) = listener.accept().unwrap();
        tcp.send(b"abc").unwrap();
        tcp.send(b"def").unwrap();
        // Nothing written yet (loopback delivers a write before it returns).
        peer.set_nonblocking(true).unwrap();
        let mut buf = [0u8; 16];
        let early = peer.read(&mut buf);
        assert!(
            matches!(&early, Err(e) if e.kind() == io::ErrorKind::WouldBlock),
            "bytes reached the peer before the flush: {early:?}"
        );
        tcp.flush().unwrap();
        peer.set_nonblocking(false).unwrap();
        peer.set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut got = Vec::new();
        while got.len() < 6 {
            let n = peer.read(&mut buf).unwrap();
            assert!(n > 0, "closed early");
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"abcdef");
        tcp.abort();
        assert!(tcp.send(b"x").is_err());
    }

    #[test]
    fn read_timeout_changes_only_when_it_must_and_never_waits_longer() {
        let ms = Duration::from_millis;
        // Nothing set yet: the largest power of two not above the wait.
        assert_eq!(read_timeout_for(None, ms(1000)), Some(ms(512)));
        assert_eq!(read_timeout_for(None, ms(0)), Some(ms(1)));
        assert_eq!(read_timeout_for(None, ms(1)), Some(ms(1)));
        // Kept while between half the wait and the wait.
        assert_eq!(read_timeout_for(Some(ms(512)), ms(999)), None);
        assert_eq!(read_timeout_for(Some(ms(512)), ms(512)), None);
        assert_eq!(read_timeout_for(Some(ms(512)), ms(1024)), None);
        // Longer than the wait: shortened; far shorter: lengthened.
        assert_eq!(read_timeout_for(Some(ms(512)), ms(511)), Some(ms(256)));
        assert_eq!(read_timeout_for(Some(ms(512)), ms(1025)), Some(ms(1024)));
        for wanted in 0..3000u64 {
            for current in [None, Some(ms(1)), Some(ms(512)), Some(ms(2048))] {
                let set = read_timeout_for(current, ms(wanted)).or(current).unwrap();
                assert!(
                    set <= ms(wanted.max(1)),
                    "{set:?} for a wait of {wanted} ms"
                );
                assert!(set.saturating_mul(2) >= ms(wanted.max(1)));
            }
        }
    }
}
