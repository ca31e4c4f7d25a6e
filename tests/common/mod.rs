//! Support for the integration tests: a real mosquitto ([`mosquitto`]) and
//! a test client ([`Peer`]) that runs the crate's TCP driver and records
//! what it sees as owned values.
#![allow(dead_code)] // each test binary uses a different part of this

pub mod mosquitto;
pub mod scenarios;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use mqttas::driver::{Clock, Storage, TcpDriver};
use mqttas::session::ConnectOptions;
use mqttas::wire::{Property, SubOptions, Subscription, Will};
use mqttas::{Client, Config, Event, QoS, ReasonCode, Version};

pub use mosquitto::{Mosquitto, Options};

/// Default patience for anything the broker should do at once.
pub const PATIENCE: Duration = Duration::from_secs(5);

/// An event copied out of the client (events borrow its buffers).
#[derive(Clone, Debug, PartialEq)]
pub enum Seen {
    Connected {
        session_present: bool,
        assigned_id: Option<String>,
    },
    Message(Msg),
    Published {
        packet_id: u16,
        reason: u8,
    },
    Subscribed {
        packet_id: u16,
        codes: Vec<u8>,
    },
    Unsubscribed {
        packet_id: u16,
        codes: Vec<u8>,
    },
    Lost(String),
    Disconnected,
    Auth(u8),
    /// A 3.1.1 message above our maximum packet size: (topic, size).
    Skipped(String, u32),
}

/// An inbound message, whole (chunked ones are put back together).
#[derive(Clone, Debug, PartialEq)]
pub struct Msg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub user: Vec<(String, String)>,
    pub subscription_ids: Vec<u32>,
}

fn msg_from(
    topic: &str,
    payload: &[u8],
    qos: QoS,
    retain: bool,
    dup: bool,
    props: mqttas::wire::Properties<'_>,
) -> Msg {
    let mut user = Vec::new();
    let mut subscription_ids = Vec::new();
    for p in props.iter() {
        match p {
            Property::UserProperty(k, v) => user.push((k.to_string(), v.to_string())),
            Property::SubscriptionIdentifier(id) => subscription_ids.push(id),
            _ => {}
        }
    }
    Msg {
        topic: topic.to_string(),
        payload: payload.to_vec(),
        qos,
        retain,
        dup,
        user,
        subscription_ids,
    }
}

/// Turns events into [`Seen`] values, joining chunked messages.
#[derive(Default)]
struct Recorder {
    chunked: Option<Msg>,
}

impl Recorder {
    fn record(&mut self, e: &Event<'_>) -> Option<Seen> {
        Some(match e {
            Event::Connected {
                session_present,
                properties,
            } => Seen::Connected {
                session_present: *session_present,
                assigned_id: properties.iter().find_map(|p| match p {
                    Property::AssignedClientIdentifier(id) => Some(id.to_string()),
                    _ => None,
                }),
            },
            Event::Message(m) => Seen::Message(msg_from(
                m.topic,
                m.payload,
                m.qos,
                m.retain,
                m.dup,
                m.properties,
            )),
            Event::MessageStart(m) => {
                self.chunked = Some(msg_from(m.topic, &[], m.qos, m.retain, m.dup, m.properties));
                return None;
            }
            Event::MessageChunk(c) => {
                if let Some(m) = self.chunked.as_mut() {
                    m.payload.extend_from_slice(c);
                }
                return None;
            }
            Event::MessageEnd => Seen::Message(
                self.chunked
                    .take()
                    .expect("MessageEnd without MessageStart"),
            ),
            Event::Published { packet_id, reason } => Seen::Published {
                packet_id: *packet_id,
                reason: reason.0,
            },
            Event::Subscribed {
                packet_id, codes, ..
            } => Seen::Subscribed {
                packet_id: *packet_id,
                codes: codes.to_vec(),
            },
            Event::Unsubscribed {
                packet_id, codes, ..
            } => Seen::Unsubscribed {
                packet_id: *packet_id,
                codes: codes.to_vec(),
            },
            Event::Auth { reason, .. } => Seen::Auth(reason.0),
            Event::MessageSkipped { topic, size, .. } => Seen::Skipped(topic.to_string(), *size),
            Event::ConnectionLost(reason) => Seen::Lost(reason.to_string()),
            Event::Disconnected => Seen::Disconnected,
        })
    }
}

/// A test client: the crate's [`TcpDriver`] over leaked storage, with an
/// inbox of events not yet claimed by an `expect`.
pub struct Peer {
    pub name: String,
    pub driver: TcpDriver<'static>,
    inbox: VecDeque<Seen>,
    recorder: Recorder,
}

