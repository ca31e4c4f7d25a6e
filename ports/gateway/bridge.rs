//! One radio node at the gateway: its radio session and the TCP connection
//! to the broker that carries it.
//!
//! A session Up opens a TCP connection to the broker (in a thread, so that a
//! slow broker does not stall the other nodes' radios); bytes then flow both
//! ways. The radio side reads from TCP only while the radio has transmit
//! room, so a slow radio holds the broker back through TCP flow control,
//! never by buffering here. A session Down (acknowledgements stopped, the
//! node reset it, or rebooted and opened a new one) closes the TCP
//! connection, as a dropped TCP connection would; a broker that closes the
//! connection gets its last bytes delivered to the node, then the session is
//! reset.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::os::raw::c_short;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;
use std::time::Duration;

use mqttas::radio::{Radio, RadioConfig, RadioError, RadioEvent, RadioStats};
use mqttas::time::Tick;

use crate::frame_io::FrameIo;
use crate::poll::{Poller, POLLIN, POLLOUT};
use crate::{log, Settings};

/// Bytes from the node held for a TCP connection that cannot take them yet
/// (still connecting, or the broker reads slowly). Beyond this the radio's
/// own receive buffer fills and its window closes.
const TO_BROKER_CAP: usize = 16 * 1024;
/// How long a broker's closed connection waits for its last bytes to reach
/// the node before the session is reset anyway.
const EOF_LINGER_MS: u32 = 10_000;
/// How long a connection attempt to the broker may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

enum Conn {
    None,
    Connecting(Receiver<io::Result<TcpStream>>),
    Open(TcpStream),
}

/// A node: one gateway-side radio (reused for each of its sessions) and at
/// most one broker connection.
pub struct Node {
    id: u8,
    radio: Radio<'static>,
    tx_size: usize,
    broker: String,
    conn: Conn,
    to_broker: Vec<u8>,
    from_broker: Vec<u8>,
    eof_at: Option<u32>,
    /// Sessions that came up.
    pub sessions: u32,
    buf: Box<[u8; 1024]>,
}

fn leak(len: usize) -> &'static mut [u8] {
    // One pair per node id for the life of the program (254 at most): the
    // radio borrows its buffers for as long as it lives.
    Box::leak(vec![0u8; len].into_boxed_slice())
}

