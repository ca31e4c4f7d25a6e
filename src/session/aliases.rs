//! Inbound topic aliases (MQTT 5.0): alias number to topic name, in a
//! caller-owned buffer of records `[alias u16][len u16][topic bytes]`.

/// The alias table of one connection.
pub(crate) struct Aliases<'a> {
    buf: &'a mut [u8],
    used: usize,
}

impl<'a> Aliases<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Aliases { buf, used: 0 }
    }

    /// Forget every alias (they live for one connection).
    pub fn clear(&mut self) {
        self.used = 0;
    }

    /// Records as (offset, alias, topic start, topic end).
    fn records(&self) -> impl Iterator<Item = (usize, u16, usize, usize)> + '_ {
        let mut at = 0;
        core::iter::from_fn(move || {
            let h = self.buf.get(at..at + 4)?;
            let alias = u16::from_le_bytes([*h.first()?, *h.get(1)?]);
            let len = u16::from_le_bytes([*h.get(2)?, *h.get(3)?]) as usize;
            let rec = (at, alias, at + 4, at + 4 + len);
            if rec.3 > self.used {
                return None;
            }
            at = rec.3;
            Some(rec)
        })
    }

    /// The bytes of the topic for `alias`, as a range of the table.
    pub fn get(&self, alias: u16) -> Option<(usize, usize)> {
        self.records().find(|r| r.1 == alias).map(|r| (r.2, r.3))
    }

    /// The topic in a range returned by `get` or `set`.
    pub fn topic(&self, range: (usize, usize)) -> &str {
        self.buf
            .get(range.0..range.1)
            .and_then(|b| crate::wire::utf8(b, true))
            .unwrap_or("")
    }

    /// Map `alias` to `topic`, replacing an earlier mapping. `None` when the
    /// table has no room.
    pub fn set(&mut self, alias: u16, topic: &str) -> Option<(usize, usize)> {
        let old = self.records().find(|r| r.1 == alias);
        if let Some((at, _, _, end)) = old {
            self.buf.copy_within(end..self.used, at);
            self.used -= end - at;
        }
        let len = topic.len();
        let at = self.used;
        let rec = self.buf.get_mut(at..at + 4 + len)?;
        let (head, body) = rec.split_at_mut(4);
        head.copy_from_slice(&[
            alias.to_le_bytes()[0],
            alias.to_le_bytes()[1],
            (len as u16).to_le_bytes()[0],
            (len as u16).to_le_bytes()[1],
        ]);
        body.copy_from_slice(topic.as_bytes());
        self.used += 4 + len;
        Some((at + 4, at + 4 + len))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_get_replace_full() {
        let mut mem = [0u8; 24];
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
}
