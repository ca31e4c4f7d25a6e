//! A [`Client`] wired to the broker sim over an in-memory link, with a fake
//! clock that jumps from deadline to deadline (quinn-proto's `Pair`).
//!
//! `pump` moves bytes both ways and collects events until nothing moves;
//! `advance(ms)` steps the clock through every client deadline and delayed
//! broker reply up to `ms` later, so an hour of keepalives is a few
//! thousand steps. The pair behaves as the documented driver: it sends all
//! of `poll_transmit`, offers received bytes again after taking events when
//! `handle_input` took fewer, calls `handle_timeout` when `poll_deadline`
//! is due, and closes the link after `ConnectionLost` or `Disconnected`.
//!
//! It takes the client's bytes with `poll_transmit_vectored`, so it can
//! lend payloads ([`Pair::publish_borrowed`]): it keeps each lent payload
//! until the client is done with it, as the documented caller must (QoS
//! 1/2 until `Published`, QoS 0 until handed out or `ConnectionLost` or
//! the next connect), and fails the test if the client asks for one it is
//! done with.

use std::collections::HashMap;

use mqttas::session::{BorrowedPayload, Buffers, ConnectOptions, LostReason, State};
use mqttas::time::Tick;
use mqttas::wire::{Property, QoS, SubOptions, Subscription};
use mqttas::{Client, Config, Error};

use super::broker::Broker;
use super::record::{assemble, Delivered, Ev};

/// Buffer sizes handed to the client.
#[derive(Clone, Copy, Debug)]
pub struct Sizes {
    pub rx: usize,
    pub tx: usize,
    pub store: usize,
    pub aliases: usize,
    /// Inbound QoS 2 ids (not bytes).
    pub qos2: usize,
    /// Outbound topic alias table (bytes).
    pub out_aliases: usize,
}

impl Default for Sizes {
    fn default() -> Self {
        Sizes {
            rx: 4096,
            tx: 4096,
            store: 16 * 1024,
            aliases: 0,
            qos2: 256,
            out_aliases: 1024,
        }
    }
}

/// An event with when it came.
#[derive(Clone, Debug, PartialEq)]
pub struct EvRecord {
    /// Order among all records and events of the pair.
    pub seq: u64,
    /// Simulated milliseconds since the pair started.
    pub t: u64,
    pub ev: Ev,
}

/// Client and broker sim on one link.
pub struct Pair {
    pub client: Client<'static>,
    pub broker: Broker,
    /// Simulated milliseconds since the start.
    pub t: u64,
    /// The client's clock: `start + t`, wrapping.
    pub now: u32,
    start: u32,
    /// The link is up.
    pub link_up: bool,
    /// Every event the app saw.
    pub events: Vec<EvRecord>,
    /// Most bytes given to one `handle_input` call (TCP segment size).
    pub segment: usize,
    /// Client id used by [`Pair::connect`].
    pub client_id: String,
    /// Deliver only this many more bytes to the client, then cut the link.
    pub cut_after_down_bytes: Option<usize>,
    /// Bytes the client produced while the link was down (thrown away).
    pub discarded_tx: usize,
    /// `handle_input` calls that took fewer bytes than offered.
    pub short_inputs: usize,
    /// The client ended this link (ConnectionLost/Disconnected) or there is none.
    ended: bool,
    /// Index of the first event not yet returned by `take_events`.
    fresh: usize,
    /// Payloads lent to the client, by token, until it is done with them.
    pub lent: HashMap<usize, Vec<u8>>,
    /// The token of each QoS 1/2 publication with a lent payload.
    lent_ids: HashMap<u16, usize>,
    /// The lent QoS 0 payload, if any.
    lent_qos0: Option<usize>,
    next_token: usize,
    /// Lent payloads the client asked for (each time it sent one).
    pub lent_sent: usize,
    /// Packet ids of the QoS 2 publications whose lent payload the client
    /// returned (`poll_returned`, after PUBREC), in order.
    pub returned: Vec<u16>,
}

fn leak(n: usize) -> &'static mut [u8] {
    Box::leak(vec![0u8; n].into_boxed_slice())
}

impl Pair {
    /// Default buffers, clock at 0.
    pub fn new(config: Config) -> Pair {
        Pair::with(config, Sizes::default(), 0)
    }

    /// Default buffers, clock at 0, connected ([`connect_ok`](Self::connect_ok)).
    pub fn connected(config: Config) -> Pair {
        let mut p = Pair::new(config);
        p.connect_ok();
        p
    }

