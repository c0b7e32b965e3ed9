//! The sync machine: one workspace, every relay it lists, driven by events, answering with effects.

use std::collections::BTreeMap;

use ed25519_dalek::SigningKey;

use super::entropy::{Entropy, random};
use super::event::{Effect, Event, Report, Step};
use super::link::{Conn, Link};
use super::roster::Members;
use super::state::{StateError, WorkspaceState};
use crate::replica::{Replica, ReplicaError};
use crate::seal::{ExchangeSecret, SealError};
use crate::store::Store;
use crate::sync::membership::{MemberProfile, MembershipError, OpBody, Role, SignedOp};
use crate::sync::wire::{
    Hash32, KxKey, MIN_PROTOCOL_VERSION, Message, OrgKey, PROTOCOL_VERSION, SealedBundle,
    WorkspaceId,
};
use crate::time::Timestamp;

/// How many bundles one pull asks for.
pub const PULL_LIMIT: u32 = 512;
/// How many pushed bundles may wait for acknowledgement on one connection.
pub const MAX_IN_FLIGHT: usize = 256;
/// How many bundles may wait beyond a gap before the rest are dropped (and pulled again).
pub(super) const MAX_AHEAD: usize = 4096;
/// A one-off sync gives a relay up after this many failed attempts in a row.
pub const ONCE_ATTEMPTS: u32 = 3;

/// Whether the machine syncs once and stops, or stays connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Pull and push until every relay is caught up, then report [`Report::Finished`].
    Once,
    /// Stay subscribed and reconnect for ever.
    Watch,
}

