//! Heap-allocated buffers for a host [`Client`](crate::Client).

use crate::session::Buffers;

/// The buffers a [`Client`](crate::Client) borrows, allocated on the
/// heap. On a device they would be static arrays; on the host a `Storage`
/// saves writing them out.
#[derive(Clone, Debug)]
pub struct Storage {
    rx: Vec<u8>,
    tx: Vec<u8>,
    store: Vec<u8>,
    aliases: Vec<u8>,
    out_aliases: Vec<u8>,
    inbound_qos2: Vec<u16>,
}

/// Inbound QoS 2 ids a host client tracks by default: more than brokers
/// send beyond the receive maximum they are told (mosquitto 2.0.11: up to
/// 153 against 16).
pub const HOST_INBOUND_QOS2_IDS: usize = 256;

impl Storage {
    /// Buffers of the given sizes in bytes (see [`Buffers`] for what each
    /// holds and its minimum), and an inbound QoS 2 id table of
    /// [`HOST_INBOUND_QOS2_IDS`].
    pub fn new(rx: usize, tx: usize, store: usize, aliases: usize) -> Self {
        Storage {
            rx: vec![0; rx],
            tx: vec![0; tx],
            store: vec![0; store],
            aliases: vec![0; aliases],
            out_aliases: Vec::new(),
            inbound_qos2: vec![0; HOST_INBOUND_QOS2_IDS],
        }
    }

    /// An outbound topic alias table of `bytes` (none by default).
    pub fn with_out_aliases(mut self, bytes: usize) -> Self {
        self.out_aliases = vec![0; bytes];
        self
    }

    /// Room for `ids` inbound QoS 2 packet ids instead.
    pub fn with_inbound_qos2(mut self, ids: usize) -> Self {
        self.inbound_qos2 = vec![0; ids];
        self
    }

    /// Borrow them for [`Client::new`](crate::Client::new).
    pub fn buffers(&mut self) -> Buffers<'_> {
        Buffers {
            rx: &mut self.rx,
            tx: &mut self.tx,
            store: &mut self.store,
            aliases: &mut self.aliases,
            out_aliases: &mut self.out_aliases,
            inbound_qos2: &mut self.inbound_qos2,
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
