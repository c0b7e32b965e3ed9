//! A relay of the simulation: the relay's own protocol core ([`Session`] per connection,
//! [`WorkspaceCore`] per workspace, over [`MemoryLog`]) hosted in memory, the way
//! `connection.rs` hosts it over a websocket and sled.
//!
//! It carries out the core's actions as the server does: an answer is sent, an identified key
//! is bound to its workspace (if the relay has it) and welcomed, a write is staged, made
//! durable (a memory log is durable at once) and committed before it is acknowledged, and
//! every connection bound to a workspace whose logs grew is sent what it has pending, or
//! refused if its key was removed. A refusal that closes a connection is followed by a close.
//! A key that stays a candidate past the relay's default limit is closed when the clock runs.

use std::collections::{BTreeMap, HashMap};

use ed25519_dalek::SigningKey;
use kompas_engine::Timestamp;
use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{CHALLENGE_LEN, ErrorCode, Message, SealedBundle, WorkspaceId};

use crate::protocol::op_time::Arrival;
use crate::protocol::quota::{QuotaBook, Quotas};
use crate::protocol::{Action, MemoryLog, Refusal, Rules, Session, WorkspaceCore, WorkspaceLog};

/// How long a key that is neither a member nor a proved candidate may stay connected: the
/// relay's default `--candidate-timeout`.
const CANDIDATE_LIMIT_MS: i64 = 30_000;

/// The membership page of a simulated relay: about three operations, so that the replicas
/// cross page boundaries all the time (the deployed default is 1 MiB).
const SIM_MEMBERSHIP_PAGE: usize = 600;

/// The subscription batch of a simulated relay, small for the same reason.
const SIM_PUSH_BATCH: usize = 4;

/// The most bundle bytes in one subscription batch (or answer to a pull), small so that with
/// bundles of some 600 bytes a batch is cut by bytes as often as by count (the deployed default
/// is 512 KiB). Watching replicas read by subscription, so the pull limit is left as deployed.
const SIM_PULL_BUDGET: usize = 1536;

/// What a relay puts on a connection.
#[derive(Debug, Clone)]
pub enum Sent {
    /// A frame.
    Message(Box<Message>),
    /// The relay closes the connection (after the refusal sent before it).
    Close,
}

struct Conn {
    session: Session,
    /// The workspace the connection is bound to: the one its key authenticated for, if the
    /// relay had it then, or the one it created.
    bound: Option<WorkspaceId>,
}

/// One relay: its logs survive restarts, its connections do not.
pub struct SimRelay {
    rules: Rules,
    workspaces: BTreeMap<WorkspaceId, WorkspaceCore<MemoryLog>>,
    conns: BTreeMap<u64, Conn>,
}

/// Frames to send, each on its connection.
type Outbox = Vec<(u64, Sent)>;

impl SimRelay {
    /// A relay whose signing key is made of `seed`, with the deployed quotas and answer limits
    /// except for smaller pages and batches.
    pub fn new(seed: u8) -> SimRelay {
        let mut rules = Rules::new(
            SigningKey::from_bytes(&[seed; 32]),
            QuotaBook::new(Quotas::default(), HashMap::new()),
        );
        rules.answers.membership_page = SIM_MEMBERSHIP_PAGE;
        rules.answers.push_batch = SIM_PUSH_BATCH;
        rules.answers.pull_budget = SIM_PULL_BUDGET;
        SimRelay {
            rules,
            workspaces: BTreeMap::new(),
            conns: BTreeMap::new(),
        }
    }

    /// A new connection, challenged with `nonce`.
    pub fn open(&mut self, conn: u64, nonce: [u8; CHALLENGE_LEN]) {
        let session = Session::new(nonce);
        self.conns.insert(
            conn,
            Conn {
                session,
                bound: None,
            },
        );
    }

    /// Forgets a connection the other side closed.
    pub fn close(&mut self, conn: u64) {
        self.conns.remove(&conn);
    }

    /// Open connections.
    pub fn connections(&self) -> Vec<u64> {
        self.conns.keys().copied().collect()
    }

