//! Inbound QoS 2: the packet ids of the broker's messages delivered and
//! acknowledged with PUBREC, until their PUBREL (caller-owned storage of
//! two bytes per id). What became of the messages that did not fit is
//! counted in [`super::Qos2Stats`].

/// The ids awaiting PUBREL, in a caller-owned table.
pub(crate) struct Qos2Ids<'a> {
    ids: &'a mut [u16],
    len: usize,
}

impl<'a> Qos2Ids<'a> {
    pub fn new(ids: &'a mut [u16]) -> Self {
        Qos2Ids { ids, len: 0 }
    }

    /// Ids held.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn is_full(&self) -> bool {
        self.len >= self.ids.len()
    }

    pub fn clear(&mut self) {
        self.len = 0;
    }

    fn held(&self) -> &[u16] {
        self.ids.get(..self.len).unwrap_or(&[])
    }

    pub fn contains(&self, id: u16) -> bool {
        self.held().contains(&id)
    }

    /// Add an id; false when the table is full.
    pub fn push(&mut self, id: u16) -> bool {
        match self.ids.get_mut(self.len) {
            Some(slot) => {
                *slot = id;
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// Remove an id (order does not matter); false when it was not held.
    pub fn remove(&mut self, id: u16) -> bool {
        let Some(i) = self.held().iter().position(|&i| i == id) else {
            return false;
        };
        self.len -= 1;
        let last = self.ids.get(self.len).copied().unwrap_or(0);
        if let Some(slot) = self.ids.get_mut(i) {
            *slot = last;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_remove_full() {
        let mut mem = [0u16; 3];
        let mut t = Qos2Ids::new(&mut mem);
        assert!(t.push(7) && t.push(8) && t.push(9));
        assert!(t.is_full() && !t.push(10));
        assert!(t.contains(8) && !t.contains(10));
        assert!(t.remove(7) && !t.remove(7));
        assert_eq!(t.len(), 2);
        assert!(t.contains(8) && t.contains(9) && !t.contains(7));
        assert!(t.push(10));
        t.clear();
        assert!(!t.contains(9) && t.is_empty());
        let mut none = [0u16; 0];
        let mut t = Qos2Ids::new(&mut none);
        assert!(t.is_full() && !t.push(1) && !t.remove(1));
    }
}
