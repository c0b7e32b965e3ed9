//! The simulated world: replicas running the real machine, relays running the real core, and a
//! faulty network.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use kompas_engine::document::{Assignment, DocId};
use kompas_engine::identity::Identity;
use kompas_engine::replica::Replica;
use kompas_engine::store::MemoryStore;
use kompas_engine::sync::membership::Role;
use kompas_engine::sync::replication::{Effect, Entropy, Event, Machine, Mode, Report, SimRng};
use kompas_engine::sync::wire::{ErrorCode, Message};
use kompas_engine::time::Timestamp;
use kompas_engine::{DocView, OrgType, Store};

use super::relay_host::{Sent, SimRelay};

/// One organisation's replica.
pub struct Node {
    pub replica: Replica<Arc<MemoryStore>>,
    pub machine: Option<Machine>,
    links: BTreeMap<usize, u64>,
    wake: Option<Timestamp>,
}

struct Packet {
    conn: u64,
    to_relay: bool,
    sent: Sent,
}

impl Packet {
    fn message(&self) -> Option<&Message> {
        match &self.sent {
            Sent::Message(m) => Some(m.as_ref()),
            Sent::Close => None,
        }
    }

    fn is_pushed(&self) -> bool {
        matches!(self.message(), Some(Message::Pushed { .. }))
    }
}

/// An event from one of a replica's connections. It is dropped if the replica no longer holds
/// that connection when its turn comes, as the driver drops the events of a connection it
/// replaced or closed.
struct Pending {
    node: usize,
    relay: usize,
    conn: u64,
    event: Event,
}

/// Everything in one simulation run.
pub struct World {
    pub rng: SimRng,
    pub now: Timestamp,
    pub relays: Vec<SimRelay>,
    pub nodes: Vec<Node>,
    conns: BTreeMap<u64, (usize, usize)>,
    next_conn: u64,
    packets: Vec<Packet>,
    events: VecDeque<Pending>,
    cut: BTreeSet<(usize, usize)>,
    /// Whether the network duplicates and reorders messages.
    pub faults: bool,
    /// Every refusal any replica reported.
    pub refusals: Vec<String>,
    /// Every refusal a relay sent, with its code, as the replicas reported it.
    pub relay_errors: Vec<(ErrorCode, String)>,
}

fn relay_name(r: usize) -> String {
    format!("sim://relay-{r}")
}

fn relay_index(name: &str) -> Option<usize> {
    name.strip_prefix("sim://relay-")?.parse().ok()
}

impl World {
    /// `replicas` organisations in one workspace over `relays` relays; organisation 0 created
    /// it and invited the others, who have joined locally but not synced yet.
    pub fn new(seed: u64, replicas: usize, relays: usize) -> World {
        let mut rng = SimRng::new(seed);
        let now = Timestamp(1_800_000_000_000);
        let names: Vec<String> = (0..relays).map(relay_name).collect();
        let mut nodes = Vec::new();
        for i in 0..replicas {
            let store = Arc::new(MemoryStore::default());
            let mut seed_bytes = [0u8; 32];
            let mut actor = [0u8; 16];
            rng.fill(&mut seed_bytes);
            rng.fill(&mut actor);
            let identity = Identity::new(
                &format!("Organisatie {i}"),
                OrgType::Gemeente,
                seed_bytes,
                actor,
            );
            let replica = kompas_engine::composition::init(store, identity).expect("init");
            nodes.push(Node {
                replica,
                machine: None,
                links: BTreeMap::new(),
                wake: None,
            });
        }
        let mut first =
            Machine::create(&nodes[0].replica, "Simulatie", names, now, &mut rng).expect("create");
        for node in nodes.iter().skip(1) {
            let code = first
                .invite(
                    &nodes[0].replica,
                    Role::Partner,
                    Timestamp(now.0 + 86_400_000),
                    now,
                    &mut rng,
                )
                .expect("invite");
            Machine::join(&node.replica, &code).expect("join");
        }
        let mut world = World {
            rng,
            now,
            relays: (0..relays).map(|r| SimRelay::new(r as u8 + 100)).collect(),
            nodes,
            conns: BTreeMap::new(),
            next_conn: 1,
            packets: Vec::new(),
            events: VecDeque::new(),
            cut: BTreeSet::new(),
            faults: true,
            refusals: Vec::new(),
            relay_errors: Vec::new(),
        };
        for i in 0..replicas {
            world.boot(i);
        }
        world
    }

    /// (Re)loads a replica's machine from its store and starts it.
    fn boot(&mut self, i: usize) {
        let machine = Machine::load(&self.nodes[i].replica, Mode::Watch)
            .expect("load")
            .expect("workspace");
        self.nodes[i].machine = Some(machine);
        self.nodes[i].wake = None;
        self.feed(i, Event::Start);
    }

    fn feed(&mut self, i: usize, event: Event) {
        let node = &mut self.nodes[i];
        let Some(machine) = node.machine.as_mut() else {
            return;
        };
        let effects = machine
            .handle(&node.replica, self.now, &mut self.rng, event)
            .expect("machine failed");
        for effect in effects {
            self.effect(i, effect);
        }
    }

