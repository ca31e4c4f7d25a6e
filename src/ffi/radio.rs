//! The packet radio link ([`crate::radio`]) for C: `mqttas_radio_*`.
//!
//! A radio turns lossy frames (NRF24L01, LoRa) into a reliable byte stream
//! that plays the part of a TCP connection: the node opens a session, the
//! gateway accepts it. Same conventions as the client: caller storage,
//! caller buffers, result codes, `uint32_t` milliseconds that wrap.

use crate::text::Sink;
use core::ffi::c_char;
use core::mem::MaybeUninit;

use super::args;
use super::handle::{self, Handle};
use super::mqttas_result::{self, *};
use super::result::code;
use super::text::describe_into;
use crate::radio::{self, DownReason, Radio, RadioConfig, RadioError, RadioEvent};

/// Bytes of a frame that are not payload (header and CRC): a DATA frame
/// carries at most `mtu - MQTTAS_RADIO_OVERHEAD` stream bytes, and the
/// transmit and receive buffers must each hold at least that many
/// (`window` times that many keeps the window full).
pub const MQTTAS_RADIO_OVERHEAD: usize = 11;
const _: () = assert!(MQTTAS_RADIO_OVERHEAD == radio::frame::OVERHEAD);

/// The configuration of a radio. Fill it with `mqttas_radio_config_default`,
/// then change what you need; `mqttas_radio_init` copies it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_radio_config {
    /// The radio node's id, 1 to 254: the node's own on the node side, the
    /// node this session serves on the gateway side. Default 1.
    pub node: u8,
    /// false: the node side (it opens the session); true: the gateway side
    /// (it accepts the session of `node`). Default false.
    pub gateway: bool,
    /// Bytes per frame, header and CRC included, 16 to 255 (32 for an
    /// NRF24L01, up to about 250 for LoRa). Default 32.
    pub mtu: u16,
    /// DATA frames in flight unacknowledged, 1 to 8. Default 4.
    pub window: u8,
    /// Retransmission timeout, 1 to 60000; it doubles with each retry, up
    /// to 8 times. Also the interval of HELLO and probe repeats. Default 400.
    pub rto_ms: u32,
    /// Retransmissions of one frame (or of the HELLO) before the session
    /// goes down (`MQTTAS_RADIO_DOWN_NO_ACK`). Default 10.
    pub max_retries: u8,
    /// Nothing heard from the peer for this long: a probe asks it for an
    /// ACK; nothing for three times this long: the session goes down
    /// (`MQTTAS_RADIO_DOWN_SILENT`). 0: neither; at most 3600000. Default
    /// 3000.
    pub keepalive_ms: u32,
    /// This side's session epoch, nonzero: pick a new one at each boot (a
    /// random or persisted counter) so that the peer notices the restart.
    /// A later session with the epoch unchanged takes the next one. Default
    /// 1.
    pub epoch: u16,
}

impl From<&RadioConfig> for mqttas_radio_config {
    fn from(c: &RadioConfig) -> Self {
        mqttas_radio_config {
            node: c.node,
            gateway: c.gateway,
            mtu: c.mtu,
            window: c.window,
            rto_ms: c.rto_ms,
            max_retries: c.max_retries,
            keepalive_ms: c.keepalive_ms,
            epoch: c.epoch,
        }
    }
}

impl From<&mqttas_radio_config> for RadioConfig {
    fn from(c: &mqttas_radio_config) -> Self {
        // From the core's defaults, so that a field the C struct lacks keeps
        // its default.
        let mut r = RadioConfig::new(c.node, c.gateway, c.epoch);
        r.mtu = c.mtu;
        r.window = c.window;
        r.rto_ms = c.rto_ms;
        r.max_retries = c.max_retries;
        r.keepalive_ms = c.keepalive_ms;
        r
    }
}

/// A radio, in storage the caller provides: `mqttas_radio_size()` bytes
/// aligned to `mqttas_radio_align()` (`malloc` memory is aligned enough).
/// Opaque: use it only through the `mqttas_radio_*` functions; end it with
/// `mqttas_radio_deinit`. One thread at a time per radio; distinct radios
/// share nothing.
pub struct mqttas_radio {
    _opaque: [u8; 0],
}

