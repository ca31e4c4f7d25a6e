//! The outage policy ([`crate::reconnect`]) for C: `mqttas_reconnect_*`.

use core::ffi::c_char;
use core::mem::MaybeUninit;

use super::args;
use super::handle::{self, Handle};
use super::mqttas_result::{self, *};
use crate::reconnect::{Action, Cause, Policy, Reconnect};

/// The outage policy: how long the link is held down after an outage, how
/// attempts back off, when the link itself is bounced. Fill it with
/// `mqttas_reconnect_policy_default`, then change what you need. Times in
/// milliseconds, each at most 2^30.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_reconnect_policy {
    /// Link held down after an outage (and after a bounce) before the
    /// first attempt, so every hop sees the connection gone. Default 1000.
    pub hold_down_ms: u32,
    /// Failed attempts in a row before the link itself (WiFi, radio) is
    /// bounced; 0: never. Default 3.
    pub tcp_attempts_before_bounce: u16,
    /// Wait after the first failed attempt, doubling after each further
    /// one. Default 500.
    pub backoff_base_ms: u32,
    /// Longest wait between attempts, and the wait after a permanent
    /// refusal. Default 30000.
    pub backoff_cap_ms: u32,
    /// Each wait is shortened by a random 0 to this many percent (at most
    /// 100). Default 20.
    pub jitter_percent: u8,
    /// An attempt not reported within this long counts as failed; 0: no
    /// limit. Default 30000.
    pub attempt_timeout_ms: u32,
    /// A connection up this long resets the backoff; one lost sooner counts
    /// as one more failed attempt. Set it to the keep alive; 0: every
    /// connection resets it. Default 60000.
    pub stable_ms: u32,
}

impl From<&Policy> for mqttas_reconnect_policy {
    fn from(p: &Policy) -> Self {
        mqttas_reconnect_policy {
            hold_down_ms: p.hold_down_ms,
            tcp_attempts_before_bounce: p.tcp_attempts_before_bounce,
            backoff_base_ms: p.backoff_base_ms,
            backoff_cap_ms: p.backoff_cap_ms,
            jitter_percent: p.jitter_percent,
            attempt_timeout_ms: p.attempt_timeout_ms,
            stable_ms: p.stable_ms,
        }
    }
}

impl From<&mqttas_reconnect_policy> for Policy {
    fn from(p: &mqttas_reconnect_policy) -> Self {
        Policy {
            hold_down_ms: p.hold_down_ms,
            tcp_attempts_before_bounce: p.tcp_attempts_before_bounce,
            backoff_base_ms: p.backoff_base_ms,
            backoff_cap_ms: p.backoff_cap_ms,
            jitter_percent: p.jitter_percent,
            attempt_timeout_ms: p.attempt_timeout_ms,
            stable_ms: p.stable_ms,
        }
    }
}

/// What to do now, from `mqttas_reconnect_poll_action`. The numbers are
/// fixed. Every kind but `MQTTAS_RECONNECT_CONNECT` means the transport
/// (socket) must be closed, without DISCONNECT, if it is not already.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_reconnect_kind {
    /// Nothing to do: connected, or an attempt is under way.
    MQTTAS_RECONNECT_NONE = 0,
    /// An outage began: close the transport, take the link down, keep both
    /// down until `until`. Given once per outage.
    MQTTAS_RECONNECT_HOLD_DOWN = 1,
    /// Open the transport and call `mqttas_connect`; then report
    /// `mqttas_reconnect_handle_connected` or
    /// `mqttas_reconnect_handle_attempt_failed`.
    MQTTAS_RECONNECT_CONNECT = 2,
    /// Too many failed attempts: take the link itself (WiFi, radio) down,
    /// keep it down until `until`, bring it up again. Given once per bounce.
    MQTTAS_RECONNECT_BOUNCE_LINK = 3,
    /// Nothing to do before `until`.
    MQTTAS_RECONNECT_WAIT = 4,
}

