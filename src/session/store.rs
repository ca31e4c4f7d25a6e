//! Store of outbound QoS 1/2 publications, in a caller-owned byte buffer.
//!
//! Records sit back to back in sending order: a fixed header, then the whole
//! encoded PUBLISH, so a (re)transmission is a slice of the store and needs no
//! copy. After PUBREC only the header is kept (the broker owns the message;
//! we still owe a PUBREL). Removal moves the later records down: stores are a
//! few KiB, and order must be kept anyway.

use super::Error;
use crate::wire::EncodeError;

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
    pub repubs: u8,
    pub reason: u8,
    pub sent_at: u32,
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
            [first, ..] => (first >> 1) & 3 == 2,
        }
    }
}

/// The store.
pub(crate) struct Store<'a> {
    buf: &'a mut [u8],
    used: usize,
    /// Records per phase, so the hot paths (every poll) walk the store only
    /// when it holds what they look for.
    counts: [u16; 5],
}

impl<'a> Store<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Store {
            buf,
            used: 0,
            counts: [0; 5],
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

    /// The phase stored in the record at `at`.
    fn stored_phase(&self, at: usize) -> Option<Phase> {
        self.buf.get(at + 6).map(|&b| Phase::from_u8(b))
    }

    #[cfg(test)]
    pub fn free(&self) -> usize {
        self.buf.len() - self.used
    }

    /// Append a record for a packet of `len` bytes written by `fill`.
    /// Stores nothing when there is no room or `fill` fails.
    pub fn push(
        &mut self,
        packet_id: u16,
        len: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), Error> {
        let at = self.used;
        let total = HEADER + len;
        if total > self.buf.len() {
            return Err(Error::TooLarge);
        }
        let Some(rec) = self.buf.get_mut(at..at + total) else {
            return Err(Error::StoreFull);
        };
        let (head, body) = rec.split_at_mut(HEADER);
        fill(body)?;
        head.fill(0);
        if let Some(l) = head.get_mut(0..4) {
            l.copy_from_slice(&(total as u32).to_le_bytes());
        }
        if let Some(p) = head.get_mut(4..6) {
            p.copy_from_slice(&packet_id.to_le_bytes());
        }
        self.used += total;
        self.recount(None, Some(Phase::Unsent));
        Ok(())
    }

    /// The record at offset `at`, if one starts there.
    pub fn record_at(&self, at: usize) -> Option<Record> {
        if at + HEADER > self.used {
            return None;
        }
        let h = self.buf.get(at..at + HEADER)?;
        let word = |i: usize| -> u32 {
            let mut b = [0u8; 4];
            if let Some(s) = h.get(i..i + 4) {
                b.copy_from_slice(s);
            }
            u32::from_le_bytes(b)
        };
        let len = word(0) as usize;
        if len < HEADER || at + len > self.used {
            return None;
        }
        Some(Record {
            at,
            len,
            packet_id: u16::from_le_bytes([*h.get(4)?, *h.get(5)?]),
            phase: Phase::from_u8(*h.get(6)?),
            sent_once: h.get(7)? & SENT_ONCE != 0,
            repubs: *h.get(8)?,
            reason: *h.get(9)?,
            sent_at: word(10),
        })
    }

    /// Records in order.
    pub fn iter(&self) -> impl Iterator<Item = Record> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let r = self.record_at(at)?;
            at += r.len;
            Some(r)
        })
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

    /// The record with this packet id.
    pub fn find(&self, packet_id: u16) -> Option<Record> {
        self.iter().find(|r| r.packet_id == packet_id)
    }

    /// The encoded PUBLISH of a record (empty after PUBREC).
    pub fn packet(&self, r: &Record) -> &[u8] {
        self.buf.get(r.at + HEADER..r.at + r.len).unwrap_or(&[])
    }

    /// Write back the mutable fields of a record.
    pub fn update(&mut self, r: &Record) {
        let old = self.stored_phase(r.at);
        if old != Some(r.phase) {
            self.recount(old, Some(r.phase));
        }
        if let Some(h) = self.buf.get_mut(r.at..r.at + HEADER) {
            if let Some(b) = h.get_mut(6) {
                *b = r.phase as u8;
            }
            if let Some(b) = h.get_mut(7) {
                *b = if r.sent_once { SENT_ONCE } else { 0 };
            }
            if let Some(b) = h.get_mut(8) {
                *b = r.repubs;
            }
            if let Some(b) = h.get_mut(9) {
                *b = r.reason;
            }
            if let Some(s) = h.get_mut(10..14) {
                s.copy_from_slice(&r.sent_at.to_le_bytes());
            }
        }
    }

    /// Set or clear the DUP flag of a record's PUBLISH.
    pub fn set_dup(&mut self, r: &Record, dup: bool) {
        if r.len > HEADER {
            if let Some(first) = self.buf.get_mut(r.at + HEADER) {
                if dup {
                    *first |= 0x08;
                } else {
                    *first &= !0x08;
                }
            }
        }
    }

    /// Remove a record, moving the later ones down.
    pub fn remove(&mut self, r: &Record) {
        let old = self.stored_phase(r.at);
        self.recount(old, None);
        self.cut(r.at, r.len);
    }

    /// Drop the PUBLISH of a record and keep its header (after PUBREC).
    pub fn drop_packet(&mut self, r: &mut Record) {
        if r.len > HEADER {
            self.cut(r.at + HEADER, r.len - HEADER);
            r.len = HEADER;
            if let Some(l) = self.buf.get_mut(r.at..r.at + 4) {
                l.copy_from_slice(&(HEADER as u32).to_le_bytes());
            }
        }
    }

    fn cut(&mut self, at: usize, len: usize) {
        if at + len <= self.used {
            self.buf.copy_within(at + len..self.used, at);
            self.used -= len;
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
    use super::*;

    fn fill(bytes: &'static [u8]) -> impl FnOnce(&mut [u8]) -> Result<usize, EncodeError> {
        move |b| {
            b.copy_from_slice(bytes);
            Ok(bytes.len())
        }
    }

    #[test]
    fn push_update_remove() {
        let mut mem = [0u8; 128];
        let mut s = Store::new(&mut mem);
        s.push(1, 4, fill(&[0x32, 2, 0, 1])).unwrap();
        s.push(2, 4, fill(&[0x34, 2, 0, 2])).unwrap();
        assert_eq!(s.len(), 2);
        let mut r = s.find(2).unwrap();
        assert!(r.qos2(&s));
        r.phase = Phase::AwaitAck;
        r.sent_once = true;
        r.sent_at = 0xFFFF_FFFE;
        s.update(&r);
        s.set_dup(&r, true);
        let r = s.find(2).unwrap();
        assert_eq!(
            (r.phase, r.sent_once, r.sent_at),
            (Phase::AwaitAck, true, 0xFFFF_FFFE)
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
        assert_eq!(s.push(3, 200, fill(&[])), Err(Error::TooLarge));
        assert_eq!(s.push(3, 101, fill(&[])), Err(Error::StoreFull));
        assert_eq!(s.len(), 1);
    }
}