    fn effect(&mut self, i: usize, effect: Effect) {
        match effect {
            Effect::Connect { relay } => {
                let Some(r) = relay_index(&relay) else { return };
                let conn = self.next_conn;
                self.next_conn += 1;
                if let Some(old) = self.nodes[i].links.insert(r, conn) {
                    self.drop_conn(old);
                }
                let event = if self.cut.contains(&(i, r)) {
                    Event::Disconnected {
                        relay,
                        reason: "onbereikbaar".into(),
                    }
                } else {
                    let mut nonce = [0u8; 32];
                    self.rng.fill(&mut nonce);
                    self.relays[r].open(conn, nonce);
                    self.conns.insert(conn, (i, r));
                    Event::Connected { relay }
                };
                self.events.push_back(Pending {
                    node: i,
                    relay: r,
                    conn,
                    event,
                });
            }
            Effect::Send { relay, message } => {
                let Some(r) = relay_index(&relay) else { return };
                if let Some(conn) = self.nodes[i].links.get(&r) {
                    self.packets.push(Packet {
                        conn: *conn,
                        to_relay: true,
                        sent: Sent::Message(message),
                    });
                }
            }
            Effect::Close { relay } => {
                let Some(r) = relay_index(&relay) else { return };
                if let Some(conn) = self.nodes[i].links.remove(&r) {
                    self.drop_conn(conn);
                }
            }
            Effect::WakeAt(at) => {
                let wake = &mut self.nodes[i].wake;
                *wake = Some(wake.map_or(at, |w| w.min(at)));
            }
            Effect::Report(Report::Refused { reason, .. }) => self.refusals.push(reason),
            Effect::Report(Report::RelayError { code, message, .. }) => {
                self.relay_errors.push((code, message));
            }
            Effect::Report(_) => {}
        }
    }

    /// Forgets a connection on both sides without telling the replica.
    fn drop_conn(&mut self, conn: u64) {
        if let Some((_, r)) = self.conns.remove(&conn) {
            self.relays[r].close(conn);
        }
        self.packets.retain(|p| p.conn != conn);
    }

    /// Breaks a connection; the replica notices.
    fn break_conn(&mut self, conn: u64, reason: &str) {
        if let Some((i, r)) = self.conns.get(&conn).copied() {
            self.drop_conn(conn);
            self.events.push_back(Pending {
                node: i,
                relay: r,
                conn,
                event: Event::Disconnected {
                    relay: relay_name(r),
                    reason: reason.into(),
                },
            });
        }
    }

    /// Puts what a relay sent on the wire, for the connections that are still open.
    fn send_from_relay(&mut self, sent: Vec<(u64, Sent)>) {
        for (conn, sent) in sent {
            if self.conns.contains_key(&conn) {
                self.packets.push(Packet {
                    conn,
                    to_relay: false,
                    sent,
                });
            }
        }
    }

    fn run_events(&mut self) {
        while let Some(pending) = self.events.pop_front() {
            let links = &mut self.nodes[pending.node].links;
            if links.get(&pending.relay) != Some(&pending.conn) {
                continue;
            }
            if matches!(pending.event, Event::Disconnected { .. }) {
                links.remove(&pending.relay);
            }
            self.feed(pending.node, pending.event);
        }
    }

    /// Delivers one message: the oldest of a random connection and direction (each connection
    /// stays in order, like TCP), sometimes duplicated, sometimes overtaken by a later push.
    pub fn deliver_one(&mut self) -> bool {
        let mut heads: Vec<usize> = Vec::new();
        let mut seen = BTreeSet::new();
        for (idx, p) in self.packets.iter().enumerate() {
            if seen.insert((p.conn, p.to_relay)) {
                heads.push(idx);
            }
        }
        if heads.is_empty() {
            return false;
        }
        let mut pick = heads[self.rng.below(heads.len())];
        if self.faults && self.rng.chance(5) {
            let p = &self.packets[pick];
            let later = self
                .packets
                .iter()
                .enumerate()
                .skip(pick + 1)
                .find(|(_, q)| q.conn == p.conn && q.to_relay == p.to_relay && q.is_pushed());
            if p.is_pushed()
                && let Some((idx, _)) = later
            {
                pick = idx;
            }
        }
        let packet = self.packets.remove(pick);
        if self.faults
            && self.rng.chance(3)
            && let Some(msg) = packet.message().filter(|m| duplicable(m))
        {
            self.packets.push(Packet {
                conn: packet.conn,
                to_relay: packet.to_relay,
                sent: Sent::Message(Box::new(msg.clone())),
            });
        }
        let Some((i, r)) = self.conns.get(&packet.conn).copied() else {
            return true;
        };
        match (packet.to_relay, packet.sent) {
            (true, Sent::Message(msg)) => {
                let sent = self.relays[r].handle(packet.conn, self.now, *msg);
                self.send_from_relay(sent);
            }
            (true, Sent::Close) => self.drop_conn(packet.conn),
            (false, Sent::Message(msg)) => self.feed(
                i,
                Event::Received {
                    relay: relay_name(r),
                    message: msg,
                },
            ),
            (false, Sent::Close) => self.break_conn(packet.conn, "de relay sloot de verbinding"),
        }
        self.run_events();
        true
    }