    /// The process restarts: every connection is gone and every workspace is loaded again
    /// from its log. Returns the connections that broke.
    pub fn restart(&mut self) -> Vec<u64> {
        let broken = self.connections();
        self.conns.clear();
        let workspaces = std::mem::take(&mut self.workspaces);
        for (id, core) in workspaces {
            self.workspaces.insert(id, reload(id, core.into_log()));
        }
        broken
    }

    /// Every bundle the relay stored, in order (of its first workspace; a world has one).
    pub fn stored(&self) -> &[SealedBundle] {
        self.workspaces
            .values()
            .next()
            .map_or(&[], |ws| ws.log().stored())
    }

    /// Stores a bundle in the first workspace without any check, as a relay that has not seen
    /// a removal (or one the removed member runs itself) may; it is there after a reload, and
    /// connections read it on their next pull.
    pub fn store_unchecked(&mut self, bundle: SealedBundle) {
        let Some(id) = self.workspaces.keys().next().copied() else {
            return;
        };
        let Some(core) = self.workspaces.remove(&id) else {
            return;
        };
        let head = core.head();
        let members = core.ops_len();
        let mut log = core.into_log();
        match log.append(&bundle.hash(), &bundle, head, members) {
            Ok(_) => {}
            Err(never) => match never {},
        }
        self.workspaces.insert(id, reload(id, log));
    }

    /// Handles a frame that arrived on `conn`; returns what to send, each on its connection.
    pub fn handle(&mut self, conn: u64, now: Timestamp, message: Message) -> Outbox {
        let mut out = Outbox::new();
        let Some(c) = self.conns.get_mut(&conn) else {
            return out;
        };
        let ws = c.bound.and_then(|id| self.workspaces.get(&id));
        let action = c.session.handle(&self.rules, ws, now, message);
        let done = action.and_then(|action| self.carry_out(conn, now, action, &mut out));
        if let Err(refusal) = done {
            self.refuse(conn, &refusal, &mut out);
        }
        out
    }

    /// The clock ran: closes every connection whose key overstayed as a candidate.
    pub fn check_clocks(&mut self, now: Timestamp) -> Outbox {
        let mut out = Outbox::new();
        let overstayed: Vec<(u64, Refusal)> = self
            .conns
            .iter()
            .filter_map(|(id, c)| {
                let ws = c.bound.and_then(|w| self.workspaces.get(&w));
                c.session
                    .overstayed(ws, now, CANDIDATE_LIMIT_MS)
                    .map(|refusal| (*id, refusal))
            })
            .collect();
        for (conn, refusal) in overstayed {
            self.refuse(conn, &refusal, &mut out);
        }
        out
    }

    /// Carries out what the session asked for, as `connection.rs` does.
    fn carry_out(
        &mut self,
        conn: u64,
        now: Timestamp,
        action: Action,
        out: &mut Outbox,
    ) -> Result<(), Refusal> {
        match action {
            Action::Send(answer) => out.push(frame(conn, answer)),
            Action::Identified { workspace, .. } => {
                let bound = self
                    .workspaces
                    .contains_key(&workspace)
                    .then_some(workspace);
                let c = self.conns.get_mut(&conn).ok_or_else(closed)?;
                c.bound = bound;
                let ws = bound.and_then(|id| self.workspaces.get(&id));
                let welcome = c.session.admit(ws, now)?;
                out.push(frame(conn, welcome));
            }
            Action::Subscribed => self.send_pending(conn, out),
            Action::Push(admitted) => {
                let checked = admitted.verify()?;
                let id = self.bound(conn)?;
                let core = self.core(id)?;
                let stored = core.stage_bundle(&checked)?;
                let moved = core.commit_bundle(&stored);
                out.push(frame(conn, stored.ack()));
                if moved {
                    self.notify(id, out);
                }
            }
            Action::Append { op, arrival } => {
                let id = self.bound(conn)?;
                let ack = append(self.core(id)?, &op, arrival)?;
                out.push(frame(conn, ack));
                self.notify(id, out);
            }
            Action::Create { op, arrival } => {
                let created = self.create(&op, arrival);
                let c = self.conns.get_mut(&conn).ok_or_else(closed)?;
                match created {
                    Ok(ack) => {
                        c.bound = Some(op.op.workspace);
                        out.push(frame(conn, ack));
                        self.notify(op.op.workspace, out);
                    }
                    Err(refusal) => {
                        c.session.creation_failed(&self.rules, &op);
                        return Err(refusal);
                    }
                }
            }
        }
        Ok(())
    }

