//! Outage policy: what to do, and when, after the connection is lost.
//!
//! The session ([`crate::Client`]) says *that* the connection is lost; this
//! module says *what happens next*, the same way for every binding (Rust
//! driver, C, Python), so that a client recovers from an outage the same
//! way whatever it is written in. Like the session it is sans-IO: no
//! sockets, no clock, no random number source. Time goes in, actions come
//! out.
//!
//! The policy is the "belt and braces" one of the `mqtt_as` author's notes
//! and `mqtt_async`, with the backoff kept across connections that do not
//! last:
//!
//! 1. When an outage is detected (the session reports
//!    [`crate::Event::ConnectionLost`], or the link reports an error), the
//!    link is taken down and **held down** for [`Policy::hold_down_ms`],
//!    long enough that every hop between the client and the broker knows
//!    the connection is gone. Reconnection then always starts from the same
//!    state.
//! 2. Then a **TCP (transport) reconnection** is tried: open the transport,
//!    send CONNECT, wait for CONNACK.
//! 3. Failed attempts are retried after an **exponential backoff**
//!    ([`Policy::backoff_base_ms`], doubling, capped at
//!    [`Policy::backoff_cap_ms`]) shortened by a random **jitter** of up to
//!    [`Policy::jitter_percent`] so that many clients do not retry in step.
//! 4. After [`Policy::tcp_attempts_before_bounce`] failed attempts in a row
//!    the **link itself is bounced** (WiFi, cellular or radio taken down and
//!    up again), as `mqtt_async` does before it reconnects WiFi.
//! 5. The backoff starts over only after a **stable** connection, one that
//!    stayed up [`Policy::stable_ms`]. A connection lost sooner (a broker
//!    that closes right after CONNACK, two devices taking the same client
//!    id from each other) counts as one more failed attempt: the link is
//!    held down for the grown backoff (at least `hold_down_ms`), so such a
//!    loop slows down to one attempt per `backoff_cap_ms` instead of
//!    spinning at the hold-down's pace.
//!
//! What ended a connection or an attempt is told to the policy as a
//! [`Cause`], derived from the session's
//! [`LostReason`](crate::session::LostReason) by [`Cause::of`]:
//!
//! | cause | from | the next attempt |
//! | --- | --- | --- |
//! | [`Cause::Outage`] | link down, no reply in time, a protocol error, an ordinary DISCONNECT (also a 3.1.1 broker's, reported as a protocol error); a transport that did not open | after the hold-down (a stable connection) or the grown backoff (a short one, or a failed attempt) |
//! | [`Cause::BackOff`] | CONNACK 3.1.1: 3; 5.0: 0x80, 0x88, 0x89, 0x97, 0x9C, 0x9F, unknown codes. DISCONNECT 0x89, 0x8E, 0x96, 0x97, 0x98, 0x9C, 0x9F | after the grown backoff, whatever the uptime |
//! | [`Cause::Permanent`] | CONNACK 3.1.1: 1, 2, 4, 5; 5.0: 0x81-0x87, 0x8A, 0x8C, 0x90, 0x95, 0x99-0x9B, 0x9D. DISCONNECT 0x9D | after `backoff_cap_ms` (less jitter) |
//! | [`Cause::Planned`] | the session closed on purpose ([`LostReason::ReceiveMaximumExceeded`](crate::session::LostReason::ReceiveMaximumExceeded)) | at once |
//!
//! A permanent refusal (bad credentials, not authorised, banned, server
//! moved, ...) is retried, but only at the longest interval: a device in
//! the field comes back by itself once the broker's administrator has fixed
//! its account, and meanwhile costs the broker one attempt per
//! `backoff_cap_ms`. Clients report it clearly (the session's text of the
//! refusal, then "permanent refusal: next try in N ms"). A refusal or
//! DISCONNECT of the broker proves the link works: it does not count
//! towards a link bounce.
//!
//! Use it in handle/poll style beside the session:
//!
//! ```
//! use mqttas::reconnect::{Action, Cause, Policy, Reconnect};
//!
//! let mut r = Reconnect::new(Policy::default(), 12345);
//! // Start: connect at once.
//! assert_eq!(r.poll_action(0), Some(Action::Connect));
//! r.handle_connected(40);
//! assert_eq!(r.poll_action(50), None);
//! // The session reported ConnectionLost(LinkDown) at t = 100 000, after
//! // a stable connection: `Cause::of(&reason)` is `Cause::Outage`.
//! r.handle_lost(100_000, Cause::Outage);
//! // Close the socket (and keep everything closed) until `until`.
//! assert_eq!(r.poll_action(100_000), Some(Action::HoldDown { until: 101_000 }));
//! assert_eq!(r.poll_action(100_500), Some(Action::Wait { until: 101_000 }));
//! assert_eq!(r.poll_action(101_000), Some(Action::Connect));
//! ```
//!
//! Every action but [`Action::Connect`] means "the transport is closed";
//! after [`Action::Connect`] the caller reports how the attempt ended with
//! [`Reconnect::handle_connected`] (CONNACK accepted) or
//! [`Reconnect::handle_attempt_failed`] (the transport did not open, the
//! broker refused, CONNACK did not come); a `ConnectionLost` during the
//! attempt may also be reported with [`Reconnect::handle_lost`], which then
//! counts as a failed attempt.
//!
//! Defaults ([`Policy::default`]):
//!
//! | field | default | meaning |
//! | --- | --- | --- |
//! | `hold_down_ms` | 1000 | link held down after an outage (mqtt_as sleeps 1 s) |
//! | `tcp_attempts_before_bounce` | 3 | failed attempts in a row before the link is bounced; 0 never |
//! | `backoff_base_ms` | 500 | wait after the first failed attempt |
//! | `backoff_cap_ms` | 30 000 | longest wait between attempts, and the wait after a permanent refusal |
//! | `jitter_percent` | 20 | each wait is shortened by a random 0..20 % |
//! | `attempt_timeout_ms` | 30 000 | an attempt not reported within this counts as failed; 0 never |
//! | `stable_ms` | 60 000 | a connection up this long resets the backoff (mqtt_as's default keepalive; the clients set it to their keepalive); 0: every connection does |

