//! The client configuration and the CONNECT options, as C structs.

use core::ffi::c_char;

use super::args;
use super::mqttas_property;
use super::mqttas_result::{self, *};
use crate::session::Config;
use crate::wire::Version;

/// `mqttas_config.version` for MQTT 3.1.1.
pub const MQTTAS_VERSION_311: u8 = 4;
/// `mqttas_config.version` for MQTT 5.0.
pub const MQTTAS_VERSION_5: u8 = 5;

/// [`mqttas_features`] bit: MQTT 5.0 (cargo feature `v5`).
pub const MQTTAS_FEATURE_V5: u32 = 1;
/// [`mqttas_features`] bit: QoS 2 (cargo feature `qos2`).
pub const MQTTAS_FEATURE_QOS2: u32 = 2;
/// [`mqttas_features`] bit: packet radio, node side (cargo feature `radio`).
pub const MQTTAS_FEATURE_RADIO: u32 = 4;
/// [`mqttas_features`] bit: the radio's gateway side (cargo feature
/// `radio-gateway`).
pub const MQTTAS_FEATURE_RADIO_GATEWAY: u32 = 8;

/// The protocol features this build of the library has: `MQTTAS_FEATURE_*`
/// bits. Calls that need a feature the build leaves out return
/// `MQTTAS_ERR_UNSUPPORTED`; this says so before any call (a firmware
/// reports it as `_mqttas.FEATURES`).
#[no_mangle]
pub extern "C" fn mqttas_features() -> u32 {
    let mut f = 0;
    if cfg!(feature = "v5") {
        f |= MQTTAS_FEATURE_V5;
    }
    if cfg!(feature = "qos2") {
        f |= MQTTAS_FEATURE_QOS2;
    }
    if cfg!(feature = "radio") {
        f |= MQTTAS_FEATURE_RADIO;
    }
    if cfg!(feature = "radio-gateway") {
        f |= MQTTAS_FEATURE_RADIO_GATEWAY;
    }
    f
}

/// Settings fixed for the life of a client. Fill it with
/// `mqttas_config_default`, then change what you need; the defaults follow
/// mqtt_as.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_config {
    /// `MQTTAS_VERSION_311` (default) or `MQTTAS_VERSION_5`.
    pub version: u8,
    /// Keep alive in seconds sent in CONNECT. Default 60.
    pub keep_alive: u16,
    /// Ping after this long (ms) without traffic; 0 means a quarter of the
    /// keep alive. Default 0.
    pub ping_interval_ms: u32,
    /// How long (ms) to wait for any awaited reply before the connection
    /// is declared lost. Default 10000.
    pub response_time_ms: u32,
    /// 3.1.1: times an unacknowledged QoS 1/2 PUBLISH is sent again on the
    /// same connection before it is declared lost. Default 4.
    pub max_repubs: u8,
    /// Clean session for the first connection. Default true.
    pub clean_init: bool,
    /// Clean session for later connections. Default true.
    pub clean: bool,
    /// QoS 1/2 publications outstanding at once. Default 8.
    pub max_inflight: u16,
    /// Inbound QoS 1/2 messages the broker may have outstanding (5.0
    /// receive maximum). Default 16.
    pub receive_maximum: u16,
    /// 5.0: send `session_expiry` as the session expiry interval. When
    /// false (default): 0 for a clean connection, never expire otherwise.
    pub has_session_expiry: bool,
    /// 5.0 session expiry interval in seconds, used when
    /// `has_session_expiry`.
    pub session_expiry: u32,
    /// 5.0 maximum packet size we accept, 0 for no limit. Default 0.
    pub maximum_packet_size: u32,
    /// 5.0 topic alias maximum we accept (needs alias storage). Default 0.
    pub topic_alias_maximum: u16,
}

impl From<&Config> for mqttas_config {
    fn from(c: &Config) -> Self {
        mqttas_config {
            version: c.version as u8,
            keep_alive: c.keep_alive,
            ping_interval_ms: c.ping_interval_ms,
            response_time_ms: c.response_time_ms,
            max_repubs: c.max_repubs,
            clean_init: c.clean_init,
            clean: c.clean,
            max_inflight: c.max_inflight,
            receive_maximum: c.receive_maximum,
            has_session_expiry: c.session_expiry.is_some(),
            session_expiry: c.session_expiry.unwrap_or(0),
            maximum_packet_size: c.maximum_packet_size,
            topic_alias_maximum: c.topic_alias_maximum,
        }
    }
}

impl TryFrom<&mqttas_config> for Config {
    type Error = mqttas_result;

