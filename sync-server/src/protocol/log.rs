//! The seam between the relay's core and its storage: one workspace's bundle log and
//! membership log.
//!
//! Writes through this trait are not durable yet: the core records what it wrote and the
//! adapter makes the log durable (with sled, a flush) before the core commits the write, moves
//! the head readers see and the acknowledgement is sent. The relay's server keeps the log in
//! sled (`store.rs`) or in PostgreSQL (`postgres/`, whose writes are durable once they
//! return); the simulation keeps it in memory ([`MemoryLog`]), whose writes are durable as soon
//! as they are made.
//!
//! A log may be shared with other writers (several relay nodes on one database). Such a log
//! answers a write made against an outdated view with [`Appended::Stale`] or
//! [`OpWritten::Stale`]: the core then catches up with the log and checks the write again. A
//! log with one writer never answers stale.

use std::collections::HashMap;

use kompas_engine::sync::membership::SignedOp;
use kompas_engine::sync::wire::{Encoded, Hash32, SealedBundle, Sequenced};

use super::refusal::Refusal;

/// Where an appended bundle ended up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Appended {
    /// Stored at this sequence number (not yet durable).
    New(u64),
    /// It was stored before, at this sequence number.
    Duplicate(u64),
    /// Not stored: the membership log has grown since the core checked the bundle against it
    /// (another writer appended to it).
    Stale,
}

/// Whether a membership operation was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpWritten {
    /// Written at the index asked for.
    Written,
    /// Not written: another writer wrote that index first.
    Stale,
}

/// Whether a page of `count` bundles holding `bytes` takes one more of `size` bytes: at most
/// `limit` bundles, and no more than `budget` bytes unless the page is still empty (so a page
/// always holds at least one bundle). Every log pages its bundles by this rule.
pub fn page_takes(count: usize, bytes: usize, size: usize, limit: usize, budget: usize) -> bool {
    count < limit && (bytes == 0 || bytes + size <= budget)
}

/// One workspace's logs. The core serialises writes per workspace.
pub trait WorkspaceLog {
    /// Why reading or writing failed; told to the client as a refusal.
    type Error: Into<Refusal>;

    /// Appends `bundle` after the last stored bundle (at `head + 1` for a log with one writer)
    /// unless its `hash` is stored already. `members` is the length of the membership log the
    /// bundle was checked against; a shared log that holds more operations answers
    /// [`Appended::Stale`].
    fn append(
        &mut self,
        hash: &Hash32,
        bundle: &SealedBundle,
        head: u64,
        members: u64,
    ) -> Result<Appended, Self::Error>;

    /// Appends `bundles` (each with its hash) in order, each as [`WorkspaceLog::append`]
    /// would after those before it, in one write where the log can. The answers, one per
    /// bundle, may stop short after an [`Appended::Stale`]: the caller writes the rest one at a
    /// time. By default one `append` after the other.
    fn append_all(
        &mut self,
        bundles: &[(Hash32, &SealedBundle)],
        head: u64,
        members: u64,
    ) -> Result<Vec<Appended>, Self::Error> {
        let mut answers = Vec::with_capacity(bundles.len());
        let mut head = head;
        for (hash, bundle) in bundles {
            let appended = self.append(hash, bundle, head, members)?;
            answers.push(appended);
            match appended {
                Appended::New(seq) => head = head.max(seq),
                Appended::Duplicate(_) => {}
                Appended::Stale => break,
            }
        }
        Ok(answers)
    }

    /// Up to `limit` bundles with `after < seq <= upto`, stopping once `budget` bytes are
    /// reached (at least one bundle is returned if there is one).
    fn bundles(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, Self::Error>;

    /// The highest stored sequence number (0 if none).
    fn head(&self) -> Result<u64, Self::Error>;

    /// The bytes of the stored bundles.
    fn stored_bytes(&self) -> Result<u64, Self::Error>;

    /// Appends a membership operation at `index` (the length of the log the operation was
    /// checked against); a shared log whose `index` is taken answers [`OpWritten::Stale`].
    fn append_op(&mut self, index: u64, op: &SignedOp) -> Result<OpWritten, Self::Error>;

    /// The length of the stored membership log.
    fn ops_len(&self) -> Result<u64, Self::Error>;

    /// The membership operations with `after <= index < upto`, stopping once `budget` bytes
    /// are reached (at least one operation is returned if there is one).
    fn ops(&self, after: u64, upto: u64, budget: usize) -> Result<Vec<SignedOp>, Self::Error>;
}

/// A log held in memory, for the simulation and tests: a restart keeps it, as a disk would.
#[derive(Debug, Clone, Default)]
pub struct MemoryLog {
    bundles: Vec<SealedBundle>,
    hashes: HashMap<Hash32, u64>,
    ops: Vec<SignedOp>,
}

impl MemoryLog {
    /// Every bundle stored, in order.
    pub fn stored(&self) -> &[SealedBundle] {
        &self.bundles
    }
}

/// A memory log cannot fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Never {}

impl From<Never> for Refusal {
    fn from(never: Never) -> Refusal {
        match never {}
    }
}

impl WorkspaceLog for MemoryLog {
    type Error = Never;

    fn append(
        &mut self,
        hash: &Hash32,
        bundle: &SealedBundle,
        _head: u64,
        _members: u64,
    ) -> Result<Appended, Never> {
        if let Some(seq) = self.hashes.get(hash) {
            return Ok(Appended::Duplicate(*seq));
        }
        self.bundles.push(bundle.clone());
        let seq = self.bundles.len() as u64;
        self.hashes.insert(*hash, seq);
        Ok(Appended::New(seq))
    }

    fn bundles(
        &self,
        after: u64,
        upto: u64,
        limit: usize,
        budget: usize,
    ) -> Result<Vec<Sequenced>, Never> {
        let mut out = Vec::new();
        let mut bytes = 0;
        let upto = usize::try_from(upto).unwrap_or(usize::MAX);
        let from = usize::try_from(after).unwrap_or(usize::MAX);
        for (i, bundle) in self.bundles.iter().enumerate().take(upto).skip(from) {
            let size = bundle.encoded_len();
            if !page_takes(out.len(), bytes, size, limit, budget) {
                break;
            }
            bytes += size;
            out.push(Sequenced {
                seq: i as u64 + 1,
                bundle: bundle.clone(),
            });
        }
        Ok(out)
    }

    fn head(&self) -> Result<u64, Never> {
        Ok(self.bundles.len() as u64)
    }

    fn stored_bytes(&self) -> Result<u64, Never> {
        Ok(self.bundles.iter().map(|b| b.encoded_len() as u64).sum())
    }

    fn append_op(&mut self, index: u64, op: &SignedOp) -> Result<OpWritten, Never> {
        let index = usize::try_from(index).unwrap_or(usize::MAX);
        self.ops.truncate(index);
        self.ops.push(op.clone());
        Ok(OpWritten::Written)
    }

    fn ops_len(&self) -> Result<u64, Never> {
        Ok(self.ops.len() as u64)
    }

    fn ops(&self, after: u64, upto: u64, budget: usize) -> Result<Vec<SignedOp>, Never> {
        let mut out = Vec::new();
        let mut bytes = 0usize;
        let upto = usize::try_from(upto).unwrap_or(usize::MAX);
        let from = usize::try_from(after).unwrap_or(usize::MAX);
        for op in self.ops.iter().take(upto).skip(from) {
            let size = op.to_bytes().len();
            if !out.is_empty() && bytes.saturating_add(size) > budget {
                break;
            }
            bytes = bytes.saturating_add(size);
            out.push(op.clone());
        }
        Ok(out)
    }
}
