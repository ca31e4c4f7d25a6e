//! Heap-allocated buffers for a host [`Client`](crate::Client).

use crate::session::Buffers;

/// The four buffers a [`Client`](crate::Client) borrows, allocated on the
/// heap. On a device they would be static arrays; on the host a `Storage`
/// saves writing them out.
#[derive(Clone, Debug)]
pub struct Storage {
    rx: Vec<u8>,
    tx: Vec<u8>,
    store: Vec<u8>,
    aliases: Vec<u8>,
}

impl Storage {
    /// Buffers of the given sizes in bytes (see [`Buffers`] for what each
    /// holds and its minimum).
    pub fn new(rx: usize, tx: usize, store: usize, aliases: usize) -> Self {
        Storage {
            rx: vec![0; rx],
            tx: vec![0; tx],
            store: vec![0; store],
            aliases: vec![0; aliases],
        }
    }

    /// Borrow them for [`Client::new`](crate::Client::new).
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            store: &mut self.store,
            aliases: &mut self.aliases,
        }
    }
}

impl Default for Storage {
    /// 4 KiB receive and transmit buffers, a 16 KiB store, no topic alias
    /// table.
    fn default() -> Self {
        Storage::new(4096, 4096, 16 * 1024, 0)
    }
}