/// What a `mqttas_radio_event` reports. The numbers are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_radio_event_kind {
    /// No event is pending.
    MQTTAS_RADIO_EVENT_NONE = 0,
    /// The session is up: the byte stream flows, a new connection (node:
    /// send MQTT CONNECT; gateway: open the broker connection).
    MQTTAS_RADIO_EVENT_UP = 1,
    /// The session is down (`reason` says why): the byte stream is gone and
    /// both buffers are empty, as after a TCP reset. The node opens a new
    /// session; the gateway closes the broker connection.
    MQTTAS_RADIO_EVENT_DOWN = 2,
}

/// Why the session went down (`mqttas_radio_event.reason`). The numbers
/// are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_radio_down_reason {
    /// Not a `MQTTAS_RADIO_EVENT_DOWN` event.
    MQTTAS_RADIO_DOWN_NONE = 0,
    /// A frame went unacknowledged through `max_retries` retransmissions.
    MQTTAS_RADIO_DOWN_NO_ACK = 1,
    /// Nothing heard from the peer for three keepalive periods.
    MQTTAS_RADIO_DOWN_SILENT = 2,
    /// The peer reset the session: it closed it, or it restarted and no
    /// longer knows it (a RESET, or a HELLO_ACK of a new gateway epoch).
    MQTTAS_RADIO_DOWN_PEER_RESET = 3,
    /// Gateway side: the node opened a new session (it rebooted or
    /// reconnected); `MQTTAS_RADIO_EVENT_UP` for the new one follows.
    MQTTAS_RADIO_DOWN_PEER_RESTARTED = 4,
    /// Closed here (`mqttas_radio_close`).
    MQTTAS_RADIO_DOWN_CLOSED = 5,
}

/// An event, from `mqttas_radio_poll_event`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct mqttas_radio_event {
    /// What happened.
    pub kind: mqttas_radio_event_kind,
    /// For `MQTTAS_RADIO_EVENT_DOWN`: why; `MQTTAS_RADIO_DOWN_NONE`
    /// otherwise.
    pub reason: mqttas_radio_down_reason,
}

/// Counters of a radio since `mqttas_radio_init`, from
/// `mqttas_radio_get_stats`; they wrap at 2^32.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct mqttas_radio_stats {
    /// Frames handed out by `mqttas_radio_poll_frame`.
    pub frames_sent: u32,
    /// Frames with a good CRC for this node and direction.
    pub frames_received: u32,
    /// Frames sent again (DATA and HELLO).
    pub retransmissions: u32,
    /// Frames with a bad length or CRC.
    pub bad_crc: u32,
    /// Good frames not used: other node or direction, unknown session,
    /// outside the window, no receive space, malformed.
    pub dropped: u32,
    /// DATA frames received again and ignored.
    pub duplicates: u32,
}

/// What a radio's storage holds. The MTU is kept here to check output
/// buffers before the core hands out a frame.
pub(crate) struct RadioState {
    mtu: u16,
    radio: Radio<'static>,
}

impl Handle for mqttas_radio {
    type Target = RadioState;
    const MAGIC: u32 = 0x6d71_7264; // "mqrd"
}

impl From<RadioError> for mqttas_result {
    #[allow(unreachable_patterns)]
    fn from(e: RadioError) -> Self {
        match e {
            RadioError::BadConfig(_) => MQTTAS_ERR_INVALID_CONFIG,
            RadioError::BufferTooSmall => MQTTAS_ERR_BUFFER_TOO_SMALL,
            _ => MQTTAS_ERR_INVALID_CONFIG,
        }
    }
}

/// Bytes of storage a radio needs.
#[no_mangle]
pub extern "C" fn mqttas_radio_size() -> usize {
    handle::size::<mqttas_radio>()
}

/// Alignment the radio storage needs (a power of two, at most that of
/// `malloc`).
#[no_mangle]
pub extern "C" fn mqttas_radio_align() -> usize {
    handle::align::<mqttas_radio>()
}