    /// Creates a workspace from its first operation, or appends to it if it exists already
    /// (which its log then refuses as a second creation), as the server's state does.
    fn create(&mut self, op: &SignedOp, arrival: Option<Arrival>) -> Result<Message, Refusal> {
        let id = op.op.workspace;
        if let Some(core) = self.workspaces.get_mut(&id) {
            return append(core, op, arrival);
        }
        let (core, ack) = WorkspaceCore::create(MemoryLog::default(), op, arrival)?;
        self.workspaces.insert(id, core);
        Ok(ack)
    }

    /// Sends every connection bound to workspace `id` what it has pending.
    fn notify(&mut self, id: WorkspaceId, out: &mut Outbox) {
        let bound: Vec<u64> = self
            .conns
            .iter()
            .filter(|(_, c)| c.bound == Some(id))
            .map(|(conn, _)| *conn)
            .collect();
        for conn in bound {
            self.send_pending(conn, out);
        }
    }

    /// Sends a connection what it has pending, page by page, or refuses a removed key.
    fn send_pending(&mut self, conn: u64, out: &mut Outbox) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let ws = c.bound.and_then(|id| self.workspaces.get(&id));
        loop {
            match c.session.pending(&self.rules, ws) {
                Ok(frames) => {
                    let empty = frames.is_empty();
                    out.extend(frames.into_iter().map(|m| frame(conn, m)));
                    if empty || !c.session.catching_up(ws) {
                        return;
                    }
                }
                Err(refusal) => {
                    self.refuse(conn, &refusal, out);
                    return;
                }
            }
        }
    }

    /// Sends a refusal; one that closes the connection is followed by the close.
    fn refuse(&mut self, conn: u64, refusal: &Refusal, out: &mut Outbox) {
        out.push(frame(conn, refusal.to_message()));
        if refusal.closes() {
            self.conns.remove(&conn);
            out.push((conn, Sent::Close));
        }
    }

    /// The workspace a connection is bound to; the session asks for writes only then.
    fn bound(&self, conn: u64) -> Result<WorkspaceId, Refusal> {
        self.conns
            .get(&conn)
            .and_then(|c| c.bound)
            .ok_or_else(|| internal("de verbinding hoort bij geen samenwerking"))
    }

    fn core(&mut self, id: WorkspaceId) -> Result<&mut WorkspaceCore<MemoryLog>, Refusal> {
        self.workspaces
            .get_mut(&id)
            .ok_or_else(|| internal("de samenwerking is onbekend"))
    }
}

/// A frame to send on `conn`.
fn frame(conn: u64, message: Message) -> (u64, Sent) {
    (conn, Sent::Message(Box::new(message)))
}

/// Stages an operation and commits it (a memory log is durable at once).
fn append(
    core: &mut WorkspaceCore<MemoryLog>,
    op: &SignedOp,
    arrival: Option<Arrival>,
) -> Result<Message, Refusal> {
    let staged = core.stage_op(op, arrival)?;
    Ok(core.commit_op(staged))
}

/// A workspace loaded from its log, as a relay does on starting.
fn reload(id: WorkspaceId, log: MemoryLog) -> WorkspaceCore<MemoryLog> {
    WorkspaceCore::load(id, log)
        .unwrap_or_else(|refusal| panic!("a simulated relay could not load its own log: {refusal}"))
}

fn closed() -> Refusal {
    internal("de verbinding is gesloten")
}

fn internal(message: &str) -> Refusal {
    Refusal::new(ErrorCode::Internal, message)
}
