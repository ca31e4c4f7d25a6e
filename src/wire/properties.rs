//! MQTT 5.0 properties.
//!
//! Decoded properties stay as the validated wire bytes ([`Properties::Raw`]) and
//! are read with an iterator; properties to send are a slice of [`Property`]
//! values ([`Properties::List`]). Both compare equal when they hold the same
//! properties in the same order.
//!
//! One table (section 2.2.2.2 of the 5.0 spec) gives each identifier its
//! kind and the packets that may carry it; decoding and encoding share it and
//! the value checks, so what one accepts the other produces. Any binding
//! (the C API, a driver, a script) builds a property from its identifier and
//! a [`PropertyValue`] with [`Property::new`] and reads it back with
//! [`Property::value`], [`PropertyKind::of`] saying which value an
//! identifier takes.

use super::rw::{Reader, Writer};
use super::{check_topic_name, DecodeError, EncodeError, Version, MAX_VARINT};

/// One MQTT 5.0 property (section 2.2.2.2 of the 5.0 spec).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)] // each variant is the spec's property of the same name
pub enum Property<'a> {
    PayloadFormatIndicator(u8),
    MessageExpiryInterval(u32),
    ContentType(&'a str),
    ResponseTopic(&'a str),
    CorrelationData(&'a [u8]),
    SubscriptionIdentifier(u32),
    SessionExpiryInterval(u32),
    AssignedClientIdentifier(&'a str),
    ServerKeepAlive(u16),
    AuthenticationMethod(&'a str),
    AuthenticationData(&'a [u8]),
    RequestProblemInformation(u8),
    WillDelayInterval(u32),
    RequestResponseInformation(u8),
    ResponseInformation(&'a str),
    ServerReference(&'a str),
    ReasonString(&'a str),
    ReceiveMaximum(u16),
    TopicAliasMaximum(u16),
    TopicAlias(u16),
    MaximumQoS(u8),
    RetainAvailable(u8),
    UserProperty(&'a str, &'a str),
    MaximumPacketSize(u32),
    WildcardSubscriptionAvailable(u8),
    SubscriptionIdentifierAvailable(u8),
    SharedSubscriptionAvailable(u8),
}

/// The properties of one packet.
#[derive(Clone, Copy, Debug)]
pub enum Properties<'a> {
    /// Validated wire bytes, without the leading property length.
    Raw(&'a [u8]),
    /// Properties given by the application, to be encoded.
    List(&'a [Property<'a>]),
}

impl Default for Properties<'_> {
    fn default() -> Self {
        Properties::Raw(&[])
    }
}

/// Iterator over [`Properties`].
#[derive(Clone, Debug)]
pub struct PropertyIter<'a> {
    inner: Properties<'a>,
}

/// How a property's value is carried on the wire (5.0 spec, 1.5 and
/// 2.2.2.2): each identifier has one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PropertyKind {
    /// A byte (every byte property is a 0/1 flag).
    Byte,
    /// A two byte integer.
    TwoByteInteger,
    /// A four byte integer.
    FourByteInteger,
    /// A variable byte integer (at most 268,435,455).
    VariableByteInteger,
    /// A UTF-8 string.
    String,
    /// Binary data.
    Binary,
    /// A UTF-8 string pair: a user property's name and value.
    StringPair,
}

/// A property's value by shape, whatever the property: what a binding (the
/// C API, a driver, a script) builds a property from with
/// [`Property::new`] and reads it as with [`Property::value`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PropertyValue<'a> {
    /// The value of an integer property, whatever its width.
    Integer(u32),
    /// The value of a string property.
    String(&'a str),
    /// The value of a binary data property.
    Binary(&'a [u8]),
    /// A user property's name and value.
    StringPair(&'a str, &'a str),
}

impl PropertyKind {
    /// The kind of property `id`, `None` when MQTT 5.0 defines no property
    /// with that identifier.
    pub fn of(id: u8) -> Option<PropertyKind> {
        rule(id).map(|(kind, _)| kind)
    }
}

// ---- the table ----

// Short names for the table.
use PropertyKind::{
    Binary as BIN, Byte as BYTE, FourByteInteger as U32, String as STR, StringPair as PAIR,
    TwoByteInteger as U16, VariableByteInteger as VARINT,
};

/// Context of the will properties in CONNECT; other contexts are the packet
/// type numbers, so a context is a bit index in the masks below.
pub(crate) const WILL: u8 = 0;

const fn bit(n: u8) -> u16 {
    1 << n
}
const PUBLISH_CTX: u8 = 3;
const W: u16 = bit(WILL);
const CONNECT: u16 = bit(1);
const CONNACK: u16 = bit(2);
const PUBLISH: u16 = bit(PUBLISH_CTX);
const ACKS: u16 = bit(4) | bit(5) | bit(6) | bit(7);
const SUBSCRIBE: u16 = bit(8);
const SUBACK: u16 = bit(9);
const UNSUBSCRIBE: u16 = bit(10);
const UNSUBACK: u16 = bit(11);
const DISCONNECT: u16 = bit(14);
const AUTH: u16 = bit(15);

/// Property identifiers.
const PAYLOAD_FORMAT: u8 = 0x01;
const RESPONSE_TOPIC: u8 = 0x08;
const SUBSCRIPTION_ID: u8 = 0x0B;
const AUTH_METHOD: u8 = 0x15;
const AUTH_DATA: u8 = 0x16;
const RECEIVE_MAXIMUM: u8 = 0x21;
const TOPIC_ALIAS: u8 = 0x23;
const USER_PROPERTY: u8 = 0x26;
const MAXIMUM_PACKET_SIZE: u8 = 0x27;

/// Indexed by identifier: the kind and the packets that may carry it;
/// `None` for an unknown identifier.
const TABLE: [Option<(PropertyKind, u16)>; 0x2B] = {
    let mut t: [Option<(PropertyKind, u16)>; 0x2B] = [None; 0x2B];
    t[0x01] = Some((BYTE, PUBLISH | W));
    t[0x02] = Some((U32, PUBLISH | W));
    t[0x03] = Some((STR, PUBLISH | W));
    t[0x08] = Some((STR, PUBLISH | W));
    t[0x09] = Some((BIN, PUBLISH | W));
    t[0x0B] = Some((VARINT, PUBLISH | SUBSCRIBE));
    t[0x11] = Some((U32, CONNECT | CONNACK | DISCONNECT));
    t[0x12] = Some((STR, CONNACK));
    t[0x13] = Some((U16, CONNACK));
    t[0x15] = Some((STR, CONNECT | CONNACK | AUTH));
    t[0x16] = Some((BIN, CONNECT | CONNACK | AUTH));
    t[0x17] = Some((BYTE, CONNECT));
    t[0x18] = Some((U32, W));
    t[0x19] = Some((BYTE, CONNECT));
    t[0x1A] = Some((STR, CONNACK));
    t[0x1C] = Some((STR, CONNACK | DISCONNECT));
    t[0x1F] = Some((STR, CONNACK | ACKS | SUBACK | UNSUBACK | DISCONNECT | AUTH));
    t[0x21] = Some((U16, CONNECT | CONNACK));
    t[0x22] = Some((U16, CONNECT | CONNACK));
    t[0x23] = Some((U16, PUBLISH));
    t[0x24] = Some((BYTE, CONNACK));
    t[0x25] = Some((BYTE, CONNACK));
    t[0x26] = Some((
        PAIR,
        W | CONNECT
            | CONNACK
            | PUBLISH
            | ACKS
            | SUBSCRIBE
            | SUBACK
            | UNSUBSCRIBE
            | UNSUBACK
            | DISCONNECT
            | AUTH,
    ));
    t[0x27] = Some((U32, CONNECT | CONNACK));
    t[0x28] = Some((BYTE, CONNACK));
    t[0x29] = Some((BYTE, CONNACK));
    t[0x2A] = Some((BYTE, CONNACK));
    t
};

fn rule(id: u8) -> Option<(PropertyKind, u16)> {
    TABLE.get(usize::from(id)).copied().flatten()
}

impl<'a> Property<'a> {
    /// The property identifier.
    pub fn id(&self) -> u8 {
        self.split().0
    }

    /// The identifier and the value by wire shape (two small matches: a
    /// table of identifiers and six value shapes, not 27 of both).
    fn split(&self) -> (u8, PropertyValue<'a>) {
        use Property::*;
        let id = match *self {
            PayloadFormatIndicator(_) => 0x01,
            MessageExpiryInterval(_) => 0x02,
            ContentType(_) => 0x03,
            ResponseTopic(_) => 0x08,
            CorrelationData(_) => 0x09,
            SubscriptionIdentifier(_) => 0x0B,
            SessionExpiryInterval(_) => 0x11,
            AssignedClientIdentifier(_) => 0x12,
            ServerKeepAlive(_) => 0x13,
            AuthenticationMethod(_) => 0x15,
            AuthenticationData(_) => 0x16,
            RequestProblemInformation(_) => 0x17,
            WillDelayInterval(_) => 0x18,
            RequestResponseInformation(_) => 0x19,
            ResponseInformation(_) => 0x1A,
            ServerReference(_) => 0x1C,
            ReasonString(_) => 0x1F,
            ReceiveMaximum(_) => 0x21,
            TopicAliasMaximum(_) => 0x22,
            TopicAlias(_) => 0x23,
            MaximumQoS(_) => 0x24,
            RetainAvailable(_) => 0x25,
            UserProperty(..) => 0x26,
            MaximumPacketSize(_) => 0x27,
            WildcardSubscriptionAvailable(_) => 0x28,
            SubscriptionIdentifierAvailable(_) => 0x29,
            SharedSubscriptionAvailable(_) => 0x2A,
        };
        let v = match *self {
            PayloadFormatIndicator(v)
            | RequestProblemInformation(v)
            | RequestResponseInformation(v)
            | MaximumQoS(v)
            | RetainAvailable(v)
            | WildcardSubscriptionAvailable(v)
            | SubscriptionIdentifierAvailable(v)
            | SharedSubscriptionAvailable(v) => PropertyValue::Integer(v.into()),
            ServerKeepAlive(v) | ReceiveMaximum(v) | TopicAliasMaximum(v) | TopicAlias(v) => {
                PropertyValue::Integer(v.into())
            }
            MessageExpiryInterval(v)
            | SubscriptionIdentifier(v)
            | SessionExpiryInterval(v)
            | WillDelayInterval(v)
            | MaximumPacketSize(v) => PropertyValue::Integer(v),
            ContentType(s)
            | ResponseTopic(s)
            | AssignedClientIdentifier(s)
            | AuthenticationMethod(s)
            | ResponseInformation(s)
            | ServerReference(s)
            | ReasonString(s) => PropertyValue::String(s),
            CorrelationData(b) | AuthenticationData(b) => PropertyValue::Binary(b),
            UserProperty(k, v) => PropertyValue::StringPair(k, v),
        };
        (id, v)
    }

    /// The property for an identifier and a value of its wire type (the
    /// casts cannot truncate: the value was read with that type's width).
    /// Matched by value shape first: four small tables rather than one
    /// test of both per property.
    fn join(id: u8, v: PropertyValue<'a>) -> Option<Self> {
        use Property::*;
        Some(match v {
            PropertyValue::Integer(v) => match id {
                0x01 => PayloadFormatIndicator(v as u8),
                0x02 => MessageExpiryInterval(v),
                0x0B => SubscriptionIdentifier(v),
                0x11 => SessionExpiryInterval(v),
                0x13 => ServerKeepAlive(v as u16),
                0x17 => RequestProblemInformation(v as u8),
                0x18 => WillDelayInterval(v),
                0x19 => RequestResponseInformation(v as u8),
                0x21 => ReceiveMaximum(v as u16),
                0x22 => TopicAliasMaximum(v as u16),
                0x23 => TopicAlias(v as u16),
                0x24 => MaximumQoS(v as u8),
                0x25 => RetainAvailable(v as u8),
                0x27 => MaximumPacketSize(v),
                0x28 => WildcardSubscriptionAvailable(v as u8),
                0x29 => SubscriptionIdentifierAvailable(v as u8),
                0x2A => SharedSubscriptionAvailable(v as u8),
                _ => return None,
            },
            PropertyValue::String(s) => match id {
                0x03 => ContentType(s),
                0x08 => ResponseTopic(s),
                0x12 => AssignedClientIdentifier(s),
                0x15 => AuthenticationMethod(s),
                0x1A => ResponseInformation(s),
                0x1C => ServerReference(s),
                0x1F => ReasonString(s),
                _ => return None,
            },
            PropertyValue::Binary(b) => match id {
                0x09 => CorrelationData(b),
                0x16 => AuthenticationData(b),
                _ => return None,
            },
            PropertyValue::StringPair(k, v) if id == 0x26 => UserProperty(k, v),
            PropertyValue::StringPair(..) => return None,
        })
    }
}

impl<'a> Property<'a> {
    /// The property with identifier `id` and `value`: the one way to build
    /// a property from numbers and bytes (the C API, a binding, a
    /// configuration). `None` when MQTT 5.0 defines no property `id`,
    /// when `value` is not of its kind ([`PropertyKind::of`]: an integer
    /// for an integer property, and so on), or when an integer is wider
    /// than a byte or two byte integer property carries (above 255 or
    /// 65535). The value's range (a receive maximum of 0, a subscription
    /// identifier above 268,435,455) is checked with the packet's other
    /// rules on encoding.
    pub fn new(id: u8, value: PropertyValue<'a>) -> Option<Self> {
        let wide = match (PropertyKind::of(id)?, value) {
            (PropertyKind::Byte, PropertyValue::Integer(n)) => n > u8::MAX.into(),
            (PropertyKind::TwoByteInteger, PropertyValue::Integer(n)) => n > u16::MAX.into(),
            _ => false,
        };
        if wide {
            return None;
        }
        Self::join(id, value)
    }

    /// The value, by shape ([`Property::new`] in reverse).
    pub fn value(&self) -> PropertyValue<'a> {
        self.split().1
    }

    /// The kind of value the property carries.
    pub fn kind(&self) -> PropertyKind {
        // Every variant has an identifier in the table.
        PropertyKind::of(self.id()).unwrap_or(PropertyKind::String)
    }
}

/// Read one property: identifier and value.
fn read<'a>(r: &mut Reader<'a>) -> Result<(u8, PropertyValue<'a>), DecodeError> {
    // Identifiers are variable byte integers, but every known one is below
    // 0x80: a first byte with the high bit set is unknown either way.
    let id = r.u8()?;
    let (kind, _) = rule(id).ok_or(DecodeError::InvalidPropertyId(id))?;
    Ok((
        id,
        match kind {
            BYTE => PropertyValue::Integer(r.u8()?.into()),
            U16 => PropertyValue::Integer(r.u16()?.into()),
            U32 => PropertyValue::Integer(r.u32()?),
            VARINT => PropertyValue::Integer(r.varint()?),
            STR => PropertyValue::String(r.str()?),
            BIN => PropertyValue::Binary(r.bin()?),
            _ => PropertyValue::StringPair(r.str()?, r.str()?),
        },
    ))
}

/// Write one property: identifier and value.
fn write(w: &mut Writer<'_>, id: u8, v: PropertyValue<'_>) -> Result<(), EncodeError> {
    w.u8(id);
    let kind = rule(id).map_or(U32, |(k, _)| k);
    match v {
        PropertyValue::Integer(n) => match kind {
            BYTE => w.u8(n as u8),
            U16 => w.u16(n as u16),
            VARINT => w.varint(n as usize)?,
            _ => w.u32(n),
        },
        PropertyValue::String(s) => w.str(s)?,
        PropertyValue::Binary(b) => w.bin(b)?,
        PropertyValue::StringPair(k, v) => {
            w.str(k)?;
            w.str(v)?;
        }
    }
    Ok(())
}

/// The per-packet rules on a property list: allowed identifiers, values in
/// range, no duplicates, authentication data only with a method.
struct Checker {
    ctx: u8,
    seen: u64,
}

impl Checker {
    fn new(ctx: u8) -> Self {
        Checker { ctx, seen: 0 }
    }

    fn add(&mut self, id: u8, v: PropertyValue<'_>) -> Result<(), DecodeError> {
        let (kind, mask) = rule(id).ok_or(DecodeError::InvalidPropertyId(id))?;
        if mask & bit(self.ctx) == 0 {
            return Err(DecodeError::PropertyNotAllowed(id));
        }
        let b = 1u64 << id;
        // User properties may repeat anywhere; subscription identifiers only
        // in PUBLISH (one per matching subscription).
        let repeatable = id == USER_PROPERTY || (id == SUBSCRIPTION_ID && self.ctx == PUBLISH_CTX);
        if self.seen & b != 0 && !repeatable {
            return Err(DecodeError::DuplicateProperty(id));
        }
        self.seen |= b;
        let ok = match v {
            // Every byte-valued property is a 0/1 flag, maximum QoS included.
            PropertyValue::Integer(n) if kind == BYTE => n <= 1,
            PropertyValue::Integer(n)
                if matches!(
                    id,
                    SUBSCRIPTION_ID | RECEIVE_MAXIMUM | TOPIC_ALIAS | MAXIMUM_PACKET_SIZE
                ) =>
            {
                if n == 0 && id == TOPIC_ALIAS {
                    return Err(DecodeError::InvalidTopicAlias);
                }
                n != 0 && (id != SUBSCRIPTION_ID || n <= MAX_VARINT)
            }
            PropertyValue::String(s) if id == RESPONSE_TOPIC => check_topic_name(s).is_ok(),
            _ => true,
        };
        if ok {
            Ok(())
        } else {
            Err(DecodeError::InvalidPropertyValue(id))
        }
    }

    fn finish(&self) -> Result<(), DecodeError> {
        if self.seen & (1 << AUTH_DATA) != 0 && self.seen & (1 << AUTH_METHOD) == 0 {
            return Err(DecodeError::PropertyNotAllowed(AUTH_DATA));
        }
        Ok(())
    }
}

/// Check a property list (without its length) for a packet context.
fn check_raw(raw: &[u8], ctx: u8) -> Result<(), DecodeError> {
    let mut r = Reader::new(raw);
    let mut c = Checker::new(ctx);
    while !r.is_empty() {
        let (id, v) = read(&mut r)?;
        c.add(id, v)?;
    }
    c.finish()
}

/// Read a property length and the properties it covers, checked for `ctx`.
pub(crate) fn read_props<'a>(r: &mut Reader<'a>, ctx: u8) -> Result<Properties<'a>, DecodeError> {
    let n = r.varint()?;
    let raw = r.take(usize::try_from(n).map_err(|_| DecodeError::Truncated)?)?;
    check_raw(raw, ctx)?;
    Ok(Properties::Raw(raw))
}

fn write_list(w: &mut Writer<'_>, props: &Properties<'_>, ctx: u8) -> Result<(), EncodeError> {
    match *props {
        Properties::Raw(raw) => {
            check_raw(raw, ctx).map_err(|e| {
                EncodeError::InvalidProperty(match e {
                    DecodeError::InvalidPropertyId(id)
                    | DecodeError::PropertyNotAllowed(id)
                    | DecodeError::DuplicateProperty(id)
                    | DecodeError::InvalidPropertyValue(id) => id,
                    DecodeError::InvalidTopicAlias => TOPIC_ALIAS,
                    _ => 0,
                })
            })?;
            w.bytes(raw);
        }
        Properties::List(list) => {
            let mut c = Checker::new(ctx);
            for p in list {
                let (id, v) = p.split();
                c.add(id, v).map_err(|_| EncodeError::InvalidProperty(id))?;
                write(w, id, v)?;
            }
            c.finish()
                .map_err(|_| EncodeError::InvalidProperty(AUTH_DATA))?;
        }
    }
    Ok(())
}

/// Write the property length and the properties for `ctx`; in 3.1.1 write
/// nothing, and refuse properties that 3.1.1 cannot carry.
pub(crate) fn write_props(
    w: &mut Writer<'_>,
    props: &Properties<'_>,
    ctx: u8,
    version: Version,
) -> Result<(), EncodeError> {
    if !version.is_v5() {
        return if props.is_empty() {
            Ok(())
        } else {
            Err(EncodeError::NotInVersion)
        };
    }
    let mut count = Writer::counter();
    write_list(&mut count, props, ctx)?;
    w.varint(count.pos)?;
    write_list(w, props, ctx)
}

impl<'a> Properties<'a> {
    /// Iterate over the properties in order.
    pub fn iter(&self) -> PropertyIter<'a> {
        PropertyIter { inner: *self }
    }

    /// True when there is no property.
    pub fn is_empty(&self) -> bool {
        match self {
            Properties::Raw(b) => b.is_empty(),
            Properties::List(l) => l.is_empty(),
        }
    }

    /// Bytes the properties take on the wire, without the property length
    /// in front of them.
    pub fn encoded_len(&self) -> usize {
        match *self {
            Properties::Raw(raw) => raw.len(),
            Properties::List(list) => {
                let mut w = Writer::counter();
                for p in list {
                    let (id, v) = p.split();
                    // A string too long stops the count early; encoding
                    // reports it.
                    let _ = write(&mut w, id, v);
                }
                w.pos
            }
        }
    }

    /// The first property with identifier `id`.
    pub fn get(&self, id: u8) -> Option<Property<'a>> {
        self.iter().find(|p| p.id() == id)
    }

    /// Every subscription identifier (a PUBLISH carries one per matching
    /// subscription).
    pub fn subscription_identifiers(&self) -> impl Iterator<Item = u32> + 'a {
        self.iter().filter_map(|p| match p {
            Property::SubscriptionIdentifier(v) => Some(v),
            _ => None,
        })
    }

    /// Every user property as (name, value), in order.
    pub fn user_properties(&self) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.iter().filter_map(|p| match p {
            Property::UserProperty(k, v) => Some((k, v)),
            _ => None,
        })
    }

    /// Payload format indicator: true when the payload is UTF-8 text.
    pub fn payload_is_utf8(&self) -> bool {
        matches!(
            self.get(PAYLOAD_FORMAT),
            Some(Property::PayloadFormatIndicator(1))
        )
    }
}

