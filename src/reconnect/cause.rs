//! [`Cause`]: how the outage policy reads the end of a connection or of a
//! connection attempt, derived here from the session's [`LostReason`] so
//! that every client (Rust, C, Python) classifies a broker's refusal or
//! DISCONNECT the same way.

use core::fmt;

use crate::session::LostReason;
use crate::wire::{DecodeError, ReasonCode, Version};

/// What ended a connection or an attempt, as far as the outage policy is
/// concerned. Derive it from the session's [`LostReason`] with
/// [`Cause::of`]; a transport that did not open is a [`Cause::Outage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cause {
    /// The link or the broker went away, or an attempt failed without the
    /// broker saying why (no route, connection refused, no CONNACK, no
    /// PINGRESP, a protocol error, an ordinary DISCONNECT, a 3.1.1 broker's
    /// DISCONNECT, which that version does not define). A connection
    /// that had stayed up [`super::Policy::stable_ms`] is an outage and
    /// the backoff starts over; a shorter one counts as one more failed
    /// attempt. Failed attempts of this kind count towards a link bounce.
    Outage,
    /// The broker asked the client to come back later: CONNACK server
    /// unavailable or busy, quota or connection rate exceeded; DISCONNECT
    /// server busy, session taken over, message rate too high, quota
    /// exceeded, administrative action, use another server, connection
    /// rate exceeded. One more failed attempt whatever the connection's
    /// uptime: the waits grow up to the cap.
    BackOff,
    /// The broker refused for a reason that retrying does not change (bad
    /// credentials, not authorised, banned, protocol version or client id
    /// not accepted, a CONNECT or will it cannot take, server moved): the
    /// next attempt comes only after the longest wait,
    /// [`super::Policy::backoff_cap_ms`] (less jitter), so a device
    /// recovers by itself once its broker's administrator has fixed it.
    Permanent,
    /// The session closed a working connection on purpose
    /// ([`LostReason::ReceiveMaximumExceeded`]: the broker sends again on
    /// the next connection what it could not take): reconnect at once,
    /// without hold-down.
    Planned,
}

/// 5.0 CONNACK codes after which retrying the same CONNECT cannot succeed
/// until someone changes the client or the broker (MQTT 5.0 3.2.2.2): a
/// CONNECT the broker cannot parse (0x81) or calls a protocol error
/// (0x82), valid but not accepted (0x83), unsupported version (0x84),
/// client id (0x85), credentials (0x86), not authorised (0x87), banned
/// (0x8A), authentication method (0x8C), will topic (0x90), CONNECT too
/// large (0x95), will payload format (0x99), will retain (0x9A), will QoS
/// (0x9B), server moved for good (0x9D). The others are transient:
/// unspecified (0x80, "does not wish to reveal the reason"), server
/// unavailable (0x88), busy (0x89, "try again later"), quota (0x97), use
/// another server for now (0x9C), connection rate (0x9F), and codes the
/// spec does not define.
const CONNACK5_PERMANENT: &[u8] = &[
    0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x8A, 0x8C, 0x90, 0x95, 0x99, 0x9A, 0x9B, 0x9D,
];

/// 5.0 DISCONNECT codes by which the broker asks the client to come back
/// later (MQTT 5.0 3.14.2.1): server busy (0x89), session taken over
/// (0x8E: another client with our id, which must not be fought at full
/// speed), message rate too high (0x96), quota exceeded (0x97),
/// administrative action (0x98), use another server for now (0x9C),
/// connection rate exceeded (0x9F). Server moved (0x9D) is permanent; the
/// rest (normal disconnection, shutting down, keep alive timeout, a packet
/// of ours it did not like, maximum connect time, ...) are ordinary
/// outages, whose backoff the connection's uptime decides.
const DISCONNECT5_BACK_OFF: &[u8] = &[0x89, 0x8E, 0x96, 0x97, 0x98, 0x9C, 0x9F];

// A plain loop: `<[u8]>::contains` brings in a word-at-a-time memchr, flash
// that tables of a dozen codes do not need.
#[allow(clippy::manual_contains)]
fn listed(table: &[u8], code: ReasonCode) -> bool {
    table.iter().any(|&c| c == code.0)
}

impl Cause {
    /// The cause of a connection or attempt that ended with `reason`. The
    /// classification of every refusal and DISCONNECT code is in the
    /// [module documentation](super).
    // A wildcard arm keeps this building when the session grows a reason.
    #[allow(unreachable_patterns)]
    pub fn of(reason: &LostReason) -> Cause {
        match *reason {
            LostReason::Refused(version, code) => Cause::of_refusal(version, code),
            LostReason::ServerDisconnect(code) => Cause::of_disconnect(code),
            LostReason::ReceiveMaximumExceeded => Cause::Planned,
            // A 3.1.1 broker's DISCONNECT, which that version does not
            // define: the broker ended the connection without a reason,
            // as a 5.0 normal disconnection (0x00) or a close does.
            LostReason::Protocol(DecodeError::UnexpectedPacket(14)) => Cause::Outage,
            LostReason::LinkDown
            | LostReason::Timeout(_)
            | LostReason::Protocol(_)
            | LostReason::AliasTableFull => Cause::Outage,
            _ => Cause::Outage,
        }
    }

    /// The cause of a CONNACK refusal: code 1, 2, 4 or 5 in 3.1.1 and the
    /// codes of `CONNACK5_PERMANENT` in 5.0 are permanent, the others
    /// (3.1.1: 3, server unavailable) ask to back off.
    pub fn of_refusal(version: Version, code: ReasonCode) -> Cause {
        let permanent = if version.is_v5() {
            listed(CONNACK5_PERMANENT, code)
        } else {
            matches!(code.0, 1 | 2 | 4 | 5)
        };
        if permanent {
            Cause::Permanent
        } else {
            Cause::BackOff
        }
    }

    /// The cause of a broker's DISCONNECT (5.0) with `code`.
    pub fn of_disconnect(code: ReasonCode) -> Cause {
        if code == ReasonCode::SERVER_MOVED {
            Cause::Permanent
        } else if listed(DISCONNECT5_BACK_OFF, code) {
            Cause::BackOff
        } else {
            Cause::Outage
        }
    }

    /// A short text for logs: "outage", "broker asked to back off",
    /// "permanent refusal", "planned reconnection".
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::Outage => "outage",
            Cause::BackOff => "broker asked to back off",
            Cause::Permanent => "permanent refusal",
            Cause::Planned => "planned reconnection",
        }
    }
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
