//! MQTT 5.0 properties in C: one flat struct for every property type, used
//! both to send properties and to read the raw property bytes of events.

use core::ffi::c_char;
use core::ptr;

use heapless::Vec;

use super::args;
use super::mqttas_result::{self, *};
use crate::wire::{Properties, Property, PropertyKind, PropertyValue};

/// Most properties one call takes (connect takes this many for CONNECT and
/// again for the will).
pub const MQTTAS_MAX_PROPERTIES: usize = 16;

/// Payload format indicator (byte).
pub const MQTTAS_PROP_PAYLOAD_FORMAT_INDICATOR: u8 = 0x01;
/// Message expiry interval (four byte integer, seconds).
pub const MQTTAS_PROP_MESSAGE_EXPIRY_INTERVAL: u8 = 0x02;
/// Content type (string).
pub const MQTTAS_PROP_CONTENT_TYPE: u8 = 0x03;
/// Response topic (string).
pub const MQTTAS_PROP_RESPONSE_TOPIC: u8 = 0x08;
/// Correlation data (binary).
pub const MQTTAS_PROP_CORRELATION_DATA: u8 = 0x09;
/// Subscription identifier (variable byte integer).
pub const MQTTAS_PROP_SUBSCRIPTION_IDENTIFIER: u8 = 0x0B;
/// Session expiry interval (four byte integer, seconds).
pub const MQTTAS_PROP_SESSION_EXPIRY_INTERVAL: u8 = 0x11;
/// Assigned client identifier (string).
pub const MQTTAS_PROP_ASSIGNED_CLIENT_IDENTIFIER: u8 = 0x12;
/// Server keep alive (two byte integer, seconds).
pub const MQTTAS_PROP_SERVER_KEEP_ALIVE: u8 = 0x13;
/// Authentication method (string).
pub const MQTTAS_PROP_AUTHENTICATION_METHOD: u8 = 0x15;
/// Authentication data (binary).
pub const MQTTAS_PROP_AUTHENTICATION_DATA: u8 = 0x16;
/// Request problem information (byte).
pub const MQTTAS_PROP_REQUEST_PROBLEM_INFORMATION: u8 = 0x17;
/// Will delay interval (four byte integer, seconds).
pub const MQTTAS_PROP_WILL_DELAY_INTERVAL: u8 = 0x18;
/// Request response information (byte).
pub const MQTTAS_PROP_REQUEST_RESPONSE_INFORMATION: u8 = 0x19;
/// Response information (string).
pub const MQTTAS_PROP_RESPONSE_INFORMATION: u8 = 0x1A;
/// Server reference (string).
pub const MQTTAS_PROP_SERVER_REFERENCE: u8 = 0x1C;
/// Reason string (string).
pub const MQTTAS_PROP_REASON_STRING: u8 = 0x1F;
/// Receive maximum (two byte integer).
pub const MQTTAS_PROP_RECEIVE_MAXIMUM: u8 = 0x21;
/// Topic alias maximum (two byte integer).
pub const MQTTAS_PROP_TOPIC_ALIAS_MAXIMUM: u8 = 0x22;
/// Topic alias (two byte integer).
pub const MQTTAS_PROP_TOPIC_ALIAS: u8 = 0x23;
/// Maximum QoS (byte).
pub const MQTTAS_PROP_MAXIMUM_QOS: u8 = 0x24;
/// Retain available (byte).
pub const MQTTAS_PROP_RETAIN_AVAILABLE: u8 = 0x25;
/// User property (string pair: `data` is the name, `data2` the value).
pub const MQTTAS_PROP_USER_PROPERTY: u8 = 0x26;
/// Maximum packet size (four byte integer).
pub const MQTTAS_PROP_MAXIMUM_PACKET_SIZE: u8 = 0x27;
/// Wildcard subscription available (byte).
pub const MQTTAS_PROP_WILDCARD_SUBSCRIPTION_AVAILABLE: u8 = 0x28;
/// Subscription identifier available (byte).
pub const MQTTAS_PROP_SUBSCRIPTION_IDENTIFIER_AVAILABLE: u8 = 0x29;
/// Shared subscription available (byte).
pub const MQTTAS_PROP_SHARED_SUBSCRIPTION_AVAILABLE: u8 = 0x2A;