fn open_broker(broker: &str) -> io::Result<TcpStream> {
    let mut last = io::Error::new(ErrorKind::NotFound, format!("{broker}: no address"));
    for addr in broker.to_socket_addrs()? {
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// The counters of a radio, for the log.
pub fn stats_text(s: &RadioStats) -> String {
    format!(
        "frames sent {} received {} retransmitted {} bad_crc {} dropped {} duplicates {}",
        s.frames_sent, s.frames_received, s.retransmissions, s.bad_crc, s.dropped, s.duplicates
    )
}

impl Node {
    /// The gateway side of node `id`'s sessions.
    pub fn new(id: u8, settings: &Settings, epoch: u16) -> Result<Node, RadioError> {
        let mut config = RadioConfig::new(id, true, epoch);
        config.mtu = settings.mtu;
        config.window = settings.window;
        config.rto_ms = settings.rto_ms;
        config.max_retries = settings.max_retries;
        config.keepalive_ms = settings.keepalive_ms;
        config.validate()?;
        let radio = Radio::new(config, leak(settings.tx_size), leak(settings.rx_size))?;
        Ok(Node {
            id,
            radio,
            tx_size: settings.tx_size,
            broker: settings.broker.clone(),
            conn: Conn::None,
            to_broker: Vec::new(),
            from_broker: Vec::new(),
            eof_at: None,
            sessions: 0,
            buf: Box::new([0u8; 1024]),
        })
    }

    /// A frame from this node.
    pub fn handle_frame(&mut self, now: u32, frame: &[u8]) {
        self.radio.handle_frame(now, frame);
        // Events first: bytes taken after a new session's Up belong to its
        // connection, not to the one its Down closes.
        self.events(now);
        // Take the stream bytes at once: a RESET that follows empties the
        // radio's buffers, and the node's last bytes (DISCONNECT) must
        // still reach the broker.
        self.take_from_radio();
    }

    /// Everything but frame input: timers, the broker connection, events.
    pub fn service(&mut self, now: u32) {
        if let Some(at) = self.radio.poll_deadline() {
            if Tick::from(now).reached(Tick::from(at)) {
                self.radio.handle_timeout(now);
            }
        }
        self.check_connect(now);
        self.take_from_radio();
        self.write_broker(now);
        self.read_broker(now);
        self.check_eof(now);
        self.events(now);
    }

    /// Send what the radio has for the air.
    pub fn flush(&mut self, now: u32, io: &mut dyn FrameIo) {
        let id = self.id;
        let mut frame = [0u8; 256];
        while let Some(n) = self.radio.poll_frame(now, &mut frame) {
            if let Some(f) = frame.get(..n) {
                if let Err(e) = io.send(id, f) {
                    log(format_args!("node {id}: frame not sent: {e}"));
                }
            }
        }
    }

    /// The descriptor and events this node waits for, if any.
    pub fn register(&self, poller: &mut Poller) {
        if let Conn::Open(s) = &self.conn {
            let mut events: c_short = 0;
            if self.eof_at.is_none()
                && self.from_broker.is_empty()
                && self.radio.is_up()
                && self.radio.writable() > 0
            {
                events |= POLLIN;
            }
            if !self.to_broker.is_empty() {
                events |= POLLOUT;
            }
            if events != 0 {
                poller.add(s.as_raw_fd(), events);
            }
        }
    }

    /// When the radio next needs handle_timeout.
    pub fn deadline(&self) -> Option<u32> {
        self.radio.poll_deadline()
    }

    /// A broker connection is being opened (its result is polled).
    pub fn connecting(&self) -> bool {
        matches!(self.conn, Conn::Connecting(_))
    }

    /// The radio's counters.
    pub fn stats(&self) -> RadioStats {
        self.radio.stats()
    }

    /// Reset the session and drop the broker connection (gateway exit).
    pub fn shutdown(&mut self, now: u32, io: &mut dyn FrameIo) {
        if self.radio.is_up() {
            self.radio.close(now);
            self.flush(now, io);
        }
        self.close_conn(true);
    }

    fn take_from_radio(&mut self) {
        while self.to_broker.len() < TO_BROKER_CAP {
            let room = (TO_BROKER_CAP - self.to_broker.len()).min(self.buf.len());
            let Some(buf) = self.buf.get_mut(..room) else {
                break;
            };
            let n = self.radio.read(buf);
            if n == 0 {
                break;
            }
            self.to_broker
                .extend_from_slice(buf.get(..n).unwrap_or_default());
        }
    }

    fn check_connect(&mut self, now: u32) {
        let Conn::Connecting(rx) = &self.conn else {
            return;
        };
        let id = self.id;
        match rx.try_recv() {
            Err(TryRecvError::Empty) => {}
            Ok(Ok(s)) => {
                if let Err(e) = s.set_nonblocking(true) {
                    log(format_args!("node {id}: broker socket: {e}"));
                }
                // MQTT packets are small and latency-bound.
                let _ = s.set_nodelay(true);
                log(format_args!(
                    "node {id}: connected to the broker {}",
                    self.broker
                ));
                self.conn = Conn::Open(s);
            }
            Ok(Err(e)) => {
                log(format_args!(
                    "node {id}: broker {} unreachable ({e}): resetting the session",
                    self.broker
                ));
                self.conn = Conn::None;
                self.radio.close(now);
            }
            Err(TryRecvError::Disconnected) => {
                self.conn = Conn::None;
                self.radio.close(now);
            }
        }
    }

    fn write_broker(&mut self, now: u32) {
        loop {
            self.take_from_radio();
            if self.to_broker.is_empty() {
                return;
            }
            let Conn::Open(s) = &mut self.conn else {
                return;
            };
            match s.write(&self.to_broker) {
                Ok(0) => return,
                Ok(n) => {
                    self.to_broker.drain(..n.min(self.to_broker.len()));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    log(format_args!(
                        "node {}: writing to the broker failed: {e}",
                        self.id
                    ));
                    self.to_broker.clear();
                    self.broker_gone(now);
                    return;
                }
            }
        }
    }

    fn read_broker(&mut self, now: u32) {
        if self.eof_at.is_some() {
            return;
        }
        if !self.from_broker.is_empty() {
            let n = self.radio.write(now, &self.from_broker);
            self.from_broker.drain(..n.min(self.from_broker.len()));
            if !self.from_broker.is_empty() {
                return;
            }
        }
        let Conn::Open(s) = &mut self.conn else {
            return;
        };
        while self.radio.is_up() {
            let room = self.radio.writable().min(self.buf.len());
            if room == 0 {
                break;
            }
            let Some(buf) = self.buf.get_mut(..room) else {
                break;
            };
            match s.read(buf) {
                Ok(0) => {
                    log(format_args!(
                        "node {}: the broker closed the connection",
                        self.id
                    ));
                    self.eof_at = Some(now);
                    break;
                }
                Ok(n) => {
                    let data = buf.get(..n).unwrap_or_default();
                    let w = self.radio.write(now, data);
                    if let Some(rest) = data.get(w..) {
                        self.from_broker.extend_from_slice(rest);
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => {
                    log(format_args!(
                        "node {}: reading from the broker failed: {e}",
                        self.id
                    ));
                    self.eof_at = Some(now);
                    break;
                }
            }
        }
    }

    fn broker_gone(&mut self, now: u32) {
        // Nothing more can reach the broker: end the radio session too, so
        // the node notices now rather than at its next timeout.
        self.close_conn(false);
        if self.radio.is_up() {
            self.radio.close(now);
        }
    }

    fn check_eof(&mut self, now: u32) {
        let Some(at) = self.eof_at else { return };
        let delivered = self.from_broker.is_empty() && self.radio.writable() >= self.tx_size;
        if delivered
            || !self.radio.is_up()
            || Tick::from(now).wrapping_since(Tick::from(at)) >= EOF_LINGER_MS
        {
            self.eof_at = None;
            self.broker_gone(now);
        }
    }

    fn events(&mut self, now: u32) {
        let id = self.id;
        while let Some(ev) = self.radio.poll_event() {
            match ev {
                RadioEvent::Up => {
                    self.sessions += 1;
                    log(format_args!(
                        "node {id}: session {} up: connecting to {}",
                        self.sessions, self.broker
                    ));
                    self.close_conn(false);
                    let (tx, rx) = mpsc::channel();
                    let broker = self.broker.clone();
                    let spawned =
                        thread::Builder::new()
                            .name(format!("connect-{id}"))
                            .spawn(move || {
                                // The receiver may be gone (session down meanwhile):
                                // the stream is then dropped, which closes it.
                                let _ = tx.send(open_broker(&broker));
                            });
                    match spawned {
                        Ok(_) => self.conn = Conn::Connecting(rx),
                        Err(e) => {
                            log(format_args!("node {id}: no thread to connect: {e}"));
                            self.radio.close(now);
                        }
                    }
                }
                RadioEvent::Down(why) => {
                    log(format_args!(
                        "node {id}: session down ({why}): closing the broker connection; {}",
                        stats_text(&self.radio.stats())
                    ));
                    self.close_conn(true);
                }
            }
        }
    }

    fn close_conn(&mut self, flush: bool) {
        if let Conn::Open(mut s) = std::mem::replace(&mut self.conn, Conn::None) {
            if flush && !self.to_broker.is_empty() {
                // The node's last bytes (a DISCONNECT before its RESET):
                // worth a short blocking write.
                let _ = s.set_nonblocking(false);
                let _ = s.set_write_timeout(Some(Duration::from_millis(500)));
                let _ = s.write_all(&self.to_broker);
            }
            let _ = s.shutdown(Shutdown::Both);
        }
        self.to_broker.clear();
        self.from_broker.clear();
        self.eof_at = None;
    }
}
