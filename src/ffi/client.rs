//! The client in caller storage, and every call that takes it.

use core::ffi::c_char;
use core::mem::MaybeUninit;
use core::ptr::{self, addr_of_mut};

use heapless::Vec;

use super::args;
use super::config::{mqttas_config, mqttas_connect_options};
use super::event::{mqttas_event, mqttas_event_kind::MQTTAS_EVENT_PAYLOAD_RETURNED};
use super::handle::{self, Handle};
use super::mqttas_result::{self, *};
use super::property::{self, mqttas_property};
use super::reconnect::mqttas_reconnect_cause;
use super::text::{describe_into, CBuf};
use crate::reconnect::Cause;
use crate::session::{
    BorrowedPayload, Buffers, Client, Config, ConnectOptions, Event, LostReason, Next, State,
};
use crate::text::Sink;
use crate::wire::{Property, ReasonCode, SubOptions, Subscription, Will};

/// Most topic filters one `mqttas_subscribe` or `mqttas_unsubscribe` takes.
pub const MQTTAS_MAX_SUBSCRIPTIONS: usize = 16;

/// A client, in storage the caller provides: `mqttas_client_size()` bytes
/// aligned to `mqttas_client_align()` (`malloc` memory is aligned enough).
/// Opaque: use it only through the `mqttas_*` functions. One thread at a
/// time per client; distinct clients share nothing.
pub struct mqttas_client {
    _opaque: [u8; 0],
}

/// What a client's storage holds: the session, and why its last connection
/// was lost (the text of `mqttas_lost_describe`, and of a
/// `MQTTAS_EVENT_CONNECTION_LOST` for `mqttas_event_describe`).
pub(crate) struct ClientState {
    client: Client<'static>,
    lost: Option<LostReason>,
}

impl Handle for mqttas_client {
    type Target = ClientState;
    const MAGIC: u32 = 0x6d71_7461; // "mqta"
}

/// Run `f` on the session in `c` and return its result code.
///
/// # Safety
/// Unless NULL, misaligned or not initialised, `c` is storage given to
/// `mqttas_client_init` that nothing else uses during the call.
unsafe fn with(
    c: *const mqttas_client,
    f: impl FnOnce(&mut Client<'static>) -> Result<(), mqttas_result>,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { handle::with(c, |s| f(&mut s.client)) }
}

/// Connection state, from `mqttas_state`. The numbers are fixed.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum mqttas_conn_state {
    /// Not connected: call `mqttas_connect` once the link is up.
    MQTTAS_STATE_DISCONNECTED = 0,
    /// CONNECT queued, waiting for CONNACK.
    MQTTAS_STATE_CONNECTING = 1,
    /// CONNACK accepted.
    MQTTAS_STATE_CONNECTED = 2,
}

/// One topic filter with its subscription options, for `mqttas_subscribe`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_subscription {
    /// Topic filter, UTF-8, not NUL-terminated.
    pub filter: *const c_char,
    /// Bytes at `filter`.
    pub filter_len: usize,
    /// Maximum QoS, 0 to 2.
    pub qos: u8,
    /// 5.0 no local: do not receive our own publications.
    pub no_local: bool,
    /// 5.0 retain as published.
    pub retain_as_published: bool,
    /// 5.0 retain handling, 0 to 2.
    pub retain_handling: u8,
}

/// A string with its length (UTF-8, not NUL-terminated), for
/// `mqttas_unsubscribe`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_str {
    /// The bytes.
    pub data: *const c_char,
    /// Bytes at `data`.
    pub len: usize,
}

/// The buffers a client borrows, for `mqttas_client_init` (as coreMQTT's
/// `MQTTFixedBuffer_t`). Each is a pointer and its length in bytes; an
/// optional one may be NULL with length 0, so a zero-initialised struct
/// (`mqttas_buffers b = {0};`) needs only `rx` and `tx` filled in.
///
/// | buffer | holds | minimum |
/// | --- | --- | --- |
/// | `rx` | received bytes: the largest packet taken whole; a larger PUBLISH payload arrives in chunks | 64 |
/// | `tx` | control packets and QoS 0 publications, until sent | 64 |
/// | `store` | QoS 1/2 publications until acknowledged, kept across reconnections | 0 (only QoS 0 can be published) |
/// | `aliases` | the 5.0 inbound topic alias table | 0 (then `topic_alias_maximum` must be 0) |
/// | `out_aliases` | the 5.0 outbound topic alias table: the topics the application set its aliases to (5 bytes plus the topic each) | 0 (then `mqttas_publish` with a topic alias is refused) |
/// | `inbound_qos2` | packet ids (`uint16_t`, aligned) of the broker's QoS 2 messages between our PUBREC and its PUBREL | `config.receive_maximum` ids (16 by default) |
///
/// `inbound_qos2` counts ids, not bytes. A broker may overshoot the receive
/// maximum we announce (mosquitto 2.0.11 sends 84 to 153 against 16): with
/// room for them (256 ids on a host) they are taken at once; when the table
/// is full the client withholds them for the next connection (a session the
/// broker keeps) or delivers them untracked (a clean one). See
/// `mqttas_qos2_stats`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_buffers {
    /// Receive buffer.
    pub rx: *mut u8,
    /// Bytes at `rx`.
    pub rx_len: usize,
    /// Transmit buffer.
    pub tx: *mut u8,
    /// Bytes at `tx`.
    pub tx_len: usize,
    /// Store of QoS 1/2 publications; may be NULL.
    pub store: *mut u8,
    /// Bytes at `store`.
    pub store_len: usize,
    /// Inbound topic alias table (5.0); may be NULL.
    pub aliases: *mut u8,
    /// Bytes at `aliases`.
    pub aliases_len: usize,
    /// Outbound topic alias table (5.0); may be NULL.
    pub out_aliases: *mut u8,
    /// Bytes at `out_aliases`.
    pub out_aliases_len: usize,
    /// Inbound QoS 2 packet id table.
    pub inbound_qos2: *mut u16,
    /// Ids (not bytes) at `inbound_qos2`.
    pub inbound_qos2_len: usize,
}

