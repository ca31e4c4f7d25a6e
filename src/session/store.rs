//! Store of outbound QoS 1/2 publications, in a caller-owned byte buffer.
//!
//! Records sit back to back in sending order: a fixed header, then the
//! encoded PUBLISH, so a (re)transmission is a slice of the store and needs
//! no copy. A PUBLISH whose payload the application lends
//! ([`BorrowedPayload`]) is kept as its head (fixed header, topic, packet
//! id, properties) after the payload's token and length: the payload goes
//! from the application's object to the link each time it is sent. After
//! PUBREC only the header is kept (the broker owns the message; we still
//! owe a PUBREL), and a lent payload is the application's again: the
//! header says so until [`Store::take_returned`] has told it. Removal
//! moves the shorter side: the later records down, or the earlier ones up
//! (acknowledgements come mostly in order, so mostly nothing or a few
//! headers move): stores are a few KiB, and order must be kept anyway.

use super::{BorrowedPayload, Error};
use crate::time::Tick;
use crate::wire::{EncodeError, PublishFlags, QoS};

/// Where a record stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Phase {
    /// PUBLISH to (re)send.
    Unsent = 0,
    /// PUBLISH sent, PUBACK (QoS 1) or PUBREC (QoS 2) awaited.
    AwaitAck = 1,
    /// PUBREC received, PUBREL to (re)send.
    RelUnsent = 2,
    /// PUBREL sent, PUBCOMP awaited.
    AwaitComp = 3,
    /// Finished without a PUBCOMP (broker lost the session, or refused the
    /// message); `reason` says how. Reported, then removed.
    Done = 4,
}

impl Phase {
    /// Every phase, for [`Store::find_by`].
    pub const ANY: u8 = 0x1f;

    /// This phase in a set of phases, for [`Store::find_by`].
    pub fn bit(self) -> u8 {
        1 << self as u8
    }

    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Unsent,
            1 => Phase::AwaitAck,
            2 => Phase::RelUnsent,
            3 => Phase::AwaitComp,
            _ => Phase::Done,
        }
    }
}

/// Bytes of a record header: len u32, packet id u16, phase, flags, repubs,
/// reason, sent_at u32.
pub(crate) const HEADER: usize = 14;

/// Record flag: the PUBLISH has been sent at least once (so resends set DUP).
const SENT_ONCE: u8 = 1;

/// Record flag: the payload is lent ([`LENT`] bytes after the header say
/// whose and how long), not stored.
const BORROWED: u8 = 2;

/// Record flag: the payload was lent and, after PUBREC, is the
/// application's again; not yet told ([`Store::take_returned`]).
const RETURNED: u8 = 4;

/// Bytes of a lent payload's token (a `usize`) and length (`u32`).
const LENT: usize = core::mem::size_of::<usize>() + 4;

/// A record's header, decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// Offset of the record in the store.
    pub at: usize,
    /// Record length including the header.
    pub len: usize,
    pub packet_id: u16,
    pub phase: Phase,
    pub sent_once: bool,
    /// The payload is lent ([`Store::lent`]).
    pub borrowed: bool,
    pub repubs: u8,
    pub reason: u8,
    pub sent_at: Tick,
}

impl Record {
    /// QoS from the stored PUBLISH (2 once only the header is left: only
    /// QoS 2 records lose their packet).
    pub fn qos2(&self, store: &Store<'_>) -> bool {
        if !cfg!(feature = "qos2") {
            // Without the feature no QoS 2 record is ever stored.
            return false;
        }
        match store.packet(self) {
            [] => true,
            [first, ..] => PublishFlags::of_first_byte(*first).qos() == Some(QoS::ExactlyOnce),
        }
    }
}

/// The store.
pub(crate) struct Store<'a> {
    buf: &'a mut [u8],
    /// Offset of the first record: removing the first record (the usual
    /// acknowledgement, oldest first) moves nothing; the records move down
    /// only when a new one needs the room.
    start: usize,
    used: usize,
    /// Records per phase, so the hot paths (every poll) walk the store only
    /// when it holds what they look for.
    counts: [u16; 5],
    /// Records flagged [`RETURNED`].
    returned: u16,
}

