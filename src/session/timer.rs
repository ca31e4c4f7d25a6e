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
    /// PINGRESP awaited since PINGREQ: the connection is lost.
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

impl Core<'_> {
    /// When `timer` expires, if it runs.
    fn deadline(&self, timer: Timer) -> Option<Tick> {
        let c = &self.conn;
        let rt = self.cfg.response_time_ms;
        let connected = c.state == State::Connected;
        match timer {
            Timer::ConnAck => (c.state == State::Connecting).then_some(c.connect_sent + rt),
            Timer::PingResp => match c.ping {
                Ping::Outstanding(t) if connected => Some(t + rt),
                _ => None,
            },
            Timer::Request if connected => c
                .requests
                .iter()
                .fold(None, |d, r| self.now.earliest(d, Some(r.sent_at + rt))),
            Timer::Ack if connected => self
                .session
                .store
                .awaiting()
                .fold(None, |d, r| self.now.earliest(d, Some(r.sent_at + rt))),
            Timer::KeepAlive if connected && c.ping == Ping::Idle => {
                c.ping_interval(&self.cfg).map(|i| {
                    let rx = c.last_rx + i;
                    self.now
                        .earliest(Some(rx), Some(c.last_tx + i))
                        .unwrap_or(rx)
                })
            }
            Timer::Request | Timer::Ack | Timer::KeepAlive => None,
        }
    }

    /// The earliest deadline of all timers.
    pub(super) fn next_deadline(&self) -> Option<Tick> {
        Timer::ALL
            .iter()
            .fold(None, |d, &t| self.now.earliest(d, self.deadline(t)))
    }

    /// Handle the timers expired at `now`; `Some(reason)` when the
    /// connection is lost.
    pub(super) fn expire_timers(&mut self, now: Tick) -> Option<LostReason> {
        for timer in Timer::ALL {
            if self.deadline(timer).is_some_and(|d| now.reached(d)) {
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
        self.session.store.update_each(&mut |r| {
            let awaited = match r.phase {
                Phase::AwaitAck if r.qos2 => Awaited::PubRec,
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