/// Fill `*out` with the default configuration: node 1, node side, MTU 32,
/// window 4, RTO 400 ms, 10 retries, keepalive 3000 ms, epoch 1.
///
/// # Safety
/// `out` points to writable memory for a `mqttas_radio_config`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_config_default(
    out: *mut mqttas_radio_config,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    match unsafe { args::out(out) } {
        Ok(o) => {
            o.put(mqttas_radio_config::from(&RadioConfig::new(1, false, 1)));
            MQTTAS_OK
        }
        Err(e) => e,
    }
}

/// Say what is wrong with `config` (e.g. "mtu must be 16..=255") into
/// `buf`; the text is empty when the configuration is valid. For an error
/// message after `mqttas_radio_init` returned `MQTTAS_ERR_INVALID_CONFIG`.
///
/// Text conventions of `mqttas_reason_code_describe`: NUL-terminated
/// whenever `buf_len > 0`, `*out_len` (when `out_len` is not NULL) the whole
/// length without the NUL, `MQTTAS_ERR_BUFFER_TOO_SMALL` when cut.
///
/// # Safety
/// `config` points to a `mqttas_radio_config`; `buf` to `buf_len` writable
/// bytes; `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_config_describe_error(
    config: *const mqttas_radio_config,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> mqttas_result {
    // SAFETY: NULL checked by `as_ref`; validity from the caller.
    let Some(config) = (unsafe { config.as_ref() }) else {
        return MQTTAS_ERR_NULL_POINTER;
    };
    let problem = RadioConfig::from(config).validate().err();
    // SAFETY: forwarded from the caller.
    unsafe {
        describe_into(buf, buf_len, out_len, |w| {
            if let Some(RadioError::BadConfig(why)) = problem {
                w.str(why);
            }
        })
    }
}

/// Create a radio in `radio`, storage of `storage_len` bytes (at least
/// `mqttas_radio_size()`, aligned to `mqttas_radio_align()`). The session
/// is down until `mqttas_radio_open` (node side) or a peer's HELLO
/// (gateway side).
///
/// The radio borrows the two buffers until `mqttas_radio_deinit`: keep them
/// alive and untouched until then. They must not overlap each other or the
/// storage; they and the storage are zeroed here (fresh `malloc` memory is
/// fine), and the radio is written into the storage in place.
/// - `tx`: stream bytes written and not yet acknowledged by the peer;
/// - `rx`: stream bytes received in order and not yet read.
///
/// `config` is copied. Returns `MQTTAS_ERR_INVALID_CONFIG` for a value out
/// of range (`mqttas_radio_config_describe_error` says which) and
/// `MQTTAS_ERR_BUFFER_TOO_SMALL` for short storage or a buffer below
/// `mtu - MQTTAS_RADIO_OVERHEAD` bytes. On error the storage holds no
/// radio.
///
/// # Safety
/// `radio` points to `storage_len` writable bytes; `config` to a
/// `mqttas_radio_config`; each buffer to its length of writable bytes that
/// stay valid and unused by anything else until `mqttas_radio_deinit`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_init(
    radio: *mut mqttas_radio,
    storage_len: usize,
    config: *const mqttas_radio_config,
    tx: *mut u8,
    tx_len: usize,
    rx: *mut u8,
    rx_len: usize,
) -> mqttas_result {
    let make = |storage: (usize, usize), place: &mut MaybeUninit<_>| {
        // SAFETY: NULL checked by `as_ref`; validity from the caller.
        let config = unsafe { config.as_ref() }.ok_or(MQTTAS_ERR_NULL_POINTER)?;
        args::disjoint(&[storage, (tx as usize, tx_len), (rx as usize, rx_len)])?;
        // A build without the cargo feature `radio-gateway` has the node
        // side only: the gateway side is a missing feature, not a bad
        // value.
        if config.gateway && !cfg!(feature = "radio-gateway") {
            return Err(MQTTAS_ERR_UNSUPPORTED);
        }
        let config = RadioConfig::from(config);
        // Checked before the buffers are touched, so that a bad
        // configuration or a short buffer changes nothing.
        if config.problem().is_some() {
            return Err(MQTTAS_ERR_INVALID_CONFIG);
        }
        Radio::check_buffers(&config, tx_len, rx_len)?;
        // SAFETY: each buffer is its length of writable bytes, promised
        // by the caller.
        unsafe { args::zero(&[(tx, tx_len), (rx, rx_len)]) }?;
        // SAFETY: the caller lends these buffers (this and the next one)
        // until deinit, which is what the 'static borrow stands for here;
        // they are disjoint (checked above) and zeroed.
        let tx = unsafe { args::bytes_mut(tx, tx_len) }?;
        // SAFETY: as above.
        let rx = unsafe { args::bytes_mut(rx, rx_len) }?;
        place.write(RadioState {
            mtu: config.mtu,
            radio: Radio::build(config, tx, rx),
        });
        Ok(())
    };
    // SAFETY: forwarded from the caller.
    unsafe { handle::init(radio, storage_len, make) }
}

