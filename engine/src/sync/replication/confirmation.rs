//! Joins that wait for a coordinator: the pending joiner's redeem, what a coordinator sees of
//! it (name, type, fingerprint), and confirming or refusing it.
//!
//! An invite made with confirmation carries no workspace key. Its joiner redeems it as a pending
//! member and boxes its name and type for every coordinator (it cannot seal them for members
//! without a key). A coordinator compares the joiner's short fingerprint with the joiner, by
//! telephone, and then confirms: it seals the joiner's names for members, signs `Confirm` and
//! shares the whole key ring with the joiner. Refusing is a `Remove` of the pending joiner,
//! without a key change (it never held a key).

use super::entropy::{Entropy, random};
use super::machine::{Machine, SyncError};
use crate::identity::OrgType;
use crate::replica::Replica;
use crate::seal::{ExchangePublic, ExchangeSecret, wrap_ring};
use crate::store::Store;
use crate::sync::membership::{
    MAX_NAME_BOXES, MemberKeys, MemberSet, NameBox, Names, OpBody, PendingJoin, Role, SealedNames,
    WrappedKey,
};
use crate::sync::wire::{KxKey, OrgKey};
use crate::time::Timestamp;

/// Domain separation for the box keys a pending joiner derives (see [`Machine::name_boxes`]).
const BOX_SEED_CONTEXT: &str = "kompas 2026-12 pending joiner names box seed v1";

/// A joiner waiting for confirmation, as a coordinator (or the joiner itself) sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingView {
    /// The joiner's key.
    pub key: OrgKey,
    /// Its organisation id.
    pub org_id: String,
    /// The name and type it gave, when they were boxed for this organisation.
    pub names: Option<(String, OrgType)>,
    /// The role it gets once confirmed.
    pub role: Role,
    /// When it redeemed its invite.
    pub at: Timestamp,
    /// The short fingerprint to compare with the joiner.
    pub fingerprint: String,
}

impl PendingView {
    /// The joiners waiting in `set`, as the organisation with exchange secret `ours` and key,
    /// name and type `own` sees them: with the names boxed for it (and its own).
    pub fn all(
        set: &MemberSet,
        ours: &ExchangeSecret,
        own: (OrgKey, &str, OrgType),
    ) -> Vec<PendingView> {
        let (me, name, org_type) = own;
        set.pending()
            .map(|join| PendingView {
                key: join.keys.key,
                org_id: join.keys.key.org_id(),
                names: if join.keys.key == me {
                    Some((name.to_string(), org_type))
                } else {
                    boxed_names(set, join, &me, ours).map(|n| (n.name, n.org_type))
                },
                role: join.role,
                at: join.at,
                fingerprint: join.keys.key.short_fingerprint(),
            })
            .collect()
    }
}

/// The names a pending joiner boxed for the organisation `me`, if it did.
fn boxed_names(
    set: &MemberSet,
    join: &PendingJoin,
    me: &OrgKey,
    ours: &ExchangeSecret,
) -> Option<Names> {
    let workspace = set.workspace()?;
    join.boxes
        .iter()
        .filter(|b| b.member == *me)
        .find_map(|b| NameBox::open(&b.sealed, &workspace, &join.keys.key, ours))
}

impl Machine {
    /// The joiners waiting for confirmation (this replica's own pending changes included).
    pub fn pending_joins(&self) -> Vec<PendingView> {
        PendingView::all(
            self.tip.set(),
            &self.exchange,
            (self.me, &self.profile.name, self.profile.org_type),
        )
    }

    /// Whether this organisation redeemed an invite that needs confirmation and waits for it.
    pub fn awaits_confirmation(&self) -> bool {
        self.tip.set().is_pending(&self.me)
    }

