//! Finding the workspace's small-number policy: the document of the kind whose rules say it holds
//! the policy, read by [`Replica::policy_in`] (whose changes count is `rights.rs`).

use super::{Replica, ReplicaError};
use crate::document::DocView;
use crate::kinds::Changes;
use crate::privacy::SuppressionPolicy;
use crate::store::Store;

impl<S: Store> Replica<S> {
    /// The small-number policy in force: the first live policy document's, or the default's,
    /// never weaker than the floor.
    pub fn small_number_policy(&self) -> Result<SuppressionPolicy, ReplicaError> {
        self.small_number_policy_among(&self.list(None, false)?)
    }

    /// [`Replica::small_number_policy`] with the live documents already listed (listing loads
    /// every document).
    pub fn small_number_policy_among(
        &self,
        views: &[DocView],
    ) -> Result<SuppressionPolicy, ReplicaError> {
        let policy_kinds: Vec<&str> = self.kinds().with_changes(Changes::CountPolicy).collect();
        match views
            .iter()
            .find(|v| policy_kinds.contains(&v.kind.as_str()))
        {
            Some(view) => {
                let mut loaded = self.load(&view.id)?;
                self.policy_in(Some(&mut loaded.doc))
            }
            None => self.policy_in(None),
        }
    }
}