/// End the radio: the storage and the buffers are the caller's again (the
/// session is dropped without a word to the peer: `mqttas_radio_close`
/// first to tell it). Further calls with this radio return
/// `MQTTAS_ERR_NOT_INITIALIZED` until it is initialised again.
///
/// # Safety
/// `radio` is NULL or storage given to `mqttas_radio_init`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_deinit(radio: *mut mqttas_radio) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { handle::deinit(radio) }
}

/// Open a session (node side): HELLO frames follow from
/// `mqttas_radio_poll_frame` until the gateway answers
/// (`MQTTAS_RADIO_EVENT_UP`) or `max_retries` repeats go unanswered
/// (`MQTTAS_RADIO_EVENT_DOWN`, `MQTTAS_RADIO_DOWN_NO_ACK`). Nothing while
/// opening or up, and nothing on the gateway side, which accepts a HELLO
/// whenever its session is not up. A session after the first takes the
/// next epoch unless `mqttas_radio_set_epoch` gave a new one.
///
/// # Safety
/// `r` is NULL or a radio from `mqttas_radio_init` that nothing else uses
/// during the call (as for every call that takes the radio).
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_open(r: *mut mqttas_radio, now: u32) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        s.radio.open(now);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Close the session: a RESET frame tells the peer, both buffers are
/// emptied and `MQTTAS_RADIO_EVENT_DOWN` (`MQTTAS_RADIO_DOWN_CLOSED`)
/// follows. Nothing when no session is open or opening.
///
/// # Safety
/// As for `mqttas_radio_open`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_close(r: *mut mqttas_radio, now: u32) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        s.radio.close(now);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The epoch (nonzero) of this side's next session, e.g. a new random one
/// before the node's next `mqttas_radio_open`. `MQTTAS_ERR_INVALID_ARGUMENT`
/// for 0.
///
/// # Safety
/// As for `mqttas_radio_open`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_set_epoch(r: *mut mqttas_radio, epoch: u16) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        if epoch == 0 {
            return Err(MQTTAS_ERR_INVALID_ARGUMENT);
        }
        s.radio.set_epoch(epoch);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Whether the session is up (the byte stream flows) into `*up`.