use core::fmt;

use crate::time::Tick;

mod cause;

pub use cause::Cause;

/// The outage policy: how long to hold the link down, how to back off, when
/// to bounce the link. All times in milliseconds; see the
/// [module documentation](self) for the defaults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// How long the link is held down after an outage before the first
    /// reconnection attempt (and after a link bounce), so that every hop
    /// between client and broker sees the connection gone. Default 1000.
    pub hold_down_ms: u32,
    /// Failed transport (TCP + MQTT CONNECT) attempts in a row after which
    /// the link itself (WiFi, radio) is bounced; 0: never bounce (a wired or
    /// host link). Default 3.
    pub tcp_attempts_before_bounce: u16,
    /// Wait after the first failed attempt; it doubles with each further
    /// failure. Default 500.
    pub backoff_base_ms: u32,
    /// Longest wait between attempts (the doubling stops here), and the
    /// wait after a permanent refusal ([`Cause::Permanent`]). Default
    /// 30 000.
    pub backoff_cap_ms: u32,
    /// Each wait is shortened by a random amount of up to this percentage
    /// of it (0 to 100), so that clients that lost the same broker do not
    /// all come back at once. Default 20.
    pub jitter_percent: u8,
    /// An attempt neither reported connected nor failed within this long
    /// counts as failed (a guard for callers that lose track of an
    /// attempt); 0: no limit. Default 30 000.
    pub attempt_timeout_ms: u32,
    /// A connection that stayed up this long is stable: when it is lost
    /// the backoff starts over. One lost sooner counts as one more failed
    /// attempt, so that a broker that accepts and then drops every
    /// connection is retried ever more slowly, up to the cap. Set it to
    /// the keep alive (a connection that has lived through a keep alive
    /// period has proved itself); 0: every connection is stable. Default
    /// 60 000 (mqtt_as's default keep alive).
    pub stable_ms: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            hold_down_ms: 1000,
            tcp_attempts_before_bounce: 3,
            backoff_base_ms: 500,
            backoff_cap_ms: 30_000,
            jitter_percent: 20,
            attempt_timeout_ms: 30_000,
            stable_ms: 60_000,
        }
    }
}