/// Bytes of storage a client needs.
#[no_mangle]
pub extern "C" fn mqttas_client_size() -> usize {
    handle::size::<mqttas_client>()
}

/// Alignment the client storage needs (a power of two, at most that of
/// `malloc`).
#[no_mangle]
pub extern "C" fn mqttas_client_align() -> usize {
    handle::align::<mqttas_client>()
}

/// Create a disconnected client in `client`, storage of `storage_len` bytes
/// (at least `mqttas_client_size()`, aligned to `mqttas_client_align()`).
///
/// The client borrows the buffers of `*buffers` (see `mqttas_buffers` for
/// what each holds and its minimum) until `mqttas_client_deinit`: keep them
/// alive and untouched until then. They must not overlap each other or the
/// storage. `*buffers` itself is copied.
///
/// The storage and the buffers are zeroed here (so fresh `malloc` memory is
/// fine) and the client is written into the storage in place: what it
/// leaves unused stays zero. `config` is copied. Returns
/// `MQTTAS_ERR_INVALID_CONFIG` for a buffer below its minimum or a value
/// out of range. On error the storage holds no client.
///
/// # Safety
/// `client` points to `storage_len` writable bytes; `config` to a
/// `mqttas_config`; `buffers` to a `mqttas_buffers` whose every buffer is
/// its length of writable bytes that stay valid and unused by anything else
/// until `mqttas_client_deinit`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_client_init(
    client: *mut mqttas_client,
    storage_len: usize,
    config: *const mqttas_config,
    buffers: *const mqttas_buffers,
) -> mqttas_result {
    let make = |storage: (usize, usize), place: &mut MaybeUninit<ClientState>| {
        // SAFETY: NULL checked by `as_ref`; validity from the caller.
        let config = unsafe { config.as_ref() }.ok_or(MQTTAS_ERR_NULL_POINTER)?;
        let config = Config::try_from(config)?;
        // SAFETY: NULL checked by `as_ref`; validity from the caller.
        let b = *unsafe { buffers.as_ref() }.ok_or(MQTTAS_ERR_NULL_POINTER)?;
        let mqttas_buffers {
            rx,
            rx_len,
            tx,
            tx_len,
            store,
            store_len,
            aliases,
            aliases_len,
            out_aliases,
            out_aliases_len,
            inbound_qos2,
            inbound_qos2_len,
        } = b;
        let qos2_bytes = inbound_qos2_len
            .checked_mul(2)
            .ok_or(MQTTAS_ERR_INVALID_ARGUMENT)?;
        args::disjoint(&[
            storage,
            (rx as usize, rx_len),
            (tx as usize, tx_len),
            (store as usize, store_len),
            (aliases as usize, aliases_len),
            (out_aliases as usize, out_aliases_len),
            (inbound_qos2 as usize, qos2_bytes),
        ])?;
        // SAFETY: each buffer is its length of writable bytes, promised
        // by the caller.
        unsafe {
            args::zero(&[
                (rx, rx_len),
                (tx, tx_len),
                (store, store_len),
                (aliases, aliases_len),
                (out_aliases, out_aliases_len),
                (inbound_qos2.cast::<u8>(), qos2_bytes),
            ])
        }?;
        // SAFETY: the caller lends each buffer (this and the five below)
        // until deinit, which is what the 'static borrow stands for here;
        // they are disjoint (checked above) and zeroed.
        let rx = unsafe { args::bytes_mut(rx, rx_len) }?;
        // SAFETY: as above.
        let tx = unsafe { args::bytes_mut(tx, tx_len) }?;
        // SAFETY: as above.
        let store = unsafe { args::bytes_mut(store, store_len) }?;
        // SAFETY: as above.
        let aliases = unsafe { args::bytes_mut(aliases, aliases_len) }?;
        // SAFETY: as above.
        let out_aliases = unsafe { args::bytes_mut(out_aliases, out_aliases_len) }?;
        // SAFETY: as above.
        let inbound_qos2 = unsafe { args::ids_mut(inbound_qos2, inbound_qos2_len) }?;
        let buffers = Buffers {
            rx,
            tx,
            store,
            aliases,
            out_aliases,
            inbound_qos2,
        };
        Client::check(&config, &buffers)?;
        // Each field is written once, where it lies, so that what a field
        // leaves unwritten (the payload of `None`) stays zero.
        let s = place.as_mut_ptr();
        // SAFETY: `s` points to the `ClientState` in `place`.
        let client = unsafe { addr_of_mut!((*s).client) };
        // SAFETY: writable and aligned (in `place`); nothing there to drop.
        unsafe { client.write(Client::build(config, buffers)) };
        // SAFETY: written just above; used by nothing else during the call.
        unsafe { &mut *client }.clear_free_room();
        // SAFETY: `s` points to the `ClientState` in `place`.
        let lost = unsafe { addr_of_mut!((*s).lost) };
        // SAFETY: as for `client`.
        unsafe { lost.write(None) };
        Ok(())
    };
    // SAFETY: forwarded from the caller.
    unsafe { handle::init(client, storage_len, make) }
}