    /// Given buffers and a clock starting at `start`.
    pub fn with(config: Config, sizes: Sizes, start: u32) -> Pair {
        let buffers = Buffers {
            rx: leak(sizes.rx),
            tx: leak(sizes.tx),
            store: leak(sizes.store),
            aliases: leak(sizes.aliases),
            out_aliases: leak(sizes.out_aliases),
            inbound_qos2: Box::leak(vec![0u16; sizes.qos2].into_boxed_slice()),
        };
        let client = Client::new(config, buffers).expect("Client::new");
        Pair {
            client,
            broker: Broker::new(),
            t: 0,
            now: start,
            start,
            link_up: false,
            events: Vec::new(),
            segment: usize::MAX,
            client_id: "sim-client".to_string(),
            cut_after_down_bytes: None,
            discarded_tx: 0,
            short_inputs: 0,
            ended: true,
            fresh: 0,
            lent: HashMap::new(),
            lent_ids: HashMap::new(),
            lent_qos0: None,
            next_token: 1,
            lent_sent: 0,
            returned: Vec::new(),
        }
    }

    // ---- link ----

    /// Bring the link up (if down) and connect with `client_id`.
    pub fn connect(&mut self) {
        let id = self.client_id.clone();
        let opts = ConnectOptions {
            client_id: &id,
            ..ConnectOptions::default()
        };
        self.connect_with(&opts).expect("Client::connect");
    }

    /// Bring the link up (if down), call `connect` with these options, pump.
    pub fn connect_with(&mut self, opts: &ConnectOptions<'_>) -> Result<(), Error> {
        if !self.link_up {
            self.link_up = true;
            self.broker.open();
            self.ended = false;
        }
        let r = self.client.connect(self.now, opts);
        // A connect drops a QoS 0 message still queued.
        self.release_qos0();
        self.pump();
        r
    }

    /// Connect and expect `Connected` as the first event of this connect;
    /// marks every event up to it as taken. Returns its session present flag.
    pub fn connect_ok(&mut self) -> bool {
        let from = self.events.len();
        self.connect();
        match self.events.get(from).map(|e| &e.ev) {
            Some(Ev::Connected {
                session_present, ..
            }) => {
                self.fresh = from + 1;
                *session_present
            }
            _ => panic!(
                "expected Connected after connect, got {:?}",
                self.events[from..]
                    .iter()
                    .map(|e| &e.ev)
                    .collect::<Vec<_>>()
            ),
        }
    }

    /// Break the link now: the broker closes, the client is told with
    /// `handle_link_down` (unless it ended the link itself).
    pub fn cut(&mut self) {
        if !self.link_up {
            return;
        }
        self.link_up = false;
        self.broker.close();
        if !self.ended {
            self.ended = true;
            self.client.handle_link_down(self.now);
        }
        self.drain_events();
        // Whatever the client still had to send is lost with the link.
        while let Some(b) = self.transmit_one() {
            self.discarded_tx += b.len();
        }
    }

    /// An outage that heals: [`cut`](Self::cut), give the broker back its
    /// default replies, [`connect_ok`](Self::connect_ok) and pump. Returns
    /// the session present flag.
    pub fn reconnect(&mut self) -> bool {
        self.reconnect_with(|_| {})
    }

    /// [`reconnect`](Self::reconnect), changing the broker with `change`
    /// while the link is down (its CONNACK, say).
    pub fn reconnect_with(&mut self, change: impl FnOnce(&mut Broker)) -> bool {
        self.cut();
        self.broker.replies = Default::default();
        change(&mut self.broker);
        let present = self.connect_ok();
        self.pump();
        present
    }

    /// The next bytes the client sends, its head and the payload it lent
    /// assembled, or `None`.
    pub fn transmit_one(&mut self) -> Option<Vec<u8>> {
        let t = self.client.poll_transmit_vectored(self.now)?;
        let mut bytes = t.head.to_vec();
        assert!(!bytes.is_empty(), "poll_transmit_vectored: an empty head");
        if let Some(p) = t.payload {
            let payload = self.lent.get(&p.token).unwrap_or_else(|| {
                panic!(
                    "the client asked for lent payload {} it is done with",
                    p.token
                )
            });
            assert_eq!(payload.len(), p.len, "length of lent payload {}", p.token);
            bytes.extend_from_slice(payload);
            self.lent_sent += 1;
            if self.lent_qos0 == Some(p.token) {
                // Handed out: the client is done with it.
                self.release_qos0();
            }
        }
        Some(bytes)
    }

    fn release_qos0(&mut self) {
        if let Some(t) = self.lent_qos0.take() {
            self.lent.remove(&t);
        }
    }

    // ---- moving bytes ----

