//! Encoding: each packet is measured once (which also validates it), then
//! written once into the caller's buffer. A PUBLISH is measured
//! arithmetically; the other packets, rarer and small, by running their
//! body writer over a counting [`Writer`].

use super::packet::{
    Connect, Packet, PacketType, Publish, PublishFlags, SubAck, Subscribe, Unsubscribe,
};
use super::properties::{write_props, WILL};
use super::rw::{varint_len, Writer};
use super::{
    check_topic_filter, check_topic_name, EncodeError, Properties, QoS, ReasonCode, Version,
    MAX_VARINT,
};

type Result<T> = core::result::Result<T, EncodeError>;

/// Remaining length, after validating the whole packet.
fn remaining_len<const ALL: bool>(p: &Packet<'_>, v: Version) -> Result<usize> {
    let rl = match p {
        Packet::Publish(p) => publish_len(p, v)?,
        _ => {
            let mut w = Writer::counter();
            body::<ALL>(p, v, &mut w)?;
            w.pos
        }
    };
    if rl > MAX_VARINT as usize {
        return Err(EncodeError::PacketTooLarge);
    }
    Ok(rl)
}

/// Remaining length of a PUBLISH, after validating it; its body writer
/// checks nothing.
fn publish_len(p: &Publish<'_>, v: Version) -> Result<usize> {
    // An empty topic stands for a 5.0 topic alias. A checked topic is
    // short enough and holds no NUL; an unchecked one is empty.
    if !(p.topic.is_empty() && v.is_v5() && p.properties.topic_alias().is_some()) {
        check_topic_name(p.topic)?;
    }
    let id = match (p.qos, p.packet_id) {
        (QoS::AtMostOnce, None) => 0,
        (QoS::AtLeastOnce | QoS::ExactlyOnce, Some(id)) if id != 0 => 2,
        _ => return Err(EncodeError::InvalidPacketId),
    };
    let mut props = Writer::counter();
    write_props(&mut props, &p.properties, 3, v)?;
    Ok((2 + p.topic.len() + id + props.pos).saturating_add(p.payload.len()))
}

/// `ALL`: every packet type; otherwise only those a client sends (the
/// others are [`EncodeError::NotInVersion`]), so that a client's firmware
/// carries no CONNACK, SUBACK or UNSUBACK writer.
pub(crate) fn encoded_len<const ALL: bool>(p: &Packet<'_>, v: Version) -> Result<usize> {
    if v.unsupported() {
        return Err(EncodeError::NotInVersion);
    }
    let rl = remaining_len::<ALL>(p, v)?;
    Ok(1 + varint_len(rl) + rl)
}

/// Validate and measure once, then write once; nothing is written when
/// `out` is too short.
///
/// `extra`: bytes of payload that follow what is written, counted in the
/// remaining length but left to the caller (a PUBLISH whose payload stays
/// where the application keeps it; 0 for every other packet). The result
/// and `BufferTooSmall` count only the bytes written here.
pub(crate) fn encode<const ALL: bool>(
    p: &Packet<'_>,
    v: Version,
    out: &mut [u8],
    extra: usize,
) -> Result<usize> {
    if v.unsupported() {
        return Err(EncodeError::NotInVersion);
    }
    let rl = remaining_len::<ALL>(p, v)?.saturating_add(extra);
    if rl > MAX_VARINT as usize {
        return Err(EncodeError::PacketTooLarge);
    }
    let needed = 1 + varint_len(rl) + rl - extra;
    let Some(out) = out.get_mut(..needed) else {
        return Err(EncodeError::BufferTooSmall { needed });
    };
    let mut w = Writer::new(out);
    w.u8(first_byte(p));
    w.varint(rl)?;
    body::<ALL>(p, v, &mut w)?;
    Ok(w.pos)
}

fn first_byte(p: &Packet<'_>) -> u8 {
    let kind = p.kind();
    let flags = match p {
        // DUP means nothing at QoS 0 and must be 0 there [MQTT-3.3.1-2].
        Packet::Publish(p) => {
            PublishFlags::new(p.dup && p.qos != QoS::AtMostOnce, p.qos, p.retain).0
        }
        _ => kind.fixed_flags(),
    };
    kind.first_byte(flags)
}

fn packet_id(w: &mut Writer<'_>, id: u16) -> Result<()> {
    if id == 0 {
        return Err(EncodeError::InvalidPacketId);
    }
    w.u16(id);
    Ok(())
}

/// Reason code and properties in their shortest form (see the decoder).
fn reason_props(
    w: &mut Writer<'_>,
    kind: PacketType,
    reason: ReasonCode,
    props: &Properties<'_>,
    v: Version,
) -> Result<()> {
    if !v.is_v5() {
        return if reason != ReasonCode::SUCCESS || !props.is_empty() {
            Err(EncodeError::NotInVersion)
        } else {
            Ok(())
        };
    }
    if !reason.allowed_in(kind, v) {
        return Err(EncodeError::InvalidReasonCode(reason.0));
    }
    if reason == ReasonCode::SUCCESS && props.is_empty() {
        return Ok(());
    }
    w.u8(reason.0);
    if props.is_empty() && kind != PacketType::Auth {
        return Ok(());
    }
    write_props(w, props, kind as u8, v)
}

