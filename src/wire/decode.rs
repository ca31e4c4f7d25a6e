//! Decoding: one function per packet type over a [`Reader`] of the packet
//! body, each enforcing the malformed-packet rules of its section.

use super::packet::{
    Ack, Auth, ConnAck, Connect, Disconnect, FixedHeader, Packet, PacketType, Publish,
    PublishFlags, PublishHead, SubAck, SubOptions, Subscribe, Subscriptions, TopicFilters,
    Unsubscribe, Will,
};
use super::properties::{read_props, WILL};
use super::rw::{read_varint, Reader};
use super::{check_topic_filter, DecodeError, Properties, QoS, ReasonCode, Version};

type Result<T> = core::result::Result<T, DecodeError>;

pub(crate) fn fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>> {
    let Some((&first, rest)) = buf.split_first() else {
        return Ok(None);
    };
    let kind = PacketType::from_u8(first >> 4).ok_or(DecodeError::InvalidPacketType(first >> 4))?;
    let flags = first & 0x0f;
    let fixed = match kind {
        PacketType::Publish => flags,
        _ => kind.fixed_flags(),
    };
    if flags != fixed {
        return Err(DecodeError::InvalidFlags);
    }
    Ok(read_varint(rest)?.map(|(remaining_len, n)| FixedHeader {
        kind,
        flags,
        remaining_len,
        header_len: 1 + n,
    }))
}

/// One whole packet. `ALL`: every packet type; otherwise only those a
/// server sends, the others being [`DecodeError::UnexpectedPacket`] without
/// a look at their body (a client's decoder then carries no CONNECT,
/// SUBSCRIBE or UNSUBSCRIBE parser).
pub(crate) fn packet<const ALL: bool>(
    buf: &[u8],
    v: Version,
) -> Result<Option<(Packet<'_>, usize)>> {
    if v.unsupported() {
        return Err(DecodeError::UnsupportedProtocolLevel(5));
    }
    let Some(h) = fixed_header(buf)? else {
        return Ok(None);
    };
    // Reject what the fixed header already shows before the body arrives.
    if h.kind == PacketType::Auth && !v.is_v5() {
        return Err(DecodeError::InvalidPacketType(15));
    }
    if h.kind == PacketType::Publish {
        publish_flags(h.flags)?;
    }
    let total = usize::try_from(h.remaining_len)
        .ok()
        .and_then(|n| n.checked_add(h.header_len))
        .ok_or(DecodeError::PacketTooLarge)?;
    let Some(body) = buf.get(h.header_len..total) else {
        return Ok(None);
    };
    Ok(Some((whole_body::<ALL>(&h, body, v)?, total)))
}

/// A packet a server sends, from the fixed header `h` its caller has read
/// and checked already and its whole `body` (`h.remaining_len` bytes):
/// the session reads each header once, not once more here.
pub(crate) fn body_from_server<'a>(
    h: &FixedHeader,
    body: &'a [u8],
    v: Version,
) -> Result<Packet<'a>> {
    // Of `packet`'s early checks only AUTH's is left to make: the PUBLISH
    // decoder checks the flags again, and the session never runs in a
    // version the build lacks.
    if h.kind == PacketType::Auth && !v.is_v5() {
        return Err(DecodeError::InvalidPacketType(15));
    }
    whole_body::<false>(h, body, v)
}

fn whole_body<'a, const ALL: bool>(
    h: &FixedHeader,
    body: &'a [u8],
    v: Version,
) -> Result<Packet<'a>> {
    let mut r = Reader::new(body);
    let p = body_of::<ALL>(h, &mut r, v)?;
    r.end()?;
    Ok(p)
}