/// Longest duration a policy may give: deadlines are wrapping `u32` ticks,
/// which compare correctly only while less than 2^31 ms apart.
pub const MAX_DURATION_MS: u32 = 1 << 30;

/// Why a [`Policy`] is refused by [`Policy::validate`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    /// `jitter_percent` above 100.
    Jitter,
    /// `backoff_cap_ms` below `backoff_base_ms`.
    Cap,
    /// A duration above [`MAX_DURATION_MS`].
    TooLong,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PolicyError::Jitter => "jitter_percent above 100",
            PolicyError::Cap => "backoff_cap_ms below backoff_base_ms",
            PolicyError::TooLong => "a duration above 2^30 ms",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for PolicyError {}

impl Policy {
    /// Check the values: jitter at most 100 %, cap not below base,
    /// durations at most [`MAX_DURATION_MS`].
    pub fn validate(&self) -> Result<(), PolicyError> {
        if self.jitter_percent > 100 {
            return Err(PolicyError::Jitter);
        }
        if self.backoff_cap_ms < self.backoff_base_ms {
            return Err(PolicyError::Cap);
        }
        let longest = self
            .hold_down_ms
            .max(self.backoff_cap_ms)
            .max(self.attempt_timeout_ms)
            .max(self.stable_ms);
        if longest > MAX_DURATION_MS {
            return Err(PolicyError::TooLong);
        }
        Ok(())
    }

    /// The wait after `failures` failed attempts in a row (at least 1),
    /// before jitter: `base * 2^(failures - 1)`, at most the cap.
    pub fn backoff_ms(&self, failures: u32) -> u32 {
        let shift = failures.saturating_sub(1).min(31);
        let wait = u64::from(self.backoff_base_ms) << shift;
        wait.min(u64::from(self.backoff_cap_ms)) as u32
    }
}

/// What the caller should do now, from [`Reconnect::poll_action`].
///
/// Every action but [`Action::Connect`] means the transport (socket) must
/// be closed, without DISCONNECT, if it is not already.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// An outage began: close the transport and take the link down, and
    /// keep them down until `until`. Given once per outage.
    HoldDown {
        /// Tick at which the hold-down ends.
        until: u32,
    },
    /// Open the transport (TCP) and send CONNECT; then report
    /// [`Reconnect::handle_connected`] or
    /// [`Reconnect::handle_attempt_failed`]. Given once per attempt.
    Connect,
    /// Too many failed attempts: take the link itself (WiFi, radio) down
    /// now, keep it down until `until`, then bring it up again; the next
    /// [`Action::Connect`] comes no earlier. Given once per bounce. A link
    /// with nothing to bounce (a host's TCP) just waits.
    BounceLink {
        /// Tick before which no reconnection is tried.
        until: u32,
    },
    /// Nothing to do before `until` (the transport stays closed).
    Wait {
        /// Tick of the next action.
        until: u32,
    },
}

/// Where the policy is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Never connected, or a planned reconnection: connect at once.
    Start,
    /// Connected since `since`; `stable`: seen up for `stable_ms` already
    /// (remembered so that a connection older than the tick's wrap is not
    /// taken for a new one).
    Up { since: Tick, stable: bool },
    /// Held down after an outage (`told`: HoldDown given).
    HoldDown { until: Tick, told: bool },
    /// Bouncing the link after failed attempts (`told`: BounceLink given).
    Bounce { until: Tick, told: bool },
    /// Backing off after a failed attempt.
    Backoff { until: Tick },
    /// An attempt is under way since `since`.
    Connecting { since: Tick },
}

/// Counters, for logs and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Outages: connections lost after being established (planned
    /// reconnections aside).
    pub outages: u32,
    /// Connection attempts started ([`Action::Connect`] given).
    pub attempts: u32,
    /// Attempts that failed.
    pub failures: u32,
    /// Link bounces ([`Action::BounceLink`] given).
    pub bounces: u32,
    /// Planned reconnections ([`Cause::Planned`] while connected).
    pub planned: u32,
    /// Connections lost before they were stable ([`Policy::stable_ms`]),
    /// each counted as a failure for the backoff.
    pub unstable: u32,
    /// Losses and refusals by which the broker asked to back off
    /// ([`Cause::BackOff`]).
    pub back_offs: u32,
    /// Permanent refusals ([`Cause::Permanent`]).
    pub permanent: u32,
}