/// Typed getters: each returns the value of the first property of its kind.
macro_rules! getters {
    ($($(#[$doc:meta])* $name:ident: $variant:ident($id:expr) -> $ty:ty;)*) => {
        impl<'a> Properties<'a> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Option<$ty> {
                    match self.get($id) {
                        Some(Property::$variant(v)) => Some(v.into()),
                        _ => None,
                    }
                }
            )*
        }
    };
}

getters! {
    /// Message expiry interval in seconds.
    message_expiry_interval: MessageExpiryInterval(0x02) -> u32;
    /// Content type.
    content_type: ContentType(0x03) -> &'a str;
    /// Response topic.
    response_topic: ResponseTopic(0x08) -> &'a str;
    /// Correlation data.
    correlation_data: CorrelationData(0x09) -> &'a [u8];
    /// Session expiry interval in seconds.
    session_expiry_interval: SessionExpiryInterval(0x11) -> u32;
    /// Client identifier assigned by the server.
    assigned_client_identifier: AssignedClientIdentifier(0x12) -> &'a str;
    /// Keep alive the server wants, in seconds.
    server_keep_alive: ServerKeepAlive(0x13) -> u16;
    /// Authentication method.
    authentication_method: AuthenticationMethod(0x15) -> &'a str;
    /// Authentication data.
    authentication_data: AuthenticationData(0x16) -> &'a [u8];
    /// Will delay interval in seconds.
    will_delay_interval: WillDelayInterval(0x18) -> u32;
    /// Response information.
    response_information: ResponseInformation(0x1A) -> &'a str;
    /// Another server to use.
    server_reference: ServerReference(0x1C) -> &'a str;
    /// Human-readable reason.
    reason_string: ReasonString(0x1F) -> &'a str;
    /// Receive maximum (never 0 once decoded).
    receive_maximum: ReceiveMaximum(0x21) -> u16;
    /// Topic alias maximum.
    topic_alias_maximum: TopicAliasMaximum(0x22) -> u16;
    /// Topic alias (never 0 once decoded).
    topic_alias: TopicAlias(0x23) -> u16;
    /// Maximum QoS the server accepts (0 or 1; absent means 2).
    maximum_qos: MaximumQoS(0x24) -> u8;
    /// Maximum packet size (never 0 once decoded).
    maximum_packet_size: MaximumPacketSize(0x27) -> u32;
}