///
/// # Safety
/// As for `mqttas_radio_open`; `up` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_is_up(
    r: *const mqttas_radio,
    up: *mut bool,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `up` is writable, as the caller promised.
        unsafe { args::out(up) }?.put(s.radio.is_up());
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Queue stream bytes for the peer: `*written` receives how many were
/// taken (copied), fewer than `len` when the transmit buffer is full, 0
/// when the session is not up. Offer the rest again after frames have been
/// acknowledged.
///
/// # Safety
/// As for `mqttas_radio_open`; `data` valid for `len` bytes (NULL with 0);
/// `written` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_write(
    r: *mut mqttas_radio,
    now: u32,
    data: *const u8,
    len: usize,
    written: *mut usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `data` is valid for `len` bytes, as the caller promised.
        let data = unsafe { args::array(data, len) }?;
        // SAFETY: `written` is writable, as the caller promised.
        let o = unsafe { args::out(written) }?;
        o.put(s.radio.write(now, data));
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Take received stream bytes, in order, into `out` (`cap` bytes): `*n`
/// receives how many, 0 when none are waiting.
///
/// # Safety
/// As for `mqttas_radio_open`; `out` points to `cap` writable bytes (NULL
/// with 0); `n` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_read(
    r: *mut mqttas_radio,
    out: *mut u8,
    cap: usize,
    n: *mut usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `n` is writable, as the caller promised.
        let n = unsafe { args::out(n) }?;
        // The caller's buffer may be uninitialised (fresh `malloc`).
        // SAFETY: `out` points to `cap` writable bytes, as the caller
        // promised.
        unsafe { args::zero(&[(out, cap)]) }?;
        // SAFETY: as above, initialised just now.
        let buf = unsafe { args::bytes_mut(out, cap) }?;
        n.put(s.radio.read(buf));
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// A frame received from the radio, whole (any frame: the radio drops and
/// counts those that are corrupt, for another node or another session).
/// Then take events, read stream bytes and poll frames: acknowledgements
/// are due.
///
/// # Safety
/// As for `mqttas_radio_open`; `frame` valid for `len` bytes (NULL with 0).
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_handle_frame(
    r: *mut mqttas_radio,
    now: u32,
    frame: *const u8,
    len: usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `frame` is valid for `len` bytes, as the caller promised.
        let frame = unsafe { args::array(frame, len) }?;
        s.radio.handle_frame(now, frame);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The next frame to send into `out` (`cap` bytes, at least the MTU):
/// `*n` receives its length, 0 when there is nothing to send now. Send it,
/// then call again until `*n` is 0. `MQTTAS_ERR_BUFFER_TOO_SMALL` (and no
/// frame is taken) when `cap` is below the MTU.
///
/// # Safety
/// As for `mqttas_radio_open`; `out` points to `cap` writable bytes; `n`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_poll_frame(
    r: *mut mqttas_radio,
    now: u32,
    out: *mut u8,
    cap: usize,
    n: *mut usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `n` is writable, as the caller promised.
        let n = unsafe { args::out(n) }?;
        if out.is_null() {
            return Err(MQTTAS_ERR_NULL_POINTER);
        }
        if cap < usize::from(s.mtu) {
            return Err(MQTTAS_ERR_BUFFER_TOO_SMALL);
        }
        // Only the MTU is ever written: no need to zero more.
        let cap = usize::from(s.mtu);
        // SAFETY: `out` points to at least `cap` writable bytes (checked
        // against the caller's length above), as the caller promised.
        unsafe { args::zero(&[(out, cap)]) }?;
        // SAFETY: as above, initialised just now.
        let buf = unsafe { args::bytes_mut(out, cap) }?;
        n.put(s.radio.poll_frame(now, buf).unwrap_or(0));
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Time has advanced: retransmit, probe, declare the session down. Call it
/// at the deadline from `mqttas_radio_poll_deadline` (earlier is harmless).
///
/// # Safety
/// As for `mqttas_radio_open`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_handle_timeout(
    r: *mut mqttas_radio,
    now: u32,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        s.radio.handle_timeout(now);
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// When `mqttas_radio_handle_timeout` must be called next: `*has` is false
/// when no timer runs, else `*at` is the tick (same clock as `now`,
/// wrapping: `(int32_t)(at - now) <= 0` means it is due).
///
/// # Safety
/// As for `mqttas_radio_open`; `has` and `at` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_poll_deadline(
    r: *const mqttas_radio,
    has: *mut bool,
    at: *mut u32,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `has` is writable, as the caller promised.
        let h = unsafe { args::out(has) }?;
        // SAFETY: `at` is writable, as the caller promised.
        let a = unsafe { args::out(at) }?;
        let next = s.radio.poll_deadline();
        h.put(next.is_some());
        a.put(next.unwrap_or(0));
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The next event into `*ev`: `ev->kind` is `MQTTAS_RADIO_EVENT_NONE` when
/// there is none.
///
/// # Safety
/// As for `mqttas_radio_open`; `ev` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_poll_event(
    r: *mut mqttas_radio,
    ev: *mut mqttas_radio_event,
) -> mqttas_result {
    use mqttas_radio_down_reason::*;
    use mqttas_radio_event_kind::*;
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `ev` is writable, as the caller promised.
        let o = unsafe { args::out(ev) }?;
        let (kind, reason) = match s.radio.poll_event() {
            None => (MQTTAS_RADIO_EVENT_NONE, MQTTAS_RADIO_DOWN_NONE),
            Some(RadioEvent::Up) => (MQTTAS_RADIO_EVENT_UP, MQTTAS_RADIO_DOWN_NONE),
            Some(RadioEvent::Down(why)) => (
                MQTTAS_RADIO_EVENT_DOWN,
                match why {
                    DownReason::NoAck => MQTTAS_RADIO_DOWN_NO_ACK,
                    DownReason::Silent => MQTTAS_RADIO_DOWN_SILENT,
                    DownReason::PeerReset => MQTTAS_RADIO_DOWN_PEER_RESET,
                    DownReason::PeerRestarted => MQTTAS_RADIO_DOWN_PEER_RESTARTED,
                    DownReason::Closed => MQTTAS_RADIO_DOWN_CLOSED,
                },
            ),
        };
        o.put(mqttas_radio_event { kind, reason });
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// The counters into `*out`.
///
/// # Safety
/// As for `mqttas_radio_open`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_get_stats(
    r: *const mqttas_radio,
    out: *mut mqttas_radio_stats,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        let st = s.radio.stats();
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(mqttas_radio_stats {
            frames_sent: st.frames_sent,
            frames_received: st.frames_received,
            retransmissions: st.retransmissions,
            bad_crc: st.bad_crc,
            dropped: st.dropped,
            duplicates: st.duplicates,
        });
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Free space in the transmit buffer, in bytes, into `*out`: what
/// `mqttas_radio_write` would take now while the session is up.
///
/// # Safety
/// As for `mqttas_radio_open`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_writable(
    r: *const mqttas_radio,
    out: *mut usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(s.radio.writable());
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Received stream bytes waiting for `mqttas_radio_read`, into `*out`.
///
/// # Safety
/// As for `mqttas_radio_open`; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_readable(
    r: *const mqttas_radio,
    out: *mut usize,
) -> mqttas_result {
    let run = |s: &mut RadioState| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(s.radio.readable());
        Ok(())
    };
    // SAFETY: `r` as the caller promised.
    unsafe { handle::with(r, run) }
}