/// End the client: the storage and the buffers are the caller's again.
/// Stored QoS 1/2 messages are dropped. Further calls with this client
/// return `MQTTAS_ERR_NOT_INITIALIZED` until it is initialised again.
///
/// # Safety
/// `client` is NULL or storage given to `mqttas_client_init`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_client_deinit(client: *mut mqttas_client) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { handle::deinit(client) }
}

/// Copy the client's configuration into `*out`.
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_client_config(
    client: *const mqttas_client,
    out: *mut mqttas_config,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(mqttas_config::from(c.config()));
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The connection state.
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_state(
    client: *const mqttas_client,
    out: *mut mqttas_conn_state,
) -> mqttas_result {
    use mqttas_conn_state::*;
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(match c.state() {
            State::Disconnected => MQTTAS_STATE_DISCONNECTED,
            State::Connecting => MQTTAS_STATE_CONNECTING,
            State::Connected => MQTTAS_STATE_CONNECTED,
        });
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The client identifier a 5.0 broker assigned (when CONNECT had an
/// empty one): `*out` and `*out_len`, empty (length 0) if none. The string
/// borrows from the client and is valid until the next call that takes the
/// client. It is reused by later connections with an empty client id.
///
/// # Safety
/// `client` as for every call; `out` and `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_assigned_client_id(
    client: *const mqttas_client,
    out: *mut *const c_char,
    out_len: *mut usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        let o = unsafe { args::out(out) }?;
        // SAFETY: `out_len` is writable, as the caller promised.
        let n = unsafe { args::out(out_len) }?;
        let id = c.assigned_client_id();
        o.put(id.as_ptr().cast());
        n.put(id.len());
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The number of QoS 1/2 publications in the store (sent or not, not yet
/// complete).
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_pending_publications(
    client: *const mqttas_client,
    out: *mut usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(c.pending_publications());
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Counters of the outbound flow since `mqttas_client_init`, from
/// `mqttas_get_stats`; they wrap at 2^32.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mqttas_stats {
    /// QoS 1/2 PUBLISH packets sent again with DUP set: republications on
    /// the same connection (3.1.1, `max_repubs`) and resends on a later
    /// connection of a kept session (mqtt_as's `REPUB_COUNT`).
    pub republished: u32,
}

/// Copy the outbound counters into `*out` (see `mqttas_stats`).
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_get_stats(
    client: *const mqttas_client,
    out: *mut mqttas_stats,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        let s = c.stats();
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(mqttas_stats {
            republished: s.republished,
        });
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// What the broker's inbound QoS 2 flow looked like since the client was
/// made, from `mqttas_get_qos2_stats`.
///
/// A broker may have no more unreleased QoS 2 messages towards us than our
/// receive maximum (5.0), yet some exceed it (mosquitto 2.0.11: 84 to 153
/// against 16). They are taken while `mqttas_buffers.inbound_qos2` has
/// room; when it is full they are withheld on a session the broker keeps
/// (it sends them again on the next connection,
/// `MQTTAS_LOST_RECEIVE_MAXIMUM_EXCEEDED`) or delivered untracked on a
/// session that ends with the connection (nothing would be sent again).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct mqttas_qos2_stats {
    /// Most inbound QoS 2 messages awaiting PUBREL at once.
    pub peak_unreleased: u16,
    /// 5.0: messages that came while `receive_maximum` or more were
    /// awaiting PUBREL (the broker's excess over our announced maximum).
    pub beyond_receive_maximum: u32,
    /// Messages delivered untracked (id table full, clean session).
    pub untracked: u32,
    /// Messages withheld for the next connection (id table full, kept
    /// session).
    pub withheld: u32,
}

/// Copy the inbound QoS 2 figures into `*out` (see `mqttas_qos2_stats`).
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_get_qos2_stats(
    client: *const mqttas_client,
    out: *mut mqttas_qos2_stats,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        let s = c.qos2_stats();
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(mqttas_qos2_stats {
            peak_unreleased: s.peak_unreleased,
            beyond_receive_maximum: s.beyond_receive_maximum,
            untracked: s.untracked,
            withheld: s.withheld,
        });
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Queue CONNECT; the link must be up. Clean session is the config's
/// `clean_init` on the first connection and `clean` afterwards. Send what
/// `mqttas_poll_transmit` gives, then wait for `MQTTAS_EVENT_CONNECTED` or
/// `MQTTAS_EVENT_CONNECTION_LOST`. Everything in `options` is copied.
///
/// # Safety
/// `client` as for every call; `options` points to a valid
/// `mqttas_connect_options` whose pointers are valid for their lengths.
#[no_mangle]
pub unsafe extern "C" fn mqttas_connect(
    client: *mut mqttas_client,
    now: u32,
    options: *const mqttas_connect_options,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: NULL checked by `as_ref`; a valid `mqttas_connect_options`
        // otherwise, as the caller promised.
        let o = unsafe { options.as_ref() }.ok_or(MQTTAS_ERR_NULL_POINTER)?;
        // SAFETY: its pointers are valid for their lengths, as the caller
        // promised.
        let s = unsafe { o.strings() }?;
        // SAFETY: as above.
        let will_props = unsafe { property::list(o.will_properties, o.will_properties_len) }?;
        // SAFETY: as above.
        let props = unsafe { property::list(o.properties, o.properties_len) }?;
        let will = match s.will_topic {
            Some(topic) => Some(Will {
                topic,
                payload: s.will_payload,
                qos: args::qos(o.will_qos)?,
                retain: o.will_retain,
                properties: crate::wire::Properties::List(&will_props),
            }),
            None => None,
        };
        let opts = ConnectOptions {
            client_id: s.client_id,
            username: s.username,
            password: s.password,
            will,
            properties: &props,
        };
        Ok(c.connect(now, &opts)?)
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Publish `payload` to `topic` at `qos` (0 to 2).
///
/// QoS 0 goes to the transmit buffer and needs a connection. QoS 1/2 is
/// copied into the store, connected or not, and `*out_packet_id` receives
/// its packet id, reported again by `MQTTAS_EVENT_PUBLISHED` when complete.
/// `*out_packet_id` is 0 for QoS 0; `out_packet_id` may be NULL. `topic`,
/// `payload` and `properties` (5.0, at most `MQTTAS_MAX_PROPERTIES`) are
/// copied. `MQTTAS_ERR_STORE_FULL` and `MQTTAS_ERR_TX_FULL` mean: wait and
/// retry.
///
/// # Safety
/// `client` as for every call; each pointer valid for its length (NULL
/// allowed with length 0); `out_packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_publish(
    client: *mut mqttas_client,
    now: u32,
    topic: *const c_char,
    topic_len: usize,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    properties: *const mqttas_property,
    properties_len: usize,
    out_packet_id: *mut u16,
) -> mqttas_result {
    let lend = false;
    // SAFETY: forwarded from the caller.
    unsafe {
        publish(
            client,
            now,
            topic,
            topic_len,
            payload,
            payload_len,
            qos,
            retain,
            properties,
            properties_len,
            out_packet_id,
            lend,
        )
    }
}

/// `mqttas_publish` with a payload the caller lends rather than has
/// copied: only the PUBLISH's head (fixed header, topic, packet id,
/// properties) goes to the transmit buffer (QoS 0) or the store (QoS 1/2),
/// and `mqttas_poll_transmit_vectored` hands out `payload` itself after
/// the head each time the PUBLISH goes out. A message of any size then
/// needs only room for its head in `tx` or `store`. A client given lent
/// payloads must take its bytes with `mqttas_poll_transmit_vectored`
/// (`mqttas_poll_transmit` returns `MQTTAS_ERR_USE_VECTORED` for them).
///
/// The caller keeps the `payload_len` bytes at `payload` valid and
/// unchanged until the client is done with them:
/// - QoS 1/2: until the `MQTTAS_EVENT_PUBLISHED` with the packet id given
///   in `*out_packet_id` (the store keeps the message across connections
///   and sends it again, with DUP, from these bytes), for QoS 2 until the
///   `MQTTAS_EVENT_PAYLOAD_RETURNED` with that id (PUBREC came) if that
///   is sooner, or `mqttas_client_deinit`;
/// - QoS 0: until `mqttas_poll_transmit_vectored` hands it out, the next
///   `MQTTAS_EVENT_CONNECTION_LOST` (the client drops it unsent when the
///   connection is lost) or the next `mqttas_connect`, whichever comes
///   first. One QoS 0 payload is lent at a time: while it is, another QoS 0
///   `mqttas_publish_borrowed` returns `MQTTAS_ERR_TX_FULL`, so one that
///   succeeds means that no earlier QoS 0 payload is lent any more.
///
/// `topic` and `properties` are copied; everything else is as for
/// `mqttas_publish`.
///
/// # Safety
/// As for `mqttas_publish`, and `payload` stays valid and unchanged for
/// the time given above.
#[no_mangle]
pub unsafe extern "C" fn mqttas_publish_borrowed(
    client: *mut mqttas_client,
    now: u32,
    topic: *const c_char,
    topic_len: usize,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    properties: *const mqttas_property,
    properties_len: usize,
    out_packet_id: *mut u16,
) -> mqttas_result {
    let lend = true;
    // SAFETY: forwarded from the caller.
    unsafe {
        publish(
            client,
            now,
            topic,
            topic_len,
            payload,
            payload_len,
            qos,
            retain,
            properties,
            properties_len,
            out_packet_id,
            lend,
        )
    }
}

/// `mqttas_publish`, or with `lend` `mqttas_publish_borrowed`.
///
/// # Safety
/// As for `mqttas_publish_borrowed`.
#[allow(clippy::too_many_arguments)]
unsafe fn publish(
    client: *mut mqttas_client,
    now: u32,
    topic: *const c_char,
    topic_len: usize,
    payload: *const u8,
    payload_len: usize,
    qos: u8,
    retain: bool,
    properties: *const mqttas_property,
    properties_len: usize,
    out_packet_id: *mut u16,
    lend: bool,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `topic` is valid for `topic_len` bytes, as the caller
        // promised.
        let topic = unsafe { args::text(topic, topic_len) }?;
        // SAFETY: `payload` is valid for `payload_len` bytes, as the caller
        // promised.
        let payload = unsafe { args::array(payload, payload_len) }?;
        let qos = args::qos(qos)?;
        // The usual case, no properties, skips building the list: the
        // list is large, and moving it costs more than the publish.
        let list;
        let props: &[Property<'_>] = if properties_len == 0 {
            &[]
        } else {
            // SAFETY: `properties` holds `properties_len` valid
            // properties, as the caller promised.
            list = unsafe { property::list(properties, properties_len) }?;
            &list
        };
        // One call for both (so that it is inlined here).
        let (payload, lent) = if lend {
            // The pointer is the payload's token: handed back as it is.
            let lent = BorrowedPayload {
                token: payload.as_ptr() as usize,
                len: payload.len(),
            };
            (&[][..], Some(lent))
        } else {
            (payload, None)
        };
        let id = c.publish_any(now, topic, payload, lent, qos, retain, props)?;
        // SAFETY: `out_packet_id` is NULL or writable, as the caller promised.
        unsafe { put_packet_id(out_packet_id, id) };
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Hand `id` out through `out`, unless the caller gave NULL.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn put_packet_id(out: *mut u16, id: u16) {
    // SAFETY: forwarded from the caller.
    if let Some(o) = unsafe { args::opt_out(out) } {
        o.put(id);
    }
}

/// Queue SUBSCRIBE for `subscriptions_len` filters (1 to
/// `MQTTAS_MAX_SUBSCRIPTIONS`); `*out_packet_id` (may be NULL) receives its
/// packet id, reported again by `MQTTAS_EVENT_SUBSCRIBED`. Everything is
/// copied.
///
/// # Safety
/// `client` as for every call; each pointer valid for its length;
/// `out_packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_subscribe(
    client: *mut mqttas_client,
    now: u32,
    subscriptions: *const mqttas_subscription,
    subscriptions_len: usize,
    properties: *const mqttas_property,
    properties_len: usize,
    out_packet_id: *mut u16,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `subscriptions` holds `subscriptions_len` valid
        // subscriptions, as the caller promised.
        let subs = unsafe { args::array(subscriptions, subscriptions_len) }?;
        if subs.len() > MQTTAS_MAX_SUBSCRIPTIONS {
            return Err(MQTTAS_ERR_TOO_MANY_ITEMS);
        }
        let mut list: Vec<Subscription<'_>, MQTTAS_MAX_SUBSCRIPTIONS> = Vec::new();
        for s in subs {
            if s.retain_handling > 2 {
                return Err(MQTTAS_ERR_INVALID_ARGUMENT);
            }
            // SAFETY: each filter is valid for its length, as the caller
            // promised.
            let filter = unsafe { args::text(s.filter, s.filter_len) }?;
            let sub = Subscription {
                filter,
                options: SubOptions {
                    qos: args::qos(s.qos)?,
                    no_local: s.no_local,
                    retain_as_published: s.retain_as_published,
                    retain_handling: s.retain_handling,
                },
            };
            list.push(sub).map_err(|_| MQTTAS_ERR_TOO_MANY_ITEMS)?;
        }
        // SAFETY: `properties` holds `properties_len` valid properties, as the caller promised.
        let props = unsafe { property::list(properties, properties_len) }?;
        let id = c.subscribe(now, &list, &props)?;
        // SAFETY: `out_packet_id` is NULL or writable, as the caller promised.
        unsafe { put_packet_id(out_packet_id, id) };
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Queue UNSUBSCRIBE for `filters_len` filters (1 to
/// `MQTTAS_MAX_SUBSCRIPTIONS`); `*out_packet_id` (may be NULL) receives its
/// packet id, reported again by `MQTTAS_EVENT_UNSUBSCRIBED`. Everything is
/// copied.
///
/// # Safety
/// `client` as for every call; each pointer valid for its length;
/// `out_packet_id` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_unsubscribe(
    client: *mut mqttas_client,
    now: u32,
    filters: *const mqttas_str,
    filters_len: usize,
    properties: *const mqttas_property,
    properties_len: usize,
    out_packet_id: *mut u16,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `filters` holds `filters_len` valid strings, as the
        // caller promised.
        let given = unsafe { args::array(filters, filters_len) }?;
        if given.len() > MQTTAS_MAX_SUBSCRIPTIONS {
            return Err(MQTTAS_ERR_TOO_MANY_ITEMS);
        }
        let mut list: Vec<&str, MQTTAS_MAX_SUBSCRIPTIONS> = Vec::new();
        for f in given {
            // SAFETY: each is valid for its length, as the caller promised.
            let f = unsafe { args::text(f.data, f.len) }?;
            list.push(f).map_err(|_| MQTTAS_ERR_TOO_MANY_ITEMS)?;
        }
        // SAFETY: `properties` holds `properties_len` valid properties, as the caller promised.
        let props = unsafe { property::list(properties, properties_len) }?;
        let id = c.unsubscribe(now, &list, &props)?;
        // SAFETY: `out_packet_id` is NULL or writable, as the caller promised.
        unsafe { put_packet_id(out_packet_id, id) };
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Queue PINGREQ now (the client also pings by itself).
///
/// # Safety
/// `client` as for every call.
#[no_mangle]
pub unsafe extern "C" fn mqttas_ping(client: *mut mqttas_client, now: u32) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    unsafe { with(client, |c| Ok(c.ping(now)?)) }
}

/// Queue DISCONNECT with `reason` (a 5.0 reason code, 0 for normal; 3.1.1
/// sends none) and 5.0 `properties`. Then `MQTTAS_EVENT_DISCONNECTED` says
/// to send the bytes and close the link. Stored messages stay for the next
/// connection.
///
/// # Safety
/// `client` as for every call; `properties` valid for its length.
#[no_mangle]
pub unsafe extern "C" fn mqttas_disconnect(
    client: *mut mqttas_client,
    now: u32,
    reason: u8,
    properties: *const mqttas_property,
    properties_len: usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `properties` holds `properties_len` valid properties, as the caller promised.
        let props = unsafe { property::list(properties, properties_len) }?;
        Ok(c.disconnect(now, ReasonCode(reason), &props)?)
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Queue AUTH (5.0 enhanced authentication) with `reason` and
/// `properties` (authentication method and data).
///
/// # Safety
/// `client` as for every call; `properties` valid for its length.
#[no_mangle]
pub unsafe extern "C" fn mqttas_auth(
    client: *mut mqttas_client,
    now: u32,
    reason: u8,
    properties: *const mqttas_property,
    properties_len: usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `properties` holds `properties_len` valid properties, as the caller promised.
        let props = unsafe { property::list(properties, properties_len) }?;
        Ok(c.auth(now, ReasonCode(reason), &props)?)
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Bytes received from the link. `*out_accepted` receives how many were
/// taken: fewer than `data_len` when the receive buffer is full; then take
/// the events (`mqttas_poll_event`) and offer the rest again.
///
/// Packets are decoded as events are taken: take every event (until
/// `MQTTAS_EVENT_NONE`) before `mqttas_poll_transmit`, so that the
/// acknowledgements of what arrived are queued.
///
/// # Safety
/// `client` as for every call; `data` valid for `data_len` bytes;
/// `out_accepted` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_handle_input(
    client: *mut mqttas_client,
    now: u32,
    data: *const u8,
    data_len: usize,
    out_accepted: *mut usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `data` is valid for `data_len` bytes, as the caller
        // promised.
        let data = unsafe { args::array(data, data_len) }?;
        // SAFETY: `out_accepted` is writable, as the caller promised.
        let out = unsafe { args::out(out_accepted) }?;
        out.put(c.handle_input(now, data));
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// Time has advanced: send pings, republish, declare timeouts. Call it at
/// the deadline from `mqttas_poll_deadline` (calling it earlier is
/// harmless).
///
/// # Safety
/// `client` as for every call.
#[no_mangle]
pub unsafe extern "C" fn mqttas_handle_timeout(
    client: *mut mqttas_client,
    now: u32,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        c.handle_timeout(now);
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The link is down (closed, reset, failed to send): the connection is
/// lost, and a `MQTTAS_EVENT_CONNECTION_LOST` follows if it was up.
///
/// # Safety
/// `client` as for every call.
#[no_mangle]
pub unsafe extern "C" fn mqttas_handle_link_down(
    client: *mut mqttas_client,
    now: u32,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        c.handle_link_down(now);
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The next bytes to send: `*out_data` and `*out_len`, or NULL and 0 when
/// there is nothing to send. The bytes borrow from the client and are valid
/// until the next call that takes the client. Send them all (or report the
/// link down), then call again until there is nothing.
///
/// # Safety
/// `client` as for every call; `out_data` and `out_len` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_poll_transmit(
    client: *mut mqttas_client,
    now: u32,
    out_data: *mut *const u8,
    out_len: *mut usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out_data` is writable, as the caller promised.
        let d = unsafe { args::out(out_data) }?;
        // SAFETY: `out_len` is writable, as the caller promised.
        let n = unsafe { args::out(out_len) }?;
        let (data, len, r) = match c.transmit(now, false) {
            Next::Send(t) => (t.head.as_ptr(), t.head.len(), Ok(())),
            Next::Nothing => (ptr::null(), 0, Ok(())),
            Next::Lent => (ptr::null(), 0, Err(MQTTAS_ERR_USE_VECTORED)),
        };
        d.put(data);
        n.put(len);
        r
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// A run of bytes, as POSIX's `struct iovec` (with `const` bytes): for
/// `mqttas_poll_transmit_vectored`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_iovec {
    /// The first byte.
    pub base: *const u8,
    /// Bytes at `base`.
    pub len: usize,
}

/// The next bytes to send, as runs of bytes to send one after the other:
/// `out[0]`, then (when `*out_count` is 2) `out[1]`, the payload lent to
/// `mqttas_publish_borrowed` (its own pointer and length, which may be 0)
/// for the PUBLISH whose head ends `out[0]`. `*out_count` is 0 when there
/// is nothing to send. `out[0]` borrows from the client and is valid until
/// the next call that takes the client. Send them all, in order (or report
/// the link down), then call again until there is nothing. A client that
/// is never given lent payloads may use it too: `*out_count` is then never
/// 2.
///
/// # Safety
/// `client` as for every call; `out` points to two writable
/// `mqttas_iovec`; `out_count` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_poll_transmit_vectored(
    client: *mut mqttas_client,
    now: u32,
    out: *mut mqttas_iovec,
    out_count: *mut usize,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out` points to two writable iovecs, as the caller
        // promised.
        let v = unsafe { args::out(out) }?;
        // SAFETY: as above: the second of the two.
        let v1 = unsafe { args::out(out.wrapping_add(1)) }?;
        // SAFETY: `out_count` is writable, as the caller promised.
        let n = unsafe { args::out(out_count) }?;
        let none = mqttas_iovec {
            base: ptr::null(),
            len: 0,
        };
        let (count, head, payload) = match c.poll_transmit_vectored(now) {
            Some(t) => {
                let head = mqttas_iovec {
                    base: t.head.as_ptr(),
                    len: t.head.len(),
                };
                match t.payload {
                    // The token is the caller's pointer.
                    Some(p) => (
                        2,
                        head,
                        mqttas_iovec {
                            base: p.token as *const u8,
                            len: p.len,
                        },
                    ),
                    None => (1, head, none),
                }
            }
            None => (0, none, none),
        };
        v.put(head);
        v1.put(payload);
        n.put(count);
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}

/// The next event into `*out`: `out->kind` is `MQTTAS_EVENT_NONE` when
/// there is none. The pointers in `*out` borrow from the client and are
/// valid until the next call that takes the client: copy what you keep.
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_poll_event(
    client: *mut mqttas_client,
    out: *mut mqttas_event,
) -> mqttas_result {
    let run = |s: &mut ClientState| -> Result<(), mqttas_result> {
        // SAFETY: `out` is writable, as the caller promised.
        let out = unsafe { args::out(out) }?;
        // SAFETY: `ev` lives only in this call (`put_mut`'s condition).
        let ev = unsafe { out.put_mut(mqttas_event::NONE) };
        if let Some(e) = s.client.poll_event() {
            if let Event::ConnectionLost(why) = e {
                s.lost = Some(why);
            }
            ev.fill(&e);
        } else if let Some(id) = s.client.poll_returned() {
            // Lent payloads returned at PUBREC, once no other event is left.
            ev.kind = MQTTAS_EVENT_PAYLOAD_RETURNED;
            ev.packet_id = id;
        }
        // What the broker said with its DISCONNECT or refusal.
        if matches!(
            ev.lost,
            super::event::mqttas_lost_reason::MQTTAS_LOST_SERVER_DISCONNECT
                | super::event::mqttas_lost_reason::MQTTAS_LOST_REFUSED
        ) {
            (ev.properties, ev.properties_len) =
                super::property::raw(&s.client.disconnect_properties());
        }
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { handle::with(client, run) }
}

/// Describe the event `event` of this client in one sentence, e.g.
/// `message on "a/b": 5 bytes, QoS 1` or `connection lost: broker refused
/// the connection: not authorised (CONNACK 5)`, into `buf`. A
/// `MQTTAS_EVENT_CONNECTION_LOST` is told from the client's own record of
/// its last lost connection (`mqttas_lost_describe`), every other event
/// from its fields.
///
/// The text is NUL-terminated whenever `buf_len > 0`. `*out_len` (when
/// `out_len` is not NULL) receives the length of the whole text without the
/// NUL. Returns `MQTTAS_ERR_BUFFER_TOO_SMALL` when the text was cut (give
/// at least `*out_len + 1` bytes; 256 is always plenty but for long topics),
/// `MQTTAS_ERR_NULL_POINTER` when `event` is NULL or `buf` is NULL with
/// `buf_len` not 0. It changes nothing: the event's pointers stay valid.
///
/// # Safety
/// `client` as for every call; `event` points to an event from
/// `mqttas_poll_event` on this client whose borrowed pointers are still
/// valid (no other call that takes the client since), or to one whose
/// `topic` and `codes` are NULL; `buf` points to `buf_len` writable bytes;
/// `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_event_describe(
    client: *const mqttas_client,
    event: *const mqttas_event,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    let Some(fields) = (unsafe { super::event::Fields::read(event) }) else {
        return MQTTAS_ERR_NULL_POINTER;
    };
    let text = |s: &ClientState, w: &mut CBuf<'_>| {
        // SAFETY: the caller vouches for the event's pointers.
        unsafe { fields.describe(w, |w| s.lost_text(w, ": ")) }
    };
    // SAFETY: forwarded from the caller.
    unsafe { describe_client(client, buf, buf_len, out_len, text) }
}

/// Why the client's last connection was lost, in one sentence, e.g.
/// `broker refused the connection: not authorised (CONNACK 5)` or `broker
/// closed the connection: server moved (0x9d): "maintenance"; server
/// reference: other.example:1884` (what a 5.0 broker said quoted), into
/// `buf`: the text of the last
/// `MQTTAS_EVENT_CONNECTION_LOST` without its `connection lost: `. Empty
/// before the first loss. Text conventions of `mqttas_event_describe`.
///
/// # Safety
/// `client` as for every call; `buf` points to `buf_len` writable bytes;
/// `out_len` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_lost_describe(
    client: *const mqttas_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
) -> mqttas_result {
    let text = |s: &ClientState, w: &mut CBuf<'_>| s.lost_text(w, "");
    // SAFETY: forwarded from the caller.
    unsafe { describe_client(client, buf, buf_len, out_len, text) }
}

/// What the outage policy makes of the client's last lost connection, into
/// `*out`: the cause to give `mqttas_reconnect_handle_lost` or
/// `mqttas_reconnect_handle_attempt_failed` after a
/// `MQTTAS_EVENT_CONNECTION_LOST` (the library classifies every refusal
/// and DISCONNECT code; the table is in the Rust docs of
/// `mqttas::reconnect`). `MQTTAS_RECONNECT_CAUSE_OUTAGE` before the first
/// loss. A call of its own, so that a program without the outage policy
/// carries no classification.
///
/// # Safety
/// `client` as for every call; `out` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_lost_cause(
    client: *const mqttas_client,
    out: *mut mqttas_reconnect_cause,
) -> mqttas_result {
    let run = |s: &mut ClientState| -> Result<(), mqttas_result> {
        let cause = s.lost.map_or(Cause::Outage, |why| Cause::of(&why));
        // SAFETY: `out` is writable, as the caller promised.
        unsafe { args::out(out) }?.put(cause.into());
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { handle::with(client, run) }
}

/// The text `f` writes about the client in `c` into `buf`, with the
/// conventions of every `*_describe` function.
///
/// # Safety
/// As for `mqttas_lost_describe`.
unsafe fn describe_client(
    c: *const mqttas_client,
    buf: *mut c_char,
    buf_len: usize,
    out_len: *mut usize,
    f: impl FnOnce(&ClientState, &mut CBuf<'_>),
) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    match unsafe { handle::get(c) } {
        // SAFETY: forwarded from the caller.
        Ok(s) => unsafe { describe_into(buf, buf_len, out_len, |w| f(s, w)) },
        Err(e) => e,
    }
}

impl ClientState {
    /// `prefix`, then why the last connection was lost, with what a 5.0
    /// broker said in its DISCONNECT or refusing CONNACK (reason string,
    /// server reference); nothing at all before the first loss.
    fn lost_text(&self, w: &mut dyn Sink, prefix: &str) {
        let Some(why) = self.lost else {
            return;
        };
        w.str(prefix);
        why.with_properties(self.client.disconnect_properties())
            .text(w);
    }
}

/// When `mqttas_handle_timeout` must be called next: `*out_has` is false
/// when no timer runs, else `*out_deadline` is the tick (milliseconds, the
/// same clock as `now`, wrapping). Compare ticks by wrapping difference:
/// `(int32_t)(deadline - now) <= 0` means it is due.
///
/// # Safety
/// `client` as for every call; `out_has` and `out_deadline` writable.
#[no_mangle]
pub unsafe extern "C" fn mqttas_poll_deadline(
    client: *const mqttas_client,
    out_has: *mut bool,
    out_deadline: *mut u32,
) -> mqttas_result {
    let run = |c: &mut Client<'static>| -> Result<(), mqttas_result> {
        // SAFETY: `out_has` is writable, as the caller promised.
        let h = unsafe { args::out(out_has) }?;
        // SAFETY: `out_deadline` is writable, as the caller promised.
        let d = unsafe { args::out(out_deadline) }?;
        let dl = c.poll_deadline();
        h.put(dl.is_some());
        d.put(dl.unwrap_or(0));
        Ok(())
    };
    // SAFETY: `client` as the caller promised.
    unsafe { with(client, run) }
}