    /// Confirms a pending joiner, found by organisation id (or its start), fingerprint or name:
    /// seals its names for members, signs `Confirm` and shares the whole key ring with it.
    pub fn confirm_join<S: Store>(
        &mut self,
        replica: &Replica<S>,
        who: &str,
        now: Timestamp,
        entropy: &mut dyn Entropy,
    ) -> Result<PendingView, SyncError> {
        self.require_coordinator()?;
        let found = self.find_pending(who)?;
        let join = self
            .tip
            .set()
            .pending()
            .find(|j| j.keys.key == found.key)
            .cloned()
            .ok_or_else(|| SyncError::UnknownMember(who.to_string()))?;
        let Some(names) = self.open_boxed_names(&join) else {
            return Err(SyncError::Relay(
                "de naam van deze organisatie is niet voor jou versleuteld; laat de coördinator die uitnodigde bevestigen"
                    .to_string(),
            ));
        };
        let sealed = SealedNames::seal(&self.state.ring, &self.workspace, &join.keys.key, &names)
            .ok_or_else(|| {
            SyncError::Relay("geen sleutel om de namen te versleutelen".to_string())
        })?;
        let ring = wrap_ring(
            &self.state.ring,
            &ExchangePublic(join.keys.kx.0),
            &self.workspace.0,
            random(entropy),
            random(entropy),
        )
        .map_err(|e| SyncError::Relay(e.to_string()))?;
        self.append_local(
            OpBody::Confirm {
                member: join.keys.key,
                names: sealed,
            },
            now,
        )?;
        self.append_local(
            OpBody::ShareKeys {
                member: join.keys.key,
                sealed: ring.encode(),
            },
            now,
        )?;
        self.save(replica)?;
        Ok(found)
    }

    /// Refuses a pending joiner: it is removed for good, without a key change.
    pub fn refuse_join<S: Store>(
        &mut self,
        replica: &Replica<S>,
        who: &str,
        now: Timestamp,
    ) -> Result<PendingView, SyncError> {
        self.require_coordinator()?;
        let found = self.find_pending(who)?;
        self.append_local(
            OpBody::Remove {
                member: found.key,
                cutoff: Some(0),
            },
            now,
        )?;
        self.save(replica)?;
        Ok(found)
    }

    /// Finds a pending joiner by organisation id (or its start), short fingerprint or name.
    fn find_pending(&self, who: &str) -> Result<PendingView, SyncError> {
        let needle = who.trim().to_lowercase();
        let compact = |s: &str| s.replace([' ', '-'], "");
        let all = self.pending_joins();
        let found: Vec<&PendingView> = all
            .iter()
            .filter(|p| {
                p.org_id.starts_with(&needle)
                    || (!needle.is_empty() && compact(&p.fingerprint) == compact(&needle))
                    || p.names
                        .as_ref()
                        .is_some_and(|(name, _)| name.to_lowercase() == needle)
            })
            .collect();
        match found.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SyncError::UnknownMember(who.to_string())),
            _ => Err(SyncError::AmbiguousMember(who.to_string())),
        }
    }

    /// The names a pending joiner boxed for this organisation, if it did.
    fn open_boxed_names(&self, join: &PendingJoin) -> Option<Names> {
        boxed_names(self.tip.set(), join, &self.me, &self.exchange)
    }

    /// This organisation's names boxed for the coordinators of the invite's workspace (the one
    /// who made the invite first), at most [`MAX_NAME_BOXES`]. The box keys are derived from
    /// this organisation's secret key, the workspace and the recipient, so that no randomness
    /// is needed and a redeem signed again boxes the same way.
    pub(super) fn name_boxes(&self, inviter: Option<OrgKey>) -> Vec<WrappedKey> {
        let names = Names {
            workspace: None,
            name: self.profile.name.clone(),
            org_type: self.profile.org_type,
        };
        let set = self.tip.set();
        let mut coordinators: Vec<(OrgKey, KxKey)> = set
            .coordinators()
            .map(|m| (m.profile.key, m.profile.kx))
            .collect();
        coordinators.sort_by_key(|(key, _)| Some(*key) != inviter);
        coordinators
            .into_iter()
            .take(MAX_NAME_BOXES)
            .filter_map(|(member, kx)| {
                let seed = |what: &[u8]| {
                    let mut hasher = blake3::Hasher::new_derive_key(BOX_SEED_CONTEXT);
                    hasher.update(&self.signing.to_bytes());
                    hasher.update(&self.workspace.0);
                    hasher.update(&member.0);
                    hasher.update(what);
                    *hasher.finalize().as_bytes()
                };
                let nonce = seed(b"nonce");
                let sealed = NameBox::seal(
                    &names,
                    &self.workspace,
                    &self.me,
                    &kx,
                    seed(b"ephemeral"),
                    nonce[..24].try_into().ok()?,
                )?;
                Some(WrappedKey { member, sealed })
            })
            .collect()
    }

    /// The keys this organisation redeems with.
    pub(super) fn own_keys(&self) -> MemberKeys {
        MemberKeys {
            key: self.profile.key,
            kx: self.profile.kx,
        }
    }
}
