//! Who may delete a document, and whose changes to the small-number policy count. Both are
//! decided wherever a document is read, from the authors of its changes (their notes, which a
//! replica checks against the signed sender of every bundle it receives) and the member list now,
//! so a delete or a policy change that arrives by sync from a partner who may not make it has no
//! effect on any replica, whichever command or tool made it.
//!
//! - A document of a kind whose rules say it is never deleted (a workflow instance, a published
//!   definition) is not: a tombstone on it does not count.
//! - Within a workspace, a tombstone counts only when the organisation that created the document
//!   or a coordinator wrote it (the last such one counts; a later one by someone else does not).
//!   Without a workspace every tombstone counts (there is nobody else).
//! - The small-number policy takes each value from the last change a coordinator made to it,
//!   and is never weaker than the workspace's floor (`floor.rs`: CBS's rule of 0 to 7 secret,
//!   rounding to 5 and secondary suppression on, unless the coordinators raised it).

use std::collections::BTreeSet;

use automerge::{AutoCommit, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use super::{Replica, ReplicaError};
use crate::document::{DocId, allowed_value, author_of_op};
use crate::kinds::Deletion;
use crate::privacy::SuppressionPolicy;
use crate::store::Store;
use crate::sync::replication::known_members;

/// The floor of a workspace whose coordinators set none: CBS's rule for small counts.
pub const POLICY_FLOOR: SuppressionPolicy = SuppressionPolicy {
    threshold: 7.0,
    round_to: 5.0,
    secondary: true,
};

/// The organisations whose changes count for a rule: everybody without a workspace, else the
/// given ones.
enum Allowed {
    Everybody,
    Only(BTreeSet<String>),
}

impl Allowed {
    fn admits(&self, org_id: &str) -> bool {
        match self {
            Allowed::Everybody => true,
            Allowed::Only(orgs) => orgs.contains(org_id),
        }
    }
}

impl<S: Store> Replica<S> {
    /// The org ids of the workspace's coordinators now, or `None` without a workspace.
    pub fn coordinators(&self) -> Result<Option<BTreeSet<String>>, ReplicaError> {
        let set = known_members(self.store()).map_err(|e| ReplicaError::Members(e.to_string()))?;
        Ok(set.map(|set| set.coordinators().map(|m| m.profile.key.org_id()).collect()))
    }

    /// The organisation whose change created the document (the header's `id`), if its note says.
    pub(super) fn creator(doc: &mut AutoCommit) -> Option<String> {
        let (_, op) = doc.get(ROOT, "id").ok()??;
        author_of_op(doc, &op)?.0
    }

    /// Who may delete a document of `kind` created by `creator`: `None` for nobody.
    fn deleters(
        &self,
        kind: &str,
        creator: Option<String>,
    ) -> Result<Option<Allowed>, ReplicaError> {
        if let Deletion::Never { .. } = self.kinds().rules(kind).deletion {
            return Ok(None);
        }
        self.deleters_of_deletable(creator).map(Some)
    }

    /// Who may delete a document created by `creator` of a kind that can be deleted.
    fn deleters_of_deletable(&self, creator: Option<String>) -> Result<Allowed, ReplicaError> {
        Ok(match self.coordinators()? {
            None => Allowed::Everybody,
            Some(mut orgs) => {
                orgs.extend(creator);
                Allowed::Only(orgs)
            }
        })
    }

    /// Refuses a delete by this organisation that would not count.
    pub(super) fn check_delete(
        &self,
        id: &DocId,
        doc: &mut AutoCommit,
        kind: &str,
    ) -> Result<(), ReplicaError> {
        if let Deletion::Never { reason } = self.kinds().rules(kind).deletion {
            return Err(ReplicaError::Undeletable {
                id: id.clone(),
                reason,
            });
        }
        let creator = Self::creator(doc);
        let me = &self.identity().profile.org_id;
        match self.deleters(kind, creator.clone())? {
            Some(allowed) if allowed.admits(me) => Ok(()),
            _ => Err(ReplicaError::MayNotDelete {
                id: id.clone(),
                creator: creator
                    .and_then(|c| self.organisation_name(&c).ok().flatten())
                    .unwrap_or_else(|| "de organisatie die het maakte".into()),
            }),
        }
    }

    /// Whether the document's tombstone counts (see the module notes).
    pub(super) fn tombstone_counts(
        &self,
        doc: &mut AutoCommit,
        kind: &str,
    ) -> Result<bool, ReplicaError> {
        if let Deletion::Never { .. } = self.kinds().rules(kind).deletion {
            return Ok(false);
        }
        self.tombstone_by_deleter(doc)
    }

    /// Whether an organisation that may delete documents of a kind that can be deleted wrote
    /// the tombstone: the part of [`Replica::tombstone_counts`] that depends on the document
    /// and the coordinators, not on the kinds in force (the view index keeps it).
    pub(super) fn tombstone_by_deleter(&self, doc: &mut AutoCommit) -> Result<bool, ReplicaError> {
        Ok(match self.deleters_of_deletable(Self::creator(doc))? {
            Allowed::Everybody => true,
            allowed => allowed_value(doc, &ROOT, "deleted", &|org| allowed.admits(org)).is_some(),
        })
    }

    /// The small-number policy a policy document sets (see the module notes); `None` for no
    /// document.
    pub fn policy_in(
        &self,
        mut doc: Option<&mut AutoCommit>,
    ) -> Result<SuppressionPolicy, ReplicaError> {
        let coordinators = self.coordinators()?;
        let floor = self.floor_in(doc.as_deref_mut())?;
        let allowed = match coordinators {
            None => Allowed::Everybody,
            Some(orgs) => Allowed::Only(orgs),
        };
        let mut policy = SuppressionPolicy::default();
        if let Some(doc) = doc
            && let Ok(Some((Value::Object(ObjType::Map), fields))) = doc.get(ROOT, "fields")
        {
            let mut value = |key: &str| allowed_value(doc, &fields, key, &|o| allowed.admits(o));
            if let Some(n) = number(value("drempel")) {
                policy.threshold = n;
            }
            if let Some(n) = number(value("afronden")) {
                policy.round_to = n;
            }
            if let Some(Value::Scalar(s)) = value("secundair")
                && let ScalarValue::Str(s) = s.as_ref()
            {
                policy.secondary = s.as_str() != "nee";
            }
        }
        Ok(SuppressionPolicy {
            threshold: policy.threshold.max(floor.threshold),
            round_to: policy.round_to.max(floor.round_to),
            secondary: policy.secondary || floor.secondary,
        })
    }

    /// Refuses a policy this organisation may not set: within a workspace only coordinators
    /// set it, and never weaker than the floor the policy document `doc` holds.
    pub fn check_policy(
        &self,
        policy: &SuppressionPolicy,
        doc: Option<&mut AutoCommit>,
    ) -> Result<(), ReplicaError> {
        let Some(coordinators) = self.coordinators()? else {
            return Ok(());
        };
        if !coordinators.contains(&self.identity().profile.org_id) {
            return Err(ReplicaError::PolicyRefused(
                "alleen een coördinator van de samenwerking kan het beleid voor kleine aantallen wijzigen".into(),
            ));
        }
        let f = self.floor_in(doc)?;
        if policy.threshold < f.threshold
            || policy.round_to < f.round_to
            || (f.secondary && !policy.secondary)
        {
            return Err(ReplicaError::PolicyRefused(format!(
                "het beleid mag niet zwakker zijn dan de ondergrens van de samenwerking: aantallen van 0 tot en met {} geheim, afronden op {}, secundaire onderdrukking aan",
                f.threshold, f.round_to
            )));
        }
        Ok(())
    }
}

fn number(value: Option<Value<'static>>) -> Option<f64> {
    match value? {
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::F64(n) => Some(*n),
            ScalarValue::Int(n) => Some(*n as f64),
            ScalarValue::Uint(n) => Some(*n as f64),
            _ => None,
        },
        Value::Object(_) => None,
    }
}