/// What ended a connection or an attempt, for
/// `mqttas_reconnect_handle_lost` and `mqttas_reconnect_handle_attempt_failed`:
/// after a `MQTTAS_EVENT_CONNECTION_LOST`, take it from `mqttas_lost_cause`
/// (the library classifies every refusal and DISCONNECT code); a transport
/// that did not open is an OUTAGE. The numbers are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_reconnect_cause {
    /// The link or the broker went away without saying why (link down, no
    /// reply, a protocol error, an ordinary DISCONNECT, no TCP): after a
    /// connection that stayed up `stable_ms` the backoff starts over; a
    /// shorter one counts as a failed attempt.
    MQTTAS_RECONNECT_CAUSE_OUTAGE = 0,
    /// The broker asked to come back later (CONNACK server unavailable or
    /// busy, quota or rate exceeded; DISCONNECT server busy, session taken
    /// over, ...): one more failed attempt whatever the uptime.
    MQTTAS_RECONNECT_CAUSE_BACK_OFF = 1,
    /// The broker refused for good (bad credentials, not authorised,
    /// banned, server moved, ...): the next attempt after `backoff_cap_ms`.
    MQTTAS_RECONNECT_CAUSE_PERMANENT = 2,
    /// The session closed a working connection on purpose
    /// (`MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED`): reconnect at once.
    MQTTAS_RECONNECT_CAUSE_PLANNED = 3,
}

impl From<Cause> for mqttas_reconnect_cause {
    fn from(c: Cause) -> Self {
        use mqttas_reconnect_cause::*;
        match c {
            Cause::Outage => MQTTAS_RECONNECT_CAUSE_OUTAGE,
            Cause::BackOff => MQTTAS_RECONNECT_CAUSE_BACK_OFF,
            Cause::Permanent => MQTTAS_RECONNECT_CAUSE_PERMANENT,
            Cause::Planned => MQTTAS_RECONNECT_CAUSE_PLANNED,
        }
    }
}

/// The cause a C caller passed as a number, if it is one.
fn cause_from_c(c: u32) -> Option<Cause> {
    use mqttas_reconnect_cause::*;
    let k = |x: mqttas_reconnect_cause| x as u32;
    Some(match c {
        x if x == k(MQTTAS_RECONNECT_CAUSE_OUTAGE) => Cause::Outage,
        x if x == k(MQTTAS_RECONNECT_CAUSE_BACK_OFF) => Cause::BackOff,
        x if x == k(MQTTAS_RECONNECT_CAUSE_PERMANENT) => Cause::Permanent,
        x if x == k(MQTTAS_RECONNECT_CAUSE_PLANNED) => Cause::Planned,
        _ => return None,
    })
}

/// An action with its tick.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_reconnect_action {
    /// What to do.
    pub kind: mqttas_reconnect_kind,
    /// For HOLD_DOWN, BOUNCE_LINK and WAIT: the tick until which to wait;
    /// 0 otherwise.
    pub until: u32,
}

/// Counters of a policy state machine, from `mqttas_reconnect_get_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_reconnect_stats {
    /// Connections lost after being established.
    pub outages: u32,
    /// Connection attempts started.
    pub attempts: u32,
    /// Attempts that failed.
    pub failures: u32,
    /// Link bounces.
    pub bounces: u32,
    /// Planned reconnections (`MQTTAS_RECONNECT_CAUSE_PLANNED`).
    pub planned: u32,
    /// Connections lost before they had stayed up `stable_ms`.
    pub unstable: u32,
    /// Losses and refusals by which the broker asked to back off.
    pub back_offs: u32,
    /// Permanent refusals.
    pub permanent: u32,
}

/// The outage policy state machine, in storage the caller provides:
/// `mqttas_reconnect_size()` bytes aligned to `mqttas_reconnect_align()`
/// (`malloc` memory is aligned enough), as for a client. Opaque: use it
/// only through the `mqttas_reconnect_*` functions. It borrows nothing.
pub struct mqttas_reconnect {
    _opaque: [u8; 0],
}

impl Handle for mqttas_reconnect {
    type Target = Reconnect;
    const MAGIC: u32 = 0x6d71_7263; // "mqrc"
}

/// Bytes of storage a policy state machine needs.
#[no_mangle]
pub extern "C" fn mqttas_reconnect_size() -> usize {
    handle::size::<mqttas_reconnect>()
}

/// Alignment its storage needs (a power of two, at most that of `malloc`).
#[no_mangle]
pub extern "C" fn mqttas_reconnect_align() -> usize {
    handle::align::<mqttas_reconnect>()
}

/// Fill `*out` with the default policy.
///
/// # Safety
/// `out` points to writable memory for a `mqttas_reconnect_policy`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_policy_default(
    out: *mut mqttas_reconnect_policy,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    match unsafe { args::out(out) } {
        Ok(o) => {
            o.put(mqttas_reconnect_policy::from(&Policy::default()));
            MQTTAS_OK
        }
        Err(e) => e,
    }
}