/// Peek at a received frame before any radio takes it, to route it (a
/// gateway keeps one radio per node): if the frame is whole (length and
/// CRC check), `*node` receives its node id (1 to 254) and `*downlink`
/// whether it goes gateway to node; otherwise `*node` is 0 and
/// `*downlink` false.
///
/// # Safety
/// `frame` valid for `len` bytes (NULL with 0); `node` and `downlink`
/// writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_radio_frame_node(
    frame: *const u8,
    len: usize,
    node: *mut u8,
    downlink: *mut bool,
) -> mqttas_result {
    let run = || -> Result<(), mqttas_result> {
        // SAFETY: forwarded from the caller.
        let frame = unsafe { args::array(frame, len) }?;
        // SAFETY: `node` is writable, as the caller promised.
        let n = unsafe { args::out(node) }?;
        // SAFETY: `downlink` is writable, as the caller promised.
        let d = unsafe { args::out(downlink) }?;
        let (id, down) = radio::frame_node(frame).unwrap_or((0, false));
        n.put(id);
        d.put(down);
        Ok(())
    };
    code(run())
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;
    use core::mem::MaybeUninit;
    use core::ptr::{null, null_mut};

    #[repr(C, align(16))]
    struct Storage([u8; 1024]);

    #[test]
    fn storage_fits_and_calls_check_their_arguments() {
        assert!(mqttas_radio_size() <= 1024);
        assert!(mqttas_radio_align() <= 16);
        let mut st = Storage([0; 1024]);
        let (mut tx, mut rx) = ([0u8; 64], [0u8; 64]);
        let mut c = MaybeUninit::<mqttas_radio_config>::uninit();
        let r = st.0.as_mut_ptr().cast::<mqttas_radio>();
        // SAFETY: valid or NULL pointers to local memory.
        unsafe {
            assert_eq!(mqttas_radio_config_default(c.as_mut_ptr()), MQTTAS_OK);
            let mut c = c.assume_init();
            assert_eq!(mqttas_radio_open(r, 0), MQTTAS_ERR_NOT_INITIALIZED);
            c.node = 0;
            let (txp, rxp) = (tx.as_mut_ptr(), rx.as_mut_ptr());
            let init = |c: &mqttas_radio_config| mqttas_radio_init(r, 1024, c, txp, 64, rxp, 64);
            assert_eq!(init(&c), MQTTAS_ERR_INVALID_CONFIG);
            assert_eq!(mqttas_radio_open(r, 5), MQTTAS_ERR_NOT_INITIALIZED);
            c.node = 3;
            assert_eq!(init(&c), MQTTAS_OK);
            assert_eq!(mqttas_radio_open(r, 5), MQTTAS_OK);
            let mut frame = [0u8; 32];
            let mut n = 0usize;
            assert_eq!(
                mqttas_radio_poll_frame(r, 5, frame.as_mut_ptr(), 31, &mut n),
                MQTTAS_ERR_BUFFER_TOO_SMALL
            );
            assert_eq!(
                mqttas_radio_poll_frame(r, 5, frame.as_mut_ptr(), 32, &mut n),
                MQTTAS_OK
            );
            assert_eq!(n, 11); // the HELLO, kept for the buffer that fits
            let (mut node, mut down) = (0u8, true);
            assert_eq!(
                mqttas_radio_frame_node(frame.as_ptr(), n, &mut node, &mut down),
                MQTTAS_OK
            );
            assert_eq!((node, down), (3, false));
            assert_eq!(
                mqttas_radio_frame_node(frame.as_ptr(), n - 1, &mut node, &mut down),
                MQTTAS_OK
            );
            assert_eq!(node, 0);
            assert_eq!(
                mqttas_radio_read(r, null_mut(), 4, &mut n),
                MQTTAS_ERR_NULL_POINTER
            );
            assert_eq!(
                mqttas_radio_handle_frame(r, 6, null(), 4),
                MQTTAS_ERR_NULL_POINTER
            );
            assert_eq!(mqttas_radio_set_epoch(r, 0), MQTTAS_ERR_INVALID_ARGUMENT);
            assert_eq!(mqttas_radio_deinit(r), MQTTAS_OK);
            assert_eq!(mqttas_radio_open(r, 7), MQTTAS_ERR_NOT_INITIALIZED);
            assert_eq!(mqttas_radio_deinit(null_mut()), MQTTAS_ERR_NULL_POINTER);
        }
    }

    #[test]
    fn gateway_side_only_with_its_feature() {
        let mut st = Storage([0; 1024]);
        let (mut tx, mut rx) = ([0u8; 64], [0u8; 64]);
        let mut c = MaybeUninit::<mqttas_radio_config>::uninit();
        let r = st.0.as_mut_ptr().cast::<mqttas_radio>();
        let expected = if cfg!(feature = "radio-gateway") {
            MQTTAS_OK
        } else {
            MQTTAS_ERR_UNSUPPORTED
        };
        // SAFETY: valid pointers to local memory.
        unsafe {
            assert_eq!(mqttas_radio_config_default(c.as_mut_ptr()), MQTTAS_OK);
            let mut c = c.assume_init();
            c.gateway = true;
            let (txp, rxp) = (tx.as_mut_ptr(), rx.as_mut_ptr());
            assert_eq!(mqttas_radio_init(r, 1024, &c, txp, 64, rxp, 64), expected);
            let up = &mut false;
            let live = if expected == MQTTAS_OK {
                MQTTAS_OK
            } else {
                MQTTAS_ERR_NOT_INITIALIZED
            };
            assert_eq!(mqttas_radio_is_up(r, up), live);
        }
        let problem = RadioConfig::new(1, true, 1).validate();
        if cfg!(feature = "radio-gateway") {
            assert_eq!(problem, Ok(()));
        } else {
            assert_eq!(
                problem,
                Err(RadioError::BadConfig(
                    "the gateway side needs the cargo feature radio-gateway"
                ))
            );
        }
    }
}
