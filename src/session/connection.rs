//! One connection's state: everything that starts afresh with each CONNECT
//! and ends with the link. The session's durable part (the store, packet
//! ids, the inbound QoS 2 ids, the outbound aliases) is in `durable.rs`.

use heapless::Vec;

use crate::time::Tick;
use crate::wire::QoS;

use super::client::{State, MAX_PENDING_REQUESTS};
use super::event::{Awaited, LostReason};
use super::rx::Span;
use super::Config;

/// The keep-alive ping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ping {
    Idle,
    /// PINGREQ to send.
    Queued,
    /// PINGREQ sent at this time, PINGRESP awaited.
    Outstanding(Tick),
}

/// A SUBSCRIBE or UNSUBSCRIBE awaiting its acknowledgement.
#[derive(Clone, Copy, Debug)]
pub(super) struct Request {
    pub packet_id: u16,
    /// Topic filters asked for: the SUBACK or UNSUBACK has a code for each.
    pub filters: u16,
    pub kind: Awaited,
    pub sent_at: Tick,
}

/// What the broker allows (its 5.0 CONNACK; the defaults until it comes
/// and in 3.1.1). They still apply to commands given after the connection
/// is lost, until the next CONNECT.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    /// Maximum Packet Size, 0 for none.
    pub max_packet: u32,
    /// Maximum QoS.
    pub max_qos: QoS,
    /// Retain Available.
    pub retain: bool,
}

impl Limits {
    /// No limit: before CONNACK, and what a 3.1.1 broker allows.
    pub const NONE: Limits = Limits {
        max_packet: 0,
        max_qos: QoS::ExactlyOnce,
        retain: true,
    };
}

/// How the connection ended, for the application to hear.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct End {
    /// [`crate::Event::ConnectionLost`] to report.
    pub lost: Option<LostReason>,
    /// `disconnect()` was called: report [`crate::Event::Disconnected`]
    /// once the DISCONNECT has been handed out.
    pub disconnecting: bool,
    /// The properties of the broker's DISCONNECT that ended the connection,
    /// or of its CONNACK refusing it (5.0), in the receive buffer: nothing
    /// overwrites them until the next CONNECT.
    pub disconnect_props: Span,
}

/// The connection, replaced whole by [`Connection::new`] on connect and by
/// [`Connection::down`] when it ends.
#[derive(Clone, Debug)]
pub(super) struct Connection {
    pub state: State,
    /// Clean session / clean start asked for in this CONNECT.
    pub clean_requested: bool,
    /// The broker sends again, on the next connection, what it did not
    /// have acknowledged on this one: the session outlives this connection
    /// (3.1.1 clean session 0, 5.0 session expiry above 0) and the next
    /// one resumes it (`clean` false).
    pub resumes: bool,
    /// A QoS 2 message was withheld on this connection (see
    /// `inbound::Fate`).
    pub withholding: bool,
    /// QoS 2 messages delivered untracked on this connection whose PUBREL
    /// has not come (a PUBREL for an id we do not know then gets PUBCOMP
    /// success rather than 5.0's 0x92).
    pub untracked_open: u16,
    /// This CONNECT named an authentication method (5.0 AUTH allowed).
    pub auth_method_sent: bool,
    pub connect_sent: Tick,
    pub last_rx: Tick,
    pub last_tx: Tick,
    pub ping: Ping,
    pub requests: Vec<Request, MAX_PENDING_REQUESTS>,
    /// Keep alive in force: ours, or the broker's Server Keep Alive (5.0).
    pub keep_alive: u16,
    /// The broker's Receive Maximum (5.0).
    pub receive_max: u16,
    pub limits: Limits,
    pub end: End,
}

impl Connection {
    /// No connection yet.
    pub fn none(cfg: &Config) -> Connection {
        Connection {
            state: State::Disconnected,
            clean_requested: true,
            resumes: false,
            withholding: false,
            untracked_open: 0,
            auth_method_sent: false,
            connect_sent: Tick::default(),
            last_rx: Tick::default(),
            last_tx: Tick::default(),
            ping: Ping::Idle,
            requests: Vec::new(),
            keep_alive: cfg.keep_alive,
            receive_max: u16::MAX,
            limits: Limits::NONE,
            end: End::default(),
        }
    }

    /// A CONNECT queued at `now`.
    pub fn new(
        cfg: &Config,
        now: Tick,
        clean: bool,
        resumes: bool,
        auth_method_sent: bool,
    ) -> Connection {
        Connection {
            state: State::Connecting,
            clean_requested: clean,
            resumes,
            auth_method_sent,
            connect_sent: now,
            last_rx: now,
            last_tx: now,
            ..Connection::none(cfg)
        }
    }

    /// This connection over: only the broker's limits and the DISCONNECT's
    /// properties outlive it, with `lost` and `disconnecting` to report.
    pub fn down(&self, cfg: &Config, lost: Option<LostReason>, disconnecting: bool) -> Connection {
        Connection {
            limits: self.limits,
            end: End {
                lost,
                disconnecting,
                disconnect_props: self.end.disconnect_props,
            },
            ..Connection::none(cfg)
        }
    }

    /// The ping interval, if any: the configured one, else a quarter of the
    /// keep alive in force.
    pub fn ping_interval(&self, cfg: &Config) -> Option<u32> {
        let i = if cfg.ping_interval_ms != 0 {
            cfg.ping_interval_ms
        } else {
            u32::from(self.keep_alive) * 250
        };
        (i != 0).then_some(i)
    }
}
