//! Topic aliases (MQTT 5.0): alias number to topic name, in a caller-owned
//! buffer of records `[alias u16][len u16][flags u8][topic bytes]`.
//!
//! One table holds the broker's inbound aliases (cleared on each
//! connection); another the application's outbound ones, which outlive a
//! connection, with a flag per alias saying whether the broker has been
//! sent that mapping on the current one.

/// Record flag: the broker knows this alias's topic on this connection.
const SYNCED: u8 = 1;

/// Bytes before a record's topic.
const HEAD: usize = 5;

/// An alias table.
pub(crate) struct Aliases<'a> {
    buf: &'a mut [u8],
    used: usize,
}

impl<'a> Aliases<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Aliases { buf, used: 0 }
    }

    /// Forget every alias (inbound ones live for one connection).
    pub fn clear(&mut self) {
        self.used = 0;
    }

    /// Records as (offset, alias, topic start, topic end).
    fn records(&self) -> impl Iterator<Item = (usize, u16, usize, usize)> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let h = self.buf.get(at..at + HEAD)?;
            let alias = u16::from_le_bytes([*h.first()?, *h.get(1)?]);
            let len = u16::from_le_bytes([*h.get(2)?, *h.get(3)?]) as usize;
            let rec = (at, alias, at + HEAD, at + HEAD + len);
            if rec.3 > self.used {
                return None;
            }
            at = rec.3;
            Some(rec)
        })
    }

    fn find(&self, alias: u16) -> Option<(usize, u16, usize, usize)> {
        self.records().find(|r| r.1 == alias)
    }

    /// The bytes of the topic for `alias`, as a range of the table.
    pub fn get(&self, alias: u16) -> Option<(usize, usize)> {
        self.find(alias).map(|r| (r.2, r.3))
    }

    /// The topic in a range returned by `get` or `set`.
    pub fn topic(&self, range: (usize, usize)) -> &str {
        self.buf
            .get(range.0..range.1)
            .and_then(|b| crate::wire::utf8(b, true))
            .unwrap_or("")
    }

    /// Map `alias` to `topic`, replacing an earlier mapping (a mapping to
    /// the same topic is kept as it is, flags and all). `None` when the
    /// table has no room.
    pub fn set(&mut self, alias: u16, topic: &str) -> Option<(usize, usize)> {
        let old = self.find(alias);
        if let Some((at, _, start, end)) = old {
            if self.buf.get(start..end) == Some(topic.as_bytes()) {
                return Some((start, end));
            }
            super::shift::down_to(self.buf, at, end, self.used);
            self.used -= end - at;
        }
        let len = topic.len();
        let at = self.used;
        let rec = self.buf.get_mut(at..at + HEAD + len)?;
        let (head, body) = rec.split_at_mut(HEAD);
        let [a0, a1] = alias.to_le_bytes();
        let [l0, l1] = (len as u16).to_le_bytes();
        head.copy_from_slice(&[a0, a1, l0, l1, 0]);
        body.copy_from_slice(topic.as_bytes());
        self.used += HEAD + len;
        Some((at + HEAD, at + HEAD + len))
    }

    /// The broker has been sent `alias`'s current topic on this connection.
    pub fn synced(&self, alias: u16) -> bool {
        self.find(alias)
            .and_then(|r| self.buf.get(r.0 + 4))
            .is_some_and(|f| f & SYNCED != 0)
    }

    /// Note that the broker now knows `alias`'s topic.
    pub fn mark_synced(&mut self, alias: u16) {
        if let Some(f) = self.find(alias).map(|r| r.0 + 4) {
            if let Some(f) = self.buf.get_mut(f) {
                *f |= SYNCED;
            }
        }
    }

    /// A new connection: the broker knows no alias.
    pub fn clear_synced(&mut self) {
        let mut at = 0;
        while let Some([_, _, l0, l1, f]) = self
            .buf
            .get_mut(at..self.used)
            .and_then(|b| b.first_chunk_mut::<HEAD>())
        {
            *f &= !SYNCED;
            at += HEAD + usize::from(u16::from_le_bytes([*l0, *l1]));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_full() {
        let mut mem = [0u8; 27];
        let mut a = Aliases::new(&mut mem);
        let r = a.set(1, "a/b").unwrap();
        assert_eq!(a.topic(r), "a/b");
        a.set(2, "cc").unwrap();
        let r = a.set(1, "long/er").unwrap();
        assert_eq!(a.topic(a.get(1).unwrap()), "long/er");
        assert_eq!(a.topic(r), "long/er");
        assert_eq!(a.topic(a.get(2).unwrap()), "cc");
        assert!(a.set(3, "0123456789").is_none());
        assert!(a.get(3).is_none());
        a.clear();
        assert!(a.get(1).is_none());
    }

    #[test]
    fn synced_flags() {
        let mut mem = [0u8; 64];
        let mut a = Aliases::new(&mut mem);
        a.set(1, "a").unwrap();
        a.set(2, "b").unwrap();
        assert!(!a.synced(1) && !a.synced(3));
        a.mark_synced(1);
        a.mark_synced(2);
        a.mark_synced(3);
        assert!(a.synced(1) && a.synced(2) && !a.synced(3));
        // The same topic again keeps the flag; another one clears it.
        a.set(1, "a").unwrap();
        assert!(a.synced(1));
        a.set(2, "bb").unwrap();
        assert!(!a.synced(2) && a.synced(1));
        a.mark_synced(2);
        a.clear_synced();
        assert!(!a.synced(1) && !a.synced(2));
        assert_eq!(a.topic(a.get(2).unwrap()), "bb");
    }
}
