//! One workspace as the relay's core holds it: its member set, its durable heads and its log.
//!
//! A write is made in two steps. `stage_*` checks it and writes it to the log (not durable
//! yet); once the adapter has made the log durable, `commit_*` makes it visible: the bundle
//! head readers see moves, or the member set takes the operation. Only then is the write
//! acknowledged, so nothing is acknowledged or shown before it is durable.

use kompas_engine::sync::membership::{MemberSet, SignedOp};
use kompas_engine::sync::wire::{
    ErrorCode, Hash32, MAX_BUNDLE_BYTES, Message, OrgKey, SealedBundle, Sequenced, WorkspaceId,
};

use super::log::{Appended, OpWritten, WorkspaceLog};
use super::op_time::{self, Arrival};
use super::refusal::Refusal;

/// A pushed bundle that names this workspace and fits the limit; its signature is not checked
/// yet. The session admits a push this far (with the pusher's rights and quotas) under the
/// workspace's lock; the adapter checks signatures after, outside it ([`Admitted::verify`]).
#[derive(Debug, Clone)]
pub struct Admitted(SealedBundle);

impl Admitted {
    /// Checks that `bundle` names workspace `id` and fits the limit.
    pub fn new(bundle: SealedBundle, id: WorkspaceId) -> Result<Admitted, Refusal> {
        if bundle.workspace != id {
            return Err(Refusal::new(
                ErrorCode::WrongWorkspace,
                format!(
                    "wijziging hoort bij samenwerking {}, deze verbinding bij {id}",
                    bundle.workspace
                ),
            ));
        }
        if bundle.encoded_len() > MAX_BUNDLE_BYTES {
            return Err(Refusal::new(
                ErrorCode::FrameTooLarge,
                format!(
                    "wijziging van {} bytes is groter dan de grens van {MAX_BUNDLE_BYTES} bytes",
                    bundle.encoded_len()
                ),
            ));
        }
        Ok(Admitted(bundle))
    }

    /// Checks the author's signature.
    pub fn verify(self) -> Result<Checked, Refusal> {
        self.0
            .verify()
            .map_err(|e| Refusal::new(ErrorCode::BadBundle, e.to_string()))?;
        Ok(Checked(self.0))
    }

    /// The bundle.
    pub fn bundle(&self) -> &SealedBundle {
        &self.0
    }

    /// Checks the signatures of several bundles, in one batch where it can: an answer per
    /// bundle, in order, the same as [`Admitted::verify`] would give each.
    ///
    /// First every signature gets the checks `verify_strict` makes beyond its equation (the
    /// key and the signature's point decode, neither is of small order); then the equations of
    /// all are checked together (ed25519 batch verification, a random linear combination of
    /// them, some twice as fast per signature as one by one). If the batch fails, each is
    /// checked alone, so a bad signature is refused and the others are not. A batch can pass a
    /// signature that `verify_strict` refuses only if its signer built it with a torsion
    /// component on purpose, with its own key; replicas check every signature strictly, so such
    /// a bundle is refused by every replica, as anything else a member might push that they
    /// cannot use.
    pub fn verify_all(admitted: Vec<Admitted>) -> Vec<Result<Checked, Refusal>> {
        use ed25519_dalek::{Signature, VerifyingKey};
        if admitted.len() < 2 {
            return admitted.into_iter().map(Admitted::verify).collect();
        }
        let prepared: Option<Vec<(Vec<u8>, Signature, VerifyingKey)>> = admitted
            .iter()
            .map(|a| {
                let bundle = &a.0;
                let key = VerifyingKey::from_bytes(&bundle.author.0).ok()?;
                let signature = Signature::from_bytes(&bundle.signature.0);
                let point = VerifyingKey::from_bytes(signature.r_bytes()).ok()?;
                if key.is_weak() || point.is_weak() {
                    return None;
                }
                Some((bundle.signed_bytes(), signature, key))
            })
            .collect();
        let batch_holds = prepared.is_some_and(|prepared| {
            let messages: Vec<&[u8]> = prepared.iter().map(|(m, _, _)| m.as_slice()).collect();
            let signatures: Vec<Signature> = prepared.iter().map(|(_, s, _)| *s).collect();
            let keys: Vec<VerifyingKey> = prepared.iter().map(|(_, _, k)| *k).collect();
            ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok()
        });
        if batch_holds {
            admitted.into_iter().map(|a| Ok(Checked(a.0))).collect()
        } else {
            admitted.into_iter().map(Admitted::verify).collect()
        }
    }
}

/// A bundle whose envelope was checked: it names this workspace, fits the limit and its
/// signature holds. Only a checked bundle can be staged.
#[derive(Debug, Clone)]
pub struct Checked(SealedBundle);