/// The outage state machine (see the [module documentation](self)).
#[derive(Clone, Copy, Debug)]
pub struct Reconnect {
    policy: Policy,
    phase: Phase,
    /// Failed attempts and short connections since the last stable
    /// connection (drives the backoff).
    failures: u32,
    /// Failed attempts since the last connection or bounce.
    since_bounce: u32,
    /// xorshift32 state, never 0.
    rng: u32,
    stats: Stats,
}

impl Reconnect {
    /// A policy machine that has never connected: its first action is
    /// [`Action::Connect`]. `seed` seeds the jitter (any value; give each
    /// device a different one, e.g. from its MAC address or a hardware RNG).
    /// An invalid policy ([`Policy::validate`]) is clamped into range: call
    /// `validate` first to refuse it instead.
    pub fn new(policy: Policy, seed: u32) -> Self {
        let mut policy = policy;
        policy.jitter_percent = policy.jitter_percent.min(100);
        policy.hold_down_ms = policy.hold_down_ms.min(MAX_DURATION_MS);
        policy.backoff_cap_ms = policy.backoff_cap_ms.min(MAX_DURATION_MS);
        policy.backoff_base_ms = policy.backoff_base_ms.min(policy.backoff_cap_ms);
        policy.attempt_timeout_ms = policy.attempt_timeout_ms.min(MAX_DURATION_MS);
        policy.stable_ms = policy.stable_ms.min(MAX_DURATION_MS);
        Reconnect {
            policy,
            phase: Phase::Start,
            failures: 0,
            since_bounce: 0,
            // xorshift has a fixed point at 0.
            rng: if seed == 0 { 0x9E37_79B9 } else { seed },
            stats: Stats::default(),
        }
    }

    /// The policy in use.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Counters since creation.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// True while connected (between [`Reconnect::handle_connected`] and the
    /// next outage).
    pub fn is_up(&self) -> bool {
        matches!(self.phase, Phase::Up { .. })
    }

    /// True while an attempt is under way (after [`Action::Connect`]).
    pub fn is_connecting(&self) -> bool {
        matches!(self.phase, Phase::Connecting { .. })
    }

    /// Failures that drive the backoff: failed attempts and connections
    /// lost before they were stable, since the last stable connection was
    /// lost.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// The connection was lost at `now` (the session reported
    /// `ConnectionLost(reason)`: give [`Cause::of`]`(&reason)`; or the link
    /// failed: [`Cause::Outage`]).
    ///
    /// While connected this starts an outage: the next action is
    /// [`Action::HoldDown`], for [`Policy::hold_down_ms`] after a stable
    /// [`Cause::Outage`], else for the grown backoff (at least the
    /// hold-down; the cap for [`Cause::Permanent`]); [`Cause::Planned`]
    /// connects again at once. During an attempt it counts as a failed
    /// attempt ([`Reconnect::handle_attempt_failed`]); while already down
    /// it is ignored.
    pub fn handle_lost(&mut self, now: u32, cause: Cause) {
        let now = Tick::from(now);
        match self.phase {
            Phase::Up { since, stable } => self.lose(now, since, stable, cause),
            Phase::Start | Phase::Connecting { .. } => self.fail(now, cause),
            Phase::HoldDown { .. } | Phase::Bounce { .. } | Phase::Backoff { .. } => {}
        }
    }

    /// The attempt after [`Action::Connect`] failed at `now`: the transport
    /// did not open or no CONNACK came ([`Cause::Outage`]), or the broker
    /// refused ([`Cause::of`] the session's `LostReason::Refused`). The
    /// next action is a backoff [`Action::Wait`] (after a permanent
    /// refusal: `backoff_cap_ms`) or, after
    /// [`Policy::tcp_attempts_before_bounce`] outages in a row,
    /// [`Action::BounceLink`]. Reported while connected it is handled as
    /// [`Reconnect::handle_lost`]; while already waiting it is ignored.
    pub fn handle_attempt_failed(&mut self, now: u32, cause: Cause) {
        match self.phase {
            Phase::Start | Phase::Connecting { .. } => self.fail(Tick::from(now), cause),
            Phase::Up { .. } => self.handle_lost(now, cause),
            Phase::HoldDown { .. } | Phase::Bounce { .. } | Phase::Backoff { .. } => {}
        }
    }