    /// Move bytes both ways and collect events until nothing moves.
    pub fn pump(&mut self) {
        self.broker.t = self.t;
        for _ in 0..1_000_000 {
            let mut progress = false;

            while let Some(bytes) = self.transmit_one() {
                progress = true;
                if self.link_up {
                    self.broker.receive(&bytes);
                    if self.broker.cut_requested {
                        self.cut();
                    }
                } else {
                    self.discarded_tx += bytes.len();
                }
            }

            if self.link_up && !self.broker.to_client.is_empty() {
                let mut n = self.broker.to_client.len().min(self.segment);
                if let Some(left) = self.cut_after_down_bytes {
                    n = n.min(left);
                }
                if n > 0 {
                    let taken = self
                        .client
                        .handle_input(self.now, &self.broker.to_client[..n]);
                    assert!(taken <= n, "handle_input took {taken} of {n} bytes");
                    if taken < n {
                        self.short_inputs += 1;
                    }
                    self.broker.to_client.drain(..taken);
                    if let Some(left) = self.cut_after_down_bytes.as_mut() {
                        *left -= taken;
                    }
                    progress |= taken > 0;
                }
                if self.cut_after_down_bytes == Some(0) {
                    self.cut_after_down_bytes = None;
                    self.cut();
                    progress = true;
                }
            }

            progress |= self.drain_events();

            // The broker closed its side and everything it sent is read.
            if self.link_up && self.broker.is_closing() && self.broker.to_client.is_empty() {
                self.cut();
                progress = true;
            }

            if !progress {
                return;
            }
        }
        panic!("pump: client and broker never went quiet");
    }

    /// Take back the lent payloads the client returned (QoS 2, PUBREC
    /// came), as soon as it does: from then on it must never ask for them.
    fn take_returned(&mut self) -> bool {
        let mut got = false;
        while let Some(id) = self.client.poll_returned() {
            let t = self
                .lent_ids
                .remove(&id)
                .unwrap_or_else(|| panic!("returned {id}: no lent payload outstanding"));
            self.lent.remove(&t);
            self.returned.push(id);
            got = true;
        }
        got
    }

    /// Take every event; after `ConnectionLost` or `Disconnected` send
    /// what the client still has and close the link.
    pub fn drain_events(&mut self) -> bool {
        let mut got = self.take_returned();
        let mut end = false;
        let mut guard = 0;
        while let Some(e) = self.client.poll_event() {
            let ev = Ev::from_event(&e);
            end |= ev.ends_link();
            match ev {
                Ev::Published { packet_id, .. } => {
                    if let Some(t) = self.lent_ids.remove(&packet_id) {
                        self.lent.remove(&t);
                    }
                }
                // The client drops a QoS 0 message still queued.
                Ev::ConnectionLost(_) => self.release_qos0(),
                _ => {}
            }
            let seq = self.broker.next_seq();
            self.events.push(EvRecord { seq, t: self.t, ev });
            got = true;
            guard += 1;
            assert!(guard < 1_000_000, "poll_event never returns None");
        }
        got |= self.take_returned();
        if end {
            self.ended = true;
            if self.link_up {
                // The last bytes (a 5.0 DISCONNECT) go out, then the
                // driver closes the link as the event asks.
                while let Some(bytes) = self.transmit_one() {
                    self.broker.receive(&bytes);
                }
                self.link_up = false;
                self.broker.close();
            }
        }
        got
    }

    // ---- time ----

    fn set_t(&mut self, t: u64) {
        self.t = t;
        self.now = self.start.wrapping_add(t as u32);
        self.broker.t = t;
    }

    /// When the client wants `handle_timeout`, in pair time.
    pub fn client_due(&self) -> Option<u64> {
        self.client.poll_deadline().map(|d| {
            let delta = Tick::from(d).saturating_since(Tick::from(self.now));
            self.t + u64::from(delta)
        })
    }