impl Checked {
    /// Checks what a bundle says of itself for workspace `id`.
    pub fn new(bundle: SealedBundle, id: WorkspaceId) -> Result<Checked, Refusal> {
        Admitted::new(bundle, id)?.verify()
    }

    /// The bundle.
    pub fn bundle(&self) -> &SealedBundle {
        &self.0
    }
}

/// A bundle written to the log, not yet durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// The bundle's position.
    pub seq: u64,
    /// Its content address.
    pub hash: Hash32,
    /// Whether it was there already.
    pub duplicate: bool,
}

impl Stored {
    /// The acknowledgement, to send once the bundle is durable.
    pub fn ack(&self) -> Message {
        Message::Ack {
            seq: self.seq,
            hash: self.hash,
            duplicate: self.duplicate,
        }
    }
}

/// A membership operation written to the log, not yet durable.
#[derive(Debug, Clone)]
pub struct StagedOp {
    /// Its index in the log.
    pub index: u64,
    /// Its hash.
    pub hash: Hash32,
    next: MemberSet,
}

/// How often a write made against an outdated view of a shared log is checked again after
/// catching up, before it is refused as a conflict.
const STALE_RETRIES: usize = 8;

/// How far back from the head an operation sent again is recognised ([`WorkspaceCore::held_at`]);
/// one from further back is refused as out of line, and its sender reads the log again.
pub const HELD_OPS_LOOKED_AT: u64 = 16;

/// What catching up with a shared log found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CaughtUp {
    /// The bundle head moved.
    pub head: bool,
    /// The membership log grew.
    pub members: bool,
}

/// A workspace's state in the relay's core.
#[derive(Debug)]
pub struct WorkspaceCore<L> {
    id: WorkspaceId,
    log: L,
    members: MemberSet,
    /// The durable bundle head.
    head: u64,
    /// The written (perhaps not yet durable) bundle head.
    written: u64,
    /// Bytes of the stored bundles (for the quota).
    stored: u64,
}

impl<L: WorkspaceLog> WorkspaceCore<L> {
    /// A stored workspace, its membership log folded.
    pub fn load(id: WorkspaceId, log: L) -> Result<WorkspaceCore<L>, Refusal> {
        let ops = log.ops(0, u64::MAX, usize::MAX).map_err(Into::into)?;
        let members = MemberSet::from_log(&ops).map_err(|e| {
            Refusal::new(
                ErrorCode::Internal,
                format!("relay-opslag is beschadigd bij samenwerking {id}: {e}"),
            )
        })?;
        let head = log.head().map_err(Into::into)?;
        let stored = log.stored_bytes().map_err(Into::into)?;
        Ok(WorkspaceCore {
            id,
            log,
            members,
            head,
            written: head,
            stored,
        })
    }