    /// CONNACK accepted the connection at `now`: the bounce count starts
    /// over (the link works); the backoff starts over once the connection
    /// has stayed up [`Policy::stable_ms`].
    pub fn handle_connected(&mut self, now: u32) {
        self.phase = Phase::Up {
            since: Tick::from(now),
            stable: self.policy.stable_ms == 0,
        };
        self.since_bounce = 0;
    }

    /// What to do at `now`; `None` while connected or while an attempt is
    /// under way. Call it after every `handle_*` and whenever
    /// [`Reconnect::poll_deadline`] is reached.
    pub fn poll_action(&mut self, now: u32) -> Option<Action> {
        self.action(Tick::from(now))
    }

    fn action(&mut self, now: Tick) -> Option<Action> {
        match self.phase {
            Phase::Up { since, stable } => {
                if !stable && self.stable_at(now, since) {
                    self.phase = Phase::Up {
                        since,
                        stable: true,
                    };
                }
                None
            }
            Phase::Start => Some(self.start_attempt(now)),
            Phase::Connecting { since } => {
                let limit = self.policy.attempt_timeout_ms;
                if limit != 0 && now.reached(since + limit) {
                    self.fail(now, Cause::Outage);
                    self.action(now)
                } else {
                    None
                }
            }
            Phase::HoldDown { until, told } => {
                if !told {
                    self.phase = Phase::HoldDown { until, told: true };
                    Some(Action::HoldDown {
                        until: until.millis(),
                    })
                } else {
                    Some(self.wait_or_connect(now, until))
                }
            }
            Phase::Bounce { until, told } => {
                if !told {
                    self.phase = Phase::Bounce { until, told: true };
                    self.stats.bounces = self.stats.bounces.saturating_add(1);
                    Some(Action::BounceLink {
                        until: until.millis(),
                    })
                } else {
                    Some(self.wait_or_connect(now, until))
                }
            }
            Phase::Backoff { until } => Some(self.wait_or_connect(now, until)),
        }
    }

    /// When [`Reconnect::poll_action`] next has something new to say: the
    /// end of a hold-down, bounce or backoff, or an attempt's time limit.
    /// `None` while connected (and before the first poll, whose action is
    /// due at once).
    pub fn poll_deadline(&self) -> Option<u32> {
        let at = match self.phase {
            Phase::Up { .. } | Phase::Start => None,
            Phase::Connecting { since } => match self.policy.attempt_timeout_ms {
                0 => None,
                limit => Some(since + limit),
            },
            Phase::HoldDown { until, .. }
            | Phase::Bounce { until, .. }
            | Phase::Backoff { until } => Some(until),
        };
        at.map(Tick::millis)
    }

    fn wait_or_connect(&mut self, now: Tick, until: Tick) -> Action {
        if now.reached(until) {
            self.start_attempt(now)
        } else {
            Action::Wait {
                until: until.millis(),
            }
        }
    }

    fn start_attempt(&mut self, now: Tick) -> Action {
        self.stats.attempts = self.stats.attempts.saturating_add(1);
        self.phase = Phase::Connecting { since: now };
        Action::Connect
    }

    /// True when a connection up since `since` is stable at `now`.
    fn stable_at(&self, now: Tick, since: Tick) -> bool {
        now.wrapping_since(since) >= self.policy.stable_ms
    }

    /// A connection up since `since` was lost at `now`: hold the link down.
    fn lose(&mut self, now: Tick, since: Tick, stable: bool, cause: Cause) {
        if cause == Cause::Planned {
            self.stats.planned = self.stats.planned.saturating_add(1);
            self.phase = Phase::Start;
            return;
        }
        self.stats.outages = self.stats.outages.saturating_add(1);
        let stable = stable || self.stable_at(now, since);
        let hold = if stable && cause == Cause::Outage {
            self.failures = 0;
            self.policy.hold_down_ms
        } else {
            if !stable {
                self.stats.unstable = self.stats.unstable.saturating_add(1);
            }
            // Kept through a stable connection only when the broker asked
            // for it: two devices sharing a client id would otherwise
            // start over at each takeover.
            self.count(cause);
            self.wait_after(cause).max(self.policy.hold_down_ms)
        };
        self.phase = Phase::HoldDown {
            until: now + hold,
            told: false,
        };
    }