    /// Lets the clock run forward and wakes replicas whose timers are due.
    pub fn advance(&mut self, millis: i64) {
        self.now = Timestamp(self.now.0 + millis);
        for r in 0..self.relays.len() {
            let sent = self.relays[r].check_clocks(self.now);
            self.send_from_relay(sent);
        }
        for i in 0..self.nodes.len() {
            if self.nodes[i].wake.is_some_and(|w| w <= self.now) {
                self.nodes[i].wake = None;
                self.feed(i, Event::Tick);
            }
        }
        self.run_events();
    }

    /// An organisation edits: a new document, or a change to an existing one.
    pub fn edit(&mut self, i: usize) {
        let node = &self.nodes[i];
        let ids = node.replica.store().ids().expect("ids");
        let text = format!("tekst {} van {i}", self.rng.next_u64() % 1000);
        if ids.is_empty() || self.rng.chance(30) {
            let mut random = [0u8; 8];
            self.rng.fill(&mut random);
            node.replica
                .create(
                    "ambitie",
                    &[Assignment::parse(&format!("titel={text}")).expect("assignment")],
                    self.now,
                    random,
                )
                .expect("create");
        } else {
            let id = DocId::parse(&ids[self.rng.below(ids.len())]).expect("id");
            let field = if self.rng.chance(50) {
                "titel"
            } else {
                "toelichting"
            };
            let _ = node.replica.update(
                &id,
                &[Assignment::parse(&format!("{field}={text}")).expect("assignment")],
                self.now,
            );
        }
        self.feed(i, Event::LocalChanges);
        self.run_events();
    }

    /// Whether the line between replica `i` and relay `r` is cut.
    pub fn is_cut(&self, i: usize, r: usize) -> bool {
        self.cut.contains(&(i, r))
    }

    /// Cuts or heals the line between a replica and a relay.
    pub fn toggle_partition(&mut self, i: usize, r: usize) {
        if !self.cut.remove(&(i, r)) {
            self.cut.insert((i, r));
            if let Some(conn) = self.nodes[i].links.get(&r).copied() {
                self.break_conn(conn, "verbinding verbroken");
            }
        }
        self.run_events();
    }

    /// A replica's process stops and starts again; only its store survives.
    pub fn restart_replica(&mut self, i: usize) {
        let links: Vec<u64> = self.nodes[i].links.values().copied().collect();
        for conn in links {
            self.drop_conn(conn);
        }
        self.nodes[i].links.clear();
        self.nodes[i].machine = None;
        self.boot(i);
        self.run_events();
    }

    /// A relay restarts: its log survives, every connection breaks.
    pub fn restart_relay(&mut self, r: usize) {
        for conn in self.relays[r].restart() {
            self.break_conn(conn, "de relay start opnieuw");
        }
        self.run_events();
    }

    /// No more partitions or duplicates; every replica rescans; run until nothing moves.
    pub fn heal_and_settle(&mut self) {
        self.cut.clear();
        self.faults = false;
        for i in 0..self.nodes.len() {
            self.feed(i, Event::LocalChanges);
        }
        self.run_events();
        let mut quiet_rounds = 0;
        for _ in 0..400 {
            let mut moved = false;
            while self.deliver_one() {
                moved = true;
            }
            self.advance(31_000);
            if self.packets.is_empty() && !moved {
                quiet_rounds += 1;
                if quiet_rounds >= 3 {
                    return;
                }
            } else {
                quiet_rounds = 0;
            }
        }
    }

    /// Per replica: every document with its heads and its typed view, for comparison.
    pub fn snapshot(&self, i: usize) -> Vec<(String, DocView)> {
        let replica = &self.nodes[i].replica;
        replica
            .store()
            .ids()
            .expect("ids")
            .into_iter()
            .map(|id| {
                let view = replica.get(&DocId::parse(&id).expect("id")).expect("view");
                (id, view)
            })
            .collect()
    }

    /// Organisation `i` (a coordinator) removes organisation `j`.
    pub fn remove(&mut self, i: usize, j: usize) {
        let org_id = self.nodes[j]
            .machine
            .as_ref()
            .map(|m| m.me().org_id())
            .expect("machine");
        let node = &mut self.nodes[i];
        let machine = node.machine.as_mut().expect("machine");
        machine
            .remove(&node.replica, &org_id, self.now, &mut self.rng)
            .expect("remove");
        self.feed(i, Event::LocalChanges);
        self.run_events();
    }

    /// How many sealed bundles wait in replica `i`'s outbox.
    pub fn queued(&self, i: usize) -> usize {
        self.nodes[i].machine.as_ref().map_or(0, Machine::queued)
    }
}

fn duplicable(msg: &Message) -> bool {
    matches!(
        msg,
        Message::Push { .. }
            | Message::Pushed { .. }
            | Message::Ack { .. }
            | Message::Bundles { .. }
            | Message::MembershipOps { .. }
    )
}