pub(crate) fn publish_head_partial<'a>(
    h: &FixedHeader,
    body: &'a [u8],
    v: Version,
) -> Result<Option<(PublishHead<'a>, usize)>> {
    if v.unsupported() {
        return Err(DecodeError::UnsupportedProtocolLevel(5));
    }
    if h.kind != PacketType::Publish {
        return Err(DecodeError::InvalidPacketType(h.kind as u8));
    }
    let rl = usize::try_from(h.remaining_len).map_err(|_| DecodeError::PacketTooLarge)?;
    let avail = body.get(..rl).unwrap_or(body);
    let mut r = Reader::new(avail);
    match publish_head(&mut r, h.flags, v) {
        Ok(mut head) => {
            let used = avail.len() - r.buf.len();
            // `used <= rl <= u32::MAX`: the subtraction cannot wrap.
            head.payload_len = h.remaining_len - used as u32;
            Ok(Some((head, used)))
        }
        // A field cut off by the end of what has arrived may yet complete.
        Err(DecodeError::Truncated) if avail.len() < rl => Ok(None),
        Err(e) => Err(e),
    }
}

fn body_of<'a, const ALL: bool>(
    h: &FixedHeader,
    r: &mut Reader<'a>,
    v: Version,
) -> Result<Packet<'a>> {
    if !ALL
        && matches!(
            h.kind,
            PacketType::Connect
                | PacketType::Subscribe
                | PacketType::Unsubscribe
                | PacketType::PingReq
        )
    {
        return Err(DecodeError::UnexpectedPacket(h.kind as u8));
    }
    Ok(match h.kind {
        PacketType::Connect => Packet::Connect(connect(r, v)?),
        PacketType::ConnAck => Packet::ConnAck(connack(r, v)?),
        PacketType::Publish => {
            let head = publish_head(r, h.flags, v)?;
            Packet::Publish(Publish {
                dup: head.dup,
                qos: head.qos,
                retain: head.retain,
                topic: head.topic,
                packet_id: head.packet_id,
                properties: head.properties,
                payload: r.rest(),
            })
        }
        kind @ (PacketType::PubAck
        | PacketType::PubRec
        | PacketType::PubRel
        | PacketType::PubComp) => {
            let a = ack(r, kind, v)?;
            match kind {
                PacketType::PubAck => Packet::PubAck(a),
                PacketType::PubRec => Packet::PubRec(a),
                PacketType::PubRel => Packet::PubRel(a),
                _ => Packet::PubComp(a),
            }
        }
        PacketType::Subscribe => Packet::Subscribe(subscribe(r, v)?),
        kind @ (PacketType::SubAck | PacketType::UnsubAck) => {
            let a = suback(r, kind, v)?;
            if kind == PacketType::SubAck {
                Packet::SubAck(a)
            } else {
                Packet::UnsubAck(a)
            }
        }
        PacketType::Unsubscribe => Packet::Unsubscribe(unsubscribe(r, v)?),
        PacketType::PingReq => Packet::PingReq,
        PacketType::PingResp => Packet::PingResp,
        PacketType::Disconnect => {
            let (reason, properties) = reason_props(r, PacketType::Disconnect, v)?;
            Packet::Disconnect(Disconnect { reason, properties })
        }
        PacketType::Auth => {
            let (reason, properties) = reason_props(r, PacketType::Auth, v)?;
            Packet::Auth(Auth { reason, properties })
        }
    })
}

/// CONNACK's body.
fn connack<'a>(r: &mut Reader<'a>, v: Version) -> Result<ConnAck<'a>> {
    let flags = r.u8()?;
    let code = ReasonCode(r.u8()?);
    if !code.allowed_in(PacketType::ConnAck, v) {
        return Err(DecodeError::InvalidReasonCode(code.0));
    }
    // Only bit 0 is defined, and a refusal never has a session.
    if flags & 0xfe != 0 || (flags == 1 && code.0 != 0) {
        return Err(DecodeError::InvalidConnAckFlags);
    }
    Ok(ConnAck {
        session_present: flags == 1,
        code,
        properties: props(r, 2, v)?,
    })
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (`kind`).
fn ack<'a>(r: &mut Reader<'a>, kind: PacketType, v: Version) -> Result<Ack<'a>> {
    let packet_id = r.packet_id()?;
    let (reason, properties) = reason_props(r, kind, v)?;
    Ok(Ack {
        packet_id,
        reason,
        properties,
    })
}