/// Create a policy state machine in `r`, storage of `storage_len` bytes
/// (at least `mqttas_reconnect_size()`, aligned to
/// `mqttas_reconnect_align()`), with `policy` (NULL: the defaults) and a
/// jitter `seed` (any value; give each device its own), written in place
/// into the storage, zeroed first. Its first action is CONNECT. `MQTTAS_ERR_INVALID_CONFIG` for a jitter above 100, a cap
/// below the base, or a time above 2^30 ms. On error the storage holds no
/// machine.
///
/// # Safety
/// `r` points to `storage_len` writable bytes; `policy` is NULL or points
/// to a `mqttas_reconnect_policy`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_init(
    r: *mut mqttas_reconnect,
    storage_len: usize,
    policy: *const mqttas_reconnect_policy,
    seed: u32,
) -> mqttas_result {
    let make = |_: (usize, usize), place: &mut MaybeUninit<_>| {
        // SAFETY: NULL checked by `as_ref`; validity from the caller.
        let policy = unsafe { policy.as_ref() }.map_or_else(Policy::default, Policy::from);
        if policy.validate().is_err() {
            return Err(MQTTAS_ERR_INVALID_CONFIG);
        }
        place.write(Reconnect::new(policy, seed));
        Ok(())
    };
    // SAFETY: forwarded from the caller.
    unsafe { handle::init(r, storage_len, make) }
}

/// End the machine: the storage is the caller's again. Further calls with
/// it return `MQTTAS_ERR_NOT_INITIALIZED` until it is initialised again.
///
/// # Safety
/// `r` is NULL or storage given to `mqttas_reconnect_init`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_deinit(r: *mut mqttas_reconnect) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { handle::deinit(r) }
}

/// Run `f` on the machine with the cause a C caller gave.
///
/// # Safety
/// As for [`handle::with`].
unsafe fn with_cause(
    r: *mut mqttas_reconnect,
    cause: u32,
    f: impl FnOnce(&mut Reconnect, Cause),
) -> mqttas_result {
    let Some(c) = cause_from_c(cause) else {
        return MQTTAS_ERR_INVALID_ARGUMENT;
    };
    let run = |m: &mut Reconnect| -> Result<(), mqttas_result> {
        f(m, c);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The connection was lost at `now`: `cause` (a `mqttas_reconnect_cause`)
/// from `mqttas_lost_cause` after the `MQTTAS_EVENT_CONNECTION_LOST`, or `MQTTAS_RECONNECT_CAUSE_OUTAGE` for a link error. While
/// connected this starts an outage: next action HOLD_DOWN, for
/// `hold_down_ms` after a stable connection, else for the grown backoff
/// (`backoff_cap_ms` after a permanent refusal); CAUSE_PLANNED connects
/// again at once. During an attempt it counts as a failed attempt;
/// otherwise ignored. `MQTTAS_ERR_INVALID_ARGUMENT` for an unknown cause.
///
/// # Safety
/// `r` is NULL or a `mqttas_reconnect` nothing else uses during the call.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_handle_lost(
    r: *mut mqttas_reconnect,
    now: u32,
    cause: u32,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { with_cause(r, cause, |m, c| m.handle_lost(now, c)) }
}

/// The attempt after CONNECT failed at `now`: the transport did not open
/// or no CONNACK came (`MQTTAS_RECONNECT_CAUSE_OUTAGE`), or the broker
/// refused (`mqttas_lost_cause`). Next action WAIT,
/// or BOUNCE_LINK after `tcp_attempts_before_bounce` outages in a row.
///
/// # Safety
/// As for `mqttas_reconnect_handle_lost`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_handle_attempt_failed(
    r: *mut mqttas_reconnect,
    now: u32,
    cause: u32,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { with_cause(r, cause, |m, c| m.handle_attempt_failed(now, c)) }
}

/// A short static text for a `mqttas_reconnect_cause` value ("outage",
/// "broker asked to back off", "permanent refusal", "planned
/// reconnection"), NUL-terminated and valid for the life of the program;
/// never NULL ("unknown" for other values).
#[no_mangle]
pub extern "C" fn mqttas_reconnect_cause_str(cause: u32) -> *const c_char {
    use mqttas_reconnect_cause::*;
    super::text::c_texts!(
        TEXTS: [
            (MQTTAS_RECONNECT_CAUSE_OUTAGE, "outage"),
            (MQTTAS_RECONNECT_CAUSE_BACK_OFF, "broker asked to back off"),
            (MQTTAS_RECONNECT_CAUSE_PERMANENT, "permanent refusal"),
            (MQTTAS_RECONNECT_CAUSE_PLANNED, "planned reconnection"),
        ],
        "unknown"
    );
    TEXTS.get(cause)
}