/// Availability flags: `Some(true)` when the property says 1.
macro_rules! flags {
    ($($(#[$doc:meta])* $name:ident: $variant:ident($id:expr);)*) => {
        impl Properties<'_> {
            $(
                $(#[$doc])*
                pub fn $name(&self) -> Option<bool> {
                    match self.get($id) {
                        Some(Property::$variant(v)) => Some(v == 1),
                        _ => None,
                    }
                }
            )*
        }
    };
}

flags! {
    /// Whether the server supports retained messages.
    retain_available: RetainAvailable(0x25);
    /// Whether the server supports wildcard subscriptions.
    wildcard_subscription_available: WildcardSubscriptionAvailable(0x28);
    /// Whether the server supports subscription identifiers.
    subscription_identifier_available: SubscriptionIdentifierAvailable(0x29);
    /// Whether the server supports shared subscriptions.
    shared_subscription_available: SharedSubscriptionAvailable(0x2A);
}

impl<'a> Iterator for PropertyIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        match &mut self.inner {
            Properties::List(list) => {
                let (first, rest) = list.split_first()?;
                *list = rest;
                Some(*first)
            }
            Properties::Raw(raw) => {
                let mut r = Reader::new(raw);
                // Raw bytes were validated when decoded; bytes built by hand
                // that do not parse simply end the iteration.
                let p = read(&mut r).ok().and_then(|(id, v)| Property::join(id, v));
                *raw = if p.is_some() { r.buf } else { &[] };
                p
            }
        }
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Properties<'_> {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_join_roundtrip_for_every_known_id() {
        for id in 0u8..=0xff {
            let v = match rule(id).map(|r| r.0) {
                None => continue,
                Some(STR) => PropertyValue::String("x"),
                Some(BIN) => PropertyValue::Binary(b"y"),
                Some(PAIR) => PropertyValue::StringPair("k", "v"),
                Some(_) => PropertyValue::Integer(1),
            };
            let p = Property::join(id, v).unwrap();
            assert_eq!(p.id(), id);
        }
        assert_eq!(TABLE.iter().flatten().count(), 27);
    }

    #[test]
    fn new_builds_every_property_from_its_kind_and_value_reads_it_back() {
        let mut known = 0;
        for id in 0u8..=0xff {
            let Some(kind) = PropertyKind::of(id) else {
                assert_eq!(Property::new(id, PropertyValue::Integer(1)), None);
                assert_eq!(Property::new(id, PropertyValue::String("x")), None);
                continue;
            };
            known += 1;
            let v = match kind {
                PropertyKind::String => PropertyValue::String("x"),
                PropertyKind::Binary => PropertyValue::Binary(b"y"),
                PropertyKind::StringPair => PropertyValue::StringPair("k", "v"),
                _ => PropertyValue::Integer(1),
            };
            let p = Property::new(id, v).unwrap();
            assert_eq!((p.id(), p.kind(), p.value()), (id, kind, v));
            // A value of another kind is refused.
            let other = match v {
                PropertyValue::Integer(_) => PropertyValue::Binary(b"1"),
                _ => PropertyValue::Integer(1),
            };
            assert_eq!(Property::new(id, other), None);
            // Integers up to the width of a byte or two bytes, no wider.
            let max = match kind {
                BYTE => u8::MAX.into(),
                U16 => u16::MAX.into(),
                _ => u32::MAX,
            };
            if matches!(v, PropertyValue::Integer(_)) {
                assert!(Property::new(id, PropertyValue::Integer(max)).is_some());
                if let Some(over) = max.checked_add(1) {
                    assert_eq!(Property::new(id, PropertyValue::Integer(over)), None);
                }
            }
        }
        assert_eq!(known, 27);
        assert_eq!(PropertyKind::of(0x26), Some(PropertyKind::StringPair));
        assert_eq!(
            Property::new(0x23, PropertyValue::Integer(7)),
            Some(Property::TopicAlias(7))
        );
        assert_eq!(Property::new(0x24, PropertyValue::Integer(256)), None);
    }

    #[test]
    fn subscription_identifier_range() {
        let mut c = Checker::new(8);
        assert!(c
            .add(SUBSCRIPTION_ID, PropertyValue::Integer(MAX_VARINT + 1))
            .is_err());
        let mut c = Checker::new(8);
        assert!(c
            .add(SUBSCRIPTION_ID, PropertyValue::Integer(MAX_VARINT))
            .is_ok());
        let mut c = Checker::new(2);
        assert!(c
            .add(MAXIMUM_PACKET_SIZE, PropertyValue::Integer(u32::MAX))
            .is_ok());
    }
}
