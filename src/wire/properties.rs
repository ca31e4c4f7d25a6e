//! MQTT 5.0 properties.
//!
//! Decoded properties stay as the validated wire bytes ([`Properties::Raw`]) and
//! are read with an iterator; properties to send are a slice of [`Property`]
//! values ([`Properties::List`]). Both compare equal when they hold the same
//! properties in the same order.

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
}

impl<'a> Iterator for PropertyIter<'a> {
    type Item = Property<'a>;
    fn next(&mut self) -> Option<Property<'a>> {
        todo!()
    }
}

impl PartialEq for Properties<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}
impl Eq for Properties<'_> {}