    /// An attempt failed at `now`: back off, or bounce the link.
    fn fail(&mut self, now: Tick, cause: Cause) {
        self.stats.failures = self.stats.failures.saturating_add(1);
        self.count(cause);
        let wait = self.wait_after(cause);
        // Only an attempt that got no answer counts towards a bounce: a
        // refusal (or a planned close) came over a link that works.
        if matches!(cause, Cause::Outage | Cause::Planned) {
            self.since_bounce = self.since_bounce.saturating_add(1);
        } else {
            self.since_bounce = 0;
        }
        let n = u32::from(self.policy.tcp_attempts_before_bounce);
        if n != 0 && self.since_bounce >= n {
            self.since_bounce = 0;
            // A bounced link is held down like after an outage, so that the
            // hops see it gone, and at least as long as the backoff.
            let hold = wait.max(self.policy.hold_down_ms);
            self.phase = Phase::Bounce {
                until: now + hold,
                told: false,
            };
        } else {
            self.phase = Phase::Backoff { until: now + wait };
        }
    }

    /// One more failure for the backoff, counted by cause.
    fn count(&mut self, cause: Cause) {
        self.failures = self.failures.saturating_add(1);
        match cause {
            Cause::BackOff => self.stats.back_offs = self.stats.back_offs.saturating_add(1),
            Cause::Permanent => self.stats.permanent = self.stats.permanent.saturating_add(1),
            Cause::Outage | Cause::Planned => {}
        }
    }

    /// The jittered wait after a failure of `cause`: the cap after a
    /// permanent refusal, else the backoff of the failures so far.
    fn wait_after(&mut self, cause: Cause) -> u32 {
        let wait = match cause {
            Cause::Permanent => self.policy.backoff_cap_ms,
            _ => self.policy.backoff_ms(self.failures),
        };
        self.jittered(wait)
    }

    /// `wait` shortened by a random 0..=jitter_percent % of it.
    ///
    /// In `u32` (64-bit division costs a Cortex-M 0.9 KiB of library
    /// code): `wait * j / 100` is `(wait / 100) * j + (wait % 100) * j /
    /// 100` exactly, and with `j <= 100` (the policy's check) no term
    /// exceeds `wait`.
    fn jittered(&mut self, wait: u32) -> u32 {
        let j = u32::from(self.policy.jitter_percent.min(100));
        let span = (wait / 100) * j + (wait % 100) * j / 100;
        if span == 0 {
            return wait;
        }
        let r = self.next_random();
        // `% (span + 1)`, where `span + 1` may be 2^32 (then any `r` is below).
        let cut = span.checked_add(1).map_or(r, |m| r % m);
        // cut <= span <= wait: no underflow.
        wait - cut
    }

    /// xorshift32 (Marsaglia): enough to spread retries, no dependency.
    fn next_random(&mut self) -> u32 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.rng = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_in_u32_is_the_u64_formula() {
        // What `jittered` computed in u64 before: the same waits, bit for
        // bit, for the same random numbers.
        let reference = |wait: u32, j: u8, r: u32| {
            let span = u64::from(wait) * u64::from(j) / 100;
            if span == 0 {
                return wait;
            }
            (u64::from(wait) - u64::from(r) % (span + 1)) as u32
        };
        let waits = [
            0,
            1,
            99,
            100,
            101,
            999,
            30_000,
            1 << 31,
            u32::MAX - 1,
            u32::MAX,
        ];
        for j in [0u8, 1, 20, 50, 99, 100] {
            for &wait in &waits {
                let mut r = Reconnect::new(
                    Policy {
                        jitter_percent: j,
                        ..Policy::default()
                    },
                    7,
                );
                for _ in 0..50 {
                    let mut twin = Reconnect::new(Policy::default(), 7);
                    twin.rng = r.rng;
                    let rand = twin.next_random();
                    assert_eq!(
                        r.jittered(wait),
                        reference(wait, j, rand),
                        "wait {wait} j {j}"
                    );
                }
            }
        }
    }
}