    /// A new workspace from its first operation, written to `log`, with the operation's
    /// acknowledgement. The adapter makes the log durable before it shows the workspace to
    /// anyone or sends the acknowledgement.
    pub fn create(
        mut log: L,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<(WorkspaceCore<L>, Message), Refusal> {
        let mut members = MemberSet::default();
        if let Some(arrival) = &arrival {
            op_time::check(&members, op, arrival)?;
        }
        members.apply(op)?;
        if log.append_op(0, op).map_err(Into::into)? == OpWritten::Stale {
            return Err(conflict("de samenwerking is intussen al aangemaakt"));
        }
        let ack = Message::MembershipAck {
            index: 0,
            hash: op.hash(),
        };
        let core = WorkspaceCore {
            id: op.op.workspace,
            log,
            members,
            head: 0,
            written: 0,
            stored: 0,
        };
        Ok((core, ack))
    }

    /// The workspace id.
    pub fn id(&self) -> WorkspaceId {
        self.id
    }

    /// The durable member set.
    pub fn members(&self) -> &MemberSet {
        &self.members
    }

    /// The durable bundle head.
    pub fn head(&self) -> u64 {
        self.head
    }

    /// The durable membership log length.
    pub fn ops_len(&self) -> u64 {
        self.members.len()
    }

    /// Bytes of the bundles stored (written, perhaps not yet durable).
    pub fn stored_bytes(&self) -> u64 {
        self.stored
    }

    /// The log, for reading what the core does not read itself.
    pub fn log(&self) -> &L {
        &self.log
    }

    /// Gives the log back (a relay that restarts keeps its log, nothing else).
    pub fn into_log(self) -> L {
        self.log
    }

    /// Writes a checked bundle whose author is a member, at an epoch the workspace knows. A
    /// shared log that moved on is caught up with, and the bundle checked again.
    pub fn stage_bundle(&mut self, bundle: &Checked) -> Result<Stored, Refusal> {
        let bundle = bundle.bundle();
        let hash = bundle.hash();
        for _ in 0..STALE_RETRIES {
            self.admissible(bundle)?;
            let appended = self
                .log
                .append(&hash, bundle, self.written, self.members.len())
                .map_err(Into::into)?;
            return Ok(match appended {
                Appended::New(seq) => {
                    self.written = self.written.max(seq);
                    self.stored = self.stored.saturating_add(bundle.encoded_len() as u64);
                    Stored {
                        seq,
                        hash,
                        duplicate: false,
                    }
                }
                Appended::Duplicate(seq) => Stored {
                    seq,
                    hash,
                    duplicate: true,
                },
                Appended::Stale => {
                    self.catch_up()?;
                    continue;
                }
            });
        }
        Err(conflict(
            "de ledenlijst veranderde steeds tijdens het opslaan",
        ))
    }

    /// Writes checked bundles in order, each as [`WorkspaceCore::stage_bundle`] would after the
    /// ones before it, in one write to the log where the log can (one sled transaction): the
    /// answers, one per bundle in the same order. A bundle the member set refuses is refused
    /// alone; a write that fails refuses every bundle of it.
    pub fn stage_bundles(&mut self, bundles: &[Checked]) -> Vec<Result<Stored, Refusal>> {
        let mut answers: Vec<Option<Result<Stored, Refusal>>> = Vec::with_capacity(bundles.len());
        let mut written = Vec::with_capacity(bundles.len());
        let mut items = Vec::with_capacity(bundles.len());
        for (i, checked) in bundles.iter().enumerate() {
            match self.admissible(checked.bundle()) {
                Ok(()) => {
                    answers.push(None);
                    written.push(i);
                    items.push((checked.bundle().hash(), checked.bundle()));
                }
                Err(refusal) => answers.push(Some(Err(refusal))),
            }
        }
        match self
            .log
            .append_all(&items, self.written, self.members.len())
        {
            Err(e) => {
                let refusal: Refusal = e.into();
                for &i in &written {
                    answers[i] = Some(Err(refusal.clone()));
                }
            }
            Ok(appended) => {
                for (k, &i) in written.iter().enumerate() {
                    let (hash, bundle) = items[k];
                    answers[i] = Some(match appended.get(k) {
                        Some(Appended::New(seq)) => {
                            self.written = self.written.max(*seq);
                            self.stored = self.stored.saturating_add(bundle.encoded_len() as u64);
                            Ok(Stored {
                                seq: *seq,
                                hash,
                                duplicate: false,
                            })
                        }
                        Some(Appended::Duplicate(seq)) => Ok(Stored {
                            seq: *seq,
                            hash,
                            duplicate: true,
                        }),
                        // A shared log moved on: this one and those after it one at a time,
                        // each after catching up.
                        Some(Appended::Stale) | None => self.stage_bundle(&bundles[i]),
                    });
                }
            }
        }
        answers
            .into_iter()
            .map(|answer| {
                answer.unwrap_or_else(|| {
                    Err(Refusal::new(
                        ErrorCode::Internal,
                        "de relay kreeg geen antwoord van de opslag voor deze wijziging",
                    ))
                })
            })
            .collect()
    }

    /// Whether the member set takes a bundle now: its author is a member and its epoch known.
    fn admissible(&self, bundle: &SealedBundle) -> Result<(), Refusal> {
        if !self.members.is_member(&bundle.author) {
            return Err(not_member(&bundle.author));
        }
        if bundle.epoch > self.members.epoch() {
            return Err(Refusal::new(
                ErrorCode::UnknownEpoch,
                format!(
                    "wijziging gebruikt sleutelgeneratie {}, de samenwerking is bij {}",
                    bundle.epoch,
                    self.members.epoch()
                ),
            ));
        }
        Ok(())
    }

    /// Reads what other writers of a shared log added since this core last looked: the bundle
    /// head, the stored bytes and the membership operations, folded into the member set. With
    /// one writer there is nothing to read.
    pub fn catch_up(&mut self) -> Result<CaughtUp, Refusal> {
        let mut caught = CaughtUp::default();
        let len = self.log.ops_len().map_err(Into::into)?;
        if len > self.members.len() {
            let ops = self
                .log
                .ops(self.members.len(), len, usize::MAX)
                .map_err(Into::into)?;
            let mut next = self.members.clone();
            for op in &ops {
                next.apply(op).map_err(|e| {
                    Refusal::new(
                        ErrorCode::Internal,
                        format!(
                            "relay-opslag is beschadigd bij samenwerking {}: {e}",
                            self.id
                        ),
                    )
                })?;
            }
            self.members = next;
            caught.members = true;
        }
        let head = self.log.head().map_err(Into::into)?;
        if head > self.head {
            self.head = head;
            self.written = self.written.max(head);
            self.stored = self.log.stored_bytes().map_err(Into::into)?;
            caught.head = true;
        }
        Ok(caught)
    }

    /// Shows a bundle made durable to readers; returns whether the head moved.
    pub fn commit_bundle(&mut self, stored: &Stored) -> bool {
        let moved = stored.seq > self.head;
        self.head = self.head.max(stored.seq);
        moved
    }

    /// Checks a membership operation against the log and writes it. With an arrival, the
    /// operation's time is checked against the relay's clock (`op_time`); mirrored operations
    /// were checked upstream. The adapter writes one operation at a time. A shared log whose
    /// next index another writer took is caught up with, and the operation checked again.
    pub fn stage_op(
        &mut self,
        op: &SignedOp,
        arrival: Option<Arrival>,
    ) -> Result<StagedOp, Refusal> {
        for _ in 0..STALE_RETRIES {
            let mut next = self.members.clone();
            if let Some(arrival) = &arrival {
                op_time::check(&next, op, arrival)?;
            }
            let index = next.len();
            next.apply(op)?;
            match self.log.append_op(index, op).map_err(Into::into)? {
                OpWritten::Written => {
                    return Ok(StagedOp {
                        index,
                        hash: op.hash(),
                        next,
                    });
                }
                OpWritten::Stale => {
                    self.catch_up()?;
                }
            }
        }
        Err(conflict(
            "de ledenlijst veranderde steeds tijdens het opslaan",
        ))
    }

    /// Makes a durable operation count; returns its acknowledgement. (Catching up may have
    /// read it already, with the operations before it.)
    pub fn commit_op(&mut self, staged: StagedOp) -> Message {
        if staged.next.len() > self.members.len() {
            self.members = staged.next;
        }
        Message::MembershipAck {
            index: staged.index,
            hash: staged.hash,
        }
    }

    /// Durable bundles after `after`.
    pub fn range(
        &self,
        after: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, Refusal> {
        self.log
            .bundles(after, self.head, limit, budget)
            .map_err(Into::into)
    }

    /// A page of durable membership operations from position `after`: at most `budget`
    /// bytes of them (at least one if there is one), never the whole log.
    pub fn ops_page(&self, after: u64, budget: usize) -> Result<Vec<SignedOp>, Refusal> {
        self.log
            .ops(after, self.ops_len(), budget)
            .map_err(Into::into)
    }

    /// The durable membership operation at `index`, if there is one.
    pub fn op_at(&self, index: u64) -> Result<Option<SignedOp>, Refusal> {
        if index >= self.ops_len() {
            return Ok(None);
        }
        Ok(self
            .log
            .ops(index, index + 1, 0)
            .map_err(Into::into)?
            .into_iter()
            .next())
    }

    /// Where the durable log already holds `op`, looked for among its last [`HELD_OPS_LOOKED_AT`]
    /// operations when `op` does not follow the log's head: an operation sent again (a retry
    /// after a lost acknowledgement, or a second member passing on what a first one already
    /// brought) is acknowledged at its place instead of refused as out of line.
    pub fn held_at(&self, op: &SignedOp) -> Result<Option<u64>, Refusal> {
        let len = self.ops_len();
        if len == 0 || op.op.prev == self.members.head() {
            return Ok(None);
        }
        let from = len.saturating_sub(HELD_OPS_LOOKED_AT);
        let hash = op.hash();
        let recent = self.log.ops(from, len, usize::MAX).map_err(Into::into)?;
        Ok((from..)
            .zip(&recent)
            .find(|(_, held)| held.hash() == hash)
            .map(|(index, _)| index))
    }

    /// The whole durable membership log (for a mirror levelling two logs, not for requests).
    pub fn all_ops(&self) -> Result<Vec<SignedOp>, Refusal> {
        self.log
            .ops(0, self.ops_len(), usize::MAX)
            .map_err(Into::into)
    }
}

/// The refusal for a write that other writers of a shared log kept overtaking; the client may
/// try again.
fn conflict(why: &str) -> Refusal {
    Refusal::new(ErrorCode::Overloaded, format!("{why}; probeer het opnieuw"))
}

/// The refusal for a key that is not a member.
pub fn not_member(key: &OrgKey) -> Refusal {
    Refusal::new(
        ErrorCode::NotMember,
        format!(
            "organisatie {} is geen lid van deze samenwerking",
            key.org_id()
        ),
    )
}