/// Failures of the machine itself (as opposed to refusals, which are reports).
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// This replica does not belong to a workspace.
    #[error("deze kompas-map hoort nog bij geen samenwerking; maak er een of sluit je aan")]
    NoWorkspace,
    /// This replica already belongs to a workspace.
    #[error("deze kompas-map hoort al bij samenwerking {0}; één samenwerking per map")]
    AlreadyInWorkspace(String),
    /// The operation needs the coordinator role.
    #[error("alleen een coördinator van de samenwerking mag dit")]
    NotCoordinator,
    /// No member matches.
    #[error("geen lid {0:?} gevonden; zie `kompas workspace members`")]
    UnknownMember(String),
    /// Several members match.
    #[error("{0:?} past bij meer dan één lid; geef het organisatie-id")]
    AmbiguousMember(String),
    /// The relay is not (or already) in the list.
    #[error("{0}")]
    Relay(String),
    /// The membership log refused a local operation.
    #[error("lidmaatschap: {0}")]
    Membership(#[from] MembershipError),
    /// Sealing failed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The stored state is unusable.
    #[error(transparent)]
    State(#[from] StateError),
    /// The replica failed.
    #[error(transparent)]
    Replica(#[from] ReplicaError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// The replica side of sync for one workspace.
pub struct Machine {
    pub(super) state: WorkspaceState,
    pub(super) workspace: WorkspaceId,
    /// The member list folded from the confirmed log: what bundles are judged by.
    pub(super) members: Members,
    /// The confirmed list with the pending operations applied: what local decisions use.
    pub(super) tip: Members,
    /// Bundles applied since the machine started, so a copy from a second relay is skipped.
    pub(super) applied: std::collections::BTreeSet<Hash32>,
    pub(super) signing: SigningKey,
    pub(super) profile: MemberProfile,
    pub(super) me: OrgKey,
    pub(super) exchange: ExchangeSecret,
    pub(super) mode: Mode,
    pub(super) links: BTreeMap<String, Link>,
    /// The small part of the state changed since the last save (outbox, parked bundles and
    /// sealed heads track their own changes).
    pub(super) dirty: bool,
    /// Cursors moved since the last save.
    pub(super) cursors_dirty: bool,
    pub(super) removed_reported: bool,
    /// Connections the machine itself decided to drop while handling the current event.
    pub(super) drop_links: Vec<(String, String)>,
    pub(super) finished_reported: bool,
    /// How many bundles may be parked (see [`Report::ParkedFull`]).
    pub(super) parked_limit: usize,
    /// A relay welcomed this organisation as a member while handling the current event: the
    /// local edits are read and sealed next.
    pub(super) wants_local_edits: bool,
    /// Relays found to have lost their bundles while handling the current event: every
    /// document is read and sealed for them next.
    pub(super) snapshots_for: Vec<String>,
    /// Bundles received and not handled yet: relay, sequence number, bundle.
    pub(super) inbox: std::collections::VecDeque<(String, u64, SealedBundle)>,
    /// The batch of received bundles out with the driver to be applied.
    pub(super) in_flight: Option<Vec<super::ingest::Entry>>,
    /// The parked bundles are to be tried again (after something arrived from this relay).
    pub(super) retry: Option<String>,
    /// Pages of bundles received whose follow-up (the next pull) waits until they are handled.
    pub(super) page_ends: Vec<(String, bool)>,
    /// How many bytes of opened content one batch of received bundles takes at most.
    pub(super) batch_bytes: usize,
}

impl Machine {
    /// Opens the machine for the replica's workspace, if it has one.
    pub fn load<S: Store>(replica: &Replica<S>, mode: Mode) -> Result<Option<Machine>, SyncError> {
        match WorkspaceState::load(replica.store())? {
            None => Ok(None),
            Some(state) => Machine::from_state(replica, state, mode).map(Some),
        }
    }

    pub(super) fn from_state<S: Store>(
        replica: &Replica<S>,
        state: WorkspaceState,
        mode: Mode,
    ) -> Result<Machine, SyncError> {
        let signing = replica
            .identity()
            .signing_key()
            .map_err(ReplicaError::from)?;
        let (members, tip) = super::roster::fold(&state.log, &state.pending, &state.ring)?;
        let links = state
            .relays
            .iter()
            .map(|r| (r.clone(), Link::default()))
            .collect();
        Ok(Machine {
            workspace: state.workspace_id()?,
            exchange: ExchangeSecret::derive(&signing),
            profile: Machine::profile(replica, &signing),
            me: OrgKey::of(&signing),
            signing,
            state,
            members,
            tip,
            applied: Default::default(),
            mode,
            links,
            dirty: false,
            cursors_dirty: false,
            removed_reported: false,
            drop_links: Vec::new(),
            finished_reported: false,
            parked_limit: super::ingest::MAX_PARKED,
            wants_local_edits: false,
            snapshots_for: Vec::new(),
            inbox: Default::default(),
            in_flight: None,
            retry: None,
            page_ends: Vec::new(),
            batch_bytes: super::ingest::BATCH_BYTES,
        })
    }

    /// The workspace id.
    pub fn workspace(&self) -> WorkspaceId {
        self.workspace
    }

    /// Whether the machine syncs once or stays connected.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The persistent state.
    pub fn state(&self) -> &WorkspaceState {
        &self.state
    }

    /// The member list.
    pub fn members(&self) -> &Members {
        &self.members
    }

    /// This organisation's key.
    pub fn me(&self) -> OrgKey {
        self.me
    }

    /// How many local changes wait for a relay to acknowledge them.
    pub fn queued(&self) -> usize {
        self.state.outbox.len()
    }

    /// This organisation's profile as it enters the membership log.
    pub(super) fn profile<S: Store>(replica: &Replica<S>, signing: &SigningKey) -> MemberProfile {
        let identity = replica.identity();
        MemberProfile {
            key: OrgKey::of(signing),
            name: identity.profile.name.clone(),
            org_type: identity.profile.org_type,
            kx: KxKey(ExchangeSecret::derive(signing).public().0),
        }
    }

    /// Handles one event and says what the driver must do, in order: the state batch to write,
    /// the received pieces to apply, what to read and hand back, and the effects. The machine
    /// reads and writes no store or document (see [`Machine::handle`] for the driver's side).
    pub fn react(
        &mut self,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        event: Event,
    ) -> Result<Step, SyncError> {
        let mut out = Vec::new();
        let mut read_local_edits = false;
        match event {
            Event::Start => {
                read_local_edits = true;
                for (relay, link) in &mut self.links {
                    if link.is_down() {
                        link.conn = Conn::Connecting;
                        out.push(Effect::Connect {
                            relay: relay.clone(),
                        });
                    }
                }
            }
            Event::Tick => self.tick(now, &mut out),
            Event::LocalChanges => read_local_edits = true,
            Event::LocalEdits(edits) => {
                self.seal_edits(edits, entropy)?;
            }
            Event::Delivered(landed) => self.delivered(landed, &mut out),
            Event::Snapshots { relay, docs: saved } => {
                self.refill(relay, saved, entropy, &mut out)?
            }
            Event::Connected { relay } => {
                if let Some(link) = self.links.get_mut(&relay) {
                    // A second `Connected` while the first hello waits (a replaced connection
                    // whose event came late) sends the same nonce, so either challenge proves.
                    let nonce = match link.conn {
                        Conn::Hello { nonce } => nonce,
                        _ => random(entropy),
                    };
                    link.conn = Conn::Hello { nonce };
                    out.push(Effect::send(
                        &relay,
                        Message::Hello {
                            min_version: MIN_PROTOCOL_VERSION,
                            max_version: PROTOCOL_VERSION,
                            agent: format!("kompas {}", env!("CARGO_PKG_VERSION")),
                            nonce,
                        },
                    ));
                }
            }
            Event::Disconnected { relay, reason } => {
                self.disconnected(&relay, reason, now, entropy, &mut out)
            }
            Event::Untrusted { relay, reason } => {
                out.push(Effect::Report(Report::Untrusted {
                    relay: relay.clone(),
                    reason: reason.clone(),
                }));
                // Waiting does not fix a certificate for a one-off sync; a watcher tries again
                // with its backoff, since a certificate may be renewed while it runs.
                if self.mode == Mode::Once
                    && let Some(link) = self.links.get_mut(&relay)
                {
                    link.finished = true;
                }
                self.disconnected(&relay, reason, now, entropy, &mut out)
            }
            Event::Received { relay, message } => {
                if self.links.contains_key(&relay) {
                    self.received(&relay, *message, now, entropy, &mut out)?;
                }
            }
        }
        let deliver = self.ingest(&mut out);
        let relays: Vec<String> = self.links.keys().cloned().collect();
        for relay in &relays {
            self.step(relay, now, &mut out)?;
        }
        for (relay, reason) in std::mem::take(&mut self.drop_links) {
            out.push(Effect::Close {
                relay: relay.clone(),
            });
            self.disconnected(&relay, reason, now, entropy, &mut out);
        }
        let save = self.save_batch()?;
        self.check_finished(&mut out);
        Ok(Step {
            save,
            deliver,
            read_local_edits: read_local_edits || std::mem::take(&mut self.wants_local_edits),
            snapshots_for: std::mem::take(&mut self.snapshots_for),
            effects: out,
        })
    }

    /// The writes of what changed since the last batch, if anything did. The state counts as
    /// saved from here on (see [`WorkspaceState::save_batch`]).
    pub(super) fn save_batch(&mut self) -> Result<Option<crate::store::MetaBatch>, SyncError> {
        if !(self.dirty || self.cursors_dirty || self.state.has_unsaved_entries()) {
            return Ok(None);
        }
        let batch = self.state.save_batch(self.dirty)?;
        self.dirty = false;
        self.cursors_dirty = false;
        Ok(Some(batch))
    }

    fn tick(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let mut next: Option<Timestamp> = None;
        for (relay, link) in &mut self.links {
            let Conn::Down { retry_at } = link.conn else {
                continue;
            };
            if link.finished {
                continue;
            }
            match retry_at {
                Some(at) if at > now => next = Some(next.map_or(at, |n| n.min(at))),
                _ => {
                    link.conn = Conn::Connecting;
                    out.push(Effect::Connect {
                        relay: relay.clone(),
                    });
                }
            }
        }
        if let Some(at) = next {
            out.push(Effect::WakeAt(at));
        }
    }

    pub(super) fn disconnected(
        &mut self,
        relay: &str,
        reason: String,
        now: Timestamp,
        entropy: &mut dyn Entropy,
        out: &mut Vec<Effect>,
    ) {
        let mode = self.mode;
        let Some(link) = self.links.get_mut(relay) else {
            return;
        };
        if link.is_down() {
            return;
        }
        link.reset_connection();
        let jitter = u16::from_be_bytes(random(entropy));
        let retry_at = link.backoff.failed(now, jitter);
        let retry_at = link.hold_until.map_or(retry_at, |hold| hold.max(retry_at));
        let give_up = mode == Mode::Once && link.backoff.failures >= ONCE_ATTEMPTS;
        if link.finished || give_up {
            if !link.finished {
                link.finished = true;
                out.push(Effect::Report(Report::GaveUp {
                    relay: relay.to_string(),
                }));
            }
            return;
        }
        link.conn = Conn::Down {
            retry_at: Some(retry_at),
        };
        out.push(Effect::Report(Report::Disconnected {
            relay: relay.to_string(),
            reason,
            retry_at: Some(retry_at),
        }));
        out.push(Effect::WakeAt(retry_at));
    }

    fn check_finished(&mut self, out: &mut Vec<Effect>) {
        if self.mode == Mode::Once
            && !self.finished_reported
            && self.links.values().all(|l| l.finished)
        {
            self.finished_reported = true;
            out.push(Effect::Report(Report::Finished));
        }
    }

    /// Whether this organisation holds the coordinator role (counting its own pending changes).
    pub fn is_coordinator(&self) -> bool {
        self.tip.set().role_of(&self.me) == Some(Role::Coordinator)
    }

    /// The member list including this organisation's own changes not confirmed yet.
    pub fn members_with_pending(&self) -> &Members {
        &self.tip
    }

    /// How many membership operations of this organisation wait for the first relay.
    pub fn pending_operations(&self) -> usize {
        self.state.pending.len()
    }

    /// Signs an operation on top of the pending ones; it reaches the first relay on the next step.
    pub(super) fn append_local(
        &mut self,
        body: OpBody,
        now: Timestamp,
    ) -> Result<SignedOp, SyncError> {
        let op = SignedOp::sign(
            self.workspace,
            self.tip.set().head(),
            now,
            body,
            &self.signing,
        );
        self.tip.apply(&op)?;
        self.state.pending.push(op.clone());
        for session in self.links.values_mut().filter_map(Link::session_mut) {
            session.pending_sent = false;
        }
        self.dirty = true;
        Ok(op)
    }

    /// Adds an operation to the confirmed log.
    pub(super) fn confirm(&mut self, op: SignedOp) -> Result<(), SyncError> {
        self.members.apply(&op)?;
        if self.state.pending.first() == Some(&op) {
            self.state.pending.remove(0);
        }
        self.state.log.push(op);
        self.dirty = true;
        Ok(())
    }

    /// Re-signs the pending operations on top of the confirmed log after other operations
    /// arrived first; operations that no longer make sense are dropped and reported.
    pub(super) fn rebase(&mut self, now: Timestamp, out: &mut Vec<Effect>) {
        let mut tip = self.members.clone();
        let mut kept = Vec::new();
        for op in std::mem::take(&mut self.state.pending) {
            let op = if op.op.prev == tip.set().head() {
                op
            } else {
                SignedOp::sign(
                    self.workspace,
                    tip.set().head(),
                    now,
                    op.op.body.clone(),
                    &self.signing,
                )
            };
            match tip.apply(&op) {
                Ok(()) => kept.push(op),
                Err(e) => out.push(Effect::Report(Report::OperationDropped {
                    message: format!("eigen wijziging van de ledenlijst vervalt: {e}"),
                })),
            }
        }
        self.state.pending = kept;
        self.tip = tip;
        for session in self.links.values_mut().filter_map(Link::session_mut) {
            session.pending_sent = false;
        }
        self.dirty = true;
    }
}