/// CONNACK accepted the connection (`MQTTAS_EVENT_CONNECTED`): backoff and
/// bounce count start over.
///
/// # Safety
/// As for `mqttas_reconnect_handle_lost`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_handle_connected(
    r: *mut mqttas_reconnect,
    now: u32,
) -> mqttas_result {
    let run = |m: &mut Reconnect| -> Result<(), mqttas_result> {
        m.handle_connected(now);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// What to do at `now` into `*out` (`MQTTAS_RECONNECT_NONE` while
/// connected or while an attempt is under way). Call it after every
/// `mqttas_reconnect_handle_*` and when `mqttas_reconnect_poll_deadline`
/// is reached.
///
/// # Safety
/// As for `mqttas_reconnect_handle_lost`; `out` points to writable memory
/// for a `mqttas_reconnect_action`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_poll_action(
    r: *mut mqttas_reconnect,
    now: u32,
    out: *mut mqttas_reconnect_action,
) -> mqttas_result {
    use mqttas_reconnect_kind::*;
    let run = |m: &mut Reconnect| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        let o = unsafe { args::out(out) }?;
        let (kind, until) = match m.poll_action(now) {
            None => (MQTTAS_RECONNECT_NONE, 0),
            Some(Action::HoldDown { until }) => (MQTTAS_RECONNECT_HOLD_DOWN, until),
            Some(Action::Connect) => (MQTTAS_RECONNECT_CONNECT, 0),
            Some(Action::BounceLink { until }) => (MQTTAS_RECONNECT_BOUNCE_LINK, until),
            Some(Action::Wait { until }) => (MQTTAS_RECONNECT_WAIT, until),
        };
        o.put(mqttas_reconnect_action { kind, until });
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// When `mqttas_reconnect_poll_action` next has something new: `*has` is
/// false while connected (or before the first poll), else `*deadline` is
/// the tick.
///
/// # Safety
/// As for `mqttas_reconnect_handle_lost`; `has` and `deadline` point to
/// writable memory.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_poll_deadline(
    r: *const mqttas_reconnect,
    has: *mut bool,
    deadline: *mut u32,
) -> mqttas_result {
    let run = |m: &mut Reconnect| -> Result<(), mqttas_result> {
        // SAFETY: `has` is writable, as the caller promised.
        let h = unsafe { args::out(has) }?;
        // SAFETY: `deadline` is writable, as the caller promised.
        let d = unsafe { args::out(deadline) }?;
        let next = m.poll_deadline();
        h.put(next.is_some());
        d.put(next.unwrap_or(0));
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The counters into `*out`.
///
/// # Safety
/// As for `mqttas_reconnect_handle_lost`; `out` points to writable memory
/// for a `mqttas_reconnect_stats`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_reconnect_get_stats(
    r: *const mqttas_reconnect,
    out: *mut mqttas_reconnect_stats,
) -> mqttas_result {
    let run = |m: &mut Reconnect| -> Result<(), mqttas_result> {
        let s = m.stats();
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(mqttas_reconnect_stats {
            outages: s.outages,
            attempts: s.attempts,
            failures: s.failures,
            bounces: s.bounces,
            planned: s.planned,
            unstable: s.unstable,
            back_offs: s.back_offs,
            permanent: s.permanent,
        });
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;
    use core::mem::MaybeUninit;
    use mqttas_reconnect_cause::*;

    #[repr(C, align(16))]
    struct Storage([u8; 256]);

    #[test]
    fn init_poll_and_report_through_the_c_api() {
        assert!(mqttas_reconnect_size() <= 256 && mqttas_reconnect_align() <= 16);
        let mut st = Storage([0xAA; 256]);
        let r = st.0.as_mut_ptr().cast::<mqttas_reconnect>();
        let mut p = MaybeUninit::<mqttas_reconnect_policy>::uninit();
        // SAFETY: valid pointers to local storage.
        unsafe {
            assert_eq!(mqttas_reconnect_policy_default(p.as_mut_ptr()), MQTTAS_OK);
            let mut p = p.assume_init();
            assert_eq!(p.hold_down_ms, 1000);
            p.jitter_percent = 0;
            assert_eq!(mqttas_reconnect_init(r, 256, &p, 5), MQTTAS_OK);
            let mut a = MaybeUninit::<mqttas_reconnect_action>::uninit();
            assert_eq!(
                mqttas_reconnect_poll_action(r, 0, a.as_mut_ptr()),
                MQTTAS_OK
            );
            assert_eq!(
                a.assume_init().kind,
                mqttas_reconnect_kind::MQTTAS_RECONNECT_CONNECT
            );
            assert_eq!(mqttas_reconnect_handle_connected(r, 5), MQTTAS_OK);
            assert_eq!(
                mqttas_reconnect_handle_lost(r, 100, MQTTAS_RECONNECT_CAUSE_OUTAGE as u32),
                MQTTAS_OK
            );
            assert_eq!(
                mqttas_reconnect_poll_action(r, 100, a.as_mut_ptr()),
                MQTTAS_OK
            );
            let got = a.assume_init();
            assert_eq!(got.kind, mqttas_reconnect_kind::MQTTAS_RECONNECT_HOLD_DOWN);
            // Up 95 ms, below stable_ms: one failure, held down at least
            // hold_down_ms (the backoff after one failure is 500).
            assert_eq!(got.until, 1100);
            let (mut has, mut d) = (false, 0u32);
            assert_eq!(
                mqttas_reconnect_poll_deadline(r, &mut has, &mut d),
                MQTTAS_OK
            );
            assert!(has);
            assert_eq!(d, 1100);
            let mut s = MaybeUninit::<mqttas_reconnect_stats>::uninit();
            assert_eq!(mqttas_reconnect_get_stats(r, s.as_mut_ptr()), MQTTAS_OK);
            let s = s.assume_init();
            assert_eq!((s.outages, s.unstable), (1, 1));
            assert_eq!(mqttas_reconnect_deinit(r), MQTTAS_OK);
            assert_eq!(
                mqttas_reconnect_handle_connected(r, 5),
                MQTTAS_ERR_NOT_INITIALIZED
            );
        }
    }

    #[test]
    fn bad_arguments_are_reported() {
        let mut st = Storage([0; 256]);
        let r = st.0.as_mut_ptr().cast::<mqttas_reconnect>();
        let mut a = mqttas_reconnect_action {
            kind: mqttas_reconnect_kind::MQTTAS_RECONNECT_NONE,
            until: 0,
        };
        // SAFETY: valid or NULL pointers.
        unsafe {
            assert_eq!(
                mqttas_reconnect_handle_lost(r, 0, 0),
                MQTTAS_ERR_NOT_INITIALIZED
            );
            assert_eq!(
                mqttas_reconnect_handle_lost(core::ptr::null_mut(), 0, 0),
                MQTTAS_ERR_NULL_POINTER
            );
            let p = mqttas_reconnect_policy {
                hold_down_ms: 1,
                tcp_attempts_before_bounce: 0,
                backoff_base_ms: 10,
                backoff_cap_ms: 5,
                jitter_percent: 0,
                attempt_timeout_ms: 0,
                stable_ms: 0,
            };
            assert_eq!(
                mqttas_reconnect_init(r, 256, &p, 0),
                MQTTAS_ERR_INVALID_CONFIG
            );
            assert_eq!(
                mqttas_reconnect_init(r, 256, core::ptr::null(), 0),
                MQTTAS_OK
            );
            assert_eq!(
                mqttas_reconnect_poll_action(r, 0, core::ptr::null_mut()),
                MQTTAS_ERR_NULL_POINTER
            );
            assert_eq!(mqttas_reconnect_poll_action(r, 0, &mut a), MQTTAS_OK);
            assert_eq!(a.kind, mqttas_reconnect_kind::MQTTAS_RECONNECT_CONNECT);
            assert_eq!(
                mqttas_reconnect_handle_attempt_failed(r, 0, 4),
                MQTTAS_ERR_INVALID_ARGUMENT
            );
        }
    }

    #[test]
    fn causes_read_as_in_rust() {
        use crate::session::LostReason;
        use crate::wire::{ReasonCode, Version};
        for (why, want) in [
            (
                LostReason::Refused(Version::V5, ReasonCode::NOT_AUTHORIZED),
                Cause::Permanent,
            ),
            (
                LostReason::Refused(Version::V311, ReasonCode(3)),
                Cause::BackOff,
            ),
            (
                LostReason::ServerDisconnect(ReasonCode::SERVER_BUSY),
                Cause::BackOff,
            ),
            (LostReason::ReceiveMaximumExceeded, Cause::Planned),
            (LostReason::LinkDown, Cause::Outage),
        ] {
            assert_eq!(Cause::of(&why), want, "{why:?}");
            let c = mqttas_reconnect_cause::from(want);
            assert_eq!(cause_from_c(c as u32), Some(want));
            // SAFETY: the texts are static and NUL-terminated.
            let text = unsafe { core::ffi::CStr::from_ptr(mqttas_reconnect_cause_str(c as u32)) };
            assert_eq!(text.to_str(), Ok(want.as_str()));
        }
    }
}