/// SUBSCRIBE's body.
fn subscribe<'a>(r: &mut Reader<'a>, v: Version) -> Result<Subscribe<'a>> {
    let packet_id = r.packet_id()?;
    let properties = props(r, 8, v)?;
    let list = r.rest();
    let mut l = Reader::new(list);
    if l.is_empty() {
        return Err(DecodeError::EmptyFilterList);
    }
    while !l.is_empty() {
        let filter = filter(&mut l)?;
        let b = l.u8()?;
        let reserved = if v.is_v5() { 0xc0 } else { 0xfc };
        match SubOptions::from_byte(b) {
            // No local on a shared subscription is a protocol error
            // (5.0 [MQTT-3.8.3-4]).
            Some(o) if b & reserved == 0 && !(o.no_local && filter.starts_with("$share/")) => {}
            _ => return Err(DecodeError::InvalidSubOptions),
        }
    }
    Ok(Subscribe {
        packet_id,
        properties,
        subscriptions: Subscriptions::Raw(list),
    })
}

/// SUBACK or UNSUBACK (`kind`).
fn suback<'a>(r: &mut Reader<'a>, kind: PacketType, v: Version) -> Result<SubAck<'a>> {
    let packet_id = r.packet_id()?;
    let properties = props(r, kind as u8, v)?;
    // A 3.1.1 UNSUBACK has no payload; every other has one code per filter.
    let v311_unsuback = kind == PacketType::UnsubAck && !v.is_v5();
    let codes = if v311_unsuback { &[][..] } else { r.rest() };
    if codes.is_empty() && !v311_unsuback {
        return Err(DecodeError::Truncated);
    }
    if let Some(&c) = codes.iter().find(|&&c| !ReasonCode(c).allowed_in(kind, v)) {
        return Err(DecodeError::InvalidReasonCode(c));
    }
    Ok(SubAck {
        packet_id,
        properties,
        codes,
    })
}

/// UNSUBSCRIBE's body.
fn unsubscribe<'a>(r: &mut Reader<'a>, v: Version) -> Result<Unsubscribe<'a>> {
    let packet_id = r.packet_id()?;
    let properties = props(r, 10, v)?;
    let list = r.rest();
    let mut l = Reader::new(list);
    if l.is_empty() {
        return Err(DecodeError::EmptyFilterList);
    }
    while !l.is_empty() {
        filter(&mut l)?;
    }
    Ok(Unsubscribe {
        packet_id,
        properties,
        filters: TopicFilters::Raw(list),
    })
}

/// DUP, QoS and RETAIN of a PUBLISH.
fn publish_flags(flags: u8) -> Result<(bool, QoS, bool)> {
    let f = PublishFlags(flags);
    let qos = f.qos().ok_or(DecodeError::InvalidQoS)?;
    if f.dup() && qos == QoS::AtMostOnce {
        return Err(DecodeError::DupOnQos0);
    }
    Ok((f.dup(), qos, f.retain()))
}

fn publish_head<'a>(r: &mut Reader<'a>, flags: u8, v: Version) -> Result<PublishHead<'a>> {
    let (dup, qos, retain) = publish_flags(flags)?;
    let topic = r.str()?;
    if topic.bytes().any(|b| b == b'+' || b == b'#') {
        return Err(DecodeError::InvalidTopic);
    }
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(r.packet_id()?)
    };
    let properties = props(r, 3, v)?;
    // An empty topic stands for the one a 5.0 topic alias maps to.
    if topic.is_empty() && !(v.is_v5() && properties.topic_alias().is_some()) {
        return Err(DecodeError::EmptyTopic);
    }
    Ok(PublishHead {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        properties,
        payload_len: 0,
    })
}

