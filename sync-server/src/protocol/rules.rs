//! What every session of a relay answers to: the relay's key, the operator's marks, who may
//! mirror and create, the quotas, and how large answers get.

use std::collections::HashSet;
use std::sync::RwLock;

use ed25519_dalek::SigningKey;
use kompas_engine::sync::wire::{OrgKey, WorkspaceId};

use super::quota::QuotaBook;

/// Workspaces frozen and keys banned by the operator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Marks {
    /// Workspaces that take no writes.
    pub frozen: HashSet<WorkspaceId>,
    /// Keys the relay refuses.
    pub banned: HashSet<OrgKey>,
}

/// How large the relay's answers get.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerLimits {
    /// The most bundles in one `Bundles` answer.
    pub pull_limit: usize,
    /// The most bundle bytes in one `Bundles` answer or subscription batch.
    pub pull_budget: usize,
    /// The most bundles in one subscription batch.
    pub push_batch: usize,
    /// The most operation bytes in one `MembershipOps` answer. At least one operation is
    /// always sent, and an operation is bounded by the member-list fold, so an answer stays
    /// far below a frame.
    pub membership_page: usize,
}

impl Default for AnswerLimits {
    fn default() -> AnswerLimits {
        AnswerLimits {
            pull_limit: 512,
            // Each connection's websocket keeps a send buffer as large as the largest frame it
            // sent, for as long as it is open: with 2 MiB answers, 20 replicas syncing at once
            // held some 29 MiB of those buffers in the relay. A replica asks for its next page
            // only once it has handled one, so smaller pages cost round trips: in the
            // convergence benchmark (20 x 100 x 50) 2 MiB, 1 MiB, 512 KiB and 256 KiB converged in
            // 40, 44, 44 and 51 s with the relay peaking at 82, 63, 47 and 38 MiB.
            pull_budget: 512 * 1024,
            push_batch: 64,
            membership_page: 1024 * 1024,
        }
    }
}

/// The rules of one relay.
pub struct Rules {
    key: SigningKey,
    /// Workspaces frozen and keys banned by the operator; a relay whose nodes share a database
    /// takes them in again while it runs.
    marks: RwLock<Marks>,
    /// Relay keys allowed to mirror this relay.
    pub mirrors: Vec<OrgKey>,
    /// Organisation keys allowed to create new workspaces; empty lets anyone create one.
    pub creators: Vec<OrgKey>,
    /// Quotas and what was used.
    pub quotas: QuotaBook,
    /// How large answers get.
    pub answers: AnswerLimits,
}

impl Rules {
    /// The rules of a relay with signing key `key`: no marks, no mirrors, anyone may create,
    /// these quotas, the default answer limits.
    pub fn new(key: SigningKey, quotas: QuotaBook) -> Rules {
        Rules {
            key,
            marks: RwLock::default(),
            mirrors: Vec::new(),
            creators: Vec::new(),
            quotas,
            answers: AnswerLimits::default(),
        }
    }

    /// Puts `marks` in force for every later check.
    pub fn set_marks(&self, marks: Marks) {
        *self.marks.write().unwrap_or_else(|e| e.into_inner()) = marks;
    }

    /// Whether the operator banned `key`.
    pub fn is_banned(&self, key: &OrgKey) -> bool {
        let marks = self.marks.read().unwrap_or_else(|e| e.into_inner());
        marks.banned.contains(key)
    }

    /// Whether the operator froze workspace `id`.
    pub fn is_frozen(&self, id: &WorkspaceId) -> bool {
        let marks = self.marks.read().unwrap_or_else(|e| e.into_inner());
        marks.frozen.contains(id)
    }

    /// The relay's signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// The relay's public key.
    pub fn relay_key(&self) -> OrgKey {
        OrgKey::of(&self.key)
    }

    /// Whether `key` is a relay allowed to mirror this one.
    pub fn is_mirror(&self, key: &OrgKey) -> bool {
        self.mirrors.contains(key)
    }

    /// Whether `key` may create a new workspace on this relay.
    pub fn may_create(&self, key: &OrgKey) -> bool {
        self.creators.is_empty() || self.creators.contains(key)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::protocol::quota::Quotas;

    #[test]
    fn without_an_allow_list_anyone_may_create_with_one_only_those_listed() {
        let (listed, other) = (OrgKey([1; 32]), OrgKey([2; 32]));
        let book = QuotaBook::new(Quotas::default(), HashMap::new());
        let mut rules = Rules::new(SigningKey::from_bytes(&[3; 32]), book);
        assert!(rules.may_create(&other));
        rules.creators = vec![listed];
        assert!(rules.may_create(&listed));
        assert!(!rules.may_create(&other));
    }
}