/// How a [`Peer`] connects.
#[derive(Clone, Debug)]
pub struct PeerOptions {
    pub config: Config,
    pub client_id: String,
    pub username: Option<String>,
    pub password: Option<Vec<u8>>,
    pub will: Option<(String, Vec<u8>, QoS, bool)>,
    pub clock: Option<u32>,
    pub storage: (usize, usize, usize, usize),
}

impl PeerOptions {
    pub fn new(version: Version, client_id: &str) -> Self {
        PeerOptions {
            config: Config {
                version,
                ..Config::default()
            },
            client_id: client_id.to_string(),
            username: None,
            password: None,
            will: None,
            clock: None,
            storage: (4096, 4096, 16 * 1024, 0),
        }
    }

    /// Kept session: clean_init and clean both false.
    pub fn persistent(mut self) -> Self {
        self.config.clean_init = false;
        self.config.clean = false;
        self
    }
}

impl Peer {
    /// A client that is not connected yet.
    pub fn new(name: &str, opts: &PeerOptions) -> Peer {
        let (rx, tx, store, aliases) = opts.storage;
        // Leaked so the client can borrow it for 'static: a few KiB per test.
        let storage: &'static mut Storage = Box::leak(Box::new(
            Storage::new(rx, tx, store, aliases).with_out_aliases(1024),
        ));
        let client = Client::new(opts.config, storage.buffers()).expect("Client::new");
        let clock = opts.clock.map(Clock::starting_at).unwrap_or_default();
        Peer {
            name: name.to_string(),
            driver: TcpDriver::with_clock(client, clock),
            inbox: VecDeque::new(),
            recorder: Recorder::default(),
        }
    }

    /// Open the TCP connection and send CONNECT (no waiting).
    pub fn start_connect(&mut self, addr: &str, opts: &PeerOptions) {
        let result = self.driver.connect(addr, &connect_options(opts));
        if let Err(e) = result {
            panic!("{}: connect to {addr}: {e}", self.name);
        }
    }

    /// Connect again to the broker of the last connection (the driver's
    /// reconnect) and wait for CONNACK; returns session present.
    pub fn reconnect(&mut self, opts: &PeerOptions) -> bool {
        let result = self.driver.reconnect(&connect_options(opts));
        if let Err(e) = result {
            panic!("{}: reconnect: {e}", self.name);
        }
        self.await_connack()
    }

    /// Connect and wait for CONNACK; returns session present.
    pub fn connect(&mut self, addr: &str, opts: &PeerOptions) -> bool {
        self.start_connect(addr, opts);
        self.await_connack()
    }

    fn await_connack(&mut self) -> bool {
        match self.expect("CONNACK", |s| {
            matches!(s, Seen::Connected { .. } | Seen::Lost(_))
        }) {
            Seen::Connected {
                session_present, ..
            } => session_present,
            other => panic!("{}: connection refused or lost: {other:?}", self.name),
        }
    }

    /// A new connected client.
    pub fn connected(name: &str, addr: &str, opts: &PeerOptions) -> Peer {
        let mut p = Peer::new(name, opts);
        p.connect(addr, opts);
        p
    }

    /// Poll for up to `timeout`; every event goes to the inbox.
    pub fn pump(&mut self, timeout: Duration) {
        let (inbox, recorder) = (&mut self.inbox, &mut self.recorder);
        self.driver.run_until(timeout, |e| {
            if let Some(s) = recorder.record(e) {
                inbox.push_back(s);
            }
            false
        });
    }

    /// The first event in the inbox, or arriving within `timeout`, that
    /// `want` accepts (removed from the inbox); None on timeout.
    pub fn wait_for(
        &mut self,
        timeout: Duration,
        mut want: impl FnMut(&Seen) -> bool,
    ) -> Option<Seen> {
        if let Some(i) = self.inbox.iter().position(&mut want) {
            return self.inbox.remove(i);
        }
        let end = Instant::now() + timeout;
        let mut found = None;
        while found.is_none() {
            let left = end.saturating_duration_since(Instant::now());
            let (inbox, recorder) = (&mut self.inbox, &mut self.recorder);
            let stopped = self.driver.run_until(left, |e| match recorder.record(e) {
                Some(s) if want(&s) => {
                    found = Some(s);
                    true
                }
                Some(s) => {
                    inbox.push_back(s);
                    false
                }
                None => false,
            });
            if !stopped {
                break;
            }
        }
        found
    }

    /// Like [`Peer::wait_for`] with [`PATIENCE`], panicking with what was
    /// seen instead when nothing matches.
    pub fn expect(&mut self, what: &str, want: impl FnMut(&Seen) -> bool) -> Seen {
        match self.wait_for(PATIENCE, want) {
            Some(s) => s,
            None => panic!(
                "{}: no {what} within {PATIENCE:?}; seen instead: {:#?}",
                self.name, self.inbox
            ),
        }
    }

    /// Wait for the message on `topic`.
    pub fn expect_message(&mut self, topic: &str) -> Msg {
        match self.expect(
            &format!("message on {topic}"),
            |s| matches!(s, Seen::Message(m) if m.topic == topic),
        ) {
            Seen::Message(m) => m,
            _ => unreachable!(),
        }
    }

    /// Wait for the completion of publication `packet_id`; returns its reason code.
    pub fn expect_published(&mut self, packet_id: u16) -> u8 {
        match self.expect(
            &format!("completion of publication {packet_id}"),
            |s| matches!(s, Seen::Published { packet_id: id, .. } if *id == packet_id),
        ) {
            Seen::Published { reason, .. } => reason,
            _ => unreachable!(),
        }
    }

    /// Wait for ConnectionLost; returns its reason as text.
    pub fn expect_lost(&mut self, within: Duration) -> String {
        match self.wait_for(within, |s| matches!(s, Seen::Lost(_))) {
            Some(Seen::Lost(r)) => r,
            _ => panic!(
                "{}: connection not lost within {within:?}; seen: {:#?}",
                self.name, self.inbox
            ),
        }
    }

    /// Subscribe and wait for the SUBACK; returns the granted codes.
    pub fn subscribe(&mut self, filter: &str, qos: QoS, properties: &[Property<'_>]) -> Vec<u8> {
        let subs = [Subscription {
            filter,
            options: SubOptions::qos(qos),
        }];
        let id = self.driver.subscribe(&subs, properties).expect("subscribe");
        match self.expect(
            "SUBACK",
            |s| matches!(s, Seen::Subscribed { packet_id, .. } if *packet_id == id),
        ) {
            Seen::Subscribed { codes, .. } => codes,
            _ => unreachable!(),
        }
    }

    /// Unsubscribe and wait for the UNSUBACK.
    pub fn unsubscribe(&mut self, filter: &str) {
        let id = self
            .driver
            .unsubscribe(&[filter], &[])
            .expect("unsubscribe");
        self.expect(
            "UNSUBACK",
            |s| matches!(s, Seen::Unsubscribed { packet_id, .. } if *packet_id == id),
        );
    }

    /// Publish; returns the packet id (0 for QoS 0).
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) -> u16 {
        self.driver
            .publish(topic, payload, qos, retain, &[])
            .expect("publish")
    }

    /// Publish at QoS 1 or 2 and wait until it is complete (success).
    pub fn publish_acked(&mut self, topic: &str, payload: &[u8], qos: QoS, retain: bool) {
        let id = self.publish(topic, payload, qos, retain);
        assert_ne!(id, 0, "QoS {qos:?} publication got no packet id");
        let reason = self.expect_published(id);
        assert!(
            reason < 0x80,
            "{}: publication on {topic} refused: {reason:#04x}",
            self.name
        );
    }

    /// Send DISCONNECT and wait until it is out.
    pub fn disconnect(&mut self) {
        self.driver
            .disconnect(ReasonCode::SUCCESS, &[])
            .expect("disconnect");
        self.expect("Disconnected", |s| matches!(s, Seen::Disconnected));
        assert!(
            !self.driver.is_link_up(),
            "{}: socket left open after Disconnected",
            self.name
        );
    }

    /// Messages in the inbox on topics starting with `prefix`, removed.
    pub fn take_messages(&mut self, prefix: &str) -> Vec<Msg> {
        let mut out = Vec::new();
        self.inbox.retain(|s| match s {
            Seen::Message(m) if m.topic.starts_with(prefix) => {
                out.push(m.clone());
                false
            }
            _ => true,
        });
        out
    }

    /// Everything in the inbox.
    pub fn inbox(&self) -> &VecDeque<Seen> {
        &self.inbox
    }
}

fn connect_options(opts: &PeerOptions) -> ConnectOptions<'_> {
    let will = opts
        .will
        .as_ref()
        .map(|(topic, payload, qos, retain)| Will {
            topic,
            payload,
            qos: *qos,
            retain: *retain,
            properties: Default::default(),
        });
    ConnectOptions {
        client_id: &opts.client_id,
        username: opts.username.as_deref(),
        password: opts.password.as_deref(),
        will,
        properties: &[],
    }
}

/// A name unique within the test process, for client ids and topics.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