    fn next_wakeup(&self) -> Option<u64> {
        match (self.client_due(), self.broker.next_due()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn fire(&mut self) {
        self.broker.run_due();
        if let Some(d) = self.client.poll_deadline() {
            if Tick::from(self.now).reached(Tick::from(d)) {
                self.client.handle_timeout(self.now);
            }
        }
        self.pump();
    }

    /// Let `ms` of simulated time pass, stepping through every deadline.
    pub fn advance(&mut self, ms: u64) {
        self.run_until(ms, |_| false);
    }

    /// Step through deadlines until `pred` holds or `max_ms` have passed;
    /// returns whether `pred` held.
    pub fn run_until(&mut self, max_ms: u64, mut pred: impl FnMut(&Pair) -> bool) -> bool {
        let end = self.t + max_ms;
        self.pump();
        let mut stuck = 0;
        loop {
            if pred(self) {
                return true;
            }
            match self.next_wakeup() {
                Some(w) if w <= end => {
                    if w > self.t {
                        self.set_t(w);
                        stuck = 0;
                    } else {
                        stuck += 1;
                        assert!(
                            stuck < 1000,
                            "poll_deadline stays at or before now (t={} ms, now={:#x}, deadline {:?}) after handle_timeout",
                            self.t,
                            self.now,
                            self.client.poll_deadline()
                        );
                    }
                    self.fire();
                }
                _ => {
                    if end > self.t {
                        self.set_t(end);
                    }
                    self.fire();
                    return pred(self);
                }
            }
        }
    }

    // ---- commands (no pump: call `pump` or `advance` after) ----

    /// Publish without retain or properties.
    pub fn publish(&mut self, topic: &str, payload: &[u8], qos: QoS) -> Result<u16, Error> {
        self.client
            .publish(self.now, topic, payload, qos, false, &[])
    }

    /// Publish with retain and properties.
    pub fn publish_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        props: &[Property<'_>],
    ) -> Result<u16, Error> {
        self.client
            .publish(self.now, topic, payload, qos, retain, props)
    }

    /// Publish with a payload lent to the client rather than copied; the
    /// pair keeps it until the client is done with it.
    pub fn publish_borrowed(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
    ) -> Result<u16, Error> {
        self.publish_borrowed_with(topic, payload, qos, false, &[])
    }

    /// [`Pair::publish_borrowed`] with retain and properties.
    pub fn publish_borrowed_with(
        &mut self,
        topic: &str,
        payload: &[u8],
        qos: QoS,
        retain: bool,
        props: &[Property<'_>],
    ) -> Result<u16, Error> {
        let token = self.next_token;
        self.next_token += 1;
        let lent = BorrowedPayload {
            token,
            len: payload.len(),
        };
        let r = self
            .client
            .publish_borrowed(self.now, topic, lent, qos, retain, props);
        if let Ok(id) = r {
            self.lent.insert(token, payload.to_vec());
            if qos == QoS::AtMostOnce {
                // Accepted: no earlier QoS 0 payload is lent any more.
                self.release_qos0();
                self.lent_qos0 = Some(token);
            } else {
                assert!(
                    self.lent_ids.insert(id, token).is_none(),
                    "packet id {id} handed out twice"
                );
            }
        }
        r
    }

    /// Subscribe to one filter.
    pub fn subscribe(&mut self, filter: &str, qos: QoS) -> Result<u16, Error> {
        let s = [Subscription {
            filter,
            options: SubOptions::qos(qos),
        }];
        self.client.subscribe(self.now, &s, &[])
    }

    /// Unsubscribe from one filter.
    pub fn unsubscribe(&mut self, filter: &str) -> Result<u16, Error> {
        self.client.unsubscribe(self.now, &[filter], &[])
    }

    /// Client connection state.
    pub fn state(&self) -> State {
        self.client.state()
    }

    // ---- events ----

    /// Events since the last `take_events`.
    pub fn take_events(&mut self) -> Vec<Ev> {
        let out = self.events[self.fresh..]
            .iter()
            .map(|e| e.ev.clone())
            .collect();
        self.fresh = self.events.len();
        out
    }

    /// Every event so far.
    pub fn all_events(&self) -> Vec<Ev> {
        self.events.iter().map(|e| e.ev.clone()).collect()
    }

    /// Every inbound message so far, chunked ones assembled.
    pub fn messages(&self) -> Vec<Delivered> {
        assemble(self.events.iter().map(|e| &e.ev))
    }

    /// Every ConnectionLost reason so far, with its time.
    pub fn lost(&self) -> Vec<(u64, LostReason)> {
        self.events
            .iter()
            .filter_map(|e| match e.ev {
                Ev::ConnectionLost(r) => Some((e.t, r)),
                _ => None,
            })
            .collect()
    }

    /// The packet ids of every Published event so far, sorted.
    pub fn published_ids(&self) -> Vec<u16> {
        let mut ids: Vec<u16> = self.published().iter().map(|x| x.0).collect();
        ids.sort();
        ids
    }

    /// Every Published event so far: (packet id, reason code).
    pub fn published(&self) -> Vec<(u16, u8)> {
        self.events
            .iter()
            .filter_map(|e| match e.ev {
                Ev::Published { packet_id, reason } => Some((packet_id, reason)),
                _ => None,
            })
            .collect()
    }
}
