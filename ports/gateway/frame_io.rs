//! Frame I/O: how the gateway hears and speaks on the radio.
//!
//! The gateway needs only to send a frame and to take a received frame
//! without blocking. [`UdpAir`] is the simulated radio (one frame per UDP
//! datagram, as tests/links/air.py relays them); a real deployment puts a
//! radio adapter behind the same trait: a serial or SPI bridge to an SX127x
//! or nRF24L01 module, with a file descriptor the event loop can wait on.

use std::collections::HashMap;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::{AsRawFd, RawFd};

use mqttas::radio;

/// A radio as the gateway sees it: frames out, frames in.
pub trait FrameIo {
    /// Transmit one frame for `node`. A failed transmission is a lost frame
    /// (the ARQ repeats it): report it, the caller only logs it.
    fn send(&mut self, node: u8, frame: &[u8]) -> io::Result<()>;

    /// The next received frame, copied into `buf`, or `None` at once when
    /// none is waiting.
    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>>;

    /// A descriptor that becomes readable when a frame arrives, for
    /// poll(2); `None` makes the gateway poll `recv` every few milliseconds.
    fn wait_fd(&self) -> Option<RawFd>;
}

/// The simulated radio: frames as UDP datagrams.
///
/// Received frames come from the air relay (or straight from nodes);
/// downlink frames go to `air` when given, else back to the address the
/// node's last frame came from.
pub struct UdpAir {
    socket: UdpSocket,
    air: Option<SocketAddr>,
    heard: HashMap<u8, SocketAddr>,
}

impl UdpAir {
    /// Bind the gateway's radio socket (non-blocking).
    pub fn bind(radio: SocketAddr, air: Option<SocketAddr>) -> io::Result<UdpAir> {
        let socket = UdpSocket::bind(radio)?;
        socket.set_nonblocking(true)?;
        Ok(UdpAir {
            socket,
            air,
            heard: HashMap::new(),
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }
}

impl FrameIo for UdpAir {
    fn send(&mut self, node: u8, frame: &[u8]) -> io::Result<()> {
        let to = match self.air.or_else(|| self.heard.get(&node).copied()) {
            Some(to) => to,
            None => {
                return Err(io::Error::new(
                    ErrorKind::NotFound,
                    "node never heard: no address",
                ))
            }
        };
        self.socket.send_to(frame, to).map(|_| ())
    }

    fn recv(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        loop {
            match self.socket.recv_from(buf) {
                Ok((n, from)) => {
                    if self.air.is_none() {
                        // Learn where each node is heard from (CRC-checked).
                        if let Some((node, false)) = buf.get(..n).and_then(radio::frame_node) {
                            self.heard.insert(node, from);
                        }
                    }
                    return Ok(Some(n));
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(None),
                // ICMP "port unreachable" of an earlier send: not our receive.
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionRefused | ErrorKind::Interrupted
                    ) =>
                {
                    continue
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn wait_fd(&self) -> Option<RawFd> {
        Some(self.socket.as_raw_fd())
    }
}