fn connect<'a>(r: &mut Reader<'a>, v: Version) -> Result<Connect<'a>> {
    if r.bin()? != b"MQTT" {
        return Err(DecodeError::InvalidProtocolName);
    }
    let level = r.u8()?;
    if level != v as u8 {
        return Err(DecodeError::UnsupportedProtocolLevel(level));
    }
    let flags = r.u8()?;
    let has_will = flags & 0x04 != 0;
    let (has_user, has_pass) = (flags & 0x80 != 0, flags & 0x40 != 0);
    // Bit 0 is reserved; will QoS and retain need the will flag; 3.1.1 has
    // no password without a user name.
    if flags & 0x01 != 0
        || (!has_will && flags & 0x38 != 0)
        || (!v.is_v5() && has_pass && !has_user)
    {
        return Err(DecodeError::InvalidConnectFlags);
    }
    let will_qos = QoS::from_u8((flags >> 3) & 3).ok_or(DecodeError::InvalidQoS)?;
    let keep_alive = r.u16()?;
    let properties = props(r, 1, v)?;
    let client_id = r.str()?;
    let will = if has_will {
        let properties = props(r, WILL, v)?;
        let topic = r.str()?;
        if super::check_topic_name(topic).is_err() {
            return Err(DecodeError::InvalidTopic);
        }
        Some(Will {
            topic,
            payload: r.bin()?,
            qos: will_qos,
            retain: flags & 0x20 != 0,
            properties,
        })
    } else {
        None
    };
    let username = if has_user { Some(r.str()?) } else { None };
    let password = if has_pass { Some(r.bin()?) } else { None };
    Ok(Connect {
        clean_start: flags & 0x02 != 0,
        keep_alive,
        client_id,
        will,
        username,
        password,
        properties,
    })
}

/// Properties in 5.0, none in 3.1.1.
fn props<'a>(r: &mut Reader<'a>, ctx: u8, v: Version) -> Result<Properties<'a>> {
    if v.is_v5() {
        read_props(r, ctx)
    } else {
        Ok(Properties::default())
    }
}

/// The optional reason code and properties of the 5.0 acks, DISCONNECT and
/// AUTH: absent means success; a reason alone means no properties, except in
/// AUTH, whose property length is only omitted with the reason.
fn reason_props<'a>(
    r: &mut Reader<'a>,
    kind: PacketType,
    v: Version,
) -> Result<(ReasonCode, Properties<'a>)> {
    if !v.is_v5() || r.is_empty() {
        return Ok((ReasonCode::SUCCESS, Properties::default()));
    }
    let code = ReasonCode(r.u8()?);
    if !code.allowed_in(kind, v) {
        return Err(DecodeError::InvalidReasonCode(code.0));
    }
    if r.is_empty() && kind != PacketType::Auth {
        return Ok((code, Properties::default()));
    }
    Ok((code, read_props(r, kind as u8)?))
}

/// A topic filter in SUBSCRIBE or UNSUBSCRIBE.
fn filter<'a>(r: &mut Reader<'a>) -> Result<&'a str> {
    let f = r.str()?;
    check_topic_filter(f).map_err(|_| DecodeError::InvalidTopic)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;

    /// `body_from_server` after `fixed_header` answers as the whole-packet
    /// decoder does, on the fuzz corpus and on each of its inputs with one
    /// byte changed.
    #[test]
    #[cfg_attr(miri, ignore = "reads the fuzz corpus from disk, which miri isolates")]
    fn body_after_the_header_agrees_with_the_whole_packet() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fuzz/corpus/decode");
        let mut seen = 0;
        let mut x = 0x9e37_79b9u32;
        for entry in std::fs::read_dir(dir).unwrap() {
            let input = std::fs::read(entry.unwrap().path()).unwrap();
            for k in 0..=input.len().min(64) {
                let mut b = input.clone();
                if let Some(byte) = b.get_mut(k) {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    *byte = x as u8;
                }
                // (A build without `v5` has no session in 5.0.)
                for v in [Version::V311, Version::V5]
                    .into_iter()
                    .filter(|v| !v.unsupported())
                {
                    let Ok(Some(h)) = fixed_header(&b) else {
                        continue;
                    };
                    let total = h.header_len + h.remaining_len as usize;
                    let Some(body) = b.get(h.header_len..total) else {
                        continue;
                    };
                    let whole = packet::<false>(&b, v).map(|p| p.map(|p| p.0));
                    assert_eq!(body_from_server(&h, body, v).map(Some), whole, "{b:02x?}");
                    seen += 1;
                }
            }
        }
        assert!(seen > 10_000, "{seen}");
    }
}