impl<'a> Store<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Store {
            buf,
            start: 0,
            used: 0,
            counts: [0; 5],
            returned: 0,
        }
    }

    /// Records in this phase.
    pub fn count(&self, phase: Phase) -> usize {
        self.counts.get(phase as usize).map_or(0, |&n| n as usize)
    }

    /// Records in any phase.
    pub fn total(&self) -> usize {
        self.counts.iter().map(|&n| n as usize).sum()
    }

    fn recount(&mut self, from: Option<Phase>, to: Option<Phase>) {
        if let Some(n) = from.and_then(|p| self.counts.get_mut(p as usize)) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = to.and_then(|p| self.counts.get_mut(p as usize)) {
            *n = n.saturating_add(1);
        }
    }

    /// The header bytes of the record at `at`.
    fn header(&self, at: usize) -> Option<&[u8; HEADER]> {
        self.buf.get(at..self.used)?.first_chunk::<HEADER>()
    }

    fn header_mut(&mut self, at: usize) -> Option<&mut [u8; HEADER]> {
        self.buf.get_mut(at..self.used)?.first_chunk_mut::<HEADER>()
    }

    #[cfg(test)]
    pub fn free(&self) -> usize {
        self.buf.len() - (self.used - self.start)
    }

    /// Append a record for the packet `encode` writes into the room it is
    /// given (failing with `BufferTooSmall` when the room is short), with
    /// its payload `lent` by the application if given (then `encode` writes
    /// the head alone); `accept` vets the packet's length on the wire
    /// first. Stores nothing on error.
    pub fn push(
        &mut self,
        packet_id: u16,
        lent: Option<BorrowedPayload>,
        encode: impl Fn(&mut [u8]) -> Result<usize, EncodeError>,
        accept: impl Fn(usize) -> Result<(), Error>,
    ) -> Result<(), Error> {
        let (extra, lent_len) = match lent {
            Some(p) => (LENT, p.len),
            None => (0, 0),
        };
        let len = loop {
            match encode(self.room(extra)) {
                Ok(len) => {
                    accept(len.saturating_add(lent_len))?;
                    break len;
                }
                Err(EncodeError::BufferTooSmall { needed }) => {
                    accept(needed.saturating_add(lent_len))?;
                    let total = HEADER + extra + needed;
                    if total > self.buf.len() {
                        return Err(Error::TooLarge);
                    }
                    if self.start == 0 || total > self.buf.len() - (self.used - self.start) {
                        return Err(Error::StoreFull);
                    }
                    // Move the records down to the start of the buffer and
                    // try again.
                    super::shift::down(self.buf, self.start, self.used);
                    self.used -= self.start;
                    self.start = 0;
                }
                Err(e) => return Err(e.into()),
            }
        };
        let at = self.used;
        let Some(head) = self
            .buf
            .get_mut(at..)
            .and_then(|b| b.first_chunk_mut::<HEADER>())
        else {
            return Err(Error::StoreFull);
        };
        let total = HEADER + extra + len;
        let [l0, l1, l2, l3] = (total as u32).to_le_bytes();
        let [i0, i1] = packet_id.to_le_bytes();
        let flags = if lent.is_some() { BORROWED } else { 0 };
        *head = [l0, l1, l2, l3, i0, i1, 0, flags, 0, 0, 0, 0, 0, 0];
        if let Some(p) = lent {
            let mut w = [0u8; LENT];
            let (token, n) = w.split_at_mut(LENT - 4);
            token.copy_from_slice(&p.token.to_le_bytes());
            n.copy_from_slice(&(p.len as u32).to_le_bytes());
            if let Some(dst) = self.buf.get_mut(at + HEADER..at + HEADER + LENT) {
                dst.copy_from_slice(&w);
            }
        }
        self.used += total;
        self.recount(None, Some(Phase::Unsent));
        Ok(())
    }

    /// The free room for a new record's packet, after `extra` bytes.
    fn room(&mut self, extra: usize) -> &mut [u8] {
        self.buf
            .get_mut(self.used + HEADER + extra..)
            .unwrap_or(&mut [])
    }

    /// Offset of the first record.
    #[cfg(test)]
    pub fn first(&self) -> usize {
        self.start
    }

    /// The record at offset `at`, if one starts there.
    pub fn record_at(&self, at: usize) -> Option<Record> {
        let h = self.header(at)?;
        let [l0, l1, l2, l3, i0, i1, phase, flags, repubs, reason, s0, s1, s2, s3] = *h;
        let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
        if len < HEADER || len > self.used - at {
            return None;
        }
        Some(Record {
            at,
            len,
            packet_id: u16::from_le_bytes([i0, i1]),
            phase: Phase::from_u8(phase),
            sent_once: flags & SENT_ONCE != 0,
            borrowed: flags & BORROWED != 0,
            repubs,
            reason,
            sent_at: Tick::from_millis(u32::from_le_bytes([s0, s1, s2, s3])),
        })
    }

    /// Records in order.
    pub fn iter(&self) -> impl Iterator<Item = Record> + '_ {
        let mut at = self.start;
        core::iter::from_fn(move || {
            let r = self.record_at(at)?;
            at += r.len;
            Some(r)
        })
    }

    /// Walk the records in order, writing each back after `f` (which sees
    /// the store as it was before); `f` returns false to stop there. The
    /// one loop that changes records in place. (Generic: each of its few
    /// callers, all rare, gets the loop with its closure inlined, which
    /// takes less flash than one loop calling a `dyn` closure.)
    pub fn update_each(&mut self, mut f: impl FnMut(&mut Record, &Store<'_>) -> bool) {
        let mut at = self.start;
        while let Some(mut r) = self.record_at(at) {
            at += r.len;
            let go_on = f(&mut r, self);
            self.update(&r);
            if !go_on {
                return;
            }
        }
    }

    /// Records awaiting PUBACK, PUBREC or PUBCOMP, in order; stops once all
    /// have been seen.
    pub fn awaiting(&self) -> impl Iterator<Item = Record> + '_ {
        let mut left = self.count(Phase::AwaitAck) + self.count(Phase::AwaitComp);
        let mut all = self.iter();
        core::iter::from_fn(move || {
            while left > 0 {
                let r = all.next()?;
                if matches!(r.phase, Phase::AwaitAck | Phase::AwaitComp) {
                    left -= 1;
                    return Some(r);
                }
            }
            None
        })
    }

    /// The first record in one of `phases` (a set of [`Phase::bit`]s) and,
    /// if given, with this packet id, reading only those fields of the
    /// records before it. (Not a closure: one copy of the loop serves every
    /// caller.)
    pub fn find_by(&self, phases: u8, packet_id: Option<u16>) -> Option<Record> {
        let mut at = self.start;
        let mut rest = self.buf.get(at..self.used)?;
        while let Some(&[l0, l1, l2, l3, i0, i1, phase, ..]) = rest.first_chunk::<HEADER>() {
            // Stored phases are 0..=4 (Done is 4).
            if (1 << phase.min(4)) & phases != 0
                && packet_id.map_or(true, |id| id == u16::from_le_bytes([i0, i1]))
            {
                return self.record_at(at);
            }
            let len = u32::from_le_bytes([l0, l1, l2, l3]) as usize;
            if len < HEADER {
                return None;
            }
            rest = rest.get(len..)?;
            at += len;
        }
        None
    }

    /// The record with this packet id.
    pub fn find(&self, packet_id: u16) -> Option<Record> {
        self.find_by(Phase::ANY, Some(packet_id))
    }

    /// The encoded PUBLISH of a record, without its payload if lent
    /// (empty after PUBREC).
    pub fn packet(&self, r: &Record) -> &[u8] {
        let lent = if r.borrowed { LENT } else { 0 };
        self.buf
            .get(r.at + HEADER + lent..r.at + r.len)
            .unwrap_or(&[])
    }

    /// The payload the application lent for a record's PUBLISH, if it did
    /// (none after PUBREC).
    pub fn lent(&self, r: &Record) -> Option<BorrowedPayload> {
        if !r.borrowed {
            return None;
        }
        let at = r.at + HEADER;
        let w = self.buf.get(at..at + LENT)?;
        let (token, n) = w.split_at(LENT - 4);
        Some(BorrowedPayload {
            token: usize::from_le_bytes(token.try_into().ok()?),
            len: u32::from_le_bytes(n.try_into().ok()?) as usize,
        })
    }

    /// Bytes of a record's PUBLISH on the wire, its lent payload included.
    pub fn wire_len(&self, r: &Record) -> usize {
        self.packet(r).len() + self.lent(r).map_or(0, |p| p.len)
    }

    /// Write back the mutable fields of a record.
    pub fn update(&mut self, r: &Record) {
        let Some(h) = self.header_mut(r.at) else {
            return;
        };
        let old = Phase::from_u8(h[6]);
        let [s0, s1, s2, s3] = r.sent_at.millis().to_le_bytes();
        h[6] = r.phase as u8;
        let returned = if cfg!(feature = "qos2") {
            h[7] & RETURNED
        } else {
            0
        };
        h[7] = returned
            | if r.sent_once { SENT_ONCE } else { 0 }
            | if r.borrowed { BORROWED } else { 0 };
        h[8] = r.repubs;
        h[9] = r.reason;
        h[10] = s0;
        h[11] = s1;
        h[12] = s2;
        h[13] = s3;
        if old != r.phase {
            self.recount(Some(old), Some(r.phase));
        }
    }

    /// Set or clear the DUP flag of a record's PUBLISH.
    pub fn set_dup(&mut self, r: &Record, dup: bool) {
        let at = r.at + HEADER + if r.borrowed { LENT } else { 0 };
        if r.len > at - r.at {
            if let Some(first) = self.buf.get_mut(at) {
                PublishFlags::set_dup(first, dup);
            }
        }
    }

    /// Remove a record, moving the later ones down or the earlier ones up,
    /// whichever are fewer bytes (nothing moves for the first record).
    pub fn remove(&mut self, r: &Record) {
        let Some(&[.., phase, flags, _, _, _, _, _, _]) = self.header(r.at) else {
            return;
        };
        self.recount(Some(Phase::from_u8(phase)), None);
        if cfg!(feature = "qos2") && flags & RETURNED != 0 {
            self.returned = self.returned.saturating_sub(1);
        }
        if r.at == self.start {
            // The first record (the usual acknowledgement) leaves by
            // moving `start`.
            self.start += r.len;
        } else {
            self.cut(r.at, r.len);
        }
    }

    /// Drop the PUBLISH of a record and keep its header (after PUBREC); a
    /// lent payload is flagged returned.
    pub fn drop_packet(&mut self, r: &mut Record) {
        if r.len <= HEADER {
            return;
        }
        // (Only QoS 2 records come here.)
        let returned = if r.borrowed { RETURNED } else { 0 };
        self.returned = self.returned.saturating_add(u16::from(returned != 0));
        if self.cut(r.at + HEADER, r.len - HEADER) {
            // The header came up with the records before it.
            r.at += r.len - HEADER;
        }
        r.len = HEADER;
        r.borrowed = false;
        if let Some(h) = self.header_mut(r.at) {
            let [l0, l1, l2, l3] = (HEADER as u32).to_le_bytes();
            (h[0], h[1], h[2], h[3]) = (l0, l1, l2, l3);
            h[7] = h[7] & !BORROWED | returned;
        }
    }

    /// The packet id of the oldest record whose lent payload is the
    /// application's again (after PUBREC) and not yet told, now told.
    pub fn take_returned(&mut self) -> Option<u16> {
        if self.returned == 0 {
            return None;
        }
        let mut at = self.start;
        while let Some(r) = self.record_at(at) {
            at += r.len;
            if let Some(h) = self.header_mut(r.at) {
                if h[7] & RETURNED != 0 {
                    h[7] &= !RETURNED;
                    self.returned = self.returned.saturating_sub(1);
                    return Some(r.packet_id);
                }
            }
        }
        None
    }

    /// Take out `buf[at..at + len]`, moving whichever side of it is
    /// shorter: the bytes after it down, or those before it (from the
    /// first record) up. True when those before moved, by `len`.
    fn cut(&mut self, at: usize, len: usize) -> bool {
        if at < self.start || at + len > self.used {
            return false;
        }
        if at - self.start < self.used - (at + len) {
            super::shift::up(self.buf, self.start, at, len);
            self.start += len;
            true
        } else {
            super::shift::down_to(self.buf, at, at + len, self.used);
            self.used -= len;
            false
        }
    }

    /// Number of records.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.iter().count()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// Push a record of `len` bytes starting with `bytes`, the way the
    /// session's encoder fills it.
    fn push(s: &mut Store<'_>, id: u16, len: usize, bytes: &[u8]) -> Result<(), Error> {
        let encode = |b: &mut [u8]| {
            let Some(b) = b.get_mut(..len) else {
                return Err(EncodeError::BufferTooSmall { needed: len });
            };
            b[..bytes.len()].copy_from_slice(bytes);
            Ok(len)
        };
        s.push(id, None, encode, |_| Ok(()))
    }

    #[test]
    fn push_update_remove() {
        let mut mem = [0u8; 128];
        let mut s = Store::new(&mut mem);
        push(&mut s, 1, 4, &[0x32, 2, 0, 1]).unwrap();
        push(&mut s, 2, 4, &[0x34, 2, 0, 2]).unwrap();
        assert_eq!(s.len(), 2);
        let mut r = s.find(2).unwrap();
        assert!(r.qos2(&s));
        r.phase = Phase::AwaitAck;
        r.sent_once = true;
        r.sent_at = Tick::from_millis(0xFFFF_FFFE);
        s.update(&r);
        s.set_dup(&r, true);
        let r = s.find(2).unwrap();
        assert_eq!(
            (r.phase, r.sent_once, r.sent_at),
            (Phase::AwaitAck, true, Tick::from_millis(0xFFFF_FFFE))
        );
        assert_eq!(s.packet(&r), &[0x3C, 2, 0, 2]);
        let mut r = r;
        s.drop_packet(&mut r);
        assert_eq!(s.packet(&s.find(2).unwrap()), &[] as &[u8]);
        assert_eq!(s.count(Phase::AwaitAck), 1);
        assert_eq!(s.count(Phase::Unsent), 1);
        let first = s.find(1).unwrap();
        s.remove(&first);
        assert_eq!(s.len(), 1);
        assert_eq!((s.count(Phase::Unsent), s.total()), (0, 1));
        assert_eq!(s.free(), 128 - HEADER);
        assert!(s.find(2).unwrap().qos2(&s));
        assert_eq!(push(&mut s, 3, 200, &[]), Err(Error::TooLarge));
        assert_eq!(push(&mut s, 3, 101, &[]), Err(Error::StoreFull));
        assert_eq!(s.len(), 1);
    }

    #[test]
    #[cfg(feature = "qos2")]
    fn lent_payload_returned_at_pubrec_told_once() {
        let mut mem = [0u8; 256];
        let mut s = Store::new(&mut mem);
        let lent = |id: u16| BorrowedPayload {
            token: 0x1000 + usize::from(id),
            len: 100,
        };
        for id in 1..=3u16 {
            let [a, b] = id.to_be_bytes();
            let head = [0x34, 104, 0, 1, b't', a, b];
            s.push(
                id,
                Some(lent(id)),
                |b| {
                    let Some(b) = b.get_mut(..head.len()) else {
                        return Err(EncodeError::BufferTooSmall { needed: head.len() });
                    };
                    b.copy_from_slice(&head);
                    Ok(head.len())
                },
                |_| Ok(()),
            )
            .unwrap();
        }
        assert_eq!(s.take_returned(), None);
        // PUBREC for 2, then 1: each returned once, oldest first, and the
        // flag survives the record's updates.
        for id in [2u16, 1] {
            let mut r = s.find(id).unwrap();
            assert_eq!(s.lent(&r), Some(lent(id)));
            s.drop_packet(&mut r);
            r.phase = Phase::RelUnsent;
            s.update(&r);
            assert_eq!(s.lent(&s.find(id).unwrap()), None);
        }
        let mut r = s.find(1).unwrap();
        r.phase = Phase::AwaitComp;
        s.update(&r);
        assert_eq!(s.take_returned(), Some(1));
        assert_eq!(s.take_returned(), Some(2));
        assert_eq!(s.take_returned(), None);
        // Removed before it was told: never told.
        let mut r = s.find(3).unwrap();
        s.drop_packet(&mut r);
        s.remove(&s.find(3).unwrap());
        assert_eq!(s.take_returned(), None);
        assert_eq!(s.total(), 2);
    }

    #[test]
    fn first_record_leaves_without_moving_the_others() {
        let mut mem = [0u8; 3 * (HEADER + 4)];
        let mut s = Store::new(&mut mem);
        for id in 1..=3u8 {
            push(&mut s, id.into(), 4, &[0x34, 2, 0, id]).unwrap();
        }
        assert_eq!(push(&mut s, 4, 4, &[0x32, 2, 0, 4]), Err(Error::StoreFull));
        // The first record goes: its room is reused by the next push,
        // after the others move down.
        s.remove(&s.find(1).unwrap());
        assert_eq!(s.first(), HEADER + 4);
        let mut r = s.find(2).unwrap();
        r.phase = Phase::AwaitAck;
        s.update(&r);
        // PUBREC for the (new) first record: its PUBLISH goes, its header
        // moving up to where the PUBLISH ended (nothing else moves).
        s.drop_packet(&mut r);
        r.phase = Phase::RelUnsent;
        s.update(&r);
        assert_eq!(s.first(), 2 * (HEADER + 4) - HEADER);
        assert_eq!(s.find(2), Some(r));
        assert!(s.find(2).unwrap().qos2(&s));
        push(&mut s, 4, 4, &[0x32, 2, 0, 4]).unwrap();
        assert_eq!(s.first(), 0);
        let ids: Vec<(u16, Phase, usize)> =
            s.iter().map(|r| (r.packet_id, r.phase, r.len)).collect();
        assert_eq!(
            ids,
            [
                (2, Phase::RelUnsent, HEADER),
                (3, Phase::Unsent, HEADER + 4),
                (4, Phase::Unsent, HEADER + 4),
            ]
        );
        assert_eq!(s.packet(&s.find(4).unwrap()), &[0x32, 2, 0, 4]);
        assert_eq!((s.count(Phase::Unsent), s.count(Phase::RelUnsent)), (2, 1));
        assert_eq!(s.free(), 4);
        // A record in the middle leaves by moving the shorter side: here
        // the one record before it (up), not the one after.
        let before: Vec<u16> = s.iter().map(|r| r.packet_id).collect();
        assert_eq!(before, [2, 3, 4]);
        s.remove(&s.find(3).unwrap());
        assert_eq!(s.first(), HEADER + 4);
        let after: Vec<(u16, usize)> = s.iter().map(|r| (r.packet_id, r.len)).collect();
        assert_eq!(after, [(2, HEADER), (4, HEADER + 4)]);
        assert_eq!(s.packet(&s.find(4).unwrap()), &[0x32, 2, 0, 4]);
        push(&mut s, 3, 4, &[0x34, 2, 0, 3]).unwrap();
        // Emptied, the whole buffer is room again.
        for id in 2..=4 {
            s.remove(&s.find(id).unwrap());
        }
        assert_eq!((s.total(), s.free()), (0, 3 * (HEADER + 4)));
        push(&mut s, 5, 3 * (HEADER + 4) - HEADER, &[0x32]).unwrap();
        assert_eq!((s.first(), s.free()), (0, 0));
    }
}