fn body<const ALL: bool>(p: &Packet<'_>, v: Version, w: &mut Writer<'_>) -> Result<()> {
    if !ALL
        && matches!(
            p,
            Packet::ConnAck(_) | Packet::SubAck(_) | Packet::UnsubAck(_) | Packet::PingResp
        )
    {
        return Err(EncodeError::NotInVersion);
    }
    match p {
        // The larger bodies have functions of their own, whose result is
        // the body's (returned as it is: one error path, not two).
        Packet::Connect(c) => return connect(w, c, v),
        Packet::ConnAck(c) => {
            if !c.code.allowed_in(PacketType::ConnAck, v) || (c.session_present && c.code.0 != 0) {
                return Err(EncodeError::InvalidReasonCode(c.code.0));
            }
            w.u8(c.session_present.into());
            w.u8(c.code.0);
            write_props(w, &c.properties, 2, v)?;
        }
        // Validated by `publish_len` (`remaining_len` sends no PUBLISH here).
        Packet::Publish(p) => {
            // At most 65535 bytes (checked).
            w.u16(p.topic.len() as u16);
            w.bytes(p.topic.as_bytes());
            if let Some(id) = p.packet_id {
                w.u16(id);
            }
            write_props(w, &p.properties, 3, v)?;
            w.bytes(p.payload);
        }
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            packet_id(w, a.packet_id)?;
            reason_props(w, p.kind(), a.reason, &a.properties, v)?;
        }
        Packet::Subscribe(s) => return subscribe(w, s, v),
        Packet::SubAck(s) | Packet::UnsubAck(s) => return suback(w, p.kind(), s, v),
        Packet::Unsubscribe(u) => return unsubscribe(w, u, v),
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            reason_props(w, PacketType::Disconnect, d.reason, &d.properties, v)?
        }
        Packet::Auth(a) => {
            if !v.is_v5() {
                return Err(EncodeError::NotInVersion);
            }
            reason_props(w, PacketType::Auth, a.reason, &a.properties, v)?;
        }
    }
    Ok(())
}

/// CONNECT's body.
fn connect(w: &mut Writer<'_>, c: &Connect<'_>, v: Version) -> Result<()> {
    if !v.is_v5() && c.password.is_some() && c.username.is_none() {
        return Err(EncodeError::NotInVersion);
    }
    // The protocol name and level, one constant (no string checks).
    w.bytes(&[0, 4, b'M', b'Q', b'T', b'T', v as u8]);
    let mut flags = u8::from(c.clean_start) << 1
        | u8::from(c.username.is_some()) << 7
        | u8::from(c.password.is_some()) << 6;
    if let Some(will) = &c.will {
        flags |= 0x04 | (will.qos as u8) << 3 | u8::from(will.retain) << 5;
    }
    w.u8(flags);
    w.u16(c.keep_alive);
    write_props(w, &c.properties, 1, v)?;
    w.str(c.client_id)?;
    if let Some(will) = &c.will {
        write_props(w, &will.properties, WILL, v)?;
        check_topic_name(will.topic)?;
        w.str(will.topic)?;
        w.bin(will.payload)?;
    }
    if let Some(u) = c.username {
        w.str(u)?;
    }
    if let Some(pw) = c.password {
        w.bin(pw)?;
    }
    Ok(())
}

/// SUBSCRIBE's body.
fn subscribe(w: &mut Writer<'_>, s: &Subscribe<'_>, v: Version) -> Result<()> {
    packet_id(w, s.packet_id)?;
    write_props(w, &s.properties, 8, v)?;
    let mut none = true;
    for sub in s.subscriptions.iter() {
        none = false;
        check_topic_filter(sub.filter)?;
        let o = sub.options;
        if !v.is_v5() && o.to_byte() > 3 {
            return Err(EncodeError::NotInVersion);
        }
        if o.retain_handling > 2 || (o.no_local && sub.filter.starts_with("$share/")) {
            return Err(EncodeError::InvalidSubOptions);
        }
        w.str(sub.filter)?;
        w.u8(o.to_byte());
    }
    if none {
        return Err(EncodeError::EmptyFilterList);
    }
    Ok(())
}

/// SUBACK or UNSUBACK (`kind`).
fn suback(w: &mut Writer<'_>, kind: PacketType, s: &SubAck<'_>, v: Version) -> Result<()> {
    packet_id(w, s.packet_id)?;
    write_props(w, &s.properties, kind as u8, v)?;
    if kind == PacketType::UnsubAck && !v.is_v5() {
        if !s.codes.is_empty() {
            return Err(EncodeError::NotInVersion);
        }
    } else {
        if s.codes.is_empty() {
            return Err(EncodeError::EmptyFilterList);
        }
        if let Some(&c) = s
            .codes
            .iter()
            .find(|&&c| !ReasonCode(c).allowed_in(kind, v))
        {
            return Err(EncodeError::InvalidReasonCode(c));
        }
        w.bytes(s.codes);
    }
    Ok(())
}

/// UNSUBSCRIBE's body.
fn unsubscribe(w: &mut Writer<'_>, u: &Unsubscribe<'_>, v: Version) -> Result<()> {
    packet_id(w, u.packet_id)?;
    write_props(w, &u.properties, 10, v)?;
    let mut none = true;
    for f in u.filters.iter() {
        none = false;
        check_topic_filter(f)?;
        w.str(f)?;
    }
    if none {
        return Err(EncodeError::EmptyFilterList);
    }
    Ok(())
}
