//! Which documents belong to one round of a cycle, so that a report (and a recorded
//! evaluation) covers that round and no other.
//!
//! Documents of the kinds the round's definition works on belong to the round whose link facts
//! name them. Documents of other kinds (conversations about figures, improvement actions,
//! stories) follow flows of their own and cannot be linked; they belong to the round during
//! which they were created. An instance started before instances owned documents works on every
//! live document, and so does its report.

use std::collections::BTreeSet;

use crate::definition::Definition;
use crate::document::{DocId, DocView};
use crate::runtime::{FactBody, Instance, Round};
use crate::time::Timestamp;

use super::ReportError;
use super::input::RoundPart;

/// The documents of one round.
#[derive(Debug, Clone)]
pub(super) struct RoundScope {
    /// The documents linked in the round, or `None` when the instance does not own documents.
    linked: Option<BTreeSet<DocId>>,
    /// The kinds the definition works on (which are linked rather than dated).
    kinds: BTreeSet<String>,
    /// When the round started (`None` for the first: everything before it belongs to it too).
    from: Option<Timestamp>,
    /// When the next round started, if one did.
    until: Option<Timestamp>,
    /// The round itself.
    pub part: RoundPart,
}

impl RoundScope {
    /// The scope of round `number` of `instance` (whose rounds are `rounds`), or an error naming
    /// the rounds there are.
    pub(super) fn new(
        instance: &Instance,
        definition: &Definition,
        rounds: &[Round],
        number: u32,
    ) -> Result<RoundScope, ReportError> {
        let Some(i) = rounds.iter().position(|r| r.number == number) else {
            return Err(ReportError::NotNow(format!(
                "werkstroom {} heeft geen ronde {number}; rondes: 1 tot en met {}",
                instance.id,
                rounds.len().max(1)
            )));
        };
        let round = &rounds[i];
        let next = rounds.get(i + 1);
        let linked = instance.owns_documents.then(|| {
            instance
                .facts
                .iter()
                .filter_map(|f| match &f.body {
                    FactBody::Link { doc, round, .. } if *round == number => Some(doc.clone()),
                    _ => None,
                })
                .collect()
        });
        Ok(RoundScope {
            linked,
            kinds: definition.kinds.iter().map(|k| k.name.clone()).collect(),
            from: (i > 0).then_some(round.started),
            until: next.map(|r| r.started),
            part: RoundPart {
                round: round.clone(),
                next_step: next.map(|r| r.first_step),
                of: rounds.len(),
            },
        })
    }

    /// Whether the document belongs to the round.
    pub(super) fn covers(&self, view: &DocView) -> bool {
        let Some(linked) = &self.linked else {
            return true;
        };
        if self.kinds.contains(&view.kind) {
            return linked.contains(&view.id);
        }
        self.from.is_none_or(|from| view.created >= from)
            && self.until.is_none_or(|until| view.created < until)
    }

    /// Whether a step was made before the round ended (in it or in an earlier one).
    pub(super) fn not_after(&self, step: u32) -> bool {
        self.part.next_step.is_none_or(|next| step < next)
    }
}