    fn try_from(c: &mqttas_config) -> Result<Self, mqttas_result> {
        let version = match c.version {
            MQTTAS_VERSION_311 => Version::V311,
            MQTTAS_VERSION_5 => Version::V5,
            _ => return Err(MQTTAS_ERR_INVALID_CONFIG),
        };
        Ok(Config {
            version,
            keep_alive: c.keep_alive,
            ping_interval_ms: c.ping_interval_ms,
            response_time_ms: c.response_time_ms,
            max_repubs: c.max_repubs,
            clean_init: c.clean_init,
            clean: c.clean,
            max_inflight: c.max_inflight,
            receive_maximum: c.receive_maximum,
            session_expiry: c.has_session_expiry.then_some(c.session_expiry),
            maximum_packet_size: c.maximum_packet_size,
            topic_alias_maximum: c.topic_alias_maximum,
        })
    }
}

/// Fill `*out` with the default configuration.
///
/// # Safety
/// `out` points to writable memory for a `mqttas_config`.
#[no_mangle]
pub unsafe extern "C" fn mqttas_config_default(out: *mut mqttas_config) -> mqttas_result {
    // SAFETY: forwarded from the caller.
    match unsafe { args::out(out) } {
        Ok(o) => {
            o.put(mqttas_config::from(&Config::default()));
            MQTTAS_OK
        }
        Err(e) => e,
    }
}

/// What CONNECT carries besides the configuration. A zero-initialised
/// struct (`mqttas_connect_options o = {0};`) is valid: empty client id, no
/// user name, no password, no will, no properties.
///
/// Strings are UTF-8 with an explicit length, not NUL-terminated. Everything
/// is copied during `mqttas_connect`: nothing here needs to outlive the
/// call.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_connect_options {
    /// Client identifier; may be NULL or empty (a 5.0 broker assigns one, a
    /// 3.1.1 broker accepts it with a clean session).
    pub client_id: *const c_char,
    /// Bytes at `client_id`.
    pub client_id_len: usize,
    /// User name, NULL for none.
    pub username: *const c_char,
    /// Bytes at `username`.
    pub username_len: usize,
    /// Password, NULL for none.
    pub password: *const u8,
    /// Bytes at `password`.
    pub password_len: usize,
    /// Will topic; NULL for no will (then the other will fields are
    /// ignored).
    pub will_topic: *const c_char,
    /// Bytes at `will_topic`.
    pub will_topic_len: usize,
    /// Will payload (may be NULL when `will_payload_len` is 0).
    pub will_payload: *const u8,
    /// Bytes at `will_payload`.
    pub will_payload_len: usize,
    /// Will QoS, 0 to 2.
    pub will_qos: u8,
    /// Will retain flag.
    pub will_retain: bool,
    /// Will properties (5.0), at most `MQTTAS_MAX_PROPERTIES`.
    pub will_properties: *const mqttas_property,
    /// Entries at `will_properties`.
    pub will_properties_len: usize,
    /// Extra CONNECT properties (5.0: user properties, authentication
    /// method and data, ...), at most `MQTTAS_MAX_PROPERTIES`. The session
    /// adds the ones the configuration gives.
    pub properties: *const mqttas_property,
    /// Entries at `properties`.
    pub properties_len: usize,
}

/// The strings of connect options, checked.
pub(crate) struct ConnectStrings<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) username: Option<&'a str>,
    pub(crate) password: Option<&'a [u8]>,
    pub(crate) will_topic: Option<&'a str>,
    pub(crate) will_payload: &'a [u8],
}

impl mqttas_connect_options {
    /// Check and borrow the string fields.
    ///
    /// # Safety
    /// Every non-NULL pointer is valid for its length during `'a`.
    pub(crate) unsafe fn strings<'a>(&self) -> Result<ConnectStrings<'a>, mqttas_result> {
        // SAFETY: every non-NULL pointer (here and in the four below) is
        // valid for its length, as the caller promised.
        let client_id = unsafe { args::text(self.client_id, self.client_id_len) }?;
        // SAFETY: as above.
        let username = unsafe { args::opt_text(self.username, self.username_len) }?;
        // SAFETY: as above.
        let password = unsafe { args::opt_bytes(self.password, self.password_len) }?;
        // SAFETY: as above.
        let will_topic = unsafe { args::opt_text(self.will_topic, self.will_topic_len) }?;
        // SAFETY: as above.
        let will_payload = unsafe { args::array(self.will_payload, self.will_payload_len) }?;
        Ok(ConnectStrings {
            client_id,
            username,
            password,
            will_topic,
            will_payload,
        })
    }
}