/// `mqttas_property.kind`: not a property (`id` 0).
pub const MQTTAS_PROPERTY_KIND_NONE: u8 = 0;
/// `mqttas_property.kind`: an integer in `value` (a byte, two byte, four
/// byte or variable byte integer property).
pub const MQTTAS_PROPERTY_KIND_INTEGER: u8 = 1;
/// `mqttas_property.kind`: a UTF-8 string in `data`/`data_len`.
pub const MQTTAS_PROPERTY_KIND_STRING: u8 = 2;
/// `mqttas_property.kind`: binary data in `data`/`data_len`.
pub const MQTTAS_PROPERTY_KIND_BINARY: u8 = 3;
/// `mqttas_property.kind`: a user property, its name in `data`/`data_len`
/// and its value in `data2`/`data2_len`.
pub const MQTTAS_PROPERTY_KIND_STRING_PAIR: u8 = 4;

/// One MQTT 5.0 property.
///
/// Which fields matter depends on `id` (one of the `MQTTAS_PROP_*`
/// values), and `kind` says which: integer properties use `value`; string
/// and binary properties use `data`/`data_len` (strings are UTF-8, not
/// NUL-terminated); a user property uses `data` for its name and `data2`
/// for its value. Unused fields are 0 / NULL.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct mqttas_property {
    /// Property identifier, `MQTTAS_PROP_*`; 0 when
    /// `mqttas_property_next` has no more.
    pub id: u8,
    /// Which fields hold the value, `MQTTAS_PROPERTY_KIND_*`: set by
    /// `mqttas_property_next` from the identifier, so that a reader needs
    /// no table of identifiers. Ignored in properties given to the library
    /// (the identifier decides; leave it 0).
    pub kind: u8,
    /// Value of a byte, two byte, four byte or variable byte integer property.
    pub value: u32,
    /// String or binary data; the name of a user property.
    pub data: *const u8,
    /// Bytes at `data`.
    pub data_len: usize,
    /// The value of a user property.
    pub data2: *const u8,
    /// Bytes at `data2`.
    pub data2_len: usize,
}

impl mqttas_property {
    const NONE: mqttas_property = mqttas_property {
        id: 0,
        kind: MQTTAS_PROPERTY_KIND_NONE,
        value: 0,
        data: ptr::null(),
        data_len: 0,
        data2: ptr::null(),
        data2_len: 0,
    };
}

/// The C form of a decoded property; its pointers borrow from `p`.
fn to_c(p: &Property<'_>) -> mqttas_property {
    let mut c = mqttas_property {
        id: p.id(),
        ..mqttas_property::NONE
    };
    let (kind, data, data2): (u8, &[u8], Option<&[u8]>) = match p.value() {
        PropertyValue::Integer(n) => {
            c.kind = MQTTAS_PROPERTY_KIND_INTEGER;
            c.value = n;
            return c;
        }
        PropertyValue::String(s) => (MQTTAS_PROPERTY_KIND_STRING, s.as_bytes(), None),
        PropertyValue::Binary(b) => (MQTTAS_PROPERTY_KIND_BINARY, b, None),
        PropertyValue::StringPair(k, v) => (
            MQTTAS_PROPERTY_KIND_STRING_PAIR,
            k.as_bytes(),
            Some(v.as_bytes()),
        ),
    };
    c.kind = kind;
    (c.data, c.data_len) = (data.as_ptr(), data.len());
    if let Some(v) = data2 {
        (c.data2, c.data2_len) = (v.as_ptr(), v.len());
    }
    c
}

