//! The session's timers, in one table: each timer's deadline is a rule over
//! the connection's state, read both by [`Client::poll_deadline`] (the
//! earliest deadline) and by [`Client::handle_timeout`] (which timers have
//! expired), so the two cannot disagree. (quinn-proto keeps its timers in
//! one table the same way, `connection/timer.rs`.)
//!
//! [`Client::poll_deadline`]: super::Client::poll_deadline
//! [`Client::handle_timeout`]: super::Client::handle_timeout

use crate::time::Tick;

use super::client::{Core, State};
use super::connection::Ping;
use super::event::{Awaited, LostReason};
use super::store::Phase;

/// A timer, in the order expired timers are handled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Timer {
    /// CONNACK awaited since CONNECT: the connection is lost.
    ConnAck,
    /// PINGRESP awaited since PINGREQ (or, while bytes keep coming, since
    /// the last of them): the connection is lost.
    PingResp,
    /// SUBACK or UNSUBACK awaited: the connection is lost.
    Request,
    /// PUBACK, PUBREC or PUBCOMP awaited: publish again (3.1.1, up to
    /// `max_repubs`) or the connection is lost.
    Ack,
    /// Nothing received or nothing sent for the ping interval: PINGREQ.
    KeepAlive,
}

impl Timer {
    /// The table.
    const ALL: [Timer; 5] = [
        Timer::ConnAck,
        Timer::PingResp,
        Timer::Request,
        Timer::Ack,
        Timer::KeepAlive,
    ];
}

/// [`Core::until`] of a timer that does not run.
const IDLE: i32 = i32::MAX;

impl Core<'_> {
    /// Milliseconds from now until `timer` expires (negative once it has),
    /// [`IDLE`] when it does not run. Deadlines as signed distances from
    /// now, as [`Tick::earliest`] compares them: the earliest is a plain
    /// minimum.
    fn until(&self, timer: Timer) -> i32 {
        let c = &self.conn;
        let now = self.now;
        let rt = self.cfg.response_time_ms;
        let connected = c.state == State::Connected;
        let after = |since: Tick| now.until(since + rt);
        match timer {
            Timer::ConnAck if c.state == State::Connecting => after(c.connect_sent),
            Timer::PingResp if connected => match c.ping {
                Ping::Outstanding(sent) => now.until(self.pingresp_due(sent)),
                _ => IDLE,
            },
            Timer::Request if connected => c
                .requests
                .iter()
                .map(|r| after(r.sent_at))
                .fold(IDLE, i32::min),
            Timer::Ack if connected => self
                .session
                .store
                .awaiting()
                .map(|r| after(r.sent_at))
                .fold(IDLE, i32::min),
            Timer::KeepAlive if connected && c.ping == Ping::Idle => {
                c.ping_interval(&self.cfg).map_or(IDLE, |i| {
                    now.until(c.last_rx + i).min(now.until(c.last_tx + i))
                })
            }
            _ => IDLE,
        }
    }

    /// When the PINGRESP to a PINGREQ sent at `sent` is overdue.
    ///
    /// `response_time` after the PINGREQ, or after the last byte received
    /// since if that is later: TCP delivers in order, so a PINGRESP may wait
    /// behind what the broker sent before it (a backlog on a slow link),
    /// and bytes still arriving show that the broker and the link towards
    /// us work (mqtt_as counts any packet received as a sign of life). A
    /// broker that keeps sending but never answers is given at most one
    /// and a half keep alive periods more (what a broker itself allows its
    /// client, MQTT 3.1.2.10): the connection is lost `response_time` plus
    /// 1.5 × keep alive after the PINGREQ at the latest. With keep alive 0
    /// (pings asked for by the application) only `response_time` counts.
    fn pingresp_due(&self, sent: Tick) -> Tick {
        let c = &self.conn;
        let rt = self.cfg.response_time_ms;
        let from = if c.last_rx.reached(sent) {
            c.last_rx
        } else {
            sent
        };
        let most = sent + rt + u32::from(c.keep_alive) * 1500;
        sent.earliest(Some(from + rt), Some(most)).unwrap_or(most)
    }

    /// The earliest deadline of all timers.
    pub(super) fn next_deadline(&self) -> Option<Tick> {
        let next = Timer::ALL.iter().fold(IDLE, |d, &t| d.min(self.until(t)));
        (next != IDLE).then(|| self.now + next as u32)
    }

    /// Handle the timers expired at `now`; `Some(reason)` when the
    /// connection is lost.
    pub(super) fn expire_timers(&mut self, now: Tick) -> Option<LostReason> {
        for timer in Timer::ALL {
            let until = self.until(timer);
            if until != IDLE && now.reached(now + until as u32) {
                if let Some(lost) = self.expire(timer, now) {
                    return Some(lost);
                }
            }
        }
        None
    }

    /// `timer` has expired at `now`.
    fn expire(&mut self, timer: Timer, now: Tick) -> Option<LostReason> {
        let rt = self.cfg.response_time_ms;
        match timer {
            Timer::ConnAck => Some(LostReason::Timeout(Awaited::ConnAck)),
            Timer::PingResp => Some(LostReason::Timeout(Awaited::PingResp)),
            Timer::Request => self
                .conn
                .requests
                .iter()
                .find(|r| now.reached(r.sent_at + rt))
                .map(|r| LostReason::Timeout(r.kind)),
            Timer::Ack => self.expire_acks(now),
            Timer::KeepAlive => {
                self.conn.ping = Ping::Queued;
                None
            }
        }
    }

    /// Publications whose acknowledgement is overdue: 3.1.1 sends them
    /// again (mqtt_as's `max_repubs`), 5.0 forbids that: the connection is
    /// lost.
    fn expire_acks(&mut self, now: Tick) -> Option<LostReason> {
        let rt = self.cfg.response_time_ms;
        let (v5, max_repubs) = (self.cfg.version.is_v5(), self.cfg.max_repubs);
        let mut lost = None;
        self.session.store.update_each(|r, store| {
            let awaited = match r.phase {
                Phase::AwaitAck if r.qos2(store) => Awaited::PubRec,
                Phase::AwaitAck => Awaited::PubAck,
                Phase::AwaitComp => Awaited::PubComp,
                _ => return true,
            };
            if !now.reached(r.sent_at + rt) {
                return true;
            }
            if v5 || r.repubs >= max_repubs {
                lost = Some(LostReason::Timeout(awaited));
                return false;
            }
            r.repubs += 1;
            r.phase = if r.phase == Phase::AwaitComp {
                Phase::RelUnsent
            } else {
                Phase::Unsent
            };
            true
        });
        lost
    }
}
