//! The durable session: what outlives a connection. The store of our QoS
//! 1/2 publications and their packet ids, the ids of the broker's QoS 2
//! messages awaiting PUBREL, the application's outbound topic aliases, the
//! identifier a broker assigned, the counters.

use super::aliases::Aliases;
use super::connection::Request;
use super::qos2::Qos2Ids;
use super::stats::{Qos2Stats, Stats};
use super::store::Store;

/// Longest client identifier a 5.0 broker may assign that is kept (none
/// without 5.0, which has no assigned identifiers).
const ASSIGNED_ID_CAPACITY: usize = if cfg!(feature = "v5") { 64 } else { 0 };

pub(super) struct Durable<'a> {
    pub store: Store<'a>,
    pub next_packet_id: u16,
    /// `next_packet_id` went past 65535 once: an id may be in use again.
    pub ids_wrapped: bool,
    pub inbound_qos2: Qos2Ids<'a>,
    pub out_aliases: Aliases<'a>,
    /// The broker's Topic Alias Maximum (CONNACK; 0 when absent), kept
    /// from the last connection while disconnected, for `out_aliases`.
    pub server_alias_max: u16,
    /// CONNACK accepted a connection once (`clean` then applies rather than
    /// `clean_init`).
    pub connected_once: bool,
    pub assigned_id: heapless::String<ASSIGNED_ID_CAPACITY>,
    pub qos2_stats: Qos2Stats,
    pub stats: Stats,
}

impl<'a> Durable<'a> {
    pub fn new(
        store: &'a mut [u8],
        inbound_qos2: &'a mut [u16],
        out_aliases: &'a mut [u8],
    ) -> Self {
        Durable {
            store: Store::new(store),
            next_packet_id: 0,
            ids_wrapped: false,
            inbound_qos2: Qos2Ids::new(inbound_qos2),
            out_aliases: Aliases::new(out_aliases),
            server_alias_max: 0,
            connected_once: false,
            assigned_id: heapless::String::new(),
            qos2_stats: Qos2Stats::default(),
            stats: Stats::default(),
        }
    }

    /// A packet id used neither by a stored publication nor by one of
    /// `pending`, the requests awaiting acknowledgement.
    pub fn alloc_packet_id(&mut self, pending: &[Request]) -> u16 {
        let mut id = self.next_packet_id;
        loop {
            id = id.wrapping_add(1);
            if id == 0 {
                id = 1;
                self.ids_wrapped = true;
            }
            // Until the ids wrap, every id above the last one handed out is
            // free: no need to look.
            if !self.ids_wrapped {
                return id;
            }
            let used = self.store.find(id).is_some() || pending.iter().any(|r| r.packet_id == id);
            if !used || id == self.next_packet_id {
                return id;
            }
        }
    }
}