/// The Rust form of a property given by C: the identifier's kind says
/// which fields to read.
///
/// # Safety
/// The pointers in `p` that its `id` uses are valid for their lengths for
/// `'a`.
unsafe fn from_c<'a>(p: &mqttas_property) -> Result<Property<'a>, mqttas_result> {
    let kind = PropertyKind::of(p.id).ok_or(MQTTAS_ERR_UNKNOWN_PROPERTY)?;
    let text = || {
        // SAFETY: the caller vouches for `data`/`data_len`.
        unsafe { args::text(p.data.cast::<c_char>(), p.data_len) }
    };
    let text2 = || {
        // SAFETY: the caller vouches for `data2`/`data2_len`.
        unsafe { args::text(p.data2.cast::<c_char>(), p.data2_len) }
    };
    let value = match kind {
        PropertyKind::String => PropertyValue::String(text()?),
        // SAFETY: as for `text`.
        PropertyKind::Binary => PropertyValue::Binary(unsafe { args::array(p.data, p.data_len) }?),
        PropertyKind::StringPair => PropertyValue::StringPair(text()?, text2()?),
        _ => PropertyValue::Integer(p.value),
    };
    // The kind is the identifier's: only an integer too wide is refused.
    Property::new(p.id, value).ok_or(MQTTAS_ERR_INVALID_ARGUMENT)
}

/// Properties given by C, converted into a list the session can encode.
///
/// # Safety
/// Unless NULL, `ptr` points to `len` properties whose pointers are valid
/// for `'a`.
pub(crate) unsafe fn list<'a>(
    ptr: *const mqttas_property,
    len: usize,
) -> Result<Vec<Property<'a>, MQTTAS_MAX_PROPERTIES>, mqttas_result> {
    // SAFETY: forwarded from the caller.
    let props = unsafe { args::array(ptr, len) }?;
    if !cfg!(feature = "v5") && !props.is_empty() {
        // Only 5.0 has properties; this build has no 5.0.
        return Err(MQTTAS_ERR_NOT_IN_VERSION);
    }
    if props.len() > MQTTAS_MAX_PROPERTIES {
        return Err(MQTTAS_ERR_TOO_MANY_ITEMS);
    }
    let mut out = Vec::new();
    for p in props {
        // SAFETY: forwarded from the caller.
        let p = unsafe { from_c(p) }?;
        out.push(p).map_err(|_| MQTTAS_ERR_TOO_MANY_ITEMS)?;
    }
    Ok(out)
}

/// The raw bytes of received properties, for an event. Properties that are
/// not raw wire bytes never reach an event; they read as none.
pub(crate) fn raw(p: &Properties<'_>) -> (*const u8, usize) {
    match p {
        Properties::Raw(b) => (b.as_ptr(), b.len()),
        Properties::List(_) => (ptr::null(), 0),
    }
}

/// Read the next property from raw 5.0 property bytes (the `properties`
/// and `properties_len` of an event).
///
/// `*cursor` starts at 0 and is advanced by each call; treat it as opaque.
/// On `MQTTAS_OK`, `*out` holds the next property, or has `id` 0 when there
/// are no more (also for bytes that are not a valid property list). The
/// pointers in `*out` point into `props` and are valid as long as `props`
/// is (for an event: until the next call that takes the client).
///
/// ```c
/// size_t cursor = 0;
/// mqttas_property p;
/// while (mqttas_property_next(ev.properties, ev.properties_len, &cursor, &p) == MQTTAS_OK
///        && p.id != 0) { ... }
/// ```
///
/// # Safety
/// `props` points to `props_len` readable bytes (or is NULL with 0);
/// `cursor` and `out` are valid pointers.
#[no_mangle]
pub unsafe extern "C" fn mqttas_property_next(
    props: *const u8,
    props_len: usize,
    cursor: *mut usize,
    out: *mut mqttas_property,
) -> mqttas_result {
    let run = || {
        // SAFETY: forwarded from the caller.
        let bytes = unsafe { args::array(props, props_len) }?;
        // SAFETY: NULL checked by `as_mut`; validity from the caller.
        let cursor = unsafe { cursor.as_mut() }.ok_or(MQTTAS_ERR_NULL_POINTER)?;
        // SAFETY: forwarded from the caller.
        let out = unsafe { args::out(out) }?;
        // The cursor counts properties already taken: property lists are a
        // handful of entries, and the count keeps the codec's iterator the
        // only parser of property bytes.
        // Without 5.0 no event carries properties.
        let next = if cfg!(feature = "v5") {
            Properties::Raw(bytes).iter().nth(*cursor)
        } else {
            None
        };
        match next {
            Some(p) => {
                out.put(to_c(&p));
                *cursor = cursor.saturating_add(1);
            }
            None => out.put(mqttas_property::NONE),
        }
        Ok(())
    };
    super::result::code(run())
}

