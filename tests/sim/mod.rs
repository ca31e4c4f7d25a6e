//! An in-memory MQTT broker and a client/broker pair with a jumping clock,
//! in the manner of quinn-proto's test harness: hours of keepalives, lost
//! replies and link cuts run in milliseconds, deterministically.
//!
//! - [`broker`]: the broker side, written with the crate's own codec.
//! - [`pair`]: a [`mqttas::Client`] wired to a [`broker::Broker`], a fake
//!   clock that steps through deadlines, and the events the app saw.
//! - [`record`]: owned summaries of packets and events for assertions.
//! - [`topic`]: topic filter matching (`+`, `#`).
//! - [`rng`]: a tiny seeded xorshift, so randomized tests replay exactly.
//!
//! Every test file includes it with `#[path = "sim/mod.rs"] mod sim;` and
//! uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod broker;
pub mod pair;
pub mod record;
pub mod rng;
pub mod topic;

pub use broker::{Broker, Cut, Reply};
pub use pair::{Pair, Sizes};
pub use record::{Delivered, Dir, Ev, Pkt, PubPkt, Record};
pub use rng::Rng;

use mqttas::{Config, Version};

/// Default config, MQTT 3.1.1.
pub fn v311() -> Config {
    Config::default()
}

/// Default config, MQTT 5.0.
pub fn v5() -> Config {
    Config {
        version: Version::V5,
        ..Config::default()
    }
}

/// The config of `version`.
pub fn config(version: Version) -> Config {
    Config {
        version,
        ..Config::default()
    }
}

/// The config of `version` whose session outlives every connection.
pub fn kept(version: Version) -> Config {
    Config {
        clean_init: false,
        clean: false,
        ..config(version)
    }
}

/// Client PUBLISHes on connection `conn`: (id, dup, payload).
pub fn publishes_on(p: &pair::Pair, conn: u32) -> Vec<(Option<u16>, bool, Vec<u8>)> {
    p.broker
        .up_publishes()
        .iter()
        .filter(|(r, _)| r.conn == conn)
        .map(|(_, p)| (p.id, p.dup, p.payload.clone()))
        .collect()
}

/// Both protocol versions, for tests that run once per version.
pub const VERSIONS: [Version; 2] = [Version::V311, Version::V5];
