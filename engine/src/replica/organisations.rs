//! The organisations a field of type `organisatie` may name: the workspace's current members,
//! or this organisation alone when the replica belongs to no workspace.

use super::{Replica, ReplicaError};
use crate::store::Store;
use crate::sync::replication::known_members;

/// An organisation that may be named in an `organisatie` field.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Organisation {
    /// Its id (hex), as stored in the field.
    pub org_id: String,
    /// Its name.
    pub name: String,
}

impl<S: Store> Replica<S> {
    /// The organisations an `organisatie` field may name, sorted by name: the current members
    /// (counting this organisation's own member-list changes that wait for a relay), or this
    /// organisation when there is no workspace.
    pub fn organisations(&self) -> Result<Vec<Organisation>, ReplicaError> {
        let set = known_members(self.store()).map_err(|e| ReplicaError::Members(e.to_string()))?;
        let mut out: Vec<Organisation> = match set {
            Some(set) => set
                .members()
                .map(|m| Organisation {
                    org_id: m.profile.key.org_id(),
                    name: m.profile.name.clone(),
                })
                .collect(),
            None => {
                let me = &self.identity().profile;
                vec![Organisation {
                    org_id: me.org_id.clone(),
                    name: me.name.clone(),
                }]
            }
        };
        out.sort_by(|a, b| (&a.name, &a.org_id).cmp(&(&b.name, &b.org_id)));
        Ok(out)
    }

    /// The id of the organisation `who` names (its id, or its name in any case), which must be
    /// one of [`Replica::organisations`].
    pub fn organisation_id(&self, field: &str, who: &str) -> Result<String, ReplicaError> {
        let known = self.organisations()?;
        let who = who.trim();
        let found = known
            .iter()
            .find(|o| o.org_id == who)
            .or_else(|| known.iter().find(|o| o.name.eq_ignore_ascii_case(who)));
        match found {
            Some(o) => Ok(o.org_id.clone()),
            None => Err(ReplicaError::NotAMember {
                field: field.to_string(),
                who: who.to_string(),
                known: known
                    .iter()
                    .map(|o| o.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// The name of the organisation with id `org_id`, if it is one of
    /// [`Replica::organisations`].
    pub fn organisation_name(&self, org_id: &str) -> Result<Option<String>, ReplicaError> {
        Ok(self
            .organisations()?
            .into_iter()
            .find(|o| o.org_id == org_id)
            .map(|o| o.name))
    }
}