#[cfg(test)]
#[allow(clippy::multiple_unsafe_ops_per_block)]
mod tests {
    use super::*;

    /// `from_c` on a property of the tests, whose pointers are to live
    /// locals.
    fn conv(p: &mqttas_property) -> Result<Property<'_>, mqttas_result> {
        // SAFETY: the tests' properties point to live locals.
        unsafe { from_c(p) }
    }

    #[test]
    fn c_properties_round_trip_and_are_checked() {
        let (name, value) = ("name", "value");
        let mut known = 0;
        for id in 0..=255u8 {
            let base = mqttas_property {
                id,
                ..mqttas_property::NONE
            };
            let int = mqttas_property { value: 1, ..base };
            let text = mqttas_property {
                data: name.as_ptr(),
                data_len: name.len(),
                ..base
            };
            let pair = mqttas_property {
                data2: value.as_ptr(),
                data2_len: value.len(),
                ..text
            };
            let p = match PropertyKind::of(id) {
                None => {
                    assert_eq!(conv(&int).err(), Some(MQTTAS_ERR_UNKNOWN_PROPERTY));
                    continue;
                }
                Some(PropertyKind::String | PropertyKind::Binary) => text,
                Some(PropertyKind::StringPair) => pair,
                Some(kind) => {
                    let too_big = match kind {
                        PropertyKind::Byte => Some(0x100),
                        PropertyKind::TwoByteInteger => Some(0x1_0000),
                        _ => None,
                    };
                    if let Some(v) = too_big {
                        let p = mqttas_property { value: v, ..int };
                        assert_eq!(conv(&p).err(), Some(MQTTAS_ERR_INVALID_ARGUMENT));
                        let p = mqttas_property {
                            value: v - 1,
                            ..int
                        };
                        assert!(conv(&p).is_ok());
                    } else {
                        let p = mqttas_property {
                            value: u32::MAX,
                            ..int
                        };
                        assert!(conv(&p).is_ok());
                    }
                    int
                }
            };
            known += 1;
            let back = to_c(&conv(&p).unwrap());
            assert_eq!(
                (
                    back.id,
                    back.value,
                    back.data,
                    back.data_len,
                    back.data2,
                    back.data2_len
                ),
                (p.id, p.value, p.data, p.data_len, p.data2, p.data2_len)
            );
            // The kind read back says which fields hold the value.
            let want = match PropertyKind::of(id) {
                Some(PropertyKind::String) => MQTTAS_PROPERTY_KIND_STRING,
                Some(PropertyKind::Binary) => MQTTAS_PROPERTY_KIND_BINARY,
                Some(PropertyKind::StringPair) => MQTTAS_PROPERTY_KIND_STRING_PAIR,
                _ => MQTTAS_PROPERTY_KIND_INTEGER,
            };
            assert_eq!(back.kind, want, "{id:#04x}");
            // The kind given is ignored: the identifier decides.
            let odd = mqttas_property { kind: 77, ..p };
            assert_eq!(to_c(&conv(&odd).unwrap()).kind, want);
        }
        assert_eq!(known, 27);
        let bad = [0xffu8];
        let p = mqttas_property {
            id: MQTTAS_PROP_CONTENT_TYPE,
            data: bad.as_ptr(),
            data_len: 1,
            ..mqttas_property::NONE
        };
        assert_eq!(conv(&p).err(), Some(MQTTAS_ERR_INVALID_UTF8));
    }
}
